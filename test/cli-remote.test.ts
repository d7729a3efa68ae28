import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newLines } from '../src/client/admin.ts';
import { formatTable } from '../src/cli/table.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

// The `granary` commands that talk to a running server, as a user runs them: `node bin/granary.js
// <command>` with GRANARY_URL and GRANARY_API_KEY, against one listening server. Each spawn costs
// a second of start-up, so independent runs go in parallel in beforeAll; the tests read the results.
const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let srv: TestServer;
let url: string;
let key: string;
const dir = mkdtempSync(join(tmpdir(), 'granary-cli-remote-'));

/**
 * Spawns the CLI; `onStdout` sees its standard output as it grows. `env` adds to (or, with
 * undefined, removes from) GRANARY_URL and GRANARY_API_KEY.
 */
function granary(args: readonly string[], env: Record<string, string | undefined> = {}, onStdout?: (stdout: string) => void): Promise<Run> {
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries({ PATH: process.env.PATH, GRANARY_URL: url, GRANARY_API_KEY: key, ...env }))
    if (value !== undefined) vars[name] = value;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/granary.js', ...args], { cwd: ROOT, env: vars, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      onStdout?.(stdout);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // A run that waits for something that never comes fails its test instead of the file's timeout.
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const CREATE_GROUP = `mutation($input: CreateFeatureGroupInput!) { createFeatureGroup(input: $input) { __typename ... on Error { message } } }`;
const CREATE_JOB = `mutation($input: CreateJobInput!) { createJob(input: $input) { __typename ... on Error { message } } }`;
const READ = `query($name: String!) { featureGroup(name: $name) { read { records } } }`;
const VIEWER = `{ viewer { apiKey { name } scopes } }`;

/** A COMMAND job running the test's own node binary on a script. */
const nodeJob = (name: string, script: string) => ({ name, type: 'COMMAND', config: { command: process.execPath, args: ['-e', script], timeoutSeconds: 30 } });

// Prints a line, waits for the file named by its argument (created by the test once the CLI has
// printed the line), then prints another: the execution cannot end before the line was shown.
const GATED = `const fs = require('fs'); console.log('before the gate');
const t = setInterval(() => { if (fs.existsSync(process.argv[1])) { clearInterval(t); console.log('after the gate'); } }, 50);`;

const customers = {
  name: 'customers',
  primaryKey: ['id'],
  description: 'Customer facts',
  features: [
    { name: 'id', type: 'STRING' },
    { name: 'spend', type: 'DOUBLE', description: 'Money spent' },
  ],
};

let runs: Record<string, Run>;
let gatedSawLineFirst = false;
let keyRuns: Awaited<ReturnType<typeof keyChain>>;
/** A loopback port nothing listens on. */
let closedPort: number;

/** Creates a key with the CLI, uses it, lists and revokes it with the CLI, then uses it again. */
async function keyChain() {
  const create = await granary(['keys', 'create', 'pipeline', '--scope', 'READ']);
  const secret = create.stdout.trim();
  const viewer = await srv.as(secret)(VIEWER);
  const [list, listJson] = await Promise.all([granary(['keys']), granary(['keys', '--json'])]);
  const id = (JSON.parse(listJson.stdout) as { id: string; name: string }[]).find((k) => k.name === 'pipeline')?.id ?? 'missing';
  const revoke = await granary(['keys', 'revoke', id]);
  const revokedUse = await granary(['groups'], { GRANARY_API_KEY: secret });
  return { create, secret, viewerName: viewer.data?.viewer.apiKey.name as string | undefined, list, revoke, revokedUse };
}

