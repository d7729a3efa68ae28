/**
 * Cost of data validation on insert (`npx tsx bench/validation.ts`), in one process on an embedded
 * app (SQLite metadata, DuckDB offline store), each figure beside its baseline from the same run.
 *
 *   npx tsx bench/validation.ts [--rows 1000000] [--reps 3] [--lookups 500]
 *
 * A Parquet file of N rows × 8 columns is generated once. Then, --reps times, interleaved so noise
 * hits both sides, an OFFLINE insert of the file into a new group
 *   (a) without an expectation suite (baseline), and
 *   (b) with a suite of 9 passing expectations, one of each type;
 * ratio (b)/(a) is the price of validating. Finally, what an insert without a suite pays for
 * validation at all: the suite look-up (one indexed metadata read, median of --lookups) as a
 * fraction of the median insert (a) at --rows 1000 and at N rows.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import type { Viewer } from '../src/services/viewer.ts';
import { gitState } from './lib/process.ts';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    reps: { type: 'string', default: '3' },
    lookups: { type: 'string', default: '500' },
  },
});
const rows = Number(args.rows);
const reps = Number(args.reps);
const lookups = Number(args.lookups);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

const dir = mkdtempSync(join(tmpdir(), 'granary-bench-validation-'));
try {
  console.log(
    `bench/validation ${gitState()} rows=${rows} reps=${reps} load=${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  const file = (n: number) => join(dir, `rows-${n}.parquet`);
  for (const n of new Set([1000, rows])) {
    await connection.run(`COPY (
      SELECT i AS id, TIMESTAMP '2026-01-01' + INTERVAL (i) SECOND AS ts, CAST(i % 72 AS INTEGER) AS tenure,
        (i % 1000) / 10.0 AS charges, ['Month-to-month', 'One year', 'Two year'][1 + i % 3] AS contract,
        'c' || (i % 5000) AS customer, i % 2 = 0 AS churn, 'x' || i || '@example.com' AS email
      FROM range(${n}) t(i)) TO '${file(n)}' (FORMAT parquet)`);
  }
  connection.closeSync();

  const app = await createApp(loadConfig({ GRANARY_DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'warn' }), { migrate: true });
  await app.services.projects.bootstrap();
  const project = await app.prisma.project.findFirstOrThrow();
  const viewer: Viewer = { apiKeyId: 'bench', projectId: project.id, projectName: project.name, scopes: ['ADMIN'], serverAdmin: true };
  const features = [
    { name: 'id', type: 'BIGINT' },
    { name: 'ts', type: 'TIMESTAMP' },
    { name: 'tenure', type: 'INT' },
    { name: 'charges', type: 'DOUBLE' },
    { name: 'contract', type: 'STRING' },
    { name: 'customer', type: 'STRING' },
    { name: 'churn', type: 'BOOLEAN' },
    { name: 'email', type: 'STRING' },
  ];
  const expectations = [
    { type: 'expect_column_values_to_not_be_null', kwargs: { column: 'tenure' } },
    { type: 'expect_column_values_to_be_between', kwargs: { column: 'tenure', min_value: 0, max_value: 72 } },
    { type: 'expect_column_values_to_be_in_set', kwargs: { column: 'contract', value_set: ['Month-to-month', 'One year', 'Two year'] } },
    { type: 'expect_column_values_to_be_unique', kwargs: { column: 'id' } },
    { type: 'expect_column_values_to_match_regex', kwargs: { column: 'email', regex: '^[^@]+@[^@]+$' } },
    { type: 'expect_column_min_to_be_between', kwargs: { column: 'charges', min_value: 0 } },
    { type: 'expect_column_max_to_be_between', kwargs: { column: 'charges', max_value: 100 } },
    { type: 'expect_column_mean_to_be_between', kwargs: { column: 'charges', min_value: 0, max_value: 100 } },
    { type: 'expect_table_row_count_to_be_between', kwargs: { min_value: 1 } },
  ];

  let groups = 0;
  const insert = async (n: number, withSuite: boolean) => {
    const name = `g${++groups}`;
    await app.services.featureGroups.create(viewer, { name, primaryKey: ['id'], eventTime: 'ts', features });
    if (withSuite) await app.services.expectationSuites.save(viewer, { name }, { name: 's', ingestionPolicy: 'STRICT', expectations });
    const start = performance.now();
    const commit = await app.services.featureGroups.insert(
      viewer,
      { name },
      { kind: 'file', path: file(n), format: 'PARQUET' },
      { operation: 'UPSERT', storage: 'OFFLINE' },
    );
    const ms = performance.now() - start;
    if (withSuite && !(commit.validationReport as { success?: boolean } | null)?.success) throw new Error('the suite should pass');
    return ms;
  };

  await insert(1000, false); // warm-up
  const plain: number[] = [];
  const suite: number[] = [];
  for (let r = 0; r < reps; r++) {
    plain.push(await insert(rows, false));
    suite.push(await insert(rows, true));
  }
  const a = median(plain);
  const b = median(suite);
  console.log(`(a) insert ${rows} rows, no suite:        ${a.toFixed(0)} ms median (${plain.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(`(b) insert ${rows} rows, 9 expectations:  ${b.toFixed(0)} ms median (${suite.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(`    ratio (b)/(a) = ${(b / a).toFixed(2)}; best runs ${(Math.min(...suite) / Math.min(...plain)).toFixed(2)}`);

  const small: number[] = [];
  for (let r = 0; r < 5; r++) small.push(await insert(1000, false));
  const group = await app.prisma.featureGroup.findFirstOrThrow({ where: { projectId: project.id } });
  const lookup: number[] = [];
  for (let i = 0; i < lookups; i++) {
    const start = performance.now();
    await app.prisma.expectationSuite.findUnique({ where: { featureGroupId: group.id } });
    lookup.push(performance.now() - start);
  }
  const l = median(lookup);
  console.log(`suite look-up (an insert without a suite pays only this, run beside its commits read): ${(l * 1000).toFixed(0)} µs median`);
  console.log(
    `    = ${((l / median(small)) * 100).toFixed(2)} % of a 1000-row insert (${median(small).toFixed(1)} ms), ${((l / a) * 100).toFixed(3)} % of a ${rows}-row insert`,
  );
  console.log(
    `load average at the end: ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  await app.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
