/**
 * The web console's weight and speed (`npm run bench:console`).
 *
 *   npx tsx bench/console.ts [--build] [--runs 5] [--rows 3000] [--features 50]
 *
 * 1. Initial JavaScript: the scripts dist/console/index.html loads at once (its module entry and
 *    the chunks it preloads), each gzipped with zlib (level 9, what a server's static compression
 *    would send), against the 300 kB budget (kB = 1 000 bytes). Chunks loaded later (the charts)
 *    are listed, not counted. `--build` runs `npm run build:console` first; otherwise the build
 *    output as it is is measured (the server serves that same build).
 * 2. A feature group's statistics page in Chromium (/usr/bin/chromium, headless): the real server
 *    (`node <start flags> bin/granary.js serve`, NODE_ENV=production, a fresh data directory) with
 *    group `bench_console` of `--features` features (3 DOUBLE for 1 BIGINT and 1 STRING, the id
 *    BIGINT key aside) and `--rows` rows inserted in one commit, statistics computed by the commit's
 *    job (histograms; the default configuration); and group `bench_console_corr`, the same with
 *    correlations too (a heatmap besides). The page `/feature-groups/<group>/statistics` is opened
 *    `--runs` times in a fresh browser context (cold: empty cache, signing in from the URL's
 *    fragment) and as many times reloaded in one context (warm: scripts cached). Measured: the time
 *    from navigation start to `performance.mark('granary:statistics-drawn')`, which the statistics
 *    tab places once its last chart is drawn; beside it, in the same run, the page's GraphQL alone:
 *    the span of its /graphql requests in the browser (resource timing, first start to last end),
 *    and the same requests replayed one after another with fetch from this process (the page sends
 *    them in dependent waves: sign-in check, group, statistics). Medians; budget 1.5 s (cold).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { prng } from '../examples/churn/data.ts';
import { table } from './lib/load.ts';
import { baseEnv, gitState, startChild, startFlags, stopChild } from './lib/process.ts';

const { values: args } = parseArgs({
  options: {
    build: { type: 'boolean', default: false },
    runs: { type: 'string', default: '5' },
    rows: { type: 'string', default: '3000' },
    features: { type: 'string', default: '50' },
  },
});
const RUNS = Math.max(1, Number(args.runs));
const ROWS = Math.max(10, Number(args.rows));
const FEATURES = Math.max(1, Number(args.features));

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist', 'console');
const CHROMIUM = '/usr/bin/chromium';
const JS_BUDGET_BYTES = 300_000;
const DRAWN_BUDGET_MS = 1500;
const MARK = 'granary:statistics-drawn';

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const ms = (x: number) => `${Math.round(x)} ms`;
const kB = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`;

// ---------------------------------------------------------------------------------------------
// 1. Initial JavaScript

interface Script {
  readonly file: string;
  readonly raw: number;
  readonly gzip: number;
  readonly initial: boolean;
}

/** The build's scripts; `initial` for those index.html loads at once (entry and modulepreload). */
function scripts(): Script[] {
  const html = readFileSync(join(DIST, 'index.html'), 'utf8');
  const initial = new Set([...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="\/assets\/([^"]+\.js)"/g)].map((m) => m[1]!));
  if (initial.size === 0) throw new Error(`${join(DIST, 'index.html')} names no script: is the console built?`);
  return readdirSync(join(DIST, 'assets'))
    .filter((f) => f.endsWith('.js'))
    .map((file) => {
      const bytes = readFileSync(join(DIST, 'assets', file));
      return { file, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length, initial: initial.has(file) };
    })
    .sort((a, b) => Number(b.initial) - Number(a.initial) || b.gzip - a.gzip);
}

// ---------------------------------------------------------------------------------------------
// 2. The statistics page

const featureType = (i: number) => (i % 5 === 3 ? 'BIGINT' : i % 5 === 4 ? 'STRING' : 'DOUBLE');
const featureName = (i: number) => `f${String(i).padStart(2, '0')}`;

