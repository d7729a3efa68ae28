import { describe, expect, it } from 'vitest';
import type { Commit, FeatureGroup } from '../../../src/generated/sqlite/client.ts';
import { createLogger } from '../../../src/logger.ts';
import { statisticsOnCommit } from '../../../src/services/statistics/statistics-on-commit.ts';
import type { Viewer } from '../../../src/services/viewer.ts';

// A stream of commits (small inserts, materialized log ranges) starts statistics runs at most once
// per spacing per group, and the run after a burst is started for its newest commit's caller.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function fakeJobs() {
  const runs: { name: string; viewer: string; at: number }[] = [];
  return {
    runs,
    jobs: {
      create: async () => ({}) as never,
      runCoalesced: async (viewer: Viewer, name: string) => {
        runs.push({ name, viewer: viewer.apiKeyId, at: Date.now() });
        return null;
      },
    },
  };
}

const group = (id: string, enabled = true) => ({ id, name: `g${id}`, version: 1, statisticsConfig: { enabled } }) as unknown as FeatureGroup;
const viewer = (apiKeyId: string) => ({ apiKeyId }) as unknown as Viewer;
const commit = {} as Commit;

describe('statistics after commits', () => {
  it('runs at once after a quiet spell, then once per spacing for a burst, for the newest commit', async () => {
    const { runs, jobs } = fakeJobs();
    const onCommit = statisticsOnCommit(jobs, createLogger({ logLevel: 'silent' }), 200);
    const start = Date.now();
    await onCommit(viewer('k0'), group('a'), commit);
    expect(runs.map((r) => r.viewer)).toEqual(['k0']);
    for (let i = 1; i <= 10; i++) await onCommit(viewer(`k${i}`), group('a'), commit);
    expect(runs).toHaveLength(1);
    for (let waited = 0; runs.length < 2 && waited < 5000; waited += 20) await sleep(20);
    expect(runs.map((r) => r.viewer)).toEqual(['k0', 'k10']);
    expect(runs[1]!.at - start).toBeGreaterThanOrEqual(190);
    // Another group is not held back by this one, and a disabled group never runs.
    await onCommit(viewer('b'), group('b'), commit);
    await onCommit(viewer('c'), group('c', false), commit);
    expect(runs.map((r) => r.name)).toEqual(['ga_1_compute_stats', 'ga_1_compute_stats', 'gb_1_compute_stats']);
    // Quiet for longer than the spacing: the next commit runs at once again.
    await sleep(250);
    await onCommit(viewer('k11'), group('a'), commit);
    expect(runs.at(-1)!.viewer).toBe('k11');
  });
});
