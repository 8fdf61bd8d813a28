/**
 * Conversion of a stored tensor to the canonical `out × in (× kh × kw)` layout of
 * shared/specs/heavy-tails.md §1.1.
 */
export type CanonicalLayout =
  /** Already canonical (PyTorch Linear/Conv, ONNX Gemm transB=1, ONNX Conv). */
  | { kind: 'identity' }
  /** 2-D (in, out) → (out, in): ONNX MatMul / Gemm transB=0, TF.js Dense. */
  | { kind: 'transpose' }
  /** Channels-last kernel (k₁, …, in, out) → (out, in, k₁, …): TF.js Conv1D/2D/3D. */
  | { kind: 'hwio' }
  /** 4-D (kh, kw, in, mult) → (in·mult, 1, kh, kw): TF.js DepthwiseConv2D. */
  | { kind: 'hwim' }
  /** 4-D (in, out, kh, kw) → (out, in, kh, kw): ONNX ConvTranspose. */
  | { kind: 'swap01' }
  /** Leading dims merged: (dirs, gates·hidden, in) → (dirs·gates·hidden, in): ONNX LSTM/GRU/RNN. */
  | { kind: 'merge-leading' }
  /** Not a matrix: biases, norms, anything else (canonical shape = stored shape). */
  | { kind: 'none' };

export function canonicalShape(layout: CanonicalLayout, shape: readonly number[]): number[] {
  switch (layout.kind) {
    case 'identity':
    case 'none':
      return [...shape];
    case 'transpose':
      return [shape[1]!, shape[0]!];
    case 'hwio':
      return [shape[shape.length - 1]!, shape[shape.length - 2]!, ...shape.slice(0, -2)];
    case 'hwim':
      return [shape[2]! * shape[3]!, 1, shape[0]!, shape[1]!];
    case 'swap01':
      return [shape[1]!, shape[0]!, shape[2]!, shape[3]!];
    case 'merge-leading':
      return [shape.slice(0, -1).reduce((a, b) => a * b, 1), shape[shape.length - 1]!];
  }
}

/** Reorders `data` (stored layout, row-major) into the canonical layout (row-major). */
export function toCanonical<T extends Float32Array | Float64Array>(
  layout: CanonicalLayout,
  shape: readonly number[],
  data: T,
): T {
  switch (layout.kind) {
    case 'identity':
    case 'none':
    case 'merge-leading':
      return data;
    case 'transpose':
      return transpose2d(data, shape[0]!, shape[1]!);
    case 'hwio': {
      // stored [spatial][in][out] → [out][in][spatial]
      const cout = shape[shape.length - 1]!;
      const cin = shape[shape.length - 2]!;
      const k = data.length / (cin * cout);
      const out = new (data.constructor as { new (n: number): T })(data.length);
      for (let s = 0; s < k; s++)
        for (let i = 0; i < cin; i++)
          for (let o = 0; o < cout; o++) out[(o * cin + i) * k + s] = data[(s * cin + i) * cout + o]!;
      return out;
    }
    case 'hwim': {
      // stored [kh][kw][in][mult] → [in*mult + m][0][kh][kw]
      const [kh, kw, cin, mult] = shape as [number, number, number, number];
      const out = new (data.constructor as { new (n: number): T })(data.length);
      for (let h = 0; h < kh; h++)
        for (let w = 0; w < kw; w++)
          for (let i = 0; i < cin; i++)
            for (let m = 0; m < mult; m++)
              out[((i * mult + m) * kh + h) * kw + w] = data[((h * kw + w) * cin + i) * mult + m]!;
      return out;
    }
    case 'swap01': {
      const [a, b, kh, kw] = shape as [number, number, number, number];
      const k = kh * kw;
      const out = new (data.constructor as { new (n: number): T })(data.length);
      for (let i = 0; i < a; i++)
        for (let j = 0; j < b; j++)
          for (let s = 0; s < k; s++) out[(j * a + i) * k + s] = data[(i * b + j) * k + s]!;
      return out;
    }
  }
}

/** The transpose of a row-major rows × cols matrix. */
export function transpose2d<T extends Float32Array | Float64Array>(a: T, rows: number, cols: number): T {
  const out = new (a.constructor as { new (n: number): T })(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j]!;
  return out;
}

/** Canonical values back to the stored layout (the inverse of toCanonical, for the 2-D and merged layouts). */
export function fromCanonical(layout: CanonicalLayout, shape: readonly number[], canonical: Float64Array): Float64Array {
  switch (layout.kind) {
    case 'identity':
    case 'none':
    case 'merge-leading':
      return canonical;
    case 'transpose':
      return transpose2d(canonical, shape[1]!, shape[0]!);
    default:
      throw new Error(`writing back from layout ${layout.kind} is not supported`);
  }
}

/** A weight's values in the canonical layout, as float64. */
export function readCanonical(w: { shape: number[]; layer: { layout: CanonicalLayout }; read(): Float32Array | Float64Array }): Float64Array {
  return Float64Array.from(toCanonical(w.layer.layout, w.shape, w.read()));
}

/** `data` (row-major, `shape`) with its axes reordered: output axis i is input axis `perm[i]`. */
export function permuteAxes<T extends Float32Array | Float64Array>(data: T, shape: readonly number[], perm: readonly number[]): T {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) inStrides[i] = inStrides[i + 1]! * shape[i + 1]!;
  const step = perm.map((p) => inStrides[p]!); // input stride of each output axis
  const out = new (data.constructor as { new (n: number): T })(data.length);
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = data[src]!;
    for (let a = rank - 1; a >= 0; a--) {
      if (++idx[a]! < outShape[a]!) {
        src += step[a]!;
        break;
      }
      src -= step[a]! * (outShape[a]! - 1);
      idx[a] = 0;
    }
  }
  return out;
}
