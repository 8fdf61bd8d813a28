/**
 * Parsimonious Bernoulli-gate training (our implementation of Guenter & Sideris; spec:
 * parsimonious-gates.md, whose [RECON] parts leave the paper's exact prior and updates open).
 *
 * A feed-forward chain (chain.ts: Dense, Conv2D, pooling, Flatten) gets one gate per hidden unit
 * or filter: h = ξ ⊙ act(W x + b), ξ_i ~ Bernoulli(θ_i), sampled once per mini-batch; a filter's
 * gate multiplies its whole feature map. Every weighted layer but the last (the outputs) is gated.
 * The choices, documented in the README:
 * - **Objective** (negative ELBO with a flattening hyper-prior): E_ξ[loss] + Σ_i θ_i c_i
 *   + Σ_i κ_t θ_i (1 − θ_i) + the usual Gaussian (slab) weight decay. The data term is multilinear
 *   in θ (the ξ are independent), the prior term linear; the hyper-prior cancels the entropy of
 *   q(ξ) and adds the concave κ_t θ(1 − θ), zero at both ends. So the objective is concave in each
 *   θ_i: on [0, 1] its only stable points are θ_i ∈ {0, 1}. Without the concave term the
 *   stochastic dynamics hover at interior points where the data gradient balances the cost (in
 *   LeNet-300-100, ~98 of ~100 surviving θ were still interior when the structure was decided).
 * - **Polarization** κ_t = polarization · p_t² · c_i, with p_t the fraction of the gating epochs
 *   done: zero at first, so that the prior cost prunes; from p_t = 1/√polarization on, a unit at
 *   θ = 1 that the data still needs no longer drifts down, and at the end (3 × its cost) every θ is
 *   driven to 0 or 1 before the structure is decided.
 * - **Prior cost** c_i = (unitCost + strength · n_i) / N, in nats per example (the loss is a
 *   per-example mean over N training examples): `unitCost` = log((1 − γ)/γ) is the Bernoulli
 *   prior's price of keeping a unit (γ = prior keep-probability), and `strength` the description
 *   length of each of the n_i parameters the unit brings (incoming weights, bias, outgoing weights)
 *   under the slab rather than the spike (a filter: its kh·kw·in weights, bias, and the weights of
 *   the next layer that read its channel).
 * - **Gate gradient**: ∂E[loss]/∂θ_i = E[loss | ξ_i = 1] − E[loss | ξ_i = 0], estimated to first
 *   order by ∂loss/∂ξ_i at the sampled ξ (straight-through).
 * - **Update**: projected SGD, θ ← clip(θ − η_θ (ĝ + c + κ_t (1 − 2θ)), 0, 1).
 * - **Removal**: a unit whose θ reaches 0 is removed at the end of that epoch (its weights, bias
 *   and the next weighted layer's inputs: for a filter feeding a Flatten, one Dense row per
 *   position), so later epochs are cheaper. θ = 1 is the identity at inference.
 * - **Settling**: for the last `settleEpochs` epochs every gate is frozen (a θ still inside (0, 1) is
 *   rounded, and counted), so the weights finish training in the deterministic network that is
 *   exported.
 */
import type * as TF from '@tensorflow/tfjs';
import { Mulberry32 } from '../analysis/prng.ts';
import { type Activation, type Chain, chainShapes, isWeighted, type LayerSpec, type WeightedSpec } from './chain.ts';
import { Adam } from './adam.ts';
import { hasConvFilterGradient, trainableConv2d } from './trainableConv2d.ts';

export type { Activation, Chain, DenseSpec, LayerSpec } from './chain.ts';

