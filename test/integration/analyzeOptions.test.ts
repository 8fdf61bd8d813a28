/**
 * analyzeModel in-process, option by option, on files whose contents are known in closed form
 * (pipeline.onnx's shapes come from make_pipeline_reference.py; dtypes.onnx's from inspect): the
 * model record (sha256, size, parameter totals), the layer filter, spectra switched off or
 * capped, the worker pool against the calling thread, dtype reasons, cancellation and refusals.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { analyzeModel, defaultMemoryBudget, layerMemory, MEMORY_BUDGET_FRACTION } from '../../src/core/analysis/analyzeModel.ts';
import { DEFAULT_SETTINGS, type LayerResult } from '../../src/core/analysis/analyzeLayer.ts';
import type { WeightTensor } from '../../src/core/checkpoint.ts';
import { fixture } from '../helpers.ts';

const PIPELINE = fixture('onnx', 'pipeline.onnx');
// conv 16×8×3×3, pointwise 16×16×1×1, dense 128×16 (+ bias 128), classifier 10×128 (+ bias 10)
const MATRICES = { 'conv.weight': 1152, 'pointwise.weight': 256, 'dense.weight': 2048, 'classifier.weight': 1280 };
const BIASES = 128 + 10;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const withoutTimes = (layers: LayerResult[]) => layers.map((l) => ({ ...l, ms: 0 }));

test('the model record: sha256 and size of the file, every parameter, the matrices, and the skipped biases', async () => {
  const r = await analyzeModel(PIPELINE, { workers: 0, spectra: false });
  const bytes = fs.readFileSync(PIPELINE);
  assert.equal(r.model.sha256, createHash('sha256').update(bytes).digest('hex'));
  assert.equal(r.model.size, bytes.length);
  assert.equal(r.model.format, 'onnx');
  assert.equal(r.model.producer, 'make_pipeline_reference.py');
  assert.equal(r.model.params, sum(Object.values(MATRICES)) + BIASES);
  assert.equal(r.model.weightParams, sum(Object.values(MATRICES)));
  assert.deepEqual(r.skipped, { count: 2, params: BIASES });
  assert.deepEqual(r.layers.map((l) => l.name), Object.keys(MATRICES));
  assert.deepEqual(r.settings, { mode: 'robust', seed: 0, eps: 0.1, nodeConvention: 'columns', spectra: false, maxSpectrumDim: 4096, minSamples: 100, layers: null, workers: 0 });
  // A sha256 the caller already has is taken as given.
  assert.equal((await analyzeModel(PIPELINE, { workers: 0, spectra: false, sha256: 'abc' })).model.sha256, 'abc');
});

test('--layers keeps only matching weights, in the totals too', async () => {
  const r = await analyzeModel(PIPELINE, { workers: 0, spectra: false, layers: /^dense/ });
  assert.deepEqual(r.layers.map((l) => l.name), ['dense.weight']);
  assert.equal(r.model.weightParams, 2048);
  assert.deepEqual(r.skipped, { count: 1, params: 128 });
  assert.equal(r.settings.layers, '^dense');
});

test('spectra off, or capped by maxSpectrumDim: the reason names the sides and the cap; at the cap the spectrum is kept', async () => {
  const off = await analyzeModel(PIPELINE, { workers: 0, spectra: false });
  for (const l of off.layers) {
    assert.equal(l.reasons.includes('spectra skipped (--no-spectra)'), true, l.name);
    assert.deepEqual([l.esd, l.singularValues, l.curves.singular, l.kStar.singular, l.status], [null, null, null, null, 'partial'], l.name);
  }
  const capped = await analyzeModel(PIPELINE, { workers: 0, maxSpectrumDim: 10 });
  const skippedBy = Object.fromEntries(capped.layers.map((l) => [l.name, l.reasons.filter((r) => r.startsWith('spectra skipped'))]));
  assert.deepEqual(skippedBy, {
    'conv.weight': ['spectra skipped: min(16, 72) exceeds maxSpectrumDim 10'],
    'pointwise.weight': ['spectra skipped: min(16, 16) exceeds maxSpectrumDim 10'],
    'dense.weight': ['spectra skipped: min(128, 16) exceeds maxSpectrumDim 10'],
    'classifier.weight': [], // min(10, 128) = 10 is not above the cap
  });
  const cls = capped.layers.find((l) => l.name === 'classifier.weight')!;
  assert.equal(cls.singularValues!.length, 10);
  assert.ok(cls.esd !== null && cls.esd.eigenvalues.every((v) => v > 1e-5));
});

test('the worker pool (2 workers, a small in-flight budget) gives the calling thread\'s results, and reports every layer once', async () => {
  const seen: Array<[string, number, number]> = [];
  const pooled = await analyzeModel(PIPELINE, { workers: 2, memoryBudget: 30_000, onLayer: (l, done, total) => seen.push([l.name, done, total]) });
  const inThread = await analyzeModel(PIPELINE, { workers: 0 });
  assert.deepEqual(withoutTimes(pooled.layers), withoutTimes(inThread.layers));
  assert.deepEqual(seen.map(([, done, total]) => [done, total]), [[1, 4], [2, 4], [3, 4], [4, 4]]);
  assert.deepEqual(seen.map(([name]) => name).sort(), Object.keys(MATRICES).sort());
  assert.equal(pooled.settings.workers, 2);
  // More workers than layers: one per layer.
  assert.equal((await analyzeModel(PIPELINE, { workers: 9, layers: /^dense/, spectra: false })).settings.workers, 1);
});

test('paper mode transposes the last dense layer only', async () => {
  const r = await analyzeModel(PIPELINE, { workers: 0, mode: 'paper', spectra: false });
  assert.deepEqual(
    r.layers.map((l) => [l.name, l.diagnostics.transposedClassifier]),
    [['conv.weight', false], ['pointwise.weight', false], ['dense.weight', false], ['classifier.weight', true]],
  );
});

test('stored dtypes: float16, bfloat16 and quantized weights carry the dequantization reason, float32/64 do not', async () => {
  const r = await analyzeModel(fixture('onnx', 'dtypes.onnx'), { workers: 0, spectra: false, minSamples: 1000 });
  const dtypeReasons = Object.fromEntries(r.layers.map((l) => [l.name, [l.quantized, l.reasons.filter((x) => x.startsWith('stored as'))]]));
  const note = 'dequantized before estimation, which creates ties that can bias tail estimates';
  assert.deepEqual(dtypeReasons, {
    w_f16: [false, [`stored as float16: ${note}`]],
    w_bf16: [false, [`stored as bfloat16: ${note}`]],
    w_f16_typed: [false, [`stored as float16: ${note}`]],
    w_f32_typed: [false, []],
    w_f64: [false, []],
    w_q8: [true, [`stored as int8 (quantized): ${note}`]],
    w_qu8: [true, [`stored as uint8 (quantized): ${note}`]],
  });
  // Each has fewer than 1000 samples: every tail form says so, with its N.
  const f16 = r.layers.find((l) => l.name === 'w_f16')!;
  assert.deepEqual(
    f16.reasons.filter((x) => /^alpha/.test(x)),
    ['alphaStable.multivariate: too few samples (N = 6 < 1000)', 'alphaStable.entries: too few samples (N = 24 < 1000)', 'alphaStable.norms: too few samples (N = 6 < 1000)', 'alphaHill: too few samples (N = 24 < 1000)'],
  );
  assert.equal(f16.diagnostics.hill, undefined);
});

test('an aborted signal cancels before any layer; calibration data with a non-ONNX model is refused by name', async () => {
  const ac = new AbortController();
  ac.abort();
  for (const workers of [0, 2]) {
    await assert.rejects(analyzeModel(PIPELINE, { workers, signal: ac.signal }), { name: 'Cancelled', message: 'analysis cancelled' });
  }
  const st = fixture('safetensors', 'model.safetensors');
  await assert.rejects(analyzeModel(st, { workers: 0, spectra: false, data: fixture('npy', 'digits_test_x.npy') }), (e: Error) => {
    assert.equal(e.name, 'CheckpointError');
    assert.match(e.message, /activation spectra \(--data\) need an ONNX model; this is safetensors/);
    return true;
  });
});

// The pool's queue: the smallest layer first (so a result shows at once), then the largest first.
const QUEUE_ORDER = ['pointwise.weight', 'dense.weight', 'classifier.weight', 'conv.weight'];

test('the pool\'s queue order: one worker finishes the layers smallest first, then largest to smallest', async () => {
  const seen: string[] = [];
  const r = await analyzeModel(PIPELINE, { workers: 1, spectra: false, onLayer: (l) => seen.push(l.name) });
  assert.deepEqual(seen, QUEUE_ORDER);
  // The report lists the layers in model order whatever order they finished in.
  assert.deepEqual(r.layers.map((l) => l.name), Object.keys(MATRICES));
});

test('the memory budget: with room for no two layers, two workers run one layer at a time, in queue order', async () => {
  // The smallest two layers together (pointwise + conv) are 1408 parameters: 20 bytes each without spectra.
  for (const memoryBudget of [1, 20 * 1408 - 1]) {
    const seen: string[] = [];
    await analyzeModel(PIPELINE, { workers: 2, memoryBudget, spectra: false, onLayer: (l) => seen.push(l.name) });
    assert.deepEqual(seen, QUEUE_ORDER, `budget ${memoryBudget}`);
  }
});

test('what a layer holds while it is analysed, and the default budget (a quarter of the machine)', () => {
  const layer = (shape: number[]) => ({ shape, size: shape.reduce((a, b) => a * b, 1) }) as unknown as WeightTensor;
  const spectra = { ...DEFAULT_SETTINGS, spectra: true, maxSpectrumDim: 100 };
  // 20 bytes per parameter, plus with spectra three matrices of the smaller side (the Gram, its
  // centred copy, and the two-stage eigensolver's second buffer).
  assert.equal(layerMemory(layer([30, 50]), spectra), 20 * 1500 + 24 * 30 * 30);
  assert.equal(layerMemory(layer([64, 3, 3, 3]), spectra), 20 * 1728 + 24 * 27 * 27);
  assert.equal(layerMemory(layer([30, 50]), { ...spectra, spectra: false }), 20 * 1500);
  assert.equal(layerMemory(layer([200, 101]), spectra), 20 * 20200); // min side 101 > 100: no spectrum, no Gram
  assert.equal(layerMemory(layer([200, 100]), spectra), 20 * 20000 + 24 * 100 * 100);
  assert.equal(defaultMemoryBudget(), Math.floor(os.totalmem() / 4));
  assert.equal(MEMORY_BUDGET_FRACTION, 0.25);
});

test('the default pool has one worker per core (at most one per layer), and marks the classifier in the workers too', async () => {
  const r = await analyzeModel(PIPELINE, { mode: 'paper', spectra: false });
  assert.equal(r.settings.workers, Math.min(os.availableParallelism(), 4));
  assert.deepEqual(r.layers.map((l) => l.diagnostics.transposedClassifier), [false, false, false, true]);
  const pooled = await analyzeModel(PIPELINE, { workers: 2, mode: 'paper', spectra: false });
  assert.deepEqual(withoutTimes(pooled.layers), withoutTimes((await analyzeModel(PIPELINE, { workers: 0, mode: 'paper', spectra: false })).layers));
});

test('a signal aborted after the first layer cancels the rest, in the calling thread and in the pool', async () => {
  for (const workers of [0, 2]) {
    const ac = new AbortController();
    const seen: string[] = [];
    await assert.rejects(
      analyzeModel(PIPELINE, { workers, memoryBudget: 1, spectra: false, signal: ac.signal, onLayer: (l) => (seen.push(l.name), ac.abort()) }),
      { name: 'Cancelled', message: 'analysis cancelled' },
      `workers ${workers}`,
    );
    assert.equal(seen.length, 1, `workers ${workers}: ${seen.join(', ')}`);
  }
});

test('the checkpoint\'s warnings reach the report; only ONNX models get a dependency structure', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prunescope-warn-'));
  try {
    const src = fixture('tfjs', 'cnn');
    for (const f of fs.readdirSync(src)) fs.copyFileSync(path.join(src, f), path.join(dir, f));
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    delete json.modelTopology;
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    const r = await analyzeModel(path.join(dir, 'model.json'), { workers: 0, spectra: false });
    assert.deepEqual(r.warnings, ['model.json has no modelTopology; layers are unknown']);
    assert.equal(r.structure, undefined);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const st = await analyzeModel(fixture('safetensors', 'model.safetensors'), { workers: 0, spectra: false });
  assert.deepEqual([st.warnings, st.structure], [['safetensors has no graph: layers were inferred from tensor names and shapes (PyTorch layout assumed)'], undefined]);
  assert.equal((await analyzeModel(PIPELINE, { workers: 0, spectra: false })).structure!.groups.length > 0, true);
});

test('layout: a MatMul weight stored [in, out] is analysed as the same layer as a Gemm (transB = 1) storing it [out, in]', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prunescope-layout-'));
  try {
    const { buildOnnxModel } = await import('../../src/core/formats/onnx/onnxBuilder.ts');
    const [inputs, outputs] = [24, 40];
    const w = Array.from({ length: outputs * inputs }, (_, i) => Math.sin(1.3 * i) ** 3 + 0.01 * Math.cos(i)); // [out, in]
    const wT = Array.from({ length: inputs * outputs }, (_, k) => w[(k % outputs) * inputs + Math.floor(k / outputs)]!); // [in, out]
    const bytes = (v: number[]) => {
      const b = new Uint8Array(Float32Array.from(v).buffer);
      return { length: b.length, produce: (emit: (c: Uint8Array) => void) => emit(b) };
    };
    const model = (file: string, node: { opType: string; ints?: Record<string, number> }, dims: number[], values: number[]) =>
      buildOnnxModel({
        producer: 'test',
        opset: 13,
        graphName: 'layout',
        inputs: [{ name: 'x', elemType: 1, dims: [1, inputs] }],
        outputs: [{ name: 'y', elemType: 1, dims: [1, outputs] }],
        nodes: [{ name: 'fc', inputs: ['x', 'w'], outputs: ['y'], ...node }],
        initializers: [{ name: 'w', dataType: 1, dims, raw: bytes(values) }],
      }).writeToFile(path.join(dir, file));
    model('matmul.onnx', { opType: 'MatMul' }, [inputs, outputs], wT);
    model('gemm.onnx', { opType: 'Gemm', ints: { transB: 1 } }, [outputs, inputs], w);
    const [a, b] = await Promise.all(['matmul.onnx', 'gemm.onnx'].map((f) => analyzeModel(path.join(dir, f), { workers: 0 })));
    const layer = (l: LayerResult) => ({ ...l, ms: 0, op: '', diagnostics: { ...l.diagnostics } });
    assert.deepEqual(a.layers.map(layer), b.layers.map(layer));
    assert.deepEqual(a.layers[0]!.shape, [outputs, inputs]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
