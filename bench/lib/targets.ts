import { getPriority, setPriority } from 'node:os';
import { performance } from 'node:perf_hooks';

import autocannon from 'autocannon';

import { JsonClient, ms, openLoop, type Percentiles, percentiles } from './load.ts';
import { cpuSeconds } from './process.ts';

/**
 * A GraphQL request target of a server process and the two ways the serving benchmarks drive it:
 * closed loop to saturation (autocannon, N connections) and open loop at a fixed rate (latency
 * from the scheduled time, so a slow answer delays no later request).
 */

export interface Target {
  readonly url: string;
  /** The server process, whose CPU time per request is reported. */
  readonly pid: number;
  readonly headers: Record<string, string>;
  /** A request body; called per request, so keys vary. */
  body(): string;
}

export interface Saturation {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  /** Server CPU time per request, µs: robust to other work on the machine, unlike req/s. */
  readonly cpuUs: number;
  /** The same of the server's main thread alone (JavaScript, the online store's reads): the one that saturates first. */
  readonly mainUs: number;
}

/** `connections` connections, each sending its next request when the last is answered, for `seconds`. */
export async function saturate(target: Target, connections: number, seconds: number): Promise<Saturation> {
  const cpuBefore = cpuSeconds(target.pid);
  const mainBefore = cpuSeconds(target.pid, target.pid);
  const result = await autocannon({
    url: target.url,
    connections,
    duration: seconds,
    method: 'POST',
    headers: target.headers,
    requests: [{ setupRequest: (req) => ({ ...req, body: target.body() }) }],
  });
  return {
    rps: result.requests.total / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    cpuUs: ((cpuSeconds(target.pid) - cpuBefore) / result.requests.total) * 1e6,
    mainUs: ((cpuSeconds(target.pid, target.pid) - mainBefore) / result.requests.total) * 1e6,
  };
}

export interface OpenLoop {
  readonly offered: number;
  readonly completed: number;
  readonly achieved: number;
  /** Failed requests, non-200 answers and answers `check` refused. */
  readonly errors: number;
  /** Milliseconds from the scheduled time. */
  readonly scheduled: Percentiles;
  /** Milliseconds from the actual send. */
  readonly sent: Percentiles;
  readonly maxSockets: number;
  /** Server CPU time per request, µs. */
  readonly cpuUs: number;
}

/**
 * Sends `rate` requests a second on a fixed schedule for `seconds`, whatever the responses do
 * (load.ts's openLoop), over as many keep-alive sockets as the load needs. The schedule polls in
 * the last 1.5 ms before each due time and so keeps a core busy: run it under
 * {@link lowerPriority} so the poll yields to the servers (a nap instead, Atomics.wait, delays
 * taking in responses by the VM's wake-up latency, ≈ 0.3 ms measured). With BENCH_DUMP set, prints
 * p50 and max of each second.
 */
export async function measureOpenLoop(target: Target, rate: number, seconds: number, check: (body: string) => boolean): Promise<OpenLoop> {
  const total = Math.max(1, Math.round(rate * seconds));
  const fromScheduled = new Float64Array(total);
  const fromSent = new Float64Array(total);
  const client = new JsonClient(target.url, target.headers);
  let completed = 0;
  let errors = 0;
  let maxSockets = 0;
  const cpuBefore = cpuSeconds(target.pid);
  await openLoop(rate, seconds, async (i, scheduled) => {
    const body = target.body();
    const sentAt = performance.now();
    const answer = client.post(body);
    maxSockets = Math.max(maxSockets, client.sockets());
    const { status, text } = await answer;
    const end = performance.now();
    fromScheduled[i] = end - scheduled;
    fromSent[i] = end - sentAt;
    completed++;
    if (status !== 200 || !check(text)) errors++;
  });
  const cpuUs = ((cpuSeconds(target.pid) - cpuBefore) / total) * 1e6;
  client.close();
  if (process.env.BENCH_DUMP) {
    const perSecond: string[] = [];
    for (let sec = 0; sec < seconds; sec++) {
      const slice = percentiles(fromScheduled.slice(sec * rate, (sec + 1) * rate));
      perSecond.push(`${sec}s: p50 ${ms(slice.p50)} max ${ms(slice.max)}`);
    }
    console.log(perSecond.join('\n'));
  }
  return {
    offered: rate,
    completed,
    achieved: completed / seconds,
    errors,
    scheduled: percentiles(fromScheduled),
    sent: percentiles(fromSent),
    maxSockets,
    cpuUs,
  };
}

/**
 * Lowers this process's priority by 10 for open loops (their poll must yield to the servers);
 * returns the function that raises it back, which does nothing where that needs privileges.
 */
export function lowerPriority(): () => void {
  const priority = getPriority();
  setPriority(Math.min(19, priority + 10));
  return () => {
    try {
      setPriority(priority);
    } catch {
      // raising it back needs privileges: the rest of the run is open loop or reporting
    }
  };
}
