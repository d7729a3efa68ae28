import type { ColumnValues } from '../../domain/insert-source.ts';

/**
 * Prediction log rows: what predict hands over, and the columns they are kept in until a flush.
 *
 * The log is a feature group with a column per feature, as Hopsworks logs: the metadata columns
 * below, then every feature a served vector holds, by its name. The raw vector's features keep the
 * view's names; the transformed vector's outputs are named as training data names them
 * (`min_max_scaler_tenure_`), and a feature served untransformed is the same column in both. So
 * statistics, validation and drift monitoring work on the log's columns directly, and numbers are
 * kept as numbers from predict to the Parquet file: nothing is printed as text on the way.
 */

/** The log group's metadata features, in order; the primary key is (request_id, entry_index, model_version). */
export const LOG_FEATURES = [
  { name: 'request_id', type: 'STRING', description: 'The predict request (one id per call).' },
  { name: 'entry_index', type: 'INT', description: 'Position of the entry in the request.' },
  { name: 'model_version', type: 'INT', description: 'Model version that scored the entry.' },
  { name: 'logged_at', type: 'TIMESTAMP', description: 'When the prediction was made.' },
  { name: 'model_name', type: 'STRING', description: 'Model name.' },
  { name: 'training_dataset_version', type: 'INT', description: 'Training dataset whose fitted transformations built the vector.' },
  { name: 'shadow', type: 'BOOLEAN', description: 'A shadow version’s prediction: logged, never returned.' },
  { name: 'entity_keys', type: 'STRING', description: 'JSON: the serving keys of the entry.' },
  { name: 'feature_status', type: 'STRING', description: 'JSON: the features missing or passed; the others were present (readLog lists every feature).' },
  { name: 'prediction', type: 'STRING', description: 'JSON: the prediction; null when the entry was not scored.' },
  { name: 'probabilities', type: 'STRING', description: 'JSON: class probabilities, when the model gives them.' },
] as const;

/** Names of the metadata features: no served feature may take one of them (see logColumnClash). */
export const LOG_FEATURE_NAMES: ReadonlySet<string> = new Set(LOG_FEATURES.map((f) => f.name));

/**
 * Features of logs written before vectors had columns of their own: their vectors are JSON objects
 * in these STRING features (after `entity_keys`). Such a log keeps them, and gains the vectors'
 * columns for the rows logged since.
 */
export const LEGACY_VECTOR_FEATURES = ['raw_vector', 'transformed_vector'] as const;

/** A vector as served: feature names and their values, in the same order. */
export interface LoggedVector {
  readonly features: readonly string[];
  readonly values: readonly unknown[];
}

/** One logged prediction as predict hands it over: the values themselves, nothing formatted. */
export interface LoggedPrediction {
  readonly requestId: string;
  readonly entryIndex: number;
  readonly modelVersion: number;
  readonly modelName: string;
  /** Epoch milliseconds. */
  readonly loggedAt: number;
  readonly trainingDatasetVersion: number | null;
  /** A shadow version's prediction: scored on the same vector, never returned. */
  readonly shadow: boolean;
  /** The entry's serving keys, as given. */
  readonly entry: unknown;
  /** The feature values as read online (passed features applied). */
  readonly raw: LoggedVector;
  /** The model's input, as transformed with the training dataset's fitted parameters. */
  readonly vector: LoggedVector;
  /** The names of the features the caller passed for this entry; null when none. */
  readonly passed: readonly string[] | null;
  /** The prediction (null when the entry was not scored). */
  readonly prediction: unknown;
  /** Class probabilities, or null. */
  readonly probabilities: unknown;
}

/**
 * The features of the raw vector that were passed (`passed`) or had no value (`missing`), as JSON;
 * every other feature was read from the store (`present`) and is left out, which keeps log rows
 * small. readLog gives the status of every feature.
 */
export function featureStatusText(names: readonly string[], values: readonly unknown[], passed: readonly string[] | null): string {
  const given = passed && passed.length > 0 ? new Set(passed) : null;
  let out = '';
  for (let i = 0; i < names.length; i++) {
    const f = names[i]!;
    const status = given?.has(f) ? 'passed' : values[i] === null || values[i] === undefined ? 'missing' : null;
    if (status !== null) out += `${out === '' ? '{' : ','}${JSON.stringify(f)}:"${status}"`;
  }
  return out === '' ? '{}' : `${out}}`;
}

/** A served feature whose name is a metadata feature's cannot have a column of the log: the reason, or null. */
export function logColumnClash(name: string): string | null {
  return LOG_FEATURE_NAMES.has(name) || (LEGACY_VECTOR_FEATURES as readonly string[]).includes(name)
    ? `feature ${name} has the name of a prediction log column (${[...LOG_FEATURE_NAMES].join(', ')}); rename it in the feature view to log it`
    : null;
}

