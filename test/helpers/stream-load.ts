import { gqlAt } from './process.ts';

/**
 * Streaming load for process-level tests: batches of rows with unique row ids sent through
 * `ingestFeatureGroupRows` to real servers (killed, restarted, several at once), every answer
 * recorded, and the invariants checked against what the servers then show: acknowledged rows
 * online (newest event per key) and offline exactly once, cut-off batches all there or not at all,
 * idempotency keys appending once, streamed commits covering contiguous log ranges.
 */

export type IngestWait = 'ACCEPTED' | 'ONLINE' | 'OFFLINE';

/** One streamed row: `k` the key, `ts` the event time (unique over the run, so every row is its own identity), `rid` its id. */
export interface StreamRow {
  readonly k: string;
  readonly ts: string;
  readonly rid: string;
  readonly batch: number;
  readonly v: number;
}

/** What one `ingestFeatureGroupRows` call answered. */
export interface IngestAnswer {
  readonly sequence: number;
  readonly duplicate: boolean;
  readonly onlineAt: string | null;
  readonly commit: { id: string; rowCount: number; logRange: { from: number; to: number } | null } | null;
}

/** A batch: one request's rows under one idempotency key, and every answer it got (sends after a restart included). */
export interface StreamBatch {
  readonly n: number;
  readonly idempotencyKey: string;
  readonly waitFor: IngestWait;
  readonly rows: readonly StreamRow[];
  readonly answers: IngestAnswer[];
  sends: number;
}

/** How a group of the load is set up: `k` key, `ts` event time, online enabled, commits every second. */
export const STREAM_GROUP = {
  primaryKey: ['k'],
  eventTime: 'ts',
  onlineEnabled: true,
  features: [
    { name: 'k', type: 'STRING' },
    { name: 'ts', type: 'TIMESTAMP' },
    { name: 'rid', type: 'STRING' },
    { name: 'batch', type: 'BIGINT' },
    { name: 'v', type: 'DOUBLE' },
  ],
};

const BASE_TIME = Date.UTC(2026, 0, 1);

const INGEST = `mutation($fg: FeatureGroupRef!, $rows: [JSON!]!, $key: String, $wait: IngestWait) {
  ingestFeatureGroupRows(featureGroup: $fg, rows: $rows, idempotencyKey: $key, waitFor: $wait) {
    __typename
    ... on IngestFeatureGroupRowsPayload { accepted duplicate sequence onlineAt commit { id rowCount logRange { from to } } }
    ... on OverloadedError { message }
    ... on Error { message }
  }
}`;

const VECTORS = `query($view: String!, $entries: [JSON!]!) { featureVectors(featureView: { name: $view }, entries: $entries) { record } }`;

/** Creates a project with an ADMIN key (through the server's admin key); returns the project's key. */
export async function createStreamProject(url: string, adminKey: string, project: string): Promise<string> {
  const res = await gqlAt(
    url,
    adminKey,
    `mutation($name: String!) {
      createProject(input: { name: $name }) { __typename ... on Error { message } }
      createApiKey(input: { name: "stream", scopes: [ADMIN], project: $name }) { __typename ... on CreateApiKeyPayload { secret } ... on Error { message } }
    }`,
    { name: project },
  );
  const secret = res.data?.createApiKey?.secret;
  if (typeof secret !== 'string') throw new Error(`could not create project ${project}: ${JSON.stringify(res)}`);
  return secret;
}

/** Creates the group (STREAM_GROUP), sets it to commit streamed rows every second, and a view of it named like it. */
export async function createStreamGroup(url: string, key: string, name: string): Promise<void> {
  const res = await gqlAt(
    url,
    key,
    `mutation($input: CreateFeatureGroupInput!, $name: String!) {
      createFeatureGroup(input: $input) { __typename ... on Error { message } }
      updateFeatureGroup(featureGroup: { name: $name }, input: { streamCommitIntervalMs: 1000 }) { __typename ... on Error { message } }
      createFeatureView(input: { name: $name, query: { featureGroup: { name: $name } } }) { __typename ... on Error { message } }
    }`,
    { input: { name, ...STREAM_GROUP }, name },
  );
  const d = res.data;
  if (
    d?.createFeatureGroup?.__typename !== 'CreateFeatureGroupPayload' ||
    d?.updateFeatureGroup?.__typename !== 'UpdateFeatureGroupPayload' ||
    d?.createFeatureView?.__typename !== 'CreateFeatureViewPayload'
  ) {
    throw new Error(`could not set up group ${name}: ${JSON.stringify(res)}`);
  }
}

