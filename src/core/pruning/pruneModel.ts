/**
 * `prunescope prune`: prunes a checkpoint's weight layers and writes a new model next to nothing
 * but the chosen output, then (optionally) verifies it against the original in onnxruntime.
 * Implemented so far: magnitude pruning of ONNX models (per layer, global, or ε-targeted).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { type Checkpoint, type GraphOp, MATRIX_KINDS, type WeightTensor } from '../checkpoint.ts';
import { CheckpointError, UsageError, UserInputError } from '../errors.ts';
import { InputFiles } from '../io/inputFiles.ts';
import { OutputTransaction, testPause, yieldToSignals } from '../io/outputTransaction.ts';
import { readModelJson } from '../formats/tfjs/readTfjs.ts';
import { TFJS_SHARD } from '../formats/tfjs/writeTfjs.ts';
import { openCheckpoint } from '../formats/openCheckpoint.ts';
import type { NodeSpec } from '../formats/onnx/onnxBuilder.ts';
import { type InitializerReplacement, type OnnxEdits, type SparseInitializer, writeOnnxWithEdits } from '../formats/onnx/writeOnnx.ts';
import { canonicalShape, fromCanonical, readCanonical, transpose2d } from '../tensor/layout.ts';
import { countMultiplyAdds } from './flops.ts';
import { SPECTRAL_DEFAULTS, type SpectralTarget, spectralPrune, type UnitChoice } from './spectralPrune.ts';
import type { Calibration } from '../runtime/captureActivations.ts';
import { readCalibration } from '../runtime/calibrationInputs.ts';
import { pruneOnnxNodes, sizeAfter } from './onnxNodes.ts';
import { analyseStructure } from './structured/pruneNodes.ts';
import { parsePlan, planFromBudget, planFromEps, planFromRatio, type PrunePlan } from './plan.ts';
import { planTfjsPruning, writeTfjsLayersModel } from './pruneTfjs.ts';
import { chooseTfjsSpectral } from './spectralTfjs.ts';
import { verifyTfjs } from '../runtime/verifyTfjs.ts';
import { writeSafetensors } from '../formats/safetensors/writeSafetensors.ts';
import { pruneSingular, reconstruct } from './singular.ts';
import { verifyOnnx, type Verification, type VerifyOptions } from '../runtime/verifyOnnx.ts';
import { openSession } from '../runtime/onnxSession.ts';
import { constantsAsInitializers } from './structured/onnxGraphEdits.ts';
import { resolveInputDims } from '../graph/inputDims.ts';
import { onnxGraph } from '../graph/onnxGraph.ts';
import { readNpy } from '../formats/npy.ts';
import { checkLabels, firstNonFinite } from '../formats/samples.ts';
import { bytesPerElement, encodeFloats } from '../tensor/dtype.ts';
import { type MagnitudePruned, pruneMagnitude, pruneMagnitudeGlobal } from './magnitude.ts';

import type { GroupReport, PruneLayerReport, PruneOptions, PruneReport } from './types.ts';

export type { PruneLayerReport, PruneMethod, PruneOptions, PruneReport } from './types.ts';

function validate(o: PruneOptions): void {
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

async function pruneTfjsModel(ck: Checkpoint, input: string, tx: OutputTransaction, o: PruneOptions, verifyOn: VerifyOptions | null): Promise<PruneReport> {
  const out = tx.model;
  const json = readModelJson(input) as { modelTopology: Record<string, unknown>; weightsManifest: Array<{ weights: unknown[] }> };
  if (json.weightsManifest.reduce((a, g) => a + g.weights.length, 0) !== ck.weights.length) throw new UsageError('the model has non-float weights, which the TF.js writer does not carry over yet');
  const selected = ck.weights.filter((w) => MATRIX_KINDS.has(w.layer.kind) && (!o.layers || o.layers.test(w.name)));
  if (o.layers && selected.length === 0) throw new UsageError(`--layers ${o.layers.source} matches no weight layer`);
  const layers: PruneLayerReport[] = [];
  const notes: string[] = [];
  // Spectral: ε is an activation-error target, not a curve level; the plan is written afterwards.
  const prunePlan = o.method === 'spectral' && o.eps !== undefined ? planFromRatio(selected, 'spectral', 'none', 0) : buildPlan(ck, selected, o);
  const { kept, ratio } = applyPlan(prunePlan, selected, o, layers);
  let spectral: Map<string, UnitChoice> | undefined;
  if (o.method === 'spectral') {
    const calibration = spectralCalibration(o, notes, new Map());
    const target: SpectralTarget = o.eps !== undefined ? { eps: o.eps } : { ratio };
    spectral = await chooseTfjsSpectral(ck, json.modelTopology, kept, target, { theta: o.theta ?? SPECTRAL_DEFAULTS.theta, lambdaRel: o.lambdaRel ?? SPECTRAL_DEFAULTS.lambdaRel, calibration });
    for (const [name, c] of spectral) {
      if (c.samples < c.units) notes.push(rankDeficient(name, c));
      const entry = prunePlan.layers.find((l) => l.name === name);
      if (entry) entry.ratio = 1 - c.kept.length / c.units;
    }
  }
  const plan = planTfjsPruning(ck, json.modelTopology, o, kept, ratio, layers, spectral);
  refuseNothingRemoved(o, layers);
  await yieldToSignals(o.signal);
  writeTfjsLayersModel({ file: input, json }, tx, plan.topology, plan.weights);
  const verify = await verifyStaged(verifyOn, (on) => verifyTfjs(input, tx.stagedModel, on), o.signal);
  await tx.commit(o.signal);
  const paramsBefore = ck.weights.reduce((a, w) => a + w.size, 0);
  const after = totalSize(tx.files);
  const before = totalSize(ck.files);
  return {
    input,
    output: out,
    method: o.method,
    paramsBefore,
    paramsAfter: paramsBefore - plan.removed,
    bytes: { before, after, afterGzip: await gzipSize(tx.files), afterSparse: after, afterSparseIsEstimate: true },
    notes,
    layers,
    plan: prunePlan,
    multiplyAdds: null,
    verify,
  };
}

/**
 * Per-layer ratios for `eligible` (and the layers a plan skips). The budget counts every parameter
 * of the model: what the pruned layers may keep is the budget minus everything else.
 */
