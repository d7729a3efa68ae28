// The stored query of a feature view (`FeatureView.query`, JSON), read once into typed values:
// the left group, the joins with their keys, type and prefix, and the filters.

export interface QueryGroupRef {
  readonly name: string;
  readonly version: number;
}

export interface QueryFeature {
  readonly name: string;
  readonly type: string;
}

/** A group of the query: the version it is pinned to, its selected features, its key and event time. */
export interface QueryGroup {
  readonly group: QueryGroupRef;
  readonly features: readonly string[];
  readonly schemaFeatures: readonly QueryFeature[];
  readonly primaryKey: readonly string[];
  readonly eventTime: string | null;
}

export interface QueryJoin extends QueryGroup {
  readonly on: readonly { readonly left: string; readonly right: string }[];
  readonly type: string;
  readonly prefix: string | null;
}

export interface QueryFilter {
  readonly feature: string;
  readonly op: string;
  readonly value: unknown;
}

export interface ViewQuery {
  readonly left: QueryGroup;
  readonly joins: readonly QueryJoin[];
  readonly filters: readonly QueryFilter[];
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

function readGroup(v: unknown): QueryGroup | null {
  if (!isObj(v) || !isObj(v.group) || typeof v.group.name !== 'string' || typeof v.group.version !== 'number') return null;
  const schema = isObj(v.schema) ? v.schema : {};
  const schemaFeatures = Array.isArray(schema.features) ? schema.features.filter(isObj).map((f) => ({ name: String(f.name), type: String(f.type) })) : [];
  return {
    group: { name: v.group.name, version: v.group.version },
    features: strings(v.features),
    schemaFeatures,
    primaryKey: strings(schema.primaryKey),
    eventTime: typeof schema.eventTime === 'string' ? schema.eventTime : null,
  };
}

function readJoin(v: unknown): QueryJoin | null {
  const group = readGroup(v);
  if (!group || !isObj(v)) return null;
  const on = Array.isArray(v.on) ? v.on.filter(isObj).map((k) => ({ left: String(k.left), right: String(k.right) })) : [];
  return { ...group, on, type: typeof v.type === 'string' ? v.type : 'LEFT', prefix: typeof v.prefix === 'string' && v.prefix !== '' ? v.prefix : null };
}

/** The view's query, or null when the JSON is not the shape the API stores. */
export function readViewQuery(json: unknown): ViewQuery | null {
  if (!isObj(json)) return null;
  const left = readGroup(json.left);
  if (!left) return null;
  const joins = Array.isArray(json.joins) ? json.joins.map(readJoin) : [];
  if (joins.some((j) => j === null)) return null;
  const filters = Array.isArray(json.filters) ? json.filters.filter(isObj).map((f) => ({ feature: String(f.feature), op: String(f.op), value: f.value })) : [];
  return { left, joins: joins as QueryJoin[], filters };
}

/** The type of a feature of the left group (the serving keys' types), STRING when unknown. */
export function leftFeatureType(query: ViewQuery | null, name: string): string {
  return query?.left.schemaFeatures.find((f) => f.name === name)?.type ?? 'STRING';
}
