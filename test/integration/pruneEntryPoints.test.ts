// The entry points of `prune` for each format: every refusal with its exact message and nothing
// written, and the report's totals recomputed from the files it wrote (not from the pruning code).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { openCheckpoint } from '../../src/core/formats/openCheckpoint.ts';
import { pruneModel } from '../../src/core/pruning/pruneModel.ts';
import type { PruneOptions } from '../../src/core/pruning/types.ts';
import { fixture, tempDir } from '../helpers.ts';

const tmp = tempDir();
after(tmp.cleanup);
const out = (name: string) => path.join(tmp.dir, name);

/** Parameters and exact zeros of every weight of a written model, read back with the format's reader. */
function countWeights(file: string): { params: number; zeros: Map<string, number>; sizes: Map<string, number> } {
  const ck = openCheckpoint(file);
  try {
    const zeros = new Map<string, number>();
    const sizes = new Map<string, number>();
    for (const w of ck.weights) {
      zeros.set(w.name, w.read().filter((v) => v === 0).length);
      sizes.set(w.name, w.size);
    }
    return { params: ck.weights.reduce((a, w) => a + w.size, 0), zeros, sizes };
  } finally {
    ck.close();
  }
}

const refusals: Array<[string, string[], string, PruneOptions, RegExp]> = [
  ['a TF.js graph-model', ['tfjs', 'graph', 'model.json'], 'g.json', { method: 'magnitude', ratio: 0.5 }, /^pruning TF\.js graph-models is not implemented yet \(ONNX, TF\.js layers-models and safetensors are\)$/],
  ['spectral pruning of safetensors', ['safetensors', 'model.safetensors'], 's.safetensors', { method: 'spectral', ratio: 0.5, randomCalibration: true }, /^spectral pruning is implemented for ONNX models and TF\.js layers-models, not safetensors$/],
  ['--verify on safetensors', ['safetensors', 'model.safetensors'], 'v.safetensors', { method: 'magnitude', ratio: 0.5, verify: true }, /^--verify needs a runnable model; safetensors holds weights only$/],
  ['sharded safetensors', ['safetensors', 'sharded', 'model.safetensors.index.json'], 'sh.safetensors', { method: 'magnitude', ratio: 0.5 }, /^pruning sharded safetensors is not implemented yet \(single \.safetensors files are\)$/],
  ['--global node pruning of a TF.js model', ['tfjs', 'cnn', 'model.json'], 'gl.json', { method: 'node', ratio: 0.3, global: true }, /^--global node pruning \(one threshold over the dependency groups\) is implemented for ONNX models, not tfjs-layers$/],
];
for (const [what, model, output, o, message] of refusals) {
  test(`prune refuses ${what}, with the reason, and writes nothing`, async () => {
    const before = fs.readdirSync(tmp.dir);
    await assert.rejects(pruneModel(fixture(...model), out(output), o), (e: Error) => message.test(e.message) || assert.fail(e.message));
    assert.deepEqual(fs.readdirSync(tmp.dir), before);
  });
}

