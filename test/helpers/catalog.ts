import { graphql, type VariablesOf } from '../../src/client/graphql.ts';
import { CHURN_VIEW, churnRows, CUSTOMER_INFO, DEMOGRAPHY, SUBSCRIPTIONS } from './churn.ts';
import { dataOf, ofType, type Gql, type TestServer } from './server.ts';

export type { Gql } from './server.ts';

export const CREATE_FG = graphql(`
  mutation CreateFeatureGroup($input: CreateFeatureGroupInput!) {
    createFeatureGroup(input: $input) {
      __typename
      ... on CreateFeatureGroupPayload { featureGroup { id name version } }
      ... on ValidationError { message issues { path message } }
      ... on Error { message }
    }
  }
`);

export type FeatureGroupInput = VariablesOf<typeof CREATE_FG>['input'];

const INSERT_ROWS = graphql(`
  mutation InsertRows($fg: FeatureGroupRef!, $rows: [JSON!]) {
    insertFeatureGroupData(featureGroup: $fg, rows: $rows) { __typename ... on Error { message } }
  }
`);

const CREATE_VIEW = graphql(`
  mutation CreateFeatureView($input: CreateFeatureViewInput!) {
    createFeatureView(input: $input) { __typename ... on CreateFeatureViewPayload { featureView { id } } ... on Error { message } }
  }
`);

const CREATE_CHURN_DATASET = graphql(`
  mutation CreateChurnDataset {
    createTrainingDataset(featureView: { name: "churn_feature_view" }, input: { split: RANDOM, testSize: 0.25, seed: 3 }) {
      __typename ... on CreateTrainingDatasetPayload { trainingDataset { id version } } ... on Error { message }
    }
  }
`);

const CREATE_CHURN_MODEL = graphql(`
  mutation CreateChurnModel {
    createModel(input: { name: "churn_model", framework: SKLEARN, description: "predicts churn",
        featureView: { name: "churn_feature_view" }, trainingDatasetVersion: 1, metrics: { accuracy: 0.8 } }) {
      __typename ... on CreateModelPayload { model { id version } } ... on Error { message }
    }
  }
`);

/** A fresh project and its ADMIN key's gql. */
export async function projectOf(srv: TestServer, prefix: string): Promise<{ name: string; key: string; gql: Gql }> {
  const p = await srv.newProject(prefix);
  return { ...p, gql: srv.as(p.key) };
}

/** Creates a feature group; returns its id, name and version. */
export async function createGroup(gql: Gql, input: FeatureGroupInput): Promise<{ id: string; name: string; version: number }> {
  const res = await gql(CREATE_FG, { input });
  return ofType(res.data?.createFeatureGroup, 'CreateFeatureGroupPayload', JSON.stringify(res)).featureGroup;
}

/** A small group with one key and the given features. */
export function smallGroup(
  name: string,
  features: { name: string; type?: string; description?: string }[] = [],
  extra: Partial<FeatureGroupInput> = {},
): FeatureGroupInput {
  return {
    name,
    primaryKey: ['id'],
    features: [{ name: 'id', type: 'STRING' }, ...features.map((f) => ({ type: 'DOUBLE', ...f }))],
    ...extra,
  };
}

/**
 * The churn objects of the Hopsworks tutorial, small: three groups with rows, the churn view, a
 * training dataset and a model trained on it. Returns their global ids.
 */
export async function churnObjects(gql: Gql, customers = 12) {
  const rows = churnRows(customers);
  const groups: Record<string, string> = {};
  for (const [def, data] of [
    [CUSTOMER_INFO, rows.info],
    [DEMOGRAPHY, rows.demography],
    [SUBSCRIPTIONS, rows.subscriptions],
  ] as const) {
    groups[def.name] = (await createGroup(gql, def)).id;
    const inserted = await gql(INSERT_ROWS, { fg: { name: def.name }, rows: data });
    ofType(dataOf(inserted).insertFeatureGroupData, 'InsertFeatureGroupDataPayload', JSON.stringify(inserted));
  }
  const view = await gql(CREATE_VIEW, { input: CHURN_VIEW });
  const created = ofType(dataOf(view).createFeatureView, 'CreateFeatureViewPayload', JSON.stringify(view));
  const dataset = await gql(CREATE_CHURN_DATASET);
  const trainingDataset = ofType(dataOf(dataset).createTrainingDataset, 'CreateTrainingDatasetPayload', JSON.stringify(dataset));
  const model = await gql(CREATE_CHURN_MODEL);
  const trained = ofType(dataOf(model).createModel, 'CreateModelPayload', JSON.stringify(model));
  return {
    groups,
    view: created.featureView.id,
    trainingDataset: trainingDataset.trainingDataset.id,
    model: trained.model.id,
  };
}
