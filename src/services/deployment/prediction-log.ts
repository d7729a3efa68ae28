import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataFrame } from '../../domain/data-frame.ts';
import { ident, sqlString } from '../../domain/sql.ts';
import { ConflictError, NotFoundError } from '../../errors.ts';
import type { Deployment, FeatureGroup } from '../../generated/sqlite/client.ts';
import type { Logger } from '../../logger.ts';
import type { TempFiles } from '../../stores/artifacts/temp-files.ts';
import type { FeatureGroupService } from '../feature-group/feature-group.service.ts';
import type { Viewer } from '../viewer.ts';
import { logGroupName } from './definition.ts';

/**
 * One logged prediction: what was served, from what, and why. The JSON fields are given as CSV
 * fields already (quoted, inner quotes doubled: {@link csvQuoted}, {@link csvJsonObject}), so that a
 * row's kilobytes of vectors are written once, not built as JSON and then escaped again.
 */
export interface PredictionLogRow {
  readonly request_id: string;
  readonly entry_index: number;
  readonly model_version: number;
  readonly logged_at: Date;
  readonly model_name: string;
  readonly training_dataset_version: number | null;
  /** A shadow version's prediction: scored on the same vector, never returned. */
  readonly shadow: boolean;
  /** CSV field of JSON: the entry's serving keys. */
  readonly entity_keys: string;
  /** CSV field of JSON: the feature values as read online (passed features applied), by name. */
  readonly raw_vector: string;
  /** CSV field of JSON: the model's input, by name, as transformed with the training dataset's fitted parameters. */
  readonly transformed_vector: string;
  /** CSV field of JSON: the features `missing` (no online row for their group, or a null value) or `passed`; the others were `present`. */
  readonly feature_status: string;
  /** CSV field of JSON: the prediction (null when the entry was not scored). */
  readonly prediction: string;
  /** CSV field of JSON: class probabilities, or null. */
  readonly probabilities: string | null;
}

/** The log group's features, in order; the primary key is (request_id, entry_index, model_version). */
export const LOG_FEATURES = [
  { name: 'request_id', type: 'STRING', description: 'The predict request (one id per call).' },
  { name: 'entry_index', type: 'INT', description: 'Position of the entry in the request.' },
  { name: 'model_version', type: 'INT', description: 'Model version that scored the entry.' },
  { name: 'logged_at', type: 'TIMESTAMP', description: 'When the prediction was made.' },
  { name: 'model_name', type: 'STRING', description: 'Model name.' },
  { name: 'training_dataset_version', type: 'INT', description: 'Training dataset whose fitted transformations built the vector.' },
  { name: 'shadow', type: 'BOOLEAN', description: 'A shadow version’s prediction: logged, never returned.' },
  { name: 'entity_keys', type: 'STRING', description: 'JSON: the serving keys of the entry.' },
  { name: 'raw_vector', type: 'STRING', description: 'JSON: feature values as read online, passed features applied.' },
  { name: 'transformed_vector', type: 'STRING', description: 'JSON: the model input, transformed.' },
  { name: 'feature_status', type: 'STRING', description: 'JSON: the features missing or passed; the others were present (readLog lists every feature).' },
  { name: 'prediction', type: 'STRING', description: 'JSON: the prediction; null when the entry was not scored.' },
  { name: 'probabilities', type: 'STRING', description: 'JSON: class probabilities, when the model gives them.' },
] as const;

/** Rows waiting to be written are flushed at least this often... */
const FLUSH_MS = 5000;
/** ...or once this many wait for one deployment. */
const FLUSH_ROWS = 20_000;

interface Pending {
  readonly viewer: Viewer;
  readonly group: { readonly name: string; readonly version: number };
  /** CSV lines of the rows, in LOG_FEATURES order. */
  lines: string[];
}

/** The CSV header of a log file: the log group's features in order. */
const CSV_HEADER = LOG_FEATURES.map((f) => f.name).join(',');

/** A text field of a CSV line: quoted, quotes doubled (an unquoted empty field is null). */
export const csvQuoted = (text: string) => `"${text.replaceAll('"', '""')}"`;

/** Per list of feature names: the CSV-quoted JSON text before each value (`{""a"":`, `,""b"":`). */
const csvKeyTexts = new WeakMap<readonly string[], readonly string[]>();

/**
 * The CSV field holding `JSON.stringify` of the object `{ [names[i]]: values[i] }`, built in one
 * pass without the object: the vectors are most of a log row, written for every prediction.
 */
