import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { loadTfjs } from '../../src/core/runtime/loadTfjs.ts';
import { readTfjs } from '../../src/core/formats/tfjs/readTfjs.ts';
import { toCanonical } from '../../src/core/tensor/layout.ts';
import { fixture } from '../helpers.ts';

function hasTfjsNode(): boolean {
  try {
    require.resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

test('loadTfjs picks tfjs-node when present, else the wasm backend, and runs the graph-model fixture', async () => {
  const { tf, backend } = await loadTfjs();
  assert.equal(backend, hasTfjsNode() && process.env['PRUNESCOPE_TFJS_BACKEND'] !== 'wasm' ? 'tensorflow' : 'wasm');
  // Run the graph model's last layer by hand from PruneScope's canonical weights, and compare to tfjs.
  const dir = fixture('tfjs', 'graph');
  const json = JSON.parse(fs.readFileSync(`${dir}/model.json`, 'utf8'));
  // A small Buffer can be a slice of Node's shared pool: copy exactly its bytes, never `.buffer` whole.
  const bin = fs.readFileSync(`${dir}/group1-shard1of1.bin`);
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  const model = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData }));
  const input = tf.randomNormal([1, 6, 6, 2], 0, 1, 'float32', 11);
  const flat = (model.execute(input, 'flat/Reshape') as import('@tensorflow/tfjs').Tensor).dataSync();
  const y = (model.predict(input) as import('@tensorflow/tfjs').Tensor).dataSync();
  const ck = readTfjs(`${dir}/model.json`);
  const w = ck.weights.find((t) => t.name === 'fc/weights')!;
  const b = ck.weights.find((t) => t.name === 'fc/bias')!.read();
  const W = toCanonical(w.layer.layout, w.shape, w.read()); // (5, 144)
  for (let o = 0; o < 5; o++) {
    let s = b[o]!;
    for (let i = 0; i < 144; i++) s += W[o * 144 + i]! * flat[i]!;
    assert.ok(Math.abs(s - y[o]!) < 1e-4, `output ${o}: ${s} vs ${y[o]}`);
  }
  ck.close();
});
