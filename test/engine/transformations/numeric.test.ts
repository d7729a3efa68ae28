import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doubleLiteral, portableLn, portableLnSql } from '../../../src/engine/transformations/numeric.ts';

let instance: DuckDBInstance;
let connection: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  connection = await instance.connect();
});

afterAll(() => {
  connection?.closeSync();
  instance?.closeSync();
});

/** Distance in units in the last place between two positive doubles. */
function ulps(a: number, b: number): number {
  const buf = new DataView(new ArrayBuffer(16));
  buf.setFloat64(0, a);
  buf.setFloat64(8, b);
  return Math.abs(Number(buf.getBigInt64(0) - buf.getBigInt64(8)));
}

async function sqlValues(values: readonly number[], expr: (x: string) => string): Promise<unknown[]> {
  await connection.run('CREATE OR REPLACE TEMP TABLE xs (id INTEGER, x DOUBLE)');
  const appender = await connection.createAppender('xs');
  values.forEach((v, i) => {
    appender.appendInteger(i);
    appender.appendDouble(v);
    appender.endRow();
  });
  appender.flushSync();
  appender.closeSync();
  return (await connection.runAndReadAll(`SELECT ${expr('x')} FROM xs ORDER BY id`)).getRows().map((r) => r[0]);
}

const SPECIAL = [
  5e-324,
  1e-320,
  2.2250738585072014e-308,
  2.225073858507201e-308,
  1e-300,
  0.5,
  1,
  1 + 2 ** -52,
  1 - 2 ** -53,
  Math.SQRT2,
  Math.SQRT1_2,
  Math.SQRT2 * (1 - 2 ** -53),
  2,
  Math.E,
  10,
  1e300,
  1.2711e308,
  1.5e308,
  Number.MAX_VALUE,
  ...Array.from({ length: 40 }, (_, k) => 2 ** (k * 52 - 1022)),
];

describe('portableLn', () => {
  it('is bit-identical in DuckDB SQL and JavaScript, across the whole positive range', async () => {
    const random = fc.sample(fc.double({ min: Number.MIN_VALUE, max: Number.MAX_VALUE, noNaN: true, noDefaultInfinity: true }), 3000);
    const near1 = fc.sample(fc.double({ min: 0.5, max: 2, noNaN: true }), 3000);
    const values = [...SPECIAL, ...random, ...near1].filter((x) => x > 0 && Number.isFinite(x));
    const sql = await sqlValues(values, portableLnSql);
    const mismatches = values.filter((x, i) => sql[i] !== portableLn(x));
    expect(mismatches).toEqual([]);
  });

  it('is within 1 ulp of Math.log and exact where the result is', () => {
    const values = [...SPECIAL, ...fc.sample(fc.double({ min: Number.MIN_VALUE, max: Number.MAX_VALUE, noNaN: true, noDefaultInfinity: true }), 20000)];
    for (const x of values) {
      const mine = portableLn(x);
      const reference = Math.log(x);
      if (reference === 0) expect(mine).toBe(0);
      else expect(ulps(mine, reference)).toBeLessThanOrEqual(1);
    }
    expect(portableLn(1)).toBe(0);
  });

  it('gives NULL in SQL for values that are not > 0', async () => {
    expect(await sqlValues([0, -0, -1, -5e-324], portableLnSql)).toEqual([null, null, null, null]);
  });
});

describe('doubleLiteral', () => {
  it('reads back in DuckDB to exactly the same double', async () => {
    const values = [...fc.sample(fc.double({ noNaN: true }), 2000), 0, -0, 0.1, 1 / 3, 5e-324, Number.MAX_VALUE, -Number.MAX_VALUE];
    const rows = (await connection.runAndReadAll(`SELECT ${values.map(doubleLiteral).join(', ')}`)).getRows()[0]!;
    for (const [i, v] of values.entries()) expect(Object.is(rows[i], v)).toBe(true);
  });
});
