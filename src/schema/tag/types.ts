import type { Tag } from '../../generated/sqlite/client.ts';
import { builder } from '../builder.ts';

export const TagSchemaType = builder.prismaObject('TagSchema', {
  description: 'A named JSON Schema: every tag of this name must satisfy it. Defined by an ADMIN key; cannot be deleted while in use.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The tag name it governs.' }),
    description: t.exposeString('description', { description: 'What tags of this name say.' }),
    schema: t.expose('schema', { type: 'JSON', description: 'The JSON Schema (draft-07 unless its `$schema` names 2019-09 or 2020-12).' }),
    tagCount: t.relationCount('tags', { description: 'How many objects carry a tag of this name.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
  }),
});

export const TagType = builder.objectRef<Tag>('Tag').implement({
  description: 'A tag on a feature group, feature view, training dataset or model: a value valid against the tag schema of its name.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Tag name, the name of its tag schema.' }),
    value: t.field({ type: 'JSON', description: 'The value.', resolve: (tag) => tag.value }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the value was last set.' }),
  }),
});
