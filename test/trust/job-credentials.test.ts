import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// A COMMAND run talks to Granary with a key of its own: GRANARY_URL and GRANARY_API_KEY in its
// environment, the key scoped to the job's project with the scope its config declares, and revoked
// when the run ends, however it ends. Secrets of a config (`secretEnv`) are sealed at rest and read
// back as "***"; the command gets them in clear. `runJob(args:)` reaches the command.

let srv: TestServer;
let dir: string;
beforeAll(async () => {
  srv = await startTestServer();
  // Runs reach the server over HTTP: it must listen.
  await srv.listen();
  dir = mkdtempSync(join(tmpdir(), 'granary-job-credentials-'));
});
afterAll(async () => {
  await srv?.close();
  rmSync(dir, { recursive: true, force: true });
});

type Gql = (q: string, v?: Record<string, unknown>) => Promise<any>;

const CREATE_JOB = `mutation($input: CreateJobInput!) {
  createJob(input: $input) {
    __typename
    ... on CreateJobPayload { job { id name config } }
    ... on ValidationError { message issues { path message } }
    ... on Error { message }
  }
}`;
const RUN_JOB = `mutation($name: String!, $args: JSON) { runJob(name: $name, args: $args) { __typename ... on RunJobPayload { execution { id } } ... on Error { message } } }`;
const EXECUTION = `query($id: ID!) { execution(id: $id) { state finalStatus logs } }`;

async function project(prefix: string) {
  const p = await srv.newProject(prefix);
  const gql: Gql = (q, v) => srv.gql(q, v, p.key);
  return { ...p, gql };
}

async function createJob(gql: Gql, input: Record<string, unknown>) {
  const res = await gql(CREATE_JOB, { input });
  expect(res.data?.createJob.__typename, JSON.stringify(res)).toBe('CreateJobPayload');
  return res.data.createJob.job;
}

async function run(gql: Gql, name: string, args?: unknown): Promise<string> {
  const res = await gql(RUN_JOB, { name, args });
  expect(res.data?.runJob.__typename, JSON.stringify(res)).toBe('RunJobPayload');
  return res.data.runJob.execution.id;
}

