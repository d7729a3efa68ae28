import { createHash } from 'node:crypto';

import { Redis } from 'ioredis';

import { shortestFloat32 } from '../../domain/float32.ts';
import { parseFeatureType, type GroupSchema } from '../../domain/feature-types.ts';
import { ValidationError } from '../../errors.ts';
import { rowsToColumns, type OnlineColumns, type OnlineRow, type OnlineStore, type OnlineTable } from './online-store.ts';

/** Options of {@link RedisOnlineStore}. */
export interface RedisOnlineStoreOptions {
  /** `redis://…` or `rediss://…`. */
  readonly url: string;
  /** Prepended to every key (default `granary:`); tests use a unique one per run. */
  readonly keyPrefix?: string;
  /** Rows per script call and keys per MGET (default 1000): bounds how long one call blocks Redis. */
  readonly batchSize?: number;
}

/**
 * Newest-event-wins for a batch: KEYS are the rows' keys, ARGV[1] the commit id, then per row its
 * event time ('' for none) and its packed value `<event time>|<commit id>|<JSON array>`. A row
 * replaces the stored one when its event time is newer (a missing one counts as oldest), or equal
 * and its commit id is not older; rows are applied in order, so on a full tie the later one wins.
 * Only the head of a stored value is read (GETRANGE), whatever the size of its features.
 */
const WRITE_SCRIPT = `
local cid = ARGV[1]
for i = 1, #KEYS do
  local et = ARGV[2 * i]
  local win = true
  local head = redis.call('GETRANGE', KEYS[i], 0, 127)
  if head ~= '' then
    local p1 = string.find(head, '|', 1, true)
    local p2 = p1 and string.find(head, '|', p1 + 1, true)
    if not p2 then
      head = redis.call('GET', KEYS[i])
      p1 = string.find(head, '|', 1, true)
      p2 = string.find(head, '|', p1 + 1, true)
    end
    local oet = string.sub(head, 1, p1 - 1)
    local ocid = string.sub(head, p1 + 1, p2 - 1)
    if et == oet then
      win = cid >= ocid
    elseif et == '' then
      win = false
    elseif oet ~= '' then
      local a, b = tonumber(et), tonumber(oet)
      if a < b then win = false elseif a == b then win = cid >= ocid end
    end
  end
  if win then redis.call('SET', KEYS[i], ARGV[2 * i + 1]) end
end
return #KEYS
`;

/** SHA-1 of the script, as Redis names it: the first EVALSHA can follow SCRIPT LOAD in the same pipeline. */
const SCRIPT_SHA = createHash('sha1').update(WRITE_SCRIPT).digest('hex');

/** Per caller schema: feature names in order and the row-object builder. */
interface Codec {
  readonly names: readonly string[];
  readonly build: (values: readonly unknown[]) => Record<string, unknown>;
  /** Columns of FLOAT features: written as the float's shortest decimal. */
  readonly floats: ReadonlySet<number>;
}

/**
 * A function building `{ [names[i]]: values[i] ?? null }` with one fixed shape, generated once per
 * schema (a literal is far faster than assigning in a loop). Names are JSON string literals, so any
 * name is safe; `__proto__` becomes a computed key, which defines an own property.
 */
function objectFactory(names: readonly string[]): (values: readonly unknown[]) => Record<string, unknown> {
  const fields = names.map((name, i) => {
    const literal = JSON.stringify(name);
    return `${name === '__proto__' ? `[${literal}]` : literal}: v[${i}] ?? null`;
  });
  return new Function('v', `return { ${fields.join(', ')} };`) as (values: readonly unknown[]) => Record<string, unknown>;
}

/** Escapes Redis glob characters so a literal prefix can head a SCAN pattern. */
const globEscape = (text: string) => text.replace(/[*?[\]\\]/g, '\\$&');

/**
 * The online store at scale: one Redis string per row, `<prefix><table id>:<JSON key>` (`%` and `:`
 * in the table id escaped, so one table's keys never match another's), holding
 * `<event time>|<commit id>|<JSON array of features in schema order>`. Features are append-only
 * within a group version, so a row written before features were appended reads them as null.
 *
 * A write is one pipeline (one round trip): a Lua script (EVALSHA, loaded once) applies each batch
 * of rows under newest-event-wins atomically. Each script call is atomic; a call spanning several
 * batches is not (Redis has no rollback), but a write is idempotent, so a retried commit converges.
 * A read is one MGET per batch of keys, pipelined.
 */
