import { ValidationError } from '../../errors.ts';
import type { GroupRows } from '../../stores/offline/offline-store.ts';
import { ident } from '../../domain/sql.ts';
import { EPOCH_MILLIS_THRESHOLD } from '../../domain/timestamps.ts';
import { parseFeatureType, type GroupSchema, type ParsedType } from '../../domain/feature-types.ts';
import { likeToRe2 } from '../linear-regex.ts';
import { groupKey, type GroupRef, type ViewFilter, type ViewQuery } from './query.ts';
import { literalSql, timestampMicros, timestampSql } from './values.ts';

/**
 * A feature view query → one DuckDB statement over the groups' committed Parquet files.
 *
 * Semantics:
 * - Each group contributes its visible rows: per identity (primary key + event time), the row of
 *   the latest commit among the files given (time travel = give the files of commits up to then).
 * - A joined group with event time is joined as of the left row's event time: for each left row,
 *   the joined row with equal keys and the newest event time at or before it (ties included: an
 *   equal event time matches). No joined value with a later event time is ever used. A joined
 *   group without event time joins on keys only. A left group without event time takes, per key,
 *   each joined group's row with the newest event time.
 * - LEFT keeps every left row (features of a missing match are null); INNER drops left rows
 *   without a match. Null keys and null event times match nothing.
 * - Filters on the left group's features apply to its visible rows before the joins; filters on
 *   joined features apply to the joined values (after the joins): SQL comparisons, so after a
 *   LEFT join without a match only `EQ null` holds.
 * - Event times of different types compare as UTC timestamps: TIMESTAMP as is, DATE as midnight
 *   UTC at the start of the day, BIGINT epoch as seconds, or milliseconds when its magnitude
 *   exceeds 1e11 (the offline store's rule, per value; out-of-range values are null).
 *   `startTime` (inclusive) and `endTime` (exclusive) bound the left row's event time so.
 *
 * How: every join is a DuckDB `ASOF JOIN` (or a hash join for a group without event time), which
 * sorts each side once. Superseded rows are removed by the offline store when it knows which
 * commits superseded rows (`GroupRows.superseded` false: the join is on event time alone); when
 * it does not, the as-of inequality is on (event time, commit rank), so of two rows of one
 * identity the later commit's always wins.
 */

/**
 * What the compiler reads for a group: its rows as the offline store gives them (`OfflineStore.rows`,
 * or `relationRows` for an external group). With `superseded`, the left group asks for `latest`
 * rows and a joined group for a commit rank, so that of two rows of one identity the later
 * commit's wins in the as-of join; without, rows are read as they are.
 */
export type GroupSource = GroupRows;

export type TimeBound = Date | string | number;

export interface CompileOptions {
  /** Only left rows with an event time at or after this (ISO 8601 text, a Date, or epoch seconds/ms). */
  readonly startTime?: TimeBound | null;
  /** Only left rows with an event time before this. */
  readonly endTime?: TimeBound | null;
  /** At most this many rows, the first in the left group's key order. */
  readonly limit?: number | null;
  /** Adds EVENT_TIME_COLUMN: the left row's event time as a TIMESTAMP (null when the left group has none). */
  readonly includeEventTime?: boolean;
  /** Adds the left group's primary-key features as `keyColumn(name)`. */
  readonly includeKeys?: boolean;
  /** Orders rows by the left group's primary key, then event time (implied by limit). */
  readonly ordered?: boolean;
}

/** Hidden output column: the left row's event time as TIMESTAMP (splits by time, ordering). */
export const EVENT_TIME_COLUMN = '#event_time';

/** Hidden output column of a left primary-key feature. */
export function keyColumn(feature: string): string {
  return `#key.${feature}`;
}

/** Rank of any commit, above every (epoch µs × 2^32 + file rank) of a real row. */
const TOP = '1267650600228229401496703205376'; // 2^100
const RANK_SCALE = '4294967296'; // 2^32 files

/** An event time column as a TIMESTAMP expression (see the rules above). */
export function eventTimeSql(column: string, type: ParsedType): string {
  if (type.kind === 'scalar' && type.name === 'TIMESTAMP') return column;
  if (type.kind === 'scalar' && type.name === 'DATE') return `CAST(${column} AS TIMESTAMP)`;
  const threshold = String(EPOCH_MILLIS_THRESHOLD);
  return `TRY(make_timestamp(CASE WHEN abs(${column}) > ${threshold} THEN ${column} * 1000 ELSE ${column} * 1000000 END))`;
}

