import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import {
  bindMigrationAwareSqlAdapterFactory,
  type ErrorRegistry,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import type { SchemaEngine } from '@prisma/schema-engine-wasm/schema_engine_bg';
import pg from 'pg';

export type { SchemaEngine };

/** Where the schema engine connects: a SQLite file (or `:memory:`) or a PostgreSQL URL. */
export type SchemaEngineConnection = { provider: 'sqlite'; file: string } | { provider: 'postgresql'; url: string };

/** A schema engine bound to one database; `close()` frees it and every connection it opened. */
export type OpenSchemaEngine = {
  readonly engine: SchemaEngine;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
};

/** PostgreSQL connection settings parsed from a URL, with Prisma's `?schema=` split out. */
export type PostgresConnectionOptions = {
  config: pg.PoolConfig;
  schema: string | undefined;
};

type SchemaEngineClass = typeof SchemaEngine;

/**
 * The process-wide instance. wasm-bindgen's glue module holds the one wasm instance its functions call, so a
 * second instantiation would silently swap memory under live engines; a module-level variable is not enough
 * because test runners (vitest's global setup) may evaluate this module more than once in one process.
 */
const ENGINE_KEY = Symbol.for('granary.metadata.schemaEngine');

/** Loads and instantiates the WebAssembly schema engine, once per process. */
export function loadSchemaEngine(): Promise<SchemaEngineClass> {
  const holder = globalThis as { [ENGINE_KEY]?: Promise<SchemaEngineClass> };
  holder[ENGINE_KEY] ??= instantiate().catch((error: unknown) => {
    delete holder[ENGINE_KEY];
    throw error;
  });
  return holder[ENGINE_KEY];
}

/** The wasm panic hook reports its message here (the global name is fixed by the engine build). */
const panics = {
  message: '',
  set_message(message: string) {
    panics.message = message;
  },
};

async function instantiate(): Promise<SchemaEngineClass> {
  (globalThis as { PRISMA_WASM_PANIC_REGISTRY?: unknown }).PRISMA_WASM_PANIC_REGISTRY ??= panics;
  const require = createRequire(import.meta.url);
  const gluePath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  const glue = await import('@prisma/schema-engine-wasm/schema_engine_bg');
  const bytes = await readFile(join(dirname(gluePath), 'schema_engine_bg.wasm'));
  const { instance } = await WebAssembly.instantiate(bytes, {
    './schema_engine_bg.js': glue as unknown as WebAssembly.ModuleImports,
  });
  glue.__wbg_set_wasm(instance.exports);
  (instance.exports.__wbindgen_start as () => void)();
  return glue.SchemaEngine;
}

/**
 * Parses a PostgreSQL URL into separate pg pool fields (never `connectionString`, which would win over a
 * per-database override) and the `?schema=` search path Prisma URLs carry.
 */
export function parsePostgresUrl(url: string): PostgresConnectionOptions {
  const parsed = new URL(url);
  if (parsed.protocol !== 'postgresql:' && parsed.protocol !== 'postgres:') {
    throw new Error(`not a PostgreSQL URL: ${redactUrl(url)}`);
  }
  const schema = parsed.searchParams.get('schema') ?? undefined;
  const config: pg.PoolConfig = {
    // `?host=/run/postgresql` selects a Unix socket directory, as in libpq URLs.
    host: parsed.searchParams.get('host') ?? (decodeURIComponent(parsed.hostname) || undefined),
    port: parsed.port ? Number(parsed.port) : undefined,
    user: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || undefined,
  };
  const sslmode = parsed.searchParams.get('sslmode');
  if (sslmode && sslmode !== 'disable') config.ssl = sslmode === 'no-verify' ? { rejectUnauthorized: false } : true;
  const applicationName = parsed.searchParams.get('application_name');
  if (applicationName) config.application_name = applicationName;
  // Unqualified names in migration SQL resolve through search_path, as with Prisma's native engine.
  if (schema) config.options = `-c search_path=${quoteIdentifier(schema)}`;
  return { config, schema };
}

/** The URL with its password replaced, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<invalid url>';
  }
}

/** Double-quotes a PostgreSQL identifier. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Opens a schema engine on a database through a Prisma driver adapter.
 * SQLite shadow databases are in memory; PostgreSQL ones are uniquely named databases on the same server,
 * dropped when the engine is done with them (or at `close()` at the latest).
 */
export async function openSchemaEngine(connection: SchemaEngineConnection, options: { log?: (message: string) => void } = {}): Promise<OpenSchemaEngine> {
  const SchemaEngineClass = await loadSchemaEngine();
  const tracked = trackAdapters(createFactory(connection));
  const adapter = bindMigrationAwareSqlAdapterFactory(tracked.factory);
  const log = options.log ?? (() => {});
  let engine: SchemaEngine;
  try {
    engine = await SchemaEngineClass.new({ datamodels: undefined }, log, adapter);
  } catch (error) {
    await tracked.disposeAll();
    throw translateEngineError(error, adapter.errorRegistry);
  }
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    engine.free();
    await tracked.disposeAll();
  };
  return { engine: withTranslatedErrors(engine, adapter.errorRegistry), close, [Symbol.asyncDispose]: close };
}