export class RedisOnlineStore implements OnlineStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #batchSize: number;
  readonly #codecs = new WeakMap<GroupSchema, Codec>();
  readonly #tablePrefixes = new Map<string, string>();
  #scriptLoaded = false;
  #closed = false;

  constructor(options: RedisOnlineStoreOptions) {
    if (!/^rediss?:\/\//.test(options.url)) throw ValidationError.at(['url'], 'the online store URL must start with redis:// or rediss://');
    // Connects on first use, so opening a store (and closing an unused one) never waits on the network.
    this.#redis = new Redis(options.url, { lazyConnect: true });
    this.#prefix = options.keyPrefix ?? 'granary:';
    this.#batchSize = Math.max(1, options.batchSize ?? 1000);
  }

  async ensure(table: OnlineTable): Promise<void> {
    // Rows carry their own layout; nothing to create. Check what a write would rely on.
    const names = new Set(table.schema.features.map((f) => f.name));
    for (const k of table.schema.primaryKey) {
      if (!names.has(k)) throw ValidationError.at(['primaryKey'], `online table ${table.id}: primary key ${k} is not a feature`);
    }
  }

  async write(table: OnlineTable, rows: readonly OnlineRow[], commitId: string): Promise<void> {
    if (rows.length === 0) return;
    await this.writeColumns(table, rowsToColumns(table.schema, rows), commitId);
  }

  async writeColumns(table: OnlineTable, rows: OnlineColumns, commitId: string): Promise<void> {
    const total = rows.rowCount;
    if (total === 0) return;
    const { names, floats } = this.#codec(table.schema);
    const prefix = this.#tablePrefix(table.id);
    const header = `|${commitId}|`;
    const keyColumns = table.schema.primaryKey.map((k) => rows.columns[names.indexOf(k)]!);
    const { columns, eventTimes } = rows;
    const width = names.length;
    const calls: string[][] = [];
    for (let start = 0; start < total; start += this.#batchSize) {
      const end = Math.min(total, start + this.#batchSize);
      const n = end - start;
      const args = new Array<string>(2 * n + 1 + n);
      // EVALSHA <sha> <numkeys> key… cid (et value)…
      args[n] = commitId;
      for (let i = 0; i < n; i++) {
        const r = start + i;
        const key = new Array<unknown>(keyColumns.length);
        for (let k = 0; k < keyColumns.length; k++) key[k] = keyColumns[k]![r] ?? null;
        const packed = new Array<unknown>(width);
        for (let c = 0; c < width; c++) {
          const v = columns[c]![r] ?? null;
          packed[c] = typeof v === 'number' && floats.has(c) ? shortestFloat32(v) : v;
        }
        const eventTime = eventTimes[r];
        const et = eventTime === null || eventTime === undefined ? '' : String(eventTime);
        args[i] = prefix + JSON.stringify(key);
        args[n + 1 + 2 * i] = et;
        args[n + 2 + 2 * i] = et + header + JSON.stringify(packed);
      }
      calls.push(args);
    }
    await this.#runScript(calls);
  }

  async read(table: OnlineTable, keys: readonly (readonly unknown[])[]): Promise<(Record<string, unknown> | null)[]> {
    if (keys.length === 0) return [];
    const { build } = this.#codec(table.schema);
    const prefix = this.#tablePrefix(table.id);
    const redisKeys = keys.map((key) => prefix + JSON.stringify(key));
    let values: (string | null)[];
    if (redisKeys.length <= this.#batchSize) {
      values = await this.#redis.mget(redisKeys);
    } else {
      const pipeline = this.#redis.pipeline();
      for (let i = 0; i < redisKeys.length; i += this.#batchSize) pipeline.mget(redisKeys.slice(i, i + this.#batchSize));
      values = (checked(await pipeline.exec()) as (string | null)[][]).flat();
    }
    const out = new Array<Record<string, unknown> | null>(values.length);
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (value === null || value === undefined) {
        out[i] = null;
        continue;
      }
      const start = value.indexOf('|', value.indexOf('|') + 1) + 1;
      out[i] = build(JSON.parse(value.slice(start)) as unknown[]);
    }
    return out;
  }

  async drop(table: OnlineTable): Promise<void> {
    const pattern = `${globEscape(this.#tablePrefix(table.id))}*`;
    let cursor = '0';
    do {
      const [next, found] = await this.#redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (found.length > 0) await this.#redis.unlink(...found);
      cursor = next;
    } while (cursor !== '0');
  }

  async ping(): Promise<void> {
    await this.#redis.ping();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#redis.status === 'wait') {
      this.#redis.disconnect();
      return;
    }
    try {
      await this.#redis.quit();
    } catch {
      this.#redis.disconnect();
    }
  }

  #codec(schema: GroupSchema): Codec {
    let codec = this.#codecs.get(schema);
    if (codec === undefined) {
      const names = schema.features.map((f) => f.name);
      const floats = new Set(
        schema.features.flatMap((f, i) => {
          const t = parseFeatureType(f.type);
          return t.kind === 'scalar' && t.name === 'FLOAT' ? [i] : [];
        }),
      );
      codec = { names, build: objectFactory(names), floats };
      this.#codecs.set(schema, codec);
    }
    return codec;
  }

  #tablePrefix(id: string): string {
    let prefix = this.#tablePrefixes.get(id);
    if (prefix === undefined) {
      prefix = `${this.#prefix}${id.replace(/[%:]/g, (c) => (c === '%' ? '%25' : '%3A'))}:`;
      this.#tablePrefixes.set(id, prefix);
    }
    return prefix;
  }

  /**
   * One pipeline: SCRIPT LOAD on first use, then one EVALSHA per batch. When Redis lost the script
   * (restart, SCRIPT FLUSH) it answers NOSCRIPT; reload and rerun, which is safe as writes are idempotent.
   */
  async #runScript(calls: readonly string[][]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const pipeline = this.#redis.pipeline();
      const loading = !this.#scriptLoaded;
      if (loading) pipeline.script('LOAD', WRITE_SCRIPT);
      for (const args of calls) pipeline.evalsha(SCRIPT_SHA, (args.length - 1) / 3, ...args);
      const results = await pipeline.exec();
      if (loading && results?.[0]?.[0] === null) this.#scriptLoaded = true;
      if (attempt === 0 && results?.some(([error]) => error?.message.startsWith('NOSCRIPT'))) {
        this.#scriptLoaded = false;
        continue;
      }
      checked(results);
      return;
    }
  }
}

/** Replies of a pipeline, throwing its first error. */
function checked(results: [Error | null, unknown][] | null): unknown[] {
  if (results === null) throw new Error('redis pipeline was discarded');
  return results.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}