export function csvJsonObject(names: readonly string[], values: readonly unknown[]): string {
  if (names.length === 0) return '"{}"';
  let keys = csvKeyTexts.get(names);
  if (!keys) {
    keys = names.map((n, i) => `${i === 0 ? '{' : ','}${JSON.stringify(n).replaceAll('"', '""')}:`);
    csvKeyTexts.set(names, keys);
  }
  let out = '"';
  for (let i = 0; i < names.length; i++) {
    const v = values[i];
    out += keys[i]!;
    if (typeof v === 'number') out += Number.isFinite(v) ? String(v) : 'null';
    else if (v === undefined || v === null) out += 'null';
    else if (typeof v === 'boolean') out += v ? 'true' : 'false';
    else out += JSON.stringify(v).replaceAll('"', '""');
  }
  return `${out}}"`;
}

/** One log row as a CSV line: the cheapest form to hand to the offline store, which parses it natively. */
function csvLine(row: PredictionLogRow): string {
  return (
    `${csvQuoted(row.request_id)},${row.entry_index},${row.model_version},${row.logged_at.toISOString()},${csvQuoted(row.model_name)},` +
    `${row.training_dataset_version ?? ''},${row.shadow},${row.entity_keys},${row.raw_vector},${row.transformed_vector},${row.feature_status},` +
    `${row.prediction},${row.probabilities ?? ''}`
  );
}

/**
 * The prediction log of deployments: rows are queued in memory by predict (which never waits for
 * them) as CSV lines, and written as one offline commit per deployment every 5 s (or every 20 000
 * rows) from a CSV file, which the offline store parses natively (no per-row work in JS), to an
 * ordinary feature group, `<deployment>_predictions`, so statistics, validation, search and lineage
 * apply to it. A failed write keeps its rows queued for the next flush; `close` writes everything
 * still queued, so a clean stop loses no row of a prediction that was answered.
 */
