import * as fs from 'node:fs';
import * as path from 'node:path';
import { CheckpointError, quote } from '../../errors.ts';
import { type ByteSourcePool, type FileByteSource, resolveInside } from '../../io/byteSource.ts';
import { type DType, bytesPerElement, decodeValues, elementCount, encodeFloats } from '../../tensor/dtype.ts';
import type { TensorRecord } from './onnxProto.ts';

/** ONNX TensorProto.DataType → PruneScope dtype (undefined = not supported). */
const ONNX_DTYPES: Record<number, DType> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  16: 'bfloat16',
};

const ONNX_DTYPE_NAMES: Record<number, string> = {
  0: 'UNDEFINED',
  8: 'STRING',
  14: 'COMPLEX64',
  15: 'COMPLEX128',
  17: 'FLOAT8E4M3FN',
  18: 'FLOAT8E4M3FNUZ',
  19: 'FLOAT8E5M2',
  20: 'FLOAT8E5M2FNUZ',
  21: 'UINT4',
  22: 'INT4',
  23: 'FLOAT4E2M1',
};

export function onnxDType(file: string, t: TensorRecord): DType {
  const d = ONNX_DTYPES[t.dataType];
  if (!d) {
    const name = ONNX_DTYPE_NAMES[t.dataType] ?? `unknown data_type ${t.dataType}`;
    throw new CheckpointError(file, `tensor '${quote(t.name)}' has dtype ${name}, which PruneScope does not support`);
  }
  return d;
}

/** A tensor whose location and size have been validated; bytes are still unread. */
export interface ResolvedTensor {
  record: TensorRecord;
  /** The external-data file holding the bytes (undefined: they are in the model file). */
  externalFile?: string;
  dtype: DType;
  size: number;
  byteLength: number;
  readBytes(): Uint8Array;
  /** A byte range of the stored values (raw and external payloads only). */
  readRange?(byteOffset: number, byteLength: number): Uint8Array;
  /** Values in the native layout (not dequantized). */
  readValues(): Float32Array | Float64Array;
}

/**
 * Validates a TensorRecord (dtype, dims, byte length, external file) and returns lazy readers.
 * Throws CheckpointError for any inconsistency, before any tensor byte is read.
 */
export function resolveTensor(file: string, model: FileByteSource, pool: ByteSourcePool, t: TensorRecord): ResolvedTensor {
  const dtype = onnxDType(file, t);
  const size = elementCount(t.dims);
  if (size === undefined) {
    throw new CheckpointError(file, `tensor '${quote(t.name)}' has dims [${t.dims.join(', ')}] whose product is negative or overflows`);
  }
  const bpe = bytesPerElement(dtype);
  const byteLength = size * bpe;
  if (!Number.isSafeInteger(byteLength)) {
    throw new CheckpointError(file, `tensor '${quote(t.name)}' has dims [${t.dims.join(', ')}] whose byte size overflows`);
  }
  const mismatch = (have: number, unit: string) =>
    new CheckpointError(file, `tensor '${quote(t.name)}' has dims [${t.dims.join(', ')}] (${size} elements of ${dtype}) but ${have} ${unit}`);

  const p = t.payload;
  switch (p.kind) {
    case 'raw': {
      if (p.span.length !== byteLength) throw mismatch(p.span.length, 'bytes of raw_data');
      const read = () => model.read(p.span.offset, p.span.length);
      const readRange = (o: number, n: number) => model.read(p.span.offset + o, n);
      return { record: t, dtype, size, byteLength, readBytes: read, readRange, readValues: () => decodeValues(read(), dtype, size) };
    }
    case 'external': {
      const target = resolveInside(file, path.dirname(file), p.location, `external data of '${quote(t.name)}'`);
      let fileSize: number;
      try {
        fileSize = fs.statSync(target).size;
      } catch {
        throw new CheckpointError(file, `external data file '${quote(p.location)}' of tensor '${quote(t.name)}' is missing`);
      }
      const length = p.length ?? byteLength;
      if (length !== byteLength) throw mismatch(length, 'bytes of external data');
      if (p.offset + length > fileSize) {
        throw new CheckpointError(
          file,
          `external data file '${quote(p.location)}' is too short: tensor '${quote(t.name)}' needs bytes ${p.offset}..${p.offset + length} but it has ${fileSize}`,
        );
      }
      const read = () => pool.get(target).read(p.offset, length);
      const readRange = (o: number, n: number) => pool.get(target).read(p.offset + o, n);
      return { record: t, externalFile: target, dtype, size, byteLength, readBytes: read, readRange, readValues: () => decodeValues(read(), dtype, size) };
    }
    case 'packed': {
      const fixed = p.field === 'float' ? 4 : p.field === 'double' ? 8 : 0;
      if (fixed && p.span.length !== size * fixed) throw mismatch(p.span.length / fixed, `values in ${p.field}_data`);
      const values = () => typedValues(file, t, dtype, size, decodePacked(model.read(p.span.offset, p.span.length), p.field));
      return { record: t, dtype, size, byteLength, readValues: values, readBytes: () => encodeLE(values(), dtype) };
    }
    case 'values': {
      if (p.values.length !== size) throw mismatch(p.values.length, `values in ${p.field}_data`);
      const values = () => typedValues(file, t, dtype, size, p.values);
      return { record: t, dtype, size, byteLength, readValues: values, readBytes: () => encodeLE(values(), dtype) };
    }
    case 'empty': {
      if (size !== 0) throw mismatch(0, 'stored values');
      return { record: t, dtype, size, byteLength, readBytes: () => new Uint8Array(0), readValues: () => new Float32Array(0) };
    }
    case 'string':
      throw new CheckpointError(file, `tensor '${quote(t.name)}' holds strings, which PruneScope does not support`);
    case 'sparse': {
      const values = resolveTensor(file, model, pool, { ...p.values, name: `${t.name} (values)` });
      const indices = resolveTensor(file, model, pool, { ...p.indices, name: `${t.name} (indices)` });
      const nnz = values.size;
      const coords = p.indices.dims.length === 2 && p.indices.dims[1] === t.dims.length;
      if (p.values.dims.length !== 1 || (indices.size !== nnz && !(coords && indices.size === nnz * t.dims.length))) {
        throw new CheckpointError(file, `sparse tensor '${quote(t.name)}' has ${nnz} values but indices of dims [${p.indices.dims.join(', ')}]`);
      }
      const readValues = () => {
        const v = values.readValues();
        const idx = indices.readValues();
        const out = v instanceof Float64Array ? new Float64Array(size) : new Float32Array(size);
        const strides = t.dims.map((_, a) => t.dims.slice(a + 1).reduce((x, y) => x * y, 1));
        for (let i = 0; i < nnz; i++) {
          let at = idx[i]!;
          if (coords) {
            at = 0;
            for (let a = 0; a < t.dims.length; a++) at += idx[i * t.dims.length + a]! * strides[a]!;
          }
          if (!(at >= 0 && at < size)) throw new CheckpointError(file, `sparse tensor '${quote(t.name)}' has an index ${at} outside its ${size} elements`);
          out[at] = v[i]!;
        }
        return out;
      };
      // byteLength: what the sparse encoding occupies in the file.
      return { record: t, dtype, size, byteLength: values.byteLength + indices.byteLength, readValues, readBytes: () => encodeLE(readValues(), dtype) };
    }
  }
}

