import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gqlAt, spawnServer, type ServedProcess } from '../helpers/process.ts';

// The real `granary serve` killed with SIGKILL at random moments while the test inserts JSON rows
// and CSV uploads into it, then started again on the same data directory. After each restart every
// acknowledged commit must be there with exactly its rows, offline and online, and every insert,
// acknowledged or cut off, must be all there or not at all. GRANARY_KILL_CYCLES sets the number of
// kills (3 in `npm test`). Embedded SQLite only: the process-level tests run once.
const CYCLES = Math.max(1, Number(process.env.GRANARY_KILL_CYCLES ?? 3));
/** Rows per insert; each insert is one batch with its own ids. */
const ROWS = 20;
/** Inserts in flight at once. */
const WRITERS = 3;
/** A new group every so many cycles keeps each under the 1 000 commits one query lists. */
const CYCLES_PER_GROUP = 20;

const servers: ServedProcess[] = [];
let dataDir: string | undefined;
afterAll(async () => {
  for (const served of servers) await served.kill();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

interface Batch {
  readonly group: string;
  readonly batch: number;
  readonly via: 'rows' | 'file';
  /** The commit id once the server acknowledged the insert. */
  commit?: string;
}

const groupOf = (cycle: number) => `kill_${Math.floor(cycle / CYCLES_PER_GROUP)}`;
const idOf = (batch: number, i: number) => `b${batch}_r${i}`;
const rowsOf = (batch: number) =>
  Array.from({ length: ROWS }, (_, i) => ({
    id: idOf(batch, i),
    batch,
    seq: i,
    v: batch + i / 100,
  }));

const INSERT = `mutation($fg: FeatureGroupRef!, $rows: [JSON!], $file: File, $format: DataFormat) {
  insertFeatureGroupData(featureGroup: $fg, rows: $rows, file: $file, format: $format) {
    __typename ... on InsertFeatureGroupDataPayload { commit { id rowCount } } ... on Error { message }
  }
}`;

async function insert(url: string, key: string, b: Batch): Promise<any> {
  const rows = rowsOf(b.batch);
  if (b.via === 'rows') return gqlAt(url, key, INSERT, { fg: { name: b.group }, rows });
  const csv = 'id,batch,seq,v\n' + rows.map((r) => `${r.id},${r.batch},${r.seq},${r.v}`).join('\n') + '\n';
  const form = new FormData();
  form.set(
    'operations',
    JSON.stringify({
      query: INSERT,
      variables: { fg: { name: b.group }, file: null, format: 'CSV' },
    }),
  );
  form.set('map', JSON.stringify({ 0: ['variables.file'] }));
  form.set('0', new Blob([csv]), `batch${b.batch}.csv`);
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'x-graphql-yoga-csrf': '1' },
    body: form,
  });
  return res.json();
}

async function createGroup(url: string, key: string, name: string) {
  const res = await gqlAt(
    url,
    key,
    `mutation($name: String!) {
      createFeatureGroup(input: { name: $name, primaryKey: ["id"], onlineEnabled: true, features: [
        { name: "id", type: "STRING" }, { name: "batch", type: "BIGINT" }, { name: "seq", type: "BIGINT" }, { name: "v", type: "DOUBLE" }
      ] }) { __typename ... on Error { message } }
      createFeatureView(input: { name: $name, query: { featureGroup: { name: $name } } }) { __typename ... on Error { message } }
    }`,
    { name },
  );
  expect(res.data?.createFeatureGroup?.__typename, JSON.stringify(res)).toBe('CreateFeatureGroupPayload');
  expect(res.data?.createFeatureView?.__typename, JSON.stringify(res)).toBe('CreateFeatureViewPayload');
}

