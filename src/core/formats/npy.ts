/**
 * numpy .npy reader (format versions 1–3): little-endian or byte-sized dtypes, C or Fortran order
 * (Fortran arrays are returned in C order). Values decode to Float32Array (float32/16 and small
 * ints) or Float64Array (float64 and 32/64-bit ints).
 */
import { CheckpointError, quote } from '../errors.ts';
import { readRegularFile } from '../io/byteSource.ts';
import { type DType, bytesPerElement, decodeValues, elementCount } from '../tensor/dtype.ts';

export interface NpyArray {
  file: string;
  dtype: DType;
  shape: number[];
  values: Float32Array | Float64Array;
}

const DESCR: Record<string, DType> = {
  '<f4': 'float32',
  '<f8': 'float64',
  '<f2': 'float16',
  '<i8': 'int64',
  '<i4': 'int32',
  '<i2': 'int16',
  '|i1': 'int8',
  '<u8': 'uint64',
  '<u4': 'uint32',
  '<u2': 'uint16',
  '|u1': 'uint8',
  '|b1': 'bool',
};

export function readNpy(file: string): NpyArray {
  const buf = readRegularFile(file);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new CheckpointError(file, 'not a .npy file (no \\x93NUMPY magic)');
  const major = buf[6]!;
  if (major < 1 || major > 3) throw new CheckpointError(file, `.npy format version ${major} is not supported (1 to 3 are)`);
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  if (start + headerLen > buf.length) throw new CheckpointError(file, 'truncated: the .npy header runs past the end of the file');
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1] === 'True';
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeText === undefined) throw new CheckpointError(file, 'malformed .npy header');
  const dtype = DESCR[descr === '<b1' ? '|b1' : descr];
  if (!dtype) throw new CheckpointError(file, `.npy dtype '${quote(descr)}' is not supported (little-endian numbers only)`);
  const dims = shapeText.split(',').map((s) => s.trim()).filter(Boolean);
  if (!dims.every((d) => /^\d+L?$/.test(d))) throw new CheckpointError(file, `.npy shape (${quote(shapeText)}) is not a list of sizes`);
  const shape = dims.map((d) => Number.parseInt(d, 10));
  const count = elementCount(shape);
  if (count === undefined) throw new CheckpointError(file, `.npy shape (${quote(shapeText)}) is invalid or overflows`);
  const dataStart = start + headerLen;
  const need = count * bytesPerElement(dtype);
  if (buf.length - dataStart < need) throw new CheckpointError(file, `truncated: shape (${shape.join(', ')}) needs ${need} bytes of data, the file has ${buf.length - dataStart}`);
  if (buf.length - dataStart > need) throw new CheckpointError(file, `has ${buf.length - dataStart - need} bytes after the data of its (${shape.join(', ')}) array: not a valid .npy file`);
  let values = decodeValues(new Uint8Array(buf.buffer, buf.byteOffset + dataStart, need).slice(), dtype, count);
  if (fortran && shape.length > 1) values = fortranToC(values, shape);
  return { file, dtype, shape, values };
}

/** Reorders column-major data of `shape` into row-major. */
function fortranToC<T extends Float32Array | Float64Array>(v: T, shape: number[]): T {
  const out = new (v.constructor as { new (n: number): T })(v.length);
  const n = shape.length;
  const idx = new Array<number>(n).fill(0);
  for (let c = 0; c < v.length; c++) {
    let f = 0;
    let stride = 1;
    for (let a = 0; a < n; a++) {
      f += idx[a]! * stride;
      stride *= shape[a]!;
    }
    out[c] = v[f]!;
    for (let a = n - 1; a >= 0; a--) {
      if (++idx[a]! < shape[a]!) break;
      idx[a] = 0;
    }
  }
  return out;
}
