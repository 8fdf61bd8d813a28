/**
 * Writes an edited copy of an ONNX model by splicing: every byte the edit does not touch (opset,
 * metadata, doc strings, nodes, value_info, subgraphs…) is copied verbatim from the source, the
 * replaced initializers are re-encoded, and only the enclosing GraphProto length is recomputed.
 * External-data tensors are inlined so the copy does not depend on files next to the original.
 * The external-data file of a large output gets its own name (see OutputTransaction.sideName).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CheckpointError } from '../../errors.ts';
import { ByteSourcePool, type FileByteSource } from '../../io/byteSource.ts';
import { InputFiles } from '../../io/inputFiles.ts';
import { type OutputTransaction, writeTarget } from '../../io/outputTransaction.ts';
import { ProtobufWriter, type StreamedBytes } from '../protobufWriter.ts';
import { encodeNode, type NodeSpec } from './onnxBuilder.ts';
import { type GraphChild, type OnnxLayout, scanOnnxModel, type TensorRecord } from './onnxProto.ts';
import { ProtobufScanner, WireType } from '../protobufScanner.ts';
import { resolveTensor } from './onnxTensor.ts';
import { readOnnx } from './readOnnx.ts';

export interface InitializerReplacement {
  dims: number[];
  /** ONNX TensorProto.DataType. */
  dataType: number;
  raw: Uint8Array;
}

/** A tensor stored as COO: `values` (encoded in `dataType`) at linear `indices` of the dense `dims`. */
export interface SparseInitializer {
  dims: number[];
  dataType: number;
  values: Uint8Array;
  indices: BigInt64Array;
}

export interface OnnxEdits {
  /**
   * Where initializer bytes go: 'auto' (default) inlines them unless the model would pass protobuf's
   * 2 GiB limit, then writes every initializer over 1 KiB to `<out>.data`; 'always' forces that.
   */
  externalData?: 'auto' | 'always';
  /** Initializers of the main graph to replace, by name. */
  replace: ReadonlyMap<string, InitializerReplacement>;
  /** Initializers to drop (and their graph-input entries, for models that list them). */
  remove?: ReadonlySet<string>;
  /** New initializers, written after the existing ones. */
  add?: ReadonlyArray<InitializerReplacement & { name: string }>;
  /** Initializers to write as SparseTensorProto instead (linear int64 indices); their dense entry is dropped. */
  sparse?: ReadonlyMap<string, SparseInitializer>;
  /** value_info entries to drop (their shapes are stale after the edit). */
  removeValueInfo?: ReadonlySet<string>;
  /** Main-graph nodes to replace, by name, with these nodes (in place, so order stays topological). */
  replaceNodes?: ReadonlyMap<string, NodeSpec[]>;
  /**
   * Main-graph nodes edited in place, by position among the main graph's nodes: inputs rewired,
   * integer attributes set or added. Every other field of the node is copied as it is.
   */
  editNodes?: ReadonlyMap<number, NodeEdit>;
  /** Main-graph nodes to drop, by position among the main graph's nodes. */
  dropNodes?: ReadonlySet<number>;
  /** Intermediate float tensors to expose as extra graph outputs (after the model's own). */
  addOutputs?: ReadonlyArray<string>;
  /** The added outputs carry no type (onnxruntime infers it): for outputs that are not all float. */
  untypedOutputs?: boolean;
  /** The largest model written inline (default: protobuf's 2 GiB message limit); tests lower it. */
  inlineLimit?: number;
}

export interface NodeEdit {
  inputs?: ReadonlyMap<number, string>;
  ints?: Readonly<Record<string, number | number[]>>;
}

/** protobuf's 2 GiB message limit: larger models get their tensors over 1 KiB in external data. */
const MAX_INLINE = 2 ** 31 - 1;

/** Bytes [start, end) of a file, streamed in 4 MiB chunks. */
function fileSpan(source: FileByteSource, start: number, end: number): StreamedBytes {
  return {
    length: end - start,
    produce(emit) {
      // Stryker disable next-line EqualityOperator: `<=` adds one empty read at the end
      for (let o = start; o < end; o += 4 << 20) emit(source.read(o, Math.min(4 << 20, end - o)));
    },
  };
}

