/**
 * Magnitude and singular-value pruning reach weights stored in Constant nodes: the zoo's ResNet
 * exported twice, once with initializers and once with every initializer turned into a Constant
 * (the same values), pruned alike, gives the same weights and the same outputs in onnxruntime.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { openCheckpoint } from '../../src/core/formats/openCheckpoint.ts';
import { pruneModel, type PruneOptions } from '../../src/core/pruning/pruneModel.ts';
import { fixture, tempDir } from '../helpers.ts';

const tmp = tempDir();
after(tmp.cleanup);
const INITIALIZERS = fixture('onnx', 'zoo', 'resnet_op13.onnx');
const CONSTANTS = fixture('onnx', 'zoo', 'resnet_constants_op13.onnx');

async function outputs(file: string, x: Float32Array): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(file);
  const y = (await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', x, [1, 3, 16, 16]) }))[s.outputNames[0]!]!.data as Float32Array;
  await s.release();
  return y;
}

for (const options of [
  { method: 'magnitude', ratio: 0.5 },
  { method: 'magnitude', ratio: 0.7, global: true },
  { method: 'singular', ratio: 0.5 },
] as PruneOptions[]) {
  test(`${options.method}${options.global ? ' (global)' : ''}: weights in Constant nodes are pruned exactly as the same weights in initializers`, async () => {
    const tag = `${options.method}-${options.global ? 'g' : 'l'}`;
    const a = await pruneModel(INITIALIZERS, path.join(tmp.dir, `${tag}-init.onnx`), options);
    const b = await pruneModel(CONSTANTS, path.join(tmp.dir, `${tag}-const.onnx`), options);
    assert.equal(b.layers.filter((l) => l.skipped).length, 0, b.layers.filter((l) => l.skipped).map((l) => `${l.name}: ${l.reason}`).join('; '));
    assert.equal(b.paramsAfter, a.paramsAfter);
    assert.ok(b.paramsAfter < b.paramsBefore);
    assert.deepEqual(
      b.layers.map((l) => [l.name, l.paramsAfter, l.relErr]),
      a.layers.map((l) => [l.name, l.paramsAfter, l.relErr]),
    );
    // The written weights are the same values, now stored as initializers.
    const ra = openCheckpoint(a.output);
    const rb = openCheckpoint(b.output);
    for (const w of ra.weights) {
      const v = rb.weights.find((x) => x.name === w.name);
      assert.ok(v, `${w.name} is in the pruned Constant model`);
      assert.deepEqual(Array.from(v.read()), Array.from(w.read()), w.name);
    }
    ra.close();
    rb.close();
    const x = Float32Array.from({ length: 3 * 16 * 16 }, (_, i) => Math.sin(0.37 * i));
    assert.deepEqual(Array.from(await outputs(b.output, x)), Array.from(await outputs(a.output, x)));
  });
}