function buildPlan(ck: Checkpoint, eligible: WeightTensor[], o: PruneOptions): PrunePlan {
  const centre = o.centre ?? 'none';
  try {
    if (o.plan !== undefined) return parsePlan(o.plan, ck, o.method);
    if (o.eps !== undefined) return planFromEps(eligible, o.method, centre, o.eps);
    if (o.budget !== undefined) {
      const fixed = ck.weights.reduce((a, w) => a + w.size, 0) - eligible.reduce((a, w) => a + w.size, 0);
      if (o.budget <= fixed) throw new UsageError(`a budget of ${o.budget} parameters does not even cover the ${fixed} parameters that are not pruned`);
      return planFromBudget(eligible, o.method, centre, o.budget - fixed);
    }
    return planFromRatio(eligible, o.method, centre, o.ratio!);
  } catch (e) {
    if (e instanceof UsageError) throw new UsageError(e.message);
    throw e;
  }
}

/** Applies a plan's skips (and skips layers holding NaN/Inf) and returns each remaining layer's ratio. */
function applyPlan(plan: PrunePlan, eligible: WeightTensor[], o: PruneOptions, layers: PruneLayerReport[]): { kept: WeightTensor[]; ratio: (name: string) => number } {
  const byName = new Map(plan.layers.map((l) => [l.name, l]));
  const kept: WeightTensor[] = [];
  const skip = (w: WeightTensor, reason: string) => layers.push({ name: w.name, method: o.method, ratio: 0, paramsBefore: w.size, paramsAfter: w.size, relErr: null, skipped: true, reason });
  for (const w of eligible) {
    const l = byName.get(w.name);
    if (!l || l.skip) {
      skip(w, l ? 'skipped by the plan' : 'not in the plan');
      continue;
    }
    const bad = firstNonFinite(w.read());
    if (bad) skip(w, `holds ${bad.value} values (a corrupted file?): not pruned`);
    else kept.push(w);
  }
  return { kept, ratio: (name) => byName.get(name)?.ratio ?? 0 };
}

/**
 * Runs the verification on the staged model when asked, before anything is committed: the original
 * failing is reported as such (bad input), the pruned model failing is a bug (and nothing is written).
 */
async function verifyStaged(on: VerifyOptions | null, run: (on: VerifyOptions) => Promise<Verification>, signal?: AbortSignal): Promise<Verification | null> {
  await staged(signal);
  return on ? await run(on) : null;
}

/** Every file is written to the staging folder: a cancel stops here, before verification and commit. */
async function staged(signal?: AbortSignal): Promise<void> {
  await testPause('staged', signal);
  await yieldToSignals(signal);
}

/** Bytes of all the files of a model. */
function totalSize(files: readonly string[]): number {
  return files.reduce((a, f) => a + fs.statSync(f).size, 0);
}

