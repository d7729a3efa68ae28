import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv?.close();
});

/** A runner id of a process on this host that does not exist (pid beyond any pid_max). */
const DEAD = `${hostname()}:99999999:dead0000`;

async function setup(prefix: string) {
  const p = await srv.newProject(prefix);
  const gql = (q: string, v?: Record<string, unknown>) => srv.gql(q, v, p.key);
  const group = await gql(`mutation($input: CreateFeatureGroupInput!) { createFeatureGroup(input: $input) { __typename } }`, {
    input: {
      name: 'g',
      primaryKey: ['id'],
      eventTime: 'ts',
      onlineEnabled: true,
      features: [
        { name: 'id', type: 'BIGINT' },
        { name: 'ts', type: 'TIMESTAMP' },
        { name: 'v', type: 'INT' },
      ],
    },
  });
  expect(group.data.createFeatureGroup.__typename).toBe('CreateFeatureGroupPayload');
  for (const id of [1, 2]) {
    const res = await gql(`mutation($rows: [JSON!]) { insertFeatureGroupData(featureGroup: { name: "g" }, rows: $rows, storage: OFFLINE) { __typename } }`, {
      rows: [{ id, ts: '2026-01-01T00:00:00Z', v: id * 10 }],
    });
    expect(res.data.insertFeatureGroupData.__typename).toBe('InsertFeatureGroupDataPayload');
  }
  const job = await gql(`mutation { createJob(input: { name: "fill", type: "MATERIALIZE", config: { featureGroup: { name: "g" } } }) { __typename } }`);
  expect(job.data.createJob.__typename).toBe('CreateJobPayload');
  const prisma = srv.app.prisma;
  const project = await prisma.project.findUniqueOrThrow({ where: { name: p.name } });
  const fg = await prisma.featureGroup.findFirstOrThrow({ where: { projectId: project.id, name: 'g' } });
  const commits = await prisma.commit.findMany({ where: { featureGroupId: fg.id }, orderBy: { id: 'asc' } });
  const jobRow = await prisma.job.findFirstOrThrow({ where: { projectId: project.id, name: 'fill' } });
  return { gql, fg, commits, jobRow, project };
}

async function waitEnded(id: string) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const e = await srv.app.prisma.execution.findUniqueOrThrow({ where: { id }, include: { logs: { orderBy: { id: 'asc' } } } });
    if (e.finalStatus) return e;
    if (Date.now() > deadline) throw new Error(`never ended: ${JSON.stringify(e)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('recovery of executions left by a dead process', () => {
  it('resumes a MATERIALIZE run from its checkpoint: commits before it are not written again', async () => {
    const { fg, commits, jobRow, project } = await setup('resume');
    const orphan = await srv.app.prisma.execution.create({
      data: {
        jobId: jobRow.id,
        projectId: project.id,
        trigger: 'MANUAL',
        state: 'RUNNING',
        startedAt: new Date(),
        progress: 0.5,
        checkpoint: { afterCommit: commits[0]!.id },
        runner: DEAD,
        heartbeatAt: new Date(),
      },
    });
    const recovered = await srv.app.services.jobs.recover();
    expect(recovered.resumed).toBeGreaterThanOrEqual(1);
    const done = await waitEnded(orphan.id);
    expect(done.state).toBe('SUCCEEDED');
    expect(done.progress).toBe(1);
    expect(done.logs[0]!.line).toMatch(/resuming from the last checkpoint: the server process running it \(.*dead0000\) stopped/);
    expect(done.logs.some((l) => l.line.includes(`resuming after commit ${commits[0]!.id}: 1 of 2 commits already written`))).toBe(true);
    // Only the second commit was written by the resumed run.
    const rows = await srv.app.online.read(srv.app.services.featureGroups.onlineTable(fg), [[1], [2]]);
    expect(rows[0]).toBeNull();
    expect(rows[1]).toMatchObject({ id: 2, v: 20 });
  });

  it('fails a non-resumable run of a dead process and leaves a live process’s run alone', async () => {
    const { jobRow, project } = await setup('fail');
    await srv.app.prisma.job.update({ where: { id: jobRow.id }, data: { type: 'COMMAND', config: { command: 'true', args: [] } } });
    const dead = await srv.app.prisma.execution.create({
      data: { jobId: jobRow.id, projectId: project.id, trigger: 'MANUAL', state: 'RUNNING', startedAt: new Date(), runner: DEAD, heartbeatAt: new Date() },
    });
    // Another live process (this pid, another runner) with a fresh heartbeat.
    const live = await srv.app.prisma.execution.create({
      data: {
        jobId: jobRow.id,
        projectId: project.id,
        trigger: 'MANUAL',
        state: 'RUNNING',
        startedAt: new Date(),
        runner: `${hostname()}:${process.pid}:alive000`,
        heartbeatAt: new Date(),
      },
    });
    await srv.app.services.jobs.recover();
    const failed = await waitEnded(dead.id);
    expect(failed.state).toBe('FAILED');
    expect(failed.logs.at(-1)!.line).toMatch(/stopped before it finished/);
    const untouched = await srv.app.prisma.execution.findUniqueOrThrow({ where: { id: live.id } });
    expect(untouched).toMatchObject({ state: 'RUNNING', finalStatus: null, runner: `${hostname()}:${process.pid}:alive000` });
  });
});
