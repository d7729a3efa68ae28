import * as ort from 'onnxruntime-node';

/** One input column of a model's schema: its name and declared type (`double`, `int64`, `STRING`, …). */
export interface InputColumn {
  readonly name: string;
  readonly type: string;
}

/** Why an ONNX file cannot be served; the message names the inputs or outputs concerned. */
export class OnnxModelError extends Error {
  override readonly name = 'OnnxModelError';
}

/** The scores of a batch of rows: per row, the prediction and (for classifiers) the class probabilities. */
export interface Scores {
  readonly predictions: unknown[];
  readonly probabilities: (number[] | null)[];
}

type TensorType = 'float32' | 'float64' | 'int64' | 'int32' | 'string' | 'bool';
const NUMERIC: ReadonlySet<string> = new Set(['float32', 'float64', 'int64', 'int32']);
const SUPPORTED: ReadonlySet<string> = new Set([...NUMERIC, 'string', 'bool']);

/**
 * How rows reach the model: `matrix` — one 2-D tensor `[rows, columns]` of one numeric type (what
 * skl2onnx, tf2onnx and torch.onnx export by default); `columns` — one `[rows, 1]` tensor per
 * input column, matched by name (skl2onnx pipelines with per-column inputs).
 */
type Binding =
  | { readonly kind: 'matrix'; readonly input: string; readonly type: TensorType; readonly width: number }
  | { readonly kind: 'columns'; readonly inputs: readonly { readonly name: string; readonly type: TensorType; readonly rank: number }[] };

const ZIPMAP_HINT =
  'export scikit-learn classifiers with skl2onnx and options={id(model): {"zipmap": False}} (or zipmap=False) so the probabilities are a tensor';

/** Describes an ONNX value's type in words for messages. */
function typeWords(meta: ort.InferenceSession.ValueMetadata): string {
  return meta.isTensor ? `${meta.type} tensor [${meta.shape.join(', ')}]` : 'a sequence or map (not a tensor)';
}

/** Whether a schema type is a number, text or a boolean. */
function schemaKind(type: string): 'number' | 'string' | 'boolean' | 'other' {
  const t = type.toLowerCase();
  if (/^(big)?int(eger)?\d*$|^u?int\d+$|^long$|^short$|^float\d*$|^double$|^decimal|^number$/.test(t)) return 'number';
  if (/^(string|str|object|category|utf8)$/.test(t)) return 'string';
  if (/^bool(ean)?$/.test(t)) return 'boolean';
  return 'other';
}

/**
 * An ONNX model loaded in process (onnxruntime, CPU) with how rows of a model's input columns feed
 * it. Scoring a 20-feature logistic regression costs about 10 µs per call, so it runs on the
 * request thread; the session is shared by every request of the process.
 */
