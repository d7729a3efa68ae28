import { z } from 'zod';
import { ValidationError, type InputIssue, issueMessage } from '../../errors.ts';
import { linearRegexProblem } from '../linear-regex.ts';
import { parseFeatureType, type GroupSchema, type ParsedType } from '../../domain/feature-types.ts';

/**
 * The built-in expectations: a subset of Great Expectations with its names and kwargs, so suites
 * written for it read the same here. Column-map expectations (`expect_column_values_*`) check
 * every non-null value and take `mostly`; column-aggregate ones check one statistic of a column;
 * the table expectation checks the row count.
 */
export const EXPECTATION_TYPES = [
  'expect_column_values_to_not_be_null',
  'expect_column_values_to_be_between',
  'expect_column_values_to_be_in_set',
  'expect_column_values_to_be_unique',
  'expect_column_values_to_match_regex',
  'expect_column_min_to_be_between',
  'expect_column_max_to_be_between',
  'expect_column_mean_to_be_between',
  'expect_table_row_count_to_be_between',
] as const;
export type ExpectationType = (typeof EXPECTATION_TYPES)[number];

/** One expectation of a suite, as stored: its type and validated kwargs (snake_case, as in Great Expectations). */
export interface Expectation {
  readonly type: ExpectationType;
  readonly kwargs: Readonly<Record<string, unknown>>;
}

/** What an expectation needs of its column's type. */
type ColumnNeed = 'any' | 'scalar' | 'string' | 'ordered' | 'numeric';

const column = z.string().min(1, 'column must not be empty').max(200);
const mostly = z.number().min(0, 'mostly must be between 0 and 1').max(1, 'mostly must be between 0 and 1').optional();
const bound = z.union([z.number().refine(Number.isFinite, 'must be a finite number'), z.string().max(100)]).nullish();
const bounds = {
  min_value: bound,
  max_value: bound,
  strict_min: z.boolean().optional(),
  strict_max: z.boolean().optional(),
};
const setValue = z.union([z.string().max(10_000), z.number().refine(Number.isFinite, 'must be a finite number'), z.boolean()]);

interface Definition {
  readonly kwargs: z.ZodType<Record<string, unknown>>;
  /** The column's kind the expectation needs; absent for table expectations. */
  readonly need?: ColumnNeed;
  readonly map: boolean;
}

const hasBound = (k: { min_value?: unknown; max_value?: unknown }) => k.min_value != null || k.max_value != null;
const boundsMessage = { message: 'give min_value, max_value or both', path: ['min_value'] };

const DEFINITIONS: Record<ExpectationType, Definition> = {
  expect_column_values_to_not_be_null: { kwargs: z.strictObject({ column, mostly }), need: 'any', map: true },
  expect_column_values_to_be_between: {
    kwargs: z.strictObject({ column, mostly, ...bounds }).refine(hasBound, boundsMessage),
    need: 'ordered',
    map: true,
  },
  expect_column_values_to_be_in_set: {
    kwargs: z.strictObject({ column, mostly, value_set: z.array(setValue).min(1, 'value_set must not be empty').max(10_000) }),
    need: 'scalar',
    map: true,
  },
  expect_column_values_to_be_unique: { kwargs: z.strictObject({ column, mostly }), need: 'scalar', map: true },
  expect_column_values_to_match_regex: {
    kwargs: z.strictObject({ column, mostly, regex: z.string().min(1, 'regex must not be empty').max(1000) }),
    need: 'string',
    map: true,
  },
  expect_column_min_to_be_between: { kwargs: z.strictObject({ column, ...bounds }).refine(hasBound, boundsMessage), need: 'ordered', map: false },
  expect_column_max_to_be_between: { kwargs: z.strictObject({ column, ...bounds }).refine(hasBound, boundsMessage), need: 'ordered', map: false },
  expect_column_mean_to_be_between: { kwargs: z.strictObject({ column, ...bounds }).refine(hasBound, boundsMessage), need: 'numeric', map: false },
  expect_table_row_count_to_be_between: {
    kwargs: z
      .strictObject({
        min_value: z.number().int('must be an integer').min(0).nullish(),
        max_value: z.number().int('must be an integer').min(0).nullish(),
      })
      .refine(hasBound, boundsMessage),
    map: false,
  },
};

