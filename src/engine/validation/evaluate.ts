import { ident, sqlString } from '../../domain/sql.ts';
import { parseFeatureType, type GroupSchema } from '../../domain/feature-types.ts';
import { checkKwargs, columnKind, isColumnMap, type ColumnKind, type Expectation, type ExpectationType } from './expectations.ts';

/** STRICT: a failing insert is rejected and nothing is written. ALWAYS: it is committed with its report. */
export type IngestionPolicy = 'STRICT' | 'ALWAYS';

/** A suite as evaluated: its expectations already validated by `parseExpectations`. */
export interface Suite {
  readonly name: string;
  readonly ingestionPolicy: IngestionPolicy;
  readonly expectations: readonly Expectation[];
}

/** The result of one expectation, shaped like a Great Expectations validation result (camelCase). */
export interface ExpectationResult {
  readonly expectationType: ExpectationType;
  readonly kwargs: Readonly<Record<string, unknown>>;
  readonly success: boolean;
  /** The statistic checked: the row count, or a column's min, max or mean; null for column-map expectations. */
  readonly observedValue: unknown;
  /** Rows evaluated. */
  readonly elementCount: number;
  /** Null values of the column (column expectations); null for the table expectation. */
  readonly missingCount: number | null;
  /** Values that broke a column-map expectation (nulls, for not_null; every value of a duplicate, for unique); null otherwise. */
  readonly unexpectedCount: number | null;
  /** unexpectedCount over the non-null values (over all rows, for not_null), in percent; null when there is none. */
  readonly unexpectedPercent: number | null;
  /** Up to 20 of the unexpected values. */
  readonly partialUnexpectedList: readonly unknown[] | null;
  /** Why the expectation could not be evaluated (its column is missing or of another type); it then fails. */
  readonly exceptionMessage: string | null;
}

/** A validation report: one suite over one insert's rows, shaped like a Great Expectations result. */
export interface ValidationReport {
  readonly suiteName: string;
  readonly ingestionPolicy: IngestionPolicy;
  readonly success: boolean;
  /** ISO 8601. */
  readonly evaluatedAt: string;
  readonly statistics: {
    readonly evaluated: number;
    readonly successful: number;
    readonly unsuccessful: number;
    readonly successPercent: number | null;
  };
  readonly results: readonly ExpectationResult[];
}

/**
 * Runs SQL over the rows to validate: `build` receives a SELECT of those rows (one column per
 * feature, of its type) and returns statements; the runner returns each statement's rows with
 * values as JSON (DOUBLE and BOOLEAN as numbers and booleans, VARCHAR as strings).
 */
export type QueryRunner = (build: (rows: string) => readonly string[]) => Promise<unknown[][][]>;

/** At most this many unexpected values per failing expectation. */
export const PARTIAL_UNEXPECTED = 20;

/**
 * SQL that reads the rows: the runner's SELECT is inlined at each use, not put in a CTE, which
 * DuckDB materializes, every column of it, when it is read more than once.
 */
type Sql = (rows: string) => string;

interface Planned {
  readonly index: number;
  readonly expectation: Expectation;
  readonly column: string | null;
  readonly kind: ColumnKind | null;
  /** Select-list positions of this expectation's figures in the aggregate query. */
  readonly slots: Record<string, number>;
}

/** The aggregate query's select list, the plan of each expectation it evaluates, and why the others cannot be. */
interface SuitePlan {
  readonly select: readonly (string | Sql)[];
  readonly planned: readonly Planned[];
  /** Expectation index → why it cannot be evaluated (kwargs that do not fit the schema). */
  readonly exceptions: ReadonlyMap<number, string>;
}

/** The aggregate query's figures: the row count first, then the slots of each plan. */
type Figures = readonly unknown[];

/**
 * Evaluates a suite over rows in two statements at most: one aggregate SELECT computing every
 * expectation's counts and statistics, then, when some column-map expectation failed, one SELECT
 * of up to 20 unexpected values per failing expectation.
 */