function rows(count: number, seed: number): Record<string, unknown>[] {
  const next = prng(seed);
  return Array.from({ length: count }, (_, r) => {
    const row: Record<string, unknown> = { id: r };
    for (let i = 0; i < FEATURES; i++) {
      const type = featureType(i);
      const u = next();
      row[featureName(i)] =
        u < 0.03
          ? null
          : type === 'DOUBLE'
            ? (next() + next() + next()) * (i + 1)
            : type === 'BIGINT'
              ? Math.floor(next() * 1000)
              : `v${Math.floor(next() ** 2 * 25)}`;
    }
    return row;
  });
}

async function gql<T>(url: string, key: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: { message: string }[] };
  if (body.errors?.length) throw new Error(`${query.slice(0, 60)}…: ${body.errors.map((e) => e.message).join('; ')}`);
  return body.data!;
}

/** Creates a group of FEATURES features, inserts ROWS rows in one commit and waits for its statistics. */
async function makeGroup(graphqlUrl: string, key: string, name: string, correlations: boolean): Promise<number> {
  const features = [{ name: 'id', type: 'BIGINT' }, ...Array.from({ length: FEATURES }, (_, i) => ({ name: featureName(i), type: featureType(i) }))];
  const created = await gql<{ createFeatureGroup: { __typename: string; message?: string } }>(
    graphqlUrl,
    key,
    `mutation ($input: CreateFeatureGroupInput!) { createFeatureGroup(input: $input) { __typename ... on Error { message } } }`,
    { input: { name, primaryKey: ['id'], features, statisticsConfig: { correlations } } },
  );
  if (created.createFeatureGroup.__typename !== 'CreateFeatureGroupPayload') throw new Error(`createFeatureGroup: ${JSON.stringify(created)}`);
  const inserted = await gql<{ insertFeatureGroupData: { __typename: string; message?: string } }>(
    graphqlUrl,
    key,
    `mutation ($group: FeatureGroupRef!, $rows: [JSON!]) { insertFeatureGroupData(featureGroup: $group, rows: $rows, storage: OFFLINE) { __typename ... on Error { message } } }`,
    { group: { name }, rows: rows(ROWS, name.length) },
  );
  if (inserted.insertFeatureGroupData.__typename !== 'InsertFeatureGroupDataPayload') throw new Error(`insert: ${JSON.stringify(inserted)}`);
  const t0 = performance.now();
  for (;;) {
    const { featureGroup } = await gql<{ featureGroup: { statistics: { features: unknown[] } | null } }>(
      graphqlUrl,
      key,
      `query ($name: String!) { featureGroup(name: $name) { statistics { features { name } } } }`,
      { name },
    );
    if (featureGroup.statistics) return featureGroup.statistics.features.length;
    if (performance.now() - t0 > 120_000) throw new Error(`no statistics of ${name} after 120 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Captured {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string | null;
}

/** The headers of a page's request that the API reads. */
const SENT_HEADERS = ['authorization', 'accept', 'content-type'];

interface Visit {
  /** Navigation start to the mark. */
  readonly drawnMs: number;
  /** First /graphql request's start to the last one's end, before the mark (resource timing). */
  readonly graphqlSpanMs: number;
  /** Navigation start to the first /graphql request (the scripts loaded and the app started). */
  readonly firstRequestMs: number;
  /** Navigation start to the end of the last /graphql response before the mark (all data in). */
  readonly dataInMs: number;
  readonly requests: Captured[];
}

/** Opens (or reloads) the page and waits for the mark; the page's GraphQL requests with it. */
async function visit(page: Page, open: () => Promise<unknown>): Promise<Visit> {
  const requests: Captured[] = [];
  const onRequest = (r: import('playwright-core').Request) => {
    if (new URL(r.url()).pathname !== '/graphql') return;
    const headers = Object.fromEntries(Object.entries(r.headers()).filter(([name]) => SENT_HEADERS.includes(name)));
    requests.push({ method: r.method(), url: r.url(), headers, body: r.postData() });
  };
  page.on('request', onRequest);
  try {
    await open();
    await page.waitForFunction((mark) => performance.getEntriesByName(mark).length > 0, MARK, { timeout: 60_000, polling: 50 });
    const timing = await page.evaluate((mark) => {
      const drawn = performance.getEntriesByName(mark)[0]!.startTime;
      const gql = (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).filter(
        (e) => new URL(e.name).pathname === '/graphql' && e.startTime <= drawn,
      );
      const first = gql.length === 0 ? drawn : Math.min(...gql.map((e) => e.startTime));
      const last = gql.length === 0 ? drawn : Math.max(...gql.map((e) => e.responseEnd));
      return { drawn, first, last };
    }, MARK);
    return {
      drawnMs: timing.drawn,
      graphqlSpanMs: timing.last - timing.first,
      firstRequestMs: timing.first,
      dataInMs: timing.last,
      requests: [...requests],
    };
  } finally {
    page.off('request', onRequest);
  }
}

/** The page's GraphQL requests sent again one after another from this process: the API's time alone. */
async function replay(requests: readonly Captured[]): Promise<number> {
  const t0 = performance.now();
  for (const r of requests) {
    const res = await fetch(r.url, { method: r.method, headers: r.headers, ...(r.body ? { body: r.body } : {}) });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`replayed ${r.method} ${r.url}: ${res.status}`);
  }
  return performance.now() - t0;
}

interface PageResult {
  readonly label: string;
  readonly features: number;
  readonly cold: Visit[];
  readonly warm: Visit[];
  readonly replayMs: number[];
}

async function measurePage(browser: Browser, base: string, key: string, group: string, label: string, features: number): Promise<PageResult> {
  const path = `/feature-groups/${group}/statistics`;
  const contextOptions = { viewport: { width: 1280, height: 900 } };
  const cold: Visit[] = [];
  const warm: Visit[] = [];
  const replayMs: number[] = [];
  const contexts: BrowserContext[] = [];
  try {
    // One visit first, not counted: the server's first answers (query plans, DuckDB) are warmed.
    const first = await browser.newContext(contextOptions);
    contexts.push(first);
    const firstPage = await first.newPage();
    await visit(firstPage, () => firstPage.goto(`${base}${path}#key=${encodeURIComponent(key)}`));
    for (let run = 0; run < RUNS; run++) {
      const context = await browser.newContext(contextOptions);
      contexts.push(context);
      const page = await context.newPage();
      const v = await visit(page, () => page.goto(`${base}${path}#key=${encodeURIComponent(key)}`));
      cold.push(v);
      replayMs.push(await replay(v.requests));
      await context.close();
    }
    const page = await first.newPage();
    await page.goto(`${base}${path}#key=${encodeURIComponent(key)}`);
    for (let run = 0; run < RUNS; run++) warm.push(await visit(page, () => page.reload()));
  } finally {
    await Promise.allSettled(contexts.map((c) => c.close()));
  }
  return { label, features, cold, warm, replayMs };
}

async function main(): Promise<void> {
  console.log(`git ${gitState()}`);
  if (args.build) execFileSync('npm', ['run', 'build:console'], { cwd: ROOT, stdio: 'inherit' });
  console.log(`build: ${DIST} (index.html of ${statSync(join(DIST, 'index.html')).mtime.toISOString()})\n`);

  const all = scripts();
  const initial = all.filter((s) => s.initial);
  const initialGzip = initial.reduce((n, s) => n + s.gzip, 0);
  console.log('1. JavaScript of the build (gzip level 9)');
  console.log(
    table(
      ['script', 'loaded', 'raw', 'gzip'],
      [
        ...all.map((s) => [s.file, s.initial ? 'at once' : 'later', kB(s.raw), kB(s.gzip)]),
        ['initial total', '', kB(initial.reduce((n, s) => n + s.raw, 0)), kB(initialGzip)],
      ],
    ),
  );
  const jsMet = initialGzip <= JS_BUDGET_BYTES;
  console.log(`budget: initial JavaScript ≤ ${kB(JS_BUDGET_BYTES)} gzip → ${kB(initialGzip)}: ${jsMet ? 'met' : 'NOT met'}\n`);

  const dataDir = mkdtempSync(join(tmpdir(), 'granary-bench-console-'));
  const env = { ...baseEnv(), PORT: '0', HOST: '127.0.0.1', GRANARY_DATA_DIR: dataDir, LOG_LEVEL: 'warn', NODE_ENV: 'production' };
  const granary = await startChild([...startFlags(), 'bin/granary.js', 'serve'], env, /serving GraphQL at (http:\/\/\S+?\/graphql)/);
  let browser: Browser | null = null;
  try {
    const graphqlUrl = granary.url;
    const base = new URL(graphqlUrl).origin;
    const key = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
    const groups = [
      { name: 'bench_console', label: `${FEATURES} features, histograms`, correlations: false },
      { name: 'bench_console_corr', label: `${FEATURES} features, histograms + correlations`, correlations: true },
    ];
    console.log(`2. Statistics page: ${ROWS.toLocaleString('en-US')} rows × ${FEATURES} features; ${RUNS} runs each (cold and warm)`);
    const counted: number[] = [];
    for (const g of groups) {
      const t0 = performance.now();
      counted.push(await makeGroup(graphqlUrl, key, g.name, g.correlations));
      console.log(`  ${g.name}: created, inserted and statistics computed in ${ms(performance.now() - t0)}`);
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    const results: PageResult[] = [];
    for (const [i, g] of groups.entries()) results.push(await measurePage(browser, base, key, g.name, g.label, counted[i]!));

    const row = (label: string, visits: readonly Visit[], replayed: readonly number[] | null) => {
      const m = (pick: (v: Visit) => number) => ms(median(visits.map(pick)));
      const drawn = visits.map((v) => v.drawnMs);
      return [
        label,
        m((v) => v.drawnMs),
        `${ms(Math.min(...drawn))} – ${ms(Math.max(...drawn))}`,
        m((v) => v.firstRequestMs),
        m((v) => v.dataInMs),
        m((v) => v.drawnMs - v.dataInMs),
        m((v) => v.graphqlSpanMs),
        replayed ? ms(median(replayed)) : '',
        String(median(visits.map((v) => v.requests.length))),
      ];
    };
    console.log();
    console.log(
      table(
        ['page', 'drawn', 'drawn range', '1st request', 'data in', 'data → drawn', 'GraphQL in page', 'GraphQL replayed', 'requests'],
        results.flatMap((r) => [row(`${r.label}: cold`, r.cold, r.replayMs), row(`${r.label}: warm`, r.warm, null)]),
      ),
    );
    console.log(
      [
        '',
        'Medians. drawn: navigation start → performance mark "granary:statistics-drawn" (the last chart drawn).',
        '1st request / data in: navigation start → the first /graphql request / the end of the last /graphql response before the mark',
        '(resource timing); data → drawn: from then to the mark. GraphQL in page: first request start → last response end.',
        "GraphQL replayed: the cold visit's /graphql requests sent again one after another with fetch from this process.",
      ].join('\n'),
    );
    for (const r of results) {
      const cold = median(r.cold.map((v) => v.drawnMs));
      console.log(
        `budget: ${r.label} (${r.features} features with statistics), cold, drawn ≤ ${ms(DRAWN_BUDGET_MS)} → ${ms(cold)}: ${cold <= DRAWN_BUDGET_MS ? 'met' : 'NOT met'}`,
      );
    }
  } finally {
    await browser?.close();
    await stopChild(granary);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