beforeAll(async () => {
  srv = await startTestServer();
  url = await srv.listen();
  ({ key } = await srv.newProject('cli'));
  const gql = srv.as(key);
  for (const input of [customers, { ...customers, name: 'events' }, { ...customers, name: 'lines' }]) {
    expect((await gql(CREATE_GROUP, { input })).data?.createFeatureGroup.__typename).toBe('CreateFeatureGroupPayload');
  }
  for (const input of [nodeJob('gated', GATED), nodeJob('doomed', `console.log('doomed to fail'); process.exit(3)`)]) {
    expect((await gql(CREATE_JOB, { input })).data?.createJob.__typename).toBe('CreateJobPayload');
  }
  writeFileSync(join(dir, 'events.csv'), 'id,spend\na,1.5\nb,2.5\n');
  writeFileSync(join(dir, 'lines.jsonl'), '{"id":"x","spend":7}\n{"id":"y","spend":8}\n');
  writeFileSync(join(dir, 'data.txt'), 'id,spend\n');
  const gate = join(dir, 'gate');
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));

  const [chain, ...results] = await Promise.all([
    keyChain(),
    granary(['status']),
    granary(['groups']),
    granary(['groups', '--json']),
    granary(['group', 'customers']),
    granary(['group', 'customers', '--json']),
    granary(['insert', 'events', join(dir, 'events.csv')]),
    granary(['insert', 'lines', join(dir, 'lines.jsonl'), '--json']),
    granary(['jobs']),
    granary(['run', 'gated', '--follow', '--args', JSON.stringify([gate])], {}, (stdout) => {
      if (stdout.includes('before the gate\n')) {
        gatedSawLineFirst ||= !stdout.includes('after the gate');
        writeFileSync(gate, '');
      }
    }),
    granary(['run', 'doomed', '--follow']),
    granary(['group', 'nope']),
    granary(['run', 'nope']),
    granary(['groups', '--frobnicate']),
    granary(['group']),
    granary(['group', 'customers', '--version', 'two']),
    granary(['insert', 'events', join(dir, 'data.txt')]),
    granary(['run', 'gated', '--args', '{oops']),
    granary(['groups'], { GRANARY_API_KEY: undefined }),
    granary(['groups'], { GRANARY_URL: `http://127.0.0.1:${closedPort}` }),
  ]);
  const names = [
    'status',
    'groups',
    'groupsJson',
    'group',
    'groupJson',
    'insertCsv',
    'insertJsonLines',
    'jobs',
    'gated',
    'doomed',
    'unknownGroup',
    'unknownJob',
    'unknownOption',
    'missingArgument',
    'badVersion',
    'unknownFormat',
    'badArgs',
    'noKey',
    'unreachable',
  ];
  runs = Object.fromEntries(names.map((name, i) => [name, results[i]!]));
  keyRuns = chain;
}, 60_000);

