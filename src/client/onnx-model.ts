/**
 * Small ONNX models built in TypeScript: a minimal protobuf wire-format encoder and a ModelProto
 * builder (field numbers of onnx/onnx.proto), with no Python and no protobuf package. Enough for
 * the graphs classical models need (linear models, one-hot encoding, ai.onnx.ml operators) and
 * for test models; the output loads in onnxruntime.
 */

/** Element types of the tensors this builder writes. */
export type OnnxElementType = 'float' | 'double' | 'int64' | 'int32' | 'string' | 'bool';

/** A dimension: a fixed size, or a name for a size known at run time (`'N'` rows). */
export type OnnxDim = number | string;

/** The type of a value: a tensor, a sequence, or a map (scikit-learn's ZipMap gives a sequence of maps). */
export type OnnxType =
  /** A tensor; without `shape` its rank is unknown. */
  | { readonly kind: 'tensor'; readonly elemType: OnnxElementType; readonly shape?: readonly OnnxDim[] }
  | { readonly kind: 'sequence'; readonly elemType: OnnxType }
  | { readonly kind: 'map'; readonly keyType: 'int64' | 'int32' | 'string'; readonly valueType: OnnxType };

/** A graph input or output: a tensor of an element type and shape, or any {@link OnnxType}. */
export type OnnxValueInfo =
  | { readonly name: string; readonly type: OnnxElementType; readonly shape: readonly OnnxDim[] }
  | { readonly name: string; readonly type: OnnxType };

/** Tensor contents in row-major order; `values.length` is the product of `dims`. */
export type OnnxTensor =
  | { readonly type: 'float' | 'double' | 'int32'; readonly dims: readonly number[]; readonly values: ArrayLike<number> }
  | { readonly type: 'int64'; readonly dims: readonly number[]; readonly values: ArrayLike<number | bigint> }
  | { readonly type: 'bool'; readonly dims: readonly number[]; readonly values: ArrayLike<boolean | number> }
  | { readonly type: 'string'; readonly dims: readonly number[]; readonly values: readonly string[] };

/** A named constant of the graph (weights, indices, shapes). */
export type OnnxInitializer = OnnxTensor & { readonly name: string };

/**
 * A node attribute. Strings and string lists are written as they are; numbers say whether they
 * are ints (int64) or floats (float32), since ONNX operators check the attribute's type.
 */
export type OnnxAttribute =
  | string
  | readonly string[]
  | { readonly int: number | bigint }
  | { readonly float: number }
  | { readonly ints: ArrayLike<number | bigint> }
  | { readonly floats: ArrayLike<number> }
  | { readonly tensor: OnnxTensor };

/** One operator application. `domain` is the operator set's (`'ai.onnx.ml'`; empty for the standard one). */
export interface OnnxNode {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name?: string;
  readonly domain?: string;
  readonly attributes?: Readonly<Record<string, OnnxAttribute>>;
}

export interface OnnxModelOptions {
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  /** In topological order: a node's inputs are graph inputs, initializers or earlier nodes' outputs. */
  readonly nodes: readonly OnnxNode[];
  readonly initializers?: readonly OnnxInitializer[];
  /** Operator set versions by domain (default `{ '': 17 }`). */
  readonly opsets?: Readonly<Record<string, number>>;
  /** `producer_name` (default `'granary'`). */
  readonly producer?: string;
  /** The graph's name (default `'graph'`). */
  readonly graphName?: string;
  /** IR version (default 8, which goes with opset 17). */
  readonly irVersion?: number;
}

