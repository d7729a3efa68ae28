import { open } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { ValidationError } from '../../../errors.ts';

/**
 * A user's input file as the user knows it: the name they gave it (the multipart filename; null
 * when none) and its format. Messages about the file name it so, never by its path on the server.
 */
export interface UserFile {
  readonly name: string | null;
  readonly format: 'CSV' | 'PARQUET' | 'NDJSON';
}

/** Most columns an input file may have (CSV header fields, Parquet columns, distinct NDJSON keys). */
export const MAX_FILE_COLUMNS = 4096;
/** Longest CSV header line read. */
export const MAX_HEADER_BYTES = 1024 * 1024;

const FORMAT_NAMES: Readonly<Record<UserFile['format'], string>> = { CSV: 'CSV', PARQUET: 'Parquet', NDJSON: 'NDJSON' };

/** `the uploaded file "rows.csv"`, or `the uploaded file` when it has no name. */
export function fileLabel(file: UserFile): string {
  const name = file.name?.split(/[\\/]/).pop()?.trim();
  return name ? `the uploaded file ${JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}…` : name)}` : 'the uploaded file';
}

/** A ValidationError at `['file']` (or `['file', line]`) saying why the file cannot be read. */
export function unreadable(file: UserFile, reason: string, line?: number): ValidationError {
  return ValidationError.at(line === undefined ? ['file'] : ['file', line], `${fileLabel(file)} is not valid ${FORMAT_NAMES[file.format]}: ${reason}`);
}

/** DuckDB's error classes: the head of its messages (`Invalid Input Error: …`). */
const ENGINE_ERROR = /^([A-Za-z ]+) Error: /;

/**
 * The one place where an engine error raised while reading a user's file becomes what the user
 * sees. Errors about the file's content (DuckDB's Invalid Input, Conversion, Binder, Parser and
 * Not implemented errors, and IO errors naming the file) become a ValidationError with a plain
 * reason and, when known, the line: never the engine's text or a server path. Anything else
 * (out of memory, a failure writing our own files) is returned unchanged, to be masked as an
 * unexpected error. `path` is where the file is on disk (to find a bad NDJSON line).
 */
export async function fileReadError(error: unknown, file: UserFile, path: string): Promise<unknown> {
  if (error instanceof ValidationError || !(error instanceof Error)) return error;
  const text = error.message;
  const kind = ENGINE_ERROR.exec(text)?.[1];
  if (kind === undefined) return error;
  if (kind === 'IO' ? !text.includes(path) : !['Invalid Input', 'Conversion', 'Binder', 'Parser', 'Not implemented', 'Invalid'].includes(kind)) return error;
  if (/invalid unicode|not utf-8 encoded/i.test(text)) {
    const line = lineOf(text);
    return unreadable(file, line === undefined ? 'invalid UTF-8' : `invalid UTF-8 on line ${line}`, line);
  }
  switch (file.format) {
    case 'PARQUET':
      if (/magic bytes|footer|too small to be a parquet/i.test(text)) return unreadable(file, 'not a Parquet file');
      if (kind === 'Binder' || kind === 'Conversion') return unreadable(file, "a column's type does not convert to its feature's type");
      return unreadable(file, 'the file is damaged, truncated or uses a feature that cannot be read');
    case 'CSV':
      return csvError(file, text);
    case 'NDJSON': {
      const found = await firstBadNdjsonLine(path).catch(() => null);
      if (found !== null) return unreadable(file, found.reason, found.line);
      const line = /in line (\d+)/.exec(text)?.[1];
      return line === undefined ? unreadable(file, 'not valid JSON lines') : unreadable(file, `line ${line} is not valid JSON`, Number(line));
    }
  }
}

/** The line of a DuckDB CSV error (`CSV Error on Line: 3`). */
function lineOf(text: string): number | undefined {
  const m = /CSV Error on Line: (\d+)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

function csvError(file: UserFile, text: string): ValidationError {
  const line = lineOf(text);
  if (line === undefined) return unreadable(file, 'the rows could not be parsed as comma-separated values with a header line');
  if (/unterminated quote/i.test(text)) return unreadable(file, `unterminated quoted field on line ${line}`, line);
  const count = /Expected Number of Columns: (\d+) Found: (\d+)/.exec(text);
  if (count) return unreadable(file, `line ${line} has ${count[2]} fields, the header has ${count[1]}`, line);
  if (/maximum line size/i.test(text)) return unreadable(file, `line ${line} is too long`, line);
  if (/quote/i.test(text)) return unreadable(file, `misplaced quote on line ${line}`, line);
  return unreadable(file, `line ${line} is not valid CSV`, line);
}

/**
 * The first line of an NDJSON file that is not one JSON object, with why; null when every line
 * is one (blank lines are skipped). Reads the file once in chunks: only on the error path.
 */
export async function firstBadNdjsonLine(path: string): Promise<{ line: number; reason: string } | null> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let line = 0;
  let pending: Buffer[] = [];
  const check = (bytes: Buffer): string | null => {
    line++;
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      return `invalid UTF-8 on line ${line}`;
    }
    if (text.trim() === '') return null;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return `line ${line} is not valid JSON`;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return `line ${line} is not a JSON object`;
    return null;
  };
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, start)) {
      pending.push(chunk.subarray(start, i));
      const reason = check(Buffer.concat(pending));
      pending = [];
      if (reason !== null) return { line, reason };
      start = i + 1;
    }
    if (start < chunk.length) pending.push(chunk.subarray(start));
  }
  if (pending.length > 0) {
    const reason = check(Buffer.concat(pending));
    if (reason !== null) return { line, reason };
  }
  return null;
}

/**
 * The field names of a CSV file's header line (comma-separated, `"` quotes with `""` inside,
 * UTF-8 with an optional byte-order mark, LF or CRLF), read without the engine so that the
 * column count is checked before any parse and the file is then read with exactly these
 * columns. Refuses an empty file, a header that is not valid UTF-8 or CSV, longer than
 * MAX_HEADER_BYTES, or with more than MAX_FILE_COLUMNS fields.
 */
