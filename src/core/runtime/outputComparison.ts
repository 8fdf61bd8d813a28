/** Accumulates the comparison of two models' outputs over batches (and accuracy when labels are given). */
export interface Verification {
  /** 'onnxruntime-node' or 'tfjs (<backend>)'. */
  runtime: string;
  /** Samples compared; `data` says whether they were random or the user's. */
  samples: number;
  data: 'random' | string;
  maxAbs: number;
  /** ‖y − y'‖ / ‖y‖ over all outputs. */
  relErr: number;
  cosine: number;
  /**
   * Fraction of rows whose argmax (last axis of the first output) agrees: for class scores
   * ([N, C], or [N, T, C] per step). Null for one value per row (it cannot disagree) and for maps
   * (rank 4 and up), where an argmax over the last axis means nothing.
   */
  top1Agreement: number | null;
  /** Outputs compared (every float output of the model). */
  outputs?: number;
  /** Random inputs: the shape fed to each input, e.g. `x [1, 3, 224, 224]`. */
  inputs?: string;
  accuracyBefore: number | null;
  accuracyAfter: number | null;
}

export class OutputComparison {
  private maxAbs = 0;
  private diff2 = 0;
  private ref2 = 0;
  private out2 = 0;
  private dot = 0;
  private agree = 0;
  private correctA = 0;
  private correctB = 0;
  private labelled = 0;

  private classRows = 0;

  /**
   * Adds a batch: outputs of both models, rows of `width` values, and optional labels per row.
   * `rows` false: an extra output, counted in the deviations only.
   */
  add(a: ArrayLike<number>, b: ArrayLike<number>, width: number, labels?: ArrayLike<number>, rows = true): void {
    if (a.length !== b.length) throw new Error(`output sizes differ: ${a.length} vs ${b.length}`);
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i]! - b[i]!);
      if (!(d <= this.maxAbs)) this.maxAbs = d; // NaN sticks
      this.diff2 += d * d;
      this.ref2 += a[i]! * a[i]!;
      this.out2 += b[i]! * b[i]!;
      this.dot += a[i]! * b[i]!;
    }
    if (!rows || width < 2) return;
    for (let r = 0; r * width < a.length; r++) {
      const ia = argmax(a, r * width, width);
      const ib = argmax(b, r * width, width);
      if (ia === ib) this.agree++;
      if (labels) {
        this.labelled++;
        if (ia === labels[r]) this.correctA++;
        if (ib === labels[r]) this.correctB++;
      }
      this.classRows++;
    }
  }

  result(runtime: string, samples: number, data: string, extra: { outputs?: number; inputs?: string } = {}): Verification {
    return {
      ...extra,
      runtime,
      samples,
      data,
      maxAbs: this.maxAbs,
      relErr: this.ref2 ? Math.sqrt(this.diff2 / this.ref2) : Math.sqrt(this.diff2),
      // Two all-zero outputs agree; one all-zero output against another does not point the same way.
      cosine: this.ref2 && this.out2 ? this.dot / Math.sqrt(this.ref2 * this.out2) : this.ref2 === this.out2 ? 1 : 0,
      top1Agreement: this.classRows ? this.agree / this.classRows : null,
      accuracyBefore: this.labelled ? this.correctA / this.labelled : null,
      accuracyAfter: this.labelled ? this.correctB / this.labelled : null,
    };
  }
}

function argmax(x: ArrayLike<number>, start: number, n: number): number {
  let best = start;
  for (let i = start + 1; i < start + n; i++) if (x[i]! > x[best]!) best = i;
  return best - start;
}