export class OnnxScorer {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly binding: Binding,
    private readonly labelOutput: string,
    private readonly probabilityOutput: string | null,
    /** Input column names in the order rows give their values. */
    readonly columns: readonly string[],
  ) {}

  /**
   * Loads the model and checks it against the input columns (from the model's input schema; null
   * when it has none, then one matrix input of fixed width is required). Throws OnnxModelError
   * when the file is no ONNX model, its inputs do not match, or an output is not a tensor.
   */
  static async load(bytes: Uint8Array, columns: readonly InputColumn[] | null): Promise<OnnxScorer> {
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1 });
    } catch {
      throw new OnnxModelError('the file is not an ONNX model onnxruntime can load (is it a serialized ModelProto, with opsets onnxruntime 1.31 supports?)');
    }
    try {
      for (const output of session.outputMetadata) {
        if (!output.isTensor) {
          throw new OnnxModelError(`output ${output.name} is ${typeWords(output)}: deployments need tensor outputs; ${ZIPMAP_HINT}`);
        }
      }
      const binding = bind(session.inputMetadata, columns);
      const names = session.outputNames;
      const probability = names.find((n) => /prob/i.test(n)) ?? null;
      const label = names.find((n) => /label/i.test(n)) ?? names.find((n) => n !== probability) ?? names[0]!;
      const columnNames = columns?.map((c) => c.name) ?? [];
      return new OnnxScorer(session, binding, label, probability === label ? null : probability, columnNames);
    } catch (error) {
      await session.release().catch(() => {});
      throw error;
    }
  }

  /** The model's inputs in words, for messages. */
  get inputs(): string {
    return this.binding.kind === 'matrix' ? this.binding.input : this.binding.inputs.map((i) => i.name).join(', ');
  }

  /**
   * Scores rows, each an array of values in input column order (no nulls: callers leave rows with
   * missing values out). Numbers feed numeric tensors; text feeds string tensors.
   */
  async score(rows: readonly (readonly unknown[])[]): Promise<Scores> {
    if (rows.length === 0) return { predictions: [], probabilities: [] };
    const feeds: Record<string, ort.Tensor> = {};
    const b = this.binding;
    if (b.kind === 'matrix') {
      feeds[b.input] = new ort.Tensor(
        b.type,
        fill(b.type, rows.length * b.width, (i) => rows[Math.floor(i / b.width)]![i % b.width]),
        [rows.length, b.width],
      );
    } else {
      b.inputs.forEach((input, c) => {
        feeds[input.name] = new ort.Tensor(
          input.type,
          fill(input.type, rows.length, (r) => rows[r]![c]),
          input.rank === 1 ? [rows.length] : [rows.length, 1],
        );
      });
    }
    const fetches = this.probabilityOutput ? [this.labelOutput, this.probabilityOutput] : [this.labelOutput];
    const out = await this.session.run(feeds, fetches);
    const predictions = perRow(out[this.labelOutput]!, rows.length).map((v) => (Array.isArray(v) && v.length === 1 ? v[0] : v));
    const probabilities = this.probabilityOutput
      ? perRow(out[this.probabilityOutput]!, rows.length).map((v) => (Array.isArray(v) ? (v as number[]) : [v as number]))
      : rows.map(() => null);
    return { predictions, probabilities };
  }

  /** Frees the native session. */
  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Decides how rows feed the model's inputs, or says why they cannot. */
function bind(inputs: readonly ort.InferenceSession.ValueMetadata[], columns: readonly InputColumn[] | null): Binding {
  const names = inputs.map((i) => i.name);
  for (const input of inputs) {
    if (!input.isTensor || !SUPPORTED.has(input.type)) {
      throw new OnnxModelError(`input ${input.name} is ${typeWords(input)}: deployments feed float, double, int32, int64, string or bool tensors`);
    }
  }
  const schema = columns ? `the input schema's ${columns.length} columns (${list(columns.map((c) => c.name))})` : null;
  const byName = columns ? new Map(columns.map((c) => [c.name, c])) : null;
  if (byName && inputs.length > 1 && inputs.every((i) => byName.has(i.name))) {
    if (inputs.length !== columns!.length) {
      const absent = columns!.filter((c) => !names.includes(c.name)).map((c) => c.name);
      throw new OnnxModelError(`the ONNX inputs (${list(names)}) do not cover ${schema}: no input for ${list(absent)}`);
    }
    // Per-column inputs, fed in the schema's order.
    return {
      kind: 'columns',
      inputs: columns!.map((c) => {
        const meta = inputs.find((i) => i.name === c.name) as ort.InferenceSession.TensorValueMetadata;
        checkColumnType(meta, c);
        return { name: c.name, type: meta.type as TensorType, rank: meta.shape.length };
      }),
    };
  }
  if (inputs.length === 1 && byName?.has(inputs[0]!.name) && columns!.length === 1) {
    const meta = inputs[0] as ort.InferenceSession.TensorValueMetadata;
    checkColumnType(meta, columns![0]!);
    return { kind: 'columns', inputs: [{ name: meta.name, type: meta.type as TensorType, rank: meta.shape.length }] };
  }
  if (inputs.length === 1) {
    const meta = inputs[0] as ort.InferenceSession.TensorValueMetadata;
    const width = meta.shape[1];
    if (meta.shape.length !== 2 || !NUMERIC.has(meta.type)) {
      throw new OnnxModelError(
        `input ${meta.name} is a ${typeWords(meta)}: one input must be a 2-D numeric tensor [rows, ${columns?.length ?? 'columns'}]${schema ? `, or give one input per column named as ${schema}` : ''}`,
      );
    }
    if (columns === null) {
      if (typeof width !== 'number') throw new OnnxModelError(`input ${meta.name} has no fixed width and the model has no input schema to say its columns`);
      return { kind: 'matrix', input: meta.name, type: meta.type as TensorType, width };
    }
    if (typeof width === 'number' && width !== columns.length) {
      throw new OnnxModelError(`input ${meta.name} takes ${width} columns, but ${schema} are ${columns.length}`);
    }
    const text = columns.filter((c) => schemaKind(c.type) === 'string').map((c) => c.name);
    if (text.length > 0) {
      throw new OnnxModelError(
        `input ${meta.name} is a ${meta.type} matrix, but columns ${list(text)} of the input schema are text: encode them (label_encoder, one_hot_encoder) or give the model one input per column`,
      );
    }
    return { kind: 'matrix', input: meta.name, type: meta.type as TensorType, width: columns.length };
  }
  throw new OnnxModelError(
    schema
      ? `the ONNX inputs (${list(names)}) match neither ${schema} by name nor a single [rows, ${columns!.length}] matrix`
      : `the model has ${inputs.length} ONNX inputs (${list(names)}) and no input schema to say which column feeds which`,
  );
}

