import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { counts, expectRefusal, groupProject, upload } from './helpers.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv?.close();
});

const HEADER = 'k,ts,d';
const OK_ROW = 'g0,2026-01-01T00:00:00Z,1.5';

/** Uploads a bad file after one good commit; asserts the refusal and that nothing changed. */
async function refused(prefix: string, content: string | Uint8Array, fileName: string | null, format: string | undefined, ...names: (string | RegExp)[]) {
  const { gql, key } = await groupProject(srv, prefix);
  const good = await upload(srv, key, `${HEADER}\n${OK_ROW}\n`, 'good.csv');
  expect(good.__typename, JSON.stringify(good)).toBe('InsertFeatureGroupDataPayload');
  const before = await counts(gql);
  const result = await upload(srv, key, content, fileName, format);
  expectRefusal(result, ...names);
  expect(await counts(gql)).toEqual(before);
  return result;
}

describe('files that cannot be read are refused by name, without engine text or server paths', () => {
  it('garbage sent as Parquet: "not a Parquet file"', async () => {
    const garbage = new Uint8Array(300).map((_, i) => (i * 7919 + 13) % 256);
    await refused('pqg', garbage, 'data.parquet', undefined, 'the uploaded file "data.parquet"', 'not a Parquet file');
  });

  it('a truncated Parquet header and footer is refused too', async () => {
    await refused('pqt', 'PAR1 not really', 'x.bin', 'PARQUET', 'the uploaded file "x.bin"', 'Parquet');
  });

  it('binary CSV: invalid UTF-8 with its line', async () => {
    const bytes = Buffer.concat([Buffer.from(`${HEADER}\n${OK_ROW}\n`), Buffer.from([0xff, 0xfe, 0x2c, 0x31, 0x0a])]);
    await refused('csvbin', bytes, 'bin.csv', undefined, 'the uploaded file "bin.csv"', 'invalid UTF-8 on line 3');
  });

  it('binary CSV header: invalid UTF-8 on line 1', async () => {
    await refused('csvbinh', Buffer.from([0xc3, 0x28, 0xff, 0x0a, 0x31, 0x0a]), 'h.csv', undefined, 'invalid UTF-8 on line 1');
  });

  it('an NDJSON file with a broken line names the line', async () => {
    const ndjson = '{"k":"a","ts":"2026-01-01T00:00:00Z"}\n{"k":"b",\n{"k":"c","ts":"2026-01-01T00:00:00Z"}\n';
    const result = await refused('ndj', ndjson, 'rows.ndjson', undefined, 'the uploaded file "rows.ndjson"', 'line 2 is not valid JSON');
    expect(result.issues[0].path).toEqual(['file', '2']);
  });

  it('CSV sent as NDJSON: line 1 is not valid JSON', async () => {
    await refused('csvnd', `${HEADER}\n${OK_ROW}\n`, 'rows.jsonl', undefined, 'line 1 is not valid JSON');
  });

  it('an NDJSON line that is an array, not an object, is named', async () => {
    await refused('ndarr', '{"k":"a","ts":"2026-01-01T00:00:00Z"}\n[1,2]\n', 'rows.ndjson', undefined, 'line 2 is not a JSON object');
  });

  it('a file without a name is "the uploaded file"', async () => {
    await refused('noname', 'nonsense', null, 'PARQUET', 'the uploaded file is not valid Parquet');
  });

  it('an empty CSV is refused', async () => {
    await refused('empty', '', 'empty.csv', undefined, 'the uploaded file "empty.csv"', 'empty');
  });
});