// Field numbers of onnx/onnx.proto.
const MODEL = { irVersion: 1, producerName: 2, graph: 7, opsetImport: 8 } as const;
const OPSET = { domain: 1, version: 2 } as const;
const GRAPH = { node: 1, name: 2, initializer: 5, input: 11, output: 12 } as const;
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 } as const;
const ATTRIBUTE = { name: 1, f: 2, i: 3, s: 4, t: 5, floats: 7, ints: 8, strings: 9, type: 20 } as const;
const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7, strings: 8 } as const;
const TENSOR = { dims: 1, dataType: 2, floatData: 4, int32Data: 5, stringData: 6, int64Data: 7, name: 8, doubleData: 10 } as const;
const VALUE_INFO = { name: 1, type: 2 } as const;
const TYPE = { tensorType: 1, sequenceType: 4, mapType: 5 } as const;
const TENSOR_TYPE = { elemType: 1, shape: 2 } as const;
const SHAPE = { dim: 1 } as const;
const DIMENSION = { dimValue: 1, dimParam: 2 } as const;
const SEQUENCE_TYPE = { elemType: 1 } as const;
const MAP_TYPE = { keyType: 1, valueType: 2 } as const;

/** `TensorProto.DataType` of each element type. */
const DATA_TYPE: Readonly<Record<OnnxElementType, number>> = { float: 1, int32: 6, int64: 7, string: 8, bool: 9, double: 11 };

/** The `TensorProto.DataType` number of an element type, for attributes such as Cast's `to`. */
export function onnxDataType(type: OnnxElementType): number {
  return DATA_TYPE[type];
}

/** A tensor type; leave `shape` out when the rank is unknown. */
export function onnxTensorType(elemType: OnnxElementType, shape?: readonly OnnxDim[]): OnnxType {
  return shape ? { kind: 'tensor', elemType, shape } : { kind: 'tensor', elemType };
}

/** A sequence of values of one type. */
export function onnxSequenceType(elemType: OnnxType): OnnxType {
  return { kind: 'sequence', elemType };
}

/** A map from integer or string keys to values of one type. */
export function onnxMapType(keyType: 'int64' | 'int32' | 'string', valueType: OnnxType): OnnxType {
  return { kind: 'map', keyType, valueType };
}

const WIRE = { varint: 0, fixed64: 1, bytes: 2, fixed32: 5 } as const;
const utf8 = new TextEncoder();

/** Protobuf wire format, field by field, into a growing buffer. */
class ProtoWriter {
  private buffer = new Uint8Array(256);
  private view = new DataView(this.buffer.buffer);
  private length = 0;

  /** An int32, int64, enum or bool field; negative numbers take ten bytes (two's complement, as protobuf's int64). */
  varint(field: number, value: number | bigint): void {
    this.tag(field, WIRE.varint);
    this.rawVarint(value);
  }

  float(field: number, value: number): void {
    this.tag(field, WIRE.fixed32);
    this.ensure(4);
    this.view.setFloat32(this.length, value, true);
    this.length += 4;
  }

