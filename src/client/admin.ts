/**
 * GranaryAdminClient: the operator's calls on top of {@link GranaryClient} (what the `granary`
 * CLI does against a running server): health, listings, running a job and following its
 * execution live, API keys. Typed errors are thrown as {@link GranaryError}s, as by the client.
 */
import { GranaryClient, type GranaryClientOptions } from './client.ts';
import { errorFromResult, GranaryNotFoundError, type ErrorResult } from './errors.ts';
import type { ResultOf, VariablesOf } from './graphql.ts';
import {
  ApiKeysQuery,
  CountsQuery,
  CreateApiKeyMutation,
  ExecutionQuery,
  ExecutionStateQuery,
  ExecutionUpdatedSubscription,
  FeatureGroupsQuery,
  JobsQuery,
  RevokeApiKeyMutation,
  RunJobMutation,
} from './operations-admin.ts';

type Payload<R> = Extract<R, { __typename: `${string}Payload` }>;

export type FeatureGroupSummary = ResultOf<typeof FeatureGroupsQuery>['featureGroups']['edges'][number]['node'];
export type JobSummary = ResultOf<typeof JobsQuery>['jobs']['edges'][number]['node'];
export type Execution = Omit<NonNullable<ResultOf<typeof ExecutionQuery>['execution']>, 'logs'>;
export type ExecutionState = Execution['state'];
export type ApiKey = ResultOf<typeof ApiKeysQuery>['apiKeys'][number];
export type ApiKeyInput = VariablesOf<typeof CreateApiKeyMutation>['input'];

/** What a health endpoint answered: its HTTP status, or null when the server could not be reached. */
export interface Probe {
  readonly status: number | null;
  /** Why the server could not be reached (`ECONNREFUSED`, …); null when it answered. */
  readonly error: string | null;
}

/** How many objects of a kind the project has; `exact` false when counting stopped at the limit. */
export interface Count {
  readonly count: number;
  readonly exact: boolean;
}

export interface Counts {
  readonly featureGroups: Count;
  readonly featureViews: Count;
  readonly models: Count;
  readonly jobs: Count;
}

/** One step of a followed execution: what changed since the previous step. */
export interface ExecutionChange {
  /** The execution as of this step (its state is the one this step announced). */
  readonly execution: Execution;
  /** Log lines new since the previous step, oldest first. */
  readonly lines: readonly string[];
  /** The state differs from the previous step's (always true on the first step). */
  readonly stateChanged: boolean;
  /** `progress` or `progressMessage` differs from the previous step's. */
  readonly progressChanged: boolean;
}

export interface FollowOptions {
  /**
   * How often to check the execution's state by query, in case the subscription missed an update
   * (it becomes live a moment after it is opened); default 2 000 ms. Once the subscription has
   * failed, the execution is read by query every second instead.
   */
  readonly pollMs?: number;
}

const ENDED: ReadonlySet<ExecutionState> = new Set(['SUCCEEDED', 'FAILED', 'KILLED']);
const RANK: Readonly<Record<ExecutionState, number>> = { INITIALIZING: 0, RUNNING: 1, SUCCEEDED: 2, FAILED: 2, KILLED: 2 };
/** The most log lines `Execution.logs` returns: older lines drop out of its window. */
const LOG_WINDOW = 10_000;
/** Connections hold at most this many items a page. */
const PAGE = 100;
/** `counts()` stops after this many pages of a kind. */
const COUNT_PAGES = 20;

/** Whether an execution state is final (SUCCEEDED, FAILED or KILLED). */
export function executionEnded(state: ExecutionState): boolean {
  return ENDED.has(state);
}

/** Mutation payload, or the typed error thrown as a GranaryError. */
function payload<R extends { __typename: string }>(result: R): Payload<R> {
  if (result.__typename.endsWith('Payload')) return result as Payload<R>;
  throw errorFromResult(result as unknown as ErrorResult);
}

