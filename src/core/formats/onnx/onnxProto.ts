import type { GraphOp } from '../../checkpoint.ts';
import { CheckpointError, quote } from '../../errors.ts';
import type { FileByteSource } from '../../io/byteSource.ts';
import { type ByteSpan, ProtobufScanner, WireType } from '../protobufScanner.ts';

/** Field numbers of onnx.proto (checked against onnx 1.12's descriptors). */
const Model = { irVersion: 1, producerName: 2, producerVersion: 3, graph: 7, opsetImport: 8 } as const;
const Graph = { node: 1, name: 2, initializer: 5, input: 11, output: 12, valueInfo: 13, sparseInitializer: 15 } as const;
const Node = { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 } as const;
const Attr = { name: 1, f: 2, i: 3, s: 4, t: 5, g: 6, floats: 7, ints: 8, graphs: 11 } as const;
const Tensor = {
  dims: 1,
  dataType: 2,
  segment: 3,
  floatData: 4,
  int32Data: 5,
  stringData: 6,
  int64Data: 7,
  name: 8,
  rawData: 9,
  doubleData: 10,
  uint64Data: 11,
  externalData: 13,
  dataLocation: 14,
} as const;

/** Where a TensorProto's values are, before anything is read. */
export type TensorPayload =
  | { kind: 'raw'; span: ByteSpan }
  | { kind: 'packed'; field: 'float' | 'int32' | 'int64' | 'double' | 'uint64'; span: ByteSpan }
  | { kind: 'values'; field: 'float' | 'int32' | 'int64' | 'double' | 'uint64'; values: number[] }
  | { kind: 'external'; location: string; offset: number; length?: number }
  | { kind: 'empty' }
  | { kind: 'string' }
  /** A SparseTensorProto: `values` (nnz) at `indices` (nnz linear, or nnz × rank coordinates) of the dense dims. */
  | { kind: 'sparse'; values: TensorRecord; indices: TensorRecord };

export interface TensorRecord {
  name: string;
  dataType: number;
  dims: number[];
  payload: TensorPayload;
  /** 'initializer' or the name of the Constant node holding it. */
  origin: 'initializer' | 'constant';
  graph: string;
}

/** One top-level field of the main GraphProto, located in the file (tag included). */
export interface GraphChild {
  field: number;
  start: number;
  end: number;
  /** The initializer's tensor name (field 5), the node's name (field 1) or the input's name (field 11). */
  name?: string;
}

/** Where the main graph lies, so a writer can copy everything it does not change verbatim. */
export interface OnnxLayout {
  /** The ModelProto.graph field: its tag's first byte, and its payload's start and end. */
  graphFieldStart: number;
  graphPayloadStart: number;
  graphPayloadEnd: number;
  children: GraphChild[];
}

/** A graph input, output or value_info entry: element type and dims (a number, a symbol name, or null when unknown). */
export interface OnnxValueType {
  name: string;
  /** TensorProto.DataType of the tensor (0 when not given). */
  elemType: number;
  dims: Array<number | string | null> | undefined;
}

export interface OnnxStructure {
  irVersion: number;
  /** Main graph inputs, outputs and value_info, in file order. */
  inputs: OnnxValueType[];
  outputs: OnnxValueType[];
  valueInfo: OnnxValueType[];
  layout?: OnnxLayout;
  producer: string;
  opset?: number;
  ops: GraphOp[];
  tensors: TensorRecord[];
  /** Names of the main graph's inputs. */
  graphInputs: string[];
  /** Declared shapes of the main graph's tensor inputs (-1 for symbolic dims). */
  inputShapes: Record<string, number[]>;
  warnings: string[];
}