export interface GateSettings {
  epochs: number;
  batchSize: number;
  /** Adam step size for the weights. */
  learningRate: number;
  /** SGD step size for the gate probabilities θ. */
  gateLearningRate: number;
  /** The prior cost per parameter, in nats (see above). */
  strength: number;
  /** Final strength of the bistable hyper-prior term κ θ(1 − θ), as a multiple of the unit's prior cost c (see above). */
  polarization: number;
  /** The prior cost per unit, in nats: log((1 − γ)/γ) for a prior keep-probability γ (see above). */
  unitCost: number;
  /** L2 weight decay of the Gaussian slab, per example. */
  weightDecay: number;
  /** Initial θ of every gate. */
  initialTheta: number;
  /** Epochs of plain training (θ frozen) before the gates learn: units are judged once they do something. */
  warmupEpochs: number;
  /** Last epochs with the structure decided (θ rounded to {0, 1} and frozen): the weights settle into it. */
  settleEpochs: number;
  seed: number;
}

export const GATE_DEFAULTS: GateSettings = { epochs: 20, batchSize: 64, learningRate: 1e-3, gateLearningRate: 0.5, polarization: 3, strength: 0.005, unitCost: 20, weightDecay: 0, initialTheta: 1, warmupEpochs: 1, settleEpochs: 4, seed: 0 };

export interface EpochLog {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss: number | null;
  valAccuracy: number | null;
  /** Hidden widths after this epoch's removals. */
  widths: number[];
  /** θ not yet at 0 or 1, per hidden layer. */
  undecided: number[];
  ms: number;
}

export interface TrainingData {
  x: Float32Array;
  /** Integer class labels. */
  y: Int32Array;
  n: number;
  features: number;
  classes: number;
}


interface Layer {
  spec: LayerSpec;
  /** Weighted layers: the kernel and bias variables. */
  w: TF.Variable | null;
  b: TF.Variable | null;
  /** Gate probabilities (gated layers only). */
  theta: Float64Array | null;
  /** The original index of each remaining unit. */
  ids: number[];
  /** Gated layers: the next weighted layer, and how many of its inputs read each unit (positions of a flattened feature map, else 1). */
  next: number;
  fanOutPositions: number;
}

export class GatedNetwork {
  private readonly layers: Layer[];
  private readonly gated: Layer[];
  private readonly weighted: Layer[];
  /** Whether convolutions train as im2col (a backend without Conv2DBackpropFilter, e.g. wasm). */
  private readonly im2col: boolean;
  private readonly inputShape: number[];
  private readonly optimizer: Adam;
  private readonly rng: Mulberry32;
  /** θ values forced to {0, 1} at the end because they had not reached a vertex. */
  rounded = 0;
  private epochsDone = 0;
  /** θ when the structure was decided (settle), before rounding; null until then. */
  thetasAtDecision: number[][] | null = null;

  constructor(
    private readonly tf: typeof TF,
    chain: Chain,
    private readonly s: GateSettings,
  ) {
    const shapes = chainShapes(chain);
    this.inputShape = [...chain.inputShape];
    this.rng = new Mulberry32(s.seed);
    const weighted = chain.layers.flatMap((l, i) => (isWeighted(l) ? [i] : []));
    if (weighted.length < 2) throw new Error('gate training needs at least one hidden layer before the output layer');
    this.layers = chain.layers.map((l, i) => {
      const k = weighted.indexOf(i);
      const gated = k >= 0 && k < weighted.length - 1;
      const next = gated ? weighted[k + 1]! : -1;
      // A Flatten between a filter and the next layer fans each channel out to every position.
      const flat = gated && chain.layers.slice(i + 1, next).some((m) => m.kind === 'flatten');
      const fanOutPositions = flat && isWeighted(l) ? shapes[next - 1]![0]! / l.units : 1;
      if (!isWeighted(l)) return { spec: l, w: null, b: null, theta: null, ids: [], next, fanOutPositions };
      const shape = l.kind === 'dense' ? [l.inDim, l.units] : [...l.kernelSize, l.inChannels, l.units];
      return {
        spec: l,
        w: tf.variable(tf.tensor(l.kernel, shape)),
        b: tf.variable(tf.tensor1d(l.bias)),
        theta: gated ? new Float64Array(l.units).fill(s.initialTheta) : null,
        ids: Array.from({ length: l.units }, (_, u) => u),
        next,
        fanOutPositions,
      };
    });
    this.gated = this.layers.filter((l) => l.theta);
    this.weighted = this.layers.filter((l) => l.w);
    this.im2col = !hasConvFilterGradient(tf);
    this.optimizer = new Adam(tf, s.learningRate);
  }

