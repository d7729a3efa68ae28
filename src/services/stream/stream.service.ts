import { OverloadedError, ValidationError } from '../../errors.ts';
import type { Commit, FeatureGroup } from '../../generated/sqlite/client.ts';
import type { Logger } from '../../logger.ts';
import type { GranaryPubSub } from '../../pubsub.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import type { Consumer, StreamLog } from '../../stores/log/stream-log.ts';
import type { FeatureGroupRef, FeatureGroupService } from '../feature-group/feature-group.service.ts';
import { checkJsonDepth } from '../json-limits.ts';
import type { Viewer } from '../viewer.ts';
import { StreamApplier, type Applied } from './applier.ts';
import { StreamReadings } from './freshness.ts';
import { StreamMaterializer } from './materializer.ts';
import { coerceMessage, messageOf } from '../../domain/stream-message.ts';
import type { MessageApplier } from './apply-messages.ts';
import { StreamGroups, streamGroup, type StreamGroup } from './stream-groups.ts';
import { APPLY_CONSUMER, MAX_MESSAGE_BYTES, StreamNames } from './subjects.ts';

export type IngestWait = 'ACCEPTED' | 'ONLINE' | 'OFFLINE';

export interface IngestResult {
  /** The group the rows went to. */
  readonly group: FeatureGroup;
  readonly accepted: number;
  /** True when the idempotency key was seen before: nothing was appended again. */
  readonly duplicate: boolean;
  /** The log position of the (last) message holding the rows. */
  readonly sequence: number;
  /** When the rows were applied (online for an online-enabled group), under waitFor ONLINE or OFFLINE. */
  readonly onlineAt: Date | null;
  /** The offline commit holding the rows, under waitFor OFFLINE. */
  readonly commit: Commit | null;
}

export interface StreamOptions {
  /** Messages the apply consumer may be behind before ingests are refused (OverloadedError). */
  readonly maxPending: number;
  /** How often the materializer looks for due groups. */
  readonly materializeTickMs: number;
  /** How long an ingest waits for ONLINE or OFFLINE before it answers without them. */
  readonly waitTimeoutMs: number;
  /** Prefix of stream and subject names (see StreamNames). */
  readonly namespace: string;
  /** The identity a project's streamed commits are made as. */
  readonly viewerOf: (projectId: string, projectName: string) => Promise<Viewer>;
}

/** Most rows per ingest request. */
export const MAX_INGEST_ROWS = 10_000;
/** How long an ingest reuses the group it looked up. */
const GROUP_FRESH_MS = 1000;
/** How long a consumer-lag reading is reused by the overload check. */
const LAG_CACHE_MS = 100;
/** How long a reading of the apply consumer's ack floor serves the ingests waiting for ONLINE. */
const FLOOR_CACHE_MS = 25;

/**
 * Streaming ingestion: rows checked on the request and appended to the project's log (`ingest`),
 * applied from it by the apply consumer every process runs (StreamApplier), and materialized into
 * offline commits (StreamMaterializer). Starts a consumer for every project and for projects
 * created later (looked for every few seconds and on each ingest).
 */