/** Scans the whole ModelProto, recording spans of tensor payloads without reading them. */
export function scanOnnxModel(source: FileByteSource): OnnxStructure {
  if (source.size === 0) throw new CheckpointError(source.file, 'the file is empty');
  sniffNonProtobuf(source);
  const s = new ProtobufScanner(source);
  const out: OnnxStructure = { irVersion: 0, inputs: [], outputs: [], valueInfo: [], producer: '', ops: [], tensors: [], graphInputs: [], inputShapes: {}, warnings: [] };
  let producerName = '';
  let producerVersion = '';
  let sawGraph = false;
  while (s.more()) {
    const fieldStart = s.position;
    const [field, wire] = s.tag();
    switch (field) {
      case Model.irVersion:
        s.expect(wire, WireType.Varint, 'ir_version');
        out.irVersion = s.varint();
        break;
      case Model.producerName:
        s.expect(wire, WireType.LengthDelimited, 'producer_name');
        producerName = s.string();
        break;
      case Model.producerVersion:
        s.expect(wire, WireType.LengthDelimited, 'producer_version');
        producerVersion = s.string();
        break;
      case Model.graph: {
        s.expect(wire, WireType.LengthDelimited, 'graph');
        const graphFieldStart = fieldStart;
        const length = s.length();
        const graphPayloadStart = s.position;
        out.layout = { graphFieldStart, graphPayloadStart, graphPayloadEnd: graphPayloadStart + length, children: [] };
        s.enter(length);
        scanGraph(s, '', out, out.layout.children);
        s.leave();
        sawGraph = true;
        break;
      }
      case Model.opsetImport: {
        s.expect(wire, WireType.LengthDelimited, 'opset_import');
        s.enter(s.length());
        let domain = '';
        let version = 0;
        while (s.more()) {
          const [f, w] = s.tag();
          if (f === 1 && w === WireType.LengthDelimited) domain = s.string();
          else if (f === 2 && w === WireType.Varint) version = s.varint();
          else s.skip(w);
        }
        s.leave();
        if (domain === '' || domain === 'ai.onnx') out.opset = version;
        break;
      }
      default:
        s.skip(wire);
    }
  }
  if (!sawGraph || out.irVersion === 0) {
    throw new CheckpointError(source.file, 'not an ONNX model: no ir_version or graph field found');
  }
  out.producer = `${producerName} ${producerVersion}`.trim();
  return out;
}

/** Cheap up-front check so JSON, zip or safetensors files get a clear message. */
function sniffNonProtobuf(source: FileByteSource): void {
  const head = source.read(0, Math.min(16, source.size));
  const first = head[0]!;
  if (first === 0x7b /* { */ || first === 0x5b /* [ */) {
    throw new CheckpointError(source.file, 'not an ONNX protobuf: the file looks like JSON');
  }
  if (first === 0x50 && head[1] === 0x4b) {
    throw new CheckpointError(source.file, 'not an ONNX protobuf: the file is a zip archive (a PyTorch .pt checkpoint?)');
  }
  // ModelProto writers put a field key first; keys with wire types 6/7 or field 0 cannot start one.
  const wire = first & 7;
  if (first < 0x08 || wire === 6 || wire === 7) {
    throw new CheckpointError(source.file, 'not an ONNX protobuf: the first byte is not a valid field key');
  }
}

function scanGraph(s: ProtobufScanner, graphPath: string, out: OnnxStructure, children?: GraphChild[]): void {
  while (s.more()) {
    const start = s.position;
    const tensorsBefore = out.tensors.length;
    const opsBefore = out.ops.length;
    const { field, valueName } = scanGraphField(s, graphPath, out, children !== undefined);
    if (children) {
      const child: GraphChild = { field, start, end: s.position };
      if (field === Graph.initializer) child.name = out.tensors[tensorsBefore]?.name;
      if (field === Graph.node) child.name = out.ops[opsBefore]?.name;
      if (valueName !== undefined) child.name = valueName;
      children.push(child);
    }
  }
}

/**
 * TypeProto → tensor_type → (elem_type, shape → dims). A dim is its dim_value, its dim_param (a
 * symbol name), or null; dims are undefined when no shape is given.
 */
function scanTensorType(s: ProtobufScanner): { elemType: number; dims: Array<number | string | null> | undefined } {
  let dims: Array<number | string | null> | undefined;
  let elemType = 0;
  const walk = (depth: number) => {
    s.enter(s.length());
    while (s.more()) {
      const [f, w] = s.tag();
      if (depth === 0 && f === 1 && w === WireType.LengthDelimited) walk(1); // TypeProto.tensor_type
      else if (depth === 1 && f === 1 && w === WireType.Varint) elemType = s.varint();
      else if (depth === 1 && f === 2 && w === WireType.LengthDelimited) {
        dims = [];
        walk(2); // Tensor.shape
      } else if (depth === 2 && f === 1 && w === WireType.LengthDelimited) {
        s.enter(s.length()); // TensorShapeProto.dim
        let d: number | string | null = null;
        while (s.more()) {
          const [g, x] = s.tag();
          if (g === 1 && x === WireType.Varint) d = s.int64();
          else if (g === 2 && x === WireType.LengthDelimited) d = s.string();
          else s.skip(x);
        }
        s.leave();
        dims!.push(d);
      } else s.skip(w);
    }
    s.leave();
  };
  walk(0);
  return { elemType, dims };
}