export async function evaluateSuite(suite: Suite, schema: GroupSchema, run: QueryRunner, now: Date = new Date()): Promise<ValidationReport> {
  const plan = planSuite(suite, schema);
  const [aggregateRows] = await run((rows) => [`SELECT ${plan.select.map((sql) => (typeof sql === 'string' ? sql : sql(rows))).join(', ')} FROM (${rows})`]);
  const figures = aggregateRows![0]!;
  const n = Number(figures[0]);

  const results = new Map<number, ExpectationResult>();
  const samples: Planned[] = [];
  for (const planned of plan.planned) {
    const { result, sample } = plannedResult(planned, figures, n);
    results.set(planned.index, result);
    if (sample) samples.push(planned);
  }
  if (samples.length > 0) await sampleUnexpected(samples, run, results);
  for (const [index, message] of plan.exceptions) results.set(index, exceptionResult(suite.expectations[index]!, n, message));
  return suiteReport(
    suite,
    suite.expectations.map((_, i) => results.get(i)!),
    now,
  );
}

/** Checks each expectation against the schema and gives the aggregate figures it needs a slot each. */
function planSuite(suite: Suite, schema: GroupSchema): SuitePlan {
  const select: (string | Sql)[] = ['CAST(COUNT(*) AS DOUBLE)'];
  const slot = (sql: string | Sql) => select.push(sql) - 1;
  const exceptions = new Map<number, string>();
  const planned: Planned[] = [];
  suite.expectations.forEach((expectation, index) => {
    const problems = checkKwargs(expectation.type, expectation.kwargs, schema);
    if (problems.length > 0) {
      exceptions.set(index, problems.map((p) => `kwarg ${p.kwarg}: ${p.message}`).join('; '));
      return;
    }
    const column = typeof expectation.kwargs.column === 'string' ? expectation.kwargs.column : null;
    const feature = column === null ? null : schema.features.find((f) => f.name === column)!;
    const kind = feature ? columnKind(parseFeatureType(feature.type)) : null;
    const slots = column !== null && kind !== null ? columnSlots(expectation, column, kind, slot) : {};
    planned.push({ index, expectation, column, kind, slots });
  });
  return { select, planned, exceptions };
}

/** Adds the figures of a column expectation to the aggregate query; returns their positions. */
function columnSlots(expectation: Expectation, column: string, kind: ColumnKind, slot: (sql: string | Sql) => number): Record<string, number> {
  const slots: Record<string, number> = {};
  const v = ident(column);
  slots.nonNull = slot(`CAST(COUNT(${v}) AS DOUBLE)`);
  const condition = valueCondition(expectation, v, kind);
  if (condition !== null) slots.unexpected = slot(`CAST(COUNT(*) FILTER (WHERE ${v} IS NOT NULL AND NOT (${condition})) AS DOUBLE)`);
  if (expectation.type === 'expect_column_values_to_be_unique') {
    slots.unexpected = slot(
      (rows) =>
        `(SELECT CAST(COALESCE(SUM(c), 0) AS DOUBLE) FROM (SELECT COUNT(*) AS c FROM (${rows}) WHERE ${v} IS NOT NULL GROUP BY ${v} HAVING COUNT(*) > 1))`,
    );
  }
  const aggregate = AGGREGATES[expectation.type];
  if (aggregate) {
    const value = `${aggregate}(${v})`;
    slots.observed = slot(aggregate === 'AVG' ? `CAST(AVG(${v}) AS DOUBLE)` : observedSql(kind, value));
    slots.inBounds = slot(`COALESCE(${boundsCondition(expectation, value, kind)}, false)`);
  }
  return slots;
}