  /** Units (Dense) or filters (Conv2D) of each gated layer. */
  widths(): number[] {
    return this.gated.map((l) => l.b!.shape[0]!);
  }

  gatedLayerNames(): string[] {
    return this.gated.map((l) => l.spec.name);
  }

  /** Original indices of the units still present, per gated layer. */
  keptUnits(): number[][] {
    return this.gated.map((l) => [...l.ids]);
  }

  thetas(): number[][] {
    return this.gated.map((l) => Array.from(l.theta!));
  }

  private act(t: TF.Tensor, a: Activation): TF.Tensor {
    const tf = this.tf;
    return a === 'relu' ? tf.relu(t) : a === 'sigmoid' ? tf.sigmoid(t) : a === 'tanh' ? tf.tanh(t) : t;
  }

  /**
   * Logits of a flat batch (rows × features); `gates`: one 0/1 vector per gated layer. Without
   * gates, ξ = E[ξ] = θ: once every θ is 0 or 1 (after finalize) this is the deterministic network
   * that is exported.
   */
  forward(x: TF.Tensor, gates?: TF.Tensor[]): TF.Tensor {
    const tf = this.tf;
    let h = tf.reshape(x, [x.shape[0]!, ...this.inputShape]);
    let g = 0;
    for (const l of this.layers) {
      const s = l.spec;
      if (s.kind === 'flatten') h = tf.reshape(h, [h.shape[0]!, -1]);
      else if (s.kind === 'maxPool') h = tf.maxPool(h as TF.Tensor4D, s.poolSize, s.strides, s.padding);
      else if (s.kind === 'avgPool') h = tf.avgPool(h as TF.Tensor4D, s.poolSize, s.strides, s.padding);
      else if (isWeighted(s)) {
        const z = s.kind === 'dense' ? tf.matMul(h as TF.Tensor2D, l.w as TF.Tensor2D) : trainableConv2d(tf, h as TF.Tensor4D, l.w as TF.Tensor4D, s, this.im2col);
        h = this.act(tf.add(z, l.b!), s.activation);
        if (l.theta) h = tf.mul(h, gates ? gates[g++]! : tf.tensor1d(Float32Array.from(l.theta)));
      }
    }
    return h;
  }

