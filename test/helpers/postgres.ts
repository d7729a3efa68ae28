import pg from 'pg';

export const RUN_PREFIX_ENV = 'GRANARY_TEST_RUN_PREFIX';

/** The same server, another database. */
export function databaseUrl(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

/** A URL to a database that always exists, for CREATE/DROP DATABASE. */
export function adminUrl(base: string): string {
  return base;
}

let counter = 0;

/**
 * Clones the run's migrated template into a fresh database and returns its URL. Cloning is
 * a file copy in PostgreSQL: far faster than migrating, and each test file gets its own database.
 */
export async function clonePostgresTemplate(base: string, template: string, runPrefix: string): Promise<string> {
  const name = `${runPrefix}_${process.pid}_${++counter}`;
  const admin = new pg.Client({ connectionString: adminUrl(base) });
  await admin.connect();
  try {
    // Two clones of one template at the same instant make PostgreSQL report the template busy.
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
        break;
      } catch (error) {
        if (attempt >= 20 || !String((error as Error).message).includes('being accessed by other users')) throw error;
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
      }
    }
  } finally {
    await admin.end();
  }
  return databaseUrl(base, name);
}
