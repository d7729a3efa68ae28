import { z } from 'zod';
import { ValidationError, type InputIssue } from '../../errors.ts';
import { RESERVED_NAMES, reservedNameProblem } from '../../domain/feature-types.ts';
import { OBJECT_NAME } from '../feature-group/definition.ts';

export const FRAMEWORKS = ['PYTHON', 'SKLEARN', 'XGBOOST', 'TORCH', 'TENSORFLOW', 'ONNX', 'LLM', 'OTHER'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

const NAME_MESSAGE = 'lower-case letters, digits and _, starting with a letter, at most 63 characters';

/** Alias names: lower case, digits, `_` and `-`, starting with a letter (`champion`, `prod-eu`). */
export const ALIAS_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

/** A top-level file may not be called this: `…/<version>/archive` downloads the whole version. */
export const RESERVED_ARCHIVE = 'archive';

const MAX_PATH_LENGTH = 1024;
const EXISTING = 'a file already in the version';
const MAX_SEGMENT_BYTES = 255;

export const modelName = z.string().regex(OBJECT_NAME, NAME_MESSAGE);

const metricName = z
  .string()
  .min(1, 'metric names must not be empty')
  .max(255, 'metric names are at most 255 characters')
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'metric names must not contain control characters');

/**
 * Refuses `__proto__`, `constructor` and `prototype` as keys before `schema` sees the object: zod's
 * record skips a `__proto__` key without a word (the metric would be lost), and an inherited
 * `constructor` would be read where a version lacks that metric.
 */
function withoutReservedKeys<S extends z.ZodType>(what: string, schema: S) {
  return z
    .unknown()
    .superRefine((value, ctx) => {
      if (typeof value !== 'object' || value === null) return;
      for (const key of RESERVED_NAMES) {
        if (Object.hasOwn(value, key)) ctx.addIssue({ code: 'custom', path: [key], message: `${what} ${reservedNameProblem(key)}` });
      }
    })
    .pipe(schema);
}

/** `{ accuracy: 0.93, rmse: 1.2 }`: a flat object of finite numbers. */
export const metricsInput = withoutReservedKeys(
  'metric name',
  z.record(metricName, z.number({ error: 'metric values must be numbers' }).finite('metric values must be finite')),
);

/** Like `metricsInput`, but a null value removes that metric. */
export const metricsPatch = withoutReservedKeys(
  'metric name',
  z.record(metricName, z.number({ error: 'metric values must be numbers or null' }).finite().nullable()),
);

const columnInput = z.strictObject({
  name: z.string().min(1, 'column names must not be empty'),
  type: z.string().min(1, 'column types must not be empty'),
  description: z.string().max(10_000).nullish(),
});

const tensorInput = z.strictObject({
  name: z.string().nullish(),
  type: z.string().min(1, 'tensor types must not be empty'),
  shape: z.union([z.string(), z.array(z.number().int())]),
  description: z.string().max(10_000).nullish(),
});

const schemaPart = z
  .strictObject({
    columnarSchema: z.array(columnInput).nullish(),
    tensorSchema: z.array(tensorInput).nullish(),
  })
  .refine((p) => (p.columnarSchema == null) !== (p.tensorSchema == null), 'give either columnarSchema or tensorSchema')
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    p.columnarSchema?.forEach((c, i) => {
      // Columns name the keys of input examples and prediction records.
      const reserved = reservedNameProblem(c.name);
      if (reserved) ctx.addIssue({ code: 'custom', path: ['columnarSchema', i, 'name'], message: reserved });
      else if (seen.has(c.name)) ctx.addIssue({ code: 'custom', path: ['columnarSchema', i, 'name'], message: `column ${c.name} is listed twice` });
      seen.add(c.name);
    });
    p.tensorSchema?.forEach((t, i) => {
      const reserved = t.name == null ? null : reservedNameProblem(t.name);
      if (reserved) ctx.addIssue({ code: 'custom', path: ['tensorSchema', i, 'name'], message: reserved });
    });
  });