/** Whether the expectation checks each value (and so takes `mostly` and reports unexpected values). */
export function isColumnMap(type: ExpectationType): boolean {
  return DEFINITIONS[type].map;
}

/**
 * Validates a suite's expectations: known types, kwargs of the right shape, and, when the group's
 * schema is known, columns that exist with a type the expectation can check and bounds or values
 * of that type. Throws one ValidationError listing every problem; each issue's path is
 * `[root, 'expectations', index, 'kwargs', kwarg]` (or `'type'`), and its message names the
 * expectation by index and type.
 */
export function parseExpectations(
  raw: readonly { type: string; kwargs?: unknown }[],
  schema: GroupSchema | null,
  root: readonly (string | number)[] = ['input'],
): Expectation[] {
  const issues: InputIssue[] = [];
  const parsed: Expectation[] = [];
  raw.forEach((item, index) => {
    const at = [...root, 'expectations', index];
    const type = item.type as ExpectationType;
    const definition = Object.hasOwn(DEFINITIONS, type) ? DEFINITIONS[type] : undefined;
    if (!definition) {
      issues.push({
        path: [...at, 'type'],
        message: `expectation ${index}: unknown expectation type "${item.type}"; expected one of ${EXPECTATION_TYPES.join(', ')}`,
      });
      return;
    }
    if (item.kwargs === null || typeof item.kwargs !== 'object' || Array.isArray(item.kwargs)) {
      issues.push({ path: [...at, 'kwargs'], message: `expectation ${index} (${type}): kwargs must be an object` });
      return;
    }
    const result = definition.kwargs.safeParse(item.kwargs);
    if (!result.success) {
      for (const issue of result.error.issues) {
        // zod reports unknown keys on the object itself; name each one.
        const keys = issue.code === 'unrecognized_keys' ? issue.keys : [issue.path.map(String).join('.')];
        for (const key of keys) {
          const message = issue.code === 'unrecognized_keys' ? `unknown kwarg ${key}` : issueMessage(issue);
          issues.push({
            path: [...at, 'kwargs', ...(key ? [key] : [])],
            message: `expectation ${index} (${type}): ${key ? `kwarg ${key}: ` : ''}${message}`,
          });
        }
      }
      return;
    }
    const kwargs = result.data;
    const problems = checkKwargs(type, kwargs, schema);
    for (const { kwarg, message } of problems) {
      issues.push({ path: [...at, 'kwargs', kwarg], message: `expectation ${index} (${type}): kwarg ${kwarg}: ${message}` });
    }
    if (problems.length === 0) parsed.push({ type, kwargs: stripUndefined(kwargs) });
  });
  if (issues.length > 0) {
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    throw new ValidationError(`invalid expectation suite: ${issues[0]!.message}${more}`, issues);
  }
  return parsed;
}

/**
 * Problems of an expectation's kwargs beyond their shape: bounds in order, a regex DuckDB can run,
 * and, with a schema, the column's existence and type. Empty when it can be evaluated.
 */