async function waitFor(gql: Gql, id: string, done: (e: any) => boolean) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const execution = (await gql(EXECUTION, { id })).data?.execution;
    if (execution && done(execution)) return execution;
    if (Date.now() > deadline) throw new Error(`execution never got there: ${JSON.stringify(execution)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const ended = (e: any) => e.finalStatus != null;

/**
 * A node script that writes its key to `argv[1]`, then asks the server (GRANARY_URL, GRANARY_API_KEY)
 * a read, a write and an ADMIN-only query, and prints what each answered.
 */
const CLIENT = `
const fs = require('node:fs');
fs.writeFileSync(process.argv[1], process.env.GRANARY_API_KEY ?? '');
const ask = (query) => fetch(process.env.GRANARY_URL + '/graphql', {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: 'Bearer ' + process.env.GRANARY_API_KEY },
  body: JSON.stringify({ query }),
}).then((r) => r.json());
(async () => {
  const read = await ask('{ job(name: "pipeline") { name } }');
  console.log('read ' + JSON.stringify(read.data));
  const write = await ask('mutation { createFeatureGroup(input: { name: "from_job", primaryKey: ["id"], features: [{ name: "id", type: "BIGINT" }] }) { __typename } }');
  console.log('write ' + (write.data ? write.data.createFeatureGroup.__typename : write.errors[0].extensions.code));
  const admin = await ask('{ apiKeys { name } }');
  console.log('admin ' + (admin.data ? 'allowed' : admin.errors[0].extensions.code));
})().catch((e) => { console.error(String(e)); process.exit(2); });
`;

/** Whether a secret still authenticates. */
async function works(secret: string): Promise<boolean> {
  const res = await srv.gql(`{ __typename }`, {}, secret);
  return res.status === 200 && !res.errors;
}

describe('run keys', () => {
  it('gives a run GRANARY_URL and a WRITE key of the job’s project, revoked when the run ends', async () => {
    const { gql } = await project('cred');
    const keyFile = join(dir, 'write.key');
    await createJob(gql, { name: 'pipeline', type: 'COMMAND', config: { command: process.execPath, args: ['-e', CLIENT, keyFile] } });
    const id = await run(gql, 'pipeline');
    const done = await waitFor(gql, id, ended);
    expect(done.finalStatus, JSON.stringify(done.logs)).toBe('SUCCEEDED');
    // Its own project (the job is found), WRITE (the group is created), not ADMIN.
    expect(done.logs).toContain('read {"job":{"name":"pipeline"}}');
    expect(done.logs).toContain('write CreateFeatureGroupPayload');
    expect(done.logs).toContain('admin FORBIDDEN');
    expect((await gql(`{ featureGroup(name: "from_job") { name } }`)).data.featureGroup).toEqual({ name: 'from_job' });

    const secret = readFileSync(keyFile, 'utf8');
    expect(secret).toMatch(/^gra_/);
    expect(await works(secret)).toBe(false);
    // Listed as what it is, revoked, and gone from the default (active) listing.
    const keys = await gql(`{ all: apiKeys(includeRevoked: true) { name scopes expiresAt revokedAt } active: apiKeys { name } }`);
    const runKeys = keys.data.all.filter((k: any) => k.name.startsWith('job:'));
    expect(runKeys).toHaveLength(1);
    const rawId = Buffer.from(id, 'base64')
      .toString('utf8')
      .replace(/^Execution:/, '');
    expect(runKeys[0]).toMatchObject({ name: `job:pipeline#${rawId}`, scopes: ['WRITE'] });
    expect(runKeys[0].revokedAt).not.toBeNull();
    expect(Date.parse(runKeys[0].expiresAt)).toBeLessThanOrEqual(Date.now() + 24 * 3600 * 1000);
    expect(keys.data.active.map((k: any) => k.name)).not.toContain(`job:pipeline#${rawId}`);
  });

  it('gives the scope the config declares: READ cannot write', async () => {
    const { gql } = await project('cred_read');
    const keyFile = join(dir, 'read.key');
    await createJob(gql, {
      name: 'pipeline',
      type: 'COMMAND',
      config: { command: process.execPath, args: ['-e', CLIENT, keyFile], scope: 'READ', timeoutSeconds: 60 },
    });
    const done = await waitFor(gql, await run(gql, 'pipeline'), ended);
    expect(done.finalStatus, JSON.stringify(done.logs)).toBe('SUCCEEDED');
    expect(done.logs).toContain('read {"job":{"name":"pipeline"}}');
    expect(done.logs).toContain('write FORBIDDEN');
    const keys = await gql(`{ apiKeys(includeRevoked: true) { name scopes createdAt expiresAt } }`);
    const key = keys.data.apiKeys.find((k: any) => k.name.startsWith('job:pipeline#'));
    expect(key.scopes).toEqual(['READ']);
    // Bounded by the run's timeout (plus a grace), not by a day.
    expect(Date.parse(key.expiresAt) - Date.parse(key.createdAt)).toBeLessThanOrEqual(130_000);
  });

  it('a job a pipeline creates with its run key keeps running after that run ended', async () => {
    const { gql } = await project('cred_child');
    const script = `fetch(process.env.GRANARY_URL + '/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ' + process.env.GRANARY_API_KEY },
      body: JSON.stringify({ query: 'mutation { createJob(input: { name: "child", type: "COMMAND", config: { command: "true" } }) { __typename } }' }),
    }).then((r) => r.json()).then((r) => console.log('created ' + r.data.createJob.__typename));`;
    await createJob(gql, { name: 'parent', type: 'COMMAND', config: { command: process.execPath, args: ['-e', script], scope: 'ADMIN' } });
    const parent = await waitFor(gql, await run(gql, 'parent'), ended);
    expect(parent.logs, JSON.stringify(parent.logs)).toContain('created CreateJobPayload');
    // The child acts for whoever owns the pipeline, not for the run's key (revoked by now).
    expect((await gql(`{ job(name: "child") { createdBy } }`)).data.job.createdBy).toBe('test');
    const child = await waitFor(gql, await run(gql, 'child'), ended);
    expect(child.finalStatus, JSON.stringify(child.logs)).toBe('SUCCEEDED');
  });

  it('reserves run key names', async () => {
    const { gql } = await project('cred_names');
    const res = await gql(
      `mutation { createApiKey(input: { name: "job:nightly#0190", scopes: [READ] }) { __typename ... on ValidationError { issues { path } } } }`,
    );
    expect(res.data.createApiKey).toEqual({ __typename: 'ValidationError', issues: [{ path: ['input', 'name'] }] });
  });

  it('refuses a run scope that is not a scope at createJob', async () => {
    const { gql } = await project('cred_scope');
    const res = await gql(CREATE_JOB, { input: { name: 'x', type: 'COMMAND', config: { command: 'true', scope: 'OWNER' } } });
    expect(res.data.createJob.__typename).toBe('ValidationError');
    expect(res.data.createJob.issues.map((i: any) => i.path.join('.'))).toContain('input.config.scope');
  });

  it('revokes the key of a run that is stopped (KILLED)', async () => {
    const { gql } = await project('cred_kill');
    const keyFile = join(dir, 'killed.key');
    const script = `require('node:fs').writeFileSync(process.argv[1], process.env.GRANARY_API_KEY); console.log('started'); setTimeout(() => {}, 60000)`;
    await createJob(gql, { name: 'sleeper', type: 'COMMAND', config: { command: process.execPath, args: ['-e', script, keyFile] } });
    const id = await run(gql, 'sleeper');
    await waitFor(gql, id, (e) => e.logs.includes('started'));
    const secret = readFileSync(keyFile, 'utf8');
    expect(await works(secret)).toBe(true);
    const stopped = await gql(`mutation($id: ID!) { stopExecution(id: $id) { ... on StopExecutionPayload { execution { finalStatus } } } }`, { id });
    expect(stopped.data.stopExecution.execution.finalStatus).toBe('KILLED');
    expect(await works(secret)).toBe(false);
  });

  it('revokes the key of a run left by a dead process when it is recovered', async () => {
    const { gql, name } = await project('cred_crash');
    await createJob(gql, { name: 'lost', type: 'COMMAND', config: { command: 'true' } });
    const prisma = srv.app.prisma;
    const projectRow = await prisma.project.findUniqueOrThrow({ where: { name } });
    const job = await prisma.job.findFirstOrThrow({ where: { projectId: projectRow.id, name: 'lost' } });
    // A run of a process that is gone: RUNNING, its heartbeat long stale, its key still active.
    const execution = await prisma.execution.create({
      data: {
        jobId: job.id,
        projectId: projectRow.id,
        trigger: 'MANUAL',
        state: 'RUNNING',
        runner: 'elsewhere:1:dead',
        heartbeatAt: new Date(0),
        startedAt: new Date(0),
      },
    });
    const { secret } = await srv.app.services.apiKeys.mint(projectRow.id, `job:lost#${execution.id}`, ['WRITE'], new Date(Date.now() + 3600_000));
    expect(await works(secret)).toBe(true);
    await srv.app.services.jobs.recover();
    const after = await prisma.execution.findUniqueOrThrow({ where: { id: execution.id } });
    expect(after.finalStatus).toBe('FAILED');
    expect(await works(secret)).toBe(false);
  });
});

