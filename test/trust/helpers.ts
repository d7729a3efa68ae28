import { expect } from 'vitest';
import type { TestServer } from '../helpers/server.ts';

/**
 * Shared by the ingest trust tests: a project, a group, inserts by rows and by upload (with
 * fillMissing: these tests are about values and files, each giving only the columns it is about),
 * and the checks every refusal must pass.
 */
export const GROUP = {
  name: 'events',
  primaryKey: ['k'],
  eventTime: 'ts',
  onlineEnabled: true,
  features: [
    { name: 'k', type: 'STRING' },
    { name: 'ts', type: 'TIMESTAMP' },
    { name: 'd', type: 'DOUBLE' },
    { name: 'f', type: 'FLOAT' },
    { name: 'i', type: 'INT' },
    { name: 'b', type: 'BIGINT' },
    { name: 's', type: 'STRING' },
    { name: 'a', type: 'ARRAY<DOUBLE>' },
  ],
};

const RESULT = `__typename
  ... on InsertFeatureGroupDataPayload { commit { rowCount } }
  ... on ValidationError { message issues { path message } }
  ... on Error { message }`;

export type Gql = (q: string, v?: Record<string, unknown>) => Promise<any>;

export async function groupProject(srv: TestServer, prefix: string): Promise<{ gql: Gql; key: string }> {
  const p = await srv.newProject(prefix);
  const gql: Gql = (q, v) => srv.gql(q, v, p.key);
  const created = await gql(`mutation($input: CreateFeatureGroupInput!) { createFeatureGroup(input: $input) { __typename ... on Error { message } } }`, {
    input: GROUP,
  });
  expect(created.data?.createFeatureGroup.__typename, JSON.stringify(created)).toBe('CreateFeatureGroupPayload');
  return { gql, key: p.key };
}

export async function insertRows(gql: Gql, rows: unknown[]): Promise<any> {
  const res = await gql(`mutation($rows: [JSON!]) { insertFeatureGroupData(featureGroup: { name: "events" }, rows: $rows, fillMissing: true) { ${RESULT} } }`, {
    rows,
  });
  return res.data?.insertFeatureGroupData ?? res;
}

/** Inserts rows given as a GraphQL literal (so a number such as 1e400 reaches the server as written). */
export async function insertLiteral(gql: Gql, rowsLiteral: string): Promise<any> {
  const res = await gql(`mutation { insertFeatureGroupData(featureGroup: { name: "events" }, rows: ${rowsLiteral}, fillMissing: true) { ${RESULT} } }`);
  return res.data?.insertFeatureGroupData ?? res;
}

/** Uploads `content` as a multipart file part named `fileName` (none when null: a part without a filename). */
export async function upload(srv: TestServer, key: string, content: string | Uint8Array, fileName: string | null, format?: string): Promise<any> {
  const operations = JSON.stringify({
    query: `mutation($file: File, $format: DataFormat) { insertFeatureGroupData(featureGroup: { name: "events" }, file: $file, format: $format, fillMissing: true) { ${RESULT} } }`,
    variables: { file: null, format: format ?? null },
  });
  const boundary = 'trust-boundary-7c1f';
  const part = (headers: string, body: string | Uint8Array) => [Buffer.from(`--${boundary}\r\n${headers}\r\n\r\n`), Buffer.from(body), Buffer.from('\r\n')];
  const body = Buffer.concat([
    ...part('Content-Disposition: form-data; name="operations"', operations),
    ...part('Content-Disposition: form-data; name="map"', JSON.stringify({ 0: ['variables.file'] })),
    ...part(
      `Content-Disposition: form-data; name="0"${fileName === null ? '' : `; filename="${fileName}"`}\r\nContent-Type: application/octet-stream`,
      content,
    ),
    Buffer.from(`--${boundary}--\r\n`),
  ]);
  const res = await srv.server.yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'x-graphql-yoga-csrf': '1' },
    body,
  });
  const answer = (await res.json()) as any;
  return answer.data?.insertFeatureGroupData ?? answer;
}

/** The group's row and commit counts. */
export async function counts(gql: Gql): Promise<{ rowCount: number; commits: number }> {
  const res = await gql('{ featureGroup(name: "events") { rowCount commits { id } } }');
  return { rowCount: res.data.featureGroup.rowCount, commits: res.data.featureGroup.commits.length };
}

/**
 * A refusal users can act on: a ValidationError whose message contains each of `names`, with no
 * absolute path, no engine error class (`Invalid Input Error`, …) and no JS runtime text.
 */
export function expectRefusal(result: any, ...names: (string | RegExp)[]): void {
  expect(result.__typename, JSON.stringify(result)).toBe('ValidationError');
  const text = [result.message, ...result.issues.map((i: any) => i.message)].join('\n');
  for (const name of names) {
    if (typeof name === 'string') expect(text).toContain(name);
    else expect(text).toMatch(name);
  }
  expect(text).not.toMatch(/(^|[\s'"(=])\/[A-Za-z0-9_.-]+\//);
  expect(text).not.toMatch(/\b(Invalid Input|IO|Conversion|Binder|Parser|Invalid|Not implemented|Catalog|Out of Memory) Error\b/);
  expect(text).not.toMatch(/TypeError|SyntaxError|RangeError|at [\w.]+ \(/);
  expect(text).not.toMatch(/upload-[0-9a-f-]{36}|\.staging-|tmp\/(?:[0-9a-f]{16}\/)?uploads/);
}
