import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../../src/errors.ts';
import type { FeatureGroupService } from '../../../src/services/feature-group/feature-group.service.ts';
import { PredictionLog } from '../../../src/services/deployment/prediction-log.ts';
import type { LoggedPrediction } from '../../../src/services/deployment/prediction-log-rows.ts';
import type { Viewer } from '../../../src/services/viewer.ts';
import { createLogger, type Logger } from '../../../src/logger.ts';
import { TempFiles } from '../../../src/stores/artifacts/temp-files.ts';

const viewer: Viewer = { apiKeyId: '', projectId: 'p', projectName: 'proj', scopes: ['WRITE'], serverAdmin: false };
const RAW = ['tenure', 'plan'];
const VECTOR = ['tenure'];

function prediction(i: number): LoggedPrediction {
  return {
    requestId: `req-${i}`,
    entryIndex: 0,
    modelVersion: 1,
    modelName: 'churn',
    loggedAt: Date.UTC(2026, 11, 4) + i,
    trainingDatasetVersion: 1,
    shadow: false,
    entry: { customerid: `c${i}` },
    raw: { features: RAW, values: [i, 'gold'] },
    vector: { features: VECTOR, values: [i / 10] },
    passed: null,
    prediction: i % 2,
    probabilities: null,
  };
}

/** A feature-group service whose inserts fail while `failWith` is set, and otherwise keep each file's data lines. */
function groups() {
  const state = { failWith: null as Error | null, files: [] as string[][], calls: 0 };
  const service = {
    async insert(_viewer: Viewer, group: { name: string }, source: { kind: string; path: string }) {
      state.calls++;
      expect(group.name).toBe('live_predictions');
      if (state.failWith) throw state.failWith;
      state.files.push(readFileSync(source.path, 'utf8').trim().split('\n').slice(1));
      return {};
    },
  } as unknown as FeatureGroupService;
  return { state, service };
}

describe('prediction log queue', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const open = (service: FeatureGroupService) => {
    const dir = mkdtempSync(join(tmpdir(), 'prediction-log-'));
    dirs.push(dir);
    const temp = new TempFiles(dir, 'process');
    return { log: new PredictionLog(service, temp, createLogger({ logLevel: 'silent' })), temp };
  };

  it('keeps rows whose commit failed and writes them, once each, at the next flush', async () => {
    const { state, service } = groups();
    const { log, temp } = open(service);
    const deployment = { id: 'd1', name: 'live' };
    for (let i = 0; i < 300; i++) log.append(viewer, deployment, [prediction(i)]);
    expect(log.queued).toBe(300);
    state.failWith = new Error('disk full');
    await log.flush();
    expect(state.calls).toBe(1);
    expect(log.queued).toBe(300);
    // More rows meanwhile: they go in a file of their own, after the one that failed.
    for (let i = 300; i < 310; i++) log.append(viewer, deployment, [prediction(i)]);
    expect(log.queued).toBe(310);
    state.failWith = null;
    await log.close();
    expect(log.queued).toBe(0);
    const lines = state.files.flat();
    expect(lines).toHaveLength(310);
    expect(new Set(lines.map((l) => l.split('\t')[0])).size).toBe(310);
    expect(lines[0]!.split('\t')[8]).toBe('{"tenure":0,"plan":"gold"}');
    // Files are removed once committed.
    expect(await readdir(temp.dir)).toEqual([]);
  });

  it('reports rows it cannot put in a file as dropped, and its writer goes on', async () => {
    const { state, service } = groups();
    const dir = mkdtempSync(join(tmpdir(), 'prediction-log-'));
    dirs.push(dir);
    // The temporary folder is under a regular file: no file can be opened there.
    writeFileSync(join(dir, 'blocked'), '');
    const errors: string[] = [];
    const logger = { error: (_: unknown, message: string) => errors.push(message), warn: () => undefined } as unknown as Logger;
    const log = new PredictionLog(service, new TempFiles(join(dir, 'blocked'), 'process'), logger);
    log.append(viewer, { id: 'd1', name: 'live' }, [prediction(1), prediction(2)]);
    await log.flush();
    expect(log.queued).toBe(0);
    log.append(viewer, { id: 'd1', name: 'live' }, [prediction(3)]);
    await log.close();
    expect(state.calls).toBe(0);
    expect(errors).toEqual(['prediction log rows could not be written as text; dropped', 'prediction log rows could not be written as text; dropped']);
  });

  it('drops the rows of a deployment whose log group was deleted, and goes on with the others', async () => {
    const { state, service } = groups();
    const { log } = open(service);
    log.append(viewer, { id: 'd1', name: 'live' }, [prediction(1), prediction(2)]);
    state.failWith = new NotFoundError('FeatureGroup', 'live_predictions');
    await log.flush();
    expect(log.queued).toBe(0);
    state.failWith = null;
    log.append(viewer, { id: 'd1', name: 'live' }, [prediction(3)]);
    await log.close();
    expect(state.files).toHaveLength(1);
    expect(state.files[0]).toHaveLength(1);
    expect(state.files[0]![0]).toMatch(/^req-3\t/);
  });
});
