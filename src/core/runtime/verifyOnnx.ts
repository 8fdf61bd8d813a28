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
import { openSession, ortMessage, runOptions } from './onnxSession.ts';

export type { Verification } from './outputComparison.ts';

/** Random inputs compared by default (`--verify` without --data). */
export const VERIFY_SAMPLES = 32;

export interface VerifyOptions {
  samples?: number;
  /** Dims for the inputs of random verification (dynamic dims resolved from the graph or --input-shape); else dynamic → 1. */
  inputDims?: ReadonlyMap<string, number[]>;
  seed?: number;
  /** Inputs: the first axis indexes samples (single-input models). */
  data?: NpyArray;
  /** Integer class labels, one per sample, for accuracy. */
  labels?: Labels;
}

/** A random feed: normal floats, zero indices; dims from `inputDims`, else the declared ones (dynamic → 1). */
export function randomFeed(session: ort.InferenceSession, rng: Mulberry32, inputDims?: ReadonlyMap<string, number[]>): Record<string, ort.Tensor> {
  const feed: Record<string, ort.Tensor> = {};
  session.inputNames.forEach((name, i) => {
    const meta = session.inputMetadata[i] as { isTensor: boolean; type?: string; shape?: Array<number | string> };
    if (!meta.isTensor) throw new UserInputError(`the model's input '${quote(name)}' is not a tensor: random verification cannot feed it (give --data)`);
    const dims = inputDims?.get(name) ?? (meta.shape ?? []).map((d) => (typeof d === 'number' && d > 0 ? d : 1));
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

/** The shapes random inputs get, e.g. `x [1, 3, 224, 224]`. */
function describeDims(session: ort.InferenceSession, dims?: ReadonlyMap<string, number[]>): string {
  return session.inputNames
    .map((name, i) => {
      const d = dims?.get(name) ?? ((session.inputMetadata[i] as { shape?: Array<number | string> }).shape ?? []).map((x) => (typeof x === 'number' && x > 0 ? x : 1));
      return `${name} [${d.join(', ')}]`;
    })
    .join(', ');
}

/**
 * The user's model in onnxruntime: a failure to load or run it is a property of their file (or
 * data), said as such. The pruned model's failures are not caught: they would be our bug.
 */
async function original<T>(file: string, what: string, step: () => Promise<T>, hint = ''): Promise<T> {
  try {
    return await step();
  } catch (e) {
    if (e instanceof UserInputError) throw e;
    throw new CheckpointError(file, `onnxruntime-node cannot ${what}: ${ortMessage(e)}${hint ? `; ${hint}` : ''}`);
  }
}

const FLOAT_OUTPUTS = new Set(['float32', 'float64', 'float16']);

export async function verifyOnnx(originalFile: string, pruned: string, opts: VerifyOptions = {}): Promise<Verification> {
  const a = await original(originalFile, 'load the original model', () => openSession(originalFile));
  const b = await openSession(pruned);
  try {
    const cmp = new OutputComparison();
    let outputs = 0;
    const what = opts.data ? 'run the original model on the given samples' : `run the original model on generated inputs (${describeDims(a, opts.inputDims)})`;
    const hint = opts.data ? '' : 'set the dims of dynamic inputs with --input-shape, or give --data';
    const run = async (feed: Record<string, ort.Tensor>, labels?: ArrayLike<number>) => {
      const ra = await original(originalFile, what, () => a.run(feed, runOptions()), hint);
      const rb = await b.run(feed, runOptions());
      // Every float output is compared; top-1 and accuracy are read from the first one.
      outputs = 0;
      a.outputNames.forEach((name, i) => {
        const ya = ra[name]!;
        const yb = rb[name];
        if (!yb || !FLOAT_OUTPUTS.has(ya.type)) return;
        outputs++;
        const width = Number(ya.dims[ya.dims.length - 1] ?? 1);
        if (i === 0 && opts.labels) checkLabelRange(opts.labels, width);
        cmp.add(ya.data as Float32Array, yb.data as Float32Array, width, i === 0 ? labels : undefined, i === 0 && ya.dims.length <= 3);
      });
    };
    if (opts.data) {
      let samples = 0;
      for (const { feed, rows, first } of dataFeeds(a, opts.data)) {
        await run(feed, opts.labels?.values.subarray(first, first + rows));
        samples += rows;
      }
      return cmp.result('onnxruntime-node', samples, opts.data.file, { outputs });
    }
    const rng = new Mulberry32(opts.seed ?? 1);
    const samples = opts.samples ?? VERIFY_SAMPLES;
    for (let s = 0; s < samples; s++) await run(randomFeed(a, rng, opts.inputDims));
    return cmp.result('onnxruntime-node', samples, 'random', { outputs, inputs: describeDims(a, opts.inputDims) });
  } finally {
    await a.release();
    await b.release();
  }
}