test("prune refuses to write a TF.js model into the original's folder (the shards would mix), and writes nothing", async () => {
  const dir = out('own');
  fs.cpSync(fixture('tfjs', 'cnn'), dir, { recursive: true });
  const before = fs.readdirSync(dir).sort();
  await assert.rejects(pruneModel(path.join(dir, 'model.json'), path.join(dir, 'pruned.json'), { method: 'node', ratio: 0.3 }), /refusing to write the pruned model into the original model's folder \(its weight shards would mix\)/);
  assert.deepEqual(fs.readdirSync(dir).sort(), before);
  // A safetensors output may sit beside its source (one file, no shards).
  fs.copyFileSync(fixture('safetensors', 'model.safetensors'), path.join(dir, 'model.safetensors'));
  const r = await pruneModel(path.join(dir, 'model.safetensors'), path.join(dir, 'half.safetensors'), { method: 'magnitude', ratio: 0.5 });
  const written = countWeights(path.join(dir, 'half.safetensors'));
  for (const l of r.layers) assert.equal(written.zeros.get(l.name), l.paramsBefore - l.paramsAfter, l.name);
  assert.deepEqual(fs.readFileSync(path.join(dir, 'model.safetensors')), fs.readFileSync(fixture('safetensors', 'model.safetensors')));
});

test('safetensors, magnitude: each row and the totals equal the zeros counted in the written file', async () => {
  const src = countWeights(fixture('safetensors', 'model.safetensors'));
  const r = await pruneModel(fixture('safetensors', 'model.safetensors'), out('m.safetensors'), { method: 'magnitude', ratio: 0.5 });
  const written = countWeights(out('m.safetensors'));
  let removed = 0;
  assert.ok(r.layers.length >= 2);
  for (const l of r.layers) {
    const made = written.zeros.get(l.name)! - src.zeros.get(l.name)!;
    assert.equal(l.paramsBefore, src.sizes.get(l.name));
    assert.equal(l.paramsAfter, l.paramsBefore - written.zeros.get(l.name)!);
    assert.equal(l.ratio, written.zeros.get(l.name)! / l.paramsBefore);
    removed += made;
  }
  assert.equal(r.paramsBefore, src.params);
  assert.equal(r.paramsAfter, src.params - removed);
  assert.ok(removed > 0);
  assert.deepEqual(r.notes, []);
});

test('safetensors, global magnitude: one threshold over every layer, read from the written file', async () => {
  const r = await pruneModel(fixture('safetensors', 'model.safetensors'), out('g.safetensors'), { method: 'magnitude', ratio: 0.5, global: true });
  const a = openCheckpoint(fixture('safetensors', 'model.safetensors'));
  const b = openCheckpoint(out('g.safetensors'));
  let maxPruned = 0;
  let minKept = Infinity;
  let zeroed = 0;
  let total = 0;
  for (const l of r.layers) {
    const w = a.weights.find((x) => x.name === l.name)!.read();
    const p = b.weights.find((x) => x.name === l.name)!.read();
    total += w.length;
    for (let i = 0; i < w.length; i++) {
      if (p[i] === 0 && w[i] !== 0) {
        maxPruned = Math.max(maxPruned, Math.abs(w[i]!));
        zeroed++;
      } else if (w[i] !== 0) minKept = Math.min(minKept, Math.abs(w[i]!));
    }
  }
  a.close();
  b.close();
  assert.equal(zeroed, Math.floor(0.5 * total));
  assert.ok(maxPruned <= minKept, `a weight of magnitude ${maxPruned} was pruned while ${minKept} was kept`);
  assert.equal(new Set(r.layers.map((l) => l.ratio)).size > 1, true); // the layers' shares differ under one threshold
});

test('safetensors, singular: the ratio is the share of singular values dropped, and the parameter count does not change', async () => {
  const src = countWeights(fixture('safetensors', 'model.safetensors'));
  const r = await pruneModel(fixture('safetensors', 'model.safetensors'), out('sv2.safetensors'), { method: 'singular', ratio: 0.5 });
  const ck = openCheckpoint(fixture('safetensors', 'model.safetensors'));
  for (const l of r.layers) {
    const w = ck.weights.find((x) => x.name === l.name)!;
    const m = w.shape[0]!;
    const side = Math.min(m, w.size / m);
    const keep = side - Math.floor(0.5 * side);
    assert.equal(l.reason, `dense rank-${keep} reconstruction (safetensors has no graph to factorise into)`);
    assert.equal(l.ratio, 1 - keep / side);
    assert.equal(l.paramsAfter, l.paramsBefore);
  }
  ck.close();
  assert.equal(r.paramsBefore, src.params);
  assert.equal(r.paramsAfter, src.params);
});

test('TF.js layers-model, node pruning: the totals equal the parameters read back from the written shards', async () => {
  const src = countWeights(fixture('tfjs', 'cnn', 'model.json'));
  const r = await pruneModel(fixture('tfjs', 'cnn', 'model.json'), out('cnn-node/model.json'), { method: 'node', ratio: 0.3 });
  const written = countWeights(out('cnn-node/model.json'));
  assert.equal(r.paramsBefore, src.params);
  assert.equal(r.paramsAfter, written.params);
  assert.ok(written.params < src.params);
  assert.deepEqual(r.notes, []);
});

test('a TF.js model with a non-float weight is refused (the writer would drop it), and nothing is written', async () => {
  const dir = out('int-bias');
  fs.cpSync(fixture('tfjs', 'cnn'), dir, { recursive: true });
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  json.weightsManifest[0].weights.find((w: { name: string }) => w.name === 'conv/bias').dtype = 'int32';
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
  await assert.rejects(pruneModel(path.join(dir, 'model.json'), out('int-bias-out/model.json'), { method: 'magnitude', ratio: 0.5 }), {
    message: 'the model has non-float weights, which the TF.js writer does not carry over yet',
  });
  assert.equal(fs.existsSync(out('int-bias-out')), false);
});
