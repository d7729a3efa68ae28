import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import pg from 'pg';
import { applyMigrations } from '../../src/stores/metadata/migrate.ts';
import { adminUrl, databaseUrl, RUN_PREFIX_ENV } from './postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A migrated SQLite metadata file that test servers copy. */
    sqliteTemplate: string;
    /** A migrated PostgreSQL database test servers clone (when the run uses PostgreSQL). */
    postgresTemplate: string | null;
    /** Prefix of every database this run creates, so teardown drops them all. */
    runPrefix: string;
  }
}

/**
 * Migrates the metadata templates once per run: one SQLite file, and (for the PostgreSQL
 * project) one template database. Test servers copy or clone them instead of migrating.
 */
export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'granary-test-'));
  const sqliteTemplate = join(dir, 'template.db');
  await applyMigrations({ provider: 'sqlite', file: sqliteTemplate });

  const runPrefix = `granary_t${process.pid}_${Date.now().toString(36)}`;
  process.env[RUN_PREFIX_ENV] = runPrefix;
  let postgresTemplate: string | null = null;
  const testUrl = process.env.TEST_DATABASE_URL;
  if (testUrl) {
    postgresTemplate = `${runPrefix}_tmpl`;
    const admin = new pg.Client({ connectionString: adminUrl(testUrl) });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${postgresTemplate}"`);
    await admin.end();
    await applyMigrations({ provider: 'postgresql', url: databaseUrl(testUrl, postgresTemplate) });
  }
  project.provide('sqliteTemplate', sqliteTemplate);
  project.provide('postgresTemplate', postgresTemplate);
  project.provide('runPrefix', runPrefix);

  return async () => {
    rmSync(dir, { recursive: true, force: true });
    if (testUrl) {
      const admin = new pg.Client({ connectionString: adminUrl(testUrl) });
      await admin.connect();
      const { rows } = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${runPrefix}%`]);
      for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
      await admin.end();
    }
  };
}
