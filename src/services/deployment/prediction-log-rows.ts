/**
 * Prediction log rows: what predict hands over, what crosses to the log's writer thread, and the
 * TSV line the writer makes of it. Shared by both sides of the thread (see prediction-log-thread.ts).
 */

/** The log group's features, in order; the primary key is (request_id, entry_index, model_version). */
export const LOG_FEATURES = [
  { name: 'request_id', type: 'STRING', description: 'The predict request (one id per call).' },
  { name: 'entry_index', type: 'INT', description: 'Position of the entry in the request.' },
  { name: 'model_version', type: 'INT', description: 'Model version that scored the entry.' },
  { name: 'logged_at', type: 'TIMESTAMP', description: 'When the prediction was made.' },
  { name: 'model_name', type: 'STRING', description: 'Model name.' },
  { name: 'training_dataset_version', type: 'INT', description: 'Training dataset whose fitted transformations built the vector.' },
  { name: 'shadow', type: 'BOOLEAN', description: 'A shadow version’s prediction: logged, never returned.' },
  { name: 'entity_keys', type: 'STRING', description: 'JSON: the serving keys of the entry.' },
  { name: 'raw_vector', type: 'STRING', description: 'JSON: feature values as read online, passed features applied.' },
  { name: 'transformed_vector', type: 'STRING', description: 'JSON: the model input, transformed.' },
  { name: 'feature_status', type: 'STRING', description: 'JSON: the features missing or passed; the others were present (readLog lists every feature).' },
  { name: 'prediction', type: 'STRING', description: 'JSON: the prediction; null when the entry was not scored.' },
  { name: 'probabilities', type: 'STRING', description: 'JSON: class probabilities, when the model gives them.' },
] as const;

/** The header line of a log file: the log group's features in order, tab-separated. */
export const TSV_HEADER = LOG_FEATURES.map((f) => f.name).join('\t');

/** A vector as served: feature names and their values, in the same order. */
export interface LoggedVector {
  readonly features: readonly string[];
  readonly values: readonly unknown[];
}

/**
 * One logged prediction as predict hands it over: the values themselves, nothing formatted. Turning
 * a row into text (a hundred doubles printed, JSON quoted) costs more than the prediction; the
 * writer thread does it, off the thread that answers requests.
 */
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
 * A logged prediction as it crosses to the writer thread: an array (cheaper to copy between threads
 * than an object), feature-name lists replaced by the ids they were sent under once.
 */
export type WireRow = [
  requestId: string,
  entryIndex: number,
  modelVersion: number,
  modelName: string,
  loggedAt: number,
  trainingDatasetVersion: number | null,
  shadow: boolean,
  entry: unknown,
  rawNames: number,
  rawValues: readonly unknown[],
  vectorNames: number,
  vectorValues: readonly unknown[],
  passed: readonly string[] | null,
  prediction: unknown,
  probabilities: unknown,
];

/**
 * A text field of a log line (TSV: no quoting, see InsertSource): tabs and line breaks, which only
 * a caller-given request id could hold, become spaces. JSON text never holds them raw.
 */
const tsvText = (text: string) => (/[\t\n\r]/.test(text) ? text.replace(/[\t\n\r]/g, ' ') : text);

/** Per list of feature names: the JSON text before each value (`{"a":`, `,"b":`). */
const keyTexts = new WeakMap<readonly string[], readonly string[]>();

/**
 * `JSON.stringify` of the object `{ [names[i]]: values[i] }`, built without the object: the vectors
 * are most of a log row, written for every prediction.
 */
export function jsonObjectText(names: readonly string[], values: readonly unknown[]): string {
  if (names.length === 0) return '{}';
  let keys = keyTexts.get(names);
  if (!keys) {
    keys = names.map((n, i) => `${i === 0 ? '{' : ','}${JSON.stringify(n)}:`);
    keyTexts.set(names, keys);
  }
  let out = '';
  if (values.length >= names.length && splittable(values, names.length)) {
    // JSON.stringify prints a whole array of numbers at about twice the speed of String() per value;
    // with no commas inside its values, its commas are exactly the separators.
    const texts = JSON.stringify(values.length === names.length ? values : values.slice(0, names.length))
      .slice(1, -1)
      .split(',');
    for (let i = 0; i < names.length; i++) out += keys[i]! + texts[i]!;
    return `${out}}`;
  }
  for (let i = 0; i < names.length; i++) {
    const v = values[i];
    out += keys[i]!;
    if (typeof v === 'number') out += Number.isFinite(v) ? String(v) : 'null';
    else if (v === undefined || v === null) out += 'null';
    else if (typeof v === 'boolean') out += v ? 'true' : 'false';
    else out += JSON.stringify(v);
  }
  return `${out}}`;
}

/**
 * Whether the JSON of the first `n` values has a comma only between them: numbers, booleans, null,
 * undefined, and strings without commas.
 */
function splittable(values: readonly unknown[], n: number): boolean {
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (typeof v === 'string') {
      if (v.includes(',')) return false;
    } else if ((v !== null && typeof v === 'object') || typeof v === 'bigint' || typeof v === 'function' || typeof v === 'symbol') return false;
  }
  return true;
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

/** One wire row as a log line (TSV) in LOG_FEATURES order; `names` resolves the feature-name list ids. */
export function tsvLine(row: WireRow, names: (id: number) => readonly string[]): string {
  const [requestId, entryIndex, modelVersion, modelName, loggedAt, tdVersion, shadow, entry, rawNames, rawValues, vectorNames, vectorValues, passed] = row;
  const raw = names(rawNames);
  const probabilities = row[14];
  return (
    `${tsvText(requestId)}\t${entryIndex}\t${modelVersion}\t${new Date(loggedAt).toISOString()}\t${tsvText(modelName)}\t` +
    `${tdVersion ?? ''}\t${shadow}\t${JSON.stringify(entry ?? null)}\t${jsonObjectText(raw, rawValues)}\t${jsonObjectText(names(vectorNames), vectorValues)}\t` +
    `${featureStatusText(raw, rawValues, passed)}\t${JSON.stringify(row[13] ?? null)}\t${probabilities === null || probabilities === undefined ? '' : JSON.stringify(probabilities)}`
  );
}
