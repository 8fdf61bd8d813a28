/** The report's overview: provenance line, model facts and warnings (HTML report and webview). */
import type { AnalysisReport } from '../../../src/core/report/report.ts';
import { el, fillFacts, fmt, pct } from './dom.ts';

export function provenance(r: AnalysisReport): string {
  return `${r.model.format} · ${r.model.producer} · sha256 ${r.model.sha256.slice(0, 12)}… · mode ${r.settings.mode}, seed ${r.settings.seed}, ε = ${r.settings.eps} · PruneScope ${r.prunescope.version} · ${r.finishedAt}`;
}

export function renderFacts(r: AnalysisReport, box: HTMLElement, warnings: HTMLElement): void {
  const s = r.summary;
  const facts: Array<[string, string]> = [
    ['format', r.model.format],
    ['parameters', r.model.params.toLocaleString()],
    ['size', `${(r.model.size / 1024 / 1024).toFixed(2)} MiB`],
    ['analysed layers', String(r.layers.length)],
    ['median α-stable', fmt(s.alphaStableMedian)],
    ['weighted α-stable', fmt(s.alphaStableWeighted)],
    ['median α-Hill', fmt(s.alphaHillMedian)],
    ['median α-ESD', fmt(s.alphaEsdMedian)],
    [`prunable@ε=${r.settings.eps} magnitude`, pct(s.prunableAtEps.magnitude)],
    [`prunable@ε=${r.settings.eps} node`, pct(s.prunableAtEps.node)],
    [`prunable@ε=${r.settings.eps} singular`, pct(s.prunableAtEps.singular)],
  ];
  fillFacts(box, facts);
  const sha = el('div', undefined, 'fact wide');
  sha.append(el('span', 'sha256', 'muted'), el('code', r.model.sha256));
  box.append(sha);
  warnings.replaceChildren(...r.warnings.map((w) => el('p', w, 'warn')));
}
