import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { type CounterSeries, HotCounter, HotHistogram, type HistogramSeries } from './hot-metrics.ts';

/**
 * The server's Prometheus metrics (`/metrics`, text format 0.0.4). One instance per App: its own
 * registry, so that several apps in one process (tests) count apart; the Node process metrics
 * (CPU, memory, event loop lag, GC, handles) are the process's and registered once.
 *
 * Label values are bounded: nothing a request carries (keys, ids, entity values, free text)
 * becomes one. GraphQL operation names are the client's, so only the first
 * {@link MAX_OPERATION_NAMES} distinct names are kept as labels and later ones count as `other`;
 * root fields and types come from the schema. Feature group labels (streaming freshness) are
 * bounded by the catalog, not by traffic.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #graphqlTotal = new HotCounter(
    'granary_graphql_operations_total',
    'GraphQL operations executed, by operation name, first root field, type (query, mutation, subscription) and outcome (success, or error when the result has errors).',
    GRAPHQL_LABELS,
  );
  readonly #graphqlSeconds = new HotHistogram(
    'granary_graphql_operation_duration_seconds',
    'Time to execute a GraphQL operation (after parsing and validation; for a subscription, until its stream is set up).',
    GRAPHQL_LABELS,
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  );
  readonly #operationNames = new Set<string>();
  readonly #onlineReadSeconds = new HotHistogram(
    'granary_online_read_duration_seconds',
    'Time of one online store read (a batch of keys), by backend (sqlite, redis).',
    ['backend'],
    [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  );
  readonly #onlineReadKeys = new HotCounter('granary_online_read_keys_total', 'Primary keys looked up in the online store, by backend.', ['backend']);
  readonly #commits: Counter<'source'>;
  readonly #commitRows: Counter<'source'>;
  readonly #commitSeconds: Histogram<'source'>;
  readonly #jobExecutions: Counter<'type' | 'state'>;
  readonly #jobSeconds: Histogram<'type' | 'state'>;
  readonly #alertDeliveries: Counter<'state'>;
  readonly #subscriptionsActive: Gauge;
  readonly #subscriptionsTotal: Counter;

  constructor() {
    const registers = [this.registry];
    this.#commits = new Counter({
      name: 'granary_offline_commits_total',
      help: 'Offline commits recorded by this process, by source (insert, or stream for materialized ingestion).',
      labelNames: ['source'],
      registers,
    });
    this.#commitRows = new Counter({
      name: 'granary_offline_commit_rows_total',
      help: 'Rows written by offline commits, by source.',
      labelNames: ['source'],
      registers,
    });
    this.#commitSeconds = new Histogram({
      name: 'granary_offline_commit_duration_seconds',
      help: 'Time from the start of an insert (or of a materialization) to its recorded commit, by source.',
      labelNames: ['source'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.#jobExecutions = new Counter({
      name: 'granary_job_executions_total',
      help: 'Job executions ended by this process, by job type and final state (SUCCEEDED, FAILED, KILLED).',
      labelNames: ['type', 'state'],
      registers,
    });
    this.#jobSeconds = new Histogram({
      name: 'granary_job_execution_duration_seconds',
      help: 'Run time of job executions that started, by job type and final state.',
      labelNames: ['type', 'state'],
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 14400],
      registers,
    });
    this.#alertDeliveries = new Counter({
      name: 'granary_alert_delivery_attempts_total',
      help: 'Alert webhook delivery attempts, by the state they left the delivery in (DELIVERED, RETRY, FAILED).',
      labelNames: ['state'],
      registers,
    });
    this.#subscriptionsActive = new Gauge({
      name: 'granary_subscriptions_active',
      help: 'GraphQL subscriptions open now (graphql-ws and server-sent events).',
      registers,
    });
    this.#subscriptionsTotal = new Counter({
      name: 'granary_subscriptions_total',
      help: 'GraphQL subscriptions opened.',
      registers,
    });
    processRegistry();
  }

  /** The bounded label of a client's operation name: itself, `anonymous`, or `other` once {@link MAX_OPERATION_NAMES} are known. */
  operationLabel(name: string | null | undefined): string {
    if (!name) return 'anonymous';
    if (this.#operationNames.has(name)) return name;
    if (this.#operationNames.size >= MAX_OPERATION_NAMES || name.length > MAX_OPERATION_NAME_LENGTH) return 'other';
    this.#operationNames.add(name);
    return name;
  }

  /** The series of an operation (`operation` from {@link operationLabel}), by outcome: obtained once, updated per execution. */
  operationSeries(operation: string, rootField: string, type: string): Record<'success' | 'error', OperationSeries> {
    const of = (outcome: string) => ({
      total: this.#graphqlTotal.series(operation, rootField, type, outcome),
      seconds: this.#graphqlSeconds.series(operation, rootField, type, outcome),
    });
    return { success: of('success'), error: of('error') };
  }

  /** The series of the online store's reads on `backend`: obtained once, updated per read. */
  onlineReadSeries(backend: string): { readonly seconds: HistogramSeries; readonly keys: CounterSeries } {
    return { seconds: this.#onlineReadSeconds.series(backend), keys: this.#onlineReadKeys.series(backend) };
  }

  /** One recorded offline commit of `rows` rows. */
  offlineCommit(source: 'insert' | 'stream', rows: number, seconds: number): void {
    this.#commits.inc({ source });
    this.#commitRows.inc({ source }, rows);
    this.#commitSeconds.observe({ source }, seconds);
  }

  /** One job execution ended; `seconds` is its run time when it started. */
  executionEnded(type: string, state: string, seconds?: number): void {
    this.#jobExecutions.inc({ type, state });
    if (seconds !== undefined) this.#jobSeconds.observe({ type, state }, seconds);
  }

  /** One alert delivery attempt and the state it left the delivery in (a bound function: handed over as a callback). */
  readonly alertDeliveryAttempt = (state: 'DELIVERED' | 'RETRY' | 'FAILED'): void => {
    this.#alertDeliveries.inc({ state });
  };

  subscriptionOpened(): void {
    this.#subscriptionsActive.inc();
    this.#subscriptionsTotal.inc();
  }

  subscriptionClosed(): void {
    this.#subscriptionsActive.dec();
  }

  /**
   * A gauge read when scraped: `collect` returns its values by label values (one entry without
   * labels when `labelNames` is empty). A failing collect leaves the gauge empty for that scrape.
   */
  gauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    collect: () => Promise<readonly GaugeValue<L>[]> | readonly GaugeValue<L>[],
  ): void {
    // Registered again (a second server on the same app): the newer collect replaces the older.
    this.registry.removeSingleMetric(name);
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        let values: readonly GaugeValue<L>[];
        try {
          values = await collect();
        } catch {
          return;
        }
        for (const { labels, value } of values) {
          if (labels) this.set(labels, value);
          else this.set(value);
        }
      },
    });
  }

  /** The scrape: this app's metrics, then the process's. */
  async text(): Promise<string> {
    const [own, shared] = await Promise.all([this.registry.metrics(), processRegistry().metrics()]);
    const hot = [this.#graphqlTotal, this.#graphqlSeconds, this.#onlineReadSeconds, this.#onlineReadKeys].map((family) => family.render()).join('\n');
    return `${hot}\n${own}\n${shared}`;
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

const GRAPHQL_LABELS = ['operation', 'root_field', 'type', 'outcome'];

/** The series an execution of one operation with one outcome updates. */
export interface OperationSeries {
  readonly total: CounterSeries;
  readonly seconds: HistogramSeries;
}

export interface GaugeValue<L extends string> {
  readonly labels?: Partial<Record<L, string>>;
  readonly value: number;
}

/** Distinct client operation names kept as label values; more count as `other`. */
export const MAX_OPERATION_NAMES = 100;
const MAX_OPERATION_NAME_LENGTH = 64;

let shared: Registry | undefined;

/** The Node process metrics, registered once per process (they observe the process, not an app). */
function processRegistry(): Registry {
  if (!shared) {
    shared = new Registry();
    collectDefaultMetrics({ register: shared, prefix: 'granary_' });
  }
  return shared;
}