/** One planned expectation's result from the aggregate figures; `sample` when its unexpected values are to be listed. */
function plannedResult(plan: Planned, figures: Figures, n: number): { result: ExpectationResult; sample: boolean } {
  const { expectation, slots } = plan;
  const number = (position: number | undefined) => (position === undefined ? 0 : Number(figures[position] ?? 0));
  const base = { expectationType: expectation.type, kwargs: expectation.kwargs, elementCount: n, exceptionMessage: null };
  if (plan.column === null) {
    const min = expectation.kwargs.min_value as number | null | undefined;
    const max = expectation.kwargs.max_value as number | null | undefined;
    const success = (min == null || n >= min) && (max == null || n <= max);
    return {
      result: { ...base, success, observedValue: n, missingCount: null, unexpectedCount: null, unexpectedPercent: null, partialUnexpectedList: null },
      sample: false,
    };
  }
  const nonNull = number(slots.nonNull);
  const missingCount = n - nonNull;
  if (!isColumnMap(expectation.type)) {
    const success = figures[slots.inBounds!] === true;
    const observedValue = figures[slots.observed!] ?? null;
    return {
      result: { ...base, success, observedValue, missingCount, unexpectedCount: null, unexpectedPercent: null, partialUnexpectedList: null },
      sample: false,
    };
  }
  const notNull = expectation.type === 'expect_column_values_to_not_be_null';
  const unexpectedCount = notNull ? missingCount : number(slots.unexpected);
  const domain = notNull ? n : nonNull;
  const mostly = typeof expectation.kwargs.mostly === 'number' ? expectation.kwargs.mostly : 1;
  // Vacuously true with no values, as in Great Expectations; a tiny tolerance for mostly's float arithmetic.
  const success = domain === 0 || (domain - unexpectedCount) / domain >= mostly - 1e-12;
  const result: ExpectationResult = {
    ...base,
    success,
    observedValue: null,
    missingCount,
    unexpectedCount,
    unexpectedPercent: domain === 0 ? null : (unexpectedCount / domain) * 100,
    partialUnexpectedList: notNull ? new Array(Math.min(unexpectedCount, PARTIAL_UNEXPECTED)).fill(null) : [],
  };
  return { result, sample: !notNull && unexpectedCount > 0 && !success };
}

/** Reads up to 20 unexpected values of each failing column-map expectation into its result, in one statement. */
async function sampleUnexpected(samples: readonly Planned[], run: QueryRunner, results: Map<number, ExpectationResult>): Promise<void> {
  const parts = samples.map((plan) => (rows: string) => {
    const v = ident(plan.column!);
    const where =
      plan.expectation.type === 'expect_column_values_to_be_unique'
        ? `${v} IN (SELECT ${v} FROM (${rows}) WHERE ${v} IS NOT NULL GROUP BY ${v} HAVING COUNT(*) > 1)`
        : `${v} IS NOT NULL AND NOT (${valueCondition(plan.expectation, v, plan.kind!)})`;
    return `(SELECT ${plan.index} AS "#e", ${jsonSql(plan.kind!, v)} AS "#v" FROM (${rows}) WHERE ${where} LIMIT ${PARTIAL_UNEXPECTED})`;
  });
  const [sampleRows] = await run((rows) => [parts.map((part) => part(rows)).join(' UNION ALL ')]);
  const lists = new Map<number, unknown[]>();
  for (const [index, value] of sampleRows!) {
    const list = lists.get(Number(index)) ?? [];
    list.push(value == null ? null : JSON.parse(String(value)));
    lists.set(Number(index), list);
  }
  for (const plan of samples) {
    results.set(plan.index, { ...results.get(plan.index)!, partialUnexpectedList: lists.get(plan.index) ?? [] });
  }
}

/** The failed result of an expectation that could not be evaluated. */
function exceptionResult(expectation: Expectation, n: number, message: string): ExpectationResult {
  return {
    expectationType: expectation.type,
    kwargs: expectation.kwargs,
    success: false,
    observedValue: null,
    elementCount: n,
    missingCount: null,
    unexpectedCount: null,
    unexpectedPercent: null,
    partialUnexpectedList: null,
    exceptionMessage: message,
  };
}

/** The report of a suite from its results, in the suite's order. */
function suiteReport(suite: Suite, ordered: readonly ExpectationResult[], now: Date): ValidationReport {
  const successful = ordered.filter((r) => r.success).length;
  return {
    suiteName: suite.name,
    ingestionPolicy: suite.ingestionPolicy,
    success: successful === ordered.length,
    evaluatedAt: now.toISOString(),
    statistics: {
      evaluated: ordered.length,
      successful,
      unsuccessful: ordered.length - successful,
      successPercent: ordered.length === 0 ? null : (successful / ordered.length) * 100,
    },
    results: ordered,
  };
}

