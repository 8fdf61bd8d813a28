/**
 * Bernoulli-gate training on a problem with a known answer: a teacher network whose odd hidden
 * units have zero outgoing weights (provably useless) labels random inputs; trained from the
 * teacher's weights, the gates must switch exactly those units off. The exported model (ONNX, run
 * by onnxruntime) must reproduce the gated network's deterministic outputs.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { Mulberry32 } from '../../src/core/analysis/prng.ts';
import { loadTfjs } from '../../src/core/runtime/loadTfjs.ts';
import { GATE_DEFAULTS, GatedNetwork, type DenseSpec } from '../../src/core/training/gatedNetwork.ts';
import { readChain, trainGates, writeOnnxChain, writeTfjsChain } from '../../src/core/training/trainGates.ts';
import { loadLayersModelFile } from '../../src/core/runtime/loadTfjs.ts';
import { runCliAsync, tempDir, withRenderedPage, writeNpy } from '../helpers.ts';

const tmp = tempDir();
after(tmp.cleanup);
const [D, H, K, N] = [20, 40, 4, 4000];
const SETTINGS = { ...GATE_DEFAULTS, epochs: 20, strength: 0.75, unitCost: 0, gateLearningRate: 0.2, seed: 3 };

function teacher(): { specs: DenseSpec[]; x: Float32Array; y: Int32Array } {
  const rng = new Mulberry32(1);
  const nrm = () => Math.sqrt(-2 * Math.log(rng.uniformOpen())) * Math.cos(2 * Math.PI * rng.uniformOpen());
  const w1 = Float32Array.from({ length: D * H }, () => nrm() / Math.sqrt(D));
  const b1 = new Float32Array(H).fill(0.1);
  const w2 = Float32Array.from({ length: H * K }, (_, i) => (Math.floor(i / K) % 2 === 1 ? 0 : nrm())); // odd units: outputs × 0
  const x = Float32Array.from({ length: N * D }, nrm);
  const y = new Int32Array(N);
  for (let s = 0; s < N; s++) {
    const logits = new Float64Array(K);
    for (let u = 0; u < H; u++) {
      let z = b1[u]!;
      for (let j = 0; j < D; j++) z += x[s * D + j]! * w1[j * H + u]!;
      for (let c = 0; c < K; c++) logits[c] += Math.max(0, z) * w2[u * K + c]!;
    }
    y[s] = logits.indexOf(Math.max(...logits));
  }
  return { specs: [{ kind: 'dense', name: 'hidden', kernel: w1, bias: b1, inDim: D, units: H, activation: 'relu' }, { kind: 'dense', name: 'out', kernel: w2, bias: new Float32Array(K), inDim: H, units: K, activation: 'linear' }], x, y };
}

const t = teacher();
const MODEL = path.join(tmp.dir, 'teacher.onnx');
const XS = path.join(tmp.dir, 'x.npy');
const YS = path.join(tmp.dir, 'y.npy');

before(() => {
  writeOnnxChain(MODEL, { inputName: 'x', outputName: 'logits' }, { inputShape: [D], layers: t.specs });
  writeNpy(XS, '<f4', [N, D], t.x);
  writeNpy(YS, '<i4', [N], t.y);
});

test('the gates switch off exactly the useless units, and the export reproduces the deterministic network', async () => {
  const { tf } = await loadTfjs();
  // No settling phase: the gates alone must reach their verdict.
  const net = new GatedNetwork(tf, readChain(MODEL), { ...SETTINGS, settleEpochs: 0 });
  const data = { x: t.x, y: t.y, n: N, features: D, classes: K };
  for (let e = 0; e < SETTINGS.epochs; e++) net.epoch(data);
  net.finalize();
  const kept = net.keptUnits()[0]!;
  assert.deepEqual(kept, Array.from({ length: H / 2 }, (_, i) => 2 * i), `kept units: ${kept}`);
  assert.ok(net.thetas().flat().every((v) => v === 1));
  // Deterministic gated outputs vs. the exported ONNX model in onnxruntime.
  const x = tf.tensor2d(t.x.subarray(0, 200 * D), [200, D]);
  const gated = net.forward(x).dataSync();
  const out = path.join(tmp.dir, 'trained.onnx');
  writeOnnxChain(out, { inputName: 'x', outputName: 'logits' }, net.export());
  const session = await ort.InferenceSession.create(out);
  const y = (await session.run({ x: new ort.Tensor('float32', t.x.subarray(0, 200 * D), [200, D]) }))['logits']!.data as Float32Array;
  for (let i = 0; i < y.length; i++) assert.ok(Math.abs(y[i]! - gated[i]!) < 1e-4, `${i}: ${y[i]} vs ${gated[i]}`);
  net.dispose();
});

test('trainGates end to end: ONNX in, ONNX out, a log with widths per epoch; CLI and refusals', async () => {
  const out = path.join(tmp.dir, 'cli.onnx');
  const log = await trainGates(MODEL, out, { data: XS, labels: YS, ...SETTINGS });
  assert.deepEqual(log.widthsBefore, [H]);
  assert.deepEqual(log.widthsAfter, [H / 2]);
  assert.equal(log.epochs.length, SETTINGS.epochs);
  assert.ok(log.epochs.every((e, i) => i === 0 || e.widths[0]! <= log.epochs[i - 1]!.widths[0]!), 'widths never grow');
  assert.equal(log.paramsAfter, D * (H / 2) + H / 2 + (H / 2) * K + K);
  assert.ok(log.final.trainAccuracy > 0.9, String(log.final.trainAccuracy));
  // Every θ ends at 0 (the 20 removed units) or 1 (the 20 kept); at the decision they summed to the same 40 units.
  assert.deepEqual(log.thetaFinal.bins, [H / 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, H / 2]);
  assert.equal(log.thetaAtDecision.bins.reduce((a, b) => a + b, 0), H);
  assert.equal(log.thetaAtDecision.between, log.rounded);
  assert.deepEqual(log.gatedLayers, ['hidden_gemm']);
  const html = path.join(tmp.dir, 'training.html');
  const cli = await runCliAsync(['train-gates', MODEL, '--data', XS, '--labels', YS, '--epochs', '3', '--settle', '1', '-o', path.join(tmp.dir, 'c2.onnx'), '--log', path.join(tmp.dir, 'log.json'), '--html', html]);
  assert.equal(cli.status, 0, cli.stderr);
  const cliLog = JSON.parse(fs.readFileSync(path.join(tmp.dir, 'log.json'), 'utf8')) as typeof log;
  assert.equal(cliLog.epochs.length, 3);
  assert.match(cli.stdout, /epoch 3\/3/);
  await withRenderedPage(html, async ({ page, charts, errors, external }) => {
    assert.deepEqual(errors, []);
    assert.deepEqual(external, []);
    assert.deepEqual(charts.map((c) => [c.id, c.datasets, c.points]), [['chart-widths', 1, 3], ['chart-loss', 2, 3], ['chart-theta', 2, 12]]);
    for (const c of charts) assert.ok(c.painted > 1000, `${c.id} is blank`);
    assert.equal(await page.locator('#epochs tbody tr').count(), 3);
    assert.deepEqual(await page.locator('#layers tbody tr td').allTextContents(), ['hidden_gemm', String(H), String(cliLog.widthsAfter[0]), `${((100 * cliLog.widthsAfter[0]!) / H).toFixed(1)}%`]);
    assert.match((await page.locator('#facts').textContent())!, new RegExp(`widths${H} → ${cliLog.widthsAfter[0]}`));
    if (process.env['PRUNESCOPE_SCREENSHOT_TRAINING']) await page.screenshot({ path: process.env['PRUNESCOPE_SCREENSHOT_TRAINING'], fullPage: true });
  });
  const refused = await runCliAsync(['train-gates', path.join(__dirname, '..', 'fixtures', 'onnx', 'cnn_plain_bn.onnx'), '--data', XS, '--labels', YS, '-o', path.join(tmp.dir, 'c3.onnx')]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /node \S+ \(BatchNormalization\) is not supported/);
});

test('trainGates on a TF.js layers-model writes a TF.js model whose accuracy is the logged one', async () => {
  const dir = path.join(tmp.dir, 'tfjs-in');
  await writeTfjsChain(path.join(dir, 'model.json'), { inputShape: [D], layers: t.specs });
  const out = path.join(tmp.dir, 'tfjs-out', 'model.json');
  const log = await trainGates(path.join(dir, 'model.json'), out, { data: XS, labels: YS, ...SETTINGS, epochs: 3 });
  const { tf } = await loadTfjs();
  const model = await loadLayersModelFile(tf, out);
  const pred = (model.predict(tf.tensor2d(t.x, [N, D])) as import('@tensorflow/tfjs').Tensor).argMax(1).dataSync();
  const acc = Array.from(pred).filter((p, i) => p === t.y[i]).length / N;
  assert.equal(acc, log.final.trainAccuracy);
  assert.ok(acc >= 0.93, `gated TF.js model: accuracy ${acc}`); // measured: 95.3%
  assert.deepEqual((model.layers[0]!.getWeights()[0]!.shape as number[])[1], log.widthsAfter[0]);
  await assert.rejects(trainGates(path.join(dir, 'model.json'), path.join(dir, 'again.json'), { data: XS, labels: YS }), /folder other than the original's/);
});

test('a cancel keeps the state after the last complete epoch and still exports it', async () => {
  const abort = new AbortController();
  const out = path.join(tmp.dir, 'cancelled.onnx');
  const log = await trainGates(MODEL, out, { data: XS, labels: YS, ...SETTINGS, signal: abort.signal, onEpoch: (e) => e.epoch === 2 && abort.abort() });
  assert.equal(log.cancelled, true);
  assert.equal(log.epochs.length, 2);
  const session = await ort.InferenceSession.create(out);
  const y = (await session.run({ x: new ort.Tensor('float32', t.x.subarray(0, 10 * D), [10, D]) }))['logits']!;
  assert.deepEqual(y.dims, [10, K]);
});
