import { expect } from 'vitest';
import { CHURN_VIEW, churnRows, CUSTOMER_INFO, DEMOGRAPHY, SUBSCRIPTIONS } from './churn.ts';
import type { TestServer } from './server.ts';

/** GraphQL as one project's ADMIN key. */
export type Gql = (query: string, variables?: Record<string, unknown>) => Promise<any>;

export const CREATE_FG = `mutation($input: CreateFeatureGroupInput!) {
  createFeatureGroup(input: $input) {
    __typename
    ... on CreateFeatureGroupPayload { featureGroup { id name version } }
    ... on ValidationError { message issues { path message } }
    ... on Error { message }
  }
}`;

/** A fresh project and its ADMIN key's gql. */
export async function projectOf(srv: TestServer, prefix: string) {
  const p = await srv.newProject(prefix);
  const gql: Gql = (q, v) => srv.gql(q, v, p.key);
  return { ...p, gql };
}

/** Creates a feature group; returns its id, name and version. */
export async function createGroup(gql: Gql, input: Record<string, unknown>): Promise<{ id: string; name: string; version: number }> {
  const res = await gql(CREATE_FG, { input });
  expect(res.data?.createFeatureGroup.__typename, JSON.stringify(res)).toBe('CreateFeatureGroupPayload');
  return res.data.createFeatureGroup.featureGroup;
}

/** A small group with one key and the given features. */
export function smallGroup(name: string, features: { name: string; type?: string; description?: string }[] = [], extra: Record<string, unknown> = {}) {
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
    const inserted = await gql(
      `mutation($fg: FeatureGroupRef!, $rows: [JSON!]) { insertFeatureGroupData(featureGroup: $fg, rows: $rows) { __typename ... on Error { message } } }`,
      { fg: { name: def.name }, rows: data },
    );
    expect(inserted.data.insertFeatureGroupData.__typename, JSON.stringify(inserted)).toBe('InsertFeatureGroupDataPayload');
  }
  const view = await gql(
    `mutation($input: CreateFeatureViewInput!) { createFeatureView(input: $input) { __typename ... on CreateFeatureViewPayload { featureView { id } } ... on Error { message } } }`,
    { input: CHURN_VIEW },
  );
  expect(view.data.createFeatureView.__typename, JSON.stringify(view)).toBe('CreateFeatureViewPayload');
  const dataset = await gql(
    `mutation { createTrainingDataset(featureView: { name: "churn_feature_view" }, input: { split: RANDOM, testSize: 0.25, seed: 3 }) {
      __typename ... on CreateTrainingDatasetPayload { trainingDataset { id version } } ... on Error { message } } }`,
  );
  expect(dataset.data.createTrainingDataset.__typename, JSON.stringify(dataset)).toBe('CreateTrainingDatasetPayload');
  const model = await gql(
    `mutation { createModel(input: { name: "churn_model", framework: SKLEARN, description: "predicts churn",
        featureView: { name: "churn_feature_view" }, trainingDatasetVersion: 1, metrics: { accuracy: 0.8 } }) {
      __typename ... on CreateModelPayload { model { id version } } ... on Error { message } } }`,
  );
  expect(model.data.createModel.__typename, JSON.stringify(model)).toBe('CreateModelPayload');
  return {
    groups,
    view: view.data.createFeatureView.featureView.id as string,
    trainingDataset: dataset.data.createTrainingDataset.trainingDataset.id as string,
    model: model.data.createModel.model.id as string,
  };
}