/** Rows of one deployment's log in columns, as an insert takes them (a `columns` source). */
export interface LogColumns {
  readonly rowCount: number;
  readonly names: readonly string[];
  readonly values: readonly ColumnValues[];
}

const INITIAL_ROWS = 1024;
/** A buffer shrinks only after this many mostly empty intervals in a row (a minute at the log's 5 s flushes). */
const QUIET_RESETS = 12;
const NONE: readonly string[] = [];

/** A column of values kept by their codes: each distinct value is held once (see CodedColumn). */
class Coded {
  #index = new Map<unknown, number>();
  dictionary: unknown[] = [];

  constructor(public codes: Int32Array) {}

  /** Forgets the values (the dictionary handed out stays as it is); the codes are the caller's to reset. */
  clear(): void {
    this.#index = new Map();
    this.dictionary = [];
  }

  /** The code of a value (-1 for null), adding it to the dictionary at its first use. */
  code(value: unknown): number {
    if (value === null || value === undefined) return -1;
    let code = this.#index.get(value);
    if (code === undefined) {
      code = this.dictionary.length;
      this.dictionary.push(value);
      this.#index.set(value, code);
    }
    return code;
  }
}

type BufferColumn = Float64Array | Coded | unknown[];

/**
 * One deployment's logged rows since the last flush, column by column, so that rows waiting for a
 * flush hold almost nothing on the JavaScript heap: numbers in Float64Arrays (NaN for null), other
 * values by their codes (a text feature's categories, the same JSON of entity keys, status and
 * prediction are held once each, and the strings read for each request die young instead of being
 * copied by every garbage collection until the flush). Only the request id and the probabilities,
 * distinct in every row, are kept as given. A column starts as numbers and becomes coded at its
 * first value of another kind; a feature first seen in a later row gets a column that is null
 * before it. Vector values of served features that clash with a metadata column's name are left out.
 */
export class LogBuffer {
  #rows = 0;
  /** Resets in a row that found the buffer mostly empty. */
  #quiet = 0;
  #capacity: number;
  readonly #names: string[] = [];
  readonly #columns: BufferColumn[] = [];
  readonly #index = new Map<string, number>();
  /** Per feature-name list (served vectors share theirs) and list already written: the column of each name (see #at). */
  #lists = new WeakMap<readonly string[], WeakMap<readonly string[], Int32Array>>();
  /** The model versions of the rows, by `name:version`. */
  readonly models = new Map<string, { readonly name: string; readonly version: number }>();

  constructor() {
    this.#capacity = INITIAL_ROWS;
    this.#addMetadata();
  }

