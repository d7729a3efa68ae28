import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { z } from 'zod';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import type { AlertDelivery, AlertReceiver, AlertRoute, Prisma } from '../../generated/sqlite/client.ts';
import type { Logger } from '../../logger.ts';
import type { SecretBox } from '../../secret-box.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import type { RegistryEventsService } from '../registry-events.service.ts';
import { parseInput } from '../validation.ts';
import type { Viewer } from '../viewer.ts';
import { ALERT_EVENT_TYPES, ALERT_SUBJECT_KINDS, type AlertEvent, type AlertSink } from './alert-event.ts';
import { HostPolicy, postOnce, RefusedHostError, retryAfterMs, signBody } from './webhook.ts';
import { jsonInput } from '../json-columns.ts';

export type AlertDeliveryState = 'PENDING' | 'DELIVERED' | 'FAILED';

/** The event type of deliveries sent by `testReceiver`. */
export const TEST_EVENT_TYPE = 'TEST';

export interface AlertServiceOptions {
  /** Host names or addresses allowed besides loopback. */
  readonly allowedHosts: readonly string[];
  /** Attempts per delivery before it is FAILED. */
  readonly maxAttempts: number;
  /** Delay before the first retry; doubled per retry, with jitter, capped at `maxDelayMs`. */
  readonly retryBaseMs: number;
  /** One attempt's limit (connect + response head). */
  readonly timeoutMs: number;
  /** Longest delay between attempts, Retry-After included. Default: one hour. */
  readonly maxDelayMs?: number;
  /** How often an idle worker looks for deliveries recorded by other processes. Default: 2 s. */
  readonly idlePollMs?: number;
}

/** The JSON document POSTed to a receiver. */
export interface AlertPayload {
  /** The event's id: the same for every receiver that gets it. */
  readonly id: string;
  readonly type: string;
  readonly project: string;
  /** What it is about; null for TEST events. */
  readonly subject: AlertEvent['subject'] | null;
  readonly message: string;
  readonly details: Record<string, unknown>;
  /** When the event was raised (ISO 8601). */
  readonly at: string;
}

/** How one attempt ended. */
type Outcome =
  | { readonly kind: 'delivered'; readonly status: number }
  | { readonly kind: 'retry'; readonly status?: number; readonly error: string; readonly retryAfterMs?: number }
  | { readonly kind: 'fail'; readonly status?: number; readonly error: string }
  | { readonly kind: 'aborted' };

const NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;

const createReceiverInput = z.object({
  name: z.string().regex(NAME, 'letters, digits, _, . and -, starting with a letter, at most 63 characters'),
  webhookUrl: z.string().trim().min(1, 'must not be empty').max(2000),
  secret: z.string().min(16, 'must be at least 16 characters').max(1000),
  description: z.string().max(10_000).nullish(),
});
export type CreateAlertReceiverInput = z.input<typeof createReceiverInput>;

const createRouteInput = z.object({
  receiver: z.string().min(1, 'must not be empty'),
  eventTypes: z
    .array(z.enum(ALERT_EVENT_TYPES as [AlertEvent['type'], ...AlertEvent['type'][]]))
    .min(1, 'give at least one event type'),
  subject: z
    .object({
      kind: z.enum(ALERT_SUBJECT_KINDS as [AlertEvent['subject']['kind'], ...AlertEvent['subject']['kind'][]]),
      name: z.string().trim().min(1, 'must not be empty').max(200),
      version: z.number().int().positive().nullish(),
    })
    .nullish(),
  enabled: z.boolean().nullish(),
});
export type CreateAlertRouteInput = z.input<typeof createRouteInput>;

/** Keeps the claim of a delivery this long past its attempt's timeout, then another process may retry it. */
const LEASE_MARGIN_MS = 30_000;
/** Due deliveries claimed per round. */
const BATCH = 50;
/** `lastError` is cut to this length. */
const MAX_ERROR = 500;

/**
 * Alert receivers (webhooks), routes (which events go where) and deliveries.
 *
 * `raise` records one PENDING delivery per receiver whose routes match the event, then a worker
 * POSTs each as signed JSON, retrying network errors, timeouts, 5xx and 429 with exponential
 * backoff and jitter (Retry-After honoured) up to `maxAttempts`, then FAILED; any other 4xx, a 3xx
 * or a refused host fails at once. Deliveries are claimed with a conditional update on
 * `(state, nextAttemptAt)`, so with several processes on one database each attempt is made by one,
 * and pending ones are resumed by `start()` after a restart. Delivery is at least once: receivers
 * deduplicate by the `X-Granary-Delivery` id.
 */
