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
  readonly values: readonly (Float64Array | unknown[])[];
}

const INITIAL_ROWS = 1024;

/**
 * One deployment's logged rows since the last flush, column by column: numbers in Float64Arrays
 * (NaN for null), anything else as given in plain arrays. A row costs its values' stores and a few
 * JSON texts of small values; Float64Array memory is outside the JavaScript heap, so rows waiting
 * for a flush cost the garbage collector nothing but their strings. A column starts as numbers and
 * becomes a plain array at its first value of another kind; a feature first seen in a later row
 * gets a column that is null before it. Vector values of served features that clash with a
 * metadata column's name are left out.
 */
export class LogBuffer {
  #rows = 0;
  #capacity = INITIAL_ROWS;
  readonly #names: string[] = [];
  readonly #columns: (Float64Array | unknown[])[] = [];
  readonly #index = new Map<string, number>();
  /** Per feature-name list (served vectors share theirs): the column of each name, -1 for none. */
  readonly #lists = new WeakMap<readonly string[], Int32Array>();
  /** The model versions of the rows, by `name:version`. */
  readonly models = new Map<string, { readonly name: string; readonly version: number }>();

  constructor() {
    for (const f of LOG_FEATURES) this.#column(f.name, f.type === 'INT' || f.type === 'TIMESTAMP');
  }

  get rows(): number {
    return this.#rows;
  }

  add(row: LoggedPrediction): void {
    if (this.#rows === this.#capacity) this.#grow();
    const r = this.#rows++;
    const c = this.#columns;
    (c[0] as unknown[])[r] = row.requestId;
    (c[1] as Float64Array)[r] = row.entryIndex;
    (c[2] as Float64Array)[r] = row.modelVersion;
    (c[3] as Float64Array)[r] = row.loggedAt;
    (c[4] as unknown[])[r] = row.modelName;
    (c[5] as Float64Array)[r] = row.trainingDatasetVersion ?? Number.NaN;
    (c[6] as unknown[])[r] = row.shadow;
    (c[7] as unknown[])[r] = JSON.stringify(row.entry ?? null);
    (c[8] as unknown[])[r] = featureStatusText(row.raw.features, row.raw.values, row.passed);
    (c[9] as unknown[])[r] = JSON.stringify(row.prediction ?? null);
    (c[10] as unknown[])[r] = row.probabilities === null || row.probabilities === undefined ? null : JSON.stringify(row.probabilities);
    this.#vector(r, row.raw);
    this.#vector(r, row.vector);
    const model = `${row.modelName}:${row.modelVersion}`;
    if (!this.models.has(model)) this.models.set(model, { name: row.modelName, version: row.modelVersion });
  }

  /** The rows in columns, each exactly `rowCount` long. */
  columns(): LogColumns {
    const n = this.#rows;
    return {
      rowCount: n,
      names: [...this.#names],
      values: this.#columns.map((column) => {
        if (column instanceof Float64Array) return column.slice(0, n);
        // A feature absent from some rows' vectors left holes: they are nulls.
        const plain = new Array<unknown>(n);
        for (let r = 0; r < n; r++) plain[r] = column[r] ?? null;
        return plain;
      }),
    };
  }

  #vector(r: number, vector: LoggedVector): void {
    let at = this.#lists.get(vector.features);
    if (!at) {
      at = Int32Array.from(vector.features, (name) => (logColumnClash(name) === null ? (this.#index.get(name) ?? this.#column(name, true)) : -1));
      this.#lists.set(vector.features, at);
    }
    const values = vector.values;
    for (let i = 0; i < at.length; i++) {
      const c = at[i]!;
      if (c < 0) continue;
      const v = values[i];
      const column = this.#columns[c]!;
      if (column instanceof Float64Array) {
        if (typeof v === 'number') column[r] = v;
        else if (v === null || v === undefined) column[r] = Number.NaN;
        else this.#plain(c)[r] = v;
      } else {
        column[r] = v ?? null;
      }
    }
  }

  /** A new column (numbers or plain), null for the rows so far; returns its index. */
  #column(name: string, numbers: boolean): number {
    const c = this.#names.length;
    this.#names.push(name);
    this.#index.set(name, c);
    this.#columns.push(numbers ? new Float64Array(this.#capacity).fill(Number.NaN) : new Array<unknown>(this.#rows).fill(null));
    return c;
  }

  /** Column `c` as a plain array from now on (a value that is not a number arrived). */
  #plain(c: number): unknown[] {
    const column = this.#columns[c]!;
    if (!(column instanceof Float64Array)) return column;
    const plain = new Array<unknown>(this.#rows);
    for (let r = 0; r < this.#rows; r++) {
      const v = column[r]!;
      plain[r] = Number.isNaN(v) ? null : v;
    }
    this.#columns[c] = plain;
    return plain;
  }

  #grow(): void {
    this.#capacity *= 2;
    for (let c = 0; c < this.#columns.length; c++) {
      const column = this.#columns[c]!;
      if (column instanceof Float64Array) {
        const grown = new Float64Array(this.#capacity).fill(Number.NaN);
        grown.set(column);
        this.#columns[c] = grown;
      }
    }
  }
}