/** A client of one Granary server and project with the operator's calls. */
export class GranaryAdminClient extends GranaryClient {
  readonly #fetchFn: typeof fetch;

  constructor(options: GranaryClientOptions) {
    super(options);
    this.#fetchFn = options.fetch ?? fetch;
  }

  /** GETs a path of the server without a key (`/healthz`, `/readyz`). */
  async probe(path: string): Promise<Probe> {
    try {
      const response = await this.#fetchFn(new URL(path, this.origin), { signal: AbortSignal.timeout(10_000) });
      await response.body?.cancel();
      return { status: response.status, error: null };
    } catch (error) {
      return { status: null, error: reachError(error) };
    }
  }

  /** Every feature group of the project (each version, or only the latest of each name), by name then version. */
  async featureGroups(options: { latestOnly?: boolean } = {}): Promise<FeatureGroupSummary[]> {
    const groups: FeatureGroupSummary[] = [];
    for (let after: string | null = null; ; ) {
      const page: ResultOf<typeof FeatureGroupsQuery>['featureGroups'] = (
        await this.request(FeatureGroupsQuery, { first: PAGE, after, latestOnly: options.latestOnly ?? false })
      ).featureGroups;
      groups.push(...page.edges.map((e) => e.node));
      if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) return groups;
      after = page.pageInfo.endCursor;
    }
  }

  /** Every job of the project, by name, with its latest execution. */
  async jobs(): Promise<JobSummary[]> {
    const jobs: JobSummary[] = [];
    for (let after: string | null = null; ; ) {
      const page: ResultOf<typeof JobsQuery>['jobs'] = (await this.request(JobsQuery, { first: PAGE, after })).jobs;
      jobs.push(...page.edges.map((e) => e.node));
      if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) return jobs;
      after = page.pageInfo.endCursor;
    }
  }

  /** How many feature groups (versions), feature views (versions), models (versions) and jobs the project has. */
  async counts(): Promise<Counts> {
    const kinds = ['featureGroups', 'featureViews', 'models', 'jobs'] as const;
    const counts = { featureGroups: 0, featureViews: 0, models: 0, jobs: 0 };
    // The cursor to read each kind on from; null once it is read to its end.
    const after: Record<(typeof kinds)[number], string | null | undefined> = {
      featureGroups: undefined,
      featureViews: undefined,
      models: undefined,
      jobs: undefined,
    };
    for (let page = 0; page < COUNT_PAGES && kinds.some((k) => after[k] !== null); page++) {
      const data = await this.request(CountsQuery, {
        first: PAGE,
        groups: after.featureGroups,
        views: after.featureViews,
        models: after.models,
        jobs: after.jobs,
      });
      for (const kind of kinds) {
        if (after[kind] === null) continue;
        counts[kind] += data[kind].edges.length;
        after[kind] = data[kind].pageInfo.hasNextPage ? data[kind].pageInfo.endCursor : null;
      }
    }
    const count = (kind: (typeof kinds)[number]): Count => ({ count: counts[kind], exact: after[kind] === null });
    return { featureGroups: count('featureGroups'), featureViews: count('featureViews'), models: count('models'), jobs: count('jobs') };
  }

  /** Starts a run of a job now; resolves to its execution (INITIALIZING). */
  async runJob(name: string, args?: unknown): Promise<Execution> {
    const result = await this.request(RunJobMutation, { name, args: args === undefined ? null : (args as VariablesOf<typeof RunJobMutation>['args']) });
    return payload(result.runJob).execution;
  }

  /** An execution with its log (the last 10 000 lines), or null. */
  async execution(id: string): Promise<(Execution & { logs: string[] }) | null> {
    return (await this.request(ExecutionQuery, { id })).execution;
  }

  /**
   * Follows an execution until it ends: yields its state changes, progress steps and new log
   * lines as the server announces them (`executionUpdated`; new lines at most twice a second),
   * the last step being its final state. See {@link FollowOptions} for what makes it robust.
   */
  followExecution(id: string, options: FollowOptions & { job?: string } = {}): AsyncGenerator<ExecutionChange> {
    return this.#follow(options.job ?? null, () => this.#read(id), options);
  }

  /**
   * Runs a job and follows its execution until it ends, as {@link followExecution}: the
   * subscription is opened before the run starts, so its first updates are seen as they happen.
   */
  runJobAndFollow(name: string, args?: unknown, options: FollowOptions = {}): AsyncGenerator<ExecutionChange> {
    return this.#follow(name, async () => ({ ...(await this.runJob(name, args)), logs: [] }), options);
  }

  async *#follow(job: string | null, start: () => Promise<Execution & { logs: string[] }>, options: FollowOptions): AsyncGenerator<ExecutionChange> {
    const inbox = new Inbox<FollowItem>();
    const subscription = this.subscribe(ExecutionUpdatedSubscription, { job });
    void (async () => {
      try {
        for await (const data of subscription) if (data.executionUpdated) inbox.push({ update: data.executionUpdated });
        inbox.push({ lost: null });
      } catch (error) {
        inbox.push({ lost: error });
      }
    })();
    let live = true;
    let timer = setInterval(() => inbox.pushOnce(POLL), options.pollMs ?? 2000);
    try {
      let snapshot = await start();
      const id = snapshot.id;
      const tracker = new ExecutionTracker();
      let read = false;
      // The subscription may not have been live yet: check at once what was missed.
      inbox.push(POLL);
      for (;;) {
        // The update announcing the end may have been read before the last lines were written: read the end once more.
        if (executionEnded(snapshot.state) && !read) snapshot = await this.#read(id);
        // A run that ended before the subscription was live still ran: say so before its end.
        if (executionEnded(snapshot.state) && tracker.state === 'INITIALIZING' && snapshot.startedAt) {
          yield tracker.apply({ ...snapshot, state: 'RUNNING', finalStatus: null, finishedAt: null, duration: null, logs: [] })!;
        }
        const change = tracker.apply(snapshot);
        if (change) yield change;
        if (executionEnded(tracker.state!)) return;
        let next: (Execution & { logs: string[] }) | undefined;
        while (!next) {
          const item = await inbox.take();
          if ('update' in item) {
            if (item.update.id === id) [next, read] = [item.update, false];
          } else if ('lost' in item) {
            // The subscription ended (the socket closed): read the execution by query instead.
            live = false;
            clearInterval(timer);
            timer = setInterval(() => inbox.pushOnce(POLL), 1000);
          } else if (!live) {
            [next, read] = [await this.#read(id), true];
          } else {
            const seen = (await this.request(ExecutionStateQuery, { id })).execution;
            if (!seen) throw new GranaryNotFoundError(`execution ${id} not found`, 'Execution', id);
            if (seen.state !== tracker.state) [next, read] = [await this.#read(id), true];
          }
        }
        snapshot = next;
      }
    } finally {
      clearInterval(timer);
      await subscription.return?.();
    }
  }

  async #read(id: string): Promise<Execution & { logs: string[] }> {
    const execution = await this.execution(id);
    if (!execution) throw new GranaryNotFoundError(`execution ${id} not found`, 'Execution', id);
    return execution;
  }

  /** The project's API keys, newest first (revoked ones too with `includeRevoked`). Needs ADMIN. */
  async apiKeys(options: { includeRevoked?: boolean } = {}): Promise<ApiKey[]> {
    return (await this.request(ApiKeysQuery, { includeRevoked: options.includeRevoked ?? false })).apiKeys;
  }

  /** Mints an API key; its `secret` is returned only this once. */
  async createApiKey(input: ApiKeyInput): Promise<{ secret: string; apiKey: ApiKey }> {
    const { secret, apiKey } = payload((await this.request(CreateApiKeyMutation, { input })).createApiKey);
    return { secret, apiKey };
  }

  /** Revokes a key by its id: requests with it are refused from then on. */
  async revokeApiKey(id: string): Promise<ApiKey> {
    return payload((await this.request(RevokeApiKeyMutation, { id })).revokeApiKey).apiKey;
  }
}