function checkColumnType(meta: ort.InferenceSession.TensorValueMetadata, column: InputColumn): void {
  const kind = schemaKind(column.type);
  const ok = NUMERIC.has(meta.type) ? kind === 'number' || kind === 'boolean' : meta.type === 'string' ? kind === 'string' : kind === 'boolean';
  if (!ok && kind !== 'other')
    throw new OnnxModelError(`input ${meta.name} is a ${meta.type} tensor, but column ${column.name} of the input schema is ${column.type}`);
}

function list(names: readonly string[]): string {
  return names.length > 12 ? `${names.slice(0, 12).join(', ')}, … (${names.length} in all)` : names.join(', ');
}

/** A typed array (or string array) of `n` values, value `i` from `at(i)`. */
function fill(type: TensorType, n: number, at: (i: number) => unknown) {
  switch (type) {
    case 'float32':
    case 'float64': {
      const out = type === 'float32' ? new Float32Array(n) : new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = toNumber(at(i));
      return out;
    }
    case 'int32': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = toNumber(at(i));
      return out;
    }
    case 'int64': {
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) {
        const v = at(i);
        out[i] = typeof v === 'bigint' ? v : BigInt(Math.trunc(toNumber(v)));
      }
      return out;
    }
    case 'bool': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = at(i) ? 1 : 0;
      return out;
    }
    case 'string': {
      const out = new Array<string>(n);
      for (let i = 0; i < n; i++) out[i] = String(at(i));
      return out;
    }
  }
}

function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string') return Number(value);
  return Number.NaN;
}

/** A tensor's values split per row: a scalar for `[rows]` or `[rows, 1]`, else an array. */
function perRow(tensor: ort.Tensor, rows: number): unknown[] {
  const data = tensor.data as ArrayLike<unknown>;
  const width = rows === 0 ? 0 : data.length / rows;
  const out = new Array<unknown>(rows);
  const value = (v: unknown) => (typeof v === 'bigint' ? Number(v) : v);
  for (let r = 0; r < rows; r++) {
    if (width === 1) out[r] = value(data[r]);
    else {
      const row = new Array<unknown>(width);
      for (let c = 0; c < width; c++) row[c] = value(data[r * width + c]);
      out[r] = row;
    }
  }
  return out;
}
