import { rename, rm } from 'node:fs/promises';
import { BOOLEAN, DOUBLE, INTEGER, VARCHAR, type DuckDBConnection } from '@duckdb/node-api';
import type { GroupSchema } from '../../../domain/feature-types.ts';
import { ident, sqlString } from '../../../domain/sql.ts';
import type { InputIssue } from '../../../errors.ts';
import type { OnlineColumns } from '../../online/online-store.ts';
import type { InsertSource } from '../offline-store.ts';
import { badValueReason, coerce } from './coerce.ts';
import { COMMIT_COLUMN, identityColumns, isStringFeature, JSON_VALUE, type Feature } from './features.ts';
import { MAX_FILE_COLUMNS, readCsvHeader, tooManyColumns } from './input-files.ts';
import { fileQuery, issuesError, matchColumns, MAX_ISSUES, missingColumns, missingRequired, presentIn, strictCsv, type InputFile } from './input-columns.ts';
import { columnTexts, jsonText, plainValues, rowColumns, valueIssues, type RowColumns } from './json-rows.ts';
import type { LoadedRows, SourceSql } from './host.ts';
import { appendColumns } from './load-table.ts';
import { onlineFromLoaded } from './online-rows.ts';

/**
 * Staging an insert: an input (JSON rows or a file) described as SQL, checked, coerced to the
 * group's feature types and written to a Parquet file. `parquet` is the COPY options of written
 * files; `stagingPrefix` how staging file names begin.
 */

const ORD = '#ord';

/** Separators of the joined column texts of loadRows: between values, and a null value. */
export const UNIT_SEPARATOR = '\u001f';
export const RECORD_SEPARATOR = '\u001e';

/**
 * Describes an input as a SQL source with one column per feature present, named as the feature
 * (input names match features case-insensitively, as `infer` lower-cases them), plus an ordinal.
 */
export async function openSource(
  connection: DuckDBConnection,
  source: InsertSource & { kind: 'file' },
  features: readonly Feature[],
  fillMissing: boolean,
): Promise<SourceSql> {
  const path = source.path;
  const file: InputFile = { path, user: { name: source.name ?? null, format: source.format } };
  const byFeature = new Map(features.map((f) => [f.name, f]));
  if (source.format === 'NDJSON') {
    // read_json matches keys case-sensitively and ignores unknown ones: list the keys first.
    const keys = await fileQuery(
      connection,
      `SELECT k, min(ord) AS first FROM (SELECT row_number() OVER () AS ord, json_keys(json) AS ks
         FROM read_json_objects(${sqlString(path)}, format = 'newline_delimited')), unnest(ks) AS u(k)
       GROUP BY k ORDER BY first`,
      file,
    );
    if (keys.length > MAX_FILE_COLUMNS) throw tooManyColumns(file.user, keys.length);
    const { names, issues } = matchColumns(
      keys.map(([key, first]) => ({ name: String(key), row: Number(first) })),
      features,
    );
    issues.push(...missingRequired(names, features));
    if (issues.length > 0) throw issuesError(issues);
    // STRING features read the JSON value, so that a number, boolean, object or array given
    // for one is refused rather than turned into text (see coerce, JSON_VALUE).
    const jsonValue = (feature: string) => isStringFeature(byFeature.get(feature)!);
    if (!fillMissing) missingColumns(features, presentIn(names), 'file');
    const renames = [...names].map(([original, feature]) => `${ident(original)} AS ${ident(feature)}`);
    const columns = `{${[...names].map(([original, feature]) => `${sqlString(original)}: '${jsonValue(feature) ? 'JSON' : 'VARCHAR'}'`).join(', ')}}`;
    const reader = `(SELECT ${renames.join(', ')} FROM read_json(${sqlString(path)}, format = 'newline_delimited', columns = ${columns}))`;
    return {
      root: 'file',
      file,
      reader,
      ordered: `SELECT *, row_number() OVER () AS "${ORD}" FROM ${reader}`,
      columns: new Map([...names.values()].map((feature) => [feature, jsonValue(feature) ? JSON_VALUE : 'VARCHAR'])),
    };
  }
  if (source.format === 'CSV') {
    // The header is read here, not sniffed: the file is then parsed strictly with exactly its
    // columns, so a malformed row is refused with its line instead of being read some other way.
    const header = await readCsvHeader(path, file.user);
    const { names, issues } = matchColumns(
      header.map((name) => ({ name, row: null })),
      features,
    );
    issues.push(...missingRequired(names, features));
    if (issues.length > 0) throw issuesError(issues);
    if (!fillMissing) missingColumns(features, presentIn(names), 'file');
    const position = new Map<string, number>();
    header.forEach((name, i) => {
      if (!position.has(name)) position.set(name, i);
    });
    const fn = strictCsv(path, header.length);
    // `""` is the empty string for STRING features (strictCsv) and, as an empty field, null for the others.
    const renames = [...names].map(([original, feature]) => {
      const field = `"#f${position.get(original)!}"`;
      return `${isStringFeature(byFeature.get(feature)!) ? field : `NULLIF(${field}, '')`} AS ${ident(feature)}`;
    });
    return {
      root: 'file',
      file,
      reader: `(SELECT ${renames.join(', ')} FROM ${fn})`,
      ordered: `SELECT ${renames.join(', ')}, row_number() OVER () AS "${ORD}" FROM ${fn}`,
      columns: new Map([...names.values()].map((feature) => [feature, 'VARCHAR'])),
    };
  }
  const fn = `read_parquet(${sqlString(path)}, file_row_number = true)`;
  const described = await fileQuery(connection, `DESCRIBE SELECT * FROM ${fn}`, file);
  const types = new Map(described.map(([name, type]) => [String(name), String(type)]));
  types.delete('file_row_number');
  if (types.size > MAX_FILE_COLUMNS) throw tooManyColumns(file.user, types.size);
  const { names, issues } = matchColumns(
    [...types.keys()].map((name) => ({ name, row: null })),
    features,
  );
  issues.push(...missingRequired(names, features));
  if (issues.length > 0) throw issuesError(issues);
  if (!fillMissing) missingColumns(features, presentIn(names), 'file');
  const renames = [...names].map(([original, feature]) => `${ident(original)} AS ${ident(feature)}`);
  return {
    root: 'file',
    file,
    reader: `(SELECT ${renames.join(', ')} FROM ${fn})`,
    ordered: `SELECT ${renames.join(', ')}, file_row_number + 1 AS "${ORD}" FROM ${fn}`,
    columns: new Map([...names].map(([original, feature]) => [feature, types.get(original)!])),
  };
}