export class StreamService {
  readonly applier: StreamApplier;
  /** The deployment's stream and subject names. */
  readonly names: StreamNames;
  readonly materializer: StreamMaterializer;
  /** Freshness, dead letters and the ingestion feed, for the API. */
  readonly readings: StreamReadings;
  private readonly groups: StreamGroups;
  private readonly consumers = new Map<string, Consumer>();
  private readonly coercers = new Map<string, StreamGroup>();
  private readonly lag = new Map<string, { at: number; pending: number }>();
  private readonly recent = new Map<string, { at: number; group: FeatureGroup }>();
  private readonly floors = new Map<string, { at: number; floor: Promise<number> }>();
  private scan: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly prisma: MetadataClient,
    private readonly log: StreamLog,
    /** Checks the log's messages and writes their rows online, for the apply consumer. */
    messages: MessageApplier,
    private readonly featureGroups: FeatureGroupService,
    private readonly pubsub: GranaryPubSub,
    private readonly logger: Logger,
    private readonly options: StreamOptions,
  ) {
    this.names = new StreamNames(options.namespace);
    this.groups = new StreamGroups(prisma, this.names);
    this.applier = new StreamApplier(prisma, messages, this.groups, logger);
    this.materializer = new StreamMaterializer(prisma, log, featureGroups, logger, options.materializeTickMs, options.viewerOf, this.names);
    this.readings = new StreamReadings(prisma, log, featureGroups, pubsub, this.names);
    this.applier.applied.on('applied', (applied) => this.announce(applied));
  }

  /** Starts the apply consumers of every project and the materializer. */
  async start(): Promise<void> {
    await this.watchProjects();
    this.materializer.start();
    const rescan = () => {
      this.scan = setTimeout(() => {
        this.watchProjects()
          .catch((error: unknown) => this.logger.warn({ err: error }, 'could not start stream consumers'))
          .finally(() => {
            if (!this.closed) rescan();
          });
      }, 5000);
      this.scan.unref();
    };
    rescan();
  }

  private async watchProjects(): Promise<void> {
    const projects = await this.prisma.project.findMany({ where: { featureGroups: { some: { dataSourceId: null } } }, select: { name: true } });
    for (const p of projects) await this.watch(p.name);
  }

  /**
   * Ensures the project's stream and that this process consumes it (a feature group was created:
   * producers may publish to its subject at once). Failures are logged: the ingest path retries.
   */
  async prepare(projectName: string): Promise<void> {
    await this.watch(projectName).catch((error: unknown) => this.logger.warn({ err: error }, 'could not prepare the ingestion log of a project'));
  }

  /** Ensures the project's stream and consumes it under the apply consumer (once per process). */
  private async watch(projectName: string): Promise<void> {
    if (this.closed || this.consumers.has(projectName)) return;
    const stream = this.names.stream(projectName);
    await this.log.ensure(stream, this.names.prefix(projectName));
    if (this.consumers.has(projectName)) return;
    this.consumers.set(
      projectName,
      this.log.consume({
        stream,
        name: APPLY_CONSUMER,
        batch: 500,
        handle: (messages) => this.applier.apply(projectName, messages),
        onError: (error) => this.logger.error({ err: error, stream }, 'applying streamed rows failed; the batch is delivered again'),
      }),
    );
  }

  /**
   * Checks rows against the group's schema and appends them to its subject of the project's log.
   * A refused row refuses the request (ValidationError naming it) and appends nothing. With an
   * `idempotencyKey` seen before, nothing is appended again (`duplicate`). Then waits as asked:
   * ACCEPTED (durably in the log), ONLINE (applied: readable by `featureVector` for an online-enabled
   * group) or OFFLINE (in an offline commit, materialized now).
   */
  async ingest(viewer: Viewer, ref: FeatureGroupRef, rows: readonly unknown[], idempotencyKey: string | null, waitFor: IngestWait): Promise<IngestResult> {
    if (rows.length === 0) throw ValidationError.at(['rows'], 'give at least one row');
    if (rows.length > MAX_INGEST_ROWS) throw ValidationError.at(['rows'], `at most ${MAX_INGEST_ROWS} rows per request; split them`);
    if (idempotencyKey !== null && (idempotencyKey.length === 0 || idempotencyKey.length > 200)) {
      throw ValidationError.at(['idempotencyKey'], 'an idempotency key has 1–200 characters');
    }
    checkJsonDepth(rows, ['rows']);
    const group = await this.groupOf(viewer, ref);
    const target = this.target(viewer.projectName, group);
    const coerced = coerceMessage(target.coerce, rows);
    if ('message' in coerced) throw new ValidationError(coerced.message, [coerced]);
    const names = target.table.schema.features.map((f) => f.name);
    const objects = coerced.map((r) => {
      const row: Record<string, unknown> = {};
      for (let i = 0; i < names.length; i++) if (r.values[i] !== null) row[names[i]!] = r.values[i];
      return row;
    });
    const data = messageOf(objects);
    if (data.byteLength > MAX_MESSAGE_BYTES)
      throw ValidationError.at(['rows'], `the rows take ${data.byteLength} bytes, more than ${MAX_MESSAGE_BYTES}; send fewer per request`);
    await this.watch(viewer.projectName);
    const stream = this.names.stream(viewer.projectName);
    await this.checkLag(stream);
    const { sequence, duplicate } = await this.log.append(stream, this.names.subject(viewer.projectName, group), data, idempotencyKey ?? undefined);
    const result = { group, accepted: rows.length, duplicate, sequence, onlineAt: null, commit: null };
    if (waitFor === 'ACCEPTED') return result;
    const onlineAt = await this.waitApplied(stream, group.id, sequence);
    if (waitFor === 'ONLINE' || onlineAt === null) return { ...result, onlineAt };
    return { ...result, onlineAt, commit: await this.waitCommitted(group.id, sequence) };
  }

  /**
   * The group an ingest names, read again at most every GROUP_FRESH_MS per group and key: a stream
   * sends many small requests to one group. A feature appended meanwhile is known to the apply
   * consumer, which looks again before it sets a message aside.
   */
  private async groupOf(viewer: Viewer, ref: FeatureGroupRef): Promise<FeatureGroup> {
    const key = `${viewer.projectId}\u0000${ref.name}\u0000${ref.version ?? ''}`;
    const hit = this.recent.get(key);
    if (hit && Date.now() - hit.at < GROUP_FRESH_MS) return hit.group;
    const group = await this.featureGroups.get(viewer, ref);
    if (this.recent.size > 1000) this.recent.clear();
    this.recent.set(key, { at: Date.now(), group });
    return group;
  }

  /** The group's row coercer (cached per schema), refusing groups that cannot stream. */
  private target(projectName: string, group: FeatureGroup): StreamGroup {
    if (group.dataSourceId !== null) {
      throw ValidationError.at(
        ['featureGroup'],
        `feature group ${group.name} version ${group.version} is external: its rows live in its data source; write them there`,
      );
    }
    if ((group.features as unknown[]).length === 0) {
      throw ValidationError.at(
        ['featureGroup'],
        `feature group ${group.name} version ${group.version} has no features yet: define them, or insert once so they are inferred`,
      );
    }
    const key = `${group.id}:${group.updatedAt.getTime()}`;
    let target = this.coercers.get(key);
    if (!target) {
      if (this.coercers.size > 1000) this.coercers.clear();
      target = streamGroup(projectName, group);
      this.coercers.set(key, target);
    }
    return target;
  }

  /** Refuses the ingest (OverloadedError) while the apply consumer is more than `maxPending` messages behind. */
  private async checkLag(stream: string): Promise<void> {
    let reading = this.lag.get(stream);
    if (!reading || Date.now() - reading.at > LAG_CACHE_MS) {
      const { pending } = await this.log.consumerState(stream, APPLY_CONSUMER);
      reading = { at: Date.now(), pending };
      this.lag.set(stream, reading);
    }
    if (reading.pending > this.options.maxPending) {
      throw new OverloadedError(
        `ingestion of project ${stream.slice(this.names.namespace.length + 1)} is behind by ${reading.pending} messages; retry shortly`,
        250,
      );
    }
  }

  /**
   * Resolves with when the apply consumer handled `sequence` of the group, or null after the wait
   * timeout: when a batch of this process held it, or once the consumer's ack floor (every message
   * up to it handled, by any process) reaches it. Not the group's `appliedSequence`: that is the
   * highest sequence applied, and batches of processes sharing the consumer (or delivered again
   * after a kill) are applied out of order, so a message below it may not be applied yet.
   */
  private waitApplied(stream: string, groupId: string, sequence: number): Promise<Date | null> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (at: Date | null) => {
        if (done) return;
        done = true;
        this.applier.applied.off('applied', onApplied);
        clearInterval(poll);
        clearTimeout(timeout);
        resolve(at);
      };
      const onApplied = (a: Applied) => {
        if (a.groupId === groupId && a.sequences.includes(sequence)) finish(new Date());
      };
      this.applier.applied.on('applied', onApplied);
      const check = () =>
        this.ackFloor(stream)
          .then(async (floor) => {
            if (floor < sequence) return;
            const p = await this.prisma.streamProgress.findUnique({ where: { featureGroupId: groupId }, select: { lastOnlineWriteMs: true } });
            finish(p?.lastOnlineWriteMs == null ? new Date() : new Date(Number(p.lastOnlineWriteMs)));
          })
          .catch(() => undefined);
      // In this process the event comes first; the poll catches another process's apply (and one that ended before the listener was added).
      const poll = setInterval(check, 50);
      const timeout = setTimeout(() => finish(null), this.options.waitTimeoutMs);
    });
  }

  /** The apply consumer's ack floor, one reading shared by the waiters of a stream for FLOOR_CACHE_MS. */
  private ackFloor(stream: string): Promise<number> {
    const reading = this.floors.get(stream);
    if (reading && Date.now() - reading.at < FLOOR_CACHE_MS) return reading.floor;
    const floor = this.log.consumerState(stream, APPLY_CONSUMER).then((s) => s.ackFloor);
    this.floors.set(stream, { at: Date.now(), floor });
    return floor;
  }

  /** The offline commit holding `sequence` of the group, materialized now; null after the wait timeout. */
  private async waitCommitted(groupId: string, sequence: number): Promise<Commit | null> {
    const deadline = Date.now() + this.options.waitTimeoutMs;
    while (Date.now() < deadline) {
      await this.materializer.flush(groupId);
      const commit = await this.prisma.commit.findFirst({
        where: { featureGroupId: groupId, logFrom: { lte: BigInt(sequence) }, logTo: { gte: BigInt(sequence) } },
      });
      if (commit) return commit;
      const progress = await this.prisma.streamProgress.findUnique({ where: { featureGroupId: groupId } });
      // Dead-lettered after all (the schema changed since the check): in no commit.
      if (progress && progress.materializedSequence >= BigInt(sequence)) return null;
      await new Promise((r) => setTimeout(r, 25));
    }
    return null;
  }

  /**
   * Removes a deleted group's messages from the log, so that a group created later with the same
   * name and version starts from an empty subject. Failures are logged: the group is gone either way.
   */
  async forget(projectName: string, group: FeatureGroup): Promise<void> {
    if (group.dataSourceId !== null) return;
    this.applier.forget(group.id);
    this.recent.clear();
    try {
      await this.log.ensure(this.names.stream(projectName), this.names.prefix(projectName));
      await this.log.trim(this.names.stream(projectName), this.names.subject(projectName, group));
    } catch (error) {
      this.logger.warn({ err: error, group: group.name }, "could not remove a deleted group's messages from the ingestion log");
    }
  }

  private announce(applied: Applied): void {
    this.pubsub.publish('ingestionUpdated', applied.projectId, { featureGroupId: applied.groupId, sequence: applied.sequence, rows: applied.rows });
  }

  /** Stops the consumers and the materializer (a batch being applied or committed finishes first). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.scan) clearTimeout(this.scan);
    await Promise.allSettled([...this.consumers.values()].map((c) => c.stop()));
    this.consumers.clear();
    await this.materializer.stop();
  }
}
