/**
 * Adam (Kingma & Ba) whose moments follow a variable when gate training shrinks it: `carry` gathers
 * the first and second moments of the kept units into the smaller variable, so removing units does
 * not restart the optimizer (tfjs' own Adam keeps its moments by variable position and shape).
 */
import type * as TF from '@tensorflow/tfjs';

interface Moments {
  m: TF.Tensor;
  v: TF.Tensor;
}

export class Adam {
  private readonly moments = new Map<TF.Variable, Moments>();
  private t = 0;

  constructor(
    private readonly tf: typeof TF,
    private readonly lr: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-7,
  ) {}

  /** One step on every variable with its gradient. */
  step(pairs: ReadonlyArray<[TF.Variable, TF.Tensor]>): void {
    const tf = this.tf;
    this.t++;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    for (const [variable, g] of pairs) {
      const old = this.moments.get(variable);
      const next = tf.tidy(() => {
        const m = tf.add(tf.mul(old ? old.m : tf.zerosLike(g), this.beta1), tf.mul(g, 1 - this.beta1));
        const v = tf.add(tf.mul(old ? old.v : tf.zerosLike(g), this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        variable.assign(tf.sub(variable, tf.div(tf.mul(m, this.lr / c1), tf.add(tf.sqrt(tf.div(v, c2)), this.epsilon))));
        return { m, v }; // tidy keeps what it returns
      });
      if (old) {
        old.m.dispose();
        old.v.dispose();
      }
      this.moments.set(variable, next);
    }
  }

  /** Moves the moments of `from` to `to`, keeping the entries `indices` along `axis` (the units `to` keeps). */
  carry(from: TF.Variable, to: TF.Variable, indices: TF.Tensor1D, axis: number): void {
    const old = this.moments.get(from);
    if (!old) return;
    this.moments.delete(from);
    this.moments.set(to, { m: this.tf.gather(old.m, indices, axis), v: this.tf.gather(old.v, indices, axis) });
    old.m.dispose();
    old.v.dispose();
  }

  dispose(): void {
    for (const { m, v } of this.moments.values()) {
      m.dispose();
      v.dispose();
    }
    this.moments.clear();
  }
}