  #addMetadata(): void {
    for (const f of LOG_FEATURES) {
      this.#column(f.name, f.type === 'INT' || f.type === 'TIMESTAMP' ? 'numbers' : f.name === 'request_id' || f.name === 'probabilities' ? 'plain' : 'coded');
    }
  }

  /**
   * Empties the buffer for the next interval's rows (after `columns`, which copies). Its columns
   * and their arrays are kept: an interval as busy as the last one allocates nothing (growing the
   * arrays again under load was measured at tens of ms of the main thread per interval). After
   * QUIET_RESETS intervals in a row that used under a quarter of the room, each further one halves
   * it, and a buffer back at its first size starts over from the metadata columns: a deployment
   * that logs less, or serves other features, frees its memory within a few minutes.
   */
  reset(): void {
    const n = this.#rows;
    this.#rows = 0;
    this.models.clear();
    this.#quiet = n < this.#capacity / 4 ? this.#quiet + 1 : 0;
    const shrink = this.#quiet >= QUIET_RESETS && this.#capacity > INITIAL_ROWS;
    if (shrink) this.#capacity = Math.max(INITIAL_ROWS, this.#capacity / 2);
    if (shrink && this.#capacity === INITIAL_ROWS) {
      this.#names.length = 0;
      this.#columns.length = 0;
      this.#index.clear();
      this.#lists = new WeakMap();
      this.#addMetadata();
      return;
    }
    for (let c = 0; c < this.#columns.length; c++) {
      const column = this.#columns[c]!;
      if (column instanceof Float64Array) this.#columns[c] = shrink ? new Float64Array(this.#capacity).fill(Number.NaN) : column.fill(Number.NaN, 0, n);
      else if (column instanceof Coded) {
        column.codes = shrink ? new Int32Array(this.#capacity).fill(-1) : column.codes.fill(-1, 0, n);
        column.clear();
      } else this.#columns[c] = [];
    }
  }

  get rows(): number {
    return this.#rows;
  }

  /** Empty, and back at its first size. */
  get idle(): boolean {
    return this.#rows === 0 && this.#capacity === INITIAL_ROWS;
  }

  add(row: LoggedPrediction): void {
    if (this.#rows === this.#capacity) this.#grow();
    const r = this.#rows++;
    const c = this.#columns;
    (c[0] as unknown[])[r] = row.requestId;
    (c[1] as Float64Array)[r] = row.entryIndex;
    (c[2] as Float64Array)[r] = row.modelVersion;
    (c[3] as Float64Array)[r] = row.loggedAt;
    this.#code(4, r, row.modelName);
    (c[5] as Float64Array)[r] = row.trainingDatasetVersion ?? Number.NaN;
    this.#code(6, r, row.shadow);
    this.#code(7, r, JSON.stringify(row.entry ?? null));
    this.#code(8, r, featureStatusText(row.raw.features, row.raw.values, row.passed));
    this.#code(9, r, JSON.stringify(row.prediction ?? null));
    (c[10] as unknown[])[r] = row.probabilities === null || row.probabilities === undefined ? null : JSON.stringify(row.probabilities);
    this.#vector(r, row.raw, this.#at(row.raw.features, null));
    // A feature served untransformed is in both vectors with the same value: written once.
    this.#vector(r, row.vector, this.#at(row.vector.features, row.raw.features));
    const model = `${row.modelName}:${row.modelVersion}`;
    if (!this.models.has(model)) this.models.set(model, { name: row.modelName, version: row.modelVersion });
  }

  /** The rows in columns, each exactly `rowCount` long. */
  columns(): LogColumns {
    const n = this.#rows;
    return {
      rowCount: n,
      names: [...this.#names],
      values: this.#columns.map((column): ColumnValues => {
        if (column instanceof Float64Array) return column.slice(0, n);
        if (column instanceof Coded) return { codes: column.codes.slice(0, n), dictionary: column.dictionary };
        // A feature absent from some rows' vectors left holes: they are nulls.
        const plain = new Array<unknown>(n);
        for (let r = 0; r < n; r++) plain[r] = column[r] ?? null;
        return plain;
      }),
    };
  }

  #code(c: number, r: number, value: unknown): void {
    const column = this.#columns[c] as Coded;
    column.codes[r] = column.code(value);
  }

  /**
   * The column of each of `features` (-1: none), leaving out those of `written` (a list whose
   * values the row already has); kept per pair of lists, which served vectors share.
   */
  #at(features: readonly string[], written: readonly string[] | null): Int32Array {
    let byWritten = this.#lists.get(features);
    if (!byWritten) {
      byWritten = new WeakMap();
      this.#lists.set(features, byWritten);
    }
    const key = written ?? NONE;
    let at = byWritten.get(key);
    if (!at) {
      const skip = new Set(written);
      at = Int32Array.from(features, (name) =>
        logColumnClash(name) !== null || skip.has(name) ? -1 : (this.#index.get(name) ?? this.#column(name, 'numbers')),
      );
      byWritten.set(key, at);
    }
    return at;
  }

  #vector(r: number, vector: LoggedVector, at: Int32Array): void {
    const values = vector.values;
    for (let i = 0; i < at.length; i++) {
      const c = at[i]!;
      if (c < 0) continue;
      const v = values[i];
      const column = this.#columns[c]!;
      if (column instanceof Float64Array) {
        if (typeof v === 'number') column[r] = v;
        else if (v === null || v === undefined) column[r] = Number.NaN;
        else {
          const coded = this.#coded(c);
          coded.codes[r] = coded.code(v);
        }
      } else if (column instanceof Coded) {
        column.codes[r] = column.code(v);
      } else {
        column[r] = v ?? null;
      }
    }
  }

  /** A new column, null for the rows so far; returns its index. */
  #column(name: string, kind: 'numbers' | 'coded' | 'plain'): number {
    const c = this.#names.length;
    this.#names.push(name);
    this.#index.set(name, c);
    this.#columns.push(
      kind === 'numbers'
        ? new Float64Array(this.#capacity).fill(Number.NaN)
        : kind === 'coded'
          ? new Coded(new Int32Array(this.#capacity).fill(-1))
          : new Array<unknown>(this.#rows).fill(null),
    );
    return c;
  }

  /** Column `c` as coded values from now on (a value that is not a number arrived); its numbers so far are kept. */
  #coded(c: number): Coded {
    const column = this.#columns[c]!;
    if (column instanceof Coded) return column;
    const coded = new Coded(new Int32Array(this.#capacity).fill(-1));
    const numbers = column as Float64Array;
    for (let r = 0; r < this.#rows; r++) {
      const v = numbers[r]!;
      if (!Number.isNaN(v)) coded.codes[r] = coded.code(v);
    }
    this.#columns[c] = coded;
    return coded;
  }

  #grow(): void {
    this.#capacity *= 2;
    for (let c = 0; c < this.#columns.length; c++) {
      const column = this.#columns[c]!;
      if (column instanceof Float64Array) {
        const grown = new Float64Array(this.#capacity).fill(Number.NaN);
        grown.set(column);
        this.#columns[c] = grown;
      } else if (column instanceof Coded) {
        const grown = new Int32Array(this.#capacity).fill(-1);
        grown.set(column.codes);
        column.codes = grown;
      }
    }
  }
}
