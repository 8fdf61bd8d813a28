import type { LayerKind } from '../checkpoint.ts';
import { transpose2d } from '../tensor/layout.ts';

/** A row-major float64 matrix view of a layer. */
export interface Matrix {
  data: Float64Array;
  rows: number;
  cols: number;
}

/**
 * The matricisations of heavy-tails.md §1.2, from canonical values (out × in (× k…)):
 * `tail` (dense: out × in, or in × out for the transposed classifier; conv: kernel-rows
 * (out·in) × (kh·kw)), `filters` (out × in·kh·kw: singular-value pruning) and, for conv,
 * the per-(kh, kw) slices used by the ESD.
 */
export function layerMatrices(values: Float64Array, shape: readonly number[], kind: LayerKind, transposeClassifier: boolean): {
  tail: Matrix;
  filters: Matrix;
  isConv: boolean;
} {
  const out = shape[0]!;
  const rest = values.length / Math.max(out, 1);
  const isConv = shape.length > 2 && (kind === 'conv' || kind === 'depthwise-conv' || kind === 'grouped-conv');
  const filters: Matrix = { data: values, rows: out, cols: rest };
  if (isConv) {
    const cin = shape[1]!;
    const k = rest / Math.max(cin, 1);
    return { tail: { data: values, rows: out * cin, cols: k }, filters, isConv };
  }
  if (transposeClassifier) return { tail: transpose(filters), filters, isConv };
  return { tail: filters, filters, isConv };
}

export function transpose(m: Matrix): Matrix {
  return { data: transpose2d(m.data, m.rows, m.cols), rows: m.cols, cols: m.rows };
}

/** The (kh, kw) slices W[:, :, i, j] (out × in each) of a canonical conv kernel. */
export function convSlices(values: Float64Array, shape: readonly number[]): Matrix[] {
  const [out, cin] = [shape[0]!, shape[1]!];
  const k = values.length / (out * cin);
  const slices: Matrix[] = [];
  for (let s = 0; s < k; s++) {
    const data = new Float64Array(out * cin);
    // Stryker disable next-line EqualityOperator: i = cin writes the next row's first value, which is the right one; o = out writes past the end
    for (let o = 0; o < out; o++) for (let i = 0; i < cin; i++) data[o * cin + i] = values[(o * cin + i) * k + s]!;
    slices.push({ data, rows: out, cols: cin });
  }
  return slices;
}
