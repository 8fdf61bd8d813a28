import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { readTfjs } from '../../src/core/formats/tfjs/readTfjs.ts';
import { writeTfjsLayersModel } from '../../src/core/formats/tfjs/writeTfjs.ts';
import { pruneModel } from '../../src/core/pruning/pruneModel.ts';
import { verifyTfjs } from '../../src/core/runtime/verifyTfjs.ts';
import { fixture, tempDir } from '../helpers.ts';
import { magnitudeCut, readWeights } from '../writtenWeights.ts';
import * as fs from 'node:fs';

const tmp = tempDir();
after(tmp.cleanup);
const out = (name: string) => path.join(tmp.dir, name, 'model.json');

test('TF.js cnn: the writer re-writing every weight (float32) reloads in tfjs with identical predictions', async () => {
  const src = readTfjs(fixture('tfjs', 'cnn', 'model.json'));
  const weights = src.weights.map((w) => ({ name: w.name, shape: w.shape, values: w.read() }));
  src.close();
  const json = JSON.parse(fs.readFileSync(fixture('tfjs', 'cnn', 'model.json'), 'utf8'));
  writeTfjsLayersModel({ file: fixture('tfjs', 'cnn', 'model.json'), json }, out('cnn-r0'), json.modelTopology, weights);
  const v = await verifyTfjs(fixture('tfjs', 'cnn', 'model.json'), out('cnn-r0'));
  assert.equal(v.maxAbs, 0);
  await assert.rejects(pruneModel(fixture('tfjs', 'cnn', 'model.json'), out('cnn-none'), { method: 'magnitude', ratio: 0 }), /magnitude pruning would remove nothing/);
});

test('TF.js cnn: magnitude pruning at 50% keeps shapes, zeroes half of each kernel, and runs', async () => {
  const r = await pruneModel(fixture('tfjs', 'cnn', 'model.json'), out('cnn-half'), { method: 'magnitude', ratio: 0.5, verify: true });
  const before = readWeights(fixture('tfjs', 'cnn', 'model.json'));
  const written = readWeights(out('cnn-half'));
  assert.equal(r.layers.filter((l) => !l.skipped).length, 6);
  for (const l of r.layers.filter((x) => !x.skipped)) {
    const w = written.get(l.name)!.stored;
    assert.equal(w.filter((x) => x === 0).length, Math.floor(0.5 * w.length), l.name);
    const cut = magnitudeCut(before.get(l.name)!.stored, w);
    assert.ok(cut.maxPruned <= cut.minKept, `${l.name}: pruned |w| up to ${cut.maxPruned}, kept from ${cut.minKept}`);
    assert.ok(Math.abs(cut.relErr - l.relErr!) < 1e-6, `${l.name}: reported ${l.relErr}, written ${cut.relErr}`);
  }
  const v = r.verify!;
  assert.ok(v.runtime.startsWith('tfjs') && v.samples === 32 && v.cosine > 0.7 && v.relErr < 0.7 && v.maxAbs > 0.05, JSON.stringify(v)); // measured: cosine 0.784, rel. error 0.627
});

