/**
 * Node pruning of a TF.js Sequential model whose Dense layers are separated by every pass-through
 * layer class and a BatchNormalization: built with tfjs here, pruned, and read back. The units kept
 * are recomputed from the kernel's column norms; every shrunk tensor must hold exactly the source's
 * kept columns, rows or entries, and the written model must load and run in tfjs.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { pruneModel } from '../../src/core/pruning/pruneModel.ts';
import { loadTfjs } from '../../src/core/runtime/loadTfjs.ts';
import { tempDir } from '../helpers.ts';
import { readWeights } from '../writtenWeights.ts';

const tmp = tempDir();
after(tmp.cleanup);
const MODEL = path.join(tmp.dir, 'chain', 'model.json');

before(async () => {
  const { tf } = await loadTfjs();
  const L = tf.layers;
  const model = tf.sequential({
    layers: [
      L.dense({ units: 16, inputShape: [6], name: 'd1' }),
      L.dropout({ rate: 0.1, name: 'drop' }),
      L.batchNormalization({ name: 'bn' }),
      L.activation({ activation: 'relu', name: 'act' }),
      L.reLU({ name: 'relu' }),
      L.gaussianNoise({ stddev: 0.1, name: 'noise' }),
      L.dense({ units: 8, name: 'd2' }),
      L.leakyReLU({ name: 'leaky' }),
      L.elu({ name: 'elu' }),
      L.gaussianDropout({ rate: 0.1, name: 'gdrop' }),
      L.alphaDropout({ rate: 0.1, name: 'adrop' }),
      L.softmax({ name: 'soft' }),
      L.dense({ units: 3, name: 'd3' }),
    ],
  });
  // Deterministic weights; the BN's moving variance stays positive.
  model.setWeights(model.getWeights().map((w, i) => {
    const n = w.size;
    const v = Float32Array.from({ length: n }, (_, j) => Math.sin(1.3 * j + 0.7 * i + 0.1) * (1 + (j % 5)));
    return tf.tensor(model.weights[i]!.name.includes('variance') ? v.map((x) => 1 + Math.abs(x)) : v, w.shape);
  }));
  fs.mkdirSync(path.dirname(MODEL), { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      fs.writeFileSync(path.join(path.dirname(MODEL), 'weights.bin'), new Uint8Array(a.weightData as ArrayBuffer));
      fs.writeFileSync(MODEL, JSON.stringify({ format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] }));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
});

/** The `keep` units with the largest column norms of an in × units kernel, ascending (ties: lower index first pruned). */
function keptUnits(kernel: Float64Array, units: number, keep: number): number[] {
  const norms = new Float64Array(units);
  kernel.forEach((v, i) => (norms[i % units] += v * v));
  const order = Array.from(norms.keys()).sort((a, b) => norms[a]! - norms[b]! || a - b);
  return order.slice(units - keep).sort((a, b) => a - b);
}

/** The rows `kept` of a row-major matrix with c columns. */
function rowsOf(v: Float64Array, c: number, kept: number[]): number[] {
  return kept.map((u) => Array.from(v.subarray(u * c, (u + 1) * c))).flat();
}