export class AlertService implements AlertSink {
  private readonly policy: HostPolicy;
  private readonly maxDelayMs: number;
  private readonly idlePollMs: number;
  /** Recording in progress (awaited by `stop`, so an accepted event is stored before the database closes). */
  private readonly recording = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly projectNames = new Map<string, string>();
  private loop: Promise<void> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private kicked = false;

  constructor(
    private readonly prisma: MetadataClient,
    private readonly events: RegistryEventsService,
    private readonly secrets: SecretBox,
    private readonly logger: Logger,
    private readonly options: AlertServiceOptions,
  ) {
    this.policy = new HostPolicy(options.allowedHosts);
    // Every attempt in flight listens on the one stop signal.
    setMaxListeners(0, this.abort.signal);
    this.maxDelayMs = options.maxDelayMs ?? 3_600_000;
    this.idlePollMs = options.idlePollMs ?? 2000;
  }

  // ---------------------------------------------------------------- raising

  /** Records the event's deliveries and wakes the worker. Never throws, never waits. */
  raise(projectId: string, event: AlertEvent): void {
    if (this.stopped) {
      this.logger.warn({ projectId, type: event?.type }, 'alert raised after the alert service stopped; dropped');
      return;
    }
    const at = new Date();
    const recorded = this.record(projectId, event, at)
      .then((count) => {
        if (count > 0) this.start();
      })
      .catch((error: unknown) => this.logger.error({ err: error, projectId, type: event?.type }, 'could not record alert deliveries'))
      .finally(() => this.recording.delete(recorded));
    this.recording.add(recorded);
  }

  /**
   * Stores one PENDING delivery per receiver whose enabled routes match (one per receiver even when
   * several of its routes match). Resolves to the number recorded.
   */
  async record(projectId: string, event: AlertEvent, at = new Date()): Promise<number> {
    if (!ALERT_EVENT_TYPES.includes(event.type)) throw new Error(`unknown alert event type ${String(event.type)}`);
    const routes = await this.prisma.alertRoute.findMany({ where: { projectId, enabled: true }, orderBy: { id: 'asc' } });
    const byReceiver = new Map<string, AlertRoute>();
    for (const route of routes) {
      if (!byReceiver.has(route.receiverId) && routeMatches(route, event)) byReceiver.set(route.receiverId, route);
    }
    if (byReceiver.size === 0) return 0;
    const projectName = await this.projectName(projectId);
    const payload: AlertPayload = {
      id: randomUUID(),
      type: event.type,
      project: projectName,
      subject: { kind: event.subject.kind, name: event.subject.name, version: event.subject.version ?? null },
      message: event.message,
      details: JSON.parse(JSON.stringify(event.details ?? {})) as Record<string, unknown>,
      at: at.toISOString(),
    };
    const rows = [...byReceiver.values()].map((route) => ({
      projectId,
      receiverId: route.receiverId,
      routeId: route.id,
      eventType: event.type,
      payload: jsonInput(payload),
      state: 'PENDING',
      nextAttemptAt: at,
    }));
    // A receiver deleted since the routes were read cascades its routes away: create one by one
    // and skip those, so the others still get the event.
    let count = 0;
    for (const data of rows) {
      try {
        await this.prisma.alertDelivery.create({ data });
        count++;
      } catch (error) {
        if ((error as { code?: string }).code !== 'P2003') throw error;
      }
    }
    return count;
  }

  /** Project names never change; cached per process. */
  private async projectName(projectId: string): Promise<string> {
    let name = this.projectNames.get(projectId);
    if (name === undefined) {
      name = (await this.prisma.project.findUniqueOrThrow({ where: { id: projectId }, select: { name: true } })).name;
      this.projectNames.set(projectId, name);
    }
    return name;
  }

  // ---------------------------------------------------------------- receivers and routes

