/**
 * Values of constant-derived tensors: stored ones, and those computed from them by Identity,
 * Cast, DequantizeLinear (dequantized, per tensor or per axis) and the small tensors shape
 * inference folded (torch's Cast(ConstantOfShape(…)) zero points). Used for importance scores and
 * to slice constants that are computed rather than stored.
 */
import { attrInt, type Graph } from './graph.ts';
import type { Shapes } from './shapeInference.ts';

const INT_TYPES = new Set([2, 3, 4, 5, 6, 7, 12, 13]);
/** Tensors up to this many elements are cached. */
const CACHED = 1 << 16;

export class ConstantValues {
  private readonly cache = new Map<string, Float64Array | null>();

  constructor(
    private readonly g: Graph,
    private readonly shapes: Shapes,
  ) {}

  /** Row-major values, or undefined when the tensor is not a constant this reader can compute. */
  read(name: string): Float64Array | undefined {
    if (this.cache.has(name)) return this.cache.get(name) ?? undefined;
    const v = this.compute(name, 0);
    // Weights are read again when needed (a BERT's would hold 900 MB here); small tensors are kept.
    if (!v || v.length <= CACHED) this.cache.set(name, v ?? null);
    return v;
  }

  /** As read(), but a stored tensor's decoded values as they come (no float64 copy): for one pass over a weight. */
  readOnce(name: string): ArrayLike<number> | undefined {
    const t = this.g.tensors.get(name);
    return t?.stored && !this.cache.has(name) ? t.stored.read() : this.read(name);
  }

  private compute(name: string, depth: number): Float64Array | undefined {
    const t = this.g.tensors.get(name);
    if (!t || depth > 16) return undefined;
    if (t.stored) return Float64Array.from(t.stored.read());
    const small = this.shapes.value.get(name);
    const p = t.producer;
    if (p && (p.op === 'Identity' || p.op === 'Reshape' || p.op === 'Squeeze' || p.op === 'Unsqueeze' || p.op === 'Flatten')) {
      const v = this.compute(p.inputs[0]!, depth + 1);
      if (v) return v;
    }
    if (p && p.op === 'Cast') {
      const v = this.compute(p.inputs[0]!, depth + 1);
      if (v) return INT_TYPES.has(attrInt(p, 'to', 1)) ? v.map(Math.trunc) : v;
    }
    if (p && p.op === 'DequantizeLinear') {
      const x = this.compute(p.inputs[0]!, depth + 1);
      const scale = this.compute(p.inputs[1]!, depth + 1);
      const zp = p.inputs[2] ? this.compute(p.inputs[2], depth + 1) : undefined;
      const dims = this.shapes.shape.get(p.inputs[0]!);
      if (x && scale && dims) return dequantize(x, dims, scale, zp, attrInt(p, 'axis', 1));
    }
    return small ? Float64Array.from(small) : undefined;
  }
}

/** (x − zero point) · scale, per tensor or along `axis`, in float32 arithmetic like ONNX. */
export function dequantize(x: Float64Array, dims: readonly number[], scale: Float64Array, zp: Float64Array | undefined, axisAttr: number): Float64Array {
  const out = new Float64Array(x.length);
  if (scale.length === 1) {
    const s = scale[0]!;
    const z = zp?.[0] ?? 0;
    for (let i = 0; i < x.length; i++) out[i] = Math.fround((x[i]! - z) * s);
    return out;
  }
  const axis = axisAttr < 0 ? axisAttr + dims.length : axisAttr;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const n = dims[axis]!;
  for (let i = 0; i < x.length; i++) {
    const c = Math.floor(i / inner) % n;
    out[i] = Math.fround((x[i]! - (zp?.[c] ?? 0)) * scale[c]!);
  }
  return out;
}
