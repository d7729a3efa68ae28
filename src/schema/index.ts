import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.ts';
import './shared/scalars.ts';
import './shared/errors.ts';
import './project/project.ts';
import './api-key/api-key.ts';
import './registry/registry-events.ts';
import './shared/data-frame.ts';
import './feature-group/types.ts';
import './feature-group/queries.ts';
import './feature-group/mutations.ts';
import './feature-group/streaming.ts';
import './data-source/data-source.ts';
import './expectation/expectation-suite.ts';
import './feature-view/inputs.ts';
import './feature-view/types.ts';
import './feature-view/queries.ts';
import './feature-view/mutations.ts';
import './feature-view/training-data.ts';
import './feature-view/serving.ts';
import './statistics/statistics.ts';
import './model/types.ts';
import './model/queries.ts';
import './model/mutations.ts';
import './deployment/deployment.ts';
import './tag/types.ts';
import './tag/fields.ts';
import './tag/queries.ts';
import './tag/mutations.ts';
import './search/search.ts';
import './lineage/lineage.ts';
import './alert/types.ts';
import './alert/queries.ts';
import './alert/mutations.ts';
import './job/types.ts';
import './job/queries.ts';
import './job/mutations.ts';
import './job/subscriptions.ts';

/** The executable schema. Built once per process; every request shares it. */
export const schema: GraphQLSchema = builder.toSchema({ sortSchema: true });

/** The schema as committed in `schema.graphql`: printed, sorted. */
export function printSortedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
