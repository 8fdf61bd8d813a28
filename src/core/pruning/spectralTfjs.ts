/**
 * Spectral pruning of TF.js Sequential models (Dense layers): the activations each next Dense reads
 * are captured as intermediate outputs of the tfjs model, folded into Σ̂, and the units and
 * compensation maps chosen back to front as for ONNX (spectralPrune.ts). planTfjsPruning applies them.
 */
import type { Checkpoint, WeightTensor } from '../checkpoint.ts';
import { Mulberry32 } from '../analysis/prng.ts';
import { loadTfjs } from '../runtime/loadTfjs.ts';
import { normals } from '../runtime/verifyOnnx.ts';
import { loadLayersModelFile } from '../runtime/loadTfjs.ts';
import { axisToColumns, gatherAxes } from '../tensor/axes.ts';
import { sequentialLayers } from '../formats/tfjs/kerasTopology.ts';
import { checkSampleShape, firstNonFinite } from '../formats/samples.ts';
import { quote, UserInputError } from '../errors.ts';
import { denseChain } from './pruneTfjs.ts';
import { SecondMoment } from '../linalg/secondMoment.ts';
import { chooseUnits, type SpectralSettings, type SpectralTarget, type UnitChoice } from './spectralPrune.ts';

export async function chooseTfjsSpectral(ck: Checkpoint, topology: Record<string, unknown>, eligible: readonly WeightTensor[], target: SpectralTarget, s: SpectralSettings): Promise<Map<string, UnitChoice>> {
  const choices = new Map<string, UnitChoice>();
  const seq = sequentialLayers(topology);
  if (!seq) return choices;
  const byName = new Map(ck.weights.map((w) => [w.name, w]));
  const layers: Array<{ w: WeightTensor; units: number; next: string; nextLayer: string }> = [];
  for (const w of eligible) {
    const at = seq.findIndex((l) => l.config.name === w.layer.op);
    if (at < 0 || seq[at]!.class_name !== 'Dense' || !w.name.endsWith('/kernel')) continue;
    const chain = denseChain(seq, at, (n) => byName.has(n));
    if ('reason' in chain) continue;
    layers.push({ w, units: w.shape[1]!, next: chain.next, nextLayer: chain.nextLayer });
  }
  if (layers.length === 0) return choices;

  // Capture: one model whose outputs are what each next Dense reads.
  const { tf } = await loadTfjs();
  const model = await loadLayersModelFile(tf, ck.file);
  const capture = tf.model({ inputs: model.inputs, outputs: layers.map((l) => model.getLayer(l.nextLayer).input as import('@tensorflow/tfjs').SymbolicTensor) });
  const moments = layers.map((l) => new SecondMoment(l.units));
  const inShape = (model.inputs[0]!.shape as Array<number | null>).slice(1).map((d) => d ?? 1);
  const per = inShape.reduce((a, b) => a * b, 1);
  const c = s.calibration;
  if (c.kind === 'data') checkSampleShape(c.x, model.inputs[0]!.shape, model.inputs[0]!.name);
  const total = c.kind === 'data' ? c.x.shape[0]! : c.samples;
  const rng = new Mulberry32(c.kind === 'random' ? c.seed : 0);
  for (let first = 0; first < total; first += 64) {
    const rows = Math.min(64, total - first);
    const values = c.kind === 'data' ? Float32Array.from(c.x.values.subarray(first * per, (first + rows) * per)) : normals(rows * per, rng);
    const input = tf.tensor(values, [rows, ...inShape]);
    const out = capture.predict(input) as import('@tensorflow/tfjs').Tensor | import('@tensorflow/tfjs').Tensor[];
    const outs = Array.isArray(out) ? out : [out];
    outs.forEach((t, i) => {
      const y = t.dataSync() as Float32Array;
      const bad = firstNonFinite(y);
      if (bad) throw new UserInputError(`the calibration inputs drive the activations read by '${quote(layers[i]!.nextLayer)}' to ${bad.value}: the model overflows on them (check the data's scale)`);
      moments[i]!.add(y, rows);
    });
    input.dispose();
    for (const t of outs) t.dispose();
  }
  model.dispose(); // also the capture model's layers, which it shares

  // Back to front, on working copies: a layer's Z is the next kernel with its own units already chosen.
  const work = new Map<string, { values: Float64Array; shape: number[] }>();
  const current = (name: string) => work.get(name) ?? { values: Float64Array.from(byName.get(name)!.read()), shape: [...byName.get(name)!.shape] };
  for (let i = layers.length - 1; i >= 0; i--) {
    const l = layers[i]!;
    const next = current(l.next);
    const c = chooseUnits(moments[i]!, axisToColumns(next.values, next.shape, 0), l.w.name, target, s);
    const own = current(l.w.name);
    work.set(l.w.name, gatherAxes(own.values, own.shape, new Map([[1, c.kept]])));
    choices.set(l.w.name, c);
  }
  return choices;
}