/**
 * What to verify on, read up front so that bad files fail before any pruning work: null when no
 * verification is asked; --data implies it.
 */
function loadVerification(o: PruneOptions): VerifyOptions | null {
  if (o.labels && !o.data) throw new UsageError('--labels needs --data');
  if (!o.data) return o.verify ? {} : null;
  const data = readCalibration(o.data, Number.MAX_SAFE_INTEGER, o.image);
  if (!o.labels) return { data };
  return { data, labels: { file: o.labels, values: checkLabels(readNpy(o.labels), data.shape[0]!) } };
}

/**
 * safetensors: no graph, so node pruning (which must shrink consumers) is refused; magnitude and
 * singular-value pruning (as the dense rank-r reconstruction) rewrite tensors in place of shape.
 * Every tensor of the source, including non-float ones, is written to one output file.
 */
function checkSafetensorsOptions(input: string, o: PruneOptions): void {
  if (o.method === 'node') throw new UsageError('node pruning needs a graph to shrink the next layers; safetensors has none (use magnitude or singular)');
  if (o.verify || o.data) throw new UsageError('--verify needs a runnable model; safetensors holds weights only');
  if (input.endsWith('.index.json')) throw new UsageError('pruning sharded safetensors is not implemented yet (single .safetensors files are)');
}

async function pruneSafetensorsModel(ck: Checkpoint, input: string, tx: OutputTransaction, o: PruneOptions): Promise<PruneReport> {
  const out = tx.model;
  const selected = ck.weights.filter((w) => MATRIX_KINDS.has(w.layer.kind) && (!o.layers || o.layers.test(w.name)));
  if (o.layers && selected.length === 0) throw new UsageError(`--layers ${o.layers.source} matches no weight layer`);
  const layers: PruneLayerReport[] = [];
  const prunePlan = buildPlan(ck, selected, o);
  const { kept, ratio } = applyPlan(prunePlan, selected, o, layers);
  const newValues = new Map<string, ArrayLike<number>>();
  let removed = 0;
  if (o.method === 'magnitude') {
    const pruned = o.global ? pruneMagnitudeGlobal(kept.map((w) => w.read()), o.ratio!, o.centre ?? 'none') : kept.map((w) => pruneMagnitude(w.read(), { ratio: ratio(w.name) }, o.centre ?? 'none'));
    kept.forEach((w, i) => {
      const p = pruned[i]!;
      newValues.set(w.name, p.values);
      removed += p.k;
      layers.push({ name: w.name, method: o.method, ratio: p.k / p.n, paramsBefore: p.n, paramsAfter: p.n - p.k, relErr: p.relErr, skipped: false });
    });
  } else {
    for (const w of kept) {
      const shape = canonicalShape(w.layer.layout, w.shape);
      const m = shape[0]!;
      const n = w.size / m;
      const f = pruneSingular(readCanonical(w), m, n, ratio(w.name), o.centre ?? 'none');
      newValues.set(w.name, fromCanonical(w.layer.layout, w.shape, reconstruct(f, m, n)));
      layers.push({ name: w.name, method: o.method, ratio: 1 - f.keep / Math.min(m, n), paramsBefore: w.size, paramsAfter: w.size, relErr: f.relErr, skipped: false, reason: `dense rank-${f.rank} reconstruction (safetensors has no graph to factorise into)` });
    }
  }
  const tensors = [
    ...ck.weights.map((w) => {
      const values = newValues.get(w.name);
      return { name: w.name, dtype: w.dtype, shape: w.shape, bytes: values ? encodeFloats(values, w.dtype as 'float32') : w.readBytes() };
    }),
    ...(ck.carried ?? []).map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: t.readBytes() })),
  ];
  refuseNothingRemoved(o, layers);
  await yieldToSignals(o.signal);
  writeSafetensors(tx, tensors, { ...ck.metadata, pruned_by: `prunescope ${o.method}` });
  await staged(o.signal);
  await tx.commit(o.signal);
  const paramsBefore = ck.weights.reduce((a, w) => a + w.size, 0);
  const after = totalSize(tx.files);
  return {
    input,
    output: out,
    method: o.method,
    paramsBefore,
    paramsAfter: paramsBefore - removed,
    bytes: { before: totalSize(ck.files), after, afterGzip: await gzipSize(tx.files), afterSparse: after, afterSparseIsEstimate: true },
    notes: [],
    layers,
    plan: prunePlan,
    multiplyAdds: null,
    verify: null,
  };
}

