/**
 * With calibration data, `analyze` also reports each layer's activation spectrum (spec
 * spectral-pruning.md §3.2): the eigenvalues of Σ̂ = (1/n) Σ φφᵀ of the units the next layer reads,
 * the degrees of freedom N̂(λ) over a grid of ridge levels, and the leverage scores. ONNX only;
 * the layers are those spectral pruning can use (their dependency group reads one activation).
 */
import type { Checkpoint, WeightTensor } from '../checkpoint.ts';
import { type ImageInputOptions, readCalibration } from '../runtime/calibrationInputs.ts';
import { degreesOfFreedom, eigenvaluesDescending, leverageScores } from '../linalg/secondMoment.ts';
import { captureSecondMoments } from '../runtime/captureActivations.ts';
import type { StructureAnalysis } from '../pruning/structured/pruneNodes.ts';
import { spectralTargets } from '../pruning/structured/spectralGroups.ts';

/** Ridge levels λ = c · Tr(Σ̂)/m reported for N̂(λ); the spectral pruning default is c = 1e-3. */
export const LAMBDA_GRID = [1e-4, 1e-3, 1e-2, 1e-1] as const;

export interface ActivationSpectrum {
  /** The tensor whose covariance this is (the next layer's input). */
  tensor: string;
  units: number;
  samples: number;
  lambdaRel: number[];
  lambdas: number[];
  /** N̂(λ) for each λ of the grid. */
  degreesOfFreedom: number[];
  /** Eigenvalues of Σ̂, descending. */
  eigenvalues: number[];
  /** Leverage scores at λ = 1e-3 · Tr(Σ̂)/m. */
  leverage: number[];
}

export interface CalibrationSummary {
  data: string;
  inputs: number;
}

export async function activationSpectra(ck: Checkpoint, structure: StructureAnalysis, layers: readonly WeightTensor[], data: string, samples: number, image?: ImageInputOptions): Promise<{ spectra: Map<string, ActivationSpectrum>; refused: Map<string, string>; calibration: CalibrationSummary }> {
  const x = readCalibration(data, samples, image);
  const { targets, refused } = spectralTargets(structure, layers.map((w) => w.name));
  const spectra = new Map<string, ActivationSpectrum>();
  if (targets.size === 0) return { spectra, refused, calibration: { data, inputs: 0 } };
  const unique = [...new Map([...targets.values()].map((t) => [t.tensor, t])).values()];
  const captured = await captureSecondMoments(ck.file, unique, { kind: 'data', x });
  for (const [name, t] of targets) {
    const moment = captured.moments.get(t.tensor)!;
    const m = t.units;
    const sigma = moment.matrix();
    let trace = 0;
    for (let i = 0; i < m; i++) trace += sigma[i * m + i]!;
    const scale = (trace > 0 ? trace : 1) / m;
    const eigenvalues = eigenvaluesDescending(sigma, m);
    const lambdas = LAMBDA_GRID.map((c) => c * scale);
    spectra.set(name, {
      tensor: t.tensor,
      units: m,
      samples: moment.samples,
      lambdaRel: [...LAMBDA_GRID],
      lambdas,
      degreesOfFreedom: lambdas.map((l) => degreesOfFreedom(eigenvalues, l)),
      eigenvalues: Array.from(eigenvalues),
      leverage: Array.from(leverageScores(sigma, m, 1e-3 * scale)),
    });
  }
  return { spectra, refused, calibration: { data, inputs: captured.inputs } };
}
