/**
 * Activation capture for spectral pruning: a temporary copy of the ONNX model exposes the chosen
 * intermediate tensors as extra graph outputs; onnxruntime-node runs it on the calibration inputs
 * in batches, and each batch is folded into the layers' second moments Σ̂ (float64) and dropped,
 * so memory holds one batch of activations plus the m×m matrices, never the whole set.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Mulberry32 } from '../analysis/prng.ts';
import { quote, UserInputError } from '../errors.ts';
import type { NpyArray } from '../formats/npy.ts';
import { firstNonFinite } from '../formats/samples.ts';
import { writeOnnxWithEdits } from '../formats/onnx/writeOnnx.ts';
import { SecondMoment } from '../linalg/secondMoment.ts';
import { dataFeeds, randomFeed } from './verifyOnnx.ts';
import { openSession, runOptions } from './onnxSession.ts';

export interface CaptureTarget {
  /** The tensor whose units are pruned (the consumer's input, after activation / BN / pools). */
  tensor: string;
  units: number;
  /** The axis of the units (default 1: NCHW channels, [N, F] features); every other index is a sample. */
  axis?: number;
}

export type Calibration = { kind: 'data'; x: NpyArray } | { kind: 'random'; samples: number; seed: number; inputDims?: ReadonlyMap<string, number[]> };

export interface Captured {
  moments: Map<string, SecondMoment>;
  /** Input samples run (images, not spatial positions). */
  inputs: number;
  /** The most activation bytes held at once (one batch's captured outputs): all the capture keeps besides Σ̂. */
  peakBatchBytes: number;
}

export async function captureSecondMoments(model: string, targets: readonly CaptureTarget[], calibration: Calibration): Promise<Captured> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prunescope-capture-'));
  try {
    const patched = path.join(dir, 'capture.onnx');
    writeOnnxWithEdits(model, patched, { replace: new Map(), addOutputs: targets.map((t) => t.tensor) });
    const session = await openSession(patched);
    const moments = new Map(targets.map((t) => [t.tensor, new SecondMoment(t.units)]));
    const fetches = targets.map((t) => t.tensor);
    let inputs = 0;
    let peakBatchBytes = 0;
    const run = async (feed: Record<string, ort.Tensor>) => {
      const out = await session.run(feed, fetches, runOptions());
      peakBatchBytes = Math.max(peakBatchBytes, targets.reduce((a, t) => a + (out[t.tensor]!.data as Float32Array).byteLength, 0));
      for (const t of targets) {
        const y = out[t.tensor]!;
        const dims = y.dims.map(Number);
        const axis = t.axis ?? 1;
        if (dims[axis] !== t.units) throw new Error(`'${t.tensor}' has shape (${dims.join(', ')}), not ${t.units} units on axis ${axis}`);
        const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
        const spatial = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
        const bad = firstNonFinite(y.data as Float32Array);
        if (bad) {
          const source = calibration.kind === 'data' ? `the calibration data (${path.basename(calibration.x.file)})` : 'random calibration inputs';
          throw new UserInputError(`the activations of '${quote(t.tensor)}' become ${bad.value} on ${source}: check the data's scale and normalisation, and the model's weights`);
        }
        moments.get(t.tensor)!.add(y.data as Float32Array, outer, spatial);
        y.dispose();
      }
      inputs += Number(Object.values(feed)[0]!.dims[0]);
    };
    try {
      if (calibration.kind === 'data') {
        for (const { feed } of dataFeeds(session, calibration.x)) await run(feed);
      } else {
        const rng = new Mulberry32(calibration.seed);
        for (let i = 0; i < calibration.samples; i++) await run(randomFeed(session, rng, calibration.inputDims));
      }
    } finally {
      await session.release();
    }
    return { moments, inputs, peakBatchBytes };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