describe('secrets in a COMMAND config', () => {
  it('seals secretEnv at rest, reads it back as ***, and gives the command the clear value', async () => {
    const { gql, name } = await project('secret');
    // Prints the secret hex-encoded, so the job's own args do not contain it.
    const script = `console.log('token ' + Buffer.from(process.env.TOKEN ?? '').toString('hex')); console.log('plain ' + process.env.PLAIN)`;
    const input = {
      name: 'export',
      type: 'COMMAND',
      config: { command: process.execPath, args: ['-e', script], env: { PLAIN: 'visible' }, secretEnv: { TOKEN: 's3cret-value' } },
    };
    const job = await createJob(gql, input);
    expect(job.config.secretEnv).toEqual({ TOKEN: '***' });
    expect(job.config.env).toEqual({ PLAIN: 'visible' });

    // A READ key reads the job but not the secret.
    const minted = await gql(`mutation { createApiKey(input: { name: "reader", scopes: [READ] }) { ... on CreateApiKeyPayload { secret } } }`);
    const asReader = await srv.gql(`{ job(name: "export") { config } }`, {}, minted.data.createApiKey.secret);
    expect(JSON.stringify(asReader)).not.toContain('s3cret-value');
    expect(asReader.data.job.config.secretEnv).toEqual({ TOKEN: '***' });
    // Nor is it stored in clear.
    const row = await srv.app.prisma.job.findFirstOrThrow({ where: { name: 'export', project: { name } } });
    expect(JSON.stringify(row.config)).not.toContain('s3cret-value');

    // The same definition again is the same job (not a conflict because of the seal's nonce).
    const again = await createJob(gql, input);
    expect(again.id).toBe(job.id);

    const done = await waitFor(gql, await run(gql, 'export'), ended);
    expect(done.finalStatus, JSON.stringify(done.logs)).toBe('SUCCEEDED');
    expect(done.logs).toContain(`token ${Buffer.from('s3cret-value').toString('hex')}`);
    expect(done.logs).toContain('plain visible');
  });

  it('refuses a Granary key in env or args, and variables the runner sets', async () => {
    const { gql } = await project('secret_bad');
    const cases: [Record<string, unknown>, string][] = [
      [{ command: 'true', env: { TOKEN: srv.adminKey } }, 'input.config.env.TOKEN'],
      [{ command: 'true', args: ['--key', srv.adminKey] }, 'input.config.args.1'],
      [{ command: 'true', env: { GRANARY_API_KEY: 'x' } }, 'input.config.env.GRANARY_API_KEY'],
      [{ command: 'true', secretEnv: { GRANARY_URL: 'http://elsewhere' } }, 'input.config.secretEnv.GRANARY_URL'],
    ];
    for (const [config, path] of cases) {
      const res = await gql(CREATE_JOB, { input: { name: 'x', type: 'COMMAND', config } });
      expect(res.data.createJob.__typename, JSON.stringify(res)).toBe('ValidationError');
      expect(res.data.createJob.issues.map((i: any) => i.path.join('.'))).toContain(path);
      expect(JSON.stringify(res)).not.toContain(srv.adminKey);
    }
    expect((await gql(`{ jobs(first: 5) { edges { node { name } } } }`)).data.jobs.edges).toEqual([]);
  });
});