  /** One epoch of training; returns the mean loss and accuracy over its batches. */
  private trainEpoch(data: TrainingData): { loss: number; accuracy: number } {
    const tf = this.tf;
    const { n, features, classes } = data;
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.rng.uniformOpen() * (i + 1)) % (i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    let lossSum = 0;
    let correct = 0;
    for (let start = 0; start < n; start += this.s.batchSize) {
      const rows = Math.min(this.s.batchSize, n - start);
      const xb = new Float32Array(rows * features);
      const yb = new Int32Array(rows);
      for (let r = 0; r < rows; r++) {
        const k = order[start + r]!;
        xb.set(data.x.subarray(k * features, (k + 1) * features), r * features);
        yb[r] = data.y[k]!;
      }
      // ξ ~ Bernoulli(θ), one draw per unit for this mini-batch; variables so that ∂loss/∂ξ is available.
      const xi = this.gated.map((l) => tf.variable(tf.tensor1d(Float32Array.from(l.theta!, (t) => (this.rng.uniformOpen() < t ? 1 : 0)))));
      const x = tf.tensor2d(xb, [rows, features]);
      const labels = tf.oneHot(tf.tensor1d(yb, 'int32'), classes);
      const { value, grads } = tf.variableGrads(() => {
        const logits = this.forward(x, xi);
        let loss = tf.losses.softmaxCrossEntropy(labels, logits) as TF.Scalar;
        if (this.s.weightDecay > 0) for (const l of this.weighted) loss = tf.add(loss, tf.mul(this.s.weightDecay / 2, tf.sum(tf.square(l.w!)))) as TF.Scalar;
        const pred = tf.argMax(logits, 1);
        correct += tf.sum(tf.equal(pred, tf.argMax(labels, 1))).dataSync()[0]!;
        return loss;
      });
      lossSum += value.dataSync()[0]! * rows;
      this.optimizer.step(this.weighted.flatMap((l): Array<[TF.Variable, TF.Tensor]> => [[l.w!, grads[l.w!.name]!], [l.b!, grads[l.b!.name]!]]));
      // Projected SGD on θ with the first-order gate gradient and the prior cost (after the warm-up).
      if (!this.thetasAtDecision && this.epochsDone >= this.s.warmupEpochs)
        this.gated.forEach((l, i) => {
          const g = grads[xi[i]!.name]!.dataSync();
          const theta = l.theta!;
          const cost = (this.s.unitCost + this.s.strength * this.paramsPerUnit(l)) / data.n;
          const pol = this.s.polarization * this.gatingProgress() ** 2 * cost;
          for (let u = 0; u < theta.length; u++) theta[u] = Math.min(1, Math.max(0, theta[u]! - this.s.gateLearningRate * (g[u]! + cost + pol * (1 - 2 * theta[u]!))));
        });
      for (const t of Object.values(grads)) t.dispose();
      value.dispose();
      for (const v of xi) v.dispose();
      x.dispose();
      labels.dispose();
    }
    this.epochsDone++;
    return { loss: lossSum / n, accuracy: correct / n };
  }

  /** Fraction of the gating epochs (after the warm-up, before the settle) done at the end of the current epoch: the polarization grows with its square. */
  private gatingProgress(): number {
    const span = this.s.epochs - this.s.settleEpochs - this.s.warmupEpochs;
    return span > 0 ? Math.min(1, Math.max(0, (this.epochsDone - this.s.warmupEpochs + 1) / span)) : 1;
  }

  /** Parameters a unit of gated layer `l` brings: incoming weights, bias, and the next weighted layer's weights that read it. */
  private paramsPerUnit(l: Layer): number {
    const w = l.w!.shape;
    const next = this.layers[l.next]!.w!.shape;
    return w.slice(0, -1).reduce((a, b) => a * b, 1) + 1 + l.fanOutPositions * next.slice(0, -2).reduce((a, b) => a * b, 1) * next[next.length - 1]!;
  }

  /** Removes every unit whose θ is 0: its kernel slice, bias and the next weighted layer's inputs. */
  private removeDeadUnits(): number {
    const tf = this.tf;
    let removed = 0;
    for (const l of this.gated) {
      const theta = l.theta!;
      const keep: number[] = [];
      for (let u = 0; u < theta.length; u++) if (theta[u]! > 0) keep.push(u);
      if (keep.length === theta.length) continue;
      if (keep.length === 0) keep.push(theta.indexOf(Math.max(...theta))); // never an empty layer
      const next = this.layers[l.next]!;
      // The next layer's input axis: Dense rows (one block of `units` per flattened position), Conv2D in-channels.
      const nextIn = next.spec.kind === 'dense' ? Array.from({ length: l.fanOutPositions }, (_, p) => keep.map((u) => p * theta.length + u)).flat() : keep;
      const idx = tf.tensor1d(keep, 'int32');
      const nextIdx = tf.tensor1d(nextIn, 'int32');
      const w = tf.gather(l.w!, idx, l.w!.rank - 1);
      const b = tf.gather(l.b!, idx);
      const wn = tf.gather(next.w!, nextIdx, next.w!.rank - 2);
      removed += theta.length - keep.length;
      // New variables for the smaller tensors; Adam's moments follow them.
      const replace = (old: TF.Variable, value: TF.Tensor, indices: TF.Tensor1D, axis: number) => {
        const v = tf.variable(value);
        this.optimizer.carry(old, v, indices, axis);
        old.dispose();
        value.dispose();
        return v;
      };
      l.w = replace(l.w!, w, idx, l.w!.rank - 1);
      l.b = replace(l.b!, b, idx, 0);
      next.w = replace(next.w!, wn, nextIdx, next.w!.rank - 2);
      idx.dispose();
      nextIdx.dispose();
      l.theta = Float64Array.from(keep, (u) => theta[u]!);
      l.ids = keep.map((u) => l.ids[u]!);
    }
    return removed;
  }

