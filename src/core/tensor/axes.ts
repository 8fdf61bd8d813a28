/** Axis-wise operations on row-major tensors (structured pruning). */

/** ℓ2 norms of the slices of a row-major tensor along `axis` (one per index of that axis). */
export function axisNorms(values: ArrayLike<number>, shape: readonly number[], axis: number): Float64Array {
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const n = shape[axis]!;
  const out = new Float64Array(n);
  for (let i = 0; i < values.length; i++) out[Math.floor(i / inner) % n] += values[i]! ** 2;
  return out.map(Math.sqrt);
}

/** Keeps the given indices along each axis of a row-major tensor. */
export function gatherAxes(values: ArrayLike<number>, shape: readonly number[], axes: ReadonlyMap<number, number[]>): { values: Float64Array; shape: number[] } {
  const newShape = shape.map((d, a) => axes.get(a)?.length ?? d);
  const index = shape.map((d, a) => axes.get(a) ?? Array.from({ length: d }, (_, i) => i));
  const strides = shape.map((_, a) => shape.slice(a + 1).reduce((x, y) => x * y, 1));
  const out = new Float64Array(newShape.reduce((a, b) => a * b, 1));
  const pos = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let a = 0; a < shape.length; a++) src += index[a]![pos[a]!]! * strides[a]!;
    out[o] = values[src]!;
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++pos[a]! < newShape[a]!) break;
      pos[a] = 0;
    }
  }
  return { values: out, shape: newShape };
}

/**
 * Multiplies a row-major tensor by `a` (m × k, row-major) along `axis` (of size m):
 * out[…, j', …] = Σ_j t[…, j, …] · a[j, j'].
 */
export function multiplyAlongAxis(values: ArrayLike<number>, shape: readonly number[], axis: number, a: ArrayLike<number>, k: number): { values: Float64Array; shape: number[] } {
  const m = shape[axis]!;
  const outer = shape.slice(0, axis).reduce((x, y) => x * y, 1);
  const inner = shape.slice(axis + 1).reduce((x, y) => x * y, 1);
  const out = new Float64Array(outer * k * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      const src = (o * m + j) * inner;
      for (let y = 0; y < k; y++) {
        const ajy = a[j * k + y]!;
        if (ajy === 0) continue;
        const dst = (o * k + y) * inner;
        for (let i = 0; i < inner; i++) out[dst + i] += values[src + i]! * ajy;
      }
    }
  }
  return { values: out, shape: shape.map((d, x) => (x === axis ? k : d)) };
}

/** The tensor as a (rows × m) matrix with the `axis` dimension as columns (rows: every other index). */
export function axisToColumns(values: ArrayLike<number>, shape: readonly number[], axis: number): { data: Float64Array; rows: number } {
  const m = shape[axis]!;
  const outer = shape.slice(0, axis).reduce((x, y) => x * y, 1);
  const inner = shape.slice(axis + 1).reduce((x, y) => x * y, 1);
  const data = new Float64Array(outer * inner * m);
  for (let o = 0; o < outer; o++) for (let j = 0; j < m; j++) for (let i = 0; i < inner; i++) data[(o * inner + i) * m + j] = values[(o * m + j) * inner + i]!;
  return { data, rows: outer * inner };
}