describe('configs stored before keys in env were refused', () => {
  it('read back with the key hidden', async () => {
    const { gql, name } = await project('legacy');
    const job = await createJob(gql, { name: 'old', type: 'COMMAND', config: { command: 'true' } });
    const row = await srv.app.prisma.job.findFirstOrThrow({ where: { name: 'old', project: { name } } });
    // As an older server stored it: the admin key in plain env and args.
    await srv.app.prisma.job.update({
      where: { id: row.id },
      data: { config: { command: 'true', args: ['--key', srv.adminKey], env: { TOKEN: srv.adminKey, MODE: 'daily' } } },
    });
    const res = await gql(`query($id: ID!) { node(id: $id) { ... on Job { config } } }`, { id: job.id });
    expect(JSON.stringify(res)).not.toContain(srv.adminKey);
    expect(res.data.node.config).toMatchObject({ args: ['--key', '***'], env: { TOKEN: '***', MODE: 'daily' } });
  });
});

describe('runJob(args:) reaches a command', () => {
  it('appends an array of strings to the arguments; any JSON is GRANARY_JOB_ARGS', async () => {
    const { gql } = await project('args');
    const script = `console.log('argv ' + JSON.stringify(process.argv.slice(1))); console.log('json ' + process.env.GRANARY_JOB_ARGS)`;
    await createJob(gql, { name: 'echo', type: 'COMMAND', config: { command: process.execPath, args: ['-e', script, 'fixed'] } });
    const withList = await waitFor(gql, await run(gql, 'echo', ['--day', '2026-01-01']), ended);
    expect(withList.logs).toContain('argv ["fixed","--day","2026-01-01"]');
    expect(withList.logs).toContain('json ["--day","2026-01-01"]');
    const withObject = await waitFor(gql, await run(gql, 'echo', { day: '2026-01-02', dryRun: true }), ended);
    expect(withObject.logs).toContain('argv ["fixed"]');
    expect(withObject.logs).toContain('json {"day":"2026-01-02","dryRun":true}');
    const without = await waitFor(gql, await run(gql, 'echo'), ended);
    expect(without.logs).toContain('json undefined');
  });
});

describe('GRANARY_URL', () => {
  it('is GRANARY_PUBLIC_URL when set (a server behind a proxy)', async () => {
    const proxied = await startTestServer({ env: { GRANARY_PUBLIC_URL: 'https://granary.example.com:8443/' } });
    try {
      const p = await proxied.newProject('public_url');
      const gql: Gql = (q, v) => proxied.gql(q, v, p.key);
      await createJob(gql, {
        name: 'where',
        type: 'COMMAND',
        config: { command: process.execPath, args: ['-e', `console.log('url ' + process.env.GRANARY_URL)`] },
      });
      const done = await waitFor(gql, await run(gql, 'where'), ended);
      expect(done.logs).toContain('url https://granary.example.com:8443');
    } finally {
      await proxied.close();
    }
  });

  it('refuses a GRANARY_PUBLIC_URL that is not an http(s) URL, naming it', () => {
    expect(() => loadConfig({ GRANARY_PUBLIC_URL: 'granary.example.com' })).toThrow(/GRANARY_PUBLIC_URL=.*http/);
  });
});