/**
 * Why a request could not reach the server, from a fetch or node:http error (`ECONNREFUSED`,
 * `ENOTFOUND`, `timeout`…); null when the error is of another kind.
 */
export function reachError(error: unknown): string | null {
  if (!(error instanceof Error)) return null;
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'timeout';
  const code = (error as NodeJS.ErrnoException).code ?? ((error as { cause?: NodeJS.ErrnoException }).cause?.code as string | undefined);
  if (code && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(code)) return code;
  // fetch on Node says "fetch failed" and puts the reason in `cause` (sometimes an AggregateError of both address families).
  const cause = (error as { cause?: unknown }).cause;
  if (error.message === 'fetch failed') {
    const reason = cause instanceof AggregateError ? cause.errors[0] : cause;
    return reachError(reason) ?? (reason instanceof Error ? reason.message : 'fetch failed');
  }
  return null;
}

type FollowItem = { update: Execution & { logs: string[] } } | { lost: unknown } | { poll: true };
const POLL: FollowItem = { poll: true };

/** A queue an async loop waits on, fed by a subscription and a timer. */
class Inbox<T> {
  readonly #items: T[] = [];
  #wake: (() => void) | undefined;

  push(item: T): void {
    this.#items.push(item);
    this.#wake?.();
    this.#wake = undefined;
  }