/** Decodes a packed repeated field of ONNX's typed storage into plain numbers. */
function decodePacked(bytes: Uint8Array, field: 'float' | 'int32' | 'int64' | 'double' | 'uint64'): ArrayLike<number> {
  if (field === 'float') return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  if (field === 'double') return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  const out: number[] = [];
  let i = 0;
  while (i < bytes.length) {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = bytes[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) break;
    }
    out.push(field === 'uint64' ? Number(BigInt.asUintN(64, v)) : Number(BigInt.asIntN(64, v)));
  }
  return out;
}

/** Interprets the typed *_data values for the tensor's dtype (fp16/bf16 live in int32_data as bits). */
function typedValues(file: string, t: TensorRecord, dtype: DType, size: number, raw: ArrayLike<number>): Float32Array | Float64Array {
  if (raw.length !== size) {
    throw new CheckpointError(file, `tensor '${quote(t.name)}' has dims [${t.dims.join(', ')}] (${size} elements) but ${raw.length} stored values`);
  }
  if (dtype === 'float16' || dtype === 'bfloat16') {
    const bits = new Uint16Array(size);
    for (let i = 0; i < size; i++) bits[i] = raw[i]! & 0xffff;
    return decodeValues(new Uint8Array(bits.buffer), dtype, size);
  }
  if (dtype === 'float64' || dtype === 'int32' || dtype === 'int64' || dtype === 'uint32' || dtype === 'uint64') {
    return Float64Array.from(raw as ArrayLike<number>);
  }
  return Float32Array.from(raw as ArrayLike<number>);
}

/** Packs values back into little-endian bytes of `dtype` (for typed-field tensors' readBytes). */
function encodeLE(values: Float32Array | Float64Array, dtype: DType): Uint8Array {
  switch (dtype) {
    case 'float32':
    case 'float64':
    case 'float16':
    case 'bfloat16':
      return encodeFloats(values, dtype); // exact: the values came from this dtype
    case 'int8':
      return new Uint8Array(Int8Array.from(values).buffer);
    case 'uint8':
    case 'bool':
      return Uint8Array.from(values);
    case 'int16':
      return new Uint8Array(Int16Array.from(values).buffer);
    case 'uint16':
      return new Uint8Array(Uint16Array.from(values).buffer);
    case 'int32':
      return new Uint8Array(Int32Array.from(values).buffer);
    case 'uint32':
      return new Uint8Array(Uint32Array.from(values).buffer);
    case 'int64':
      return new Uint8Array(BigInt64Array.from(Array.from(values, (v) => BigInt(v))).buffer);
    case 'uint64':
      return new Uint8Array(BigUint64Array.from(Array.from(values, (v) => BigInt(v))).buffer);
  }
}