export async function readCsvHeader(path: string, file: UserFile): Promise<string[]> {
  const handle = await open(path, 'r');
  let bytes: Buffer;
  try {
    const buffer = Buffer.alloc(MAX_HEADER_BYTES + 4);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    bytes = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
  // The header ends at the first line break outside quotes: '"', ',' and line breaks are ASCII,
  // so bytes can be scanned before decoding.
  let quoted = false;
  let end = -1;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x22) quoted = !quoted;
    else if (!quoted && (b === 0x0a || b === 0x0d)) {
      end = i;
      break;
    }
  }
  if (end < 0) {
    if (bytes.length > MAX_HEADER_BYTES) throw unreadable(file, `the header line is longer than ${MAX_HEADER_BYTES} bytes`, 1);
    if (quoted) throw unreadable(file, 'unterminated quoted field on line 1', 1);
    end = bytes.length;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, end));
  } catch {
    throw unreadable(file, 'invalid UTF-8 on line 1', 1);
  }
  if (text.trim() === '') throw unreadable(file, 'the file is empty or its first line (the header) is blank', 1);
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        const close = text.indexOf('"', i);
        if (close < 0) throw unreadable(file, 'unterminated quoted field on line 1', 1);
        field += text.slice(i, close);
        if (text[close + 1] === '"') {
          field += '"';
          i = close + 2;
        } else {
          i = close + 1;
          break;
        }
      }
      if (i < text.length && text[i] !== ',') throw unreadable(file, 'misplaced quote on line 1', 1);
    } else {
      const comma = text.indexOf(',', i);
      field = text.slice(i, comma < 0 ? text.length : comma);
      if (field.includes('"')) throw unreadable(file, 'misplaced quote on line 1', 1);
      i = comma < 0 ? text.length : comma;
    }
    fields.push(field);
    if (i >= text.length) break;
    i++; // the comma
  }
  if (fields.length === 1 && /[;\t|]/.test(fields[0]!)) {
    throw unreadable(file, 'the header line has a single column: fields must be separated by commas', 1);
  }
  return checkWidth(file, fields);
}

function checkWidth(file: UserFile, fields: string[]): string[] {
  if (fields.length > MAX_FILE_COLUMNS) throw tooManyColumns(file, fields.length);
  return fields;
}

/** A ValidationError for a file with more than MAX_FILE_COLUMNS columns. */
export function tooManyColumns(file: UserFile, count: number): ValidationError {
  return ValidationError.at(['file'], `${fileLabel(file)} has ${count} columns; at most ${MAX_FILE_COLUMNS} columns are allowed`);
}