/** Why a weight cannot be pruned (undefined when it can). */
function ineligible(w: WeightTensor): string | undefined {
  if (!MATRIX_KINDS.has(w.layer.kind)) return `${w.layer.kind} tensors are not pruned`;
  if (w.quantized) return 'quantized weights are not pruned yet';
  if (!['float32', 'float64', 'float16', 'bfloat16'].includes(w.dtype)) return `dtype ${w.dtype} is not pruned`;
  if (!w.onnx || w.onnx.graph !== '') return `it lives in the subgraph ${w.onnx?.graph ?? '?'} (weights in If/Loop bodies are not rewritten)`;
  return undefined;
}

export async function pruneModel(file: string, output: string, o: PruneOptions): Promise<PruneReport> {
  validate(o);
  const verifyOn = loadVerification(o);
  const input = path.resolve(file);
  const out = path.resolve(output);
  const ck = openCheckpoint(input);
  let tx: OutputTransaction | undefined;
  try {
    if (ck.format === 'tfjs-graph') throw new UsageError('pruning TF.js graph-models is not implemented yet (ONNX, TF.js layers-models and safetensors are)');
    const wantExt = ck.format === 'onnx' ? '.onnx' : ck.format === 'safetensors' ? '.safetensors' : '.json';
    if (!out.toLowerCase().endsWith(wantExt)) throw new UsageError(`the output must be a ${wantExt} file for a ${ck.format} model: ${output}`);
    if (o.method === 'spectral' && ck.format !== 'onnx' && ck.format !== 'tfjs-layers') throw new UsageError(`spectral pruning is implemented for ONNX models and TF.js layers-models, not ${ck.format}`);
    if (ck.format === 'safetensors') checkSafetensorsOptions(input, o);
    if (o.method === 'node' && o.global && ck.format !== 'onnx') throw new UsageError(`--global node pruning (one threshold over the dependency groups) is implemented for ONNX models, not ${ck.format}`);
    if (ck.format === 'tfjs-layers' && path.dirname(out) === path.dirname(input)) throw new CheckpointError(input, "refusing to write the pruned model into the original model's folder (its weight shards would mix)");
    tx = OutputTransaction.open(out, { inputs: runInputs(ck, o), force: o.force ?? false, sideFiles: sideFilesOf(ck.format, out, o), ...(o.tempTag ? { tag: o.tempTag } : {}) });
    tx.replaces(filesOfExistingModel(out));
    await testPause('opened', o.signal);
    await yieldToSignals(o.signal);
    if (ck.format === 'tfjs-layers') return await pruneTfjsModel(ck, input, tx, o, verifyOn);
    if (ck.format === 'safetensors') return await pruneSafetensorsModel(ck, input, tx, o);
    const selected = ck.weights.filter((w) => MATRIX_KINDS.has(w.layer.kind) && (!o.layers || o.layers.test(w.name)));
    if (o.layers && selected.length === 0) throw new UsageError(`--layers ${o.layers.source} matches no weight layer`);
    // Random inputs (verification, data-free calibration) take the graph's dims: symbols, defaults, --input-shape.
    const inputDims = resolveInputDims(onnxGraph(ck), o.inputShapes ?? []).dims;
    if (verifyOn && !verifyOn.data) verifyOn.inputDims = inputDims;
    // Node pruning cuts weights wherever they live (Constant nodes, behind DequantizeLinear): the
    // dependency analysis decides per layer. The other methods rewrite main-graph float tensors.
    const refusal = (w: WeightTensor) => (o.method === 'node' ? undefined : ineligible(w));
    const eligible = selected.filter((w) => refusal(w) === undefined);
    const layers: PruneLayerReport[] = selected
      .filter((w) => refusal(w) !== undefined)
      .map((w) => ({ name: w.name, method: o.method, ratio: 0, paramsBefore: w.size, paramsAfter: w.size, relErr: null, skipped: true, reason: refusal(w)! }));
    if (o.method === 'spectral') {
      const { plan, planned, notes } = await spectralEdits(ck, eligible, o, layers, inputDims);
      return await finish(ck, tx, o, verifyOn, layers, plan, planned, notes);
    }
    if (o.method === 'node') {
      const r = pruneOnnxNodes(ck, eligible, o, layers);
      return await finish(ck, tx, o, verifyOn, layers, r.plan, { edits: r.edits, sparseSaving: 0, groups: r.groups }, r.notes);
    }
    const plan = buildPlan(ck, eligible, o);
    const { kept: planned, ratio } = applyPlan(plan, eligible, o, layers);
    if (o.method === 'singular') return await finish(ck, tx, o, verifyOn, layers, plan, pruneSingularEdits(ck.ops, planned, o, ratio, layers));
    let pruned: MagnitudePruned[];
    if (o.global) pruned = pruneMagnitudeGlobal(planned.map((w) => w.read()), o.ratio!, o.centre ?? 'none');
    else pruned = planned.map((w) => pruneMagnitude(w.read(), { ratio: ratio(w.name) }, o.centre ?? 'none'));
    const replace = new Map<string, InitializerReplacement>();
    const sparse = new Map<string, SparseInitializer>();
    let removed = 0;
    let sparseSaving = 0;
    planned.forEach((w, i) => {
      const p = pruned[i]!;
      if (p.k === p.n) throw new UsageError(`pruning '${w.name}' would remove all ${p.n} weights; refused`);
      replace.set(w.name, { dims: w.shape, dataType: w.onnx!.dataType, raw: encodeFloats(p.values, w.dtype as 'float32') });
      removed += p.k;
      // Sparse estimate: COO with int64 indices costs (value + 8) bytes per non-zero; used only when smaller.
      const dense = w.byteLength;
      const coo = (p.n - p.k) * (bytesPerElement(w.dtype) + 8);
      if (o.centre !== 'median' && coo < dense) {
        sparseSaving += dense - coo;
        if (o.sparse && w.onnx!.origin === 'initializer') {
          const idx: number[] = [];
          for (let j = 0; j < p.n; j++) if (p.values[j] !== 0) idx.push(j);
          sparse.set(w.name, { dims: w.shape, dataType: w.onnx!.dataType, values: encodeFloats(idx.map((j) => p.values[j]!), w.dtype as 'float32'), indices: BigInt64Array.from(idx, BigInt) });
        }
      }
      layers.push({ name: w.name, method: o.method, ratio: p.k / p.n, paramsBefore: p.n, paramsAfter: p.n - p.k, relErr: p.relErr, skipped: false });
    });
    return await finish(ck, tx, o, verifyOn, layers, plan, { edits: { replace, sparse }, removed, sparseSaving });
  } finally {
    tx?.dispose();
    ck.close();
  }
}