/** Hopsworks' model schema, in camelCase (its snake_case spelling is accepted and converted). */
export const modelSchemaInput = z.preprocess(
  camelizeSchema,
  z
    .strictObject({ inputSchema: schemaPart.nullish(), outputSchema: schemaPart.nullish() })
    .refine((s) => s.inputSchema != null || s.outputSchema != null, 'give inputSchema, outputSchema or both'),
);
export type ModelSchema = z.output<typeof modelSchemaInput>;
export interface Column {
  readonly name: string;
  readonly type: string;
}

const featureViewRef = z.object({ name: z.string().min(1), version: z.number().int().min(1).nullish() });
export type FeatureViewRef = z.output<typeof featureViewRef>;

/** An uploaded file: a web `File` (the upload plugin's `DiskFile`, spooled to disk, or any other). */
const fileLike = z.custom<File>(
  (v) => typeof v === 'object' && v !== null && typeof (v as File).stream === 'function' && typeof (v as File).name === 'string',
  'must be an uploaded file',
);

export const modelFileInput = z.object({ path: z.string().nullish(), file: fileLike });
export type ModelFileInput = z.input<typeof modelFileInput>;

export const createModelInput = z
  .object({
    name: modelName,
    version: z.number().int().min(1, 'versions start at 1').nullish(),
    framework: z.enum(FRAMEWORKS),
    description: z.string().max(10_000).nullish(),
    metrics: metricsInput.nullish(),
    inputExample: z.unknown().nullish(),
    modelSchema: modelSchemaInput.nullish(),
    featureView: featureViewRef.nullish(),
    trainingDatasetVersion: z.number().int().min(1).nullish(),
    files: z.array(modelFileInput).max(1000).nullish(),
    pending: z.boolean().nullish(),
    servingArtifact: z.string().max(1024).nullish(),
  })
  .refine((i) => i.trainingDatasetVersion == null || i.featureView != null, {
    message: 'trainingDatasetVersion needs featureView',
    path: ['trainingDatasetVersion'],
  });
/** The input as the API delivers it: its JSON fields are checked when parsed. */
export type CreateModelInput = Omit<z.input<typeof createModelInput>, 'metrics' | 'modelSchema'> & { metrics?: unknown; modelSchema?: unknown };

export const updateModelInput = z.object({
  description: z.string().max(10_000).nullish(),
  metrics: metricsPatch.nullish(),
});
/** The input as the API delivers it: `metrics` is checked when parsed. */
export type UpdateModelInput = Omit<z.input<typeof updateModelInput>, 'metrics'> & { metrics?: unknown };

export const modelRef = z
  .object({ name: modelName, version: z.number().int().min(1).nullish(), alias: z.string().max(63).nullish() })
  .refine((r) => r.version == null || r.alias == null, { message: 'give either version or alias, not both', path: ['alias'] });
export type ModelRef = z.input<typeof modelRef>;

export const aliasName = z.string().regex(ALIAS_NAME, 'lower-case letters, digits, _ and -, starting with a letter, at most 63 characters');

// Invisible or direction-changing characters make a path read differently from what it is.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/;

/**
 * Normalizes a file path inside a model version (Unicode NFC) and refuses anything that is not
 * a plain relative path: absolute paths, `..` and `.` segments, empty segments (`a//b`, a
 * trailing `/`), backslashes, control and invisible characters, percent escapes, `~` and
 * drive letters. Returns the path, or the reason it is refused.
 */
export function normalizeModelPath(raw: string): { path: string } | { error: string } {
  const path = raw.normalize('NFC');
  const shown = JSON.stringify(raw);
  if (path.length === 0) return { error: 'the path is empty' };
  if (path.length > MAX_PATH_LENGTH) return { error: `${shown.slice(0, 80)}… is longer than ${MAX_PATH_LENGTH} characters` };
  if (CONTROL.test(path)) return { error: `${shown} contains control or invisible characters` };
  if (path.includes('\\')) return { error: `${shown} contains a backslash; separate folders with /` };
  if (path.startsWith('/')) return { error: `${shown} is absolute; give a path relative to the version` };
  if (/^[A-Za-z]:/.test(path)) return { error: `${shown} starts with a drive letter` };
  if (/%[0-9A-Fa-f]{2}/.test(path)) return { error: `${shown} contains a percent escape` };
  const segments = path.split('/');
  for (const segment of segments) {
    if (segment === '') return { error: `${shown} has an empty segment (// or a trailing /)` };
    if (segment === '.' || segment === '..') return { error: `${shown} contains a ${segment} segment` };
    if (segment === '~') return { error: `${shown} contains a ~ segment` };
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) return { error: `${shown} has a segment longer than ${MAX_SEGMENT_BYTES} bytes` };
  }
  if (path === RESERVED_ARCHIVE) return { error: `"${RESERVED_ARCHIVE}" at the top of a version is reserved for the version's archive download` };
  return { path };
}