test('TF.js quantized MLP: at rank 50% Dense layers split in two, and compute exactly the dense rank-r kernels', async () => {
  const r = await pruneModel(fixture('tfjs', 'quantized', 'model.json'), out('mlp-sv'), { method: 'singular', ratio: 0.5 });
  const layers = JSON.parse(fs.readFileSync(out('mlp-sv'), 'utf8')).modelTopology.config.layers.map((l: { config: { name: string; units: number } }) => `${l.config.name}:${l.config.units}`);
  assert.deepEqual(layers, ['q1_svd_in:5', 'q1:16', 'q2_svd_in:4', 'q2:8', 'q3_svd_in:2', 'q3:4']);
  assert.equal(r.paramsBefore - r.paramsAfter, 160 - 5 * 26 + (128 - 4 * 24) + (32 - 2 * 12));
  // The split Dense pairs compute exactly the rank-r approximation written as dense kernels.
  const { pruneSingular, reconstruct } = await import('../../src/core/pruning/singular.ts');
  const { transpose2d } = await import('../../src/core/tensor/layout.ts');
  const src = readTfjs(fixture('tfjs', 'quantized', 'model.json'));
  const weights = src.weights.map((w) => {
    const v = Float64Array.from(w.read());
    if (!w.name.endsWith('/kernel')) return { name: w.name, shape: w.shape, values: v };
    const [inDim, units] = w.shape as [number, number];
    const f = pruneSingular(transpose2d(v, inDim, units), units, inDim, 0.5);
    return { name: w.name, shape: w.shape, values: transpose2d(reconstruct(f, units, inDim), units, inDim) };
  });
  src.close();
  const json = JSON.parse(fs.readFileSync(fixture('tfjs', 'quantized', 'model.json'), 'utf8'));
  writeTfjsLayersModel({ file: fixture('tfjs', 'quantized', 'model.json'), json }, out('mlp-sv-dense'), json.modelTopology, weights);
  // Compared in float32: re-quantizing to the source's uint8/uint16 schemes would add rounding.
  const f32 = await pruneModel(fixture('tfjs', 'quantized', 'model.json'), out('mlp-sv-f32'), { method: 'singular', ratio: 0.5, float32: true });
  assert.equal(f32.paramsAfter, r.paramsAfter);
  const v2 = await verifyTfjs(out('mlp-sv-dense'), out('mlp-sv-f32'));
  assert.ok(v2.maxAbs < 1e-5, `max |Δ| ${v2.maxAbs}`);
});

test('TF.js MLP: removing units whose incoming and outgoing weights were zeroed reproduces predictions to 1e-5', async () => {
  // A float32 copy of the quantized MLP with units 2, 5, 9 of q1 dead (kernel columns and q2 rows zeroed).
  const src = readTfjs(fixture('tfjs', 'quantized', 'model.json'));
  const dead = [2, 5, 9];
  const weights = src.weights.map((w) => {
    const v = Float64Array.from(w.read());
    if (w.name === 'q1/kernel') for (let i = 0; i < 10; i++) for (const u of dead) v[i * 16 + u] = 0;
    if (w.name === 'q2/kernel') for (const u of dead) v.fill(0, u * 8, (u + 1) * 8);
    return { name: w.name, shape: w.shape, values: v };
  });
  src.close();
  const json = JSON.parse(fs.readFileSync(fixture('tfjs', 'quantized', 'model.json'), 'utf8'));
  writeTfjsLayersModel({ file: fixture('tfjs', 'quantized', 'model.json'), json }, out('zeroed'), json.modelTopology, weights);
  const r = await pruneModel(out('zeroed'), out('zeroed-pruned'), { method: 'node', ratio: 3 / 16, layers: /^q1\//, float32: true });
  assert.match(r.layers[0]!.reason!, /^13 of 16 units kept; shrinks q1\/bias, q2\/kernel$/);
  const v = await verifyTfjs(out('zeroed'), out('zeroed-pruned'));
  assert.ok(v.maxAbs < 1e-5, `max |Δ| ${v.maxAbs}`);
});

test('TF.js quantized MLP, node pruning: each written tensor keeps its source\'s quantization (uint8, uint16, float16), and --float32 drops it', async () => {
  const dtypes = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')).weightsManifest.flatMap((g: { weights: Array<{ name: string; quantization?: { dtype: string } }> }) => g.weights.map((w) => [w.name, w.quantization?.dtype ?? null]));
  const source = dtypes(fixture('tfjs', 'quantized', 'model.json'));
  assert.deepEqual(source.map((d: [string, string]) => d[1]), ['uint8', 'uint8', 'uint16', 'uint16', 'float16', 'float16']);
  const r = await pruneModel(fixture('tfjs', 'quantized', 'model.json'), out('q-node/model.json'), { method: 'node', ratio: 0.25 });
  assert.ok(r.paramsAfter < r.paramsBefore);
  assert.deepEqual(dtypes(out('q-node/model.json')), source);
  await pruneModel(fixture('tfjs', 'quantized', 'model.json'), out('q-node32/model.json'), { method: 'node', ratio: 0.25, float32: true });
  assert.deepEqual(dtypes(out('q-node32/model.json')), source.map(([n]: [string]) => [n, null]));
});
