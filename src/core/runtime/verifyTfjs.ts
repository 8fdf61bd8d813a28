/** Runs the original and the pruned TF.js layers-model with the tfjs backend in use and compares outputs. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Mulberry32 } from '../analysis/prng.ts';
import { loadTfjs } from './loadTfjs.ts';
import type { Verification } from './verifyOnnx.ts';

async function load(tf: Awaited<ReturnType<typeof loadTfjs>>['tf'], file: string) {
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  const groups = json.weightsManifest as Array<{ paths: string[]; weights: unknown[] }>;
  const parts = groups.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(path.dirname(file), p))));
  const data = Buffer.concat(parts);
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: groups.flatMap((g) => g.weights) as never,
      weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
    }),
  );
}

export async function verifyTfjs(original: string, pruned: string, opts: { samples?: number; seed?: number } = {}): Promise<Verification> {
  const { tf, backend } = await loadTfjs();
  const a = await load(tf, original);
  const b = await load(tf, pruned);
  const shape = (a.inputs[0]!.shape as Array<number | null>).map((d) => d ?? 1);
  const samples = opts.samples ?? 8;
  const n = shape.reduce((x, y) => x * y, 1);
  const rng = new Mulberry32(opts.seed ?? 1);
  const x = new Float32Array(n * samples);
  for (let i = 0; i < x.length; i++) x[i] = Math.sqrt(-2 * Math.log(rng.uniformOpen())) * Math.cos(2 * Math.PI * rng.uniformOpen());
  const input = tf.tensor(x, [samples, ...shape.slice(1)]);
  const ya = (a.predict(input) as import('@tensorflow/tfjs').Tensor).dataSync() as Float32Array;
  const yb = (b.predict(input) as import('@tensorflow/tfjs').Tensor).dataSync() as Float32Array;
  let maxAbs = 0;
  let d2 = 0;
  let r2 = 0;
  let o2 = 0;
  let dot = 0;
  for (let i = 0; i < ya.length; i++) {
    const d = Math.abs(ya[i]! - yb[i]!);
    maxAbs = Math.max(maxAbs, d);
    d2 += d * d;
    r2 += ya[i]! ** 2;
    o2 += yb[i]! ** 2;
    dot += ya[i]! * yb[i]!;
  }
  const width = ya.length / samples;
  let agree = 0;
  for (let s = 0; s < samples; s++) {
    let ia = 0;
    let ib = 0;
    for (let j = 1; j < width; j++) {
      if (ya[s * width + j]! > ya[s * width + ia]!) ia = j;
      if (yb[s * width + j]! > yb[s * width + ib]!) ib = j;
    }
    if (ia === ib) agree++;
  }
  input.dispose();
  return { runtime: `tfjs (${backend})`, samples, maxAbs, relErr: r2 ? Math.sqrt(d2 / r2) : Math.sqrt(d2), cosine: r2 && o2 ? dot / Math.sqrt(r2 * o2) : 1, top1Agreement: agree / samples, accuracyBefore: null, accuracyAfter: null };
}
