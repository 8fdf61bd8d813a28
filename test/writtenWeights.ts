/**
 * Pruning errors recomputed from the files a prune wrote, independently of the analysis code:
 * plain sorts for medians and plain sums for norms, so a test compares the reported error with
 * what is really in the output, not with another view of the same computation.
 */
import { openCheckpoint } from '../src/core/formats/openCheckpoint.ts';
import { canonicalShape, readCanonical } from '../src/core/tensor/layout.ts';

export interface WrittenWeight {
  shape: number[];
  /** The canonical (out × in …) shape. */
  canonicalShape: number[];
  /** Canonical (out × in …) values. */
  canonical: Float64Array;
  /** Values in the file's own layout. */
  stored: Float64Array;
}

/** Every weight of a model file, decoded. */
export function readWeights(file: string): Map<string, WrittenWeight> {
  const ck = openCheckpoint(file);
  try {
    return new Map(ck.weights.map((w) => [w.name, { shape: [...w.shape], canonicalShape: canonicalShape(w.layer.layout, w.shape), canonical: readCanonical(w), stored: Float64Array.from(w.read()) }]));
  } finally {
    ck.close();
  }
}

/** numpy's median (mean of the two middle values for an even count), by a full sort. */
export function medianOf(v: ArrayLike<number>): number {
  const s = Float64Array.from(v).sort();
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** The median of each column of a row-major rows × cols matrix. */
export function columnMediansOf(a: Float64Array, rows: number, cols: number): Float64Array {
  return Float64Array.from({ length: cols }, (_, j) => medianOf(Array.from({ length: rows }, (_, i) => a[i * cols + j]!)));
}

/**
 * ‖W − W'‖_F / ‖W − C‖_F, with C the centre the method subtracts before it prunes (0, the tensor's
 * median, or one median per column of the canonical rows × cols matrix).
 */
export function relErrOf(original: Float64Array, pruned: Float64Array, centre: 'none' | 'median' | { columns: number } = 'none'): number {
  if (original.length !== pruned.length) throw new Error(`sizes differ: ${original.length} vs ${pruned.length}`);
  let c: (i: number) => number = () => 0;
  if (centre === 'median') {
    const m = medianOf(original);
    c = () => m;
  } else if (typeof centre === 'object') {
    const med = columnMediansOf(original, original.length / centre.columns, centre.columns);
    c = (i) => med[i % centre.columns]!;
  }
  let num = 0;
  let den = 0;
  for (let i = 0; i < original.length; i++) {
    num += (original[i]! - pruned[i]!) ** 2;
    den += (original[i]! - c(i)) ** 2;
  }
  return Math.sqrt(num / den);
}

/** A·B for row-major A (rows × k) and B (k × cols). */
export function matmul(a: Float64Array, b: Float64Array, rows: number, k: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let t = 0; t < k; t++) for (let j = 0; j < cols; j++) out[i * cols + j] += a[i * k + t]! * b[t * cols + j]!;
  return out;
}

/** The transpose of a row-major rows × cols matrix. */
export function transposeOf(a: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j]!;
  return out;
}

/**
 * What a magnitude prune (centre c) did to one tensor, read from the files: how many entries it set
 * to c, the largest |w − c| among them and the smallest among those kept (a correct prune has
 * maxPruned ≤ minKept), and the relative error.
 */
export function magnitudeCut(original: Float64Array, written: Float64Array, centre = 0): { pruned: number; maxPruned: number; minKept: number; relErr: number } {
  let pruned = 0;
  let maxPruned = 0;
  let minKept = Infinity;
  const c = Math.fround(centre);
  for (let i = 0; i < original.length; i++) {
    const d = Math.abs(original[i]! - centre);
    if (written[i] === c && original[i] !== c) {
      pruned++;
      maxPruned = Math.max(maxPruned, d);
    } else if (written[i] !== c) minKept = Math.min(minKept, d);
  }
  return { pruned, maxPruned, minKept, relErr: relErrOf(original, written, centre === 0 ? 'none' : 'median') };
}
