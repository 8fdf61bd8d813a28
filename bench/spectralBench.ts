/**
 * Spectral pruning's activation capture: peak memory while 512 calibration samples of a CNN are
 * captured and folded into Σ̂ (measured in a fresh process), against the model size and the m×m
 * matrices.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Mulberry32 } from '../src/core/analysis/prng.ts';
import { buildOnnxModel } from '../src/core/formats/onnx/onnxBuilder.ts';

function floatBytes(values: Float32Array) {
  const bytes = new Uint8Array(values.buffer);
  return { length: bytes.length, produce: (emit: (c: Uint8Array) => void) => emit(bytes) };
}

const ROOT = path.resolve(__dirname, '..');

/**
 * A CNN big enough for memory to be about the model, not onnxruntime's fixed cost: 3×8×8 input,
 * Conv 3→64, Conv 64→128, global pool, Gemm 128→512, Gemm 512→20000 (≈ 41 MB of float32).
 */
function writeWideCnn(file: string): void {
  const rng = new Mulberry32(3);
  const rand = (n: number, scale: number) => floatBytes(Float32Array.from({ length: n }, () => (rng.uniformOpen() - 0.5) * scale));
  buildOnnxModel({
    producer: 'bench',
    opset: 13,
    graphName: 'wide-cnn',
    inputs: [{ name: 'x', elemType: 1, dims: ['batch', 3, 8, 8] }],
    outputs: [{ name: 'y', elemType: 1, dims: ['batch', 20000] }],
    nodes: [
      { name: 'c1', opType: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['h1'], intLists: { pads: [1, 1, 1, 1] } },
      { name: 'r1', opType: 'Relu', inputs: ['h1'], outputs: ['a1'] },
      { name: 'c2', opType: 'Conv', inputs: ['a1', 'w2', 'b2'], outputs: ['h2'], intLists: { pads: [1, 1, 1, 1] } },
      { name: 'r2', opType: 'Relu', inputs: ['h2'], outputs: ['a2'] },
      { name: 'gap', opType: 'GlobalAveragePool', inputs: ['a2'], outputs: ['p'] },
      { name: 'flat', opType: 'Flatten', inputs: ['p'], outputs: ['f'] },
      { name: 'g1', opType: 'Gemm', inputs: ['f', 'w3', 'b3'], outputs: ['h3'], ints: { transB: 1 } },
      { name: 'r3', opType: 'Relu', inputs: ['h3'], outputs: ['a3'] },
      { name: 'g2', opType: 'Gemm', inputs: ['a3', 'w4', 'b4'], outputs: ['y'], ints: { transB: 1 } },
    ],
    initializers: [
      { name: 'w1', dataType: 1, dims: [64, 3, 3, 3], raw: rand(64 * 27, 0.5) },
      { name: 'b1', dataType: 1, dims: [64], raw: rand(64, 0.1) },
      { name: 'w2', dataType: 1, dims: [128, 64, 3, 3], raw: rand(128 * 576, 0.1) },
      { name: 'b2', dataType: 1, dims: [128], raw: rand(128, 0.1) },
      { name: 'w3', dataType: 1, dims: [512, 128], raw: rand(512 * 128, 0.2) },
      { name: 'b3', dataType: 1, dims: [512], raw: rand(512, 0.1) },
      { name: 'w4', dataType: 1, dims: [20000, 512], raw: rand(20000 * 512, 0.1) },
      { name: 'b4', dataType: 1, dims: [20000], raw: rand(20000, 0.1) },
    ],
  }).writeToFile(file);
}

export function spectralBench(dir: string): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const wide = path.join(dir, 'wide-cnn.onnx');
  if (!fs.existsSync(wide)) writeWideCnn(wide);
  const fixtureCnn = path.join(ROOT, 'test', 'fixtures', 'onnx', 'cnn_plain_bn.onnx');
  // 64 vs 4096 samples on the fixture: activations are streamed, so memory must not grow with n.
  return [...captureMemory(fixtureCnn, 64), ...captureMemory(fixtureCnn, 512), ...captureMemory(fixtureCnn, 4096), ...captureMemory(fixtureCnn, 16384), ...captureMemory(wide, 512)];
}

function captureMemory(model: string, samples: number): string[] {
  const core = path.join(ROOT, 'dist', 'core.js');
  const script = `
    const ort = require('onnxruntime-node');
    const core = require(${JSON.stringify(core)});
    (async () => {
      const model = ${JSON.stringify(model)};
      const ck = core.openCheckpoint(model);
      const layers = ck.weights.filter((w) => ['conv', 'dense'].includes(w.layer.kind)).map((w) => w.name);
      const found = core.spectralTargets(core.analyseStructure(ck), layers).targets;
      const targets = [...new Map([...found.values()].map((t) => [t.tensor, t])).values()];
      ck.close();
      // Baseline: onnxruntime loaded and a session of the tiny fixture run, so the runtime's own
      // fixed cost is counted out (but not this model's).
      const s = await ort.InferenceSession.create(${JSON.stringify(path.join(ROOT, 'test', 'fixtures', 'onnx', 'cnn_plain_bn.onnx'))});
      const name = s.inputNames[0];
      const dims = s.inputMetadata[0].shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
      await s.run({ [name]: new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims) });
      await s.release();
      global.gc?.();
      const base = process.memoryUsage().rss;
      let peak = base;
      const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 5);
      const t0 = Date.now();
      const r = await core.captureSecondMoments(model, targets, { kind: 'random', samples: ${samples}, seed: 0 });
      peak = Math.max(peak, process.memoryUsage().rss);
      clearInterval(timer);
      process.stdout.write(JSON.stringify({ ms: Date.now() - t0, base, peak, batchBytes: r.peakBatchBytes, samples: [...r.moments.values()].map((m) => m.samples), units: targets.map((t) => t.units) }));
    })();`;
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`spectral bench failed: ${r.stderr}`);
  const m = JSON.parse(r.stdout) as { ms: number; base: number; peak: number; batchBytes: number; samples: number[]; units: number[] };
  const size = fs.statSync(model).size;
  const matrices = m.units.reduce((a, u) => a + u * u * 8 * 2, 0); // Σ̂ accumulator + Σ̂
  const delta = m.peak - m.base;
  return [
    `spectral capture on ${path.basename(model)} (${(size / 1024).toFixed(1)} KiB; units ${m.units.join(', ')}): ${samples} random inputs, ${m.samples.join(' / ')} samples per layer, ${m.ms} ms`,
    `  activations held at once: ${(m.batchBytes / 1024).toFixed(1)} KiB; peak RSS over an onnxruntime baseline: ${(delta / 1048576).toFixed(1)} MiB; model ${(size / 1048576).toFixed(3)} MiB, m×m matrices ${(matrices / 1024).toFixed(1)} KiB;` +
      ` budget 2× model + matrices = ${((2 * size + matrices) / 1048576).toFixed(3)} MiB`,
  ];
}
