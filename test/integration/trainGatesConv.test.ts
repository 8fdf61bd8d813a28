/**
 * Gate training on convolutional chains:
 * - a torch-exported CNN (Conv, MaxPool, zero Pad + AveragePool, Flatten, Gemm) read into the
 *   channels-last chain computes torch's logits;
 * - the im2col convolution used where tfjs has no filter gradient equals tf.conv2d and its
 *   gradients (tfjs' CPU backend as the reference);
 * - a teacher CNN whose odd filters feed nothing: the gates switch exactly those filters off, and
 *   the exported ONNX (onnxruntime, channels first) and TF.js models reproduce the gated network.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import type * as TF from '@tensorflow/tfjs';
import { Mulberry32 } from '../../src/core/analysis/prng.ts';
import { readNpy } from '../../src/core/formats/npy.ts';
import { loadLayersModelFile, loadTfjs } from '../../src/core/runtime/loadTfjs.ts';
import { permuteAxes } from '../../src/core/tensor/layout.ts';
import type { Chain, LayerSpec } from '../../src/core/training/chain.ts';
import { GATE_DEFAULTS, GatedNetwork } from '../../src/core/training/gatedNetwork.ts';
import { readChain, trainGates } from '../../src/core/training/trainGates.ts';
import { trainableConv2d } from '../../src/core/training/trainableConv2d.ts';
import { writeOnnxChain, writeTfjsChain } from '../../src/core/training/writeChain.ts';
import { fixture, runCliAsync, tempDir, writeNpy } from '../helpers.ts';

const tmp = tempDir();
after(tmp.cleanup);

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(b[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

test('a torch-exported CNN read as a channels-last chain computes torch’s logits', async () => {
  const chain = readChain(fixture('onnx', 'digits_cnn.onnx'));
  assert.equal(chain.channelsFirst, true);
  assert.deepEqual(chain.inputShape, [8, 8, 1]);
  assert.deepEqual(
    chain.layers.map((l) => `${l.kind}${'units' in l ? `:${l.units}` : ''}${'activation' in l && l.activation !== 'linear' ? `+${l.activation}` : ''}`),
    ['conv2d:8+relu', 'maxPool', 'conv2d:16+relu', 'avgPool', 'flatten', 'dense:32+relu', 'dense:10'],
  );
  const { tf } = await loadTfjs();
  const net = new GatedNetwork(tf, chain, GATE_DEFAULTS);
  const x = readNpy(fixture('npy', 'digits_test_x.npy')).values.slice(0, 64 * 64) as Float32Array; // one channel: NCHW = NHWC
  const logits = net.forward(tf.tensor2d(x, [64, 64])).dataSync();
  close(logits, readNpy(fixture('expected', 'digits_cnn_logits.npy')).values, 1e-4, 'logits');
  assert.deepEqual(net.widths(), [8, 16, 32]);
  net.dispose();
});

test('the im2col convolution equals tf.conv2d, values and gradients, on the CPU backend', async () => {
  const { tf } = await loadTfjs();
  const backend = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    const rng = new Mulberry32(5);
    const rand = (n: number) => Float32Array.from({ length: n }, () => rng.uniformOpen() * 2 - 1);
    for (const g of [
      { kernelSize: [3, 3], strides: [1, 1], pads: [0, 0, 0, 0] },
      { kernelSize: [3, 2], strides: [2, 1], pads: [1, 0, 1, 1] },
      { kernelSize: [2, 3], strides: [2, 3], pads: [0, 1, 1, 0] },
    ] as const) {
      const x = tf.tensor4d(rand(2 * 7 * 6 * 3), [2, 7, 6, 3]);
      const k = tf.tensor4d(rand(g.kernelSize[0] * g.kernelSize[1] * 3 * 4), [...g.kernelSize, 3, 4]);
      const geometry = { kernelSize: [...g.kernelSize] as [number, number], strides: [...g.strides] as [number, number], pads: [...g.pads] as [number, number, number, number] };
      const run = (im2col: boolean) => {
        const y = trainableConv2d(tf, x, k, geometry, im2col);
        const [dx, dk] = tf.grads((a: TF.Tensor, b: TF.Tensor) => tf.sum(tf.square(trainableConv2d(tf, a as TF.Tensor4D, b as TF.Tensor4D, geometry, im2col))))([x, k]);
        return { y: y.dataSync(), shape: y.shape, dx: dx!.dataSync(), dk: dk!.dataSync() };
      };
      const ref = run(false);
      const got = run(true);
      assert.deepEqual(got.shape, ref.shape);
      close(got.y, ref.y, 1e-5, `y ${JSON.stringify(g)}`);
      close(got.dx, ref.dx, 1e-4, `∂/∂x ${JSON.stringify(g)}`);
      close(got.dk, ref.dk, 1e-4, `∂/∂kernel ${JSON.stringify(g)}`);
    }
  } finally {
    await tf.setBackend(backend);
  }
});

// A teacher CNN on 6×6×2 images: Conv 3×3 'same' with 8 filters → ReLU → MaxPool 2 → Flatten → Dense 4.
// The Dense rows of the odd filters are 0, so those filters provably do nothing.
const [S, C, F, K, N] = [6, 2, 8, 4, 3000];
function teacherCnn(): { chain: Chain; x: Float32Array; y: Int32Array } {
  const rng = new Mulberry32(2);
  const nrm = () => Math.sqrt(-2 * Math.log(rng.uniformOpen())) * Math.cos(2 * Math.PI * rng.uniformOpen());
  const conv = Float32Array.from({ length: 9 * C * F }, () => nrm() / 3);
  const positions = (S / 2) * (S / 2);
  const dense = Float32Array.from({ length: positions * F * K }, (_, i) => (Math.floor(i / K) % F) % 2 === 1 ? 0 : nrm() / 3);
  const layers: LayerSpec[] = [
    { kind: 'conv2d', name: 'conv', kernel: conv, bias: new Float32Array(F).fill(0.05), kernelSize: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], inChannels: C, units: F, activation: 'relu' },
    { kind: 'maxPool', name: 'pool', poolSize: [2, 2], strides: [2, 2], padding: 'valid' },
    { kind: 'flatten', name: 'flat' },
    { kind: 'dense', name: 'out', kernel: dense, bias: new Float32Array(K), inDim: positions * F, units: K, activation: 'linear' },
  ];
  return { chain: { inputShape: [S, S, C], layers }, x: Float32Array.from({ length: N * S * S * C }, nrm), y: new Int32Array(N) };
}

const t = teacherCnn();
const MODEL = path.join(tmp.dir, 'teacher_cnn.onnx');
const XS = path.join(tmp.dir, 'x_nchw.npy');
const YS = path.join(tmp.dir, 'y.npy');
const SETTINGS = { ...GATE_DEFAULTS, epochs: 16, strength: 0.75, unitCost: 0, gateLearningRate: 0.2, settleEpochs: 0, seed: 3 };

before(async () => {
  const { tf } = await loadTfjs();
  const teacher = new GatedNetwork(tf, t.chain, GATE_DEFAULTS);
  t.y.set(tf.argMax(teacher.forward(tf.tensor2d(t.x, [N, S * S * C])), 1).dataSync());
  teacher.dispose();
  writeOnnxChain(MODEL, { inputName: 'image', outputName: 'logits' }, t.chain);
  writeNpy(XS, '<f4', [N, C, S, S], permuteAxes(t.x, [N, S, S, C], [0, 3, 1, 2]));
  writeNpy(YS, '<i4', [N], t.y);
});

test('on a teacher CNN the gates switch off exactly the filters that feed nothing; ONNX and TF.js exports reproduce the gated network', async () => {
  const { tf } = await loadTfjs();
  const chain = readChain(MODEL);
  assert.equal(chain.channelsFirst, true);
  const net = new GatedNetwork(tf, chain, SETTINGS);
  const data = { x: t.x, y: t.y, n: N, features: S * S * C, classes: K };
  for (let e = 0; e < SETTINGS.epochs; e++) net.epoch(data);
  net.finalize();
  assert.deepEqual(net.keptUnits()[0], [0, 2, 4, 6], `kept filters: ${net.keptUnits()[0]}`);
  assert.ok(net.thetas().flat().every((v) => v === 1));
  const rows = 100;
  const xs = t.x.subarray(0, rows * S * S * C);
  const gated = net.forward(tf.tensor2d(xs, [rows, S * S * C])).dataSync();
  const trained = net.export();
  assert.deepEqual(trained.layers.map((l) => ('units' in l ? l.units : 0)), [F / 2, 0, 0, K]);

  const onnx = path.join(tmp.dir, 'trained_cnn.onnx');
  writeOnnxChain(onnx, { inputName: 'image', outputName: 'logits' }, trained);
  const session = await ort.InferenceSession.create(onnx);
  const nchw = permuteAxes(Float32Array.from(xs), [rows, S, S, C], [0, 3, 1, 2]);
  close((await session.run({ image: new ort.Tensor('float32', nchw, [rows, C, S, S]) }))['logits']!.data as Float32Array, gated, 1e-4, 'onnxruntime');

  const tfjs = path.join(tmp.dir, 'trained_cnn_tfjs', 'model.json');
  await writeTfjsChain(tfjs, trained);
  const model = await loadLayersModelFile(tf, tfjs);
  close((model.predict(tf.tensor4d(xs, [rows, S, S, C])) as TF.Tensor).dataSync(), gated, 1e-4, 'TF.js');
  // Read back, the TF.js model is the same chain.
  assert.deepEqual(readChain(tfjs).layers.map((l) => l.kind), trained.layers.map((l) => l.kind));
  net.dispose();
});

test('train-gates on the torch CNN from the CLI: NCHW data in, a runnable smaller ONNX model out', async () => {
  const x = readNpy(fixture('npy', 'digits_test_x.npy'));
  const y = readNpy(fixture('npy', 'digits_test_y.npy'));
  const xs = path.join(tmp.dir, 'digits_nchw.npy');
  const ys = path.join(tmp.dir, 'digits_y.npy');
  writeNpy(xs, '<f4', [x.shape[0]!, 1, 8, 8], Float32Array.from(x.values));
  writeNpy(ys, '<i4', [y.shape[0]!], Int32Array.from(y.values));
  const out = path.join(tmp.dir, 'digits_cnn_gated.onnx');
  const cli = await runCliAsync(['train-gates', fixture('onnx', 'digits_cnn.onnx'), '--data', xs, '--labels', ys, '--epochs', '3', '--settle', '1', '--unit-cost', '200', '-o', out]);
  assert.equal(cli.status, 0, cli.stderr);
  assert.match(cli.stdout, /widths 8-16-32 → \d+-\d+-\d+/);
  const session = await ort.InferenceSession.create(out);
  const r = await session.run({ image: new ort.Tensor('float32', Float32Array.from(x.values.slice(0, 5 * 64)), [5, 1, 8, 8]) });
  assert.deepEqual(r['logits']!.dims, [5, 10]);
  const wrongShape = await runCliAsync(['train-gates', fixture('onnx', 'digits_cnn.onnx'), '--data', fixture('npy', 'mlp_x.npy'), '--labels', fixture('npy', 'mlp_y.npy'), '-o', path.join(tmp.dir, 'no.onnx')]);
  assert.equal(wrongShape.status, 1);
  assert.match(wrongShape.stderr, /the model takes shape \[1, 8, 8\] \(channels first, like the model\)/);
});

test('trainGates on a TF.js CNN (channels last) keeps the format and logs the filter widths', async () => {
  const dir = path.join(tmp.dir, 'tfjs-cnn-in');
  await writeTfjsChain(path.join(dir, 'model.json'), t.chain);
  const xs = path.join(tmp.dir, 'x_nhwc.npy');
  writeNpy(xs, '<f4', [N, S, S, C], t.x);
  const out = path.join(tmp.dir, 'tfjs-cnn-out', 'model.json');
  const log = await trainGates(path.join(dir, 'model.json'), out, { data: xs, labels: YS, ...SETTINGS, epochs: 2 });
  assert.deepEqual(log.widthsBefore, [F]);
  assert.equal(log.epochs.length, 2);
  const { tf } = await loadTfjs();
  const model = await loadLayersModelFile(tf, out);
  const pred = (model.predict(tf.tensor4d(t.x, [N, S, S, C])) as TF.Tensor).argMax(1).dataSync();
  assert.equal(Array.from(pred).filter((p, i) => p === t.y[i]).length / N, log.final.trainAccuracy);
  assert.ok(log.final.trainAccuracy >= 0.95, `gated TF.js CNN: accuracy ${log.final.trainAccuracy}`); // measured: 97.7%
});