export class PredictionLog {
  private readonly pending = new Map<string, Pending>();
  private readonly building = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly groups: FeatureGroupService,
    private readonly tempFiles: TempFiles,
    private readonly logger: Logger,
  ) {}

  /**
   * The deployment's log group: created (offline only, event time `logged_at`) when missing. A
   * group of that name that is not a prediction log is a ConflictError naming it.
   */
  async ensureGroup(viewer: Viewer, deployment: string): Promise<FeatureGroup> {
    const name = logGroupName(deployment);
    const existing = await this.groups.find(viewer, { name, version: 1 });
    if (existing) {
      const features = (existing.features as { name: string }[]).map((f) => f.name).join(',');
      if (features !== LOG_FEATURES.map((f) => f.name).join(',')) {
        throw new ConflictError(`feature group ${name} exists and is not a prediction log: rename it, or name the deployment differently`);
      }
      return existing;
    }
    return this.groups.create(viewer, {
      name,
      version: 1,
      description: `Predictions of deployment ${deployment}: served vectors, per-feature status and predictions.`,
      primaryKey: ['request_id', 'entry_index', 'model_version'],
      eventTime: 'logged_at',
      onlineEnabled: false,
      // Written every second: statistics after each commit would reread the whole log as often.
      // They are computed on demand (computeStatistics), or after commits once enabled.
      statisticsConfig: { enabled: false },
      features: LOG_FEATURES.map((f) => ({ ...f })),
    });
  }

  /**
   * Work that will append rows (a prediction's log rows are built after its answer is sent):
   * `flush` and `close` wait for it first, so nothing answered is missed.
   */
  track(work: Promise<void>): void {
    this.building.add(work);
    void work.finally(() => this.building.delete(work));
  }

  /** Queues rows of one deployment (its project's viewer writes them). Never waits for storage. */
  append(viewer: Viewer, deployment: Pick<Deployment, 'id' | 'name'>, rows: readonly PredictionLogRow[]): void {
    if (rows.length === 0) return;
    let pending = this.pending.get(deployment.id);
    if (!pending) {
      pending = { viewer, group: { name: logGroupName(deployment.name), version: 1 }, lines: [] };
      this.pending.set(deployment.id, pending);
    }
    for (const row of rows) pending.lines.push(csvLine(row));
    if (pending.lines.length >= FLUSH_ROWS) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Rows queued and not yet written, across deployments. */
  get queued(): number {
    let n = 0;
    for (const p of this.pending.values()) n += p.lines.length;
    return n;
  }

  /** Writes every queued row now (one commit per deployment); waits for a flush under way first. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.building.size > 0) await Promise.allSettled([...this.building]);
    while (this.flushing) await this.flushing;
    if (this.pending.size === 0) return;
    this.flushing = this.write().finally(() => {
      this.flushing = null;
    });
    await this.flushing;
  }

  private async write(): Promise<void> {
    const batches = [...this.pending.entries()];
    this.pending.clear();
    for (const [id, batch] of batches) {
      const path = join(this.tempFiles.dir, `prediction-log-${randomUUID()}.csv`);
      try {
        await mkdir(this.tempFiles.dir, { recursive: true });
        await writeFile(path, `${CSV_HEADER}\n${batch.lines.join('\n')}\n`);
        await this.groups.insert(
          batch.viewer,
          batch.group,
          { kind: 'file', path, format: 'CSV', name: 'prediction log' },
          {
            operation: 'UPSERT',
            storage: 'OFFLINE',
          },
        );
      } catch (error) {
        if (error instanceof NotFoundError) {
          // The log group was deleted: its deployment logs nothing until logging is enabled again.
          this.logger.warn({ group: batch.group.name, rows: batch.lines.length }, 'prediction log group is gone; rows dropped');
          continue;
        }
        this.logger.error({ err: error, group: batch.group.name, rows: batch.lines.length }, 'could not write prediction log rows; retrying');
        const again = this.pending.get(id);
        if (again) again.lines = [...batch.lines, ...again.lines];
        else this.pending.set(id, batch);
      } finally {
        await this.tempFiles.remove(path);
      }
    }
    if (this.pending.size > 0 && !this.closed) this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Writes what is queued and stops the timer. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  /**
   * Logged rows of a deployment, oldest first: from (inclusive) to (exclusive) by `logged_at`,
   * one model version when given, the first `first` of them (the last, with `newest`). Flushes this process's queue first, so a
   * prediction answered before the call is in the answer.
   */
  async read(
    viewer: Viewer,
    deployment: Pick<Deployment, 'name'>,
    options: { from?: Date | null; to?: Date | null; modelVersion?: number | null; shadow?: boolean | null; first: number; newest?: boolean },
  ): Promise<DataFrame> {
    await this.flush();
    const group = await this.groups.find(viewer, { name: logGroupName(deployment.name), version: 1 });
    if (!group) throw new NotFoundError('FeatureGroup', `${logGroupName(deployment.name)} (deployment ${deployment.name} has logged nothing)`);
    const where: string[] = [];
    if (options.from) where.push(`${ident('logged_at')} >= ${sqlString(options.from.toISOString())}::TIMESTAMPTZ`);
    if (options.to) where.push(`${ident('logged_at')} < ${sqlString(options.to.toISOString())}::TIMESTAMPTZ`);
    if (options.modelVersion != null) where.push(`${ident('model_version')} = ${Math.trunc(options.modelVersion)}`);
    if (options.shadow != null) where.push(`${ident('shadow')} = ${options.shadow ? 'TRUE' : 'FALSE'}`);
    const columns = LOG_FEATURES.map((f) => ({ name: f.name, type: f.type }));
    const list = columns.map((c) => ident(c.name)).join(', ');
    const order = (direction: string) => ['logged_at', 'request_id', 'entry_index', 'model_version'].map((c) => `${ident(c)} ${direction}`).join(', ');
    const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const limit = Math.trunc(options.first);
    // The newest rows are taken newest first, then put back in time order.
    const frame = await this.groups.select(viewer, group, columns, (rows) =>
      options.newest
        ? `SELECT ${list} FROM (SELECT ${list} FROM (${rows}) AS log ${filter} ORDER BY ${order('DESC')} LIMIT ${limit}) AS newest ORDER BY ${order('ASC')}`
        : `SELECT ${list} FROM (${rows}) AS log ${filter} ORDER BY ${order('ASC')} LIMIT ${limit}`,
    );
    return withFullStatus(frame);
  }
}

/**
 * The stored status lists only missing and passed features; readers get every feature of the raw
 * vector, in its order, `present` where the log has nothing to say.
 */
function withFullStatus(frame: DataFrame): DataFrame {
  const rawAt = frame.columns.findIndex((c) => c.name === 'raw_vector');
  const statusAt = frame.columns.findIndex((c) => c.name === 'feature_status');
  const rows = frame.rows.map((row) => {
    const raw = parseObject(row[rawAt]);
    const stored = parseObject(row[statusAt]);
    if (raw === null || stored === null) return row;
    const status: Record<string, unknown> = {};
    for (const name of Object.keys(raw)) status[name] = stored[name] ?? 'present';
    const out = [...row];
    out[statusAt] = JSON.stringify(status);
    return out;
  });
  return { ...frame, rows };
}

function parseObject(text: unknown): Record<string, unknown> | null {
  if (typeof text !== 'string') return null;
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