/** Thrown for every failure the schema engine reports, with the driver's own error as `cause` where there is one. */
export class SchemaEngineError extends Error {
  override readonly name = 'SchemaEngineError';
  /** Prisma's error code (`P3006`, …) when the engine gives one. */
  readonly code: string | undefined;

  constructor(message: string, options: { cause: unknown; code?: string | undefined }) {
    super(message, { cause: options.cause });
    this.code = options.code;
  }
}

/**
 * Driver errors reach JS as "External error id#N" (the original waits in the adapter's error registry), and
 * connector errors carry a Rust span trace after the message; both become one readable SchemaEngineError.
 */
function translateEngineError(error: unknown, registry: ErrorRegistry): unknown {
  if (!(error instanceof Error)) return error;
  if (error instanceof WebAssembly.RuntimeError) {
    const panic = takePanicMessage();
    return new SchemaEngineError(`schema engine panicked: ${panic || error.message}`, { cause: error });
  }
  const rawCode: unknown = (error as { code?: unknown }).code;
  const code = typeof rawCode === 'string' ? rawCode : undefined;
  let cause: unknown = error;
  const message = error.message.replace(/External error id#(\d+)/, (text, id: string) => {
    const original: unknown = registry.consumeError(Number(id))?.error;
    if (original === undefined) return text;
    cause = original;
    return original instanceof Error ? original.message : String(original);
  });
  return new SchemaEngineError(readableMessage(message), { cause, code });
}

/** The message without its Rust span trace, naming the migration the trace says failed. */
function readableMessage(raw: string): string {
  const [message = raw, trace = ''] = raw.split(/\n\s+0: /, 2);
  const migration = /migration_name="([^"]+)"/.exec(trace)?.[1];
  return migration ? `${message.trim()} (migration ${migration})` : message.trim();
}

function takePanicMessage(): string {
  const registry = (globalThis as { PRISMA_WASM_PANIC_REGISTRY?: { message?: unknown } }).PRISMA_WASM_PANIC_REGISTRY;
  const message = typeof registry?.message === 'string' ? registry.message : '';
  if (registry && typeof registry.message === 'string') registry.message = '';
  return message;
}

function withTranslatedErrors(engine: SchemaEngine, registry: ErrorRegistry): SchemaEngine {
  return new Proxy(engine, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      // Always call on the real instance: wasm-bindgen methods read `this.__wbg_ptr`.
      return (...args: unknown[]) => {
        try {
          const result: unknown = Reflect.apply(value, target, args);
          return result instanceof Promise
            ? result.catch((error: unknown) => {
                throw translateEngineError(error, registry);
              })
            : result;
        } catch (error) {
          throw translateEngineError(error, registry);
        }
      };
    },
  });
}

function createFactory(connection: SchemaEngineConnection): SqlMigrationAwareDriverAdapterFactory {
  if (connection.provider === 'sqlite') return sqliteFactory(connection.file);
  return postgresFactoryWithShadow(connection.url);
}

/**
 * The engine replays migration scripts on the shadow database through `executeRaw`, which better-sqlite3
 * prepares as a single statement; a parameterless multi-statement script is run with `executeScript` instead.
 */
