import type { StreamedBytes } from '../protobufWriter.ts';
import { ProtobufWriter } from '../protobufWriter.ts';

/** A node to encode; attributes are INT, FLOAT or STRING scalars, or INT lists. */
export interface NodeSpec {
  name: string;
  opType: string;
  inputs: string[];
  outputs: string[];
  ints?: Record<string, number>;
  floats?: Record<string, number>;
  intLists?: Record<string, number[]>;
  strings?: Record<string, string>;
}

/** Encodes a NodeProto as field `field` (1 in GraphProto) of `w`. */
export function encodeNode(w: ProtobufWriter, n: NodeSpec): void {
  w.message(1, (node) => {
    for (const i of n.inputs) node.string(1, i);
    for (const o of n.outputs) node.string(2, o);
    node.string(3, n.name);
    node.string(4, n.opType);
    for (const [name, value] of Object.entries(n.ints ?? {})) node.message(5, (a) => a.string(1, name).int64(3, value).varint(20, 2 /* INT */));
    for (const [name, value] of Object.entries(n.floats ?? {})) node.message(5, (a) => a.string(1, name).float(2, value).varint(20, 1 /* FLOAT */));
    for (const [name, value] of Object.entries(n.strings ?? {})) node.message(5, (a) => a.string(1, name).string(4, value).varint(20, 3 /* STRING */));
    for (const [name, values] of Object.entries(n.intLists ?? {})) {
      node.message(5, (a) => {
        a.string(1, name);
        for (const v of values) a.int64(8, v);
        a.varint(20, 7 /* INTS */);
      });
    }
  });
}

/** A minimal description of an ONNX model to encode (enough for fixtures, benches and writers). */
export interface OnnxModelSpec {
  producer: string;
  opset: number;
  graphName: string;
  inputs: Array<{ name: string; elemType: number; dims: Array<number | string> }>;
  outputs: Array<{ name: string; elemType: number; dims: Array<number | string> }>;
  nodes: NodeSpec[];
  initializers: Array<{
    name: string;
    dataType: number;
    dims: number[];
    /** Inline bytes, or a reference to an external data file (`location`, `offset`, `length`). */
    raw?: StreamedBytes;
    external?: { location: string; offset?: number; length?: number };
  }>;
}

/** Encodes an ONNX ModelProto whose initializer bytes are streamed (never all in memory). */
export function buildOnnxModel(spec: OnnxModelSpec): ProtobufWriter {
  const model = new ProtobufWriter();
  model.varint(1, 8); // ir_version
  model.string(2, spec.producer);
  model.message(7, (g) => {
    for (const n of spec.nodes) encodeNode(g, n);
    g.string(2, spec.graphName);
    for (const t of spec.initializers) {
      g.message(5, (tensor) => {
        for (const d of t.dims) tensor.int64(1, d);
        tensor.varint(2, t.dataType);
        tensor.string(8, t.name);
        if (t.raw) tensor.streamedBytes(9, t.raw);
        if (t.external) {
          const entries: Array<[string, string]> = [['location', t.external.location]];
          if (t.external.offset !== undefined) entries.push(['offset', String(t.external.offset)]);
          if (t.external.length !== undefined) entries.push(['length', String(t.external.length)]);
          for (const [k, v] of entries) tensor.message(13, (e) => e.string(1, k).string(2, v));
          tensor.varint(14, 1); // data_location = EXTERNAL
        }
      });
    }
    const valueInfo = (field: number, v: OnnxModelSpec['inputs'][number]) =>
      g.message(field, (vi) => {
        vi.string(1, v.name);
        vi.message(2, (type) =>
          type.message(1, (tensor) => {
            tensor.varint(1, v.elemType);
            tensor.message(2, (shape) => {
              for (const d of v.dims) shape.message(1, (dim) => (typeof d === 'number' ? dim.int64(1, d) : dim.string(2, d)));
            });
          }),
        );
      });
    for (const i of spec.inputs) valueInfo(11, i);
    for (const o of spec.outputs) valueInfo(12, o);
  });
  model.message(8, (op) => op.string(1, '').int64(2, spec.opset));
  return model;
}