  bytes(field: number, value: Uint8Array): void {
    this.tag(field, WIRE.bytes);
    this.rawVarint(value.length);
    this.ensure(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }

  string(field: number, value: string): void {
    this.bytes(field, utf8.encode(value));
  }

  /** An embedded message, written by `write` into its own writer. */
  message(field: number, write: (w: ProtoWriter) => void): void {
    const inner = new ProtoWriter();
    write(inner);
    this.bytes(field, inner.finish());
  }

  /** A packed repeated int32/int64 field: one length-delimited run of varints. */
  packedVarints(field: number, values: ArrayLike<number | bigint>): void {
    if (values.length === 0) return;
    const inner = new ProtoWriter();
    for (let i = 0; i < values.length; i++) inner.rawVarint(values[i]!);
    this.bytes(field, inner.finish());
  }

  /** A packed repeated float field: little-endian IEEE 754 singles. */
  packedFloats(field: number, values: ArrayLike<number>): void {
    this.packedFixed(field, values, 4, (view, at, v) => view.setFloat32(at, v, true));
  }

  /** A packed repeated double field: little-endian IEEE 754 doubles. */
  packedDoubles(field: number, values: ArrayLike<number>): void {
    this.packedFixed(field, values, 8, (view, at, v) => view.setFloat64(at, v, true));
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }

  private packedFixed(field: number, values: ArrayLike<number>, width: number, set: (view: DataView, at: number, v: number) => void): void {
    if (values.length === 0) return;
    const data = new Uint8Array(values.length * width);
    const view = new DataView(data.buffer);
    for (let i = 0; i < values.length; i++) set(view, i * width, values[i]!);
    this.bytes(field, data);
  }

  private tag(field: number, wireType: number): void {
    this.rawVarint(field * 8 + wireType);
  }

  private rawVarint(value: number | bigint): void {
    this.ensure(10);
    if (typeof value === 'number' && value >= 0 && value <= 0x7fffffff) {
      if (!Number.isInteger(value)) throw new Error(`${value} is not an integer`);
      let v = value;
      while (v > 0x7f) {
        this.buffer[this.length++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      this.buffer[this.length++] = v;
      return;
    }
    if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new Error(`${value} is not a safe integer`);
    let v = BigInt.asUintN(64, BigInt(value));
    while (v > 0x7fn) {
      this.buffer[this.length++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buffer[this.length++] = Number(v);
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + extra));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
  }
}

function writeType(w: ProtoWriter, type: OnnxType): void {
  switch (type.kind) {
    case 'tensor':
      w.message(TYPE.tensorType, (t) => {
        t.varint(TENSOR_TYPE.elemType, DATA_TYPE[type.elemType]);
        if (type.shape) {
          const shape = type.shape;
          t.message(TENSOR_TYPE.shape, (s) => {
            for (const dim of shape) {
              s.message(SHAPE.dim, (d) => (typeof dim === 'number' ? d.varint(DIMENSION.dimValue, dim) : d.string(DIMENSION.dimParam, dim)));
            }
          });
        }
      });
      return;
    case 'sequence':
      w.message(TYPE.sequenceType, (s) => s.message(SEQUENCE_TYPE.elemType, (e) => writeType(e, type.elemType)));
      return;
    case 'map':
      w.message(TYPE.mapType, (m) => {
        m.varint(MAP_TYPE.keyType, DATA_TYPE[type.keyType]);
        m.message(MAP_TYPE.valueType, (v) => writeType(v, type.valueType));
      });
      return;
  }
}

function writeValueInfo(w: ProtoWriter, info: OnnxValueInfo): void {
  w.string(VALUE_INFO.name, info.name);
  const type = typeof info.type === 'string' ? onnxTensorType(info.type, 'shape' in info ? info.shape : undefined) : info.type;
  w.message(VALUE_INFO.type, (t) => writeType(t, type));
}

/** Writes a TensorProto; each element type goes to the field onnx.proto names for it. */
function writeTensor(w: ProtoWriter, tensor: OnnxTensor, name?: string): void {
  const size = tensor.dims.reduce((a, b) => a * b, 1);
  if (tensor.values.length !== size) {
    throw new Error(`tensor${name ? ` ${name}` : ''} of dims [${tensor.dims.join(', ')}] needs ${size} values, not ${tensor.values.length}`);
  }
  for (const dim of tensor.dims) w.varint(TENSOR.dims, dim);
  w.varint(TENSOR.dataType, DATA_TYPE[tensor.type]);
  switch (tensor.type) {
    case 'float':
      w.packedFloats(TENSOR.floatData, tensor.values);
      break;
    case 'double':
      w.packedDoubles(TENSOR.doubleData, tensor.values);
      break;
    case 'int32':
      w.packedVarints(TENSOR.int32Data, tensor.values);
      break;
    case 'int64':
      w.packedVarints(TENSOR.int64Data, tensor.values);
      break;
    case 'bool':
      // Booleans travel in int32_data, one 0 or 1 per element.
      w.packedVarints(
        TENSOR.int32Data,
        Array.from(tensor.values, (v) => (v ? 1 : 0)),
      );
      break;
    case 'string':
      for (const s of tensor.values) w.string(TENSOR.stringData, s);
      break;
  }
  if (name !== undefined) w.string(TENSOR.name, name);
}

/** Writes an AttributeProto with its `type` discriminator, as IR version 2 and later require. */
function writeAttribute(w: ProtoWriter, name: string, value: OnnxAttribute): void {
  w.string(ATTRIBUTE.name, name);
  if (typeof value === 'string') {
    w.string(ATTRIBUTE.s, value);
    w.varint(ATTRIBUTE.type, ATTRIBUTE_TYPE.string);
  } else if (isStringList(value)) {
    for (const s of value) w.string(ATTRIBUTE.strings, s);
    w.varint(ATTRIBUTE.type, ATTRIBUTE_TYPE.strings);
  } else if ('int' in value) {
    w.varint(ATTRIBUTE.i, value.int);
    w.varint(ATTRIBUTE.type, ATTRIBUTE_TYPE.int);
  } else if ('float' in value) {
    w.float(ATTRIBUTE.f, value.float);
    w.varint(ATTRIBUTE.type, ATTRIBUTE_TYPE.float);
  } else if ('ints' in value) {
    // onnx.proto declares `floats` and `ints` without [packed = true]: one field per element.
    for (let i = 0; i < value.ints.length; i++) w.varint(ATTRIBUTE.ints, value.ints[i]!);
    w.varint(ATTRIBUTE.type, ATTRIBUTE_TYPE.ints);
  } else if ('floats' in value) {
    for (let i = 0; i < value.floats.length; i++) w.float(ATTRIBUTE.floats, value.floats[i]!);
    w.varint(ATTRIBUTE.type, ATTRIBUTE_TYPE.floats);
  } else {
    const tensor = value.tensor;
    w.message(ATTRIBUTE.t, (t) => writeTensor(t, tensor));
    w.varint(ATTRIBUTE.type, ATTRIBUTE_TYPE.tensor);
  }
}

function isStringList(value: OnnxAttribute): value is readonly string[] {
  return Array.isArray(value);
}

function writeNode(w: ProtoWriter, node: OnnxNode): void {
  for (const input of node.inputs) w.string(NODE.input, input);
  for (const output of node.outputs) w.string(NODE.output, output);
  if (node.name) w.string(NODE.name, node.name);
  w.string(NODE.opType, node.opType);
  for (const [name, value] of Object.entries(node.attributes ?? {})) w.message(NODE.attribute, (a) => writeAttribute(a, name, value));
  if (node.domain) w.string(NODE.domain, node.domain);
}

/** A serialized ONNX ModelProto (the bytes of a `.onnx` file) of one graph. */
export function buildOnnxModel(options: OnnxModelOptions): Uint8Array {
  const w = new ProtoWriter();
  w.varint(MODEL.irVersion, options.irVersion ?? 8);
  w.string(MODEL.producerName, options.producer ?? 'granary');
  w.message(MODEL.graph, (g) => {
    for (const node of options.nodes) g.message(GRAPH.node, (n) => writeNode(n, node));
    g.string(GRAPH.name, options.graphName ?? 'graph');
    for (const init of options.initializers ?? []) g.message(GRAPH.initializer, (t) => writeTensor(t, init, init.name));
    for (const input of options.inputs) g.message(GRAPH.input, (v) => writeValueInfo(v, input));
    for (const output of options.outputs) g.message(GRAPH.output, (v) => writeValueInfo(v, output));
  });
  for (const [domain, version] of Object.entries(options.opsets ?? { '': 17 })) {
    w.message(MODEL.opsetImport, (o) => {
      o.string(OPSET.domain, domain);
      o.varint(OPSET.version, version);
    });
  }
  return w.finish();
}

/** The part of a graph {@link logisticRegressionGraph} adds. */
export interface OnnxSubgraph {
  readonly nodes: OnnxNode[];
  readonly initializers: OnnxInitializer[];
  readonly outputs: OnnxValueInfo[];
}

export interface LogisticRegressionGraphOptions {
  /** Name of the float matrix `[N, weights.length]` the regression reads. */
  readonly from: string;
  readonly weights: readonly number[];
  readonly intercept: number;
  /** Probability of class 1 at or above which the label is 1 (default 0.5). */
  readonly threshold?: number;
}

/**
 * Nodes of a binary logistic regression over a float matrix already in the graph:
 * P(1) = sigmoid(x·weights + intercept). Outputs `label` (int64 [N]: 1 when P(1) ≥ threshold) and
 * `probabilities` (float [N, 2]: P(0), P(1)), the outputs skl2onnx gives with zipmap=False.
 * Intermediate names start with `lr_`.
 */
export function logisticRegressionGraph(options: LogisticRegressionGraphOptions): OnnxSubgraph {
  const { from, weights, intercept, threshold = 0.5 } = options;
  const nodes: OnnxNode[] = [
    { opType: 'MatMul', inputs: [from, 'lr_weights'], outputs: ['lr_product'] },
    { opType: 'Add', inputs: ['lr_product', 'lr_intercept'], outputs: ['lr_logit'] },
    { opType: 'Sigmoid', inputs: ['lr_logit'], outputs: ['lr_p1'] },
    { opType: 'Sub', inputs: ['lr_one', 'lr_p1'], outputs: ['lr_p0'] },
    { opType: 'Concat', inputs: ['lr_p0', 'lr_p1'], outputs: ['probabilities'], attributes: { axis: { int: 1 } } },
    { opType: 'GreaterOrEqual', inputs: ['lr_p1', 'lr_threshold'], outputs: ['lr_positive'] },
    { opType: 'Cast', inputs: ['lr_positive'], outputs: ['lr_label_column'], attributes: { to: { int: DATA_TYPE.int64 } } },
    { opType: 'Reshape', inputs: ['lr_label_column', 'lr_rows'], outputs: ['label'] },
  ];
  const initializers: OnnxInitializer[] = [
    { name: 'lr_weights', type: 'float', dims: [weights.length, 1], values: weights },
    { name: 'lr_intercept', type: 'float', dims: [1], values: [intercept] },
    { name: 'lr_one', type: 'float', dims: [1], values: [1] },
    { name: 'lr_threshold', type: 'float', dims: [1], values: [threshold] },
    { name: 'lr_rows', type: 'int64', dims: [1], values: [-1] },
  ];
  const outputs: OnnxValueInfo[] = [
    { name: 'label', type: 'int64', shape: ['N'] },
    { name: 'probabilities', type: 'float', shape: ['N', 2] },
  ];
  return { nodes, initializers, outputs };
}

export interface LogisticRegressionOnnxOptions {
  /** Width of the input matrix. */
  readonly features: number;
  /** One weight per feature. */
  readonly weights: readonly number[];
  readonly intercept: number;
  /** Name of the float input `[N, features]` (default `'input'`). */
  readonly inputName?: string;
  /** Probability of class 1 at or above which the label is 1 (default 0.5). */
  readonly threshold?: number;
}

/**
 * A binary logistic regression as an ONNX model: one float input `[N, features]`, outputs
 * `label` (int64 [N]) and `probabilities` (float [N, 2], columns P(0), P(1)).
 */
export function logisticRegressionOnnx(options: LogisticRegressionOnnxOptions): Uint8Array {
  const { features, weights, intercept, inputName = 'input' } = options;
  if (weights.length !== features) throw new Error(`${features} features need ${features} weights, not ${weights.length}`);
  const graph = logisticRegressionGraph({ from: inputName, weights, intercept, threshold: options.threshold ?? 0.5 });
  return buildOnnxModel({ inputs: [{ name: inputName, type: 'float', shape: ['N', features] }], ...graph });
}
