/**
 * Which dependency groups spectral pruning can use: those whose units every consumer reads from
 * one activation, unit k at index k (Σ̂ is measured there and Â folded into each consumer).
 */
import { layerRefusal, type StructureAnalysis } from './pruneNodes.ts';

/** The activation a spectral group is read as, and its consumers (the weights that read it). */
export interface SpectralGroup {
  planned: StructureAnalysis['planned'][number];
  /** The stored name of the group's first layer (report rows and plans name it). */
  layer: string;
  tensor: string;
  axis: number;
  units: number;
  consumers: Array<{ weight: string; axis: number }>;
}

/** Consumer side of a weight: where its input channels sit (Conv in-channels, Gemm/MatMul rows). */
function consumerAxis(op: string, index: number, transB: boolean, group: number): number | undefined {
  if (index !== 1) return undefined;
  if (op === 'Conv' && group === 1) return 1;
  if (op === 'Gemm') return transB ? 1 : 0;
  if (op === 'MatMul') return 0;
  return undefined;
}

/**
 * Spectral pruning needs one activation that every consumer reads, unit k at index k: plain
 * chains and fan-outs of one tensor qualify; residual streams (several activations), heads and
 * conv groups (units of several channels) do not, and are refused with that reason.
 */
export function spectralGroup(a: StructureAnalysis, p: StructureAnalysis['planned'][number]): SpectralGroup | string {
  const gr = p.group;
  if (gr.classes.some((c) => c.length !== 1)) return 'its units are not single channels (heads or conv groups)';
  const consumers: SpectralGroup['consumers'] = [];
  const read = new Set<string>();
  for (const m of gr.members.values()) {
    // Stryker disable next-line LogicalOperator: a non-matrix constant (a bias, a BN vector) has no use consumerAxis names
    if (!m.constant || !m.matrix) continue;
    for (const u of a.g.tensor(m.slot.tensor).consumers) {
      const axis = consumerAxis(u.node.op, u.index, u.node.attrs['transB'] === 1, (u.node.attrs['group'] as number | undefined) ?? 1);
      // Stryker disable next-line ConditionalExpression: an undefined axis fails the second test too
      if (axis === undefined || axis !== m.slot.axis) continue;
      if (!a.g.tensor(m.slot.tensor).stored) return `its consumer ${u.node.op} '${u.node.name}' reads a computed or quantized weight`;
      if (m.images.some((img, k) => img.length !== 1 || img[0] !== k)) return `its consumer ${u.node.op} '${u.node.name}' does not read unit k at index k (a flattened spatial map)`;
      consumers.push({ weight: m.slot.tensor, axis });
      read.add(u.node.inputs[0]!);
    }
  }
  if (consumers.length === 0) return 'no weight reads its units';
  if (read.size > 1) return `its consumers read ${read.size} different activations (a residual stream); spectral pruning needs one`;
  const tensor = [...read][0]!;
  const member = [...gr.members.values()].find((m) => m.slot.tensor === tensor && !m.constant);
  // Stryker disable next-line ConditionalExpression,LogicalOperator,MethodExpression,ArrowFunction: a guard: the consumers' weights passed the same test on the axis that reads this activation, index for index
  if (!member || member.images.some((img, k) => img.length !== 1 || img[0] !== k)) return `the activation '${tensor}' does not carry unit k at index k`;
  return { planned: p, layer: gr.layers[0]!.stored, tensor, axis: member.slot.axis, units: gr.units, consumers };
}


/** For each layer, the activation whose Σ̂ spectral pruning (and `analyze --data`) measures, or why there is none. */
export function spectralTargets(a: StructureAnalysis, layers: readonly string[]): { targets: Map<string, { tensor: string; units: number }>; refused: Map<string, string> } {
  const targets = new Map<string, { tensor: string; units: number }>();
  const refused = new Map<string, string>();
  for (const name of layers) {
    const why = layerRefusal(a, name);
    const p = a.planned.find((x) => x.group === a.dg.groupOf.get(name));
    // Stryker disable next-line LogicalOperator,StringLiteral: layerRefusal names a reason for every layer without a planned group
    if (why || !p) {
      // Stryker disable next-line StringLiteral: as above
      refused.set(name, why ?? 'no dependency group');
      continue;
    }
    const sg = spectralGroup(a, p);
    if (typeof sg === 'string') refused.set(name, `group ${p.id}: ${sg}`);
    else targets.set(name, { tensor: sg.tensor, units: sg.units });
  }
  return { targets, refused };
}
