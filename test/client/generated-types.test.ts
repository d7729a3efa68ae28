import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(createRequire(import.meta.url).resolve('gql.tada/package.json'), '..', 'bin', 'cli.js');

describe('src/client/graphql-env.d.ts', () => {
  it('is the introspection of schema.graphql (run `npm run generate:client` when this fails)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'granary-tada-'));
    try {
      const output = join(dir, 'graphql-env.d.ts');
      const run = spawnSync(process.execPath, [cli, 'generate-output', '--output', output], { cwd: root, encoding: 'utf8' });
      expect(run.status, run.stderr || run.stdout).toBe(0);
      const committed = readFileSync(join(root, 'src/client/graphql-env.d.ts'), 'utf8');
      expect(committed === readFileSync(output, 'utf8'), 'the client’s types are stale against schema.graphql: run `npm run generate:client`').toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
