import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeStatisticsJob } from '../../../src/jobs/types/compute-statistics.ts';
import type { JobContext } from '../../../src/jobs/job-type.ts';
import type { Viewer } from '../../../src/services/viewer.ts';
import { NotFoundError } from '../../../src/errors.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv?.close();
});

/** A hand-made context: what a runner would pass, recording logs and progress. */
function context(viewer: Viewer, config: unknown) {
  const logs: string[] = [];
  const progress: [number, string | undefined][] = [];
  const ctx: JobContext<any> = {
    viewer,
    config,
    args: null,
    executionId: 'test-execution',
    signal: new AbortController().signal,
    checkpoint: null,
    credentials: null,
    log: (line) => logs.push(line),
    progress: async (fraction, message) => {
      progress.push([fraction, message]);
    },
    services: srv.app.services,
    stores: { offline: srv.app.offline, online: srv.app.online },
  };
  return { ctx, logs, progress };
}

async function viewerOf(key: string): Promise<Viewer> {
  const res = await srv.gql(`{ viewer { project { name } } }`, {}, key);
  const project = await srv.app.prisma.project.findUniqueOrThrow({ where: { name: res.data.viewer.project.name } });
  return { apiKeyId: 'job', projectId: project.id, projectName: project.name, scopes: ['WRITE'], serverAdmin: false };
}

describe('COMPUTE_STATISTICS job type', () => {
  const job = () => computeStatisticsJob(srv.app.services);

  it('validates its config', () => {
    expect(job().name).toBe('COMPUTE_STATISTICS');
    expect(job().config.safeParse({ featureGroup: { name: 'g', version: 2 } }).success).toBe(true);
    expect(job().config.safeParse({ featureGroup: { name: 'g' } }).success).toBe(true);
    expect(job().config.safeParse({ featureGroup: { name: '' } }).success).toBe(false);
    expect(job().config.safeParse({ featureGroup: { name: 'g' }, extra: 1 }).success).toBe(false);
    expect(job().config.safeParse({}).success).toBe(false);
  });

  it('computes and stores the statistics of the group, with progress and log lines', async () => {
    const p = await srv.newProject('stjob');
    const input = {
      name: 'jobbed',
      primaryKey: ['id'],
      features: [
        { name: 'id', type: 'BIGINT' },
        { name: 'x', type: 'DOUBLE' },
      ],
    };
    await srv.gql(`mutation($input: CreateFeatureGroupInput!) { createFeatureGroup(input: $input) { __typename } }`, { input }, p.key);
    await srv.gql(
      `mutation($rows: [JSON!]) { insertFeatureGroupData(featureGroup: { name: "jobbed" }, rows: $rows) { __typename } }`,
      {
        rows: [
          { id: 1, x: 1 },
          { id: 2, x: 3 },
        ],
      },
      p.key,
    );
    const viewer = await viewerOf(p.key);
    const { ctx, logs, progress } = context(viewer, job().config.parse({ featureGroup: { name: 'jobbed' } }));
    await job().run(ctx);
    expect(progress.map(([f]) => f)).toEqual([0, 1]);
    expect(logs.join('\n')).toMatch(/stored statistics .*: 2 rows, 2 features/);
    const read = await srv.gql(`{ featureGroup(name: "jobbed") { statistics { rowCount features { name mean } } } }`, {}, p.key);
    expect(read.data.featureGroup.statistics).toEqual({
      rowCount: 2,
      features: [
        { name: 'id', mean: 1.5 },
        { name: 'x', mean: 2 },
      ],
    });
  });

  it('fails (throws) for a group that does not exist', async () => {
    const p = await srv.newProject('stjob_missing');
    const { ctx } = context(await viewerOf(p.key), { featureGroup: { name: 'absent', version: 1 } });
    await expect(job().run(ctx)).rejects.toBeInstanceOf(NotFoundError);
  });
});