/**
 * The normalized path of every file (its `path`, else the upload's name), checked together:
 * each bad one is an issue at `input.files.<i>.path` naming the file, and two files may not
 * share a path, nor may one be a folder of another. `existing` are paths already in the version
 * (files being added to it): a new file may not be their folder nor have one as its folder.
 */
export function resolveFilePaths(
  files: readonly { path?: string | null; file: { name: string } }[],
  root: (string | number)[] = ['input', 'files'],
  existing: readonly string[] = [],
): string[] {
  const existingSet = new Set(existing);
  const issues: InputIssue[] = [];
  const paths: string[] = [];
  const taken = new Map<string, string>();
  const folders = new Set<string>();
  const mark = (path: string, owner: string) => {
    taken.set(path, owner);
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) folders.add(parts.slice(0, i).join('/'));
  };
  for (const path of existing) mark(path, EXISTING);
  files.forEach((entry, i) => {
    const given = entry.path ?? entry.file.name;
    const at = [...root, i, entry.path != null ? 'path' : 'file'];
    const label = `file ${i + 1}${entry.file.name ? ` (${JSON.stringify(entry.file.name)})` : ''}`;
    if (!given) {
      issues.push({ path: at, message: `${label}: the upload has no name; give path` });
      return;
    }
    const result = normalizeModelPath(given);
    if ('error' in result) {
      issues.push({ path: at, message: `${label}: ${result.error}` });
      return;
    }
    const { path } = result;
    // The same path as a stored file is left to the caller, who compares contents.
    const clash = existingSet.has(path) && taken.get(path) === EXISTING ? undefined : taken.get(path);
    const parts = path.split('/');
    const folderClash = parts
      .slice(0, -1)
      .map((_, k) => parts.slice(0, k + 1).join('/'))
      .find((p) => taken.has(p));
    if (clash !== undefined) issues.push({ path: at, message: `${label}: ${JSON.stringify(path)} is also the path of ${clash}` });
    else if (folders.has(path)) issues.push({ path: at, message: `${label}: ${JSON.stringify(path)} is a folder of another file` });
    else if (folderClash !== undefined) {
      issues.push({ path: at, message: `${label}: ${JSON.stringify(folderClash)} is a file, so it cannot be a folder` });
    }
    mark(path, label);
    paths.push(path);
  });
  if (issues.length > 0) throw new ValidationError(issues[0]!.message, issues);
  return paths;
}

/** Checks an input example against the input's columnar schema; every problem is an issue at `input.inputExample…`. */
export function checkInputExample(example: unknown, columns: readonly Column[], root: (string | number)[] = ['input', 'inputExample']): void {
  const issues: InputIssue[] = [];
  const byName = new Map(columns.map((c) => [c.name, c]));
  const checkRow = (row: unknown, at: (string | number)[]) => {
    if (Array.isArray(row)) {
      if (row.length !== columns.length) {
        issues.push({
          path: at,
          message: `a row in column order needs ${columns.length} values (${columns.map((c) => c.name).join(', ')}), not ${row.length}`,
        });
        return;
      }
      row.forEach((value, i) => {
        checkValue(value, columns[i]!, [...at, i]);
      });
    } else if (typeof row === 'object' && row !== null) {
      const record = row as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        if (!byName.has(key)) issues.push({ path: [...at, key], message: `${key} is not a column of the input schema` });
      }
      for (const column of columns) {
        if (!(column.name in record)) issues.push({ path: [...at, column.name], message: `column ${column.name} is missing` });
        else checkValue(record[column.name], column, [...at, column.name]);
      }
    } else {
      issues.push({ path: at, message: 'an input example is an object keyed by column, an array of values in column order, or a list of those' });
    }
  };
  const checkValue = (value: unknown, column: Column, at: (string | number)[]) => {
    const problem = valueProblem(value, column.type);
    if (problem) issues.push({ path: at, message: `${column.name}: ${problem}` });
  };
  const isRowList = Array.isArray(example) && example.length > 0 && example.every((r) => typeof r === 'object' && r !== null);
  // One row given as an array whose values are themselves arrays is ambiguous; a single row wins when the schema has array columns.
  if (isRowList && !(columns.length > 0 && (example as unknown[]).length === columns.length && columns.some((c) => isArrayType(c.type)))) {
    (example as unknown[]).forEach((row, i) => {
      checkRow(row, [...root, i]);
    });
  } else {
    checkRow(example, root);
  }
  if (issues.length > 0) throw new ValidationError(issues[0]!.message, issues);
}

