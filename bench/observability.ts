// What metrics and tracing cost the serving path: bench/serving's P1 request (`featureVector`, one
// entity, 50 features, 15 transformed) saturated on three servers started alike but for
// GRANARY_METRICS=false (the baseline), metrics on (the default), and metrics on with tracing on
// (every request a trace, exported over OTLP/HTTP to a sink in this process). Each repetition starts
// a fresh server per variant, interleaved, so that neither the machine's drift nor one process's
// luck falls on one variant; the target is metrics on ≥ 95 % of off.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';

import { int, load, median, table } from './lib/load.ts';
import { gitState, startFlags, startGranary, stopGranary, type Granary } from './lib/process.ts';
import { setUp, VIEW } from './lib/serving-view.ts';
import { saturate, type Saturation, type Target } from './lib/targets.ts';

const { values: args } = parseArgs({
  options: {
    entities: { type: 'string', default: '2000' },
    duration: { type: 'string', default: '5' },
    reps: { type: 'string', default: '5' },
    connections: { type: 'string', default: '10' },
  },
});

async function main(): Promise<void> {
  const entities = Number(args.entities);
  const duration = Number(args.duration);
  const reps = Math.max(1, Number(args.reps));
  const connections = Number(args.connections);
  console.log(`bench/observability: P1 featureVector saturation, ${connections} connections, ${reps} × ${duration} s interleaved`);
  console.log(`  machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, node ${process.version}; server at ${gitState()}; load average: ${load()}`);

  // The collector: counts what it is sent and answers at once.
  let spansBytes = 0;
  let exports = 0;
  const sink = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => (spansBytes += chunk.length));
    req.on('end', () => {
      exports++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;

  const variants: { label: string; env: Record<string, string> }[] = [
    { label: 'metrics off (baseline)', env: { GRANARY_METRICS: 'false' } },
    { label: 'metrics on (default)', env: {} },
    { label: 'metrics on, tracing on', env: { OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl } },
  ];
  const runs: Saturation[][] = variants.map(() => []);
  const body = () =>
    JSON.stringify({
      query: 'query Vector($fv: FeatureViewRef!, $entry: JSON!) { featureVector(featureView: $fv, entry: $entry) { values missing } }',
      variables: { fv: { name: VIEW, version: 1 }, entry: { customer_id: Math.floor(Math.random() * entities) } },
    });
  // A fresh server per variant and repetition: one process can run several percent faster or
  // slower than an identical one for its whole life (where it lands, what the JIT decides), which
  // would otherwise be read as the variant's cost.
  for (let r = 0; r < reps; r++) {
    for (const [i, variant] of variants.entries()) {
      const server: Granary = await startGranary('granary-bench-observability-', startFlags(), variant.env);
      try {
        await setUp(server.url, server.key, entities);
        const target: Target = {
          url: server.url,
          pid: server.child.pid!,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${server.key}` },
          body,
        };
        await saturate(target, connections, 2);
        runs[i]!.push(await saturate(target, connections, duration));
      } finally {
        await stopGranary(server);
      }
    }
  }
  try {
    const base = runs[0]!;
    const rps = (xs: Saturation[]) => median(xs.map((s) => s.rps));
    const cpu = (xs: Saturation[]) => median(xs.map((s) => s.cpuUs));
    const rows = variants.map((variant, i) => {
      const xs = runs[i]!;
      const ratio = rps(xs) / rps(base);
      const target = i === 1 ? '≥ 0.95' : '';
      return [
        variant.label,
        `${int(rps(xs))} [${xs.map((s) => int(s.rps)).join(', ')}]`,
        `${median(xs.map((s) => s.p50))} / ${median(xs.map((s) => s.p99))}`,
        int(cpu(xs)),
        ratio.toFixed(3),
        (cpu(base) / cpu(xs)).toFixed(3),
        target,
        target ? (ratio >= 0.95 ? 'ok' : 'MISSED') : '',
        String(xs.reduce((n, s) => n + s.errors, 0)),
      ];
    });
    console.log('');
    console.log(table(['server', 'req/s median [runs]', 'p50/p99 ms', 'CPU µs/req', 'req/s ÷ off', 'CPU off ÷ this', 'target', '', 'errors'], rows));
    console.log(`\ntracing sink: ${exports} exports, ${int(spansBytes / 1024)} KiB of spans; load average at end: ${load()}`);
  } finally {
    sink.close();
  }
}

await main();