/** Every acknowledged commit whole, offline and online; no batch partly there; no commit but whole batches. */
async function verify(url: string, key: string, batches: readonly Batch[], cycle: number): Promise<string[]> {
  const problems: string[] = [];
  for (const group of [...new Set(batches.map((b) => b.group))]) {
    const mine = batches.filter((b) => b.group === group);
    const res = await gqlAt(
      url,
      key,
      `query($name: String!) { featureGroup(name: $name) { commits(first: 1000) { id rowCount } read(first: 100000) { records } } }`,
      {
        name: group,
      },
    );
    const fg = res.data?.featureGroup;
    if (!fg) {
      problems.push(`cycle ${cycle}: group ${group} unreadable: ${JSON.stringify(res).slice(0, 300)}`);
      continue;
    }
    const commits = new Map<string, number>(fg.commits.map((c: { id: string; rowCount: number }) => [c.id, c.rowCount]));
    const byBatch = new Map<number, any[]>();
    for (const r of fg.read.records) byBatch.set(r.batch, [...(byBatch.get(r.batch) ?? []), r]);
    const known = new Set(mine.map((b) => b.batch));
    for (const batch of byBatch.keys()) if (!known.has(batch)) problems.push(`cycle ${cycle}: rows of a batch never sent (${batch})`);
    for (const b of mine) {
      const rows = (byBatch.get(b.batch) ?? []).sort((x, y) => x.seq - y.seq);
      if (b.commit !== undefined) {
        if (commits.get(b.commit) !== ROWS)
          problems.push(
            `cycle ${cycle}: acknowledged commit ${b.commit} (batch ${b.batch}, ${b.via}) is ${commits.has(b.commit) ? `${commits.get(b.commit)} rows` : 'gone'}`,
          );
        if (JSON.stringify(rows) !== JSON.stringify(rowsOf(b.batch)))
          problems.push(`cycle ${cycle}: acknowledged batch ${b.batch} (${b.via}) reads back ${rows.length} rows`);
      } else if (rows.length !== 0 && JSON.stringify(rows) !== JSON.stringify(rowsOf(b.batch))) {
        problems.push(`cycle ${cycle}: unacknowledged batch ${b.batch} (${b.via}) is partly there: ${rows.length} of ${ROWS} rows`);
      }
    }
    for (const [id, rowCount] of commits) if (rowCount !== ROWS) problems.push(`cycle ${cycle}: commit ${id} has ${rowCount} rows, not a whole batch`);
    const visibleRows = fg.read.records.length;
    const committedRows = [...commits.values()].reduce((a, n) => a + n, 0);
    if (visibleRows !== committedRows) problems.push(`cycle ${cycle}: ${visibleRows} rows visible but the commits hold ${committedRows}`);

    // Online: the first and last row of every acknowledged batch, by key.
    const acked = mine.filter((b) => b.commit !== undefined);
    if (acked.length > 0) {
      const entries = acked.flatMap((b) => [{ id: idOf(b.batch, 0) }, { id: idOf(b.batch, ROWS - 1) }]);
      const online = await gqlAt(
        url,
        key,
        `query($name: String!, $entries: [JSON!]!) { featureVectors(featureView: { name: $name }, entries: $entries) { record missing } }`,
        {
          name: group,
          entries,
        },
      );
      const vectors = online.data?.featureVectors;
      if (!vectors) problems.push(`cycle ${cycle}: online read failed: ${JSON.stringify(online).slice(0, 300)}`);
      else
        acked.forEach((b, i) => {
          const [first, last] = [vectors[2 * i], vectors[2 * i + 1]];
          if (first?.record?.seq !== 0 || last?.record?.seq !== ROWS - 1 || first?.record?.batch !== b.batch)
            problems.push(`cycle ${cycle}: acknowledged batch ${b.batch} missing online: ${JSON.stringify([first, last])}`);
        });
    }
  }
  return problems;
}

describe.skipIf(process.env.GRANARY_TEST_METADATA === 'postgresql')('a server killed with SIGKILL during inserts', () => {
  it(`loses no acknowledged commit and shows no partial one (${CYCLES} kills)`, { timeout: 30_000 + CYCLES * 20_000 }, async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'granary-kill-loop-'));
    let served = await spawnServer(dataDir);
    servers.push(served);
    const key = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
    const batches: Batch[] = [];
    const log: string[] = [];
    let next = 0;

    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const group = groupOf(cycle);
      if (cycle % CYCLES_PER_GROUP === 0) await createGroup(served.url, key, group);
      const url = served.url;
      let acked = 0;
      let stop = false;
      const writer = async () => {
        while (!stop) {
          const b: Batch = {
            group,
            batch: next++,
            via: next % 4 === 0 ? 'file' : 'rows',
          };
          batches.push(b);
          let res: any;
          try {
            res = await insert(url, key, b);
          } catch {
            return; // the server is gone: this insert was cut off
          }
          const commit = res?.data?.insertFeatureGroupData?.commit;
          if (!commit) throw new Error(`cycle ${cycle}: insert refused: ${JSON.stringify(res)}`);
          b.commit = commit.id;
          acked++;
        }
      };
      const writers = Array.from({ length: WRITERS }, writer);
      // Kill at a random moment once inserts are flowing.
      while (acked === 0) await new Promise((r) => setTimeout(r, 10));
      const delay = Math.floor(Math.random() * 400);
      await new Promise((r) => setTimeout(r, delay));
      served.child.kill('SIGKILL');
      stop = true;
      await served.exited;
      await Promise.all(writers);
      log.push(`cycle ${cycle}: killed ${delay} ms after the first ack; ${acked} acknowledged`);

      served = await spawnServer(dataDir);
      servers.push(served);
      const problems = await verify(served.url, key, batches, cycle);
      expect(problems, `${log.join('\n')}\n${problems.join('\n')}`).toEqual([]);
    }
    expect(batches.filter((b) => b.commit !== undefined).length).toBeGreaterThanOrEqual(CYCLES);
    served.child.kill('SIGTERM');
    await served.exited;
  });
});
