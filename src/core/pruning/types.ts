/**
 * The prune command's options and report: what crosses the CLI, the worker and the webview.
 */
import type { ImageInputOptions } from '../runtime/calibrationInputs.ts';
import type { Verification } from '../runtime/verifyOnnx.ts';
import type { Centre } from './magnitude.ts';
import type { PrunePlan } from './plan.ts';

export type PruneMethod = 'magnitude' | 'singular' | 'node' | 'spectral';

export interface PruneOptions {
  method: PruneMethod;
  ratio?: number;
  eps?: number;
  global?: boolean;
  layers?: RegExp;
  centre?: Centre;
  force?: boolean;
  verify?: boolean;
  /** ONNX: initializer bytes in `<out>.data` — 'auto' only past protobuf's 2 GiB limit, 'always' regardless. */
  externalData?: 'auto' | 'always';
  /** ONNX magnitude pruning: store pruned layers as SparseTensorProto where that is smaller (and onnxruntime loads it). */
  sparse?: boolean;
  /** TF.js: write float32 weights instead of the source's quantization. */
  float32?: boolean;
  /** Keep at most this many parameters in the whole model (per-layer ratios chosen from the curves). */
  budget?: number;
  /** A plan (JSON, as written in a report's `plan`) giving each layer's ratio or skip. */
  plan?: unknown;
  /** .npy samples to verify on (implies verify), and optional integer labels for accuracy; spectral: also the calibration set. */
  data?: string;
  labels?: string;
  /** --data is a folder of images: their input size, normalisation and layout. */
  image?: ImageInputOptions;
  /** Spectral: calibrate on seeded random inputs instead of --data (data-free, weaker). */
  randomCalibration?: boolean;
  /** Spectral: number of calibration samples (the first of --data, or random ones). Default 512. */
  samples?: number;
  /** Spectral: weight of the activation term vs. the next layer's output term. Default 0.5. */
  theta?: number;
  /** Spectral: ridge λ relative to Tr(Σ̂)/m. Default 1e-3. */
  lambdaRel?: number;
  /** Other files the caller read for this run (e.g. --plan): never written over. */
  inputFiles?: string[];
  /** Raised by SIGINT/SIGTERM (CLI): the run stops at its next step and writes nothing. */
  signal?: AbortSignal;
  /** Tag of the staging folder (the extension removes it after terminating a worker). */
  tempTag?: string;
  /** Dims for the model's dynamic inputs (`--input-shape name=1x16000`), for shape inference and verification. */
  inputShapes?: Array<{ name: string | null; dims: number[] }>;
}

export interface GroupReport {
  id: number;
  /** Weight layers whose own output units the group holds. */
  layers: string[];
  /** Pruning units (whole heads, conv groups… count as one) and how many went. */
  units: number;
  removed: number;
  /** Relative error over all the group's scored slices (its node curve). */
  relErr: number | null;
  /** Why the statistics of a normalisation change (the outputs are then only approximately kept). */
  approximate: string[];
  refused?: string;
}

export interface PruneLayerReport {
  name: string;
  method: PruneMethod;
  /** Fraction of the layer's entries pruned (k / n). */
  ratio: number;
  paramsBefore: number;
  paramsAfter: number;
  /** ‖W − W'‖ / ‖W − c‖. */
  relErr: number | null;
  skipped: boolean;
  reason?: string;
  /** Node pruning (ONNX): the dependency group of the layer's own output units. */
  group?: { id: number; coupled: string[]; approximate: boolean };
  /** Spectral: the layer's degrees of freedom N̂(λ), ridge λ, Σ̂ eigenvalues (descending) and next layer. */
  spectral?: { degreesOfFreedom: number; lambda: number; eigenvalues: number[]; consumer: string };
}

export interface PruneReport {
  input: string;
  output: string;
  method: PruneMethod;
  paramsBefore: number;
  paramsAfter: number;
  bytes: { before: number; after: number; afterGzip: number; afterSparse: number; afterSparseIsEstimate: boolean };
  /** Things the user should know about the output (e.g. a sparse encoding onnxruntime refused). */
  notes: string[];
  layers: PruneLayerReport[];
  /** The per-layer ratios used (reusable with --plan). */
  plan: PrunePlan;
  /** ONNX: multiply-adds per sample of the weight layers, before and after (null where not derivable). */
  multiplyAdds: { before: number; after: number; unknownLayers: string[] } | null;
  /** Node pruning (ONNX): every dependency group, what it gave up, or why it could not. */
  groups?: GroupReport[];
  verify: Verification | null;
}

