/**
 * Parsimonious Bernoulli-gate training (our implementation of Guenter & Sideris; spec:
 * parsimonious-gates.md, whose [RECON] parts leave the paper's exact prior and updates open).
 *
 * A feed-forward network of Dense layers (with elementwise activations) gets one gate per hidden
 * unit: h = ξ ⊙ act(W x + b), ξ_i ~ Bernoulli(θ_i), sampled once per mini-batch. The choices,
 * documented in the README:
 * - **Objective** (negative ELBO with a flattening hyper-prior): E_ξ[loss] + Σ_i θ_i c_i + the usual
 *   Gaussian (slab) weight decay. The data term is multilinear in θ (the ξ are independent), the
 *   prior term linear; the hyper-prior cancels the entropy of q(ξ), the one term that is not. So
 *   the objective is linear in each θ_i: on [0, 1] its only stable points are θ_i ∈ {0, 1}.
 * - **Prior cost** c_i = (unitCost + strength · n_i) / N, in nats per example (the loss is a
 *   per-example mean over N training examples): `unitCost` = log((1 − γ)/γ) is the Bernoulli
 *   prior's price of keeping a unit (γ = prior keep-probability), and `strength` the description
 *   length of each of the n_i parameters the unit brings (incoming weights, bias, outgoing weights)
 *   under the slab rather than the spike.
 * - **Gate gradient**: ∂E[loss]/∂θ_i = E[loss | ξ_i = 1] − E[loss | ξ_i = 0], estimated to first
 *   order by ∂loss/∂ξ_i at the sampled ξ (straight-through).
 * - **Update**: projected SGD, θ ← clip(θ − η_θ (ĝ + c), 0, 1).
 * - **Removal**: a unit whose θ reaches 0 is removed at the end of that epoch (its weights, bias
 *   and the next layer's inputs), so later epochs are cheaper. θ = 1 is the identity at inference.
 * - **Settling**: for the last `settleEpochs` epochs, θ still inside (0, 1) is rounded and every gate
 *   frozen, so the weights finish training in the deterministic network that is exported.
 */
import type * as TF from '@tensorflow/tfjs';
import { Mulberry32 } from '../analysis/prng.ts';

export type Activation = 'relu' | 'sigmoid' | 'tanh' | 'linear';

export interface DenseSpec {
  /** in × out (TF.js kernel layout). */
  kernel: Float32Array;
  bias: Float32Array;
  inDim: number;
  units: number;
  activation: Activation;
  name: string;
}

export interface GateSettings {
  epochs: number;
  batchSize: number;
  /** Adam step size for the weights. */
  learningRate: number;
  /** SGD step size for the gate probabilities θ. */
  gateLearningRate: number;
  /** The prior cost per parameter, in nats (see above). */
  strength: number;
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

export const GATE_DEFAULTS: GateSettings = { epochs: 20, batchSize: 64, learningRate: 1e-3, gateLearningRate: 0.5, strength: 0.005, unitCost: 30, weightDecay: 0, initialTheta: 1, warmupEpochs: 1, settleEpochs: 4, seed: 0 };

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
  name: string;
  activation: Activation;
  w: TF.Variable;
  b: TF.Variable;
  /** Gate probabilities (hidden layers only). */
  theta: Float64Array | null;
  /** The original index of each remaining unit. */
  ids: number[];
}

export class GatedNetwork {
  private layers: Layer[];
  private optimizer: TF.Optimizer;
  private readonly rng: Mulberry32;
  /** θ values forced to {0, 1} at the end because they had not reached a vertex. */
  rounded = 0;
  private epochsDone = 0;
  /** θ when the structure was decided (settle), before rounding; null until then. */
  thetasAtDecision: number[][] | null = null;

  constructor(
    private readonly tf: typeof TF,
    specs: readonly DenseSpec[],
    private readonly s: GateSettings,
  ) {
    this.rng = new Mulberry32(s.seed);
    this.layers = specs.map((d, i) => ({
      name: d.name,
      activation: d.activation,
      w: tf.variable(tf.tensor2d(d.kernel, [d.inDim, d.units])),
      b: tf.variable(tf.tensor1d(d.bias)),
      theta: i < specs.length - 1 ? new Float64Array(d.units).fill(s.initialTheta) : null,
      ids: Array.from({ length: d.units }, (_, u) => u),
    }));
    this.optimizer = tf.train.adam(s.learningRate);
  }

  widths(): number[] {
    return this.layers.slice(0, -1).map((l) => l.b.shape[0]!);
  }

  /** Original indices of the units still present, per hidden layer. */
  keptUnits(): number[][] {
    return this.layers.slice(0, -1).map((l) => [...l.ids]);
  }

  thetas(): number[][] {
    return this.layers.slice(0, -1).map((l) => Array.from(l.theta!));
  }