const GRAPH_FIELD_NAMES: Record<number, string> = { 1: 'graph node', 5: 'graph initializer', 11: 'graph input', 12: 'graph output', 13: 'graph value_info', 15: 'graph sparse_initializer' };

/** Scans one field of a GraphProto; returns its field number and, for inputs and value_info, the value's name. */
function scanGraphField(s: ProtobufScanner, graphPath: string, out: OnnxStructure, main = false): { field: number; valueName?: string } {
  {
    const [field, wire] = s.tag();
    // The message-valued fields of a GraphProto: any other wire type means the file is corrupt.
    if (field === Graph.node || field === Graph.initializer || field === Graph.input || field === Graph.valueInfo || field === Graph.sparseInitializer || field === Graph.output) {
      s.expect(wire, WireType.LengthDelimited, GRAPH_FIELD_NAMES[field]!);
    }
    if (main && (field === Graph.input || field === Graph.valueInfo || field === Graph.output) && wire === WireType.LengthDelimited) {
      // ValueInfoProto: the name and the tensor type (element type, dims with symbols).
      s.enter(s.length());
      let name = '';
      let type: ReturnType<typeof scanTensorType> = { elemType: 0, dims: undefined };
      while (s.more()) {
        const [f, w] = s.tag();
        if (f === 1 && w === WireType.LengthDelimited) name = s.string();
        else if (f === 2 && w === WireType.LengthDelimited) type = scanTensorType(s);
        else s.skip(w);
      }
      s.leave();
      const entry = { name, ...type };
      if (field === Graph.input) {
        out.graphInputs.push(name);
        out.inputs.push(entry);
        if (type.dims) out.inputShapes[name] = type.dims.map((d) => (typeof d === 'number' ? d : -1));
      } else if (field === Graph.output) out.outputs.push(entry);
      else out.valueInfo.push(entry);
      return { field, valueName: name };
    } else if (field === Graph.node && wire === WireType.LengthDelimited) {
      const length = s.length();
      s.enter(length);
      scanNode(s, graphPath, out, length);
      s.leave();
    } else if (field === Graph.initializer && wire === WireType.LengthDelimited) {
      s.enter(s.length());
      out.tensors.push(scanTensor(s, 'initializer', graphPath));
      s.leave();
    } else if (field === Graph.sparseInitializer && wire === WireType.LengthDelimited) {
      s.enter(s.length());
      out.tensors.push(scanSparseTensor(s, graphPath));
      s.leave();
    } else {
      s.skip(wire);
    }
    return { field };
  }
}

function scanNode(s: ProtobufScanner, graphPath: string, out: OnnxStructure, length: number): void {
  const op: GraphOp = { name: '', opType: '', inputs: [], outputs: [], graph: graphPath, attributes: {}, bytes: length };
  const subgraphs: Array<{ attr: string; span: { start: number; length: number } }> = [];
  let constantValue: TensorRecord | undefined;
  while (s.more()) {
    const [field, wire] = s.tag();
    switch (field) {
      case Node.input:
        op.inputs.push(s.string());
        break;
      case Node.output:
        op.outputs.push(s.string());
        break;
      case Node.name:
        op.name = s.string();
        break;
      case Node.opType:
        op.opType = s.string();
        break;
      case Node.domain:
        op.attributes['__domain'] = s.string();
        break;
      case Node.attribute: {
        s.expect(wire, WireType.LengthDelimited, 'attribute');
        s.enter(s.length());
        const attr = scanAttribute(s, graphPath);
        s.leave();
        checkAttributeType(s, op, attr);
        if (attr.tensor) constantValue = attr.tensor;
        for (const g of attr.graphs) subgraphs.push({ attr: attr.name, span: g });
        if (attr.value !== undefined) op.attributes[attr.name] = attr.value;
        break;
      }
      default:
        s.skip(wire);
    }
  }
  if (!op.name) op.name = `${op.opType}_${out.ops.length}`;
  // Another op's tensor attribute (ConstantOfShape's fill value): kept for the reader to decode.
  if (op.opType !== 'Constant' && constantValue) Object.defineProperty(op.attributes, '__tensorRecord', { value: constantValue, enumerable: false });
  out.ops.push(op);
  if (op.opType === 'Constant' && constantValue && op.outputs[0]) {
    // A Constant's tensor is known by the node's output name.
    out.tensors.push({ ...constantValue, name: op.outputs[0], origin: 'constant', graph: graphPath });
  }
  // Subgraphs (If/Loop/Scan bodies) are scanned after their node so that ops stay in order.
  for (const g of subgraphs) {
    const inner = `${graphPath ? graphPath + '/' : ''}${op.name}/${g.attr}`;
    scanGraphAt(s, g.span, inner, out);
  }
}