function eventTimeOf(schema: GroupSchema, column = ident(schema.eventTime!)): string {
  const feature = schema.features.find((f) => f.name === schema.eventTime)!;
  return eventTimeSql(column, parseFeatureType(feature.type));
}

function featureType(schema: GroupSchema, name: string): ParsedType {
  return parseFeatureType(schema.features.find((f) => f.name === name)!.type);
}

function filterSql(column: string, type: ParsedType, filter: ViewFilter): string {
  const { op, value } = filter;
  if (value === null) return op === 'EQ' ? `${column} IS NULL` : `${column} IS NOT NULL`;
  switch (op) {
    case 'IN':
      return `${column} IN (${(value as unknown[]).map((v) => literalSql(type, v)).join(', ')})`;
    case 'LIKE':
      // Not DuckDB's LIKE, which backtracks: the same pattern on RE2, linear in the value.
      return `regexp_full_match(${column}, ${literalSql(type, likeToRe2(value as string))})`;
    default: {
      const sqlOp = { EQ: '=', NE: '<>', LT: '<', LE: '<=', GT: '>', GE: '>=' }[op];
      return `${column} ${sqlOp} ${literalSql(type, value)}`;
    }
  }
}

function boundMicros(value: TimeBound, name: 'startTime' | 'endTime'): bigint {
  const micros = timestampMicros(value);
  if (micros === null) throw ValidationError.at([name], `${name} ${JSON.stringify(value)} is not a valid time (ISO 8601 or epoch)`);
  return micros;
}

function sourceOf(sources: ReadonlyMap<string, GroupSource>, group: GroupRef): GroupSource {
  const entry = sources.get(groupKey(group));
  if (entry === undefined) throw new Error(`compileViewSql: no rows given for feature group ${group.name} version ${group.version}`);
  return entry;
}

const unique = (names: readonly string[]) => [...new Set(names)];

/**
 * Compiles a normalized query to one SQL statement whose columns are `viewColumns(query)` in order,
 * then the hidden columns asked for (EVENT_TIME_COLUMN, then `keyColumn(k)` per left key).
 * `files` maps `groupKey(ref)` of every group of the query to its rows (`GroupSource`). Throws ValidationError at `['startTime']`/`['endTime']` for a bad bound, or a
 * bound on a left group without event time.
 */
