import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineageService } from '../../../src/services/lineage/lineage.service.ts';
import { postgresSearchIndex } from '../../../src/services/search/postgresql.ts';
import { SearchService } from '../../../src/services/search/search.service.ts';
import { sqlDialect } from '../../../src/services/search/sql.ts';
import { sqliteSearchIndex } from '../../../src/services/search/sqlite.ts';
import { openMetadataClient, type MetadataClient } from '../../../src/stores/metadata/client.ts';
import { applyMigrations, migrationPaths } from '../../../src/stores/metadata/migrate.ts';
import type { MetadataTarget } from '../../../src/stores/metadata/target.ts';
import { encodeGlobalID } from '@pothos/plugin-relay';

const CATALOG_MIGRATION = /_tags_search_lineage$/;
const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;

let dir: string;
const databases: string[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'granary-backfill-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  if (databases.length === 0) return;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  for (const name of databases) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
});

/** The committed migrations up to, not including, the catalog's. */
async function migrationsBeforeCatalog(provider: 'sqlite' | 'postgresql') {
  const paths = migrationPaths(provider);
  const older = join(dir, `${provider}-older`);
  await cp(paths.migrationsDir, older, { recursive: true });
  const names = await readdir(older);
  const catalog = names.find((n) => CATALOG_MIGRATION.test(n))!;
  expect(catalog).toBeDefined();
  for (const name of names.filter((n) => n >= catalog && n !== 'migration_lock.toml')) await rm(join(older, name), { recursive: true });
  return { ...paths, migrationsDir: older };
}

/** Registry objects written before the catalog existed: three groups, a view over them, a training dataset, a model. */
async function legacyObjects(prisma: MetadataClient) {
  const project = await prisma.project.create({ data: { name: 'legacy' } });
  const group = (name: string) =>
    prisma.featureGroup.create({
      data: {
        projectId: project.id,
        name,
        version: 1,
        primaryKey: ['id'],
        features: [
          { name: 'id', type: 'STRING', description: '' },
          { name: `${name}_score`, type: 'DOUBLE', description: '' },
        ],
      },
      // Only columns the older schema has: later migrations add columns this client would read back.
      select: { id: true },
    });
  const groups = [await group('alpha'), await group('beta'), await group('gamma')];
  const view = await prisma.featureView.create({
    data: {
      projectId: project.id,
      name: 'scores',
      version: 2,
      labels: [],
      query: {
        left: { group: { name: 'alpha', version: 1 }, features: [], schema: { features: [], primaryKey: ['id'], eventTime: null } },
        joins: [],
        filters: [],
      },
      transformations: [],
      groups: { create: groups.map((g) => ({ featureGroupId: g.id })) },
    },
  });
  const dataset = await prisma.trainingDataset.create({
    data: { featureViewId: view.id, version: 1, split: {}, format: 'PARQUET', splits: [], transformationParams: [] },
  });
  const model = await prisma.model.create({
    data: { projectId: project.id, name: 'scorer', version: 1, framework: 'PYTHON', metrics: {}, featureViewId: view.id, trainingDatasetId: dataset.id },
    // Only columns the table had then: this client knows columns added by later migrations.
    select: { id: true, name: true, version: true },
  });
  return { project, groups, view, dataset, model };
}

async function checkBackfill(target: MetadataTarget, older: { schemaPath: string; migrationsDir: string }) {
  await applyMigrations(target, { paths: older });
  const before = await openMetadataClient(target);
  const objects = await legacyObjects(before).finally(() => before.$disconnect());
  // As on start: migrate, then open the client.
  const { applied } = await applyMigrations(target);
  // The catalog's migration first, then any made after it.
  expect(applied.length).toBeGreaterThanOrEqual(1);
  expect(applied[0]).toMatch(CATALOG_MIGRATION);
  const prisma = await openMetadataClient(target);
  try {
    const entries = await prisma.catalogEntry.findMany({ orderBy: [{ kind: 'asc' }, { name: 'asc' }] });
    expect(entries.map((e) => `${e.kind} ${e.name} ${e.version}`)).toEqual([
      'FEATURE_GROUP alpha 1',
      'FEATURE_GROUP beta 1',
      'FEATURE_GROUP gamma 1',
      'FEATURE_VIEW scores 2',
      'MODEL scorer 1',
      'TRAINING_DATASET scores_2 1',
    ]);
    const dialect = sqlDialect(target);
    const viewer = { projectId: objects.project.id, projectName: 'legacy', apiKeyId: 'k', scopes: ['READ' as const], serverAdmin: false };
    const lineage = await new LineageService(prisma, dialect).graph(viewer, { id: encodeGlobalID('Model', objects.model.id) }, 'UPSTREAM', 10);
    expect(lineage.nodes).toHaveLength(6);
    expect(lineage.edges).toHaveLength(6);

    // Search documents are built on start.
    const index = target.provider === 'sqlite' ? sqliteSearchIndex(prisma, dialect) : postgresSearchIndex(prisma, dialect);
    const search = new SearchService(prisma, index);
    expect(await search.search(viewer, { term: 'beta' }, { offset: 0, limit: 10 })).toEqual([]);
    expect(await search.reindex()).toBe(6);
    const found = await search.search(viewer, { term: 'beta' }, { offset: 0, limit: 10 });
    expect(found.map((r) => `${r.kind} ${r.name}`)).toEqual(['FEATURE_GROUP beta']);
    expect(found[0]!.matches).toEqual(['name: <em>beta</em>', 'feature: <em>beta</em>_score']);
  } finally {
    await prisma.$disconnect();
  }
}

describe('the catalog migration', () => {
  it('on SQLite: records what exists as catalog entries with their lineage; search documents follow on start', async () => {
    await checkBackfill({ provider: 'sqlite', file: join(dir, 'legacy.db') }, await migrationsBeforeCatalog('sqlite'));
  });

  it.skipIf(!TEST_DATABASE_URL)('on PostgreSQL: the same', async () => {
    const name = `granary_backfill_${process.pid}_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    databases.push(name);
    const url = new URL(TEST_DATABASE_URL!);
    url.pathname = `/${name}`;
    await checkBackfill({ provider: 'postgresql', url: url.toString() }, await migrationsBeforeCatalog('postgresql'));
  });
});