/** The type the ONNX operator schemas give the attributes PruneScope reads (a corrupt file may differ). */
const ATTRIBUTE_TYPES: Record<string, 'int' | 'ints' | 'float' | 'string'> = {
  kernel_shape: 'ints',
  strides: 'ints',
  dilations: 'ints',
  pads: 'ints',
  perm: 'ints',
  output_padding: 'ints',
  group: 'int',
  axis: 'int',
  transA: 'int',
  transB: 'int',
  block_size: 'int',
  keepdims: 'int',
  ceil_mode: 'int',
  alpha: 'float',
  beta: 'float',
  epsilon: 'float',
  auto_pad: 'string',
};

/** Refuses a well-known attribute stored with the wrong type (a corrupt or hand-edited file). */
function checkAttributeType(s: ProtobufScanner, op: GraphOp, a: ScannedAttribute): void {
  const want = ATTRIBUTE_TYPES[a.name];
  if (!want || a.value === undefined) return;
  const v = a.value;
  const ok =
    want === 'ints' ? Array.isArray(v) && v.every((x) => Number.isSafeInteger(x)) : want === 'int' ? Number.isSafeInteger(v) : want === 'float' ? typeof v === 'number' : typeof v === 'string';
  if (!ok) s.fail(`node '${quote(op.name || op.opType)}' has attribute '${a.name}' stored as ${Array.isArray(v) ? 'a list' : typeof v}, not ${want === 'ints' ? 'a list of integers' : `a ${want}`}`);
}

interface ScannedAttribute {
  name: string;
  value?: unknown;
  tensor?: TensorRecord;
  graphs: Array<{ start: number; length: number }>;
}

function scanAttribute(s: ProtobufScanner, graphPath: string): ScannedAttribute {
  const a: ScannedAttribute = { name: '', graphs: [] };
  const ints: number[] = [];
  const floats: number[] = [];
  while (s.more()) {
    const [field, wire] = s.tag();
    switch (field) {
      case Attr.name:
        a.name = s.string();
        break;
      case Attr.f:
        s.expect(wire, WireType.Fixed32, 'attribute f');
        a.value = s.fixed32Float();
        break;
      case Attr.i:
        s.expect(wire, WireType.Varint, 'attribute i');
        a.value = s.int64();
        break;
      case Attr.s:
        s.expect(wire, WireType.LengthDelimited, 'attribute s');
        a.value = s.string();
        break;
      case Attr.t:
        s.expect(wire, WireType.LengthDelimited, 'attribute t');
        s.enter(s.length());
        a.tensor = scanTensor(s, 'constant', graphPath);
        s.leave();
        break;
      case Attr.g:
      case Attr.graphs: {
        s.expect(wire, WireType.LengthDelimited, 'attribute g');
        const span = s.span();
        a.graphs.push({ start: span.offset, length: span.length });
        break;
      }
      case Attr.ints:
        s.repeated(wire, () => ints.push(s.int64()));
        a.value = ints;
        break;
      case Attr.floats:
        s.repeated(wire, () => floats.push(s.fixed32Float()));
        a.value = floats;
        break;
      default:
        s.skip(wire);
    }
  }
  return a;
}

/** Scans a subgraph whose span was recorded earlier (the scanner jumps there and back). */
function scanGraphAt(s: ProtobufScanner, span: { start: number; length: number }, graphPath: string, out: OnnxStructure): void {
  const sub = s.fork(span.start, span.start + span.length);
  scanGraph(sub, graphPath, out);
}