  /** Pushes `item` unless it is already waiting (a slow reader gets one poll, not a backlog). */
  pushOnce(item: T): void {
    if (!this.#items.includes(item)) this.push(item);
  }

  async take(): Promise<T> {
    while (this.#items.length === 0) await new Promise<void>((resolve) => (this.#wake = resolve));
    return this.#items.shift()!;
  }
}

/**
 * What a follower has seen of an execution. Updates may arrive late or twice (a query and the
 * subscription both read it): a state never goes back, and only lines past those seen are new.
 */
class ExecutionTracker {
  state: ExecutionState | undefined;
  #progress: readonly [number, string | null] = [0, null];
  #window: readonly string[] = [];

  apply(snapshot: Execution & { logs: string[] }): ExecutionChange | null {
    const { logs, ...execution } = snapshot;
    const stale = this.state !== undefined && RANK[snapshot.state] < RANK[this.state];
    const stateChanged = this.state === undefined || RANK[snapshot.state] > RANK[this.state];
    const lines = newLines(this.#window, logs);
    if (lines.length > 0) this.#window = logs;
    const progress = [snapshot.progress, snapshot.progressMessage ?? null] as const;
    const progressChanged = !stale && (progress[0] !== this.#progress[0] || progress[1] !== this.#progress[1]);
    if (!stateChanged && !progressChanged && lines.length === 0) return null;
    if (stateChanged) this.state = snapshot.state;
    if (progressChanged) this.#progress = progress;
    const [current, message] = this.#progress;
    return { execution: { ...execution, state: this.state!, progress: current, progressMessage: message }, lines, stateChanged, progressChanged };
  }
}

/**
 * The lines of `current` (an execution's log window) after those of `previous`. Below the
 * window's size the log only grows, so they are the lines past `previous`'s count; a full window
 * has lost lines at its start, so it is aligned on the longest end of `previous` it starts with.
 * (Past 10 000 lines a log of identical lines cannot be aligned; lines may then be missed.)
 */
export function newLines(previous: readonly string[], current: readonly string[]): readonly string[] {
  if (current.length < LOG_WINDOW) return current.length > previous.length ? current.slice(previous.length) : [];
  for (let dropped = 0; dropped < previous.length; dropped++) {
    const overlap = previous.length - dropped;
    let same = overlap <= current.length;
    for (let i = 0; same && i < overlap; i++) same = previous[dropped + i] === current[i];
    if (same) return current.slice(overlap);
  }
  return current;
}