/**
 * The batches of a run: `next` makes a batch of `rows` rows over `keys` keys, the event time growing
 * with the batch number (batches sent later or again carry older events than others already applied).
 */
export class StreamLoad {
  readonly batches: StreamBatch[] = [];

  constructor(
    private readonly runId: string,
    private readonly rowsPerBatch = 8,
    private readonly keys = 200,
  ) {}

  next(waitFor: IngestWait): StreamBatch {
    const n = this.batches.length;
    const rows = Array.from({ length: this.rowsPerBatch }, (_, i) => ({
      k: `k${Math.floor(Math.random() * this.keys)}`,
      ts: new Date(BASE_TIME + (n * this.rowsPerBatch + i) * 1000).toISOString(),
      rid: `b${n}_r${i}`,
      batch: n,
      v: n + i / 100,
    }));
    const batch: StreamBatch = { n, idempotencyKey: `${this.runId}-b${n}`, waitFor, rows, answers: [], sends: 0 };
    this.batches.push(batch);
    return batch;
  }

  /** Batches without an answer yet. */
  unanswered(): StreamBatch[] {
    return this.batches.filter((b) => b.answers.length === 0);
  }
}

/**
 * Sends a batch (with its idempotency key) and records the answer. Resolves to the answer, or null
 * when the request was cut off (the server went away) or refused as overloaded; throws on any other
 * refusal, which the load never provokes.
 */
export async function sendBatch(url: string, key: string, group: string, batch: StreamBatch): Promise<IngestAnswer | null> {
  batch.sends++;
  let res: { data?: any };
  try {
    res = await gqlAt(url, key, INGEST, { fg: { name: group }, rows: batch.rows, key: batch.idempotencyKey, wait: batch.waitFor });
  } catch {
    return null;
  }
  const payload = res.data?.ingestFeatureGroupRows;
  if (payload?.__typename === 'OverloadedError') return null;
  if (payload?.__typename !== 'IngestFeatureGroupRowsPayload') throw new Error(`batch ${batch.n} refused: ${JSON.stringify(res).slice(0, 500)}`);
  const answer: IngestAnswer = { sequence: Number(payload.sequence), duplicate: payload.duplicate, onlineAt: payload.onlineAt, commit: payload.commit };
  batch.answers.push(answer);
  return answer;
}

/** The online rows of `keys` through the view (null for a key with none). */
export async function onlineRows(url: string, key: string, view: string, keys: readonly string[]): Promise<Map<string, StreamRow | null>> {
  const res = await gqlAt(url, key, VECTORS, { view, entries: keys.map((k) => ({ k })) });
  const vectors = res.data?.featureVectors;
  if (!Array.isArray(vectors)) throw new Error(`online read failed: ${JSON.stringify(res).slice(0, 500)}`);
  return new Map(keys.map((k, i) => [k, vectors[i]?.record?.rid ? { ...vectors[i].record, k } : null]));
}

/**
 * For an answer with `onlineAt` (the rows are applied): the problems with its rows online, read at
 * once. Every key shows the batch's row for it or a newer event: never an older one.
 */
export async function checkOnlineAnswer(url: string, key: string, view: string, batch: StreamBatch): Promise<string[]> {
  const newest = newestPerKey(batch.rows);
  let online: Map<string, StreamRow | null>;
  try {
    online = await onlineRows(url, key, view, [...newest.keys()]);
  } catch {
    return []; // the server went away meanwhile
  }
  const problems: string[] = [];
  for (const [k, row] of newest) {
    const seen = online.get(k);
    if (!seen || Date.parse(seen.ts) < Date.parse(row.ts))
      problems.push(
        `batch ${batch.n} answered ONLINE (onlineAt set) but key ${k} shows ${seen ? `${seen.rid} (${seen.ts})` : 'nothing'}, older than ${row.rid} (${row.ts})`,
      );
  }
  return problems;
}

