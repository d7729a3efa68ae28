import { setMaxListeners } from 'node:events';
import type { AlertDelivery, AlertReceiver, Prisma } from '../../generated/sqlite/client.ts';
import type { Logger } from '../../logger.ts';
import type { SecretBox } from '../../secret-box.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import type { AlertEvent } from './alert-event.ts';
import { jsonInput } from '../json-columns.ts';
import { HostPolicy, postOnce, RefusedHostError, retryAfterMs, signBody } from './webhook.ts';

export type AlertDeliveryState = 'PENDING' | 'DELIVERED' | 'FAILED';

export interface AlertDeliveryOptions {
  /** Host names or addresses allowed besides loopback. */
  readonly allowedHosts: readonly string[];
  /** Attempts per delivery before it is FAILED. */
  readonly maxAttempts: number;
  /** Delay before the first retry; doubled per retry, with jitter, capped at `maxDelayMs`. */
  readonly retryBaseMs: number;
  /** One attempt's limit (connect + response head). */
  readonly timeoutMs: number;
  /** Told of each attempt and the state it left its delivery in (metrics). */
  readonly onAttempt?: (state: 'DELIVERED' | 'RETRY' | 'FAILED') => void;
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

/** Keeps the claim of a delivery this long past its attempt's timeout, then another process may retry it. */
const LEASE_MARGIN_MS = 30_000;
/** Due deliveries claimed per round. */
const BATCH = 50;
/** `lastError` is cut to this length. */
const MAX_ERROR = 500;

/**
 * The alert delivery worker: POSTs each PENDING delivery (recorded by `AlertService.raise`, in any
 * process sharing the database) as signed JSON, retrying network errors, timeouts, 5xx and 429
 * with exponential backoff and jitter (Retry-After honoured) up to `maxAttempts`, then FAILED; any
 * other 4xx, a 3xx or a refused host fails at once. Deliveries are claimed with a conditional
 * update on `(state, nextAttemptAt)`, so with several processes on one database each attempt is
 * made by one, and pending ones are resumed by `start()` after a restart. Delivery is at least
 * once: receivers deduplicate by the `X-Granary-Delivery` id.
 */
export class AlertDeliveryWorker {
  /** Which webhook hosts may be called (receivers are checked against it when created). */
  readonly policy: HostPolicy;
  private readonly maxDelayMs: number;
  private readonly idlePollMs: number;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private kicked = false;

  constructor(
    private readonly prisma: MetadataClient,
    private readonly secrets: SecretBox,
    private readonly logger: Logger,
    private readonly options: AlertDeliveryOptions,
  ) {
    this.policy = new HostPolicy(options.allowedHosts);
    // Every attempt in flight listens on the one stop signal.
    setMaxListeners(0, this.abort.signal);
    this.maxDelayMs = options.maxDelayMs ?? 3_600_000;
    this.idlePollMs = options.idlePollMs ?? 2000;
  }

  /** Starts the worker, or wakes it for new deliveries (idempotent): pending ones, including a predecessor's, are sent. */
  start(): void {
    if (this.stopped) return;
    if (!this.loop) {
      this.loop = this.run().catch((error: unknown) => this.logger.error({ err: error }, 'alert delivery worker stopped'));
    } else {
      this.kicked = true;
      this.wake?.();
    }
  }

  /** Stops the worker: attempts in flight are aborted and put back as due now (not counted), so the next start sends them again. */
  async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.abort.abort();
      this.wake?.();
    }
    await this.loop;
  }

  /**
   * Sends a delivery now, once (no retries; TEST events): records it claimed by this call, so the
   * worker leaves it alone, then DELIVERED on a 2xx, else FAILED with the status or error.
   */
  async sendNow(projectId: string, receiver: AlertReceiver, payload: AlertPayload): Promise<AlertDelivery> {
    const delivery = await this.prisma.alertDelivery.create({
      data: {
        projectId,
        receiverId: receiver.id,
        eventType: payload.type,
        payload: jsonInput(payload),
        state: 'PENDING',
        // Claimed by this request: the worker leaves it alone.
        nextAttemptAt: new Date(Date.parse(payload.at) + this.options.timeoutMs + LEASE_MARGIN_MS),
      },
    });
    const outcome = await this.attempt(delivery, receiver);
    const last = outcome.kind === 'aborted' ? { kind: 'fail' as const, error: 'server is stopping' } : outcome;
    this.options.onAttempt?.(last.kind === 'delivered' ? 'DELIVERED' : 'FAILED');
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
    this.options.onAttempt?.(data.state === 'DELIVERED' ? 'DELIVERED' : data.state === 'FAILED' ? 'FAILED' : 'RETRY');
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

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
}

function clip(text: string): string {
  return text.length > MAX_ERROR ? `${text.slice(0, MAX_ERROR - 1)}…` : text;
}
