import { Agent, request as httpRequest } from 'node:http';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';

/**
 * Load-generation pieces shared by the benchmarks: a keep-alive JSON client, an open-loop
 * scheduler that never waits for responses, a closed-loop driver, a freshness tracker, percentiles
 * and table printing.
 */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A JSON POST client over keep-alive sockets, as many as the load needs (no coordinated omission from a socket limit below 512). */
export class JsonClient {
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 512 });
  readonly #hostname: string;
  readonly #port: string;
  readonly #path: string;

  constructor(
    url: string,
    private readonly headers: Record<string, string>,
  ) {
    const u = new URL(url);
    this.#hostname = u.hostname;
    this.#port = u.port;
    this.#path = u.pathname;
  }

  /** Posts `body`; resolves with the status and text (status 0 and the error's message when the request failed). */
  post(body: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve) => {
      const req = httpRequest(
        {
          agent: this.#agent,
          hostname: this.#hostname,
          port: this.#port,
          path: this.#path,
          method: 'POST',
          headers: { ...this.headers, 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.on('error', (error) => resolve({ status: 0, text: error.message }));
      req.end(body);
    });
  }

  /** Sockets open now. */
  sockets(): number {
    return Object.values(this.#agent.sockets).reduce((n, s) => n + (s?.length ?? 0), 0);
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** What an open loop did: how many calls it made and how late it made them (ms after the scheduled time). */
export interface Schedule {
  readonly fired: number;
  readonly lateP99: number;
}

/**
 * Calls `fire(i, scheduledAt)` `rate` times a second on a fixed schedule for `seconds`, whatever
 * earlier calls are doing; resolves once every call's promise settled. Between due times it waits
 * with a timer when the next is far and polls with setImmediate in the last 1.5 ms, so a call
 * leaves within microseconds of its time unless this process is busy.
 */
export async function openLoop(rate: number, seconds: number, fire: (i: number, scheduledAt: number) => Promise<unknown>): Promise<Schedule> {
  const total = Math.max(1, Math.round(rate * seconds));
  const interval = 1000 / rate;
  const late = new Float64Array(total);
  const inFlight: Promise<unknown>[] = [];
  const start = performance.now() + 20;
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * interval <= now) {
        const at = start + next * interval;
        late[next] = now - at;
        inFlight.push(fire(next, at));
        next++;
      }
      if (next >= total) {
        resolve();
        return;
      }
      const wait = start + next * interval - performance.now();
      if (wait > 1.5) setTimeout(tick, wait - 1.5);
      else setImmediate(tick);
    };
    setTimeout(tick, 10);
  });
  await Promise.allSettled(inFlight);
  return { fired: total, lateP99: percentiles(late).p99 };
}

/** Runs `step(worker)` back to back on `connections` workers for `seconds` (a closed loop: each waits for its last answer). */
export async function closedLoop(connections: number, seconds: number, step: (worker: number) => Promise<void>): Promise<void> {
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async (_, worker) => {
      while (performance.now() < end) await step(worker);
    }),
  );
}

/**
 * Rows sent and not yet seen by a reader: each row's key, the value the reader must see, and when
 * it was due to be sent. `seen` records the time from then to now once the reader sees that value;
 * `unseen` lists what never showed up.
 */
export class FreshnessTracker {
  readonly #pending = new Map<number, { value: number; at: number }>();
  readonly samples: number[] = [];

  sent(key: number, value: number, at: number): void {
    this.#pending.set(key, { value, at });
  }

  /** A send failed: the row is not waited for. */
  cancel(key: number): void {
    this.#pending.delete(key);
  }

  /** Up to `max` keys waited for, the oldest first. */
  keys(max: number): number[] {
    const out: number[] = [];
    for (const key of this.#pending.keys()) {
      if (out.length >= max) break;
      out.push(key);
    }
    return out;
  }

  seen(key: number, value: unknown, now: number): void {
    const p = this.#pending.get(key);
    if (p === undefined || value !== p.value) return;
    this.samples.push(now - p.at);
    this.#pending.delete(key);
  }

  get unseen(): number {
    return this.#pending.size;
  }

  clear(): void {
    this.#pending.clear();
  }
}

export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

export function percentiles(samples: ArrayLike<number>): Percentiles {
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
  return { count: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: sorted[sorted.length - 1] ?? Number.NaN };
}

/** The median of `xs` (NaN when empty). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const ms = (x: number) => (!Number.isFinite(x) ? '—' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
export const int = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—');
export const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/** A plain text table: the first column left-aligned, the others right-aligned. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