function newestPerKey(rows: Iterable<StreamRow>): Map<string, StreamRow> {
  const newest = new Map<string, StreamRow>();
  for (const r of rows) {
    const seen = newest.get(r.k);
    if (!seen || Date.parse(r.ts) > Date.parse(seen.ts)) newest.set(r.k, r);
  }
  return newest;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until everything streamed into the group is applied and committed: sends `last` with waitFor
 * OFFLINE (again, under its key, until it answers with a commit: the wait for ONLINE covers every
 * message before it), then until freshness shows no pending row and no lag.
 */
export async function settle(url: string, key: string, group: string, last: StreamBatch, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let fresh: unknown;
  while (Date.now() < deadline) {
    const answer = await sendBatch(url, key, group, last);
    if (answer?.commit) break;
    await sleep(200);
  }
  while (Date.now() < deadline) {
    const res = await gqlAt(url, key, `query($name: String!) { featureGroup(name: $name) { freshness { pendingRows offlineLagMs onlineLagMs } } }`, {
      name: group,
    });
    fresh = res.data?.featureGroup?.freshness;
    const f = fresh as { pendingRows: number; offlineLagMs: number; onlineLagMs: number } | undefined;
    if (f && f.pendingRows === 0 && f.offlineLagMs === 0 && f.onlineLagMs === 0) return;
    await sleep(200);
  }
  throw new Error(`group ${group} did not settle within ${timeoutMs} ms: ${JSON.stringify(fresh)}`);
}

interface LogCommit {
  readonly id: string;
  readonly rowCount: number;
  readonly logRange: { from: number; to: number } | null;
}

/** Every commit of the group, oldest first (paged through `after`). */
async function allCommits(url: string, key: string, group: string): Promise<LogCommit[]> {
  const commits: LogCommit[] = [];
  let after: string | null = null;
  for (;;) {
    const res = await gqlAt(
      url,
      key,
      `query($name: String!, $after: String) { featureGroup(name: $name) { commits(first: 1000, after: $after) { id rowCount logRange { from to } } } }`,
      { name: group, after },
    );
    const page = res.data?.featureGroup?.commits as LogCommit[] | undefined;
    if (!page) throw new Error(`commits unreadable: ${JSON.stringify(res).slice(0, 500)}`);
    commits.push(...page);
    if (page.length < 1000) return commits.reverse();
    after = page.at(-1)!.id;
  }
}

/** The group's rows offline: `read` (one row per identity) and `changes` (every row written, superseded ones included); and its dead letters. */
async function offlineRows(url: string, key: string, group: string): Promise<{ read: StreamRow[]; changes: StreamRow[]; deadLetters: unknown[] }> {
  const res = await gqlAt(
    url,
    key,
    `query($name: String!) { featureGroup(name: $name) { read(first: 100000) { records } changes(first: 100000) { records } deadLetters { sequence reason } } }`,
    { name: group },
  );
  const fg = res.data?.featureGroup;
  if (!fg) throw new Error(`offline rows unreadable: ${JSON.stringify(res).slice(0, 500)}`);
  return { read: fg.read.records, changes: fg.changes.records, deadLetters: fg.deadLetters };
}

/** The ids that occur more than once. */
function repeated(rows: readonly StreamRow[]): string[] {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.rid, (counts.get(r.rid) ?? 0) + 1);
  return [...counts].filter(([, n]) => n > 1).map(([rid, n]) => `${rid}×${n}`);
}

/** Problems with the answers alone: an idempotency key appended twice, a key answered with two sequences. */
function answerProblems(batches: readonly StreamBatch[]): string[] {
  const problems: string[] = [];
  for (const b of batches) {
    const fresh = b.answers.filter((a) => !a.duplicate);
    if (fresh.length > 1) problems.push(`batch ${b.n} appended ${fresh.length} times (answers ${JSON.stringify(b.answers)})`);
    if (new Set(b.answers.map((a) => a.sequence)).size > 1) problems.push(`batch ${b.n} answered with different sequences: ${JSON.stringify(b.answers)}`);
  }
  return problems;
}

