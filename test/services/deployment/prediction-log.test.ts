import { describe, expect, it, vi } from 'vitest';
import { NotFoundError } from '../../../src/errors.ts';
import type { FeatureGroupService } from '../../../src/services/feature-group/feature-group.service.ts';
import { type LogLayouts, PredictionLog } from '../../../src/services/deployment/prediction-log.ts';
import { LOG_FEATURES, type LoggedPrediction } from '../../../src/services/deployment/prediction-log-rows.ts';
import type { Viewer } from '../../../src/services/viewer.ts';
import { createLogger } from '../../../src/logger.ts';

const viewer: Viewer = { apiKeyId: '', projectId: 'p', projectName: 'proj', scopes: ['WRITE'], serverAdmin: false };
const RAW = ['tenure', 'plan'];
const VECTOR = ['min_max_scaler_tenure_', 'plan'];

function prediction(i: number, modelVersion = 1): LoggedPrediction {
  return {
    requestId: `req-${i}`,
    entryIndex: 0,
    modelVersion,
    modelName: 'churn',
    loggedAt: Date.UTC(2026, 11, 4) + i,
    trainingDatasetVersion: 1,
    shadow: false,
    entry: { customerid: `c${i}` },
    raw: { features: RAW, values: [i, 'gold'] },
    vector: { features: VECTOR, values: [i / 10, 'gold'] },
    passed: null,
    prediction: i % 2,
    probabilities: null,
  };
}

const layouts: LogLayouts = async () => ({
  raw: [
    { name: 'tenure', type: 'INT' },
    { name: 'plan', type: 'STRING' },
  ],
  transformed: [
    { name: 'min_max_scaler_tenure_', type: 'DOUBLE' },
    { name: 'plan', type: 'STRING' },
  ],
});

/**
 * A feature-group service of one log group: inserts fail while `failWith` is set, else keep their
 * rows (request ids); appended features join the group's.
 */
function groups() {
  const state = {
    failWith: null as Error | null,
    requests: [] as string[][],
    calls: 0,
    features: LOG_FEATURES.map((f) => ({ name: f.name as string, type: f.type as string })),
    appended: [] as { name: string; type: string }[][],
  };
  const service = {
    async get() {
      return { features: state.features };
    },
    async update(_viewer: Viewer, _group: unknown, input: { appendFeatures: { name: string; type: string }[] }) {
      state.appended.push(input.appendFeatures.map(({ name, type }) => ({ name, type })));
      state.features.push(...input.appendFeatures);
      return {};
    },
    async insert(_viewer: Viewer, group: { name: string }, source: { kind: string; names: string[]; values: unknown[][] }) {
      state.calls++;
      expect(group.name).toBe('live_predictions');
      expect(source.kind).toBe('columns');
      // Every column the rows hold is a feature of the group by now.
      expect(source.names.every((n) => state.features.some((f) => f.name === n))).toBe(true);
      if (state.failWith) throw state.failWith;
      state.requests.push([...(source.values[0] as string[])]);
      return {};
    },
  } as unknown as FeatureGroupService;
  return { state, service };
}

const open = (service: FeatureGroupService) => new PredictionLog(service, layouts, createLogger({ logLevel: 'silent' }));