function isArrayType(type: string): boolean {
  return /^(array|list)\b/i.test(type.trim());
}

/**
 * Why `value` does not fit a column type, or null when it does (or the type is not one we know).
 * Understands Granary's feature types and the pandas/numpy dtypes Hopsworks prints.
 */
export function valueProblem(value: unknown, type: string): string | null {
  if (value === null) return null;
  const t = type.trim().toLowerCase();
  if (/^(bigint|int|integer|long|short|smallint|tinyint|u?int(8|16|32|64)?)$/.test(t)) {
    if (typeof value === 'number' && Number.isInteger(value)) return null;
    if (typeof value === 'string' && /^-?\d+$/.test(value)) return null;
    return `expected an integer (${type}), got ${describe(value)}`;
  }
  if (/^(double|float|real|number|numeric|float(16|32|64)|decimal(\(.*\))?)$/.test(t)) {
    if (typeof value === 'number') return null;
    if (t.startsWith('decimal') && typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)) return null;
    return `expected a number (${type}), got ${describe(value)}`;
  }
  if (/^(string|str|varchar|object|category|text)$/.test(t)) {
    return typeof value === 'string' ? null : `expected a string (${type}), got ${describe(value)}`;
  }
  if (/^(bool|boolean)$/.test(t)) return typeof value === 'boolean' ? null : `expected a boolean (${type}), got ${describe(value)}`;
  if (/^(timestamp|date|datetime|datetime64(\[.*\])?)$/.test(t)) {
    if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return null;
    if (typeof value === 'number' && Number.isFinite(value)) return null;
    return `expected a date or time (${type}), got ${describe(value)}`;
  }
  if (isArrayType(t)) return Array.isArray(value) ? null : `expected a list (${type}), got ${describe(value)}`;
  return null;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

/** Converts Hopsworks' snake_case model schema keys (`input_schema`, `columnar_schema`…) to camelCase. */
function camelizeSchema(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const keys: Record<string, string> = {
    input_schema: 'inputSchema',
    output_schema: 'outputSchema',
    columnar_schema: 'columnarSchema',
    tensor_schema: 'tensorSchema',
  };
  const convert = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
    return Object.fromEntries(Object.entries(v).map(([k, inner]) => [keys[k] ?? k, k in keys ? convert(inner) : inner]));
  };
  return convert(value);
}

/** The model schema as stored: only the parts given, descriptions dropped when empty. */
export function canonicalSchema(schema: ModelSchema): Record<string, unknown> {
  const part = (p: ModelSchema['inputSchema']) => {
    if (!p) return undefined;
    if (p.columnarSchema) {
      return { columnarSchema: p.columnarSchema.map((c) => ({ name: c.name, type: c.type, ...(c.description ? { description: c.description } : {}) })) };
    }
    return {
      tensorSchema: p.tensorSchema!.map((t) => ({
        ...(t.name ? { name: t.name } : {}),
        type: t.type,
        shape: t.shape,
        ...(t.description ? { description: t.description } : {}),
      })),
    };
  };
  const out: Record<string, unknown> = {};
  const input = part(schema.inputSchema);
  const output = part(schema.outputSchema);
  if (input) out.inputSchema = input;
  if (output) out.outputSchema = output;
  return out;
}

/** The input columns of a stored model schema, or null when it has none (absent, or tensors). */
export function inputColumns(schema: unknown): Column[] | null {
  const columns = (schema as { inputSchema?: { columnarSchema?: Column[] } } | null)?.inputSchema?.columnarSchema;
  return Array.isArray(columns) ? columns : null;
}