/** TensorProto dims, data_type and name. */
function tensorHeader(t: ProtobufWriter, name: string, dims: number[], dataType: number): ProtobufWriter {
  for (const d of dims) t.int64(1, d);
  return t.varint(2, dataType).string(8, name);
}

function encodeTensor(w: ProtobufWriter, name: string, dims: number[], dataType: number, raw: Uint8Array | StreamedBytes): void {
  w.message(5, (t) => tensorHeader(t, name, dims, dataType).streamedBytes(9, raw));
}

/**
 * Writes `source` with `edits` applied into `target`: an open OutputTransaction (the model is
 * staged; the caller verifies and commits), or a path (written atomically here; refused when it is
 * the source, or exists without `force`).
 */
export function writeOnnxWithEdits(sourceFile: string, target: OutputTransaction | string, edits: OnnxEdits, force = false): void {
  const src = path.resolve(sourceFile);
  writeTarget(target, { inputs: new InputFiles().addAll(onnxFiles(src), 'the original model'), force }, (tx) => writeStaged(src, tx, edits));
}

/** The model file and its external-data files. */
function onnxFiles(file: string): string[] {
  const ck = readOnnx(file);
  ck.close();
  return ck.files;
}

function writeStaged(src: string, tx: OutputTransaction, edits: OnnxEdits): void {
  const pool = new ByteSourcePool();
  try {
    const source = pool.get(src);
    const structure = scanOnnxModel(source);
    const layout = structure.layout as OnnxLayout;
    const byName = new Map<string, TensorRecord>(structure.tensors.filter((t) => t.origin === 'initializer' && t.graph === '').map((t) => [t.name, t]));
    for (const name of [...edits.replace.keys(), ...(edits.remove ?? [])]) {
      if (!byName.has(name)) throw new CheckpointError(src, `no initializer named '${name}' in the main graph`);
    }
    const nodeNames = new Set(layout.children.filter((c) => c.field === 1).map((c) => c.name));
    for (const name of edits.replaceNodes?.keys() ?? []) {
      if (!nodeNames.has(name)) throw new CheckpointError(src, `no node named '${name}' in the main graph`);
    }
    const ctx: SpliceSource = { src, source, pool, layout, byName, irVersion: structure.irVersion };
    const modelName = path.basename(tx.model);
    let external: ExternalSink | undefined = edits.externalData === 'always' ? new ExternalSink(tx.sideName(`${modelName}.data`)) : undefined;
    const limit = edits.inlineLimit ?? MAX_INLINE;
    let model = buildModel(ctx, edits, external);
    if (!external && model.size() > limit) {
      external = new ExternalSink(tx.sideName(`${modelName}.data`));
      model = buildModel(ctx, edits, external);
    }
    if (model.size() > limit) throw new CheckpointError(src, `the model's structure alone would be over ${limit === MAX_INLINE ? '2 GiB' : `${limit} bytes`}, protobuf's limit`);
    tx.write(() => {
      if (external) external.writeTo(tx.stagedPath(external.location));
      model.writeToFile(tx.stagedModel);
    });
  } finally {
    pool.closeAll();
  }
}

interface SpliceSource {
  src: string;
  source: FileByteSource;
  pool: ByteSourcePool;
  layout: OnnxLayout;
  /** Main-graph initializers by name. */
  byName: Map<string, TensorRecord>;
  irVersion: number;
}

