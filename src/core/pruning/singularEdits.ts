/**
 * Singular-value pruning of ONNX weights: factorised into two thinner layers where that saves
 * parameters, else the dense rank-r reconstruction in place, with the reason in the report.
 */
import { type GraphOp, type WeightTensor } from '../checkpoint.ts';
import { UsageError } from '../errors.ts';
import type { NodeSpec } from '../formats/onnx/onnxBuilder.ts';
import { type InitializerReplacement } from '../formats/onnx/writeOnnx.ts';
import { canonicalShape, fromCanonical, readCanonical, transpose2d } from '../tensor/layout.ts';
import { pruneSingular, reconstruct } from './singular.ts';
import { encodeFloats } from '../tensor/dtype.ts';

import type { PruneLayerReport, PruneOptions } from './types.ts';
import type { Planned } from './pruneOnnxModel.ts';

/**
 * Singular-value pruning: Gemm/MatMul weights read directly by their node are factorised into two
 * thinner layers when that saves parameters (r·(m+n) < m·n); otherwise, and for conv / embedding /
 * recurrent weights, the dense rank-r reconstruction replaces the tensor and the report says so.
 */
export function pruneSingularEdits(ops: GraphOp[], eligible: WeightTensor[], o: PruneOptions, ratioOf: (name: string) => number, layers: PruneLayerReport[]): Planned {
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

