/**
 * Type test, checked by `tsc --noEmit` (`npm test` runs it first): operations are typed against
 * schema.graphql, and one that selects a field the schema does not have does not compile. Every
 * `@ts-expect-error` below fails the type check if its line compiles.
 */
import { type GranaryClient, graphql, type ResultOf, type VariablesOf } from '../../src/client/index.ts';
import type { CreateFeatureGroupMutation, FeatureVectorQuery } from '../../src/client/operations.ts';

declare const client: GranaryClient;

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const expectType = <T extends true>(_: T) => {};

export async function typeTests(): Promise<void> {
  // A valid operation: its result and variables are typed from the schema.
  const ok = graphql(`query Group($name: String!) { featureGroup(name: $name) { name version primaryKey eventTime } }`);
  const data = await client.request(ok, { name: 'customer_info' });
  expectType<Equal<typeof data, { featureGroup: { name: string; version: number; primaryKey: string[]; eventTime: string | null } | null }>>(true);
  expectType<Equal<VariablesOf<typeof ok>, { name: string }>>(true);

  // A field FeatureGroup does not have.
  const unknownField = graphql(`query { featureGroup(name: "customer_info") { name rowCont } }`);
  // @ts-expect-error rowCont is not a field of FeatureGroup
  await client.request(unknownField);

  // A root field the schema does not have, in a subscription.
  const unknownRoot = graphql(`subscription { modelTrained { name } }`);
  // @ts-expect-error modelTrained is not a field of Subscription
  client.subscribe(unknownRoot);

  // A misspelt field deep inside a fragment a valid operation spreads.
  const fragment = graphql(`fragment M on Model { name files { path sha265 } }`);
  const withFragment = graphql(`query { model(name: "churnmodel") { ...M } }`, [fragment]);
  // @ts-expect-error sha265 is not a field of ModelFile
  await client.request(withFragment);

  // Required variables are required, and typed.
  // @ts-expect-error name is required
  await client.request(ok);
  // @ts-expect-error name is a String
  await client.request(ok, { name: 7 });

  // A mutation's typed errors are members of its result union, told apart by __typename.
  type Created = ResultOf<typeof CreateFeatureGroupMutation>['createFeatureGroup'];
  expectType<Equal<Created['__typename'], 'BaseError' | 'ConflictError' | 'CreateFeatureGroupPayload' | 'ValidationError'>>(true);
  const created = null as unknown as Created;
  if (created.__typename === 'ValidationError') expectType<Equal<typeof created.issues, { path: string[]; message: string }[]>>(true);

  // JSON is `{} | null`: any value goes in, and what comes out must be narrowed.
  type Vector = ResultOf<typeof FeatureVectorQuery>['featureVector'];
  expectType<Equal<Vector['values'], {} | null>>(true);
}
