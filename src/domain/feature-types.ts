import { ValidationError } from '../errors.ts';

/**
 * Feature types as users write them (Hopsworks' names): scalars, `DECIMAL(p,s)` and `ARRAY<T>`.
 * The canonical text form (upper case, no spaces) is what metadata stores and the API returns.
 */
export const SCALAR_TYPES = ['BIGINT', 'INT', 'DOUBLE', 'FLOAT', 'STRING', 'BOOLEAN', 'TIMESTAMP', 'DATE', 'DECIMAL', 'BINARY'] as const;
export type ScalarType = (typeof SCALAR_TYPES)[number];

export type ParsedType =
  | { readonly kind: 'scalar'; readonly name: Exclude<ScalarType, 'DECIMAL'> }
  | { readonly kind: 'decimal'; readonly precision: number; readonly scale: number }
  | { readonly kind: 'array'; readonly element: ParsedType };

/** One feature (column) of a group. */
export interface FeatureDef {
  readonly name: string;
  /** Canonical type text, e.g. `BIGINT`, `DECIMAL(10,2)`, `ARRAY<DOUBLE>`. */
  readonly type: string;
  readonly description: string;
}

/** What the stores need to know about a group's rows. */
export interface GroupSchema {
  readonly features: readonly FeatureDef[];
  /** Primary-key feature names, in key order. */
  readonly primaryKey: readonly string[];
  /** Event-time feature name, or null for a group without event time. */
  readonly eventTime: string | null;
}

/** Feature names: lower case, as Hopsworks stores them, and safe as SQL identifiers. */
export const FEATURE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Names every JavaScript object already answers to: a column of that name would vanish from a
 * record (`__proto__` sets the prototype) or read an inherited value where it is missing
 * (`constructor`), in this server and in every client that turns rows into objects. Refused
 * wherever a name becomes a key of records: features, view outputs, model schema columns.
 */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Why `name` cannot name a column (a record key), or null when it can. */
export function reservedNameProblem(name: string): string | null {
  return RESERVED_NAMES.has(name) ? `${name} is reserved: JavaScript objects already have a property of that name, so it cannot name a column` : null;
}

const DEFAULT_DECIMAL = { precision: 38, scale: 9 };

/** How deep ARRAY types may nest (ARRAY<ARRAY<…>>): enough for tensors, bounded for the engines. */
export const MAX_ARRAY_NESTING = 8;

/** Parses a type text (case-insensitive, spaces allowed); throws ValidationError at `path`. */
export function parseFeatureType(text: string, path: readonly (string | number)[] = ['type']): ParsedType {
  const src = text.replace(/\s+/g, '').toUpperCase();
  let pos = 0;
  const fail = (why: string): never => {
    throw ValidationError.at(
      path,
      `invalid type "${text.length > 80 ? `${text.slice(0, 80)}…` : text}": ${why}; expected one of ${SCALAR_TYPES.join(', ')}, DECIMAL(p,s) or ARRAY<type>`,
    );
  };
  const parse = (depth = 0): ParsedType => {
    const word = /^[A-Z]+/.exec(src.slice(pos))?.[0] ?? fail('missing type name');
    pos += word.length;
    if (word === 'ARRAY') {
      if (src[pos] !== '<') fail('ARRAY needs <element type>');
      pos++;
      if (depth >= MAX_ARRAY_NESTING) fail(`ARRAY types nest at most ${MAX_ARRAY_NESTING} levels deep`);
      const element = parse(depth + 1);
      if (src[pos] !== '>') fail('unclosed ARRAY<');
      pos++;
      return { kind: 'array', element };
    }
    if (word === 'DECIMAL') {
      const m = /^\((\d+),(\d+)\)/.exec(src.slice(pos));
      if (!m) return { kind: 'decimal', ...DEFAULT_DECIMAL };
      pos += m[0].length;
      const precision = Number(m[1]);
      const scale = Number(m[2]);
      if (precision < 1 || precision > 38 || scale > precision) fail('DECIMAL precision must be 1–38 and scale ≤ precision');
      return { kind: 'decimal', precision, scale };
    }
    const alias: Record<string, Exclude<ScalarType, 'DECIMAL'>> = { INTEGER: 'INT', LONG: 'BIGINT', VARCHAR: 'STRING', BOOL: 'BOOLEAN' };
    const name = (alias[word] ?? word) as ScalarType;
    if (!SCALAR_TYPES.includes(name) || name === 'DECIMAL') fail(`unknown type ${word}`);
    return { kind: 'scalar', name: name as Exclude<ScalarType, 'DECIMAL'> };
  };
  const parsed = parse();
  if (pos !== src.length) fail(`unexpected "${src.slice(pos)}"`);
  return parsed;
}

/** The canonical text of a parsed type. */
export function formatFeatureType(type: ParsedType): string {
  switch (type.kind) {
    case 'scalar':
      return type.name;
    case 'decimal':
      return `DECIMAL(${type.precision},${type.scale})`;
    case 'array':
      return `ARRAY<${formatFeatureType(type.element)}>`;
  }
}

/** Canonicalizes a type text; throws ValidationError at `path`. */
export function canonicalFeatureType(text: string, path?: readonly (string | number)[]): string {
  return formatFeatureType(parseFeatureType(text, path));
}

/** The DuckDB column type that stores a feature type (timestamps are UTC, microseconds). */
export function duckdbType(type: string | ParsedType): string {
  const t = typeof type === 'string' ? parseFeatureType(type) : type;
  switch (t.kind) {
    case 'decimal':
      return `DECIMAL(${t.precision},${t.scale})`;
    case 'array':
      return `${duckdbType(t.element)}[]`;
    case 'scalar':
      return {
        BIGINT: 'BIGINT',
        INT: 'INTEGER',
        DOUBLE: 'DOUBLE',
        FLOAT: 'FLOAT',
        STRING: 'VARCHAR',
        BOOLEAN: 'BOOLEAN',
        TIMESTAMP: 'TIMESTAMP',
        DATE: 'DATE',
        BINARY: 'BLOB',
      }[t.name];
  }
}

/** Types a primary key may have: hashable, exact values (no floats, arrays or binary). */
export function isKeyType(type: string): boolean {
  const t = parseFeatureType(type);
  return t.kind === 'decimal' || (t.kind === 'scalar' && ['BIGINT', 'INT', 'STRING', 'BOOLEAN', 'DATE', 'TIMESTAMP'].includes(t.name));
}

/** Types an event time may have: TIMESTAMP, DATE, or BIGINT epoch (seconds or milliseconds as given). */
export function isEventTimeType(type: string): boolean {
  const t = parseFeatureType(type);
  return t.kind === 'scalar' && ['TIMESTAMP', 'DATE', 'BIGINT'].includes(t.name);
}
