import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { counts, expectRefusal, groupProject, insertLiteral, insertRows, upload, type Gql } from './helpers.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv?.close();
});

const TS = '2026-01-01T00:00:00Z';

/** A project with the group and one committed row, and its counts. */
async function seeded(prefix: string): Promise<{ gql: Gql; key: string; before: { rowCount: number; commits: number } }> {
  const { gql, key } = await groupProject(srv, prefix);
  const ok = await insertRows(gql, [{ k: 'g0', ts: TS, d: 1.5, s: 'x' }]);
  expect(ok.__typename, JSON.stringify(ok)).toBe('InsertFeatureGroupDataPayload');
  return { gql, key, before: await counts(gql) };
}

describe('non-finite numbers are refused, naming row and column', () => {
  it('1e400 in JSON rows (a GraphQL literal) for a DOUBLE is refused, not stored as null', async () => {
    const { gql, before } = await seeded('inf');
    const result = await insertLiteral(gql, `[{ k: "g1", ts: "${TS}", d: 1.0 }, { k: "g2", ts: "${TS}", d: 1e400 }]`);
    expectRefusal(result, 'row 2, column "d"', 'not a finite number');
    expect(result.issues[0].path).toEqual(['rows', '2', 'd']);
    expect(await counts(gql)).toEqual(before);
  });

  it('1e400 in a JSON variable for an INT, a BIGINT, a STRING and inside an ARRAY<DOUBLE> is refused', async () => {
    const { gql, key, before } = await seeded('infvar');
    // The variables travel as JSON text: JSON.parse turns 1e400 into Infinity before any resolver runs.
    const query =
      'mutation($rows: [JSON!]) { insertFeatureGroupData(featureGroup: { name: "events" }, rows: $rows, fillMissing: true) { __typename ... on ValidationError { message issues { path message } } ... on Error { message } } }';
    for (const [column, value] of [
      ['i', '1e400'],
      ['b', '-1e400'],
      ['a', '[1, 1e400]'],
      ['s', '1e400'],
    ] as const) {
      const body = `{"query": ${JSON.stringify(query)}, "variables": {"rows": [{"k": "g1", "ts": "${TS}", "${column}": ${value}}]}}`;
      const res = await srv.server.yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body,
      });
      const result = ((await res.json()) as any).data.insertFeatureGroupData;
      expectRefusal(result, `row 1, column "${column}"`, 'not a finite number');
    }
    expect(await counts(gql)).toEqual(before);
  });

  it('inf, -Infinity, nan and 1e400 in a CSV are refused for DOUBLE, INT and BIGINT', async () => {
    const { gql, key, before } = await seeded('infcsv');
    for (const [column, value] of [
      ['d', 'inf'],
      ['d', '-Infinity'],
      ['d', 'nan'],
      ['d', '1e400'],
      ['i', '1e400'],
      ['b', 'inf'],
    ] as const) {
      const result = await upload(srv, key, `k,ts,${column}\ng1,${TS},1\ng2,${TS},${value}\n`, 'v.csv');
      expectRefusal(result, `row 2, column "${column}"`, JSON.stringify(value));
      expect(result.issues[0].path).toEqual(['file', '2', column]);
    }
    expect(await counts(gql)).toEqual(before);
  });

  it('a FLOAT overflow (3.5e38 is Infinity in float32) is refused from CSV and JSON rows', async () => {
    const { gql, key, before } = await seeded('flt');
    expectRefusal(await upload(srv, key, `k,ts,f\ng1,${TS},3.5e38\n`, 'f.csv'), 'row 1, column "f"', '3.5e38');
    expectRefusal(await insertRows(gql, [{ k: 'g1', ts: TS, f: 3.5e38 }]), 'row 1, column "f"');
    expect(await counts(gql)).toEqual(before);
  });

  it('Infinity and NaN in NDJSON text are refused for a DOUBLE', async () => {
    const { gql, key, before } = await seeded('infnd');
    const result = await upload(srv, key, `{"k":"g1","ts":"${TS}","d":"Infinity"}\n{"k":"g2","ts":"${TS}","d":1e400}\n`, 'v.ndjson');
    expectRefusal(result, 'row 1, column "d"', 'not a finite number');
    expect(result.issues.map((i: any) => i.path)).toEqual([
      ['file', '1', 'd'],
      ['file', '2', 'd'],
    ]);
    expect(await counts(gql)).toEqual(before);
  });

  it('inf and NaN in a Parquet DOUBLE column are refused; a STRUCT value for a DOUBLE is named', async () => {
    const { gql, key, before } = await seeded('infpq');
    const dir = mkdtempSync(join(tmpdir(), 'trust-pq-'));
    const db = await DuckDBInstance.create(':memory:');
    const connection = await db.connect();
    try {
      const nonFinite = join(dir, 'inf.parquet');
      const struct = join(dir, 'struct.parquet');
      await connection.run(
        `COPY (SELECT * FROM (VALUES ('g1', TIMESTAMP '2026-01-01', 1.0::DOUBLE), ('g2', TIMESTAMP '2026-01-01', 'inf'::DOUBLE), ('g3', TIMESTAMP '2026-01-01', 'nan'::DOUBLE)) t(k, ts, d)) TO '${nonFinite}' (FORMAT parquet)`,
      );
      await connection.run(`COPY (SELECT 'g1' AS k, TIMESTAMP '2026-01-01' AS ts, {'x': 1} AS d) TO '${struct}' (FORMAT parquet)`);
      const result = await upload(srv, key, readFileSync(nonFinite), 'inf.parquet');
      expectRefusal(result, 'row 2, column "d"', 'not a finite number');
      expect(result.issues.map((i: any) => i.path)).toEqual([
        ['file', '2', 'd'],
        ['file', '3', 'd'],
      ]);
      const mismatch = await upload(srv, key, readFileSync(struct), 'struct.parquet');
      expectRefusal(mismatch, 'row 1, column "d"', 'is not a valid DOUBLE');
    } finally {
      connection.closeSync();
      db.closeSync();
      rmSync(dir, { recursive: true, force: true });
    }
    expect(await counts(gql)).toEqual(before);
  });

  it('finite extremes are still stored as given', async () => {
    const { gql } = await seeded('fin');
    const ok = await insertRows(gql, [{ k: 'g1', ts: TS, d: 1.7976931348623157e308, f: 3.4e38, i: 2147483647 }]);
    expect(ok.__typename, JSON.stringify(ok)).toBe('InsertFeatureGroupDataPayload');
    const read = await gql('{ featureGroup(name: "events") { read { records } } }');
    expect(read.data.featureGroup.read.records.find((r: any) => r.k === 'g1')).toMatchObject({ d: 1.7976931348623157e308, i: 2147483647 });
  });
});

