import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { logisticRegressionOnnx } from '../../src/client/onnx-model.ts';

/**
 * The Python client (`clients/python`) against a real server: its unittest suite, run with
 * Debian's Python, which starts `granary serve` itself. Without pandas there, the suite is skipped
 * outside CI and fails in CI (.ci/run installs python3-pandas and python3-sklearn).
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PYTHON = '/usr/bin/python3';

const hasPandas = spawnSync(PYTHON, ['-c', 'import pandas'], { stdio: 'ignore' }).status === 0;
// The suite runs its own server on embedded SQLite: once, in the sqlite project.
const otherBackend = process.env.GRANARY_TEST_METADATA === 'postgresql';
const reason = otherBackend
  ? 'runs once, in the sqlite project'
  : hasPandas || process.env.CI
    ? ''
    : `skipped: ${PYTHON} lacks pandas (apt-get install python3-pandas python3-sklearn)`;

describe.skipIf(reason !== '')(`Python client${reason ? ` (${reason})` : ''}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'granary-python-client-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes its unittest suite against a real server', async () => {
    expect(hasPandas, `${PYTHON} lacks pandas: .ci/run installs python3-pandas and python3-sklearn`).toBe(true);
    // A two-input logistic regression, for the deployment test (Python has no ONNX writer here).
    const onnx = join(dir, 'model.onnx');
    writeFileSync(onnx, logisticRegressionOnnx({ features: 2, weights: [2, -1], intercept: 0.1 }));
    const env: Record<string, string | undefined> = {
      ...process.env,
      PYTHONPATH: join(ROOT, 'clients', 'python'),
      PYTHONDONTWRITEBYTECODE: '1',
      MPLBACKEND: 'Agg',
      GRANARY_TEST_ONNX_MODEL: onnx,
    };
    for (const name of ['DATABASE_URL', 'ONLINE_STORE_URL', 'PUBSUB_URL', 'STREAM_URL', 'GRANARY_TEST_URL', 'GRANARY_TEST_ADMIN_KEY']) delete env[name];
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn(PYTHON, ['-m', 'unittest', 'discover', '-s', 'clients/python/tests', '-v'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      child.once('error', reject);
      child.once('close', (status) => resolve({ code: status, output: out }));
    });
    expect(code, `python3 -m unittest failed:\n${output}`).toBe(0);
    // Every test ran: skipped ones (a missing tutorial dependency) would have failed in CI.
    expect(output).toMatch(/\nOK/);
  }, 240_000);
});
