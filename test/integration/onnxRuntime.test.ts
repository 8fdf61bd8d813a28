import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { readOnnx } from '../../src/core/formats/onnx/readOnnx.ts';
import { toCanonical } from '../../src/core/tensor/layout.ts';
import { fixture } from '../helpers.ts';

/**
 * End-to-end check of decoding and canonical layouts: onnxruntime-node runs the torch-exported MLP,
 * and a forward pass computed from PruneScope's canonical (out × in) weights must give the same output.
 */
for (const name of ['mlp.onnx', 'mlp_external.onnx']) {
  test(`${name}: onnxruntime output equals relu(W·x + b) from the decoded canonical weights`, async () => {
    const file = fixture('onnx', name);
    const ck = readOnnx(file);
    const gemms = ck.ops.filter((o) => o.opType === 'Gemm');
    const x = Float32Array.from({ length: 20 }, (_, i) => Math.sin(i + 1));
    let h: Float64Array = Float64Array.from(x);
    gemms.forEach((op, layer) => {
      const w = ck.weights.find((t) => t.layer.op === op.name && t.layer.kind === 'dense')!;
      const b = ck.weights.find((t) => t.layer.op === op.name && t.layer.kind === 'bias')!.read();
      const W = toCanonical(w.layer.layout, w.shape, w.read());
      const [out, inp] = [b.length, h.length];
      const next = new Float64Array(out);
      for (let o = 0; o < out; o++) {
        let s = b[o]!;
        for (let i = 0; i < inp; i++) s += W[o * inp + i]! * h[i]!;
        next[o] = layer < gemms.length - 1 ? Math.max(0, s) : s;
      }
      h = next;
    });
    ck.close();
    const session = await ort.InferenceSession.create(file);
    const result = await session.run({ input: new ort.Tensor('float32', x, [1, 20]) });
    const y = result['output']!.data as Float32Array;
    assert.equal(y.length, 10);
    for (let i = 0; i < 10; i++) assert.ok(Math.abs(y[i]! - h[i]!) < 1e-5, `output ${i}: ort ${y[i]} vs ${h[i]}`);
    await session.release();
  });
}