  /** Creates a receiver; its webhook host must be allowed, and its secret is stored sealed. */
  async createReceiver(viewer: Viewer, raw: CreateAlertReceiverInput): Promise<AlertReceiver> {
    const input = parseInput(createReceiverInput, raw);
    const refused = this.policy.refuseUrl(input.webhookUrl);
    if (refused) throw ValidationError.at(['input', 'webhookUrl'], refused);
    const existing = await this.prisma.alertReceiver.findUnique({ where: { projectId_name: { projectId: viewer.projectId, name: input.name } } });
    if (existing) throw new ConflictError(`alert receiver ${input.name} exists; delete it first to change it`);
    try {
      return await this.events.change(viewer.projectId, async (tx) => {
        const value = await tx.alertReceiver.create({
          data: {
            projectId: viewer.projectId,
            name: input.name,
            description: input.description ?? '',
            webhookUrl: input.webhookUrl,
            sealedSecret: this.secrets.seal(input.secret),
          },
        });
        return { value, change: { kind: 'AlertReceiver', objectId: value.id, name: value.name, action: 'CREATED' } };
      });
    } catch (error) {
      if ((error as { code?: string }).code === 'P2002') throw new ConflictError(`alert receiver ${input.name} exists`);
      throw error;
    }
  }

  /** Deletes a receiver with its routes and deliveries (pending ones are never sent). */
  async deleteReceiver(viewer: Viewer, name: string): Promise<AlertReceiver> {
    const receiver = await this.findReceiver(viewer, name);
    return this.events.change(viewer.projectId, async (tx) => {
      const value = await tx.alertReceiver.delete({ where: { id: receiver.id } });
      return { value, change: { kind: 'AlertReceiver', objectId: value.id, name: value.name, action: 'DELETED' } };
    });
  }

  /** Creates a route from event types (and optionally one subject) to a receiver. */
  async createRoute(viewer: Viewer, raw: CreateAlertRouteInput): Promise<AlertRoute> {
    const input = parseInput(createRouteInput, raw);
    const receiver = await this.prisma.alertReceiver.findUnique({
      where: { projectId_name: { projectId: viewer.projectId, name: input.receiver } },
    });
    if (!receiver) throw new NotFoundError('AlertReceiver', input.receiver);
    return this.events.change(viewer.projectId, async (tx) => {
      const value = await tx.alertRoute.create({
        data: {
          projectId: viewer.projectId,
          receiverId: receiver.id,
          eventTypes: [...new Set(input.eventTypes)],
          subjectKind: input.subject?.kind ?? null,
          subjectName: input.subject?.name ?? null,
          subjectVersion: input.subject?.version ?? null,
          enabled: input.enabled ?? true,
        },
      });
      return { value, change: { kind: 'AlertRoute', objectId: value.id, name: receiver.name, action: 'CREATED' } };
    });
  }

  /** Enables or disables a route of the caller's project. */
  async setRouteEnabled(viewer: Viewer, id: string, enabled: boolean): Promise<AlertRoute> {
    const route = await this.findRoute(viewer, id);
    if (route.enabled === enabled) return route;
    return this.events.change(viewer.projectId, async (tx) => {
      const value = await tx.alertRoute.update({ where: { id }, data: { enabled } });
      return { value, change: { kind: 'AlertRoute', objectId: value.id, name: route.receiver.name, action: 'UPDATED' } };
    });
  }

  private async findRoute(viewer: Viewer, id: string) {
    const route = await this.prisma.alertRoute.findUnique({ where: { id }, include: { receiver: { select: { name: true } } } });
    if (!route || route.projectId !== viewer.projectId) throw new NotFoundError('AlertRoute', id);
    return route;
  }

  /** Deletes a route of the caller's project; its past deliveries stay, without the route. */
  async deleteRoute(viewer: Viewer, id: string): Promise<AlertRoute> {
    const route = await this.findRoute(viewer, id);
    return this.events.change(viewer.projectId, async (tx) => {
      const value = await tx.alertRoute.delete({ where: { id } });
      return { value, change: { kind: 'AlertRoute', objectId: value.id, name: route.receiver.name, action: 'DELETED' } };
    });
  }