/**
 * JSON rows (one request, in memory) into a table of the insert instance with a column per
 * feature: numbers for a BIGINT, INT, DOUBLE, FLOAT or TIMESTAMP feature as DOUBLE and booleans
 * for a BOOLEAN feature as BOOLEAN (typed vectors through the appender), everything else as its
 * JSON text (see jsonText), so the coercion SQL of files applies unchanged, as to a Parquet file's
 * typed columns and a text file's text. With `text`, every column is text: the form in which a
 * rejected value is quoted. Texts cross to DuckDB as one string per column, joined by U+001F
 * (null as U+001E) and split by DuckDB, one call per column instead of one per value; a column
 * holding either character goes through the appender.
 */
export async function loadRows(
  connection: DuckDBConnection,
  rows: readonly unknown[],
  features: readonly Feature[],
  commitId: string,
  tables: string[],
  text = false,
  fillMissing = true,
): Promise<LoadedRows> {
  const { columns, issues } = rowColumns(rows, features);
  if (issues.length > 0) throw issuesError(issues);
  if (!fillMissing) missingColumns(features, (_, c) => columns.missing[c]!, 'rows');
  return loadColumns(connection, columns, () => rows, features, commitId, tables, text);
}

/**
 * Rows given column-wise (a JSON insert's rows after `rowColumns`, or a columns source) into the
 * tables loadRows describes; `rows` gives them as objects when a rejected value must be named.
 */
