/**
 * The analysis report: a versioned JSON document that the CLI writes, the HTML report and the
 * webview render, and other tools read. Field names listed in the analysis issue are stable.
 */
import type { CheckpointFormat } from '../checkpoint.ts';
import type { AnalysisSettings, LayerResult } from '../analysis/analyzeLayer.ts';
import { median } from '../analysis/order.ts';
import type { StructureReport } from './structure.ts';

/**
 * 1.1.0: layers carry a weight `histogram`. 1.2.0: optional `calibration` and layers'
 * `activationSpectrum` (analyze --data). 1.3.0: ONNX reports carry `structure` (the dependency
 * groups, their scores and cuts); `model.size` counts every file of the model. 1.4.0: a structure
 * cut of a tensor read through an Identity names what its use `reads`.
 */
export const SCHEMA_VERSION = '1.4.0';

export interface AnalysisReport {
  schemaVersion: string;
  model: {
    path: string;
    sha256: string;
    /** Bytes of every file of the model (external data and shards included). */
    size: number;
    format: CheckpointFormat;
    producer: string;
    /** All float/quantized weight elements (as `inspect` counts them). */
    params: number;
    /** Elements of the analysed matrices and kernels. */
    weightParams: number;
  };
  prunescope: { version: string };
  settings: AnalysisSettings & { layers: string | null; workers: number };
  startedAt: string;
  finishedAt: string;
  layers: LayerResult[];
  /** Layers matching the filter that were not analysed (biases, norms, …) are only counted. */
  skipped: { count: number; params: number };
  summary: {
    alphaStableMedian: number | null;
    /** Parameter-weighted mean of the layers' multivariate alphaStable. */
    alphaStableWeighted: number | null;
    alphaHillMedian: number | null;
    alphaEsdMedian: number | null;
    /** Parameter-weighted mean over layers of the fraction prunable at ε, per method. */
    prunableAtEps: { magnitude: number | null; node: number | null; singular: number | null };
    layersInvalid: number;
    layersPartial: number;
  };
  warnings: string[];
  /** Present when analysed with calibration data. */
  calibration?: { data: string; inputs: number };
  /** ONNX: the channel-dependency groups structured pruning works on (absent when the analysis failed: see warnings). */
  structure?: StructureReport;
}

export function summarize(layers: readonly LayerResult[]): AnalysisReport['summary'] {
  const values = (pick: (l: LayerResult) => number | null) => layers.map(pick).filter((v): v is number => v !== null && Number.isFinite(v));
  const med = (xs: number[]) => (xs.length ? median(xs) : null);
  const weighted = (pick: (l: LayerResult) => number | null) => {
    let num = 0;
    let den = 0;
    for (const l of layers) {
      const v = pick(l);
      if (v === null || !Number.isFinite(v)) continue;
      num += v * l.params;
      den += l.params;
    }
    return den ? num / den : null;
  };
  return {
    alphaStableMedian: med(values((l) => l.alphaStable.multivariate)),
    alphaStableWeighted: weighted((l) => l.alphaStable.multivariate),
    alphaHillMedian: med(values((l) => l.alphaHill)),
    alphaEsdMedian: med(values((l) => l.esd?.alpha ?? null)),
    prunableAtEps: {
      magnitude: weighted((l) => l.prunableAtEps.magnitude),
      node: weighted((l) => l.prunableAtEps.node),
      singular: weighted((l) => l.prunableAtEps.singular),
    },
    layersInvalid: layers.filter((l) => l.status === 'invalid').length,
    layersPartial: layers.filter((l) => l.status === 'partial').length,
  };
}
