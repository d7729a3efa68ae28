import type { Tag } from '../../generated/sqlite/client.ts';
import { builder } from '../builder.ts';
import '../feature-group/types.ts';
import '../feature-view/training-data.ts';
import '../feature-view/types.ts';
import '../model/types.ts';
import { TagType } from './types.ts';

// `tags` and `keywords` on every taggable type, each batched per request (one query for a whole page).
for (const type of ['FeatureGroup', 'FeatureView', 'TrainingDataset', 'Model'] as const) {
  builder.prismaObjectField(type, 'tags', (t) =>
    t.loadableList({
      type: TagType,
      description: 'Tags, by name.',
      load: (ids: string[], ctx): Promise<Tag[][]> => ctx.services.tags.tagsOf(ctx.viewer.projectId, ids),
      resolve: (parent) => parent.id,
    }),
  );
  builder.prismaObjectField(type, 'keywords', (t) =>
    t.loadableList({
      type: 'String',
      description: 'Keywords, sorted.',
      load: (ids: string[], ctx): Promise<string[][]> => ctx.services.tags.keywordsOf(ctx.viewer.projectId, ids),
      resolve: (parent) => parent.id,
    }),
  );
}
