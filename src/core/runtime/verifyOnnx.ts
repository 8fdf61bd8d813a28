/**
 * Runs the original and the pruned ONNX model in onnxruntime-node on the same inputs — seeded
 * random ones from the declared input shapes, or the user's .npy samples — and compares outputs.
 */
import * as ort from 'onnxruntime-node';
import { Mulberry32 } from '../analysis/prng.ts';
import type { NpyArray } from '../formats/npy.ts';
import { OutputComparison, type Verification } from './outputComparison.ts';

export type { Verification } from './outputComparison.ts';

export interface VerifyOptions {
  samples?: number;
  seed?: number;
  /** Inputs: the first axis indexes samples (single-input models). */
  data?: NpyArray;
  /** Integer class labels, one per sample, for accuracy. */
  labels?: NpyArray;
}

/** A random feed from the declared input shapes (dynamic dims → 1): normal floats, zero indices. */
export function randomFeed(session: ort.InferenceSession, rng: Mulberry32): Record<string, ort.Tensor> {
  const feed: Record<string, ort.Tensor> = {};
  session.inputNames.forEach((name, i) => {
    const meta = session.inputMetadata[i] as { isTensor: boolean; type?: string; shape?: Array<number | string> };
    if (!meta.isTensor) throw new Error(`input '${name}' is not a tensor`);
    const dims = (meta.shape ?? []).map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    switch (meta.type) {
      case 'float32':
        feed[name] = new ort.Tensor('float32', normals(n, rng), dims);
        break;
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

export function normals(n: number, rng: Mulberry32): Float32Array {
  const data = new Float32Array(n);
  for (let j = 0; j < n; j++) data[j] = Math.sqrt(-2 * Math.log(rng.uniformOpen())) * Math.cos(2 * Math.PI * rng.uniformOpen());
  return data;
}

/** The user's samples as feeds: one batch when the batch axis is dynamic, else one sample at a time. */
export function dataFeeds(session: ort.InferenceSession, x: NpyArray): Array<{ feed: Record<string, ort.Tensor>; rows: number; first: number }> {
  if (session.inputNames.length !== 1) throw new Error(`--data needs a single-input model; this one has ${session.inputNames.length} inputs`);
  const name = session.inputNames[0]!;
  const meta = session.inputMetadata[0] as { shape?: Array<number | string> };
  const declared = meta.shape ?? [];
  const sample = x.shape.slice(1);
  if (declared.length !== x.shape.length) throw new Error(`--data has shape (${x.shape.join(', ')}) but the model's input '${name}' has rank ${declared.length}`);
  const values = x.values instanceof Float32Array ? x.values : Float32Array.from(x.values);
  const per = sample.reduce((a, b) => a * b, 1);
  const batchFixed = typeof declared[0] === 'number' && (declared[0] as number) > 0;
  const step = batchFixed ? (declared[0] as number) : 64;
  const feeds: Array<{ feed: Record<string, ort.Tensor>; rows: number; first: number }> = [];
  for (let first = 0; first + (batchFixed ? step : 1) <= x.shape[0]!; first += step) {
    const rows = Math.min(step, x.shape[0]! - first);
    feeds.push({ feed: { [name]: new ort.Tensor('float32', values.slice(first * per, (first + rows) * per), [rows, ...sample]) }, rows, first });
  }
  return feeds;
}

export async function verifyOnnx(original: string, pruned: string, opts: VerifyOptions = {}): Promise<Verification> {
  const a = await ort.InferenceSession.create(original);
  const b = await ort.InferenceSession.create(pruned);
  try {
    const cmp = new OutputComparison();
    const run = async (feed: Record<string, ort.Tensor>, labels?: ArrayLike<number>) => {
      const ya = (await a.run(feed))[a.outputNames[0]!]!;
      const yb = (await b.run(feed))[b.outputNames[0]!]!;
      cmp.add(ya.data as Float32Array, yb.data as Float32Array, ya.dims[ya.dims.length - 1] ?? 1, labels);
    };
    if (opts.data) {
      let samples = 0;
      for (const { feed, rows, first } of dataFeeds(a, opts.data)) {
        await run(feed, opts.labels?.values.subarray(first, first + rows));
        samples += rows;
      }
      return cmp.result('onnxruntime-node', samples, opts.data.file);
    }
    const rng = new Mulberry32(opts.seed ?? 1);
    const samples = opts.samples ?? 8;
    for (let s = 0; s < samples; s++) await run(randomFeed(a, rng));
    return cmp.result('onnxruntime-node', samples, 'random');
  } finally {
    await a.release();
    await b.release();
  }
}
