/**
 * The operations of the operator's calls (`admin.ts`, the `granary` CLI): listing a project's
 * objects, running and following jobs, managing API keys. Typed against `schema.graphql` by
 * gql.tada like `operations.ts`.
 */
import { graphql } from './graphql.ts';
import { ErrorFields } from './operations.ts';

/** One page of a project's feature groups, by name then version. */
export const FeatureGroupsQuery = graphql(`
  query FeatureGroups($first: Int, $after: String, $latestOnly: Boolean) {
    featureGroups(first: $first, after: $after, latestOnly: $latestOnly) {
      edges {
        node { id name version description primaryKey eventTime onlineEnabled rowCount createdAt updatedAt }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

/** One page of a project's jobs, by name, with each one's latest run. */
export const JobsQuery = graphql(`
  query Jobs($first: Int, $after: String) {
    jobs(first: $first, after: $after) {
      edges {
        node {
          id
          name
          type
          createdBy
          createdAt
          nextRunAt
          schedule { cron paused }
          executions(first: 1) { edges { node { id state createdAt finishedAt } } }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

/** How far a page of each kind of object goes: `status` counts them without reading them. */
export const CountsQuery = graphql(`
  query Counts($first: Int, $groups: String, $views: String, $models: String, $jobs: String) {
    featureGroups(first: $first, after: $groups) { edges { cursor } pageInfo { hasNextPage endCursor } }
    featureViews(first: $first, after: $views) { edges { cursor } pageInfo { hasNextPage endCursor } }
    models(first: $first, after: $models) { edges { cursor } pageInfo { hasNextPage endCursor } }
    jobs(first: $first, after: $jobs) { edges { cursor } pageInfo { hasNextPage endCursor } }
  }
`);

export const ExecutionFields = graphql(`
  fragment ExecutionFields on Execution {
    id
    state
    finalStatus
    progress
    progressMessage
    createdAt
    startedAt
    finishedAt
    duration
    job { name }
  }
`);

export const RunJobMutation = graphql(
  `
  mutation RunJob($name: String!, $args: JSON) {
    runJob(name: $name, args: $args) {
      __typename
      ... on RunJobPayload { execution { ...ExecutionFields } }
      ...ErrorFields
    }
  }
`,
  [ExecutionFields, ErrorFields],
);

/** An execution with its log (the last 10 000 lines). */
export const ExecutionQuery = graphql(
  `
  query Execution($id: ID!) {
    execution(id: $id) { ...ExecutionFields logs }
  }
`,
  [ExecutionFields],
);

/** Only an execution's state: the cheap check of a follower that may have missed an update. */
export const ExecutionStateQuery = graphql(`
  query ExecutionState($id: ID!) {
    execution(id: $id) { id state progress progressMessage }
  }
`);

/** State changes, progress steps and new log lines of a job's executions (all jobs' without `job`). */
export const ExecutionUpdatedSubscription = graphql(
  `
  subscription ExecutionUpdated($job: String) {
    executionUpdated(job: $job) { ...ExecutionFields logs }
  }
`,
  [ExecutionFields],
);

export const ApiKeyFields = graphql(`
  fragment ApiKeyFields on ApiKey { id name prefix scopes createdAt expiresAt lastUsedAt revokedAt }
`);

export const ApiKeysQuery = graphql(
  `
  query ApiKeys($includeRevoked: Boolean) {
    apiKeys(includeRevoked: $includeRevoked) { ...ApiKeyFields }
  }
`,
  [ApiKeyFields],
);

export const CreateApiKeyMutation = graphql(
  `
  mutation CreateApiKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      __typename
      ... on CreateApiKeyPayload { secret apiKey { ...ApiKeyFields } }
      ...ErrorFields
    }
  }
`,
  [ApiKeyFields, ErrorFields],
);

export const RevokeApiKeyMutation = graphql(
  `
  mutation RevokeApiKey($id: ID!) {
    revokeApiKey(id: $id) {
      __typename
      ... on RevokeApiKeyPayload { apiKey { ...ApiKeyFields } }
      ...ErrorFields
    }
  }
`,
  [ApiKeyFields, ErrorFields],
);
