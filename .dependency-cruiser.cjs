// The house's floors as rules, checked by `npm run check:architecture` (part of `npm test`).
// Floors, top down: process entry (main, cli, serve) → http/ and server → schema/ → services/ and jobs/
// → engine/ → stores/ → domain/ and the shared leaves (errors, logger, config). An arrow may only
// point down; only the composition root (src/app.ts) knows the concrete backends.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import circle ties rooms that should stand alone; declare the narrow interface where it is used instead.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'domain-is-the-ground-floor',
      severity: 'error',
      comment: 'Value types import nothing above them.',
      from: { path: '^src/domain/' },
      to: { path: '^src/', pathNot: ['^src/domain/', '^src/errors\\.ts$'] },
    },
    {
      name: 'stores-import-nothing-above',
      severity: 'error',
      comment: 'Stores are the basement: they never import services, schema, engine, jobs, http or the composition root.',
      from: { path: '^src/stores/' },
      to: { path: '^src/(services|schema|engine|jobs|http|app\\.ts|server\\.ts|serve\\.ts|cli\\.ts|main\\.ts|context\\.ts|recovery\\.ts)' },
    },
    {
      name: 'engine-imports-no-services',
      severity: 'error',
      comment: 'The engine compiles and computes; it asks the stores through their ports and knows no service, resolver or job.',
      from: { path: '^src/engine/' },
      to: { path: '^src/(services|schema|jobs|http|app\\.ts|server\\.ts|context\\.ts)' },
    },
    {
      name: 'services-import-no-schema-or-http',
      severity: 'error',
      comment: 'Services hold the rules without GraphQL types; the HTTP edge and resolvers sit above them.',
      from: { path: '^src/(services|jobs)/' },
      to: { path: '^src/(schema|http|app\\.ts|server\\.ts|serve\\.ts|cli\\.ts|main\\.ts)' },
    },
    {
      name: 'schema-never-imports-stores',
      severity: 'error',
      comment: 'Resolvers call services; they never reach a store.',
      from: { path: '^src/schema/' },
      to: { path: '^src/stores/' },
    },
    {
      name: 'only-the-composition-root-imports-backends',
      severity: 'error',
      comment:
        'Callers use the ports (offline-store.ts, online-store.ts, stream-log.ts); only src/app.ts chooses the DuckDB, SQLite, Redis and NATS backends (and the apply thread\'s entry, the root of its thread, opens the online store src/app.ts chose, with the same options).',
      from: { path: '^src/', pathNot: ['^src/app\\.ts$', '^src/stores/', '^src/services/stream/apply-worker\\.ts$'] },
      to: { path: ['^src/stores/offline/duckdb', '^src/stores/online/(sqlite|redis|index)', '^src/stores/log/(sqlite|nats|index)'] },
    },
    {
      name: 'backends-stand-apart',
      severity: 'error',
      comment: 'One backend never reaches into another backend of a different store.',
      from: { path: '^src/stores/online/' },
      to: { path: '^src/stores/offline/duckdb' },
    },
    {
      name: 'the-remote-cli-uses-only-the-client',
      severity: 'error',
      comment: 'The commands that talk to a running server (status, groups, insert, run, keys…) go through the typed client, never the server code, so they stay light and work against a remote server.',
      from: { path: '^src/cli/' },
      to: { path: '^src/', pathNot: ['^src/cli/', '^src/client/'] },
    },
    {
      name: 'the-client-stands-apart',
      severity: 'error',
      comment: 'The typed client ships to users: it imports nothing of the server.',
      from: { path: '^src/client/' },
      to: { path: '^src/', pathNot: '^src/client/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^src/generated/', '\\.d\\.ts$'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'] },
  },
};