describe('prediction log queue', () => {
  it('appends the served features to the group, typed as the view serves them, before the first rows that hold them', async () => {
    const { state, service } = groups();
    const log = open(service);
    log.append(viewer, { id: 'd1', name: 'live' }, [prediction(1)]);
    await log.flush();
    expect(state.appended).toEqual([
      [
        { name: 'tenure', type: 'INT' },
        { name: 'plan', type: 'STRING' },
        { name: 'min_max_scaler_tenure_', type: 'DOUBLE' },
      ],
    ]);
    log.append(viewer, { id: 'd1', name: 'live' }, [prediction(2)]);
    await log.close();
    // Nothing new to append the second time.
    expect(state.appended).toHaveLength(1);
    expect(state.requests).toEqual([['req-1'], ['req-2']]);
  });

  it('runs work queued with later after the current turn, and flush waits for it, also for its promise; a failing task is logged and the others run', async () => {
    const { state, service } = groups();
    const logger = createLogger({ logLevel: 'silent' });
    const error = vi.spyOn(logger, 'error');
    const log = new PredictionLog(service, layouts, logger);
    const deployment = { id: 'd1', name: 'live' };
    const ran: string[] = [];
    log.later('live', () => {
      ran.push('first');
      log.append(viewer, deployment, [prediction(1)]);
    });
    log.later('live', () => {
      throw new Error('scoring the shadow failed');
    });
    log.later('live', async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      ran.push('third');
      log.append(viewer, deployment, [prediction(3)]);
    });
    // Nothing runs on the turn that queued it (the answer is written first).
    expect(ran).toEqual([]);
    await log.flush();
    expect(ran).toEqual(['first', 'third']);
    expect(state.requests).toEqual([['req-1', 'req-3']]);
    expect(error).toHaveBeenCalledTimes(1);
    expect(error.mock.calls[0]).toEqual([expect.objectContaining({ deployment: 'live' }), 'could not log predictions']);
    await log.close();
  });

  it('keeps rows whose commit failed and writes them, once each, at the next flush', async () => {
    const { state, service } = groups();
    const log = open(service);
    const deployment = { id: 'd1', name: 'live' };
    for (let i = 0; i < 300; i++) log.append(viewer, deployment, [prediction(i)]);
    expect(log.queued).toBe(300);
    state.failWith = new Error('disk full');
    await log.flush();
    expect(state.calls).toBe(1);
    expect(log.queued).toBe(300);
    // More rows meanwhile: they go in a batch of their own, after the one that failed.
    for (let i = 300; i < 310; i++) log.append(viewer, deployment, [prediction(i)]);
    expect(log.queued).toBe(310);
    state.failWith = null;
    await log.close();
    expect(log.queued).toBe(0);
    const ids = state.requests.flat();
    expect(ids).toHaveLength(310);
    expect(new Set(ids).size).toBe(310);
    expect(state.requests.map((r) => r.length)).toEqual([300, 10]);
  });

  it('drops the rows of a deployment whose log group was deleted, and goes on with the others', async () => {
    const { state, service } = groups();
    const log = open(service);
    log.append(viewer, { id: 'd1', name: 'live' }, [prediction(1), prediction(2)]);
    state.failWith = new NotFoundError('FeatureGroup', 'live_predictions');
    await log.flush();
    expect(log.queued).toBe(0);
    state.failWith = null;
    log.append(viewer, { id: 'd1', name: 'live' }, [prediction(3)]);
    await log.close();
    expect(state.requests).toEqual([['req-3']]);
  });

  it('reads rows back with their vectors as JSON objects in the served order, every raw feature’s status, and what a gone version logged', async () => {
    const columns = [
      ...LOG_FEATURES.map((f) => ({ name: f.name as string, type: f.type as string })),
      { name: 'tenure', type: 'INT' },
      { name: 'plan', type: 'STRING' },
    ];
    columns.push({ name: 'min_max_scaler_tenure_', type: 'DOUBLE' });
    const row = (id: string, version: number, tenure: number | null) => [
      id,
      0,
      version,
      '2026-12-04T00:00:00.000000Z',
      'churn',
      1,
      false,
      '{"customerid":"c1"}',
      tenure === null ? '{"tenure":"missing"}' : '{}',
      '1',
      null,
      tenure,
      'gold',
      tenure === null ? null : tenure / 10,
    ];
    const service = {
      async find() {
        return { features: columns };
      },
      async select(_viewer: Viewer, _group: unknown, asked: { name: string }[]) {
        expect(asked.map((c) => c.name)).toEqual(columns.map((c) => c.name));
        return { columns, rows: [row('r1', 1, 5), row('r2', 1, null), row('r3', 9, 7)] };
      },
    } as unknown as FeatureGroupService;
    // Version 9 is gone: the layout cannot be read.
    const known: LogLayouts = async (viewer, model) => (model.version === 9 ? null : layouts(viewer, model));
    const log = new PredictionLog(service, known, createLogger({ logLevel: 'silent' }));
    const frame = await log.read(viewer, { name: 'live' }, { first: 10 });
    const names = frame.columns.map((c) => c.name);
    expect(names).toEqual([...LOG_FEATURES.slice(0, 8).map((f) => f.name), 'raw_vector', 'transformed_vector', ...LOG_FEATURES.slice(8).map((f) => f.name)]);
    const records = frame.rows.map((r) => Object.fromEntries(names.map((n, i) => [n, r[i]])));
    expect(records[0]!.raw_vector).toBe('{"tenure":5,"plan":"gold"}');
    expect(records[0]!.transformed_vector).toBe('{"min_max_scaler_tenure_":0.5,"plan":"gold"}');
    expect(records[0]!.feature_status).toBe('{"tenure":"present","plan":"present"}');
    expect(records[1]!.raw_vector).toBe('{"tenure":null,"plan":"gold"}');
    expect(records[1]!.feature_status).toBe('{"tenure":"missing","plan":"present"}');
    // A version whose layout is gone: every vector column the row has a value in.
    expect(JSON.parse(records[2]!.raw_vector as string)).toEqual({ tenure: 7, plan: 'gold', min_max_scaler_tenure_: 0.7 });
  });
});