/** Every file this run reads: the model's, --data, --labels, and what the caller adds (--plan). */
function runInputs(ck: Checkpoint, o: PruneOptions): InputFiles {
  const inputs = new InputFiles().add(ck.file, 'the original model').addAll(ck.files.slice(1), `a file of the original model (${path.basename(ck.file)})`);
  if (o.data) inputs.add(o.data, 'the --data input');
  if (o.labels) inputs.add(o.labels, 'the --labels input');
  for (const f of o.inputFiles ?? []) inputs.add(f, `the input ${path.basename(f)}`);
  return inputs;
}

/** The side files a prune writes next to the model, by their preferred names. */
function sideFilesOf(format: Checkpoint['format'], out: string, o: PruneOptions): string[] {
  if (format === 'tfjs-layers') return [TFJS_SHARD];
  if (format === 'onnx' && o.externalData === 'always') return [`${path.basename(out)}.data`];
  return [];
}

/** The side files of the model a forced prune replaces (removed once the new one is in place). */
function filesOfExistingModel(out: string): string[] {
  if (!fs.existsSync(out)) return [];
  try {
    const old = openCheckpoint(out);
    old.close();
    return old.files.slice(1);
  } catch (e) {
    if (e instanceof UserInputError) return []; // not a readable model: only the file itself is replaced
    throw e;
  }
}

const rankDeficient = (name: string, c: UnitChoice) => `${name}: ${c.samples} calibration samples for ${c.units} units: Σ̂ is rank-deficient; use more samples`;

/** The calibration inputs of spectral pruning (--data, or random with a note saying so). */
function spectralCalibration(o: PruneOptions, notes: string[], inputDims: ReadonlyMap<string, number[]>): Calibration {
  const samples = o.samples ?? SPECTRAL_DEFAULTS.samples;
  if (o.data) return { kind: 'data', x: readCalibration(o.data, samples, o.image) };
  notes.push(`calibrated on ${samples} random inputs (data-free): the units kept reconstruct the activations of noise, not of real data, so the result is weaker than with --data`);
  return { kind: 'random', samples, seed: 0, inputDims };
}

