import type { ModelArtifactStore } from '../stores/artifacts/model-artifacts.ts';
import type { MetadataClient } from '../stores/metadata/client.ts';
import type { OfflineStore } from '../stores/offline/offline-store.ts';
import type { OnlineStore } from '../stores/online/online-store.ts';
import type { CounterSeries, HistogramSeries } from './hot-metrics.ts';
import type { Metrics } from './metrics.ts';
import { inSpan } from './tracing.ts';

/**
 * The stores as the services see them when metrics or traces are on: the same ports, each call
 * that reaches a store timed (online reads, for metrics) and wrapped in a child span of the
 * request's operation (`online.read`, `offline.stage`, `metadata.Commit.findMany`, …) when tracing
 * is on. When both are off the stores are handed over as they are: nothing is added to the path.
 */

/** The online store, its reads counted by backend and every call traced. */
export function instrumentOnlineStore(store: OnlineStore, backend: string, metrics: Metrics | null, tracing: boolean): OnlineStore {
  if (!metrics && !tracing) return store;
  const attributes = { 'granary.store': 'online', 'db.system': backend };
  const traced = (name: string, work: () => Promise<void>) => (tracing ? inSpan(name, attributes, work) : work());
  const series = metrics?.onlineReadSeries(backend);
  const read: OnlineStore['read'] = tracing
    ? (table, keys) => inSpan('online.read', attributes, () => store.read(table, keys))
    : (table, keys) => store.read(table, keys);
  // Plain delegation, not a proxy: this object sits on every featureVector.
  return {
    ensure: (table) => traced('online.ensure', () => store.ensure(table)),
    write: (table, rows, commitId) => traced('online.write', () => store.write(table, rows, commitId)),
    writeColumns: (table, rows, commitId) => traced('online.writeColumns', () => store.writeColumns(table, rows, commitId)),
    drop: (table) => traced('online.drop', () => store.drop(table)),
    ping: () => store.ping(),
    close: () => store.close(),
    read: series
      ? (table, keys) => {
          const started = performance.now();
          // Inline callbacks only: a named closure per read costs more than the timing itself.
          return read(table, keys).then(
            (rows) => {
              observeRead(series, started, keys.length);
              return rows;
            },
            (error: unknown) => {
              observeRead(series, started, keys.length);
              throw error;
            },
          );
        }
      : read,
  };
}

function observeRead(series: { readonly seconds: HistogramSeries; readonly keys: CounterSeries }, started: number, keys: number): void {
  series.seconds.observe((performance.now() - started) / 1000);
  series.keys.inc(keys);
}

/** Offline store calls that do I/O, traced. */
export function traceOfflineStore(store: OfflineStore): OfflineStore {
  return traceMethods(store, 'offline', { 'granary.store': 'offline', 'db.system': 'duckdb' }, [
    'stage',
    'infer',
    'read',
    'readCommits',
    'exportTo',
    'aggregate',
    'loadTable',
    'exportQuery',
    'describe',
    'query',
    'queryRows',
    'sweep',
    'drop',
  ]);
}

/** Model artifact calls, traced. */
export function traceArtifactStore(store: ModelArtifactStore): ModelArtifactStore {
  return traceMethods(store, 'artifacts', { 'granary.store': 'artifacts' }, ['stage', 'open', 'size', 'remove', 'sweep']);
}

/** Every metadata query in a span named for its model and operation (`metadata.Commit.findMany`, `metadata.$queryRaw`). */
export function traceMetadataClient(client: MetadataClient): MetadataClient {
  const attributes = { 'granary.store': 'metadata' };
  return client.$extends({
    query: {
      async $allOperations({ model, operation, args, query }) {
        return inSpan(`metadata.${model ? `${model}.` : ''}${operation}`, attributes, () => query(args));
      },
    },
  }) as unknown as MetadataClient;
}

/**
 * `store` with `methods` each run in a span `<prefix>.<method>`. A proxy, so that everything else
 * of the store (properties, other methods) is the store's own, called on the store itself.
 */
function traceMethods<T extends object>(store: T, prefix: string, attributes: Record<string, string>, methods: readonly (keyof T & string)[]): T {
  const overrides: Record<string, unknown> = {};
  for (const method of methods) {
    const original = store[method];
    if (typeof original !== 'function') continue;
    const name = `${prefix}.${method}`;
    overrides[method] = (...args: unknown[]) => inSpan(name, attributes, () => (original as (...a: unknown[]) => Promise<unknown>).apply(store, args));
  }
  return withOverrides(store, overrides as Partial<T>);
}

/** `target` with some members replaced; every other method is bound to `target` (its private fields stay reachable). */
function withOverrides<T extends object>(target: T, overrides: Partial<T>): T {
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(object, property) {
      if (Object.hasOwn(overrides, property)) return overrides[property as keyof T];
      const value = Reflect.get(object, property, object);
      if (typeof value !== 'function') return value;
      let method = bound.get(property);
      if (!method) {
        method = value.bind(object);
        bound.set(property, method);
      }
      return method;
    },
  });
}