/** The edited ModelProto: untouched graph fields as verbatim spans, edited ones re-encoded. */
function buildModel(ctx: SpliceSource, edits: OnnxEdits, external: ExternalSink | undefined): ProtobufWriter {
  const { src, source, pool, layout, byName, irVersion } = ctx;
  const tensor = (g: ProtobufWriter, name: string, dims: number[], dataType: number, raw: Uint8Array | StreamedBytes) =>
    external && raw.length > 1024 ? external.encode(g, name, dims, dataType, raw) : encodeTensor(g, name, dims, dataType, raw);
  const dropped = (c: GraphChild) =>
    // Stryker disable next-line ConditionalExpression: Set.has(undefined) is false
    c.name !== undefined &&
    (((c.field === 5 || c.field === 11) && edits.remove?.has(c.name)) || (c.field === 5 && edits.sparse?.has(c.name)) || (c.field === 13 && edits.removeValueInfo?.has(c.name)));
  const model = new ProtobufWriter();
  model.raw(fileSpan(source, 0, layout.graphFieldStart));
  model.message(7, (g) => {
    let nodeAt = -1;
    for (const child of layout.children) {
      // Stryker disable next-line ConditionalExpression: protobuf serialisers write fields in field-number order, so every node (field 1) comes before any other child and the positions of nodes are the same
      if (child.field === 1) nodeAt++;
      if (dropped(child) || (child.field === 1 && edits.dropNodes?.has(nodeAt))) continue;
      const nodeEdit = child.field === 1 ? edits.editNodes?.get(nodeAt) : undefined;
      if (nodeEdit) {
        g.message(1, (w) => reencodeNode(source, child, nodeEdit, w));
        continue;
      }
      const nodes = child.field === 1 && child.name !== undefined ? edits.replaceNodes?.get(child.name) : undefined;
      // Stryker disable next-line ConditionalExpression: Map.get(undefined) is undefined
      const replaced = child.name !== undefined ? edits.replace.get(child.name) : undefined;
      const replacement = child.field === 5 ? replaced : undefined;
      const record = child.field === 5 && child.name !== undefined ? byName.get(child.name) : undefined;
      if (nodes) for (const n of nodes) encodeNode(g, n);
      else if (replacement) tensor(g, child.name!, replacement.dims, replacement.dataType, replacement.raw);
      // A graph input naming a replaced initializer (models exported with initializers as inputs): its declared type follows the new tensor.
      else if (child.field === 11 && replaced) encodeTensorValueInfo(g, 11, child.name!, replaced.dims, replaced.dataType);
      else if (
        record?.payload.kind === 'external' ||
        (external &&
          record?.payload.kind === 'raw' &&
          // Stryker disable next-line ConditionalExpression,EqualityOperator: a tensor of 1 KiB or less re-encoded goes inline, as its verbatim copy does; the test only saves the re-encoding
          record.payload.span.length > 1024)
      ) {
        const t = resolveTensor(src, source, pool, record);
        tensor(g, record.name, record.dims, record.dataType, { length: t.byteLength, produce: (emit) => emit(t.readBytes()) });
      } else g.raw(fileSpan(source, child.start, child.end));
    }
    for (const t of edits.add ?? []) tensor(g, t.name, t.dims, t.dataType, t.raw);
    // IR < 4 requires every initializer to be a graph input too.
    if (irVersion < 4) for (const t of edits.add ?? []) encodeTensorValueInfo(g, 11, t.name, t.dims, t.dataType);
    for (const [name, sp] of edits.sparse ?? []) encodeSparseTensor(g, name, sp);
    // GraphProto.output: ValueInfoProto { name, type { tensor_type { elem_type FLOAT } } }, shape left to inference.
    for (const name of edits.addOutputs ?? []) {
      g.message(12, (vi) => (edits.untypedOutputs ? vi.string(1, name) : vi.string(1, name).message(2, (t) => t.message(1, (tt) => tt.varint(1, 1)))));
    }
  });
  model.raw(fileSpan(source, layout.graphPayloadEnd, source.size));
  return model;
}

/**
 * A NodeProto with some inputs renamed and some integer attributes set: fields are copied in
 * order (attributes not edited byte for byte), edited attributes re-encoded, new ones appended.
 */
