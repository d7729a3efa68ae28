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

/** How many statements `work` sent. Run it alone: anything else running meanwhile is counted too. */
export async function countQueries<T>(work: () => Promise<T>): Promise<{ value: T; queries: number }> {
  const before = statements;
  const value = await work();
  return { value, queries: statements - before };
}
