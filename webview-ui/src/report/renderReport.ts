/**
 * Renders an analysis report (facts, α charts, curves, ESD tail, histogram, layer table) into the
 * self-contained HTML report page.
 */
import type { Chart } from 'chart.js';
import type { AnalysisReport } from '../../../src/core/report/report.ts';
import type { LayerResult } from '../../../src/core/analysis/analyzeLayer.ts';
import { provenance, renderFacts } from './overview.ts';
import { activationSpectrumChart, alphaChart, alphaEsdChart, applyChartTheme, curvesChart, esdChart, histogramChart } from './charts.ts';

import { el, fmt, pct, tableRow } from './dom.ts';

const TEXT_COLUMNS = new Set([0, 1, 2, 10]);

/** Fills the page's elements (ids as in the report page) from the report. */
export function renderReport(r: AnalysisReport): void {
  applyChartTheme();
  const byId = (id: string) => document.getElementById(id)!;
  byId('provenance').textContent = provenance(r);
  renderFacts(r, byId('facts'), byId('warnings'));
  byId('chart-act-box').hidden = !r.calibration;

  alphaChart(byId('chart-alpha') as HTMLCanvasElement, r.layers);
  alphaEsdChart(byId('chart-alpha-esd') as HTMLCanvasElement, r.layers);
  let detail: Chart[] = [];
  const select = (i: number) => {
    const l: LayerResult | undefined = r.layers[i];
    if (!l) return;
    for (const c of detail) c.destroy();
    detail = [
      curvesChart(byId('chart-curves') as HTMLCanvasElement, [l], r.settings.eps, undefined, r.structure),
      esdChart(byId('chart-esd') as HTMLCanvasElement, l),
      histogramChart(byId('chart-hist') as HTMLCanvasElement, l),
      ...(r.calibration ? [activationSpectrumChart(byId('chart-act') as HTMLCanvasElement, l)] : []),
    ];
    document.querySelectorAll('#layers tbody tr').forEach((tr, k) => tr.classList.toggle('sel', k === i));
    (byId('layer') as HTMLSelectElement).value = String(i);
  };
  const sel = byId('layer') as HTMLSelectElement;
  const body = document.querySelector('#layers tbody')!;
  r.layers.forEach((l, i) => {
    const o = el('option', l.name);
    o.value = String(i);
    sel.append(o);
    const cells = [l.name, l.kind, l.shape.join('×'), l.params.toLocaleString(), fmt(l.alphaStable.multivariate), fmt(l.alphaHill), l.esd ? fmt(l.esd.alpha) : '—', pct(l.prunableAtEps.magnitude), pct(l.prunableAtEps.node), pct(l.prunableAtEps.singular), l.status];
    const tr = tableRow(cells, TEXT_COLUMNS);
    tr.tabIndex = 0;
    const status = tr.lastElementChild as HTMLElement;
    if (l.status !== 'ok') {
      status.className = `text ${l.status === 'invalid' ? 'bad' : 'warn'}`;
      status.title = l.reasons.join('\n');
    }
    tr.addEventListener('click', () => select(i));
    tr.addEventListener('keydown', (e) => e.key === 'Enter' && select(i));
    body.append(tr);
  });
  sel.addEventListener('change', () => select(Number(sel.value)));
  let largest = 0;
  r.layers.forEach((l, i) => {
    if (l.params > r.layers[largest]!.params) largest = i;
  });
  select(largest);
  document.body.setAttribute('data-rendered', 'true');
}