test('node pruning at 0.5 passes through every pass-through layer and the BatchNormalization, and writes exactly the kept slices', async () => {
  const r = await pruneModel(MODEL, path.join(tmp.dir, 'half', 'model.json'), { method: 'node', ratio: 0.5, verify: true });
  const src = readWeights(MODEL);
  const out = readWeights(path.join(tmp.dir, 'half', 'model.json'));
  const k1 = keptUnits(src.get('d1/kernel')!.stored, 16, 8);
  // d2 is scored on the input rows d1 left it (layers are pruned in order).
  const d2Left = Float64Array.from(rowsOf(src.get('d2/kernel')!.stored, 8, k1));
  const k2 = keptUnits(d2Left, 8, 4);
  const norms = (k: Float64Array, units: number) => Array.from({ length: units }, (_, u) => k.filter((_, i) => i % units === u).reduce((a, v) => a + v * v, 0));
  const n1 = norms(src.get('d1/kernel')!.stored, 16);
  const n2 = norms(d2Left, 8);
  const err = (n: number[], kept: number[]) => Math.sqrt(n.filter((_, u) => !kept.includes(u)).reduce((a, v) => a + v, 0) / n.reduce((a, v) => a + v, 0));
  assert.deepEqual(r.layers.map((l) => [l.name, l.skipped, l.reason, l.ratio, l.paramsAfter]), [
    ['d1/kernel', false, '8 of 16 units kept; shrinks d1/bias, bn/gamma, bn/beta, bn/moving_mean, bn/moving_variance, d2/kernel', 0.5, 6 * 8],
    ['d2/kernel', false, '4 of 8 units kept; shrinks d2/bias, d3/kernel', 0.5, 8 * 4],
    ['d3/kernel', true, "its output is the model's output", 0, 4 * 3], // refused for its own units, but its input rows follow d2
  ]);
  assert.ok(Math.abs(r.layers[0]!.relErr! - err(n1, k1)) < 1e-12 && Math.abs(r.layers[1]!.relErr! - err(n2, k2)) < 1e-12, `${r.layers[0]!.relErr} vs ${err(n1, k1)}, ${r.layers[1]!.relErr} vs ${err(n2, k2)}`);
  const cols = (v: Float64Array, c: number, kept: number[]) => Array.from({ length: v.length / c }, (_, i) => kept.map((u) => v[i * c + u]!)).flat();
  const rows = rowsOf;
  const entries = (v: Float64Array, kept: number[]) => kept.map((u) => v[u]!);
  assert.deepEqual(Array.from(out.get('d1/kernel')!.stored), cols(src.get('d1/kernel')!.stored, 16, k1));
  for (const v of ['d1/bias', 'bn/gamma', 'bn/beta', 'bn/moving_mean', 'bn/moving_variance']) assert.deepEqual(Array.from(out.get(v)!.stored), entries(src.get(v)!.stored, k1), v);
  // d2's input rows follow d1's kept units, then its columns are cut to d2's own kept units.
  assert.deepEqual(Array.from(out.get('d2/kernel')!.stored), cols(d2Left, 8, k2));
  assert.deepEqual(Array.from(out.get('d2/bias')!.stored), entries(src.get('d2/bias')!.stored, k2));
  assert.deepEqual(Array.from(out.get('d3/kernel')!.stored), rows(src.get('d3/kernel')!.stored, 3, k2));
  assert.deepEqual(Array.from(out.get('d3/bias')!.stored), Array.from(src.get('d3/bias')!.stored));
  // d1: 8 units × (6 kernel + bias + 4 BN + 8 d2 rows); d2: 4 units × (8 rows left + bias + 3 d3 rows).
  const removed = 8 * (6 + 1 + 4 + 8) + 4 * (8 + 1 + 3);
  assert.equal(r.paramsAfter, r.paramsBefore - removed);
  const topology = JSON.parse(fs.readFileSync(path.join(tmp.dir, 'half', 'model.json'), 'utf8')).modelTopology;
  assert.deepEqual(topology.config.layers.filter((l: { class_name: string }) => l.class_name === 'Dense').map((l: { config: { units: number } }) => l.config.units), [8, 4, 3]);
  assert.equal(r.verify!.samples, 32);
  assert.ok(r.verify!.cosine < 1 && r.verify!.cosine > -1, `the pruned model ran: cosine ${r.verify!.cosine}`);
});

test('a Dense layer whose output feeds a layer node pruning does not understand is refused by name', async () => {
  const json = JSON.parse(fs.readFileSync(MODEL, 'utf8'));
  const dir = path.join(tmp.dir, 'reshaped');
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(path.dirname(MODEL), 'weights.bin'), path.join(dir, 'weights.bin'));
  // Replace the GaussianNoise between bn and d2 with a Reshape to the same shape.
  const layers = json.modelTopology.config.layers;
  layers[layers.findIndex((l: { config: { name: string } }) => l.config.name === 'noise')] = { class_name: 'Reshape', config: { name: 'shape', targetShape: [16], trainable: true, dtype: 'float32' } };
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
  const r = await pruneModel(path.join(dir, 'model.json'), path.join(tmp.dir, 'reshaped-out', 'model.json'), { method: 'node', ratio: 0.5 });
  assert.equal(r.layers[0]!.reason, 'its output feeds Reshape layer shape, which node pruning does not understand');
  assert.equal(r.layers[0]!.skipped, true);
  assert.equal(r.layers[1]!.skipped, false);
});
