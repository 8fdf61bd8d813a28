/**
 * The preview of node and spectral pruning on an ONNX model, from the report's dependency groups:
 * the export's group planner chooses what goes, every cut tensor is sized as the export writes it,
 * and each layer says whether its own outputs are pruned (with which layers it is coupled, and
 * whether approximately), only its inputs shrink, or it is refused and why. Pure; bundled into
 * the webview.
 */
import type { LayerResult } from '../analysis/analyzeLayer.ts';
import type { AnalysisReport } from '../report/report.ts';
import { perClassAt, type StructureGroup, type StructureReport } from '../report/structure.ts';
import type { LayerPreview, PlanPreview, PreviewRequest } from './previewPlan.ts';
import { type GroupChoicePreview, plannedGroup, previewNodeGroups, sizeChoices, type StructurePreview } from './structured/previewGroups.ts';
import { groupCurve, lowest } from '../graph/importance.ts';

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** √(Σ_{j≥keep} μ_j / Σ μ_j): the least activation error any `keep` units leave. */
function spectralBound(eigenvalues: readonly number[], keep: number): number {
  let total = 0;
  let tail = 0;
  eigenvalues.forEach((mu, j) => {
    const v = Math.max(0, mu);
    total += v;
    if (j >= keep) tail += v;
  });
  return total > 0 ? Math.sqrt(tail / total) : 0;
}

/** Spectral pruning's plan: per usable group, the units the ratio (or the ε bound) leaves; which ones is the greedy's choice, so the lowest-scoring stand in for sizing. */
function previewSpectralGroups(report: AnalysisReport, s: StructureReport, selected: (l: string) => boolean, req: PreviewRequest, skip: Map<string, string>): StructurePreview {
  const choices: GroupChoicePreview[] = [];
  for (const gr of s.groups) {
    if (gr.refused || !gr.scores || !gr.layers.some((l) => selected(l.name))) continue;
    const first = gr.layers[0]!.name;
    if (gr.spectralRefused) {
      for (const l of gr.layers) skip.set(l.name, `group ${gr.id}: ${gr.spectralRefused}`);
      continue;
    }
    let remove: number;
    let relErr = 0;
    const spectrum = report.layers.find((l) => l.name === first)?.activationSpectrum;
    if (req.target.kind === 'ratio') remove = Math.floor(req.target.ratio * gr.classes + 1e-9);
    else if (req.target.kind === 'eps' && spectrum) {
      remove = 0;
      for (let keep = gr.classes - 1; keep >= 1; keep--) if (spectralBound(spectrum.eigenvalues, keep) <= req.target.eps) remove = gr.classes - keep;
    } else {
      for (const l of gr.layers) skip.set(l.name, req.target.kind === 'eps' ? 'no activation spectrum (analyse with calibration data)' : 'spectral pruning takes a ratio or ε');
      continue;
    }
    remove = Math.min(remove, gr.classes - 1);
    if (spectrum) relErr = spectralBound(spectrum.eigenvalues, gr.classes - remove);
    choices.push({ group: gr, remove: lowest(gr.scores.raw, remove), relErr });
  }
  return sizeChoices(s, choices);
}

export function previewStructured(report: AnalysisReport, s: StructureReport, req: PreviewRequest): PlanPreview {
  const alphaOk = (l: LayerResult) => req.alphaBelow === null || (l.alphaStable.multivariate !== null && l.alphaStable.multivariate < req.alphaBelow);
  const selectedNames = new Set(report.layers.filter(alphaOk).map((l) => l.name));
  const selected = (name: string) => selectedNames.has(name);
  const skip = new Map<string, string>();
  let problem: string | null = null;
  let p: StructurePreview;
  if (req.method === 'spectral') {
    p = previewSpectralGroups(report, s, selected, req, skip);
    if (req.target.kind === 'budget') problem = 'spectral pruning takes a ratio or ε, not a budget';
  } else {
    const t = req.target;
    p = previewNodeGroups(s, selected, t.kind === 'budget' ? { kind: 'budget', params: t.params, totalParams: report.model.params } : t.kind === 'eps' ? t : req.global ? { kind: 'global', ratio: t.ratio } : t);
    problem = p.problem ?? null;
  }
  const chosen = new Map<string, { choice: GroupChoicePreview; units: number; perClass: number | number[] }>();
  for (const c of p.choices) for (const l of c.group.layers) chosen.set(l.name, { choice: c, units: l.units, perClass: l.perClass });
  const groupOf = new Map<string, StructureGroup>();
  for (const gr of s.groups) for (const l of gr.layers) groupOf.set(l.name, gr);

  const layers: LayerPreview[] = report.layers.map((l) => {
    const after = p.sizeAfter.get(l.name) ?? l.params;
    const base = { name: l.name, paramsBefore: l.params, paramsAfter: after, ratio: 0, relErr: 0 };
    const inputs = after < l.params ? '; its inputs shrink with the layers before it' : '';
    const c = chosen.get(l.name);
    if (!selected(l.name)) return { ...base, skip: `α-stable ${l.alphaStable.multivariate === null ? 'unknown' : l.alphaStable.multivariate.toFixed(2)} is not below ${req.alphaBelow}${inputs}` };
    if (!c) {
      const gr = groupOf.get(l.name);
      const why = skip.get(l.name) ?? s.refusals[l.name] ?? (gr?.refused ? `group ${gr.id}: ${gr.refused}` : 'no dependency group holds its outputs');
      return { ...base, skip: `own outputs kept: ${why}${inputs}` };
    }
    const removedUnits = c.choice.remove.reduce((a, k) => a + perClassAt(c.perClass, k), 0);
    const coupled = c.choice.group.layers.map((x) => x.name).filter((n) => n !== l.name);
    return {
      ...base,
      ratio: c.units ? removedUnits / c.units : 0,
      relErr: c.choice.relErr,
      group: { id: c.choice.group.id, coupled, approximate: c.choice.group.approximate.length > 0 },
      ...(inputs && removedUnits === 0 ? { note: inputs.slice(2) } : {}),
    };
  });
  const pruned = layers.filter((l) => !l.skip && l.ratio > 0);
  const all = selectedNames.size === report.layers.length;
  return {
    layers,
    paramsBefore: report.model.params,
    paramsAfter: report.model.params - p.paramsRemoved,
    bytesBefore: report.model.size,
    bytesAfter: Math.round(report.model.size - p.bytesRemoved),
    bytesSparse: null,
    layersPattern: all ? null : selectedNames.size ? `^(${[...selectedNames].map(escapeRegExp).join('|')})$` : null,
    problem: problem ?? (pruned.length === 0 && p.paramsRemoved <= 0 ? 'nothing would be pruned with these settings' : null),
  };
}

/** The group curve of a layer's group (relative weight error after removing the j lowest classes), for the charts. */
export function layerGroupCurve(s: StructureReport, layer: string): { group: number; curve: number[]; classes: number } | null {
  const gr = s.groups.find((g) => g.layers.some((l) => l.name === layer));
  if (!gr?.scores) return null;
  const planned = plannedGroup(gr);
  return { group: gr.id, curve: Array.from(groupCurve(planned.scores)), classes: gr.classes };
}