/** Spectral pruning (ONNX): calibrate, select, compensate over the dependency groups; report rows and the plan used. */
async function spectralEdits(ck: Checkpoint, eligible: WeightTensor[], o: PruneOptions, layers: PruneLayerReport[], inputDims: ReadonlyMap<string, number[]>): Promise<{ plan: PrunePlan; planned: Planned; notes: string[] }> {
  const notes: string[] = [];
  const calibration = spectralCalibration(o, notes, inputDims);
  let target: SpectralTarget;
  let parsed: PrunePlan | undefined;
  if (o.eps !== undefined) target = { eps: o.eps };
  else if (o.plan !== undefined) {
    parsed = parsePlan(o.plan, ck, 'spectral');
    const byName = new Map(parsed.layers.map((l) => [l.name, l]));
    eligible = eligible.filter((w) => byName.get(w.name) && !byName.get(w.name)!.skip);
    target = { ratio: (name) => byName.get(name)!.ratio };
  } else target = { ratio: () => o.ratio! };
  const a = analyseStructure(ck, o.inputShapes ?? []);
  if (a.inputs.chosen.length) notes.push(`dynamic input dims chosen for the analysis: ${a.inputs.chosen.join('; ')} (set them with --input-shape)`);
  const r = await spectralPrune(ck.file, a, new Set(eligible.map((w) => w.name)), target, { theta: o.theta ?? SPECTRAL_DEFAULTS.theta, lambdaRel: o.lambdaRel ?? SPECTRAL_DEFAULTS.lambdaRel, calibration });
  for (const x of r.late) notes.push(`group ${x.group} was left whole: ${x.reason}`);
  const byLayer = new Map(r.layers.map((l) => [l.name, l]));
  const refused = new Map(r.refused.map((x) => [x.name, x.reason]));
  for (const w of eligible) {
    const after = r.graphEdits ? sizeAfter(r.graphEdits, w.name, w.size) : w.size;
    const l = byLayer.get(w.name);
    if (l) {
      if (l.samples < l.units) notes.push(rankDeficient(l.name, l));
      layers.push({
        name: l.name,
        method: 'spectral',
        ratio: 1 - l.kept.length / l.units,
        paramsBefore: w.size,
        paramsAfter: after,
        relErr: l.activationError,
        skipped: false,
        reason: `${l.kept.length} of ${l.units} units kept; N̂(λ) = ${l.degreesOfFreedom.toFixed(2)}; ${l.consumer} compensated`,
        spectral: { degreesOfFreedom: l.degreesOfFreedom, lambda: l.lambda, eigenvalues: l.eigenvalues, consumer: l.consumer },
      });
    } else {
      const why = refused.get(w.name) ?? `cut with the group of ${a.dg.groupOf.get(w.name)?.layers[0]?.stored ?? '?'}`;
      const inputs = after < w.size ? '; its inputs shrink with the layers before it' : '';
      layers.push({ name: w.name, method: 'spectral', ratio: 0, paramsBefore: w.size, paramsAfter: after, relErr: null, skipped: after === w.size, reason: refused.has(w.name) ? `own outputs kept: ${why}${inputs}` : why });
    }
  }
  const plan: PrunePlan = parsed ?? { version: 1, method: 'spectral', centre: 'none', layers: r.layers.map((l) => ({ name: l.name, ratio: 1 - l.kept.length / l.units, ...(o.eps !== undefined ? { eps: o.eps } : {}) })) };
  return { plan, planned: { edits: r.edits, sparseSaving: 0 }, notes };
}

interface Planned {
  edits: OnnxEdits;
  /**
   * Parameters removed (magnitude: zeroed entries; singular: m·n − r·(m+n) where factorised).
   * Undefined: counted from the written model (structured edits, copies included).
   */
  removed?: number;
  sparseSaving: number;
  groups?: GroupReport[];
}

/**
 * A prune that removes nothing is not a success: refused before anything is written, with the
 * reasons the layers gave (the most common first).
 */