  /**
   * Sends a signed TEST event to a receiver now, once (no retries), records it as a delivery and
   * returns that delivery: DELIVERED on a 2xx, else FAILED with the status or error.
   */
  async testReceiver(viewer: Viewer, name: string): Promise<AlertDelivery> {
    const receiver = await this.findReceiver(viewer, name);
    const at = new Date();
    const payload: AlertPayload = {
      id: randomUUID(),
      type: TEST_EVENT_TYPE,
      project: viewer.projectName,
      subject: null,
      message: `Test event for alert receiver ${receiver.name}`,
      details: {},
      at: at.toISOString(),
    };
    const delivery = await this.prisma.alertDelivery.create({
      data: {
        projectId: viewer.projectId,
        receiverId: receiver.id,
        eventType: TEST_EVENT_TYPE,
        payload: jsonInput(payload),
        state: 'PENDING',
        // Claimed by this request: the worker leaves it alone.
        nextAttemptAt: new Date(at.getTime() + this.options.timeoutMs + LEASE_MARGIN_MS),
      },
    });
    const outcome = await this.attempt(delivery, receiver);
    const last = outcome.kind === 'aborted' ? { kind: 'fail' as const, error: 'server is stopping' } : outcome;
    return this.prisma.alertDelivery.update({
      where: { id: delivery.id },
      data: {
        attempts: 1,
        state: last.kind === 'delivered' ? 'DELIVERED' : 'FAILED',
        nextAttemptAt: null,
        lastStatus: last.status ?? null,
        lastError: last.kind === 'delivered' ? null : last.error,
        deliveredAt: last.kind === 'delivered' ? new Date() : null,
      },
    });
  }

  private async findReceiver(viewer: Viewer, name: string): Promise<AlertReceiver> {
    const receiver = await this.prisma.alertReceiver.findUnique({ where: { projectId_name: { projectId: viewer.projectId, name } } });
    if (!receiver) throw new NotFoundError('AlertReceiver', name);
    return receiver;
  }

  // ---------------------------------------------------------------- the worker

  /** Starts the delivery worker (idempotent): pending deliveries, including a predecessor's, are sent. */
  start(): void {
    if (this.stopped) return;
    if (!this.loop) {
      this.loop = this.run().catch((error: unknown) => this.logger.error({ err: error }, 'alert delivery worker stopped'));
    } else {
      this.kicked = true;
      this.wake?.();
    }
  }

  /**
   * Stops the worker: events being recorded are stored first, attempts in flight are aborted and
   * put back as due now (not counted), so the next start sends them again.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    await Promise.allSettled([...this.recording]);
    this.stopped = true;
    this.abort.abort();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let delay = this.idlePollMs;
      try {
        delay = await this.round();
      } catch (error) {
        if (this.stopped) break;
        this.logger.warn({ err: error }, 'alert delivery round failed');
      }
      if (this.stopped) break;
      await this.sleep(delay);
    }
  }

  /** Claims and attempts the due deliveries; resolves to how long to wait before the next round. */
  private async round(): Promise<number> {
    this.kicked = false;
    const now = new Date();
    const due = await this.prisma.alertDelivery.findMany({
      where: { state: 'PENDING', nextAttemptAt: { lte: now } },
      orderBy: { nextAttemptAt: 'asc' },
      take: BATCH,
      include: { receiver: true },
    });
    const lease = new Date(now.getTime() + this.options.timeoutMs + LEASE_MARGIN_MS);
    await Promise.all(
      due.map(async (delivery) => {
        // The claim: only the process whose update matches the state and due time it read wins.
        const { count } = await this.prisma.alertDelivery.updateMany({
          where: { id: delivery.id, state: 'PENDING', nextAttemptAt: delivery.nextAttemptAt },
          data: { nextAttemptAt: lease },
        });
        if (count === 1) await this.deliver(delivery, delivery.receiver);
      }),
    );
    if (due.length > 0) return 0;
    const next = await this.prisma.alertDelivery.findFirst({
      where: { state: 'PENDING', nextAttemptAt: { not: null } },
      orderBy: { nextAttemptAt: 'asc' },
      select: { nextAttemptAt: true },
    });
    const wait = next?.nextAttemptAt ? next.nextAttemptAt.getTime() - Date.now() : this.idlePollMs;
    return Math.max(0, Math.min(wait, this.idlePollMs));
  }

