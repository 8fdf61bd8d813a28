/**
 * The structure analysis as the report's JSON (report/structure.ts): every group with its layers,
 * scores and the per-class cut of every stored tensor it touches, written the way the export will
 * write them (sliced in place, or copied per use), so the preview can plan and size without weights.
 */
import { type Checkpoint, MATRIX_KINDS } from '../../checkpoint.ts';
import { memberKey, type Group } from '../../graph/dependency.ts';
import type { PerClass, StructureCut, StructureGroup, StructureReport, StructureTensor } from '../../report/structure.ts';
import { layerRefusal, type StructureAnalysis } from './pruneNodes.ts';
import { spectralGroup } from './spectralGroups.ts';

/** Bytes per element of an ONNX TensorProto data type. */
const ONNX_BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2, 17: 1, 18: 1, 19: 1, 20: 1 };

const compact = (xs: readonly number[]): PerClass => (xs.length > 0 && xs.every((x) => x === xs[0]) ? xs[0]! : [...xs]);

export function describeStructure(ck: Checkpoint, a: StructureAnalysis): StructureReport {
  const counted = new Set(ck.weights.map((w) => w.name));
  const groupsReading = groupsPerTensor(a);
  const planned = new Map(a.planned.map((p) => [p.id, p]));
  // Cuts by tensor name first: whether a tensor is sliced in place depends on all of them.
  const raw = new Map<number, Array<{ tensor: string; axis: number; use?: string; reads?: string; perClass: PerClass }>>();
  const viaIdentity = new Set<string>();
  for (const p of a.planned) {
    const list: Array<{ tensor: string; axis: number; use?: string; reads?: string; perClass: PerClass }> = [];
    for (const m of p.group.members.values()) {
      if (m.pseudo || !m.constant) continue;
      const t = a.g.tensor(m.slot.tensor);
      // A DequantizeLinear output is recomputed from its cut sources (members of their own).
      if (!t.stored && t.producer?.op === 'DequantizeLinear') continue;
      if (!a.shapes.shape.has(m.slot.tensor)) continue;
      const perClass = p.group.classes.map((units) => new Set(units.flatMap((u) => m.images[u]!)).size);
      if (perClass.every((x) => x === 0)) continue;
      const source = t.stored ? undefined : identitySource(a, m.slot.tensor);
      if (source) {
        // Read through Identity (torch's deduplicated weights): a copy per use, the source dropped once every use has one.
        viaIdentity.add(source);
        const uses = m.use ? [m.use] : a.dg.matrixUses(m.slot.tensor);
        for (const u of uses) {
          const reads = u.node.inputs[u.index]!;
          list.push({ tensor: source, axis: m.slot.axis, use: `${u.node.index}:${u.index}`, ...(reads !== source ? { reads } : {}), perClass: compact(perClass) });
        }
      } else list.push({ tensor: m.slot.tensor, axis: m.slot.axis, ...(m.use ? { use: `${m.use.node.index}:${m.use.index}` } : {}), perClass: compact(perClass) });
    }
    raw.set(p.id, list);
  }

  const tensors: StructureTensor[] = [];
  const tensorIndex = new Map<string, number>();
  const entry = (name: string): number => {
    const known = tensorIndex.get(name);
    if (known !== undefined) return known;
    const t = a.g.tensor(name);
    const dataType = a.shapes.dtype.get(name) ?? t.stored?.dataType ?? 1;
    const sliceInPlace = t.stored !== undefined && !t.output && !viaIdentity.has(name) && (groupsReading.get(name)?.size ?? 0) <= 1 && !perUseUncovered(a, name);
    const e: StructureTensor = {
      name,
      dims: a.shapes.shape.get(name)!,
      bytes: ONNX_BYTES[dataType] ?? 4,
      counted: t.stored ? counted.has(name) : FLOAT_TYPES.has(dataType),
      write: sliceInPlace ? 'slice' : 'copy',
      uses: finalUses(a, name),
      ...(t.stored ? {} : { computed: true }),
      ...(t.stored?.origin === 'constant' && t.producer?.bytes ? { wrapper: Math.max(0, t.producer.bytes + 2 - product(e0dims(a, name)) * (ONNX_BYTES[dataType] ?? 4) - name.length - 8) } : {}),
    };
    tensorIndex.set(name, tensors.length);
    tensors.push(e);
    return tensors.length - 1;
  };

  const groups: StructureGroup[] = a.dg.groups.map((gr) => {
    const base = {
      id: gr.id,
      layers: [...new Set(gr.layers.map((l) => l.stored))].map((name) => layerUnits(a, gr, name)),
      classes: gr.classes.length,
      approximate: [...gr.approximate],
    };
    const p = planned.get(gr.id);
    if (!p) return { ...base, refused: (layerRefusal(a, gr.layers[0]!.stored) ?? 'not prunable').replace(/^group \d+: /, '') };
    const cuts: StructureCut[] = raw.get(gr.id)!.map((c) => ({ tensor: entry(c.tensor), axis: c.axis, ...(c.use ? { use: c.use } : {}), ...(c.reads ? { reads: c.reads } : {}), perClass: c.perClass }));
    const sg = spectralGroup(a, p);
    return {
      ...base,
      scores: { raw: Array.from(p.scores.raw), normalized: Array.from(p.scores.normalized), energy: Array.from(p.scores.energy), totalEnergy: p.scores.totalEnergy },
      paramsPerClass: Array.from(p.paramsPerClass),
      cuts,
      ...(typeof sg === 'string' ? { spectralRefused: sg } : {}),
    };
  });
  const refusals: Record<string, string> = {};
  for (const l of a.dg.layers) {
    const why = layerRefusal(a, l.stored);
    if (why && !(l.stored in refusals)) refusals[l.stored] = why;
  }
  for (const w of ck.weights) {
    if (MATRIX_KINDS.has(w.layer.kind) && !(w.name in refusals)) {
      const why = layerRefusal(a, w.name);
      if (why) refusals[w.name] = why;
    }
  }
  return { ms: Math.round(a.ms), inputsChosen: [...a.inputs.chosen], tensors, groups, refusals, graphBytesSaved: Math.round(a.graphBytesSaved) };
}

