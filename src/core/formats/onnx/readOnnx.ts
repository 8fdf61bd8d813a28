import type { Checkpoint, GraphOp, QuantizationInfo, WeightTensor } from '../../checkpoint.ts';
import { CheckpointError, quote } from '../../errors.ts';
import { ByteSourcePool } from '../../io/byteSource.ts';
import { decodeChunkedInto, isFloatDType } from '../../tensor/dtype.ts';
import { OnnxGraphIndex } from './classifyOnnxLayers.ts';
import { scanOnnxModel, type TensorRecord } from './onnxProto.ts';
import { type ResolvedTensor, resolveTensor } from './onnxTensor.ts';

const QUANTIZED_STORAGE = new Set(['int8', 'uint8', 'int16', 'uint16', 'int32']);

/**
 * Reads an ONNX model's structure: ops, and lazy handles on every float or quantized weight
 * (initializers and Constant nodes, in the main graph and in If/Loop/Scan subgraphs).
 * Tensor bytes are not read; the file is scanned through a small window.
 */
/** Integer tensors up to this many elements can be read with `integerConstant`. */
const SMALL_CONSTANT = 64;

export function readOnnx(file: string): Checkpoint {
  const pool = new ByteSourcePool();
  try {
    const model = pool.get(file);
    const structure = scanOnnxModel(model);
    const index = new OnnxGraphIndex(structure.ops);
    const resolved = new Map<string, ResolvedTensor>();
    for (const record of structure.tensors) {
      if (record.payload.kind === 'string') continue; // vocabularies etc. are not weights
      resolved.set(record.name, resolveTensor(file, model, pool, record));
    }

    for (const op of structure.ops) {
      // ConstantOfShape's `value` (one element): decoded here, as `__tensorValue`.
      const rec = (op.attributes as { __tensorRecord?: TensorRecord }).__tensorRecord;
      if (!rec || op.opType !== 'ConstantOfShape') continue;
      const v = resolveTensor(file, model, pool, { ...rec, name: `${op.name}.value` });
      if (v.size !== 1) throw new CheckpointError(file, `ConstantOfShape '${quote(op.name)}' has a value of ${v.size} elements, not one`);
      op.attributes['__tensorValue'] = v.readValues()[0];
      op.attributes['__tensorDataType'] = rec.dataType;
    }
    const values = constantFolder(structure.ops, resolved);
    const weights: WeightTensor[] = [];
    const smallIntegers = new Map<string, ResolvedTensor>();
    for (const t of resolved.values()) {
      const dequantizer = index.dequantizerOf(t.record.name);
      const quantized = dequantizer && QUANTIZED_STORAGE.has(t.dtype);
      if (!quantized && !isFloatDType(t.dtype)) {
        // shapes, pads, axes, indices, zero points: not weights; the small ones can be read as values
        if (t.size <= SMALL_CONSTANT && t.record.graph === '') smallIntegers.set(t.record.name, t);
        continue;
      }
      const layer = index.classify(t.record.name, t.record.dims);
      const base = {
        name: t.record.name,
        dtype: t.dtype,
        shape: t.record.dims,
        size: t.size,
        byteLength: t.byteLength,
        layer,
        onnx: { origin: t.record.origin, graph: t.record.graph, dataType: t.record.dataType },
        readBytes: t.readBytes,
      };
      if (quantized) {
        const q = quantizationOf(file, dequantizer, resolved, values);
        weights.push({ ...base, quantized: q, read: () => dequantize(file, t, q, values) });
      } else {
        const range = t.readRange;
        weights.push({ ...base, read: t.readValues, ...(range ? { readInto: (target: Float64Array) => decodeChunkedInto(target, t.dtype, t.size, range) } : {}) });
      }
    }
    const mainTensors = new Map<string, ResolvedTensor>();
    for (const t of resolved.values()) if (t.record.graph === '') mainTensors.set(t.record.name, t);
    for (const record of structure.tensors) {
      if (record.graph === '' && record.payload.kind !== 'string' && !mainTensors.has(record.name)) mainTensors.set(record.name, resolveTensor(file, model, pool, record));
    }
    const files = [file];
    for (const t of resolved.values()) if (t.externalFile && !files.includes(t.externalFile)) files.push(t.externalFile);
    return {
      format: 'onnx',
      file,
      files,
      producer: structure.producer,
      ...(structure.opset !== undefined ? { opset: structure.opset } : {}),
      ops: structure.ops,
      inputShapes: structure.inputShapes,
      integerConstant: (name) => {
        const t = smallIntegers.get(name);
        return t && Array.from(t.readValues());
      },
      graphValues: { inputs: structure.inputs, outputs: structure.outputs, valueInfo: structure.valueInfo },
      tensorValue: (name) => {
        const t = mainTensors.get(name);
        return t && { dtype: t.dtype, dims: t.record.dims, dataType: t.record.dataType, origin: t.record.origin, read: t.readValues };
      },
      weights,
      warnings: structure.warnings,
      bytesRead: () => pool.bytesRead(),
      close: () => pool.closeAll(),
    };
  } catch (e) {
    pool.closeAll();
    throw e;
  }
}