export async function loadColumns(
  connection: DuckDBConnection,
  columns: RowColumns,
  rows: () => readonly unknown[],
  features: readonly Feature[],
  commitId: string,
  tables: string[],
  text = false,
): Promise<LoadedRows> {
  if (!text) {
    const bad = valueIssues(
      columns,
      features.map((f) => ({ name: f.name, string: isStringFeature(f) })),
      MAX_ISSUES,
    );
    if (bad.length > 0) throw issuesError(bad);
  }
  const n = columns.rowCount;
  const suffix = `${commitId}${text ? '-text' : ''}`;
  // A coded column with a dictionary of modest size stays coded: its codes load as INTEGER bytes and
  // the relation picks each row's text from the dictionary, a list in the SQL; no text per row.
  const dictionaries = features.map((_, c) => {
    const coded = columns.coded?.[c];
    return coded && !text ? dictionaryList(coded.dictionary, n) : null;
  });
  const types: ('DOUBLE' | 'BOOLEAN' | 'VARCHAR' | 'CODED')[] = features.map((f, c) => {
    const kind = columns.kinds[c]!;
    if (dictionaries[c] !== null) return 'CODED';
    if (text || f.parsed.kind !== 'scalar') return 'VARCHAR';
    if ((kind === 'integers' || kind === 'numbers') && ['BIGINT', 'INT', 'DOUBLE', 'FLOAT', 'TIMESTAMP'].includes(f.parsed.name)) return 'DOUBLE';
    return kind === 'booleans' && f.parsed.name === 'BOOLEAN' ? 'BOOLEAN' : 'VARCHAR';
  });
  const typed = features.flatMap((_, c) => (types[c] === 'VARCHAR' ? [] : [c]));
  const textual = features.flatMap((_, c) => (types[c] === 'VARCHAR' ? [c] : []));
  const appended: (readonly unknown[] | Float64Array)[] = new Array(features.length);
  const texts: ((string | null)[] | null)[] = features.map(() => null);
  const sources: string[] = [];
  if (typed.length > 0) {
    const codes: Int32Array[] = [];
    for (const c of typed) {
      if (types[c] === 'CODED') {
        codes[c] = columns.coded![c]!.codes;
        continue;
      }
      const values = plainValues(columns, c);
      appended[c] = columns.numbers?.[c] ?? (types[c] === 'DOUBLE' ? values.map((v) => (v === 0 ? 0 : (v ?? null))) : values.map((v) => v ?? null));
    }
    const table = ident(`#typed-${suffix}`);
    await connection.run(`CREATE TABLE ${table} (${typed.map((c) => `"#c${c}" ${types[c] === 'CODED' ? 'INTEGER' : types[c]}`).join(', ')})`);
    tables.push(table);
    await appendColumns(
      connection,
      `#typed-${suffix}`,
      typed.map((c) => (types[c] === 'DOUBLE' ? DOUBLE : types[c] === 'CODED' ? INTEGER : BOOLEAN)),
      typed.map((c) => codes[c] ?? appended[c]!),
      n,
    );
    sources.push(table);
  }
  if (textual.length > 0) {
    let joinable = true;
    for (const c of textual) {
      const column = columnTexts(plainValues(columns, c), UNIT_SEPARATOR, RECORD_SEPARATOR);
      texts[c] = column.texts;
      joinable &&= column.joinable;
    }
    const name = `#text-${suffix}`;
    const table = ident(name);
    if (joinable && n > 0) {
      const split = textual.map((c, i) => `unnest(string_split($${i + 1}, chr(31))) AS "#c${c}"`);
      const statement = await connection.prepare(
        `CREATE TABLE ${table} AS SELECT ${textual.map((c) => `nullif("#c${c}", chr(30)) AS "#c${c}"`).join(', ')} FROM (SELECT ${split.join(', ')})`,
      );
      tables.push(table);
      for (const [i, c] of textual.entries()) statement.bindVarchar(i + 1, texts[c]!.map((t) => t ?? RECORD_SEPARATOR).join(UNIT_SEPARATOR));
      await statement.run();
    } else {
      await connection.run(`CREATE TABLE ${table} (${textual.map((c) => `"#c${c}" VARCHAR`).join(', ')})`);
      tables.push(table);
      await appendColumns(
        connection,
        name,
        textual.map(() => VARCHAR),
        textual.map((c) => texts[c]!),
        n,
      );
    }
    sources.push(table);
  }
  // One relation of the typed and text tables, zipped by position: no copy of the rows.
  const columnsSql = features
    .map((f, c) => (dictionaries[c] === null ? `"#c${c}" AS ${ident(f.name)}` : `${dictionaries[c]}["#c${c}" + 1] AS ${ident(f.name)}`))
    .join(', ');
  const from = sources.join(' POSITIONAL JOIN ');
  return {
    input: {
      root: 'rows',
      file: null,
      reader: `(SELECT ${columnsSql} FROM ${from})`,
      ordered:
        sources.length === 1
          ? `SELECT ${columnsSql}, rowid + 1 AS "${ORD}" FROM ${from}`
          : `SELECT *, row_number() OVER () AS "${ORD}" FROM (SELECT ${columnsSql} FROM ${from})`,
      columns: new Map(features.map((f, c) => [f.name, types[c] === 'CODED' ? 'VARCHAR' : types[c]!])),
    },
    rows,
    columns,
    types,
    appended,
    texts,
  };
}