/** One line per failed expectation, for messages and alerts: `#2 expect_column_values_to_be_between(tenure): 3 unexpected (30%)`. */
export function describeFailures(report: ValidationReport): string[] {
  return report.results.flatMap((r, i) => {
    if (r.success) return [];
    const column = typeof r.kwargs.column === 'string' ? `(${r.kwargs.column})` : '';
    const detail =
      r.exceptionMessage !== null
        ? r.exceptionMessage
        : r.unexpectedCount !== null
          ? `${r.unexpectedCount} unexpected${r.unexpectedPercent === null ? '' : ` (${round(r.unexpectedPercent)}%)`}`
          : `observed ${JSON.stringify(r.observedValue)}`;
    return [`#${i} ${r.expectationType}${column}: ${detail}`];
  });
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

const AGGREGATES: Partial<Record<ExpectationType, 'MIN' | 'MAX' | 'AVG'>> = {
  expect_column_min_to_be_between: 'MIN',
  expect_column_max_to_be_between: 'MAX',
  expect_column_mean_to_be_between: 'AVG',
};

/** The condition a non-null value `v` must meet, for the per-value expectations that have one. */
function valueCondition(expectation: Expectation, v: string, kind: ColumnKind): string | null {
  switch (expectation.type) {
    case 'expect_column_values_to_be_between':
      return boundsCondition(expectation, v, kind);
    case 'expect_column_values_to_be_in_set':
      return `${v} IN (${(expectation.kwargs.value_set as unknown[]).map((value) => literalSql(kind, value)).join(', ')})`;
    case 'expect_column_values_to_match_regex':
      return `regexp_matches(${v}, ${sqlString(expectation.kwargs.regex as string)})`;
    default:
      return null;
  }
}

/** `value` within the expectation's min_value/max_value (strict_min/strict_max exclude the bound). */
function boundsCondition(expectation: Expectation, value: string, kind: ColumnKind): string {
  const { min_value: min, max_value: max, strict_min: strictMin, strict_max: strictMax } = expectation.kwargs;
  const parts: string[] = [];
  if (min != null) parts.push(`${value} ${strictMin ? '>' : '>='} ${literalSql(kind, min)}`);
  if (max != null) parts.push(`${value} ${strictMax ? '<' : '<='} ${literalSql(kind, max)}`);
  return parts.length === 0 ? 'true' : `(${parts.join(' AND ')})`;
}

/** A validated literal as SQL of the column's kind (checked by `checkKwargs`). */
function literalSql(kind: ColumnKind, value: unknown): string {
  switch (kind) {
    case 'numeric':
      return `CAST(${sqlString(String(value))} AS DOUBLE)`;
    case 'boolean':
      return value === true ? 'true' : 'false';
    case 'date':
      return `CAST(${sqlString(String(value))} AS DATE)`;
    case 'timestamp':
      // Text without a zone is UTC (the store's session zone); with one, converted to UTC.
      return `CAST(CAST(${sqlString(String(value))} AS TIMESTAMPTZ) AS TIMESTAMP)`;
    default:
      return sqlString(String(value));
  }
}

const ISO_FORMAT = `'%Y-%m-%dT%H:%M:%S.%fZ'`;

/** A statistic as a JSON-friendly value: numbers as DOUBLE, timestamps as ISO 8601 text, dates as text. */
function observedSql(kind: ColumnKind, value: string): string {
  switch (kind) {
    case 'numeric':
      return `CAST(${value} AS DOUBLE)`;
    case 'timestamp':
      return `strftime(${value}, ${ISO_FORMAT})`;
    default:
      return `CAST(${value} AS VARCHAR)`;
  }
}

/** A column value as JSON text, for samples of unexpected values. */
function jsonSql(kind: ColumnKind, v: string): string {
  switch (kind) {
    case 'numeric':
      return `CAST(to_json(CAST(${v} AS DOUBLE)) AS VARCHAR)`;
    case 'timestamp':
      return `CAST(to_json(strftime(${v}, ${ISO_FORMAT})) AS VARCHAR)`;
    case 'date':
      return `CAST(to_json(CAST(${v} AS VARCHAR)) AS VARCHAR)`;
    default:
      return `CAST(to_json(${v}) AS VARCHAR)`;
  }
}