export function checkKwargs(
  type: ExpectationType,
  kwargs: Readonly<Record<string, unknown>>,
  schema: GroupSchema | null,
): { kwarg: string; message: string }[] {
  const problems: { kwarg: string; message: string }[] = [];
  const { min_value: min, max_value: max } = kwargs;
  if (typeof min === 'number' && typeof max === 'number' && min > max) {
    problems.push({ kwarg: 'min_value', message: `min_value ${min} is greater than max_value ${max}` });
  }
  if (typeof kwargs.regex === 'string') {
    // DuckDB's regexp functions run RE2: accept exactly what RE2 compiles.
    const why = linearRegexProblem(kwargs.regex, 're2');
    if (why) problems.push({ kwarg: 'regex', message: why });
  }
  const need = DEFINITIONS[type].need;
  if (!need || !schema || schema.features.length === 0) return problems;
  const name = kwargs.column as string;
  const feature = schema.features.find((f) => f.name === name);
  if (!feature) {
    problems.push({ kwarg: 'column', message: `no column "${name}" in the feature group (columns: ${schema.features.map((f) => f.name).join(', ')})` });
    return problems;
  }
  const kind = columnKind(parseFeatureType(feature.type));
  if (!accepts(need, kind)) {
    problems.push({ kwarg: 'column', message: `column "${name}" is ${feature.type}; ${type} needs ${NEED_TEXT[need]}` });
    return problems;
  }
  for (const key of ['min_value', 'max_value'] as const) {
    const value = kwargs[key];
    if (value == null) continue;
    const why = literalProblem(kind, value);
    if (why) problems.push({ kwarg: key, message: `${why} (column "${name}" is ${feature.type})` });
  }
  if (Array.isArray(kwargs.value_set)) {
    kwargs.value_set.forEach((value, i) => {
      const why = literalProblem(kind, value);
      if (why) problems.push({ kwarg: 'value_set', message: `value ${i} ${JSON.stringify(value)}: ${why} (column "${name}" is ${feature.type})` });
    });
  }
  return problems;
}

/** How a column's values compare: what literals match it and how SQL reads it. */
export type ColumnKind = 'numeric' | 'string' | 'boolean' | 'date' | 'timestamp' | 'binary' | 'array';

export function columnKind(type: ParsedType): ColumnKind {
  if (type.kind === 'array') return 'array';
  if (type.kind === 'decimal') return 'numeric';
  switch (type.name) {
    case 'BIGINT':
    case 'INT':
    case 'DOUBLE':
    case 'FLOAT':
      return 'numeric';
    case 'STRING':
      return 'string';
    case 'BOOLEAN':
      return 'boolean';
    case 'DATE':
      return 'date';
    case 'TIMESTAMP':
      return 'timestamp';
    case 'BINARY':
      return 'binary';
  }
}

const NEED_TEXT: Record<ColumnNeed, string> = {
  any: 'any column',
  scalar: 'a scalar column (not ARRAY or BINARY)',
  string: 'a STRING column',
  ordered: 'a number, STRING, DATE or TIMESTAMP column',
  numeric: 'a numeric column',
};

function accepts(need: ColumnNeed, kind: ColumnKind): boolean {
  switch (need) {
    case 'any':
      return true;
    case 'scalar':
      return kind !== 'array' && kind !== 'binary';
    case 'string':
      return kind === 'string';
    case 'ordered':
      return kind === 'numeric' || kind === 'string' || kind === 'date' || kind === 'timestamp';
    case 'numeric':
      return kind === 'numeric';
  }
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/;

/** Why a bound or set value cannot be compared with a column of this kind; null when it can. */
function literalProblem(kind: ColumnKind, value: unknown): string | null {
  switch (kind) {
    case 'numeric':
      return typeof value === 'number' ? null : 'must be a number';
    case 'string':
      return typeof value === 'string' ? null : 'must be a string';
    case 'boolean':
      return typeof value === 'boolean' ? null : 'must be true or false';
    case 'date':
      return typeof value === 'string' && ISO_DATE.test(value) && !Number.isNaN(Date.parse(value)) ? null : 'must be a date YYYY-MM-DD';
    case 'timestamp':
      return typeof value === 'string' && ISO_TIMESTAMP.test(value) && !Number.isNaN(Date.parse(value.replace(' ', 'T')))
        ? null
        : 'must be an ISO 8601 timestamp';
    default:
      return 'this column type has no comparable values';
  }
}

function stripUndefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}
