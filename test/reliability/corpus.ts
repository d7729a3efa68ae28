import { readFileSync } from 'node:fs';
import {
  buildSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  isUnionType,
  type GraphQLArgument,
  type GraphQLInputField,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';

/**
 * The bad-input corpus: inputs every mutation must refuse with a typed error, naming the input,
 * leaking nothing internal and changing nothing. Generated systematically from the committed
 * schema (wrong GraphQL types, nulls, unknown fields for every argument and input field of every
 * mutation) and written by hand for what the schema cannot say (names, values, files, configs).
 *
 * Every case runs against one project holding the fixture below (see bad-input.test.ts):
 * - feature group `fg` v1: primary key `id` STRING, event time `ts` TIMESTAMP, `x` DOUBLE,
 *   `n` BIGINT, `s` STRING, `b` BOOLEAN, online enabled, 2 rows, tagged `team`;
 * - feature view `fv` v1 over `fg`; model `m` v1 (READY) and `mp` v1 (PENDING);
 * - job `j` (COMPUTE_STATISTICS of `fg`, never run); tag schema `team` (`{ team: string }`);
 * - alert receiver `r` with one route; a READ API key.
 */

/** Ids of fixture objects, known once the fixture exists. */
export interface Fixture {
  readonly fgId: string;
  readonly fvId: string;
  readonly modelId: string;
  readonly routeId: string;
  readonly keyId: string;
}

/** A JSON value written as raw text (1e400, `__proto__` keys, nesting deeper than JSON.stringify goes). */
export class Raw {
  constructor(readonly text: string) {}
}

/** An uploaded file, sent as GraphQL multipart at `variable` (a dotted path into the variables). */
export interface Upload {
  readonly variable: string;
  readonly name: string;
  readonly content: string | Uint8Array;
}

/**
 * How a refusal may look. `GraphQL`: refused before execution as a GraphQL request error
 * (validation, variable coercion, size limits; no `data`), which is typed by the GraphQL spec.
 * Otherwise the `__typename` of the mutation's typed error result.
 */
export type Kind = 'GraphQL' | 'ValidationError' | 'NotFoundError' | 'ConflictError' | 'ForbiddenError' | 'DataSourceError' | 'DataValidationError';

export interface BadInput {
  /** Unique: the mutation, where the bad value goes, and what it is. */
  readonly name: string;
  /** The root mutation field the case exercises (cases are grouped by it). */
  readonly mutation: string;
  readonly query: string;
  readonly variables?: Record<string, unknown> | ((fx: Fixture) => Record<string, unknown>);
  readonly file?: Upload;
  /** Accepted refusals; anything else (acceptance, internal error, another kind) fails the case. */
  readonly expected: readonly Kind[];
}

/** The committed schema: the list of mutations and their argument types. */
export const committedSchema: GraphQLSchema = buildSchema(readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8'));

/** The selection of a mutation's result: its type name, the message of any error, the issues of a ValidationError. */
function selection(field: string): string {
  const type = committedSchema.getMutationType()!.getFields()[field]?.type;
  const result = type ? getNamedType(type) : undefined;
  const members = result && isUnionType(result) ? result.getTypes().map((t) => t.name) : [];
  const issues = members.includes('ValidationError') ? ' ... on ValidationError { issues { path message } }' : '';
  return `{ __typename ... on Error { message }${issues} }`;
}

/** `mutation($a: T, …) { field(a: $a, …) { …typed result… } }` for the given argument types. */
export function op(field: string, args: Record<string, string>): string {
  const names = Object.keys(args);
  const decl = names.length ? `(${names.map((n) => `$${n}: ${args[n]}`).join(', ')})` : '';
  const use = names.length ? `(${names.map((n) => `${n}: $${n}`).join(', ')})` : '';
  return `mutation${decl} { ${field}${use} ${selection(field)} }`;
}

/** JSON text of `value`, with Raw values spliced in verbatim. */
export function jsonText(value: unknown): string {
  if (value instanceof Raw) return value.text;
  if (Array.isArray(value)) return `[${value.map(jsonText).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${JSON.stringify(k)}:${jsonText(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const MB = 1024 * 1024;
export const HUGE = 'x'.repeat(MB);
/** `depth` nested arrays: `[[[…]]]`. */
export const deepArray = (depth: number) => new Raw('['.repeat(depth) + ']'.repeat(depth));
/** `depth` nested objects: `{"a":{"a":…1}}`. */
export const deepObject = (depth: number) => new Raw('{"a":'.repeat(depth) + '1' + '}'.repeat(depth));

const gid = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64');

/** Names that must never be accepted for a new object (the rule: lower-case letters, digits, _). */
const BAD_NEW_NAMES: [string, string][] = [
  ['empty', ''],
  ['__proto__', '__proto__'],
  ['traversal', '../../etc/passwd'],
  ['absolute path', '/etc/passwd'],
  ['NUL byte', 'a\u0000b'],
  ['1 MB', HUGE],
];

/** Names that can only be looked up and not found (or refused as malformed). */
const BAD_LOOKUP_NAMES: [string, string][] = [
  ['__proto__', '__proto__'],
  ['constructor', 'constructor'],
  ['prototype', 'prototype'],
  ['traversal', '../../etc/passwd'],
  ['NUL byte', 'a\u0000b'],
  ['1 MB', HUGE],
];

/** Global ids that name nothing of the caller's project. */
const BAD_IDS: [string, string][] = [
  ['empty', ''],
  ['not base64', 'not-an-id!'],
  ['__proto__', '__proto__'],
  ['unknown row', gid('FeatureGroup', '999999999')],
  ['prototype key', gid('FeatureGroup', '__proto__')],
  ['unknown type', gid('Nope', '1')],
  ['traversal', gid('Model', '../../etc/passwd')],
  ['NUL byte', 'a\u0000b'],
  ['1 MB', HUGE],
];

const NOT_FOUND: Kind[] = ['NotFoundError', 'ValidationError'];
const INVALID: Kind[] = ['ValidationError'];

const cases: BadInput[] = [];
const add = (c: BadInput) => cases.push(c);

// ---------------------------------------------------------------- names of new objects
const FG_FEATURES = [
  { name: 'id', type: 'STRING' },
  { name: 'v', type: 'DOUBLE' },
];
const creates: [string, string, (name: string) => Record<string, unknown>, Record<string, string>][] = [
  ['createFeatureGroup', 'input.name', (name) => ({ input: { name, primaryKey: ['id'], features: FG_FEATURES } }), { input: 'CreateFeatureGroupInput!' }],
  ['createFeatureView', 'input.name', (name) => ({ input: { name, query: { featureGroup: { name: 'fg' } } } }), { input: 'CreateFeatureViewInput!' }],
  ['createModel', 'input.name', (name) => ({ input: { name, framework: 'OTHER' } }), { input: 'CreateModelInput!' }],
  [
    'createJob',
    'input.name',
    (name) => ({
      input: {
        name,
        type: 'COMPUTE_STATISTICS',
        config: { featureGroup: { name: 'fg' } },
      },
    }),
    { input: 'CreateJobInput!' },
  ],
  ['createTagSchema', 'name', (name) => ({ name, schema: { type: 'string' } }), { name: 'String!', schema: 'JSON!' }],
  [
    'createDataSource',
    'input.name',
    (name) => ({
      input: {
        name,
        type: 'POSTGRES',
        config: { url: 'postgresql://u@127.0.0.1:1/db' },
      },
    }),
    { input: 'CreateDataSourceInput!' },
  ],
  [
    'createAlertReceiver',
    'input.name',
    (name) => ({
      input: {
        name,
        secret: 's'.repeat(20),
        webhookUrl: 'http://127.0.0.1:9/hook',
      },
    }),
    { input: 'CreateAlertReceiverInput!' },
  ],
  ['createProject', 'input.name', (name) => ({ input: { name } }), { input: 'CreateProjectInput!' }],
  [
    'createExternalFeatureGroup',
    'input.name',
    (name) => ({
      input: {
        name,
        dataSource: 'nosuchsource',
        primaryKey: ['id'],
        table: 't',
      },
    }),
    { input: 'CreateExternalFeatureGroupInput!' },
  ],
];
for (const [mutation, where, vars, types] of creates) {
  for (const [label, name] of BAD_NEW_NAMES) {
    add({
      name: `${mutation} ${where}: ${label}`,
      mutation,
      query: op(mutation, types),
      variables: vars(name),
      expected: INVALID,
    });
  }
}
for (const [label, name] of [
  ['empty', ''],
  ['blank', '   '],
  ['1 MB', HUGE],
] as const) {
  add({
    name: `createApiKey input.name: ${label}`,
    mutation: 'createApiKey',
    query: op('createApiKey', { input: 'CreateApiKeyInput!' }),
    variables: { input: { name, scopes: ['READ'] } },
    expected: INVALID,
  });
}

// ---------------------------------------------------------------- names looked up
const FG = { featureGroup: 'FeatureGroupRef!' };
const lookups: [string, Record<string, string>, (name: string) => Record<string, unknown>][] = [
  ['insertFeatureGroupData', { ...FG, rows: '[JSON!]' }, (name) => ({ featureGroup: { name }, rows: [{ id: 'a' }] })],
  ['computeStatistics', FG, (name) => ({ featureGroup: { name } })],
  ['deleteFeatureGroup', FG, (name) => ({ featureGroup: { name } })],
  ['updateFeatureGroup', { ...FG, input: 'UpdateFeatureGroupInput!' }, (name) => ({ featureGroup: { name }, input: { description: 'd' } })],
  [
    'saveExpectationSuite',
    { ...FG, input: 'SaveExpectationSuiteInput!' },
    (name) => ({
      featureGroup: { name },
      input: { name: 'suite', ingestionPolicy: 'STRICT', expectations: [] },
    }),
  ],
  ['deleteExpectationSuite', FG, (name) => ({ featureGroup: { name } })],
  ['validateFeatureGroup', FG, (name) => ({ featureGroup: { name } })],
  ['createTrainingDataset', { featureView: 'FeatureViewRef!' }, (name) => ({ featureView: { name } })],
  ['deleteFeatureView', { featureView: 'FeatureViewRef!' }, (name) => ({ featureView: { name } })],
  ['deleteTrainingDataset', { featureView: 'FeatureViewRef!', version: 'Int!' }, (name) => ({ featureView: { name }, version: 1 })],
  ['deleteJob', { name: 'String!' }, (name) => ({ name })],
  ['runJob', { name: 'String!' }, (name) => ({ name })],
  ['scheduleJob', { name: 'String!', cron: 'String!' }, (name) => ({ name, cron: '0 * * * *' })],
  ['unscheduleJob', { name: 'String!' }, (name) => ({ name })],
  ['pauseSchedule', { name: 'String!' }, (name) => ({ name })],
  ['resumeSchedule', { name: 'String!' }, (name) => ({ name })],
  ['deleteModel', { name: 'String!', version: 'Int!' }, (name) => ({ name, version: 1 })],
  ['setModelAlias', { name: 'String!', alias: 'String!', version: 'Int!' }, (name) => ({ name, alias: 'champion', version: 1 })],
  ['deleteModelAlias', { name: 'String!', alias: 'String!' }, (name) => ({ name, alias: 'champion' })],
  ['finalizeModel', { model: 'ModelRef!' }, (name) => ({ model: { name } })],
  ['updateModel', { model: 'ModelRef!', input: 'UpdateModelInput!' }, (name) => ({ model: { name }, input: { description: 'd' } })],
  ['deleteTagSchema', { name: 'String!' }, (name) => ({ name })],
  ['deleteDataSource', { name: 'String!' }, (name) => ({ name })],
  ['testDataSource', { name: 'String!' }, (name) => ({ name })],
  ['deleteAlertReceiver', { name: 'String!' }, (name) => ({ name })],
  ['testAlertReceiver', { name: 'String!' }, (name) => ({ name })],
  ['createAlertRoute', { input: 'CreateAlertRouteInput!' }, (name) => ({ input: { receiver: name, eventTypes: ['JOB_FAILED'] } })],
];
for (const [mutation, types, vars] of lookups) {
  for (const [label, name] of BAD_LOOKUP_NAMES) {
    add({
      name: `${mutation} name: ${label}`,
      mutation,
      query: op(mutation, types),
      variables: vars(name),
      expected: NOT_FOUND,
    });
  }
}
// The tag name of addTag/removeTag, the alias of setModelAlias: names that exist nowhere.
for (const [label, name] of BAD_LOOKUP_NAMES) {
  add({
    name: `addTag name: ${label}`,
    mutation: 'addTag',
    query: op('addTag', { target: 'ID!', name: 'String!', value: 'JSON!' }),
    variables: (fx) => ({ target: fx.fgId, name, value: { team: 'a' } }),
    expected: NOT_FOUND,
  });
  add({
    name: `removeTag name: ${label}`,
    mutation: 'removeTag',
    query: op('removeTag', { target: 'ID!', name: 'String!' }),
    variables: (fx) => ({ target: fx.fgId, name }),
    expected: NOT_FOUND,
  });
}
for (const [label, alias] of BAD_NEW_NAMES) {
  add({
    name: `setModelAlias alias: ${label}`,
    mutation: 'setModelAlias',
    query: op('setModelAlias', {
      name: 'String!',
      alias: 'String!',
      version: 'Int!',
    }),
    variables: { name: 'm', alias, version: 1 },
    expected: INVALID,
  });
}

// ---------------------------------------------------------------- global ids
const idFields: [string, Record<string, string>, (id: string) => Record<string, unknown>][] = [
  ['revokeApiKey', { id: 'ID!' }, (id) => ({ id })],
  ['stopExecution', { id: 'ID!' }, (id) => ({ id })],
  ['deleteAlertRoute', { id: 'ID!' }, (id) => ({ id })],
  ['setAlertRouteEnabled', { id: 'ID!', enabled: 'Boolean!' }, (id) => ({ id, enabled: false })],
  ['addTag', { target: 'ID!', name: 'String!', value: 'JSON!' }, (target) => ({ target, name: 'team', value: { team: 'a' } })],
  ['removeTag', { target: 'ID!', name: 'String!' }, (target) => ({ target, name: 'team' })],
  ['addKeywords', { target: 'ID!', keywords: '[String!]!' }, (target) => ({ target, keywords: ['k'] })],
  ['removeKeyword', { target: 'ID!', keyword: 'String!' }, (target) => ({ target, keyword: 'k' })],
  ['computeStatistics', { featureGroup: 'FeatureGroupRef!', commit: 'ID' }, (commit) => ({ featureGroup: { name: 'fg' }, commit })],
];
for (const [mutation, types, vars] of idFields) {
  for (const [label, id] of BAD_IDS) {
    add({
      name: `${mutation} id: ${label}`,
      mutation,
      query: op(mutation, types),
      variables: vars(id),
      expected: NOT_FOUND,
    });
  }
}

// ---------------------------------------------------------------- row values (insertFeatureGroupData rows)
const INSERT_ROWS = op('insertFeatureGroupData', {
  featureGroup: 'FeatureGroupRef!',
  rows: '[JSON!]',
});
const INSERT_FILL = op('insertFeatureGroupData', {
  featureGroup: 'FeatureGroupRef!',
  rows: '[JSON!]',
  fillMissing: 'Boolean',
});
const GOOD_ROW = {
  id: 'new',
  ts: '2026-02-01T00:00:00Z',
  x: 1.5,
  n: 7,
  s: 'ok',
  b: true,
};
const badRows: [string, unknown[]][] = [
  ['1e400 into DOUBLE', [{ ...GOOD_ROW, x: new Raw('1e400') }]],
  ['-1e400 into DOUBLE', [{ ...GOOD_ROW, x: new Raw('-1e400') }]],
  ['"NaN" into DOUBLE', [{ ...GOOD_ROW, x: 'NaN' }]],
  ['"Infinity" into DOUBLE', [{ ...GOOD_ROW, x: 'Infinity' }]],
  ['"-Infinity" into DOUBLE', [{ ...GOOD_ROW, x: '-Infinity' }]],
  ['object into DOUBLE', [{ ...GOOD_ROW, x: { v: 1 } }]],
  ['1.5 into BIGINT', [{ ...GOOD_ROW, n: 1.5 }]],
  ['"abc" into BIGINT', [{ ...GOOD_ROW, n: 'abc' }]],
  ['1e30 into BIGINT (out of range)', [{ ...GOOD_ROW, n: 1e30 }]],
  ['"99999999999999999999999" into BIGINT (out of range)', [{ ...GOOD_ROW, n: '99999999999999999999999' }]],
  ['1e400 into BIGINT', [{ ...GOOD_ROW, n: new Raw('1e400') }]],
  ['number into STRING', [{ ...GOOD_ROW, s: 5 }]],
  ['boolean into STRING', [{ ...GOOD_ROW, s: true }]],
  ['object into STRING', [{ ...GOOD_ROW, s: { a: 1 } }]],
  ['array into STRING', [{ ...GOOD_ROW, s: [1, 2] }]],
  ['2 into BOOLEAN', [{ ...GOOD_ROW, b: 2 }]],
  ['"not a date" into TIMESTAMP', [{ ...GOOD_ROW, ts: 'not a date' }]],
  ['"2026-13-45" into TIMESTAMP', [{ ...GOOD_ROW, ts: '2026-13-45T00:00:00Z' }]],
  ['object into TIMESTAMP', [{ ...GOOD_ROW, ts: { at: 1 } }]],
  ['null primary key', [{ ...GOOD_ROW, id: null }]],
  ['missing primary key', [{ ts: GOOD_ROW.ts, x: 1, n: 1, s: 's', b: true }]],
  ['null event time', [{ ...GOOD_ROW, ts: null }]],
  ['missing event time', [{ id: 'k', x: 1, n: 1, s: 's', b: true }]],
  ['unknown column', [{ ...GOOD_ROW, zzz: 1 }]],
  ['unknown column in the second row only', [GOOD_ROW, { ...GOOD_ROW, id: 'new2', zzz: 1 }]],
  ['missing columns without fillMissing', [{ id: 'new', ts: GOOD_ROW.ts }]],
  ['__proto__ key', [new Raw(`{"id":"new","ts":"2026-02-01T00:00:00Z","x":1,"n":1,"s":"s","b":true,"__proto__":{"x":2}}`)]],
  ['constructor key', [{ ...GOOD_ROW, constructor: 1 }]],
  ['prototype key', [{ ...GOOD_ROW, prototype: 1 }]],
  ['the same column twice (two spellings)', [{ ...GOOD_ROW, X: 2 }]],
  ['row is a number', [1]],
  ['row is a string', ['row']],
  ['row is an array', [['new', GOOD_ROW.ts, 1, 1, 's', true]]],
  ['a good row then a bad one', [GOOD_ROW, { ...GOOD_ROW, id: 'new2', x: 'abc' }]],
  ['3 000-deep array value', [{ ...GOOD_ROW, s: deepArray(3000) }]],
  ['3 000-deep object value', [{ ...GOOD_ROW, s: deepObject(3000) }]],
  ['50 000-deep array value', [{ ...GOOD_ROW, s: deepArray(50_000) }]],
  ['50 000-deep row', [deepArray(50_000)]],
];
for (const [label, rows] of badRows) {
  add({
    name: `insertFeatureGroupData rows: ${label}`,
    mutation: 'insertFeatureGroupData',
    query: INSERT_ROWS,
    variables: { featureGroup: { name: 'fg' }, rows },
    expected: INVALID,
  });
}
add({
  name: 'insertFeatureGroupData rows: fillMissing still refuses a missing primary key',
  mutation: 'insertFeatureGroupData',
  query: INSERT_FILL,
  variables: {
    featureGroup: { name: 'fg' },
    rows: [{ ts: GOOD_ROW.ts, x: 1 }],
    fillMissing: true,
  },
  expected: INVALID,
});
add({
  name: 'insertFeatureGroupData: neither rows nor file',
  mutation: 'insertFeatureGroupData',
  query: INSERT_ROWS,
  variables: { featureGroup: { name: 'fg' } },
  expected: INVALID,
});
add({
  name: 'insertFeatureGroupData: version 0',
  mutation: 'insertFeatureGroupData',
  query: INSERT_ROWS,
  variables: { featureGroup: { name: 'fg', version: 0 }, rows: [GOOD_ROW] },
  expected: NOT_FOUND,
});
add({
  name: 'insertFeatureGroupData: version -1',
  mutation: 'insertFeatureGroupData',
  query: INSERT_ROWS,
  variables: { featureGroup: { name: 'fg', version: -1 }, rows: [GOOD_ROW] },
  expected: NOT_FOUND,
});

// ---------------------------------------------------------------- files (multipart inserts)
const INSERT_FILE = op('insertFeatureGroupData', {
  featureGroup: 'FeatureGroupRef!',
  file: 'File',
  format: 'DataFormat',
});
const CSV_HEAD = 'id,ts,x,n,s,b\n';
const wide = Array.from({ length: 20_000 }, (_, i) => `c${i}`).join(',');
const badFiles: [string, string, string | Uint8Array, string | null][] = [
  ['CSV unterminated quote', 'rows.csv', `${CSV_HEAD}new,2026-02-01T00:00:00Z,1,1,"open,true\n`, 'CSV'],
  ['CSV wrong type', 'rows.csv', `${CSV_HEAD}new,2026-02-01T00:00:00Z,abc,1,s,true\n`, 'CSV'],
  ['CSV 1e400 into DOUBLE', 'rows.csv', `${CSV_HEAD}new,2026-02-01T00:00:00Z,1e400,1,s,true\n`, 'CSV'],
  ['CSV NaN into DOUBLE', 'rows.csv', `${CSV_HEAD}new,2026-02-01T00:00:00Z,NaN,1,s,true\n`, 'CSV'],
  ['CSV inf into DOUBLE', 'rows.csv', `${CSV_HEAD}new,2026-02-01T00:00:00Z,inf,1,s,true\n`, 'CSV'],
  ['CSV unknown column', 'rows.csv', `id,ts,x,n,s,b,zzz\nnew,2026-02-01T00:00:00Z,1,1,s,true,9\n`, 'CSV'],
  ['CSV missing columns', 'rows.csv', `id,ts\nnew,2026-02-01T00:00:00Z\n`, 'CSV'],
  ['CSV null key', 'rows.csv', `${CSV_HEAD},2026-02-01T00:00:00Z,1,1,s,true\n`, 'CSV'],
  ['CSV row with too many fields', 'rows.csv', `${CSV_HEAD}new,2026-02-01T00:00:00Z,1,1,s,true,extra,more\n`, 'CSV'],
  ['CSV empty', 'rows.csv', '', 'CSV'],
  ['CSV 20 000 columns', 'rows.csv', `${wide}\n${wide.replace(/c\d+/g, '1')}\n`, 'CSV'],
  ['CSV __proto__ header', 'rows.csv', `id,ts,x,n,s,b,__proto__\nnew,2026-02-01T00:00:00Z,1,1,s,true,1\n`, 'CSV'],
  ['CSV binary garbage', 'rows.csv', new Uint8Array([0, 255, 1, 254, 0, 0, 13, 10, 200, 201]), 'CSV'],
  ['PARQUET garbage', 'rows.parquet', 'this is not parquet at all', 'PARQUET'],
  ['PARQUET truncated (magic only)', 'rows.parquet', 'PAR1\u0000\u0000\u0000\u0000PAR1', 'PARQUET'],
  ['PARQUET given a CSV', 'rows.parquet', `${CSV_HEAD}new,2026-02-01T00:00:00Z,1,1,s,true\n`, 'PARQUET'],
  ['PARQUET empty', 'rows.parquet', '', 'PARQUET'],
  ['NDJSON malformed line', 'rows.ndjson', `{"id":"new","ts":"2026-02-01T00:00:00Z","x":1,"n":1,"s":"s","b":true}\n{"id":\n`, 'NDJSON'],
  ['NDJSON 1e400', 'rows.ndjson', `{"id":"new","ts":"2026-02-01T00:00:00Z","x":1e400,"n":1,"s":"s","b":true}\n`, 'NDJSON'],
  ['NDJSON wrong type', 'rows.ndjson', `{"id":"new","ts":"2026-02-01T00:00:00Z","x":"abc","n":1,"s":"s","b":true}\n`, 'NDJSON'],
  ['NDJSON unknown column', 'rows.ndjson', `{"id":"new","ts":"2026-02-01T00:00:00Z","x":1,"n":1,"s":"s","b":true,"zzz":1}\n`, 'NDJSON'],
  ['NDJSON deep value', 'rows.ndjson', `{"id":"new","ts":"2026-02-01T00:00:00Z","x":1,"n":1,"s":${'['.repeat(3000)}${']'.repeat(3000)},"b":true}\n`, 'NDJSON'],
  ['NDJSON line is an array', 'rows.ndjson', `[1,2,3]\n`, 'NDJSON'],
  ['NDJSON null key', 'rows.ndjson', `{"id":null,"ts":"2026-02-01T00:00:00Z","x":1,"n":1,"s":"s","b":true}\n`, 'NDJSON'],
  ['unknown extension, no format', 'rows.bin', `${CSV_HEAD}new,2026-02-01T00:00:00Z,1,1,s,true\n`, null],
  ['traversal file name, no format', '../../etc/passwd', 'root:x:0:0:root:/root:/bin/bash\n', null],
];
for (const [label, fileName, content, format] of badFiles) {
  add({
    name: `insertFeatureGroupData file: ${label}`,
    mutation: 'insertFeatureGroupData',
    query: INSERT_FILE,
    variables: { featureGroup: { name: 'fg' }, file: null, format },
    file: { variable: 'file', name: fileName, content },
    expected: INVALID,
  });
}

// ---------------------------------------------------------------- feature group definitions
const CREATE_FG = op('createFeatureGroup', {
  input: 'CreateFeatureGroupInput!',
});
const fgDef = (over: Record<string, unknown>) => ({
  input: { name: 'fgnew', primaryKey: ['id'], features: FG_FEATURES, ...over },
});
const badDefs: [string, Record<string, unknown>][] = [
  ['feature named __proto__', { features: [...FG_FEATURES, { name: '__proto__', type: 'DOUBLE' }] }],
  ['feature named constructor', { features: [...FG_FEATURES, { name: 'constructor', type: 'DOUBLE' }] }],
  ['feature named prototype', { features: [...FG_FEATURES, { name: 'prototype', type: 'DOUBLE' }] }],
  [
    'primary key named constructor',
    {
      primaryKey: ['constructor'],
      features: [{ name: 'constructor', type: 'STRING' }],
    },
  ],
  [
    'feature named ../../etc/passwd',
    {
      features: [...FG_FEATURES, { name: '../../etc/passwd', type: 'DOUBLE' }],
    },
  ],
  ['feature name with NUL', { features: [...FG_FEATURES, { name: 'a\u0000b', type: 'DOUBLE' }] }],
  ['feature name 1 MB', { features: [...FG_FEATURES, { name: HUGE, type: 'DOUBLE' }] }],
  ['unknown type', { features: [...FG_FEATURES, { name: 'z', type: 'FOO' }] }],
  ['empty type', { features: [...FG_FEATURES, { name: 'z', type: '' }] }],
  [
    'SQL in type',
    {
      features: [...FG_FEATURES, { name: 'z', type: 'DOUBLE); DROP TABLE x; --' }],
    },
  ],
  ['1 MB type', { features: [...FG_FEATURES, { name: 'z', type: HUGE }] }],
  [
    'deeply nested type',
    {
      features: [
        ...FG_FEATURES,
        {
          name: 'z',
          type: 'ARRAY<'.repeat(3000) + 'DOUBLE' + '>'.repeat(3000),
        },
      ],
    },
  ],
  ['duplicate feature', { features: [...FG_FEATURES, { name: 'v', type: 'STRING' }] }],
  ['primary key not a feature', { primaryKey: ['nope'] }],
  ['empty primary key', { primaryKey: [] }],
  ['event time not a feature', { eventTime: 'nope' }],
  ['event time of type STRING', { eventTime: 'id' }],
  ['primary key of type DOUBLE', { primaryKey: ['v'] }],
  ['version 0', { version: 0 }],
  ['version -1', { version: -1 }],
  ['statisticsConfig an array', { statisticsConfig: [] }],
  ['statisticsConfig a string', { statisticsConfig: 'x' }],
  ['statisticsConfig 3 000 deep', { statisticsConfig: deepObject(3000) }],
  ['description 1 MB', { description: HUGE }],
  ['unknown parent', { parents: [{ name: 'nosuchgroup' }] }],
  ['no features (empty list)', { features: [] }],
];
for (const [label, over] of badDefs) {
  add({
    name: `createFeatureGroup input: ${label}`,
    mutation: 'createFeatureGroup',
    query: CREATE_FG,
    variables: fgDef(over),
    expected: INVALID,
  });
}
add({
  name: 'createFeatureGroup input: the existing name with another definition',
  mutation: 'createFeatureGroup',
  query: CREATE_FG,
  variables: {
    input: {
      name: 'fg',
      version: 1,
      primaryKey: ['id'],
      features: FG_FEATURES,
    },
  },
  expected: ['ConflictError'],
});

const UPDATE_FG = op('updateFeatureGroup', {
  featureGroup: 'FeatureGroupRef!',
  input: 'UpdateFeatureGroupInput!',
});
const badUpdates: [string, Record<string, unknown>][] = [
  ['append __proto__', { appendFeatures: [{ name: '__proto__', type: 'DOUBLE' }] }],
  ['append constructor', { appendFeatures: [{ name: 'constructor', type: 'DOUBLE' }] }],
  ['append an existing name', { appendFeatures: [{ name: 'x', type: 'DOUBLE' }] }],
  ['append unknown type', { appendFeatures: [{ name: 'z', type: 'FOO' }] }],
  ['describe an unknown feature', { featureDescriptions: [{ name: 'nope', description: 'd' }] }],
  ['statisticsConfig a string', { statisticsConfig: 'x' }],
  ['statisticsConfig 3 000 deep', { statisticsConfig: deepObject(3000) }],
  ['description 1 MB', { description: HUGE }],
];
for (const [label, input] of badUpdates) {
  add({
    name: `updateFeatureGroup input: ${label}`,
    mutation: 'updateFeatureGroup',
    query: UPDATE_FG,
    variables: { featureGroup: { name: 'fg' }, input },
    expected: INVALID,
  });
}

// ---------------------------------------------------------------- feature views
const CREATE_FV = op('createFeatureView', { input: 'CreateFeatureViewInput!' });
const fvDef = (query: Record<string, unknown>, over: Record<string, unknown> = {}) => ({
  input: {
    name: 'fvnew',
    query: { featureGroup: { name: 'fg' }, ...query },
    ...over,
  },
});
const badViews: [string, Record<string, unknown>, Record<string, unknown>, Kind[]][] = [
  ['unknown group', { featureGroup: { name: 'nosuchgroup' } }, {}, NOT_FOUND],
  ['unknown feature', { features: ['nope'] }, {}, INVALID],
  ['feature __proto__', { features: ['__proto__'] }, {}, INVALID],
  ['feature constructor', { features: ['constructor'] }, {}, INVALID],
  ['unknown except feature', { exceptFeatures: ['nope'] }, {}, INVALID],
  ['unknown label', {}, { labels: ['nope'] }, INVALID],
  ['label constructor', {}, { labels: ['constructor'] }, INVALID],
  [
    'join on unknown column',
    {
      joins: [
        {
          featureGroup: { name: 'fg', version: 1 },
          on: ['nope'],
          prefix: 'r_',
        },
      ],
    },
    {},
    INVALID,
  ],
  ['join unknown group', { joins: [{ featureGroup: { name: 'nosuchgroup' }, on: ['id'] }] }, {}, NOT_FOUND],
  [
    'join prefix SQL',
    {
      joins: [
        {
          featureGroup: { name: 'fg' },
          on: ['id'],
          prefix: 'a"; DROP TABLE x; --',
        },
      ],
    },
    {},
    INVALID,
  ],
  ['filter on unknown feature', { filters: [{ feature: 'nope', op: 'EQ', value: 1 }] }, {}, INVALID],
  ['filter value object', { filters: [{ feature: 'x', op: 'GT', value: { a: 1 } }] }, {}, INVALID],
  ['filter value 3 000 deep', { filters: [{ feature: 'x', op: 'IN', value: deepArray(3000) }] }, {}, INVALID],
  ['filter value 1e400', { filters: [{ feature: 'x', op: 'GT', value: new Raw('1e400') }] }, {}, INVALID],
  ['filter IN with a scalar', { filters: [{ feature: 'x', op: 'IN', value: 3 }] }, {}, INVALID],
  ['filter number on STRING', { filters: [{ feature: 's', op: 'LIKE', value: 3 }] }, {}, INVALID],
  ['transformation unknown function', {}, { transformations: [{ function: 'nope', feature: 'x' }] }, INVALID],
  ['transformation unknown feature', {}, { transformations: [{ function: 'min_max_scaler', feature: 'nope' }] }, INVALID],
  ['transformation function __proto__', {}, { transformations: [{ function: '__proto__', feature: 'x' }] }, INVALID],
  ['transformation function constructor', {}, { transformations: [{ function: 'constructor', feature: 'x' }] }, INVALID],
  ['transformation function toString', {}, { transformations: [{ function: 'toString', feature: 'x' }] }, INVALID],
  [
    'transformation args 3 000 deep',
    {},
    {
      transformations: [{ function: 'impute_constant', feature: 'x', args: deepObject(3000) }],
    },
    INVALID,
  ],
  ['min_max_scaler on a STRING', {}, { transformations: [{ function: 'min_max_scaler', feature: 's' }] }, INVALID],
  ['version 0', {}, { version: 0 }, INVALID],
  ['description 1 MB', {}, { description: HUGE }, INVALID],
];
for (const [label, query, over, expected] of badViews) {
  add({
    name: `createFeatureView input: ${label}`,
    mutation: 'createFeatureView',
    query: CREATE_FV,
    variables: fvDef(query, over),
    expected,
  });
}

// ---------------------------------------------------------------- training datasets
const CREATE_TD = op('createTrainingDataset', {
  featureView: 'FeatureViewRef!',
  input: 'CreateTrainingDatasetInput',
});
const badSplits: [string, Record<string, unknown>][] = [
  ['testSize 1.5', { split: 'RANDOM', testSize: 1.5 }],
  ['testSize -0.1', { split: 'RANDOM', testSize: -0.1 }],
  ['testSize + validationSize over 1', { split: 'RANDOM', testSize: 0.6, validationSize: 0.6 }],
  ['TIME_SERIES without times', { split: 'TIME_SERIES' }],
  [
    'TIME_SERIES with train after test',
    {
      split: 'TIME_SERIES',
      trainStart: '2026-03-01T00:00:00Z',
      trainEnd: '2026-04-01T00:00:00Z',
      testStart: '2026-01-01T00:00:00Z',
      testEnd: '2026-02-01T00:00:00Z',
    },
  ],
  ['startTime after endTime', { startTime: '2026-05-01T00:00:00Z', endTime: '2026-01-01T00:00:00Z' }],
  ['description 1 MB', { description: HUGE }],
];
for (const [label, input] of badSplits) {
  add({
    name: `createTrainingDataset input: ${label}`,
    mutation: 'createTrainingDataset',
    query: CREATE_TD,
    variables: { featureView: { name: 'fv' }, input },
    expected: INVALID,
  });
}

// ---------------------------------------------------------------- models
const CREATE_MODEL = op('createModel', { input: 'CreateModelInput!' });
const badModels: [string, Record<string, unknown>, Kind[]][] = [
  ['metrics an array', { metrics: [1, 2] }, INVALID],
  ['metrics a string', { metrics: 'good' }, INVALID],
  ['metric NaN string', { metrics: { acc: 'NaN' } }, INVALID],
  ['metric 1e400', { metrics: { acc: new Raw('1e400') } }, INVALID],
  ['metrics 3 000 deep', { metrics: deepObject(3000) }, INVALID],
  ['inputExample 3 000 deep', { inputExample: deepArray(3000) }, INVALID],
  ['modelSchema 3 000 deep', { modelSchema: deepObject(3000) }, INVALID],
  ['modelSchema 50 000 deep', { modelSchema: deepArray(50_000) }, INVALID],
  ['unknown feature view', { featureView: { name: 'nosuchview' } }, NOT_FOUND],
  ['training dataset version without its view', { trainingDatasetVersion: 1 }, INVALID],
  ['unknown training dataset version', { featureView: { name: 'fv' }, trainingDatasetVersion: 99 }, NOT_FOUND],
  ['version 0', { version: 0 }, INVALID],
  ['description 1 MB', { description: HUGE }, INVALID],
];
for (const [label, over, expected] of badModels) {
  add({
    name: `createModel input: ${label}`,
    mutation: 'createModel',
    query: CREATE_MODEL,
    variables: { input: { name: 'mnew', framework: 'OTHER', ...over } },
    expected,
  });
}
const badModelPaths: [string, string][] = [
  ['traversal', '../../etc/passwd'],
  ['absolute', '/etc/passwd'],
  ['NUL byte', 'model\u0000.onnx'],
  ['only dots', '..'],
  ['1 MB', HUGE],
];
for (const [label, path] of badModelPaths) {
  // A 1 MB path makes the multipart `operations` field too large: refused before execution.
  const refusals: Kind[] = label === '1 MB' ? ['ValidationError', 'GraphQL'] : INVALID;
  add({
    name: `createModel files.path: ${label}`,
    mutation: 'createModel',
    query: CREATE_MODEL,
    variables: {
      input: {
        name: 'mnew',
        framework: 'OTHER',
        files: [{ path, file: null }],
      },
    },
    file: {
      variable: 'input.files.0.file',
      name: 'model.onnx',
      content: 'weights',
    },
    expected: refusals,
  });
  add({
    name: `addModelFiles path: ${label}`,
    mutation: 'addModelFiles',
    query: op('addModelFiles', {
      model: 'ModelRef!',
      files: '[ModelFileInput!]!',
    }),
    variables: {
      model: { name: 'mp', version: 1 },
      files: [{ path, file: null }],
    },
    file: { variable: 'files.0.file', name: 'model.onnx', content: 'weights' },
    expected: refusals,
  });
}
add({
  name: 'createModel files: an upload named ../../etc/passwd with bad metrics is refused',
  mutation: 'createModel',
  query: CREATE_MODEL,
  variables: {
    input: {
      name: 'mnew',
      framework: 'OTHER',
      files: [{ file: null }],
      metrics: 'bad',
    },
  },
  file: {
    variable: 'input.files.0.file',
    name: '../../etc/passwd',
    content: 'weights',
  },
  expected: INVALID,
});
const UPDATE_MODEL = op('updateModel', {
  model: 'ModelRef!',
  input: 'UpdateModelInput!',
});
for (const [label, metrics] of [
  ['an array', [1]],
  ['3 000 deep', deepObject(3000)],
  ['1e400', { acc: new Raw('1e400') }],
] as const) {
  add({
    name: `updateModel metrics: ${label}`,
    mutation: 'updateModel',
    query: UPDATE_MODEL,
    variables: { model: { name: 'm' }, input: { metrics } },
    expected: INVALID,
  });
}
add({
  name: 'finalizeModel expectedFiles: traversal',
  mutation: 'finalizeModel',
  query: op('finalizeModel', {
    model: 'ModelRef!',
    expectedFiles: '[String!]',
  }),
  variables: {
    model: { name: 'mp', version: 1 },
    expectedFiles: ['../../etc/passwd'],
  },
  expected: INVALID,
});
add({
  name: 'setModelAlias version: unknown',
  mutation: 'setModelAlias',
  query: op('setModelAlias', {
    name: 'String!',
    alias: 'String!',
    version: 'Int!',
  }),
  variables: { name: 'm', alias: 'champion', version: 99 },
  expected: NOT_FOUND,
});
add({
  name: 'setModelAlias version: a PENDING one',
  mutation: 'setModelAlias',
  query: op('setModelAlias', {
    name: 'String!',
    alias: 'String!',
    version: 'Int!',
  }),
  variables: { name: 'mp', alias: 'champion', version: 1 },
  expected: ['ValidationError', 'ConflictError'],
});

// ---------------------------------------------------------------- jobs
const CREATE_JOB = op('createJob', { input: 'CreateJobInput!' });
const job = (over: Record<string, unknown>) => ({
  input: {
    name: 'jnew',
    type: 'COMPUTE_STATISTICS',
    config: { featureGroup: { name: 'fg' } },
    ...over,
  },
});
const badJobs: [string, Record<string, unknown>, Kind[]][] = [
  ['unknown type', { type: 'NOPE' }, INVALID],
  ['type __proto__', { type: '__proto__' }, INVALID],
  ['type constructor', { type: 'constructor' }, INVALID],
  ['config missing', { config: null }, INVALID],
  ['config a string', { config: 'fg' }, INVALID],
  ['config without its group', { config: {} }, INVALID],
  ['config names an unknown group', { config: { featureGroup: { name: 'nosuchgroup' } } }, NOT_FOUND],
  ['config with an unknown key', { config: { featureGroup: { name: 'fg' }, zzz: 1 } }, INVALID],
  ['config 3 000 deep', { config: deepObject(3000) }, INVALID],
  ['config 50 000 deep', { config: deepArray(50_000) }, INVALID],
  ['MATERIALIZE of an unknown group', { type: 'MATERIALIZE', config: { featureGroup: { name: 'nosuchgroup' } } }, NOT_FOUND],
  [
    'TRAINING_DATASET of an unknown view',
    {
      type: 'TRAINING_DATASET',
      config: { featureView: { name: 'nosuchview' } },
    },
    NOT_FOUND,
  ],
  ['COMMAND without a command', { type: 'COMMAND', config: {} }, INVALID],
  ['COMMAND with args not strings', { type: 'COMMAND', config: { command: 'true', args: [{ a: 1 }] } }, INVALID],
  ['7-field cron', { schedule: { cron: '0 0 0 * * * 2026' } }, INVALID],
  ['garbage cron', { schedule: { cron: 'every day' } }, INVALID],
  ['empty cron', { schedule: { cron: '' } }, INVALID],
  ['cron minute 99', { schedule: { cron: '99 * * * *' } }, INVALID],
  ['cron 1 MB', { schedule: { cron: HUGE } }, INVALID],
  [
    'schedule ends before it starts',
    {
      schedule: {
        cron: '0 * * * *',
        startTime: '2026-05-01T00:00:00Z',
        endTime: '2026-01-01T00:00:00Z',
      },
    },
    INVALID,
  ],
];
for (const [label, over, expected] of badJobs) {
  add({
    name: `createJob input: ${label}`,
    mutation: 'createJob',
    query: CREATE_JOB,
    variables: job(over),
    expected,
  });
}
const SCHEDULE = op('scheduleJob', { name: 'String!', cron: 'String!' });
for (const [label, cron] of [
  ['7 fields', '0 0 0 * * * 2026'],
  ['garbage', 'every day'],
  ['empty', ''],
  ['minute 99', '99 * * * *'],
  ['ReDoS-shaped', '*/' + '1'.repeat(5000) + ' * * * *'],
  ['NUL byte', '0 * * * *\u0000'],
  ['1 MB', HUGE],
] as const) {
  add({
    name: `scheduleJob cron: ${label}`,
    mutation: 'scheduleJob',
    query: SCHEDULE,
    variables: { name: 'j', cron },
    expected: INVALID,
  });
}
const RUN = op('runJob', { name: 'String!', args: 'JSON' });
for (const [label, args] of [
  ['3 000 deep', deepObject(3000)],
  ['50 000 deep', deepArray(50_000)],
  ['a string', 'go'],
  ['an unknown key', { zzz: 1 }],
] as const) {
  add({
    name: `runJob args: ${label}`,
    mutation: 'runJob',
    query: RUN,
    variables: { name: 'j', args },
    expected: INVALID,
  });
}

// ---------------------------------------------------------------- tags and keywords
const CREATE_TAG_SCHEMA = op('createTagSchema', {
  name: 'String!',
  schema: 'JSON!',
});
const badSchemas: [string, unknown][] = [
  // Catastrophic patterns such as (a+)+$ are valid and run in linear time (test/trust/patterns.test.ts);
  // what RE2 cannot run is refused.
  ['lookahead pattern', { type: 'string', pattern: '^(?=a)a+$' }],
  ['backreference in patternProperties', { type: 'object', patternProperties: { '^(a)\\1$': { type: 'string' } } }],
  ['invalid regex', { type: 'string', pattern: '(' }],
  ['3 000-deep schema', deepObject(3000)],
  ['50 000-deep schema', deepArray(50_000)],
  ['not an object', 'string'],
  ['unknown type', { type: 'nope' }],
  ['$ref to a file', { $ref: 'file:///etc/passwd' }],
  ['$ref to a URL', { $ref: 'http://127.0.0.1:9/schema.json' }],
];
for (const [label, schema] of badSchemas) {
  add({
    name: `createTagSchema schema: ${label}`,
    mutation: 'createTagSchema',
    query: CREATE_TAG_SCHEMA,
    variables: { name: 'newtag', schema },
    expected: INVALID,
  });
}
add({
  name: 'createTagSchema: the existing name with another schema',
  mutation: 'createTagSchema',
  query: CREATE_TAG_SCHEMA,
  variables: { name: 'team', schema: { type: 'number' } },
  expected: ['ConflictError'],
});
const ADD_TAG = op('addTag', {
  target: 'ID!',
  name: 'String!',
  value: 'JSON!',
});
for (const [label, value] of [
  ['value against its schema', { team: 5 }],
  ['value missing the required key', {}],
  ['3 000-deep value', deepObject(3000)],
  ['50 000-deep value', deepArray(50_000)],
  ['1e400 value', { team: new Raw('1e400') }],
] as const) {
  add({
    name: `addTag value: ${label}`,
    mutation: 'addTag',
    query: ADD_TAG,
    variables: (fx) => ({ target: fx.fgId, name: 'team', value }),
    expected: INVALID,
  });
}
const ADD_KEYWORDS = op('addKeywords', {
  target: 'ID!',
  keywords: '[String!]!',
});
for (const [label, keywords] of [
  ['none', []],
  ['empty', ['']],
  ['1 MB', [HUGE]],
  ['10 000 of them', Array.from({ length: 10_000 }, (_, i) => `k${i}`)],
] as const) {
  add({
    name: `addKeywords keywords: ${label}`,
    mutation: 'addKeywords',
    query: ADD_KEYWORDS,
    variables: (fx) => ({ target: fx.fgId, keywords }),
    expected: INVALID,
  });
}

// ---------------------------------------------------------------- expectation suites
const SAVE_SUITE = op('saveExpectationSuite', {
  featureGroup: 'FeatureGroupRef!',
  input: 'SaveExpectationSuiteInput!',
});
const badExpectations: [string, unknown][] = [
  ['unknown type', { type: 'expect_nothing', kwargs: {} }],
  ['type __proto__', { type: '__proto__', kwargs: {} }],
  ['type constructor', { type: 'constructor', kwargs: {} }],
  ['unknown column', { type: 'expect_column_values_to_not_be_null', kwargs: { column: 'nope' } }],
  [
    'column __proto__',
    {
      type: 'expect_column_values_to_not_be_null',
      kwargs: { column: '__proto__' },
    },
  ],
  ['kwargs a string', { type: 'expect_column_values_to_not_be_null', kwargs: 'x' }],
  ['kwargs 3 000 deep', { type: 'expect_column_values_to_be_between', kwargs: deepObject(3000) }],
  [
    'min_value 1e400',
    {
      type: 'expect_column_values_to_be_between',
      kwargs: { column: 'x', min_value: new Raw('1e400') },
    },
  ],
  [
    'min_value a string',
    {
      type: 'expect_column_values_to_be_between',
      kwargs: { column: 'x', min_value: 'low' },
    },
  ],
];
for (const [label, expectation] of badExpectations) {
  add({
    name: `saveExpectationSuite expectations: ${label}`,
    mutation: 'saveExpectationSuite',
    query: SAVE_SUITE,
    variables: {
      featureGroup: { name: 'fg' },
      input: {
        name: 'suite',
        ingestionPolicy: 'STRICT',
        expectations: [expectation],
      },
    },
    expected: INVALID,
  });
}

// ---------------------------------------------------------------- data sources
const CREATE_DS = op('createDataSource', { input: 'CreateDataSourceInput!' });
const badSources: [string, string, unknown][] = [
  ['FILES path /etc', 'FILES', { path: '/etc' }],
  ['FILES path /', 'FILES', { path: '/' }],
  ['FILES path traversal', 'FILES', { path: '../../../../etc' }],
  ['FILES path NUL byte', 'FILES', { path: 'data/a\u0000b' }],
  ['FILES path missing', 'FILES', {}],
  ['FILES path a number', 'FILES', { path: 5 }],
  ['FILES config 3 000 deep', 'FILES', deepObject(3000)],
  ['POSTGRES url not a url', 'POSTGRES', { url: 'not a url' }],
  ['POSTGRES url of another scheme', 'POSTGRES', { url: 'file:///etc/passwd' }],
  ['POSTGRES url missing', 'POSTGRES', {}],
  ['POSTGRES unknown key', 'POSTGRES', { url: 'postgresql://u@127.0.0.1:1/db', zzz: 1 }],
  ['config a string', 'POSTGRES', 'postgresql://u@127.0.0.1:1/db'],
];
for (const [label, type, config] of badSources) {
  add({
    name: `createDataSource config: ${label}`,
    mutation: 'createDataSource',
    query: CREATE_DS,
    variables: { input: { name: 'dsnew', type, config } },
    expected: INVALID,
  });
}
const CREATE_EXT = op('createExternalFeatureGroup', {
  input: 'CreateExternalFeatureGroupInput!',
});
for (const [label, over] of [
  ['unknown data source', { dataSource: 'nosuchsource' }],
  ['path traversal', { dataSource: 'nosuchsource', table: null, path: '../../etc/passwd' }],
] as const) {
  add({
    name: `createExternalFeatureGroup input: ${label}`,
    mutation: 'createExternalFeatureGroup',
    query: CREATE_EXT,
    variables: {
      input: { name: 'extnew', primaryKey: ['id'], table: 't', ...over },
    },
    expected: NOT_FOUND,
  });
}

// ---------------------------------------------------------------- keys, projects, alerts
const CREATE_KEY = op('createApiKey', { input: 'CreateApiKeyInput!' });
for (const [label, input, expected] of [
  ['no scopes', { name: 'k2', scopes: [] }, INVALID],
  ['expired already', { name: 'k2', scopes: ['READ'], expiresAt: '2000-01-01T00:00:00Z' }, INVALID],
  ['unknown project', { name: 'k2', scopes: ['READ'], project: 'nosuchproject' }, ['NotFoundError', 'ValidationError', 'ForbiddenError']],
  ['project __proto__', { name: 'k2', scopes: ['READ'], project: '__proto__' }, ['NotFoundError', 'ValidationError', 'ForbiddenError']],
] as [string, unknown, Kind[]][]) {
  add({
    name: `createApiKey input: ${label}`,
    mutation: 'createApiKey',
    query: CREATE_KEY,
    variables: { input },
    expected,
  });
}
add({
  name: 'createProject input: description 1 MB',
  mutation: 'createProject',
  query: op('createProject', { input: 'CreateProjectInput!' }),
  variables: { input: { name: 'pnew', description: HUGE } },
  expected: INVALID,
});
const CREATE_RECEIVER = op('createAlertReceiver', {
  input: 'CreateAlertReceiverInput!',
});
for (const [label, over] of [
  ['file URL', { webhookUrl: 'file:///etc/passwd' }],
  ['cloud metadata host', { webhookUrl: 'http://169.254.169.254/latest/meta-data' }],
  ['not a URL', { webhookUrl: 'not a url' }],
  ['javascript URL', { webhookUrl: 'javascript:alert(1)' }],
  ['short secret', { secret: 'short' }],
  ['secret 1 MB', { secret: HUGE }],
] as [string, Record<string, string>][]) {
  add({
    name: `createAlertReceiver input: ${label}`,
    mutation: 'createAlertReceiver',
    query: CREATE_RECEIVER,
    variables: {
      input: {
        name: 'rnew',
        secret: 's'.repeat(20),
        webhookUrl: 'http://127.0.0.1:9/hook',
        ...over,
      },
    },
    expected: INVALID,
  });
}
add({
  name: 'createAlertRoute eventTypes: none',
  mutation: 'createAlertRoute',
  query: op('createAlertRoute', { input: 'CreateAlertRouteInput!' }),
  variables: { input: { receiver: 'r', eventTypes: [] } },
  expected: INVALID,
});

// ---------------------------------------------------------------- generated from the schema
/** A value of `type` that passes GraphQL coercion (not necessarily the service's rules). */
export function validish(type: GraphQLInputType): unknown {
  if (isNonNullType(type)) return validish(type.ofType);
  if (isListType(type)) return [validish(type.ofType)];
  if (isEnumType(type)) return type.getValues()[0]!.value;
  if (isInputObjectType(type)) {
    const out: Record<string, unknown> = {};
    for (const f of Object.values(type.getFields())) if (isNonNullType(f.type)) out[f.name] = validish(f.type);
    return out;
  }
  switch (type.name) {
    case 'Int':
      return 1;
    case 'Float':
      return 0.5;
    case 'Boolean':
      return true;
    case 'DateTime':
      return '2026-01-01T00:00:00Z';
    case 'JSON':
      return {};
    default:
      return 'x';
  }
}

/** Values of the wrong GraphQL type for `type` (none for JSON, which takes anything but a missing required value). */
function wrongValues(type: GraphQLInputType): [string, unknown][] {
  const out: [string, unknown][] = [];
  if (isNonNullType(type)) out.push(['null for a required value', null]);
  const named = getNamedType(type);
  if (isInputObjectType(named)) {
    out.push(['a string for an input object', 'x']);
    out.push(['an unknown field', { ...(validish(named) as object), zzzUnknown: 1 }]);
  } else if (isEnumType(named)) {
    out.push(['an unknown enum value', 'NOT_A_VALUE']);
    out.push(['the enum value __proto__', '__proto__']);
  } else if (isScalarType(named)) {
    switch (named.name) {
      case 'Int':
        out.push(['a string for an Int', 'abc'], ['1.5 for an Int', 1.5], ['2^31 for an Int', 2 ** 31], ['1e400 for an Int', new Raw('1e400')]);
        break;
      case 'Float':
        out.push(['a string for a Float', 'abc'], ['1e400 for a Float', new Raw('1e400')]);
        break;
      case 'Boolean':
        out.push(['a string for a Boolean', 'yes']);
        break;
      case 'DateTime':
        out.push(['a non-date for a DateTime', 'not a date'], ['an object for a DateTime', { a: 1 }], ['a 1 MB DateTime', HUGE]);
        break;
      case 'String':
      case 'ID':
        out.push([`an object for a ${named.name}`, { a: 1 }]);
        break;
    }
  }
  return out;
}

function typeName(type: GraphQLInputType): string {
  return String(type);
}

const mutationType = committedSchema.getMutationType()!;
for (const field of Object.values(mutationType.getFields())) {
  const args = field.args.filter((a) => getNamedType(a.type).name !== 'File' && !hasRequiredFile(a.type));
  const types = Object.fromEntries(args.map((a) => [a.name, typeName(a.type)]));
  const base = Object.fromEntries(args.filter((a) => isNonNullType(a.type)).map((a) => [a.name, validish(a.type)]));
  const query = op(field.name, types);
  const targets: [string, GraphQLArgument | GraphQLInputField, (v: unknown) => Record<string, unknown>][] = [];
  for (const arg of args) {
    targets.push([arg.name, arg, (v) => ({ ...base, [arg.name]: v })]);
    const named = getNamedType(arg.type);
    if (isInputObjectType(named)) {
      for (const f of Object.values(named.getFields())) {
        if (getNamedType(f.type).name === 'File' || hasRequiredFile(f.type)) continue;
        const wrap = (inner: unknown) => (isListType(isNonNullType(arg.type) ? arg.type.ofType : arg.type) ? [inner] : inner);
        targets.push([
          `${arg.name}.${f.name}`,
          f,
          (v) => ({
            ...base,
            [arg.name]: wrap({ ...(validish(named) as object), [f.name]: v }),
          }),
        ]);
      }
    }
  }
  for (const [where, target, vars] of targets) {
    for (const [label, value] of wrongValues(target.type)) {
      add({
        name: `${field.name} ${where}: ${label}`,
        mutation: field.name,
        query,
        variables: vars(value),
        expected: ['GraphQL'],
      });
    }
  }
}

function hasRequiredFile(type: GraphQLInputType): boolean {
  const named = getNamedType(type);
  if (!isInputObjectType(named)) return false;
  return Object.values(named.getFields()).some((f) => isNonNullType(f.type) && getNamedType(f.type).name === 'File');
}

export const CORPUS: readonly BadInput[] = cases;

/** The mutations the corpus covers (each root mutation must appear). */
export const corpusMutations = (): Set<string> => new Set(cases.map((c) => c.mutation));