export function compileViewSql(query: ViewQuery, files: ReadonlyMap<string, GroupSource>, options: CompileOptions = {}): string {
  const left = query.left;
  const leftSchema = left.schema;
  const leftEt = leftSchema.eventTime;
  const ordered = options.ordered === true || options.limit != null;

  // Where each output name comes from, for filters.
  const sources = new Map<string, { alias: string; feature: string; type: ParsedType; join: number | null }>();
  for (const feature of left.features) sources.set(feature, { alias: 'l', feature, type: featureType(leftSchema, feature), join: null });
  query.joins.forEach((join, j) => {
    for (const feature of join.features) {
      sources.set(`${join.prefix ?? ''}${feature}`, { alias: `r${j}`, feature, type: featureType(join.schema, feature), join: j });
    }
  });
  const leftFilters: string[] = [];
  const joinedFilters: string[] = [];
  for (const filter of query.filters) {
    const source = sources.get(filter.feature);
    if (!source) throw new Error(`compileViewSql: filter on "${filter.feature}", which is not an output feature`);
    if (source.join === null) leftFilters.push(filterSql(ident(source.feature), source.type, filter));
    else joinedFilters.push(filterSql(`${source.alias}.${ident(source.feature)}`, source.type, filter));
  }

  // The left relation: visible rows, the time window and left filters, plus the as-of columns.
  const leftFiles = sourceOf(files, left.group);
  const joinFiles = query.joins.map((join) => sourceOf(files, join.group));
  const leftColumns = unique([
    ...left.features,
    ...query.joins.flatMap((join) => join.on.map((k) => k.left)),
    ...(options.includeKeys || ordered ? leftSchema.primaryKey : []),
    ...(leftEt !== null ? [leftEt] : []),
  ]);
  const et = leftEt === null ? null : eventTimeOf(leftSchema);
  const window: string[] = [];
  for (const [name, op] of [
    ['startTime', '>='],
    ['endTime', '<'],
  ] as const) {
    const bound = options[name];
    if (bound == null) continue;
    if (et === null) {
      throw ValidationError.at([name], `${name} needs a left group with event time; ${left.group.name} version ${left.group.version} has none`);
    }
    window.push(`${et} ${op} ${timestampSql(boundMicros(bound, name))}`);
  }
  const needsAsof = query.joins.some((join, j) => join.schema.eventTime !== null && joinFiles[j]!.superseded);
  const needsTop = query.joins.some((join, j) => join.schema.eventTime === null && joinFiles[j]!.superseded);
  const leftSelect = [
    ...leftColumns.map(ident),
    `${et ?? `CAST('infinity' AS TIMESTAMP)`} AS "#et"`,
    ...(needsAsof ? [`${et === null ? `CAST(${TOP} AS HUGEINT)` : `CAST(epoch_us(${et}) AS HUGEINT) * ${RANK_SCALE} + (${RANK_SCALE} - 1)`} AS "#asof"`] : []),
    ...(needsTop ? [`CAST(${TOP} AS HUGEINT) AS "#top"`] : []),
  ];
  const leftWhere = [...window, ...leftFilters];
  const leftRows = leftFiles.sql({ columns: leftColumns, latest: leftFiles.superseded });
  const leftSql = `SELECT ${leftSelect.join(', ')} FROM (${leftRows})${leftWhere.length > 0 ? ` WHERE ${leftWhere.join(' AND ')}` : ''}`;

  // The joins.
  const joinSql = query.joins.map((join, j) => {
    const alias = `r${j}`;
    const { superseded } = joinFiles[j]!;
    const rightEt = join.schema.eventTime;
    const columns = unique([...join.on.map((k) => k.right), ...join.features, ...(rightEt !== null ? [rightEt] : [])]);
    const rows = joinFiles[j]!.sql({ columns, latest: false, ...(superseded ? { commitRank: '#rank' } : {}) });
    const select = [...columns.map(ident), ...(rightEt !== null ? [`${eventTimeOf(join.schema)} AS "#et"`] : []), ...(superseded ? ['"#rank"'] : [])];
    const keys = join.on.map((k) => `l.${ident(k.left)} = ${alias}.${ident(k.right)}`);
    let kind: string;
    if (rightEt !== null) {
      kind = 'ASOF ';
      keys.push(superseded ? `l."#asof" >= CAST(epoch_us(${alias}."#et") AS HUGEINT) * ${RANK_SCALE} + ${alias}."#rank"` : `l."#et" >= ${alias}."#et"`);
    } else if (superseded) {
      kind = 'ASOF ';
      keys.push(`l."#top" >= ${alias}."#rank"`);
    } else {
      kind = '';
    }
    const type = join.type === 'LEFT' ? 'LEFT JOIN' : 'JOIN';
    return `${kind}${type} (SELECT ${select.join(', ')} FROM (${rows})) AS ${alias} ON ${keys.join(' AND ')}`;
  });

  // Output columns, hidden columns, filters on joined features, order and limit.
  const output = [
    ...left.features.map((f) => `l.${ident(f)} AS ${ident(f)}`),
    ...query.joins.flatMap((join, j) => join.features.map((f) => `r${j}.${ident(f)} AS ${ident(`${join.prefix ?? ''}${f}`)}`)),
    ...(options.includeEventTime ? [`${et === null ? 'CAST(NULL AS TIMESTAMP)' : 'l."#et"'} AS ${ident(EVENT_TIME_COLUMN)}`] : []),
    ...(options.includeKeys ? leftSchema.primaryKey.map((k) => `l.${ident(k)} AS ${ident(keyColumn(k))}`) : []),
  ];
  let sql = `SELECT ${output.join(', ')} FROM (${leftSql}) AS l`;
  if (joinSql.length > 0) sql += ` ${joinSql.join(' ')}`;
  if (joinedFilters.length > 0) sql += ` WHERE ${joinedFilters.join(' AND ')}`;
  if (ordered) sql += ` ORDER BY ${[...leftSchema.primaryKey, ...(leftEt !== null ? [leftEt] : [])].map((k) => `l.${ident(k)}`).join(', ')}`;
  if (options.limit != null) {
    if (!Number.isInteger(options.limit) || options.limit < 0) throw ValidationError.at(['limit'], 'limit must be a non-negative integer');
    sql += ` LIMIT ${options.limit}`;
  }
  return sql;
}