const product = (dims: readonly number[]) => dims.reduce((x, y) => x * y, 1);
const e0dims = (a: StructureAnalysis, name: string) => a.shapes.shape.get(name) ?? [];

const FLOAT_TYPES = new Set([1, 10, 11, 16]);

/** The stored tensor a computed constant is an Identity (chain) of. */
function identitySource(a: StructureAnalysis, name: string): string | undefined {
  // Stryker disable next-line EqualityOperator,UpdateOperator: a graph is acyclic, so an Identity chain ends long before the guard
  for (let guard = 0; guard < 16; guard++) {
    const t = a.g.tensor(name);
    if (t.stored) return name;
    if (t.producer?.op !== 'Identity') return undefined;
    name = t.producer.inputs[0]!;
  }
  return undefined;
}

// Stryker disable next-line ConditionalExpression,EqualityOperator,StringLiteral: a tensor read inside an If/Loop body is never cut (graph/dependency.ts refuses its group)
const inMainGraph = (n: { graph: string }) => n.graph === '';

/** Main-graph uses of a tensor, counting through Identity nodes to the uses of their outputs. */
function finalUses(a: StructureAnalysis, name: string, depth = 0): number {
  let n = 0;
  for (const u of a.g.tensor(name).consumers) {
    if (!inMainGraph(u.node)) continue;
    // Stryker disable next-line EqualityOperator,ArithmeticOperator: the depth guard only matters on a cycle, and a graph is acyclic
    if (u.node.op === 'Identity' && depth < 16) n += finalUses(a, u.node.outputs[0]!, depth + 1);
    else n++;
  }
  return n;
}

/** The units of a layer's own outputs each class holds. */
function layerUnits(a: StructureAnalysis, gr: Group, stored: string): StructureGroup['layers'][number] {
  const layer = gr.layers.find((l) => l.stored === stored)!;
  const units = a.shapes.shape.get(layer.root.tensor)?.[layer.root.axis] ?? 0;
  const m = gr.members.get(memberKey(layer.root));
  const perClass = gr.classes.map((cls) => (m ? new Set(cls.flatMap((u) => m.images[u]!)).size : 0));
  return { name: stored, units, perClass: compact(perClass) };
}

/** For each constant, the prunable groups that cut it (a tensor cut by two groups under per-use keys is copied). */
function groupsPerTensor(a: StructureAnalysis): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  for (const p of a.planned) {
    for (const m of p.group.members.values()) {
      if (m.pseudo || !m.constant || !m.use) continue;
      const s = out.get(m.slot.tensor) ?? new Set<number>();
      s.add(p.id);
      out.set(m.slot.tensor, s);
    }
  }
  return out;
}

/** A per-use constant with a main-graph use that no prunable group cuts (that use keeps the original). */
function perUseUncovered(a: StructureAnalysis, name: string): boolean {
  const t = a.g.tensor(name);
  const keys = new Set<string>();
  let perUse = false;
  for (const p of a.planned) {
    for (const m of p.group.members.values()) {
      if (m.slot.tensor !== name || !m.constant || m.pseudo) continue;
      if (!m.use) return false; // a matrix: every matrix use is cut alike
      perUse = true;
      keys.add(`${m.use.node.index}:${m.use.index}`);
    }
  }
  return perUse && t.consumers.some((u) => inMainGraph(u.node) && !keys.has(`${u.node.index}:${u.index}`));
}
