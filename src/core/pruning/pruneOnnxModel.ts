/**
 * Pruning an ONNX model: the layers each method may rewrite, magnitude edits (dense or sparse
 * initializers), singular, node and spectral edits, then one writer, verification and the report.
 */
import * as path from 'node:path';
import { type Checkpoint, type WeightTensor } from '../checkpoint.ts';
import { UsageError } from '../errors.ts';
import { OutputTransaction, yieldToSignals } from '../io/outputTransaction.ts';
import { openCheckpoint } from '../formats/openCheckpoint.ts';
import { type InitializerReplacement, type OnnxEdits, type SparseInitializer, writeOnnxWithEdits } from '../formats/onnx/writeOnnx.ts';
import { countMultiplyAdds } from './flops.ts';
import { pruneOnnxNodes } from './onnxNodes.ts';
import { type PrunePlan } from './plan.ts';
import { verifyOnnx, type VerifyOptions } from '../runtime/verifyOnnx.ts';
import { openSession } from '../runtime/onnxSession.ts';
import { constantsAsInitializers } from './structured/onnxGraphEdits.ts';
import { resolveInputDims } from '../graph/inputDims.ts';
import { onnxGraph } from '../graph/onnxGraph.ts';
import { bytesPerElement, encodeFloats } from '../tensor/dtype.ts';
import { type MagnitudePruned, pruneMagnitude, pruneMagnitudeGlobal } from './magnitude.ts';

import type { GroupReport, PruneLayerReport, PruneOptions, PruneReport } from './types.ts';
import { refuseNothingRemoved } from './pruneOptions.ts';
import { buildPlan, applyPlan, selectLayers } from './layerPlan.ts';
import { verifyStaged, totalSize, gzipSize } from './prunedOutput.ts';
import { spectralEdits } from './spectralEdits.ts';
import { pruneSingularEdits } from './singularEdits.ts';

/** Why a selected weight (a matrix kind: `selectLayers`) cannot be rewritten (undefined when it can). */
function ineligible(w: WeightTensor): string | undefined {
  if (w.quantized) return 'quantized weights are not pruned yet';
  if (!['float32', 'float64', 'float16', 'bfloat16'].includes(w.dtype)) return `dtype ${w.dtype} is not pruned`;
  if (!w.onnx || w.onnx.graph !== '') return `it lives in the subgraph ${w.onnx?.graph ?? '?'} (weights in If/Loop bodies are not rewritten)`;
  return undefined;
}

export interface Planned {
  edits: OnnxEdits;
  /**
   * Parameters removed (magnitude: zeroed entries; singular: m·n − r·(m+n) where factorised).
   * Undefined: counted from the written model (structured edits, copies included).
   */
  removed?: number;
  sparseSaving: number;
  groups?: GroupReport[];
}

/** Writes the edited model, verifies it when asked, and measures it. */
export async function finish(ck: Checkpoint, tx: OutputTransaction, o: PruneOptions, verifyOn: VerifyOptions | null, layers: PruneLayerReport[], prunePlan: PrunePlan, plan: Planned, earlierNotes: string[] = []): Promise<PruneReport> {
  const input = ck.file;
  const out = tx.model;
  const weights = ck.weights;
  const notes: string[] = [...earlierNotes];
  let sparseWritten = false;
  const edits: OnnxEdits = { ...constantsAsInitializers(ck, plan.edits), externalData: o.externalData };
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
  // Counted before anything is committed: a bad --input-shape is refused with nothing written.
  const macsBefore = countMultiplyAdds(ck, o.inputShapes);
  if (macsBefore.inputsChosen.length && !notes.some((n) => n.startsWith('dynamic input dims chosen'))) notes.push(`multiply-adds per sample are counted with dynamic input dims chosen: ${macsBefore.inputsChosen.join('; ')} (set them with --input-shape)`);
  const verify = await verifyStaged(verifyOn, (on) => verifyOnnx(input, tx.stagedModel, on), o.signal);
  await tx.commit(o.signal);
  const paramsBefore = weights.reduce((a, w) => a + w.size, 0);
  const after = totalSize(tx.files);
  for (const f of tx.files.slice(1)) notes.push(`initializer bytes are in ${path.basename(f)} (keep it next to the model)`);
  const order = new Map(weights.map((w, i) => [w.name, i]));
  const pruned = openCheckpoint(out);
  const macsAfter = countMultiplyAdds(pruned, o.inputShapes);
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

/** The ONNX part of `prune`: layers, the method's edits, then `finish`. */
export async function pruneOnnxModel(ck: Checkpoint, tx: OutputTransaction, o: PruneOptions, verifyOn: VerifyOptions | null): Promise<PruneReport> {
  const selected = selectLayers(ck, o);
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
  if (o.global) pruned = pruneMagnitudeGlobal(planned.map((w) => w.read()), o.ratio!, o.centre);
  else pruned = planned.map((w) => pruneMagnitude(w.read(), { ratio: ratio(w.name) }, o.centre));
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
    // Stryker disable next-line EqualityOperator: at coo = dense the saving added is 0
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
}
