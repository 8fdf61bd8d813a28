/** Runs the original and the pruned TF.js layers-model with the tfjs backend in use and compares outputs. */
import { Mulberry32 } from '../analysis/prng.ts';
import { loadLayersModelFile, loadTfjs } from './loadTfjs.ts';
import { OutputComparison, type Verification } from './outputComparison.ts';
import { normals, VERIFY_SAMPLES, type VerifyOptions } from './verifyOnnx.ts';
import { checkLabelRange, checkSampleShape } from '../formats/samples.ts';
import { CheckpointError, UserInputError } from '../errors.ts';

export async function verifyTfjs(original: string, pruned: string, opts: VerifyOptions = {}): Promise<Verification> {
  const { tf, backend } = await loadTfjs();
  let a: Awaited<ReturnType<typeof loadLayersModelFile>>;
  try {
    a = await loadLayersModelFile(tf, original);
  } catch (e) {
    if (e instanceof UserInputError) throw e;
    throw new CheckpointError(original, `tfjs cannot load the original model: ${(e as Error).message}`);
  }
  const b = await loadLayersModelFile(tf, pruned);
  const cmp = new OutputComparison();
  let input: import('@tensorflow/tfjs').Tensor;
  let samples: number;
  if (opts.data) {
    checkSampleShape(opts.data, a.inputs[0]!.shape, a.inputs[0]!.name);
    samples = opts.data.shape[0]!;
    input = tf.tensor(opts.data.values instanceof Float32Array ? opts.data.values : Float32Array.from(opts.data.values), opts.data.shape);
  } else {
    const shape = (a.inputs[0]!.shape as Array<number | null>).map((d) => d ?? 1);
    samples = opts.samples ?? VERIFY_SAMPLES;
    input = tf.tensor(normals(shape.slice(1).reduce((x, y) => x * y, 1) * samples, new Mulberry32(opts.seed ?? 1)), [samples, ...shape.slice(1)]);
  }
  const yaTensor = a.predict(input) as import('@tensorflow/tfjs').Tensor;
  const classes = yaTensor.shape.length === 2; // [N, C]: top-1 means something
  const ya = yaTensor.dataSync() as Float32Array;
  const yb = (b.predict(input) as import('@tensorflow/tfjs').Tensor).dataSync() as Float32Array;
  input.dispose();
  if (opts.labels) checkLabelRange(opts.labels, ya.length / samples);
  cmp.add(ya, yb, ya.length / samples, opts.labels?.values, classes);
  const perSample = [1, ...(a.inputs[0]!.shape as Array<number | null>).slice(1).map((d) => d ?? 1)];
  return cmp.result(`tfjs (${backend})`, samples, opts.data ? opts.data.file : 'random', { outputs: 1, ...(opts.data ? {} : { inputs: `${a.inputs[0]!.name} [${perSample.join(', ')}]` }) });
}