/** Problems with the offline rows: each row at most once, acknowledged batches whole, the others whole or absent. */
function rowProblems(batches: readonly StreamBatch[], read: readonly StreamRow[], changes: readonly StreamRow[]): string[] {
  const problems: string[] = [];
  const twiceRead = repeated(read);
  const twiceWritten = repeated(changes);
  if (twiceRead.length > 0) problems.push(`rows read more than once: ${twiceRead.slice(0, 20).join(', ')}`);
  if (twiceWritten.length > 0) problems.push(`rows committed more than once (changes): ${twiceWritten.slice(0, 20).join(', ')}`);
  if (read.length !== new Set(changes.map((r) => r.rid)).size) problems.push(`read shows ${read.length} rows, changes ${changes.length}`);
  const byBatch = new Map<number, Set<string>>();
  for (const r of read) byBatch.set(Number(r.batch), (byBatch.get(Number(r.batch)) ?? new Set()).add(r.rid));
  const known = new Set(batches.map((b) => b.n));
  for (const n of byBatch.keys()) if (!known.has(n)) problems.push(`rows of a batch never sent: ${n}`);
  for (const b of batches) {
    const present = byBatch.get(b.n)?.size ?? 0;
    if (b.answers.length > 0 && present !== b.rows.length)
      problems.push(`acknowledged batch ${b.n} (${b.waitFor}) has ${present} of ${b.rows.length} rows offline`);
    else if (present !== 0 && present !== b.rows.length) problems.push(`unacknowledged batch ${b.n} is partly there: ${present} of ${b.rows.length} rows`);
  }
  return problems;
}

/** Problems with the streamed commits: ranges from 1 on, contiguous, no overlap, holding every acknowledged sequence and each row once. */
function commitProblems(batches: readonly StreamBatch[], commits: readonly LogCommit[], rowsWritten: number): string[] {
  const problems: string[] = [];
  const streamed = commits.filter((c) => c.logRange !== null).sort((a, b) => a.logRange!.from - b.logRange!.from);
  if (streamed.length !== commits.length) problems.push(`${commits.length - streamed.length} commits without a log range`);
  let previous = 0;
  for (const c of streamed) {
    const { from, to } = c.logRange!;
    if (from !== previous + 1) problems.push(`commit ${c.id} covers ${from}–${to}, after one ending at ${previous}`);
    if (to < from) problems.push(`commit ${c.id} covers an empty range ${from}–${to}`);
    previous = Math.max(previous, to);
  }
  const committedRows = streamed.reduce((n, c) => n + c.rowCount, 0);
  if (committedRows !== rowsWritten) problems.push(`the streamed commits hold ${committedRows} rows, ${rowsWritten} were written`);
  const byId = new Map(streamed.map((c) => [c.id, c]));
  for (const b of batches) {
    for (const a of b.answers) {
      if (a.sequence > previous) problems.push(`acknowledged batch ${b.n} at ${a.sequence} is past the last commit (${previous})`);
      if (!a.commit) continue;
      const c = byId.get(a.commit.id);
      if (!c) problems.push(`batch ${b.n} answered commit ${a.commit.id}, which is not listed`);
      else if (a.sequence < c.logRange!.from || a.sequence > c.logRange!.to)
        problems.push(`batch ${b.n} at ${a.sequence} answered commit ${c.id} covering ${c.logRange!.from}–${c.logRange!.to}`);
    }
  }
  return problems;
}

/** Problems online: every key shows the newest event of the rows offline (which hold every acknowledged row). */
async function onlineProblems(url: string, key: string, view: string, read: readonly StreamRow[]): Promise<string[]> {
  const newest = newestPerKey(read);
  const online = await onlineRows(url, key, view, [...newest.keys()]);
  const problems: string[] = [];
  for (const [k, row] of newest) {
    const seen = online.get(k);
    if (seen?.rid !== row.rid)
      problems.push(`key ${k} online shows ${seen ? `${seen.rid} (${seen.ts})` : 'nothing'}, the newest row is ${row.rid} (${row.ts})`);
  }
  return problems;
}

/** Every invariant of the load against what the server shows once settled (see the module comment); the problems found. */
export async function verifyStream(url: string, key: string, group: string, batches: readonly StreamBatch[]): Promise<string[]> {
  const { read, changes, deadLetters } = await offlineRows(url, key, group);
  const commits = await allCommits(url, key, group);
  return [
    ...(deadLetters.length > 0 ? [`dead letters, where every message was good: ${JSON.stringify(deadLetters).slice(0, 500)}`] : []),
    ...answerProblems(batches),
    ...rowProblems(batches, read, changes),
    ...commitProblems(batches, commits, changes.length),
    ...(await onlineProblems(url, key, group, read)),
  ];
}
