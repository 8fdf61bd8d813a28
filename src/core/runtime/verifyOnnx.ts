/**
 * Runs the original and the pruned ONNX model in onnxruntime-node on the same inputs and compares
 * their first outputs.
 */
import * as ort from 'onnxruntime-node';
import { Mulberry32 } from '../analysis/prng.ts';

export interface Verification {
  /** 'onnxruntime-node' or 'tfjs (<backend>)'. */
  runtime: string;
  samples: number;
  maxAbs: number;
  /** ‖y − y'‖ / ‖y‖ over all outputs. */
  relErr: number;
  cosine: number;
  /** Fraction of rows whose argmax (last axis) agrees. */
  top1Agreement: number;
  accuracyBefore: number | null;
  accuracyAfter: number | null;
}

/** A random feed from the declared input shapes (dynamic dims → 1): normal floats, zero indices. */
function randomFeed(session: ort.InferenceSession, rng: Mulberry32): Record<string, ort.Tensor> {
  const feed: Record<string, ort.Tensor> = {};
  session.inputNames.forEach((name, i) => {
    const meta = session.inputMetadata[i] as { isTensor: boolean; type?: string; shape?: Array<number | string> };
    if (!meta.isTensor) throw new Error(`input '${name}' is not a tensor`);
    const dims = (meta.shape ?? []).map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    switch (meta.type) {
      case 'float32': {
        const data = new Float32Array(n);
        for (let j = 0; j < n; j++) data[j] = Math.sqrt(-2 * Math.log(rng.uniformOpen())) * Math.cos(2 * Math.PI * rng.uniformOpen());
        feed[name] = new ort.Tensor('float32', data, dims);
        break;
      }
      case 'int64':
        feed[name] = new ort.Tensor('int64', new BigInt64Array(n), dims);
        break;
      case 'int32':
        feed[name] = new ort.Tensor('int32', new Int32Array(n), dims);
        break;
      case 'bool':
        feed[name] = new ort.Tensor('bool', new Uint8Array(n), dims);
        break;
      default:
        throw new Error(`input '${name}' has type ${meta.type}, which random verification does not generate`);
    }
  });
  return feed;
}

export async function verifyOnnx(original: string, pruned: string, opts: { samples?: number; seed?: number } = {}): Promise<Verification> {
  const a = await ort.InferenceSession.create(original);
  const b = await ort.InferenceSession.create(pruned);
  try {
    const rng = new Mulberry32(opts.seed ?? 1);
    const samples = opts.samples ?? 8;
    let maxAbs = 0;
    let diff2 = 0;
    let ref2 = 0;
    let dot = 0;
    let out2 = 0;
    let rows = 0;
    let agree = 0;
    for (let s = 0; s < samples; s++) {
      const feed = randomFeed(a, rng);
      const ya = (await a.run(feed))[a.outputNames[0]!]!;
      const yb = (await b.run(feed))[b.outputNames[0]!]!;
      const x = ya.data as Float32Array;
      const y = yb.data as Float32Array;
      if (x.length !== y.length) throw new Error(`output sizes differ: ${x.length} vs ${y.length}`);
      for (let i = 0; i < x.length; i++) {
        const d = Math.abs(x[i]! - y[i]!);
        if (d > maxAbs || Number.isNaN(d)) maxAbs = d;
        diff2 += d * d;
        ref2 += x[i]! * x[i]!;
        out2 += y[i]! * y[i]!;
        dot += x[i]! * y[i]!;
      }
      const last = ya.dims[ya.dims.length - 1] ?? 1;
      for (let r = 0; r + last <= x.length; r += last) {
        rows++;
        if (argmax(x, r, last) === argmax(y, r, last)) agree++;
      }
    }
    return {
      runtime: 'onnxruntime-node',
      samples,
      maxAbs,
      relErr: ref2 ? Math.sqrt(diff2 / ref2) : Math.sqrt(diff2),
      cosine: ref2 && out2 ? dot / Math.sqrt(ref2 * out2) : 1,
      top1Agreement: rows ? agree / rows : 1,
      accuracyBefore: null,
      accuracyAfter: null,
    };
  } finally {
    await a.release();
    await b.release();
  }
}

function argmax(x: Float32Array, start: number, n: number): number {
  let best = start;
  for (let i = start + 1; i < start + n; i++) if (x[i]! > x[best]!) best = i;
  return best - start;
}