  /** Decides the structure (finalize) and freezes the gates: later epochs train the weights of the deterministic network. */
  settle(): void {
    this.thetasAtDecision = this.thetas();
    this.finalize();
  }

  /**
   * One epoch of the schedule: the structure is settled when the last `settleEpochs` begin, the
   * epoch is trained, and units whose θ reached 0 are removed.
   */
  epoch(data: TrainingData): { loss: number; accuracy: number } {
    if (!this.thetasAtDecision && this.epochsDone === this.s.epochs - this.s.settleEpochs) this.settle();
    const r = this.trainEpoch(data);
    this.removeDeadUnits();
    return r;
  }

  /** Makes the network deterministic: θ rounded to {0, 1} (counted in `rounded`), θ = 0 units removed. */
  finalize(): void {
    for (const l of this.gated) {
      const t = l.theta!;
      for (let u = 0; u < t.length; u++) {
        if (t[u]! === 0 || t[u]! === 1) continue;
        this.rounded++;
        t[u] = t[u]! >= 0.5 ? 1 : 0;
      }
    }
    this.removeDeadUnits();
  }

  /** Mean loss and accuracy with ξ = θ (deterministic once θ ∈ {0, 1}), in batches. */
  evaluate(data: TrainingData): { loss: number; accuracy: number } {
    const tf = this.tf;
    let loss = 0;
    let correct = 0;
    for (let start = 0; start < data.n; start += 512) {
      const rows = Math.min(512, data.n - start);
      const r = tf.tidy(() => {
        const x = tf.tensor2d(data.x.subarray(start * data.features, (start + rows) * data.features), [rows, data.features]);
        const labels = tf.oneHot(tf.tensor1d(data.y.subarray(start, start + rows), 'int32'), data.classes);
        const logits = this.forward(x);
        return [tf.mul(tf.losses.softmaxCrossEntropy(labels, logits), rows), tf.sum(tf.equal(tf.argMax(logits, 1), tf.argMax(labels, 1)))];
      });
      loss += r[0]!.dataSync()[0]!;
      correct += r[1]!.dataSync()[0]!;
      for (const t of r) t.dispose();
    }
    return { loss: loss / data.n, accuracy: correct / data.n };
  }

  /** The trained chain (θ = 1 gates are the identity), for export. */
  export(): Chain {
    const layers = this.layers.map((l): LayerSpec => {
      const s = l.spec;
      if (!isWeighted(s)) return s;
      const w = l.w!.shape;
      const trained = { kernel: l.w!.dataSync() as Float32Array, bias: l.b!.dataSync() as Float32Array, units: w[w.length - 1]! };
      return s.kind === 'dense' ? { ...s, ...trained, inDim: w[0]! } : ({ ...s, ...trained, inChannels: w[2]! } satisfies WeightedSpec);
    });
    return { inputShape: [...this.inputShape], layers };
  }

  dispose(): void {
    for (const l of this.weighted) {
      l.w!.dispose();
      l.b!.dispose();
    }
    this.optimizer.dispose();
  }
}
