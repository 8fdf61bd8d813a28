/**
 * Checks on sample arrays read from the user's files (training data, labels, calibration and
 * verification inputs): every problem is a CheckpointError naming the file and what was expected.
 */
import { CheckpointError, quote } from '../errors.ts';
import type { NpyArray } from './npy.ts';

const shapeText = (shape: readonly number[]) => `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;

/** The index and value of the first NaN or ±Inf in `v`, if any. */
export function firstNonFinite(v: ArrayLike<number>): { index: number; value: number } | undefined {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) return { index: i, value: v[i]! };
  return undefined;
}

/**
 * `x` as samples: a sample axis first with at least one sample, finite values, and (when given)
 * `perSample` values per sample; `what` names the option (e.g. '--data').
 */
export function checkSamples(x: NpyArray, what: string, perSample?: { size: number; shape: string }): NpyArray {
  if (x.shape.length === 0) throw new CheckpointError(x.file, `${what} must be an array of samples (sample axis first), not a scalar`);
  const n = x.shape[0]!;
  if (n === 0) throw new CheckpointError(x.file, `${what} holds no samples: its shape is ${shapeText(x.shape)}`);
  const per = x.shape.slice(1).reduce((a, b) => a * b, 1);
  if (perSample && per !== perSample.size) {
    throw new CheckpointError(x.file, `${what} has shape ${shapeText(x.shape)}: ${per} values per sample, but the model takes ${perSample.shape}`);
  }
  const bad = firstNonFinite(x.values);
  if (bad) {
    const at = Math.floor(bad.index / Math.max(1, per));
    throw new CheckpointError(x.file, `${what} holds a non-finite value (${bad.value}) in sample ${at}; samples must be finite numbers`);
  }
  return x;
}

/**
 * Refuses samples whose shape does not fit a model input declared as `declared` (batch axis
 * first; a number > 0 is a fixed size, anything else is dynamic).
 */
export function checkSampleShape(x: NpyArray, declared: ReadonlyArray<number | string | null | undefined>, input: string): void {
  const fixed = (d: unknown): d is number => typeof d === 'number' && d > 0;
  const want = `(${declared.map((d, i) => (i === 0 ? 'N' : fixed(d) ? d : String(d ?? '?'))).join(', ')})`;
  if (declared.length !== x.shape.length || declared.some((d, i) => i > 0 && fixed(d) && d !== x.shape[i])) {
    throw new CheckpointError(x.file, `has shape ${shapeText(x.shape)}, but the model's input '${quote(input)}' takes ${want}`);
  }
}

/** Class labels read from a file (checked by checkLabels). */
export interface Labels {
  file: string;
  values: Int32Array;
}

/** Refuses labels outside [0, classes): a model with `classes` outputs cannot predict them. */
export function checkLabelRange(labels: Labels, classes: number): void {
  for (let i = 0; i < labels.values.length; i++) {
    const v = labels.values[i]!;
    if (v >= classes) throw new CheckpointError(labels.file, `label ${i} is ${v}, but the model has ${classes} outputs (classes 0 … ${classes - 1})`);
  }
}

/** `y` as one integer class label per sample, each in [0, classes) when `classes` is given. */
export function checkLabels(y: NpyArray, n: number, classes?: number): Int32Array {
  const single = y.shape.length === 1 || (y.shape.length === 2 && y.shape[1] === 1);
  if (!single) throw new CheckpointError(y.file, `--labels must hold one class index per sample (shape (${n},)), not shape ${shapeText(y.shape)}`);
  if (y.shape[0] !== n) throw new CheckpointError(y.file, `--labels has ${y.shape[0]} labels for ${n} samples`);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = y.values[i]!;
    if (!Number.isInteger(v) || v < 0 || v > 2 ** 31 - 1 || (classes !== undefined && v >= classes)) {
      const range = classes !== undefined ? `0 … ${classes - 1}` : '0, 1, …';
      throw new CheckpointError(y.file, `label ${i} is ${v}; labels must be class indices ${range}`);
    }
    out[i] = v;
  }
  return out;
}