/**
 * A dictionary goes into the SQL as a list only while it is small, and small beside the rows:
 * DuckDB binds a list literal at about 25 µs an entry (4 096 entries: 115 ms), where a text per
 * row costs about 1.5 µs (measured on 25 000 rows). Larger ones go as texts per row.
 */
const MAX_DICTIONARY = 256;
const ROWS_PER_ENTRY = 16;
const MAX_DICTIONARY_CHARS = 64 * 1024;

/**
 * A coded column's dictionary as a VARCHAR list literal (values as their JSON text, as text
 * columns load them; code -1 indexes 0, which is null), or null when it is cheaper to load texts.
 */
function dictionaryList(dictionary: readonly unknown[], rows: number): string | null {
  if (dictionary.length > MAX_DICTIONARY || dictionary.length * ROWS_PER_ENTRY > Math.max(rows, ROWS_PER_ENTRY)) return null;
  let chars = 0;
  const items: string[] = [];
  for (const value of dictionary) {
    const text = jsonText(value);
    chars += text?.length ?? 4;
    // A NUL cannot be in SQL text; it goes bound as a parameter, with the texts.
    if (chars > MAX_DICTIONARY_CHARS || text?.includes('\0')) return null;
    items.push(text === null ? 'NULL' : sqlString(text));
  }
  return `([${items.join(', ')}]::VARCHAR[])`;
}

/**
 * Coerces loaded JSON rows once into a temporary table with a flag of any failed check, so
 * validating and writing share one pass of the casts; when a row is flagged, validateRows names
 * the problems. With `online`, also returns the rows column-wise for the online store, in key
 * order: columns whose stored value follows from the given one (see givenOnline) are taken from
 * the input; the others (and the event time) are read back from the coerced table.
 */
export async function copyRows(
  connection: DuckDBConnection,
  loaded: LoadedRows,
  features: readonly Feature[],
  schema: GroupSchema,
  commitId: string,
  path: string,
  parquet: string,
  online: boolean,
  tables: string[],
): Promise<{ rowCount: number; online: OnlineColumns | null }> {
  const { input } = loaded;
  const coerced = ident(`#coerced-${commitId}`);
  // Each cast once: the inner projection coerces, the outer one checks scalars against it.
  const inner: string[] = features.map((f) => ident(f.name));
  const projection: string[] = [];
  const checks: string[] = [];
  features.forEach((f, c) => {
    const { value, bad } = coerce(ident(f.name), input.columns.get(f.name)!, f.parsed);
    inner.push(`${value} AS "#v${c}"`);
    projection.push(`CAST("#v${c}" AS ${f.sqlType}) AS ${ident(f.name)}`);
    if (bad !== 'false') checks.push(f.parsed.kind === 'array' ? bad : `(${ident(f.name)} IS NOT NULL AND "#v${c}" IS NULL)`);
    if (f.key || f.eventTime) checks.push(`${ident(f.name)} IS NULL`);
  });
  await connection.run(
    `CREATE TEMP TABLE ${coerced} AS SELECT ${projection.join(', ')}, ${checks.length === 0 ? 'false' : checks.map((c) => `(${c})`).join(' OR ')} AS "#bad"
     FROM (SELECT ${inner.join(', ')} FROM ${input.reader})`,
  );
  tables.push(coerced);
  const flagged = await connection.runAndReadAll(`SELECT 1 FROM ${coerced} WHERE "#bad" LIMIT 1`);
  if (flagged.currentRowCount > 0) {
    const text = await loadRows(connection, loaded.rows(), features, commitId, tables, true);
    await validateRows(connection, text.input, features);
    throw new Error('stage: a row failed a check that validateRows did not report');
  }
  const result = await connection.runAndReadAll(
    `COPY (SELECT ${features.map((f) => ident(f.name)).join(', ')}, ${sqlString(commitId)} AS ${COMMIT_COLUMN} FROM ${coerced})
     TO ${sqlString(path)} (${parquet})`,
  );
  const rowCount = Number(result.getRows()[0]?.[0] ?? 0);
  return { rowCount, online: online && rowCount > 0 ? await onlineFromLoaded(connection, coerced, loaded, schema, features) : null };
}

