import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// graphql ships CommonJS and ESM builds; the libraries (yoga, Pothos) load the CommonJS one, so
// the code vitest transforms must too, or `instanceof GraphQLError` fails across the two copies.
const graphqlCjs = createRequire(import.meta.url).resolve('graphql');

// The suite runs against embedded SQLite metadata; with TEST_DATABASE_URL set (CI sets it),
// everything that goes through the metadata store runs again on PostgreSQL. Store contract
// suites under test/stores choose their backends themselves and run once.
const postgres = process.env.TEST_DATABASE_URL;

export default defineConfig({
  resolve: { alias: [{ find: /^graphql$/, replacement: graphqlCjs }] },
  test: {
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Test files of one worker share its module cache: importing the app (Prisma's client, the
    // schema, DuckDB) once per worker instead of once per file took the whole suite from 19 to 14.5
    // minutes (test/schema alone from 92 to 44 s). Nothing in the suite mocks modules; every test
    // starts its own server, stores and data directory.
    isolate: false,
    projects: [
      {
        extends: true as const,
        test: { name: 'sqlite', include: ['test/**/*.test.ts'], env: { GRANARY_TEST_METADATA: 'sqlite' } },
      },
      ...(postgres
        ? [
            {
              extends: true as const,
              test: {
                name: 'postgresql',
                include: ['test/**/*.test.ts'],
                // Process-level tests spawn the CLI on embedded SQLite: once is enough.
                exclude: [
                  'test/stores/**',
                  'test/schema/schema-file.test.ts',
                  'test/cli.test.ts',
                  'test/config.test.ts',
                  'test/shutdown.test.ts',
                  'test/client/generated-types.test.ts',
                  // The console is a client of the API: the API's behaviour on these backends is
                  // tested above; driving Chromium through the same pages again adds nothing.
                  'test/console/**',
                ],
                // The scale backends together: metadata on PostgreSQL, online store on Redis, ingestion log on NATS.
                env: {
                  GRANARY_TEST_METADATA: 'postgresql',
                  GRANARY_TEST_ONLINE_STORE_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
                  GRANARY_TEST_STREAM_URL: process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222',
                },
              },
            },
          ]
        : []),
    ],
  },
});