/** Values of tensors computed from stored ones by Identity, Cast and ConstantOfShape (torch's QDQ bias zero points). */
type Values = (name: string) => Float32Array | Float64Array | undefined;

function constantFolder(ops: readonly GraphOp[], tensors: Map<string, ResolvedTensor>): Values {
  const producer = new Map<string, GraphOp>();
  for (const op of ops) for (const o of op.outputs) if (!producer.has(o)) producer.set(o, op);
  const fold = (name: string, depth: number): Float32Array | Float64Array | undefined => {
    const t = tensors.get(name);
    if (t) return t.readValues();
    const op = producer.get(name);
    if (!op || depth > 8) return undefined;
    if (op.opType === 'Identity' || op.opType === 'Cast') return fold(op.inputs[0]!, depth + 1);
    if (op.opType === 'ConstantOfShape') {
      const shape = fold(op.inputs[0]!, depth + 1);
      const n = shape ? Array.from(shape).reduce((a, b) => a * b, 1) : undefined;
      return n !== undefined && n <= 1 << 20 ? new Float64Array(n).fill((op.attributes['__tensorValue'] as number | undefined) ?? 0) : undefined;
    }
    return undefined;
  };
  return (name) => fold(name, 0);
}

function quantizationOf(file: string, dq: GraphOp, tensors: Map<string, ResolvedTensor>, values: Values): QuantizationInfo {
  const [x, scale, zeroPoint] = dq.inputs;
  if (!scale || !values(scale)) {
    throw new CheckpointError(file, `DequantizeLinear '${quote(dq.name)}' has no constant scale for '${quote(x)}'`);
  }
  if (zeroPoint && !values(zeroPoint)) {
    throw new CheckpointError(file, `DequantizeLinear '${quote(dq.name)}' has a zero point that is not a constant`);
  }
  if (dq.attributes['block_size'] !== undefined && dq.attributes['block_size'] !== 0) {
    throw new CheckpointError(file, `DequantizeLinear '${quote(dq.name)}' uses blocked quantization, which PruneScope does not support`);
  }
  return {
    scheme: 'linear',
    storedDtype: tensors.get(x!)!.dtype,
    scale,
    ...(zeroPoint ? { zeroPoint } : {}),
    axis: (dq.attributes['axis'] as number | undefined) ?? 1,
  };
}

/** y = (x − zero_point) · scale, per tensor or per axis, rounded to float32 as ONNX does. */
function dequantize(file: string, t: ResolvedTensor, q: QuantizationInfo, values: Values): Float32Array {
  const x = t.readValues();
  const scale = values(q.scale!)!;
  const zp = q.zeroPoint ? values(q.zeroPoint)! : new Float32Array(scale.length);
  const dims = t.record.dims;
  const out = new Float32Array(x.length);
  if (scale.length === 1) {
    const s = scale[0]!;
    const z = zp[0] ?? 0;
    for (let i = 0; i < x.length; i++) out[i] = (x[i]! - z) * s;
    return out;
  }
  const axis = q.axis! < 0 ? q.axis! + dims.length : q.axis!;
  if (axis < 0 || axis >= dims.length || dims[axis] !== scale.length || zp.length !== scale.length) {
    throw new CheckpointError(file, `tensor '${quote(t.record.name)}': ${scale.length} scales do not match axis ${q.axis} of dims [${dims.join(', ')}]`);
  }
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const n = dims[axis]!;
  for (let i = 0; i < x.length; i++) {
    const c = Math.floor(i / inner) % n;
    out[i] = (x[i]! - zp[c]!) * scale[c]!;
  }
  return out;
}
