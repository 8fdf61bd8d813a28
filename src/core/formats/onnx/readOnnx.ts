import type { Checkpoint, QuantizationInfo, WeightTensor } from '../../checkpoint.ts';
import { CheckpointError, quote } from '../../errors.ts';
import { ByteSourcePool } from '../../io/byteSource.ts';
import { decodeChunkedInto, isFloatDType } from '../../tensor/dtype.ts';
import { OnnxGraphIndex } from './classifyOnnxLayers.ts';
import { scanOnnxModel } from './onnxProto.ts';
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
        const q = quantizationOf(file, dequantizer, resolved);
        weights.push({ ...base, quantized: q, read: () => dequantize(file, t, q, resolved) });
      } else {
        const range = t.readRange;
        weights.push({ ...base, read: t.readValues, ...(range ? { readInto: (target: Float64Array) => decodeChunkedInto(target, t.dtype, t.size, range) } : {}) });
      }
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

function quantizationOf(file: string, dq: import('../../checkpoint.ts').GraphOp, tensors: Map<string, ResolvedTensor>): QuantizationInfo {
  const [x, scale, zeroPoint] = dq.inputs;
  if (!scale || !tensors.has(scale)) {
    throw new CheckpointError(file, `DequantizeLinear '${quote(dq.name)}' has no constant scale for '${quote(x)}'`);
  }
  if (zeroPoint && !tensors.has(zeroPoint)) {
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
function dequantize(file: string, t: ResolvedTensor, q: QuantizationInfo, tensors: Map<string, ResolvedTensor>): Float32Array {
  const x = t.readValues();
  const scale = tensors.get(q.scale!)!.readValues();
  const zp = q.zeroPoint ? tensors.get(q.zeroPoint)!.readValues() : new Float32Array(scale.length);
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