  private act(t: TF.Tensor, a: Activation): TF.Tensor {
    const tf = this.tf;
    return a === 'relu' ? tf.relu(t) : a === 'sigmoid' ? tf.sigmoid(t) : a === 'tanh' ? tf.tanh(t) : t;
  }

  /**
   * Logits; `gates`: one 0/1 vector per hidden layer. Without gates, ξ = E[ξ] = θ: once every θ is
   * 0 or 1 (after finalize) this is the deterministic network that is exported.
   */
  forward(x: TF.Tensor, gates?: TF.Tensor[]): TF.Tensor {
    let h = x;
    this.layers.forEach((l, i) => {
      const z = this.tf.add(this.tf.matMul(h, l.w), l.b);
      h = i < this.layers.length - 1 ? this.tf.mul(this.act(z, l.activation), gates ? gates[i]! : this.tf.tensor1d(Float32Array.from(l.theta!))) : this.act(z, l.activation);
    });
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
      const xi = this.layers.slice(0, -1).map((l) => tf.variable(tf.tensor1d(Float32Array.from(l.theta!, (t) => (this.rng.uniformOpen() < t ? 1 : 0)))));
      const x = tf.tensor2d(xb, [rows, features]);
      const labels = tf.oneHot(tf.tensor1d(yb, 'int32'), classes);
      const { value, grads } = tf.variableGrads(() => {
        const logits = this.forward(x, xi);
        let loss = tf.losses.softmaxCrossEntropy(labels, logits) as TF.Scalar;
        if (this.s.weightDecay > 0) for (const l of this.layers) loss = tf.add(loss, tf.mul(this.s.weightDecay / 2, tf.sum(tf.square(l.w)))) as TF.Scalar;
        const pred = tf.argMax(logits, 1);
        correct += tf.sum(tf.equal(pred, tf.argMax(labels, 1))).dataSync()[0]!;
        return loss;
      });
      lossSum += value.dataSync()[0]! * rows;
      const weightGrads: Record<string, TF.Tensor> = {};
      for (const l of this.layers) {
        weightGrads[l.w.name] = grads[l.w.name]!;
        weightGrads[l.b.name] = grads[l.b.name]!;
      }
      this.optimizer.applyGradients(weightGrads);
      // Projected SGD on θ with the first-order gate gradient and the prior cost (after the warm-up).
      if (!this.thetasAtDecision && this.epochsDone >= this.s.warmupEpochs) this.layers.slice(0, -1).forEach((l, i) => {
        const g = grads[xi[i]!.name]!.dataSync();
        const theta = l.theta!;
        const next = this.layers[i + 1]!;
        const perUnit = l.w.shape[0]! + 1 + next.w.shape[1]!;
        const cost = (this.s.unitCost + this.s.strength * perUnit) / data.n;
        for (let u = 0; u < theta.length; u++) theta[u] = Math.min(1, Math.max(0, theta[u]! - this.s.gateLearningRate * (g[u]! + cost)));
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

  /** Removes every unit whose θ is 0: its kernel column, bias and the next layer's kernel row. */
  private removeDeadUnits(): number {
    const tf = this.tf;
    let removed = 0;
    this.layers.slice(0, -1).forEach((l, i) => {
      const theta = l.theta!;
      const keep: number[] = [];
      for (let u = 0; u < theta.length; u++) if (theta[u]! > 0) keep.push(u);
      if (keep.length === theta.length) return;
      if (keep.length === 0) keep.push(theta.indexOf(Math.max(...theta))); // never an empty layer
      const idx = tf.tensor1d(keep, 'int32');
      const next = this.layers[i + 1]!;
      const w = tf.gather(l.w, idx, 1);
      const b = tf.gather(l.b, idx);
      const wn = tf.gather(next.w, idx, 0);
      removed += theta.length - keep.length;
      l.w.dispose();
      l.b.dispose();
      next.w.dispose();
      l.w = tf.variable(w);
      l.b = tf.variable(b);
      next.w = tf.variable(wn);
      w.dispose();
      b.dispose();
      wn.dispose();
      idx.dispose();
      l.theta = Float64Array.from(keep, (u) => theta[u]!);
      l.ids = keep.map((u) => l.ids[u]!);
    });
    if (removed) {
      // The optimizer's moments belong to the old shapes: start it afresh.
      this.optimizer.dispose();
      this.optimizer = this.tf.train.adam(this.s.learningRate);
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
    for (const l of this.layers.slice(0, -1)) {
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

  /** The trained layers as plain Dense specs (θ = 1 gates are the identity), for export. */
  export(): DenseSpec[] {
    return this.layers.map((l) => ({
      name: l.name,
      activation: l.activation,
      kernel: l.w.dataSync() as Float32Array,
      bias: l.b.dataSync() as Float32Array,
      inDim: l.w.shape[0]!,
      units: l.w.shape[1]!,
    }));
  }

  dispose(): void {
    for (const l of this.layers) {
      l.w.dispose();
      l.b.dispose();
    }
    this.optimizer.dispose();
  }
}
