import { duckdbType, parseFeatureType, type GroupSchema, type ParsedType } from '../../../domain/feature-types.ts';
import { ValidationError } from '../../../errors.ts';

/** The column of every committed file that holds its commit id. */
export const COMMIT_COLUMN = '_commit';
/** A commit id: a uuid (v7, so that ids sort in commit order). */
export const COMMIT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A feature of a group's schema with its parsed type, DuckDB type and role. */
export interface Feature {
  readonly name: string;
  readonly type: string;
  readonly parsed: ParsedType;
  readonly sqlType: string;
  readonly key: boolean;
  readonly eventTime: boolean;
}

export function schemaFeatures(schema: GroupSchema): Feature[] {
  return schema.features.map((f) => {
    if (f.name === COMMIT_COLUMN) throw ValidationError.at(['features', f.name], `"${COMMIT_COLUMN}" is reserved by the offline store`);
    const parsed = parseFeatureType(f.type, ['features', f.name, 'type']);
    return {
      name: f.name,
      type: f.type,
      parsed,
      sqlType: duckdbType(parsed),
      key: schema.primaryKey.includes(f.name),
      eventTime: schema.eventTime === f.name,
    };
  });
}

export function identityColumns(schema: GroupSchema): string[] {
  return schema.eventTime === null ? [...schema.primaryKey] : [...schema.primaryKey, schema.eventTime];
}

/**
 * Source type of an NDJSON value read as JSON for a STRING feature: only a JSON string coerces
 * (not a number, boolean, object or array).
 */
export const JSON_VALUE = 'JSON_VALUE';

export function isStringFeature(f: Feature): boolean {
  return f.parsed.kind === 'scalar' && f.parsed.name === 'STRING';
}

export const INTEGER_TYPES = new Set(['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', 'UHUGEINT']);
export const FLOAT_TYPES = new Set(['FLOAT', 'DOUBLE']);

export function isText(type: string): boolean {
  return type === 'VARCHAR' || type === 'JSON';
}
export function isNumeric(type: string): boolean {
  return INTEGER_TYPES.has(type) || FLOAT_TYPES.has(type) || type.startsWith('DECIMAL');
}
export function isTemporal(type: string): boolean {
  return type === 'DATE' || type.startsWith('TIMESTAMP');
}
export function listElementType(type: string): string | null {
  const m = /^(.*)\[\d*\]$/s.exec(type);
  return m ? m[1]! : null;
}

/** The event time as comparable epoch microseconds (TIMESTAMP, DATE) or the BIGINT itself. */
export function eventTimeMicrosSql(column: string, type: ParsedType): string {
  if (type.kind === 'scalar' && type.name === 'TIMESTAMP') return `epoch_us(${column})`;
  if (type.kind === 'scalar' && type.name === 'DATE') return `epoch_us(CAST(${column} AS TIMESTAMP))`;
  return `CAST(${column} AS BIGINT)`;
}

/** The feature type of a DuckDB column type, for schema inference (files, external sources). */
export function featureTypeOf(type: string): string {
  const element = listElementType(type);
  if (element !== null) return `ARRAY<${featureTypeOf(element)}>`;
  if (type === 'INTEGER' || type === 'SMALLINT' || type === 'TINYINT' || type === 'USMALLINT' || type === 'UTINYINT') return 'INT';
  if (INTEGER_TYPES.has(type)) return 'BIGINT';
  if (type === 'DOUBLE') return 'DOUBLE';
  if (type === 'FLOAT') return 'FLOAT';
  if (type === 'BOOLEAN') return 'BOOLEAN';
  if (type === 'DATE') return 'DATE';
  if (type.startsWith('TIMESTAMP')) return 'TIMESTAMP';
  if (type === 'BLOB') return 'BINARY';
  const decimal = /^DECIMAL\((\d+),(\d+)\)$/.exec(type);
  if (decimal) return `DECIMAL(${decimal[1]},${decimal[2]})`;
  return 'STRING';
}
