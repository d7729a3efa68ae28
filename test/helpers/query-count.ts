import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';

/**
 * Counts the SQL statements Prisma sends, at the driver adapter, on both providers. Import this
 * module before the test server starts: it wraps the adapters that clients connect from then on.
 */
let statements = 0;

type Queryable = { queryRaw: (...a: unknown[]) => Promise<unknown>; executeRaw: (...a: unknown[]) => Promise<unknown> };

function counted<T extends Queryable>(target: T): T {
  const queryRaw = target.queryRaw.bind(target);
  const executeRaw = target.executeRaw.bind(target);
  target.queryRaw = (...args) => {
    statements++;
    return queryRaw(...args);
  };
  target.executeRaw = (...args) => {
    statements++;
    return executeRaw(...args);
  };
  return target;
}

for (const Factory of [PrismaBetterSqlite3, PrismaPg] as unknown as { prototype: { connect(): Promise<unknown> } }[]) {
  const connect = Factory.prototype.connect;
  Factory.prototype.connect = async function (this: unknown) {
    const adapter = (await connect.call(this)) as Queryable & { startTransaction: (...a: unknown[]) => Promise<Queryable> };
    const startTransaction = adapter.startTransaction.bind(adapter);
    adapter.startTransaction = async (...args) => counted(await startTransaction(...args));
    return counted(adapter);
  };
}

/**
 * How many statements `work` sent. Background workers of the server (alert delivery, leases, the
 * scheduler) may send a statement during one run, so the work runs `runs` times and the fewest
 * count: an N+1 pattern shows in every run, a background poll in at most some of them.
 */
export async function countQueries<T>(work: () => Promise<T>, runs = 3): Promise<{ value: T; queries: number }> {
  let fewest = Number.POSITIVE_INFINITY;
  let value: T | undefined;
  for (let i = 0; i < runs; i++) {
    const before = statements;
    value = await work();
    fewest = Math.min(fewest, statements - before);
  }
  return { value: value as T, queries: fewest };
}