function reencodeNode(source: FileByteSource, child: GraphChild, e: NodeEdit, w: ProtobufWriter): void {
  const s = new ProtobufScanner(source, child.start, child.end);
  s.tag();
  s.enter(s.length());
  const done = new Set<string>();
  let input = 0;
  const encodeAttr = (name: string, v: number | number[]) =>
    w.message(5, (a) => {
      a.string(1, name);
      if (Array.isArray(v)) {
        for (const x of v) a.int64(8, x);
        a.varint(20, 7); // INTS
      } else a.int64(3, v).varint(20, 2); // INT
    });
  while (s.more()) {
    const start = s.position;
    const [field, wire] = s.tag();
    // Stryker disable next-line ConditionalExpression: NodeProto field 1 is length-delimited in every file the reader accepts (it checks the wire types)
    if (field === 1 && wire === WireType.LengthDelimited) {
      const name = s.string();
      w.string(1, e.inputs?.get(input) ?? name);
      input++;
      continue;
    }
    // Stryker disable next-line ConditionalExpression: NodeProto field 5 is length-delimited in every file the reader accepts (it checks the wire types)
    if (field === 5 && wire === WireType.LengthDelimited) {
      const len = s.length();
      const payloadStart = s.position;
      const a = s.fork(payloadStart, payloadStart + len);
      // Stryker disable next-line StringLiteral: every AttributeProto has a name (field 1), which overwrites the start value
      let name = '';
      while (a.more()) {
        const [f, aw] = a.tag();
        // Stryker disable next-line ConditionalExpression,LogicalOperator: an attribute's other length-delimited fields hold its value, never the name of an integer attribute being edited
        if (f === 1 && aw === WireType.LengthDelimited) name = a.string();
        else a.skip(aw);
      }
      s.seek(payloadStart + len);
      const v = e.ints?.[name];
      // Stryker disable next-line BlockStatement: emptied, the edited attribute is appended after the others instead of in place; attribute order has no meaning in ONNX
      if (v !== undefined) {
        encodeAttr(name, v);
        done.add(name);
      } else w.raw(fileSpan(source, start, payloadStart + len));
      continue;
    }
    s.skip(wire);
    w.raw(fileSpan(source, start, s.position));
  }
  s.leave();
  for (const [name, v] of Object.entries(e.ints ?? {})) if (!done.has(name)) encodeAttr(name, v);
}

/** GraphProto.sparse_initializer: values (nnz) and linear int64 indices, with the dense dims. */
function encodeSparseTensor(g: ProtobufWriter, name: string, sp: SparseInitializer): void {
  g.message(15, (st) => {
    st.message(1, (v) => tensorHeader(v, name, [sp.indices.length], sp.dataType).bytes(9, sp.values));
    st.message(2, (ix) => tensorHeader(ix, `${name}_indices`, [sp.indices.length], 7 /* INT64 */).bytes(9, new Uint8Array(sp.indices.buffer, sp.indices.byteOffset, sp.indices.byteLength)));
    for (const d of sp.dims) st.int64(3, d);
  });
}

/** Collects tensor payloads for one external data file, recording each tensor's offset (64-byte aligned). */
class ExternalSink {
  private readonly parts: Array<{ offset: number; raw: Uint8Array | StreamedBytes }> = [];
  private size = 0;
  constructor(readonly location: string) {}

  encode(g: ProtobufWriter, name: string, dims: number[], dataType: number, raw: Uint8Array | StreamedBytes): void {
    const offset = Math.ceil(this.size / 64) * 64;
    this.parts.push({ offset, raw });
    this.size = offset + raw.length;
    g.message(5, (t) => {
      tensorHeader(t, name, dims, dataType);
      for (const [k, v] of [['location', this.location], ['offset', String(offset)], ['length', String(raw.length)]] as const) t.message(13, (e) => e.string(1, k).string(2, v));
      t.varint(14, 1); // EXTERNAL
    });
  }

  writeTo(file: string): void {
    const fd = fs.openSync(file, 'w');
    try {
      for (const p of this.parts) {
        let at = p.offset;
        const write = (c: Uint8Array) => {
          fs.writeSync(fd, c, 0, c.length, at);
          // Stryker disable next-line AssignmentOperator: every part is one chunk (a Uint8Array, or a tensor's bytes emitted at once), so `at` is never read again
          at += c.length;
        };
        if (p.raw instanceof Uint8Array) write(p.raw);
        else p.raw.produce(write);
      }
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** A ValueInfoProto { name, type { tensor_type { elem_type, shape { dim { dim_value }… } } } } in `field`. */
function encodeTensorValueInfo(g: ProtobufWriter, field: number, name: string, dims: readonly number[], dataType: number): void {
  g.message(field, (vi) =>
    vi.string(1, name).message(2, (t) =>
      t.message(1, (tt) => {
        tt.varint(1, dataType);
        tt.message(2, (sh) => {
          for (const d of dims) sh.message(1, (dim) => dim.int64(1, d));
        });
      }),
    ),
  );
}