/** SparseTensorProto: values = 1, indices = 2, dims = 3. Recorded under the values' name. */
function scanSparseTensor(s: ProtobufScanner, graphPath: string): TensorRecord {
  let values: TensorRecord | undefined;
  let indices: TensorRecord | undefined;
  const dims: number[] = [];
  while (s.more()) {
    const [field, wire] = s.tag();
    if ((field === 1 || field === 2) && wire === WireType.LengthDelimited) {
      s.enter(s.length());
      const t = scanTensor(s, 'initializer', graphPath);
      s.leave();
      if (field === 1) values = t;
      else indices = t;
    } else if (field === 3) s.repeated(wire, () => dims.push(s.int64()));
    else s.skip(wire);
  }
  if (!values || !indices) s.fail('a sparse initializer lacks values or indices');
  return { name: values.name, dataType: values.dataType, dims, payload: { kind: 'sparse', values, indices }, origin: 'initializer', graph: graphPath };
}

function scanTensor(s: ProtobufScanner, origin: TensorRecord['origin'], graphPath: string): TensorRecord {
  const t: TensorRecord = { name: '', dataType: 0, dims: [], payload: { kind: 'empty' }, origin, graph: graphPath };
  const external: Record<string, string> = {};
  let location = 0;
  const typed = (field: 'float' | 'int32' | 'int64' | 'double' | 'uint64', wire: WireType, read: () => number) => {
    if (wire === WireType.LengthDelimited) {
      t.payload = { kind: 'packed', field, span: s.span() };
    } else {
      if (t.payload.kind !== 'values' || t.payload.field !== field) t.payload = { kind: 'values', field, values: [] };
      t.payload.values.push(read());
    }
  };
  while (s.more()) {
    const [field, wire] = s.tag();
    switch (field) {
      case Tensor.dims:
        s.repeated(wire, () => t.dims.push(s.int64()));
        break;
      case Tensor.dataType:
        s.expect(wire, WireType.Varint, 'data_type');
        t.dataType = s.varint();
        break;
      case Tensor.name:
        t.name = s.string();
        break;
      case Tensor.rawData:
        s.expect(wire, WireType.LengthDelimited, 'raw_data');
        t.payload = { kind: 'raw', span: s.span() };
        break;
      case Tensor.floatData:
        typed('float', wire, () => s.fixed32Float());
        break;
      case Tensor.int32Data:
        typed('int32', wire, () => s.int64());
        break;
      case Tensor.int64Data:
        typed('int64', wire, () => s.int64());
        break;
      case Tensor.doubleData:
        typed('double', wire, () => s.fixed64Double());
        break;
      case Tensor.uint64Data:
        typed('uint64', wire, () => s.varint());
        break;
      case Tensor.stringData:
        s.skip(wire);
        t.payload = { kind: 'string' };
        break;
      case Tensor.segment:
        s.fail(`tensor '${quote(t.name)}' is split into segments, which ONNX no longer supports`);
        break;
      case Tensor.externalData: {
        s.expect(wire, WireType.LengthDelimited, 'external_data');
        s.enter(s.length());
        let key = '';
        let value = '';
        while (s.more()) {
          const [f, w] = s.tag();
          if (f === 1 && w === WireType.LengthDelimited) key = s.string();
          else if (f === 2 && w === WireType.LengthDelimited) value = s.string();
          else s.skip(w);
        }
        s.leave();
        external[key] = value;
        break;
      }
      case Tensor.dataLocation:
        s.expect(wire, WireType.Varint, 'data_location');
        location = s.varint();
        break;
      default:
        s.skip(wire);
    }
  }
  if (location === 1) {
    const offset = external['offset'] !== undefined ? Number(external['offset']) : 0;
    const length = external['length'] !== undefined ? Number(external['length']) : undefined;
    if (!Number.isSafeInteger(offset) || offset < 0 || (length !== undefined && (!Number.isSafeInteger(length) || length < 0))) {
      s.fail(`tensor '${quote(t.name)}' has an invalid external data offset/length`);
    }
    t.payload = { kind: 'external', location: external['location'] ?? '', offset, length };
  }
  return t;
}