describe('STRING features take strings only from JSON', () => {
  it('a number, boolean, object or array for a STRING in JSON rows is refused, naming row, column and kind', async () => {
    const { gql, before } = await seeded('str');
    const cases: [unknown, string][] = [
      [42, 'a number'],
      [true, 'a boolean'],
      [{ a: 1 }, 'an object'],
      [['x'], 'an array'],
    ];
    for (const [value, kind] of cases) {
      const result = await insertRows(gql, [
        { k: 'g1', ts: TS, s: 'fine' },
        { k: 'g2', ts: TS, s: value },
      ]);
      expectRefusal(result, `row 2, column "s": expects a string, got ${kind}`);
      expect(result.issues[0].path).toEqual(['rows', '2', 's']);
    }
    // The primary key is a STRING too.
    expectRefusal(await insertRows(gql, [{ k: 7, ts: TS }]), 'row 1, column "k": expects a string, got a number');
    expect(await counts(gql)).toEqual(before);
  });

  it('a number, boolean, object or array for a STRING in an NDJSON file is refused', async () => {
    const { gql, key, before } = await seeded('strnd');
    const lines = [
      `{"k":"g1","ts":"${TS}","s":"ok"}`,
      `{"k":"g2","ts":"${TS}","s":5}`,
      `{"k":"g3","ts":"${TS}","s":{"a":1}}`,
      `{"k":"g4","ts":"${TS}","s":[1]}`,
      `{"k":"g5","ts":"${TS}","s":false}`,
    ];
    const result = await upload(srv, key, `${lines.join('\n')}\n`, 's.ndjson');
    expectRefusal(result, 'row 2, column "s": expects a string, got a number');
    expect(result.issues.map((i: any) => i.message)).toEqual([
      'row 2, column "s": expects a string, got a number',
      'row 3, column "s": expects a string, got an object',
      'row 4, column "s": expects a string, got an array',
      'row 5, column "s": expects a string, got a boolean',
    ]);
    expect(await counts(gql)).toEqual(before);
  });

  it('strings and nulls for STRING features still go in from JSON rows and NDJSON; CSV fields are text', async () => {
    const { gql, key } = await seeded('strok');
    expect(
      (
        await insertRows(gql, [
          { k: 'g1', ts: TS, s: '42' },
          { k: 'g2', ts: TS, s: null },
        ])
      ).__typename,
    ).toBe('InsertFeatureGroupDataPayload');
    expect((await upload(srv, key, `{"k":"g3","ts":"${TS}","s":"x"}\n{"k":"g4","ts":"${TS}","s":null}\n`, 'ok.ndjson')).__typename).toBe(
      'InsertFeatureGroupDataPayload',
    );
    expect((await upload(srv, key, `k,ts,s\ng5,${TS},42\n`, 'ok.csv')).__typename).toBe('InsertFeatureGroupDataPayload');
    const read = await gql('{ featureGroup(name: "events") { read { records } } }');
    const s = Object.fromEntries(read.data.featureGroup.read.records.map((r: any) => [r.k, r.s]));
    expect(s).toMatchObject({ g1: '42', g2: null, g3: 'x', g4: null, g5: '42' });
  });
});