function refuseNothingRemoved(o: PruneOptions, layers: readonly PruneLayerReport[], notes: readonly string[] = []): void {
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

/** Writes the edited model, verifies it when asked, and measures it. */
async function finish(ck: Checkpoint, tx: OutputTransaction, o: PruneOptions, verifyOn: VerifyOptions | null, layers: PruneLayerReport[], prunePlan: PrunePlan, plan: Planned, earlierNotes: string[] = []): Promise<PruneReport> {
  const input = ck.file;
  const out = tx.model;
  const weights = ck.weights;
  const notes: string[] = [...earlierNotes];
  let sparseWritten = false;
  const edits: OnnxEdits = { ...constantsAsInitializers(ck, plan.edits), externalData: o.externalData ?? 'auto' };
  refuseNothingRemoved(o, layers, earlierNotes);
  await yieldToSignals(o.signal);
  writeOnnxWithEdits(input, tx, edits);
  if (edits.sparse?.size) {
    // Sparse initializers only count if onnxruntime loads them; otherwise the dense file is written
    // (every sparse tensor also has its dense replacement in `edits.replace`).
    try {
      await (await openSession(tx.stagedModel)).release();
      sparseWritten = true;
    } catch (e) {
      notes.push(`onnxruntime could not load the sparse initializers (${(e as Error).message.split('\n')[0]}); the model was written dense and the sparse size is an estimate`);
      writeOnnxWithEdits(input, tx, { ...edits, sparse: new Map() });
    }
  }
  const verify = await verifyStaged(verifyOn, (on) => verifyOnnx(input, tx.stagedModel, on), o.signal);
  await tx.commit(o.signal);
  const paramsBefore = weights.reduce((a, w) => a + w.size, 0);
  const after = totalSize(tx.files);
  for (const f of tx.files.slice(1)) notes.push(`initializer bytes are in ${path.basename(f)} (keep it next to the model)`);
  const order = new Map(weights.map((w, i) => [w.name, i]));
  const macsBefore = countMultiplyAdds(ck);
  const pruned = openCheckpoint(out);
  const macsAfter = countMultiplyAdds(pruned);
  const paramsWritten = pruned.weights.reduce((a, w) => a + w.size, 0);
  pruned.close();
  return {
    input,
    output: out,
    method: o.method,
    paramsBefore,
    paramsAfter: plan.removed === undefined ? paramsWritten : paramsBefore - plan.removed,
    bytes: { before: totalSize(ck.files), after, afterGzip: await gzipSize(tx.files), afterSparse: sparseWritten ? after : after - plan.sparseSaving, afterSparseIsEstimate: !sparseWritten },
    notes,
    layers: layers.sort((a, b) => order.get(a.name)! - order.get(b.name)!),
    plan: prunePlan,
    multiplyAdds: { before: macsBefore.multiplyAdds, after: macsAfter.multiplyAdds, unknownLayers: macsAfter.unknown },
    ...(plan.groups ? { groups: plan.groups } : {}),
    verify,
  };
}

/**
 * Singular-value pruning: Gemm/MatMul weights read directly by their node are factorised into two
 * thinner layers when that saves parameters (r·(m+n) < m·n); otherwise, and for conv / embedding /
 * recurrent weights, the dense rank-r reconstruction replaces the tensor and the report says so.
 */
function pruneSingularEdits(ops: GraphOp[], eligible: WeightTensor[], o: PruneOptions, ratioOf: (name: string) => number, layers: PruneLayerReport[]): Planned {
  const replace = new Map<string, InitializerReplacement>();
  const remove = new Set<string>();
  const add: Array<InitializerReplacement & { name: string }> = [];
  const replaceNodes = new Map<string, NodeSpec[]>();
  const uses = new Map<string, number>();
  for (const op of ops) for (const i of op.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  let removed = 0;
  for (const w of eligible) {
    const shape = canonicalShape(w.layer.layout, w.shape);
    const m = shape[0]!;
    const n = w.size / m;
    const values = readCanonical(w);
    const f = pruneSingular(values, m, n, ratioOf(w.name), o.centre ?? 'none');
    if (f.keep === 0) throw new UsageError(`pruning '${w.name}' would remove every singular value; refused`);
    const op = ops.find((x) => x.name === w.layer.op);
    const direct = op && op.inputs[w.layer.inputIndex] === w.name && (uses.get(w.name) ?? 0) === 1;
    const gemmOk = op?.opType === 'Gemm' && w.layer.inputIndex === 1 && !op.attributes['transA'];
    const matmulOk = op?.opType === 'MatMul' && w.layer.inputIndex === 1;
    const convOk = op?.opType === 'Conv' && w.layer.inputIndex === 1 && ((op.attributes['group'] as number | undefined) ?? 1) === 1;
    const saves = f.rank * (m + n) < m * n;
    const dtype = w.dtype as 'float32';
    const report = { name: w.name, method: o.method, ratio: 1 - f.keep / Math.min(m, n), paramsBefore: w.size, relErr: f.relErr, skipped: false };
    if (w.layer.kind === 'dense' && direct && (gemmOk || matmulOk) && saves) {
      // X·Wᵀ = (X·Rᵀ)·Lᵀ: a MatMul into rank r, then the original op (bias, alpha, beta kept) out of it.
      const first = `${w.name}.svd_in`;
      const second = `${w.name}.svd_out`;
      const hidden = `${op.outputs[0]}.svd_hidden`;
      add.push({ name: first, dims: [n, f.rank], dataType: w.onnx!.dataType, raw: encodeFloats(transpose2d(f.right, f.rank, n), dtype) });
      add.push({ name: second, dims: [f.rank, m], dataType: w.onnx!.dataType, raw: encodeFloats(transpose2d(f.left, m, f.rank), dtype) });
      remove.add(w.name);
      const rest = op.inputs.slice(2);
      const tail: NodeSpec =
        op.opType === 'Gemm'
          ? { name: `${op.name}.svd_out`, opType: 'Gemm', inputs: [hidden, second, ...rest], outputs: op.outputs, floats: { alpha: (op.attributes['alpha'] as number | undefined) ?? 1, beta: (op.attributes['beta'] as number | undefined) ?? 1 } }
          : { name: `${op.name}.svd_out`, opType: 'MatMul', inputs: [hidden, second], outputs: op.outputs };
      replaceNodes.set(op.name, [{ name: `${op.name}.svd_in`, opType: 'MatMul', inputs: [op.inputs[0]!, first], outputs: [hidden] }, tail]);
      const after = f.rank * (m + n);
      removed += w.size - after;
      layers.push({ ...report, paramsAfter: after, reason: `factorised into ${n}×${f.rank} and ${f.rank}×${m}` });
    } else if (w.layer.kind === 'conv' && direct && convOk && saves) {
      // W ≈ L·R on filter-rows: a Conv with r filters R (same stride/pads/dilations), then a 1×1 Conv L with the bias.
      const first = `${w.name}.svd_in`;
      const second = `${w.name}.svd_out`;
      const hidden = `${op.outputs[0]}.svd_hidden`;
      const kernel = w.shape.slice(2);
      add.push({ name: first, dims: [f.rank, w.shape[1]!, ...kernel], dataType: w.onnx!.dataType, raw: encodeFloats(f.right, dtype) });
      add.push({ name: second, dims: [m, f.rank, ...kernel.map(() => 1)], dataType: w.onnx!.dataType, raw: encodeFloats(f.left, dtype) });
      remove.add(w.name);
      const ints: Record<string, number> = {};
      const lists: Record<string, number[]> = {};
      for (const [k, v] of Object.entries(op.attributes)) {
        if (k.startsWith('__')) continue;
        if (Array.isArray(v)) lists[k] = v as number[];
        else if (typeof v === 'number') ints[k] = v;
      }
      if (typeof op.attributes['auto_pad'] === 'string' && op.attributes['auto_pad'] !== 'NOTSET') {
        throw new UsageError(`${op.name} uses auto_pad=${String(op.attributes['auto_pad'])}, which the conv factorisation does not carry over yet`);
      }
      replaceNodes.set(op.name, [
        { name: `${op.name}.svd_in`, opType: 'Conv', inputs: [op.inputs[0]!, first], outputs: [hidden], ints, intLists: lists },
        { name: `${op.name}.svd_out`, opType: 'Conv', inputs: [hidden, second, ...op.inputs.slice(2)], outputs: op.outputs },
      ]);
      const after = f.rank * (m + n);
      removed += w.size - after;
      layers.push({ ...report, paramsAfter: after, reason: `factorised into Conv ${f.rank}×${w.shape[1]}×${kernel.join('×')} and 1×1 Conv ${m}×${f.rank}` });
    } else {
      const dense = reconstruct(f, m, n);
      const native = fromCanonical(w.layer.layout, w.shape, dense);
      replace.set(w.name, { dims: w.shape, dataType: w.onnx!.dataType, raw: encodeFloats(native, dtype) });
      const why = !saves
        ? `rank ${f.rank} would not save parameters (${f.rank}·(${m}+${n}) ≥ ${m}·${n})`
        : w.layer.kind !== 'dense' && !(w.layer.kind === 'conv' && convOk)
          ? `${w.layer.kind} layers are not factorised`
          : 'the weight is not read directly by one node';
      layers.push({ ...report, paramsAfter: w.size, reason: `dense rank-${f.rank} reconstruction written: ${why}` });
    }
  }
  return { edits: { replace, remove, add, replaceNodes }, removed, sparseSaving: 0 };
}


/** Gzipped bytes of the files, each compressed on its own (as a web server would send them). */
async function gzipSize(files: readonly string[]): Promise<number> {
  let total = 0;
  for (const file of files) {
    total += await new Promise<number>((resolve, reject) => {
      let n = 0;
      fs.createReadStream(file)
        .pipe(zlib.createGzip({ level: 6 }))
        .on('data', (c: Buffer) => (n += c.length))
        .on('end', () => resolve(n))
        .on('error', reject);
    });
  }
  return total;
}
