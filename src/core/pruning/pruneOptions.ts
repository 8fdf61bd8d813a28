/**
 * Prune options checked before any work (usage errors), the verification inputs read up front, and
 * the refusal of a prune that would remove nothing.
 */
import { UsageError, UserInputError } from '../errors.ts';
import { readCalibration } from '../runtime/calibrationInputs.ts';
import { type VerifyOptions } from '../runtime/verifyOnnx.ts';
import { readNpy } from '../formats/npy.ts';
import { checkLabels } from '../formats/samples.ts';

import type { PruneLayerReport, PruneOptions } from './types.ts';

export function validatePruneOptions(o: PruneOptions): void {
  if (o.method === 'spectral') {
    if (!o.data && !o.randomCalibration) throw new UsageError('spectral pruning needs calibration data: --data calib.npy (or --random-calibration for a data-free, weaker result)');
    if (o.data && o.randomCalibration) throw new UsageError('give --data or --random-calibration, not both');
    if (o.budget !== undefined) throw new UsageError('spectral pruning takes --ratio, --eps or --plan (not --budget)');
    if (o.theta !== undefined && !(o.theta >= 0 && o.theta <= 1)) throw new UsageError(`--theta must be in [0, 1], not ${o.theta}`);
    if (o.lambdaRel !== undefined && !(o.lambdaRel > 0)) throw new UsageError(`--lambda-rel must be > 0, not ${o.lambdaRel}`);
    if (o.samples !== undefined && !(Number.isSafeInteger(o.samples) && o.samples > 0)) throw new UsageError(`--samples must be a positive integer, not ${o.samples}`);
  }
  if (o.method !== 'magnitude' && o.method !== 'node' && o.global) throw new UsageError(`--global is for magnitude and node pruning`);
  const given = [o.ratio, o.eps, o.budget, o.plan].filter((x) => x !== undefined).length;
  if (given !== 1) throw new UsageError('give exactly one of --ratio, --eps, --budget or --plan');
  if (o.budget !== undefined && !(Number.isSafeInteger(o.budget) && o.budget > 0)) throw new UsageError(`--budget must be a positive number of parameters, not ${o.budget}`);
  if (o.ratio !== undefined && !(o.ratio >= 0 && o.ratio < 1)) throw new UsageError(`--ratio must be in [0, 1), not ${o.ratio}`);
  if (o.eps !== undefined && !(o.eps > 0)) throw new UsageError(`--eps must be > 0, not ${o.eps}`);
  if (o.sparse && o.centre === 'median') throw new UsageError('--sparse stores zeros implicitly; it cannot be combined with --center median');
  if (o.global && o.ratio === undefined) throw new UsageError('--global takes --ratio (one threshold for a fraction of all weights)');
}

/**
 * What to verify on, read up front so that bad files fail before any pruning work: null when no
 * verification is asked; --data implies it.
 */
export function loadVerification(o: PruneOptions): VerifyOptions | null {
  if (o.labels && !o.data) throw new UsageError('--labels needs --data');
  if (!o.data) return o.verify ? {} : null;
  const data = readCalibration(o.data, Number.MAX_SAFE_INTEGER, o.image);
  if (!o.labels) return { data };
  return { data, labels: { file: o.labels, values: checkLabels(readNpy(o.labels), data.shape[0]!) } };
}

/**
 * A prune that removes nothing is not a success: refused before anything is written, with the
 * reasons the layers gave (the most common first).
 */
export function refuseNothingRemoved(o: PruneOptions, layers: readonly PruneLayerReport[], notes: readonly string[] = []): void {
  if (layers.some((l) => !l.skipped && (l.paramsAfter < l.paramsBefore || l.ratio > 0))) return;
  const why = new Map<string, number>();
  for (const l of layers) {
    const reason = (l.reason ?? (l.ratio === 0 ? 'its ratio rounds to zero units' : 'nothing to remove')).replace(/^own outputs kept: /, '').replace(/group \d+: /, '');
    why.set(reason, (why.get(reason) ?? 0) + 1);
  }
  const top = [...why].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([r, n]) => `${n} layer${n === 1 ? '' : 's'}: ${r}`);
  // Dims the analysis had to choose are a likely cause: say which, and how to set them.
  const dims = notes.find((n) => n.startsWith('dynamic input dims chosen'));
  throw new UserInputError(`${o.method} pruning would remove nothing, so nothing was written (${top.join('; ') || 'no weight layers'})${dims ? `; ${dims}` : ''}`);
}

