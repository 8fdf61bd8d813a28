/**
 * The exactness check of the structured-pruning spec (§5), shared by the zoo and the coverage
 * fixtures: for a group and a set of its units, the reference is the original model with every
 * consumer-side slice that reads those units set to zero (to the zero point when quantized);
 * pruning exactly those units must give the same outputs to max |Δ| ≤ 1e-5 · max |y|.
 */
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Mulberry32 } from '../src/core/analysis/prng.ts';
import type { Checkpoint } from '../src/core/checkpoint.ts';
import { writeOnnxWithEdits } from '../src/core/formats/onnx/writeOnnx.ts';
import type { Group } from '../src/core/graph/dependency.ts';
import type { GraphEdits } from '../src/core/graph/pruneGroups.ts';
import { toOnnxEdits } from '../src/core/pruning/structured/onnxGraphEdits.ts';
import { nodeEdits, type StructureAnalysis } from '../src/core/pruning/structured/pruneNodes.ts';

/** A seeded random input for each graph input, at the analysis's dims. */
export function feedOf(a: StructureAnalysis, seed: number): Record<string, ort.Tensor> {
  const rng = new Mulberry32(seed);
  const feed: Record<string, ort.Tensor> = {};
  for (const i of a.g.inputs) {
    const d = a.inputs.dims.get(i.name)!;
    feed[i.name] = new ort.Tensor('float32', Float32Array.from({ length: d.reduce((x, y) => x * y, 1) }, () => 2 * rng.uniformOpen() - 1), d);
  }
  return feed;
}

/** The first output of `file` on `feed`. */
export async function runFirstOutput(file: string, feed: Record<string, ort.Tensor>): Promise<ort.Tensor> {
  const s = await ort.InferenceSession.create(file);
  try {
    return (await s.run(feed))[s.outputNames[0]!]!;
  } finally {
    await s.release();
  }
}

const emptyEdits = (): GraphEdits => ({ replace: new Map(), add: new Map(), rewire: new Map(), attrs: new Map(), changed: new Set(), dropNodes: new Set(), dropStored: new Set() });

/** Consumer-side slices: a weight's input axis, where a unit's channels stop (Conv in-channels, Gemm/MatMul rows). */
function consumerSide(op: string, index: number, axis: number, transB: boolean): boolean {
  if (index !== 1) return false;
  if (op === 'Conv') return axis === 1;
  if (op === 'ConvTranspose') return axis === 0;
  if (op === 'Gemm') return axis === (transB ? 1 : 0);
  return op === 'MatMul' && axis === 0;
}

/** The reference: every consumer-side slice reading the removed units set to zero (to the zero point when quantized). */
function zeroedEdits(a: StructureAnalysis, gr: Group, remove: readonly number[]): GraphEdits {
  const e = emptyEdits();
  for (const m of gr.members.values()) {
    if (!m.constant || !m.matrix) continue;
    const uses = a.g.tensor(m.slot.tensor).consumers.filter((u) => consumerSide(u.node.op, u.index, m.slot.axis, u.node.attrs['transB'] === 1));
    if (uses.length === 0) continue;
    const idx = new Set<number>();
    for (const c of remove) for (const u of gr.classes[c]!) for (const j of m.images[u]!) idx.add(j);
    const dq = a.g.tensor(m.slot.tensor).producer;
    const target = dq?.op === 'DequantizeLinear' ? dq.inputs[0]! : m.slot.tensor;
    const dims = a.shapes.shape.get(target)!;
    const v = Float64Array.from(e.replace.get(target)?.values ?? a.values.read(target)!);
    const zp = dq?.op === 'DequantizeLinear' && dq.inputs[2] ? a.values.read(dq.inputs[2]) : undefined;
    const inner = dims.slice(m.slot.axis + 1).reduce((x, y) => x * y, 1);
    const perRow = dims.slice(1).reduce((x, y) => x * y, 1);
    for (let i = 0; i < v.length; i++) if (idx.has(Math.floor(i / inner) % dims[m.slot.axis]!)) v[i] = zp ? (zp.length > 1 ? zp[Math.floor(i / perRow)]! : zp[0]!) : 0;
    e.replace.set(target, { dims, dataType: a.shapes.dtype.get(target) ?? 1, values: v });
  }
  return e;
}

/**
 * Cuts a seeded random 20–70% of the units of every exact planned group, one group at a time, and
 * compares with the zeroed reference. Throws on a refused cut or a deviation; returns the number of
 * groups checked and the largest relative deviation seen.
 */
export async function checkExactGroups(file: string, ck: Checkpoint, a: StructureAnalysis, dir: string, seed = 11): Promise<{ checked: number; worst: number }> {
  const feed = feedOf(a, 3);
  const rng = new Mulberry32(seed);
  let checked = 0;
  let worst = 0;
  for (const p of a.planned) {
    const gr = p.group;
    if (gr.approximate.length) continue;
    const k = Math.max(1, Math.floor(gr.classes.length * (0.2 + 0.5 * rng.uniformOpen())));
    const order = Array.from({ length: gr.classes.length }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.below(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const remove = order.slice(0, Math.min(k, gr.classes.length - 1));
    const base = path.basename(file);
    const zf = path.join(dir, `zero-${gr.id}-${base}`);
    const pf = path.join(dir, `cut-${gr.id}-${base}`);
    writeOnnxWithEdits(file, zf, toOnnxEdits(a.g, zeroedEdits(a, gr, remove)));
    const cut = nodeEdits(a, [{ group: gr, remove }]);
    if (cut.refused.length) throw new Error(`group ${gr.id} cannot be cut: ${cut.refused.map((x) => x.reason).join('; ')}`);
    writeOnnxWithEdits(file, pf, toOnnxEdits(a.g, cut.edits));
    const ref = (await runFirstOutput(zf, feed)).data as Float32Array;
    const got = (await runFirstOutput(pf, feed)).data as Float32Array;
    let maxD = 0;
    let maxY = 0;
    for (let i = 0; i < ref.length; i++) {
      maxD = Math.max(maxD, Math.abs(ref[i]! - got[i]!));
      maxY = Math.max(maxY, Math.abs(ref[i]!));
    }
    if (!(maxY > 0)) throw new Error(`group ${gr.id}: the reference output is all zero`);
    if (!(maxD <= 1e-5 * maxY)) throw new Error(`group ${gr.id} (${gr.layers[0]!.stored}), ${remove.length} of ${gr.classes.length} units: max |Δ| ${maxD} vs max |y| ${maxY}`);
    worst = Math.max(worst, maxD / maxY);
    checked++;
  }
  return { checked, worst };
}