afterAll(async () => {
  await srv?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The run, asserting it exited with `code` (its stderr as the message otherwise). */
function ran(name: string, code: number): Run {
  const run = runs[name]!;
  expect(run.code, `${name}: ${run.stderr}`).toBe(code);
  return run;
}

describe('granary status', () => {
  it('prints the server, its health, the key and what the project holds', () => {
    const { stdout } = ran('status', 0);
    expect(stdout).toContain(url);
    expect(stdout).toMatch(/^healthz\s+ok$/m);
    expect(stdout).toMatch(/^key\s+test \(ADMIN\)$/m);
    expect(stdout).toMatch(/^feature groups\s+3$/m);
    // Inserts running beside it may add statistics jobs.
    expect(stdout).toMatch(/^jobs\s+\d+$/m);
  });
});

describe('granary groups and group', () => {
  it('lists the groups as a table, and as JSON with --json', () => {
    const table = ran('groups', 0).stdout.split('\n');
    expect(table[0]).toMatch(/^NAME\s+VERSION\s+ONLINE\s+ROWS\s+PRIMARY KEY/);
    expect(table.filter((l) => /^(customers|events|lines)\s+1\s/.test(l))).toHaveLength(3);
    const groups = JSON.parse(ran('groupsJson', 0).stdout) as { name: string; version: number; primaryKey: string[] }[];
    expect(groups.map((g) => g.name)).toEqual(['customers', 'events', 'lines']);
    expect(groups[0]).toMatchObject({ version: 1, primaryKey: ['id'] });
  });

  it('shows one group with its features, and as JSON', () => {
    const { stdout } = ran('group', 0);
    expect(stdout).toMatch(/^description\s+Customer facts$/m);
    expect(stdout).toMatch(/^spend\s+DOUBLE\s+no\s+no\s+Money spent$/m);
    expect(JSON.parse(ran('groupJson', 0).stdout)).toMatchObject({ name: 'customers', features: [{ name: 'id' }, { name: 'spend', type: 'DOUBLE' }] });
  });

  it('exits 4 naming a group that does not exist', () => {
    const { stderr, stdout } = ran('unknownGroup', 4);
    expect(stderr).toBe('granary group: feature group "nope" not found\n');
    expect(stdout).toBe('');
  });
});

describe('granary insert', () => {
  it('commits a CSV file whose rows are then readable', async () => {
    expect(ran('insertCsv', 0).stdout).toMatch(/^inserted 2 rows into "events" version 1: commit /);
    const read = await srv.as(key)(READ, { name: 'events' });
    expect(read.data.featureGroup.read.records).toEqual([
      { id: 'a', spend: 1.5 },
      { id: 'b', spend: 2.5 },
    ]);
  });

  it('takes JSON lines by their extension, and reports the commit as JSON', async () => {
    expect(JSON.parse(ran('insertJsonLines', 0).stdout)).toMatchObject({
      commit: { rowCount: 2, rowsInserted: 2 },
      featureGroup: { name: 'lines', rowCount: 2 },
    });
    expect((await srv.as(key)(READ, { name: 'lines' })).data.featureGroup.read.records).toEqual([
      { id: 'x', spend: 7 },
      { id: 'y', spend: 8 },
    ]);
  });
});

describe('granary jobs and run', () => {
  it('lists the jobs', () => {
    const lines = ran('jobs', 0).stdout.split('\n');
    expect(lines[0]).toMatch(/^NAME\s+TYPE\s+SCHEDULE/);
    expect(lines.some((l) => /^doomed\s+COMMAND\s/.test(l))).toBe(true);
    expect(lines.some((l) => /^gated\s+COMMAND\s/.test(l))).toBe(true);
  });

  it('run --follow prints the states and the log lines as they happen, and exits 0 when the run succeeds', () => {
    const { stdout } = ran('gated', 0);
    // The job waited for a file the test wrote only once the CLI had printed its first line.
    expect(gatedSawLineFirst).toBe(true);
    const lines = stdout.split('\n');
    const at = (pattern: RegExp) => lines.findIndex((l) => pattern.test(l));
    const order = [
      at(/^== INITIALIZING execution \S+ of job gated$/),
      at(/^== RUNNING$/),
      at(/^before the gate$/),
      at(/^after the gate$/),
      at(/^== SUCCEEDED/),
    ];
    expect(
      order.every((i) => i >= 0),
      stdout,
    ).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(lines.at(-2)).toMatch(/^== SUCCEEDED after \d+\.\d s$/);
  });

  it('run --follow exits 1 when the run fails, after its log and the final state', () => {
    const { stdout, stderr } = ran('doomed', 1);
    expect(stdout).toMatch(/== RUNNING\n[\s\S]*doomed to fail\n[\s\S]*== FAILED after/);
    expect(stderr).toMatch(/^granary run: execution \S+ of job "doomed" ended FAILED\n$/);
  });

  it('exits 4 on a job that does not exist', () => {
    expect(ran('unknownJob', 4).stderr).toMatch(/^granary run: .*nope.* not found\n$/i);
  });
});

describe('granary keys', () => {
  it('creates a key and prints its secret once, alone on stdout; the secret works', () => {
    const { create, list, secret, viewerName } = keyRuns;
    expect(create.code, create.stderr).toBe(0);
    expect(create.stdout).toMatch(/^gra_\S+\n$/);
    expect(create.stderr).toContain('created key "pipeline"');
    expect(viewerName).toBe('pipeline');
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^\S+\s+pipeline\s+\S+…\s+READ\s/m);
    expect(list.stdout).not.toContain(secret);
  });

  it('revokes a key: the CLI with it then exits 3', () => {
    const { revoke, revokedUse } = keyRuns;
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(revoke.stdout).toMatch(/^revoked key "pipeline"/);
    expect(revokedUse.code).toBe(3);
    expect(revokedUse.stderr).toMatch(/^granary groups: not authenticated at http:\/\/127\.0\.0\.1:\d+: .+\n$/);
  });
});

describe('exit codes of failures', () => {
  it('exits 2 on usage errors, naming the culprit on one line', () => {
    expect(ran('unknownOption', 2).stderr).toBe("granary groups: Unknown option '--frobnicate'; see granary groups --help\n");
    expect(ran('missingArgument', 2).stderr).toMatch(/^granary group: missing <name>; usage: granary group <name>/);
    expect(ran('badVersion', 2).stderr).toBe('granary group: --version must be a positive integer (got "two")\n');
    expect(ran('unknownFormat', 2).stderr).toMatch(
      /^granary insert: cannot tell the format of \S+data\.txt from its extension: give --format CSV\|PARQUET\|NDJSON\n$/,
    );
    expect(ran('badArgs', 2).stderr).toMatch(/^granary run: --args is not JSON: /);
    for (const name of ['unknownOption', 'missingArgument', 'badVersion', 'unknownFormat', 'badArgs']) expect(runs[name]!.stderr.split('\n')).toHaveLength(2);
  });

  it('exits 3 without a key, or when the server cannot be reached', () => {
    expect(ran('noKey', 3).stderr).toBe('granary groups: no API key: set GRANARY_API_KEY or pass --api-key-file FILE\n');
    expect(ran('unreachable', 3).stderr).toBe(`granary groups: cannot reach the server at http://127.0.0.1:${closedPort} (ECONNREFUSED)\n`);
  });
});

describe('output helpers', () => {
  it('aligns table columns, numbers to the right', () => {
    expect(
      formatTable(
        ['NAME', 'ROWS'],
        [
          ['a', 5],
          ['longer', 120],
        ],
      ),
    ).toBe('NAME    ROWS\na          5\nlonger   120\n');
  });

  it('finds the new lines of a log window that has lost its first lines', () => {
    expect(newLines(['a', 'b'], ['a', 'b', 'c'])).toEqual(['c']);
    expect(newLines(['a', 'b', 'c'], ['a', 'b'])).toEqual([]);
    const full = Array.from({ length: 10_000 }, (_, i) => `line ${i}`);
    const moved = [...full.slice(3), 'line 10000', 'line 10001', 'line 10002'];
    expect(newLines(full, moved)).toEqual(['line 10000', 'line 10001', 'line 10002']);
  });
});
