/**
 * Runs the original and the pruned ONNX model in onnxruntime-node on the same inputs — seeded
 * random ones from the declared input shapes, or the user's .npy samples — and compares outputs.
 */
import * as ort from 'onnxruntime-node';
import { Mulberry32 } from '../analysis/prng.ts';
import { CheckpointError, quote, UserInputError } from '../errors.ts';
import type { NpyArray } from '../formats/npy.ts';
import { checkLabelRange, checkSampleShape, type Labels } from '../formats/samples.ts';
import { OutputComparison, type Verification } from './outputComparison.ts';

export type { Verification } from './outputComparison.ts';

export interface VerifyOptions {
  samples?: number;
  seed?: number;
  /** Inputs: the first axis indexes samples (single-input models). */
  data?: NpyArray;
  /** Integer class labels, one per sample, for accuracy. */
  labels?: Labels;
}

/** A random feed from the declared input shapes (dynamic dims → 1): normal floats, zero indices. */
export function randomFeed(session: ort.InferenceSession, rng: Mulberry32): Record<string, ort.Tensor> {
  const feed: Record<string, ort.Tensor> = {};
  session.inputNames.forEach((name, i) => {
    const meta = session.inputMetadata[i] as { isTensor: boolean; type?: string; shape?: Array<number | string> };
    if (!meta.isTensor) throw new UserInputError(`the model's input '${quote(name)}' is not a tensor: random verification cannot feed it (give --data)`);
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
        throw new UserInputError(`the model's input '${quote(name)}' has type ${meta.type}, which random verification does not generate (give --data)`);
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
  if (session.inputNames.length !== 1) throw new CheckpointError(x.file, `sample data feeds single-input models; this one has ${session.inputNames.length} inputs`);
  const name = session.inputNames[0]!;
  const meta = session.inputMetadata[0] as { shape?: Array<number | string>; type?: string };
  if (meta.type !== undefined && meta.type !== 'float32') throw new CheckpointError(x.file, `the model's input '${quote(name)}' takes ${meta.type}; sample data is fed as float32`);
  const declared = meta.shape ?? [];
  const sample = x.shape.slice(1);
  checkSampleShape(x, declared, name);
  const values = x.values instanceof Float32Array ? x.values : Float32Array.from(x.values);
  const per = sample.reduce((a, b) => a * b, 1);
  const batchFixed = typeof declared[0] === 'number' && (declared[0] as number) > 0;
  const step = batchFixed ? (declared[0] as number) : 64;
  if (x.shape[0]! < (batchFixed ? step : 1)) throw new CheckpointError(x.file, `has ${x.shape[0]} samples; the model's input '${quote(name)}' takes batches of ${step}`);
  const feeds: Array<{ feed: Record<string, ort.Tensor>; rows: number; first: number }> = [];
  for (let first = 0; first + (batchFixed ? step : 1) <= x.shape[0]!; first += step) {
    const rows = Math.min(step, x.shape[0]! - first);
    feeds.push({ feed: { [name]: new ort.Tensor('float32', values.slice(first * per, (first + rows) * per), [rows, ...sample]) }, rows, first });
  }
  return feeds;
}

/**
 * The user's model in onnxruntime: a failure to load or run it is a property of their file (or
 * data), said as such. The pruned model's failures are not caught: they would be our bug.
 */
async function original<T>(file: string, what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    if (e instanceof UserInputError) throw e;
    throw new CheckpointError(file, `onnxruntime-node cannot ${what} the original model: ${(e as Error).message}`);
  }
}

export async function verifyOnnx(originalFile: string, pruned: string, opts: VerifyOptions = {}): Promise<Verification> {
  const a = await original(originalFile, 'load', () => ort.InferenceSession.create(originalFile));
  const b = await ort.InferenceSession.create(pruned);
  try {
    const cmp = new OutputComparison();
    const run = async (feed: Record<string, ort.Tensor>, labels?: ArrayLike<number>) => {
      const ya = (await original(originalFile, `run (on ${opts.data ? 'the given samples' : 'generated inputs'})`, () => a.run(feed)))[a.outputNames[0]!]!;
      const yb = (await b.run(feed))[b.outputNames[0]!]!;
      if (opts.labels) checkLabelRange(opts.labels, Number(ya.dims[ya.dims.length - 1] ?? 1));
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