describe('malformed CSV is refused with its line number', () => {
  it('a data row starting with an unterminated quote does not commit a key with the quote', async () => {
    await refused('unq', `${HEADER}\n"g1,2026-01-01T00:00:00Z,1\ng2,2026-01-01T00:00:00Z,2\n`, 'q.csv', undefined, 'unterminated quoted field on line 2');
  });

  it('a row with more fields than the header', async () => {
    await refused('wide', `${HEADER}\n${OK_ROW}\ng2,2026-01-01T00:00:00Z,2,extra\n`, 'w.csv', undefined, 'line 3 has 4 fields, the header has 3');
  });

  it('a row with fewer fields than the header', async () => {
    await refused('short', `${HEADER}\ng1\n`, 's.csv', undefined, 'line 2 has 1 fields, the header has 3');
  });

  it('an unterminated quote in the header', async () => {
    await refused('hq', `k,"ts,d\n${OK_ROW}\n`, 'hq.csv', undefined, 'unterminated quoted field on line 1');
  });

  it('a semicolon- or tab-separated file says fields must be separated by commas', async () => {
    await refused('semi', 'k;ts;d\ng1;2026-01-01T00:00:00Z;1\n', 'semi.csv', undefined, 'separated by commas');
    await refused('tab', 'k\tts\td\ng1\t2026-01-01T00:00:00Z\t1\n', 'tab.csv', undefined, 'separated by commas');
  });

  it('a CSV with 20 000 columns states the column limit', async () => {
    const header = Array.from({ length: 20_000 }, (_, i) => `c${i}`).join(',');
    const row = Array.from({ length: 20_000 }, () => '1').join(',');
    await refused('cols', `${header}\n${row}\n`, 'wide.csv', undefined, 'the uploaded file "wide.csv" has 20000 columns', 'at most 4096 columns');
  });

  it('still reads well-formed CSV: quoted fields with commas, doubled quotes, CRLF and a byte-order mark', async () => {
    const { gql, key } = await groupProject(srv, 'okcsv');
    const csv = '\ufeffk,ts,s\r\n"g,1",2026-01-01T00:00:00Z,"say ""hi"""\r\ng2,2026-01-02T00:00:00Z,\r\n';
    const result = await upload(srv, key, csv, 'ok.csv');
    expect(result, JSON.stringify(result)).toMatchObject({ commit: { rowCount: 2 } });
    const read = await gql('{ featureGroup(name: "events") { read { records } } }');
    expect(read.data.featureGroup.read.records.map((r: any) => [r.k, r.s])).toEqual([
      ['g,1', 'say "hi"'],
      ['g2', null],
    ]);
  });
});

describe('a group created without features (schema from its first file)', () => {
  async function loose(prefix: string) {
    const p = await srv.newProject(prefix);
    const gql = (q: string, v?: Record<string, unknown>) => srv.gql(q, v, p.key);
    const created = await gql(`mutation { createFeatureGroup(input: { name: "events", primaryKey: ["k"] }) { __typename ... on Error { message } } }`);
    expect(created.data?.createFeatureGroup.__typename, JSON.stringify(created)).toBe('CreateFeatureGroupPayload');
    return { gql, key: p.key };
  }

  it('refuses a malformed CSV with its line and keeps no schema', async () => {
    const { gql, key } = await loose('loosecsv');
    expectRefusal(await upload(srv, key, 'k,v\n"g1,2\ng2,3\n', 'first.csv'), 'the uploaded file "first.csv"', 'unterminated quoted field on line 2');
    expectRefusal(await upload(srv, key, 'k,v\ng1,2\ng2,3,4\n', 'first.csv'), 'line 3 has 3 fields, the header has 2');
    expectRefusal(await upload(srv, key, new Uint8Array([0x50, 0x41, 0x52, 0x31, 0, 1, 2]), 'first.parquet'), 'not a Parquet file');
    const group = await gql('{ featureGroup(name: "events") { rowCount features { name } commits { id } } }');
    expect(group.data.featureGroup).toEqual({ rowCount: 0, features: [], commits: [] });
  });

  it('still infers types from a well-formed CSV', async () => {
    const { gql, key } = await loose('looseok');
    const result = await upload(srv, key, 'k,v,t\ng1,2,x\ng2,3.5,y\n', 'first.csv');
    expect(result, JSON.stringify(result)).toMatchObject({ commit: { rowCount: 2 } });
    const group = await gql('{ featureGroup(name: "events") { features { name type } } }');
    expect(group.data.featureGroup.features).toEqual([
      { name: 'k', type: 'STRING' },
      { name: 'v', type: 'DOUBLE' },
      { name: 't', type: 'STRING' },
    ]);
  });
});