function sqliteFactory(file: string): SqlMigrationAwareDriverAdapterFactory {
  const inner = new PrismaBetterSqlite3({ url: file, timeout: 10_000 });
  const wrap = (adapter: SqlDriverAdapter): SqlDriverAdapter => {
    const executeRaw: SqlDriverAdapter['executeRaw'] = async (query) => {
      try {
        return await adapter.executeRaw(query);
      } catch (error) {
        if (query.args.length > 0 || !(error instanceof RangeError) || !/more than one statement/.test(error.message)) {
          throw error;
        }
        await adapter.executeScript(query.sql);
        return 0;
      }
    };
    return new Proxy(adapter, {
      get(target, property, receiver) {
        if (property === 'executeRaw') return executeRaw;
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  };
  return {
    provider: inner.provider,
    adapterName: inner.adapterName,
    connect: async () => wrap(await inner.connect()),
    connectToShadowDb: async () => wrap(await inner.connectToShadowDb()),
  };
}

/**
 * PrismaPg's own `connectToShadowDb` drops the shadow database while its pool is still connected, so the
 * drop fails; this one ends the pool first.
 */
function postgresFactoryWithShadow(url: string): SqlMigrationAwareDriverAdapterFactory {
  const { config, schema } = parsePostgresUrl(url);
  const pgOptions = schema ? { schema } : undefined;
  const main = new PrismaPg({ ...config, Client: CharAsTextClient }, pgOptions);
  return {
    provider: main.provider,
    adapterName: main.adapterName,
    connect: () => main.connect(),
    async connectToShadowDb(): Promise<SqlDriverAdapter> {
      const database = `${SHADOW_DATABASE_PREFIX}${process.pid}_${randomUUID().replaceAll('-', '')}`;
      await runAdminStatement(config, `CREATE DATABASE ${quoteIdentifier(database)}`);
      const shadowConfig: pg.PoolConfig = { ...config, database };
      try {
        if (schema) await runStatement(shadowConfig, `CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)}`);
        const shadow = await new PrismaPg({ ...shadowConfig, Client: CharAsTextClient }, pgOptions).connect();
        return withDispose(shadow, async () => {
          await shadow.dispose();
          await runAdminStatement(config, `DROP DATABASE IF EXISTS ${quoteIdentifier(database)} WITH (FORCE)`);
        });
      } catch (error) {
        await runAdminStatement(config, `DROP DATABASE IF EXISTS ${quoteIdentifier(database)} WITH (FORCE)`);
        throw error;
      }
    },
  };
}

/** Shadow databases are named `<prefix><pid>_<uuid>`, so leftovers of a killed process can be traced. */
export const SHADOW_DATABASE_PREFIX = 'granary_shadow_';

const PG_CHAR_OID = 18;
const PG_TEXT_OID = 25;

/**
 * The engine describes a PostgreSQL schema from pg_catalog columns of the one-byte `"char"` type, which
 * PrismaPg rejects as an unsupported column type; pg hands those values over as strings already, so
 * relabelling the columns as text is all the engine needs.
 */
class CharAsTextClient extends pg.Client {
  override query(...args: unknown[]): never {
    const last = args.at(-1);
    if (typeof last === 'function') {
      args[args.length - 1] = (error: unknown, result: unknown) => {
        relabelCharColumns(result);
        (last as (error: unknown, result: unknown) => void)(error, result);
      };
      return (super.query as (...a: unknown[]) => never)(...args);
    }
    const result: unknown = (super.query as (...a: unknown[]) => unknown)(...args);
    if (result instanceof Promise) {
      return result.then((value: unknown) => {
        relabelCharColumns(value);
        return value;
      }) as never;
    }
    return result as never;
  }
}

function relabelCharColumns(result: unknown): void {
  for (const one of Array.isArray(result) ? result : [result]) {
    const fields = (one as { fields?: { dataTypeID: number }[] } | undefined)?.fields;
    for (const field of fields ?? []) {
      if (field.dataTypeID === PG_CHAR_OID) field.dataTypeID = PG_TEXT_OID;
    }
  }
}

async function runAdminStatement(config: pg.PoolConfig, sql: string): Promise<void> {
  await runStatement({ ...config, options: undefined }, sql);
}

async function runStatement(config: pg.PoolConfig, sql: string): Promise<void> {
  const client = new pg.Client(config as pg.ClientConfig);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** An adapter whose `dispose` runs `dispose` once, however often it is called. */
function withDispose(adapter: SqlDriverAdapter, dispose: () => Promise<void>): SqlDriverAdapter {
  let done: Promise<void> | undefined;
  return new Proxy(adapter, {
    get(target, property, receiver) {
      if (property === 'dispose') return () => (done ??= dispose());
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * Wraps a factory so every adapter it hands out (main and shadow) is disposed exactly once: by the engine,
 * or by `disposeAll` when the engine is closed, since freeing the wasm engine does not dispose them.
 */
function trackAdapters(inner: SqlMigrationAwareDriverAdapterFactory): {
  factory: SqlMigrationAwareDriverAdapterFactory;
  disposeAll(): Promise<void>;
} {
  const open = new Set<SqlDriverAdapter>();
  const track = (adapter: SqlDriverAdapter): SqlDriverAdapter => {
    const wrapped = withDispose(adapter, async () => {
      open.delete(wrapped);
      await adapter.dispose();
    });
    open.add(wrapped);
    return wrapped;
  };
  return {
    factory: {
      provider: inner.provider,
      adapterName: inner.adapterName,
      connect: async () => track(await inner.connect()),
      connectToShadowDb: async () => track(await inner.connectToShadowDb()),
    },
    async disposeAll() {
      const results = await Promise.allSettled([...open].map((adapter) => adapter.dispose()));
      const failure = results.find((result) => result.status === 'rejected');
      if (failure) throw failure.reason;
    },
  };
}