/** Finds the first rows (in input order) with a value that does not coerce, a null key or a null event time. */
export async function validateRows(connection: DuckDBConnection, input: SourceSql, features: readonly Feature[]): Promise<void> {
  const checks: { feature: Feature; kind: 'type' | 'null'; expr: string }[] = [];
  for (const f of features) {
    const srcType = input.columns.get(f.name);
    if (srcType === undefined) continue;
    const raw = ident(f.name);
    const { bad } = coerce(raw, srcType, f.parsed);
    if (bad !== 'false') checks.push({ feature: f, kind: 'type', expr: bad });
    if (f.key || f.eventTime) checks.push({ feature: f, kind: 'null', expr: `${raw} IS NULL` });
  }
  if (checks.length === 0) return;
  const rawColumns = features.filter((f) => input.columns.has(f.name));
  const sql = `SELECT * FROM (
      SELECT "${ORD}", ${checks.map((c, i) => `(${c.expr}) AS "#c${i}"`).join(', ')},
        ${rawColumns.map((f, i) => `left(CAST(${ident(f.name)} AS VARCHAR), 200) AS "#r${i}"`).join(', ')}
      FROM (${input.ordered})
    ) WHERE ${checks.map((_, i) => `"#c${i}"`).join(' OR ')}
    ORDER BY "${ORD}" LIMIT ${MAX_ISSUES}`;
  const rows = await fileQuery(connection, sql, input.file);
  if (rows.length === 0) return;
  const rawIndex = new Map(rawColumns.map((f, i) => [f.name, i]));
  const issues: InputIssue[] = [];
  for (const row of rows) {
    const ord = Number(row[0]);
    checks.forEach((check, i) => {
      if (row[1 + i] !== true) return;
      const f = check.feature;
      let message: string;
      if (check.kind === 'null') {
        message = f.key ? `row ${ord}: primary key "${f.name}" is null or missing` : `row ${ord}: event time "${f.name}" is null or missing`;
      } else {
        const value = row[1 + checks.length + rawIndex.get(f.name)!];
        message = `row ${ord}, column "${f.name}": ${badValueReason(value, f, input.columns.get(f.name)!)}`;
      }
      issues.push({ path: [input.root, ord, f.name], message });
    });
  }
  throw issuesError(issues);
}

/**
 * Writes the coerced rows, in input order, with `_commit`, to one Parquet file; returns the row
 * count. `unchecked`: the rows were not validated (validateRows), so a value that does not fit
 * fails the copy instead of becoming null.
 */
export async function copyCoerced(
  connection: DuckDBConnection,
  input: SourceSql,
  features: readonly Feature[],
  commitId: string,
  path: string,
  parquet: string,
  unchecked = false,
): Promise<number> {
  const projection = features.map((f) => {
    const srcType = input.columns.get(f.name);
    const coerced = srcType === undefined ? null : coerce(ident(f.name), srcType, f.parsed);
    let value = coerced?.value ?? 'NULL';
    if (unchecked && coerced && coerced.bad !== 'false')
      value = `CASE WHEN ${coerced.bad} THEN error(${sqlString(`a value of ${f.name} does not fit`)}) ELSE ${value} END`;
    if (unchecked && (f.key || f.eventTime)) value = `CASE WHEN ${value} IS NULL THEN error(${sqlString(`${f.name} is null`)}) ELSE ${value} END`;
    return `CAST(${value} AS ${f.sqlType}) AS ${ident(f.name)}`;
  });
  const sql = `COPY (SELECT ${projection.join(', ')}, ${sqlString(commitId)} AS ${COMMIT_COLUMN} FROM ${input.reader})
    TO ${sqlString(path)} (${parquet})`;
  const result = await fileQuery(connection, sql, input.file);
  return Number(result[0]?.[0] ?? 0);
}

/** UPSERT with duplicate identities in the input: rewrites the staging file keeping the last row of each (through the file `deduped`). */
export async function keepLastPerIdentity(
  connection: DuckDBConnection,
  staging: string,
  deduped: string,
  schema: GroupSchema,
  parquet: string,
): Promise<number> {
  const identity = identityColumns(schema).map(ident).join(', ');
  try {
    const result = await connection.runAndReadAll(
      `COPY (SELECT * EXCLUDE (file_row_number) FROM read_parquet(${sqlString(staging)}, file_row_number = true)
        QUALIFY row_number() OVER (PARTITION BY ${identity} ORDER BY file_row_number DESC) = 1
        ORDER BY file_row_number) TO ${sqlString(deduped)} (${parquet})`,
    );
    await rename(deduped, staging);
    return Number(result.getRows()[0]?.[0] ?? 0);
  } finally {
    await rm(deduped, { force: true });
  }
}
