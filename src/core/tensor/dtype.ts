/** Storage dtypes PruneScope can decode. Names follow numpy / safetensors lower-case spelling. */
export type DType =
  | 'float32'
  | 'float16'
  | 'bfloat16'
  | 'float64'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool';

const BYTES: Record<DType, number> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  uint64: 8,
  bool: 1,
};

export function bytesPerElement(dtype: DType): number {
  return BYTES[dtype];
}

export function isFloatDType(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float16' || dtype === 'bfloat16' || dtype === 'float64';
}

/**
 * Number of elements of a shape. Returns undefined when a dim is negative / not an integer or the
 * product is not exactly representable (so callers can report an overflow instead of a wrong size).
 */
export function elementCount(shape: readonly number[]): number | undefined {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) return undefined;
    n *= d;
    if (!Number.isSafeInteger(n)) return undefined;
  }
  return n;
}

const f16Table = buildHalfTable();

function buildHalfTable(): Float32Array {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24;
    else if (exp === 31) t[h] = frac ? NaN : sign * Infinity;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return t;
}

/** IEEE half → float32 (exact). */
export function halfToFloat(h: number): number {
  return f16Table[h & 0xffff]!;
}

/** float32 → IEEE half bits, round-to-nearest-even (used by writers and fixtures). */
export function floatToHalf(value: number): number {
  const f = new Float32Array([value]);
  const x = new Uint32Array(f.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  let exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  exp = exp - 127 + 15;
  if (exp >= 0x1f) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (exp << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

/**
 * Decodes `count` little-endian elements of `dtype` from `bytes` (which must start at offset 0 of
 * its own buffer or be copied first; callers pass fresh buffers from FileByteSource.read).
 */
export function decodeValues(bytes: Uint8Array, dtype: DType, count: number): Float32Array | Float64Array {
  const need = count * BYTES[dtype];
  if (bytes.byteLength < need) throw new RangeError(`need ${need} bytes, have ${bytes.byteLength}`);
  // A DataView-free fast path needs an aligned offset; copy when the view is unaligned.
  const aligned = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
  const buf = aligned.buffer;
  const off = aligned.byteOffset;
  // A fresh buffer that holds exactly these values is viewed in place, not copied.
  const owned = off === 0 && buf.byteLength === need;
  switch (dtype) {
    case 'float32':
      return owned ? new Float32Array(buf, 0, count) : new Float32Array(buf, off, count).slice();
    case 'float64':
      return owned ? new Float64Array(buf, 0, count) : new Float64Array(buf, off, count).slice();
    case 'float16': {
      const src = new Uint16Array(buf, off, count);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = f16Table[src[i]!]!;
      return out;
    }
    case 'bfloat16': {
      const src = new Uint16Array(buf, off, count);
      const out = new Float32Array(count);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = src[i]! << 16;
      return out;
    }
    case 'int8':
      return Float32Array.from(new Int8Array(buf, off, count));
    case 'uint8':
    case 'bool':
      return Float32Array.from(new Uint8Array(buf, off, count));
    case 'int16':
      return Float32Array.from(new Int16Array(buf, off, count));
    case 'uint16':
      return Float32Array.from(new Uint16Array(buf, off, count));
    case 'int32':
      return Float64Array.from(new Int32Array(buf, off, count));
    case 'uint32':
      return Float64Array.from(new Uint32Array(buf, off, count));
    case 'int64': {
      const src = new BigInt64Array(buf, off, count);
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = Number(src[i]!);
      return out;
    }
    case 'uint64': {
      const src = new BigUint64Array(buf, off, count);
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = Number(src[i]!);
      return out;
    }
  }
}

/** Decodes `count` elements read through `readRange(byteOffset, byteLength)` into `target`, 4 MiB at a time. */
export function decodeChunkedInto(
  target: Float64Array,
  dtype: DType,
  count: number,
  readRange: (byteOffset: number, byteLength: number) => Uint8Array,
): void {
  const bpe = BYTES[dtype];
  const chunk = Math.max(1, Math.floor((4 << 20) / bpe));
  for (let start = 0; start < count; start += chunk) {
    const n = Math.min(chunk, count - start);
    target.set(decodeValues(readRange(start * bpe, n * bpe), dtype, n), start);
  }
}

/** Encodes float values as little-endian bytes of a float dtype (round to nearest even for 16-bit types). */
export function encodeFloats(values: ArrayLike<number>, dtype: 'float32' | 'float64' | 'float16' | 'bfloat16'): Uint8Array {
  const n = values.length;
  switch (dtype) {
    case 'float32':
      return new Uint8Array(Float32Array.from(values).buffer);
    case 'float64':
      return new Uint8Array(Float64Array.from(values).buffer);
    case 'float16': {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = floatToHalf(values[i]!);
      return new Uint8Array(out.buffer);
    }
    case 'bfloat16': {
      const bits = new Uint32Array(Float32Array.from(values).buffer);
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) {
        const x = bits[i]!;
        const isNaN = (x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0;
        out[i] = isNaN ? (x >>> 16) | 0x40 : (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
      }
      return new Uint8Array(out.buffer);
    }
  }
}