  private sleep(ms: number): Promise<void> {
    if (this.kicked || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }

  /** One attempt of a claimed delivery, then its new state. */
  private async deliver(delivery: AlertDelivery, receiver: AlertReceiver): Promise<void> {
    const outcome = await this.attempt(delivery, receiver);
    if (outcome.kind === 'aborted') {
      await this.prisma.alertDelivery.updateMany({ where: { id: delivery.id, state: 'PENDING' }, data: { nextAttemptAt: new Date() } });
      return;
    }
    const attempts = delivery.attempts + 1;
    let data: Prisma.AlertDeliveryUpdateManyMutationInput;
    if (outcome.kind === 'delivered') {
      data = { state: 'DELIVERED', attempts, nextAttemptAt: null, lastStatus: outcome.status, lastError: null, deliveredAt: new Date() };
    } else if (outcome.kind === 'retry' && attempts < this.options.maxAttempts) {
      const delay = Math.min(this.maxDelayMs, outcome.retryAfterMs ?? this.backoff(attempts));
      data = { attempts, nextAttemptAt: new Date(Date.now() + delay), lastStatus: outcome.status ?? null, lastError: outcome.error };
    } else {
      const error = outcome.kind === 'retry' ? `${outcome.error} (gave up after ${attempts} attempts)` : outcome.error;
      data = { state: 'FAILED', attempts, nextAttemptAt: null, lastStatus: outcome.status ?? null, lastError: error };
    }
    if (data.state) {
      this.logger[data.state === 'FAILED' ? 'warn' : 'debug'](
        { delivery: delivery.id, receiver: receiver.name, attempts, status: data.lastStatus, error: data.lastError },
        `alert delivery ${String(data.state).toLowerCase()}`,
      );
    }
    // updateMany: the receiver may have been deleted meanwhile (its deliveries with it).
    await this.prisma.alertDelivery.updateMany({ where: { id: delivery.id }, data });
  }

  /** Exponential backoff with jitter: base·2^(n−1), scaled by a random factor in [0.5, 1). */
  private backoff(attempts: number): number {
    const exp = this.options.retryBaseMs * 2 ** Math.min(attempts - 1, 30);
    return Math.round(exp * (0.5 + Math.random() * 0.5));
  }

  /** POSTs the delivery's payload, signed, and classifies the answer. */
  private async attempt(delivery: AlertDelivery, receiver: AlertReceiver): Promise<Outcome> {
    let secret: string;
    try {
      secret = this.secrets.open(receiver.sealedSecret);
    } catch (error) {
      return { kind: 'fail', error: `cannot open the receiver's secret: ${(error as Error).message}` };
    }
    const body = JSON.stringify(delivery.payload);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'Granary-Alerts/1',
      'x-granary-event': delivery.eventType,
      'x-granary-delivery': delivery.id,
      'x-granary-timestamp': timestamp,
      'x-granary-signature': signBody(secret, timestamp, body),
    };
    try {
      const { status, headers: answer } = await postOnce(receiver.webhookUrl, headers, body, {
        policy: this.policy,
        timeoutMs: this.options.timeoutMs,
        signal: this.abort.signal,
      });
      if (status >= 200 && status < 300) return { kind: 'delivered', status };
      if (status === 429 || status >= 500) {
        return { kind: 'retry', status, error: `HTTP ${status}`, retryAfterMs: retryAfterMs(answer['retry-after']) };
      }
      return { kind: 'fail', status, error: status >= 300 && status < 400 ? `HTTP ${status} (redirects are not followed)` : `HTTP ${status}` };
    } catch (error) {
      if (this.abort.signal.aborted) return { kind: 'aborted' };
      if (error instanceof RefusedHostError) return { kind: 'fail', error: error.message };
      return { kind: 'retry', error: clip(describe(error)) };
    }
  }
}

/** The route's event types include the event's, and its subject filter (if any) matches. */
export function routeMatches(route: Pick<AlertRoute, 'eventTypes' | 'subjectKind' | 'subjectName' | 'subjectVersion'>, event: AlertEvent): boolean {
  const types = Array.isArray(route.eventTypes) ? (route.eventTypes as string[]) : [];
  if (!types.includes(event.type)) return false;
  if (route.subjectKind === null) return true;
  if (route.subjectKind !== event.subject.kind || route.subjectName !== event.subject.name) return false;
  return route.subjectVersion === null || route.subjectVersion === (event.subject.version ?? null);
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
}

function clip(text: string): string {
  return text.length > MAX_ERROR ? `${text.slice(0, MAX_ERROR - 1)}…` : text;
}
