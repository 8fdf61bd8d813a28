/**
 * Renders an analysis report (facts, α charts, curves, ESD tail, layer table) into a page. Used by
 * the self-contained HTML report and by the VS Code webview (same bundle, chart.js included).
 */
import { Chart, type ChartDataset, registerables } from 'chart.js';
import type { AnalysisReport } from '../../../src/core/report/report.ts';
import type { LayerResult } from '../../../src/core/analysis/analyzeLayer.ts';

Chart.register(...registerables);

type Point = { x: number; y: number };

const fmt = (v: number | null | undefined, d = 3) => (v === null || v === undefined ? '—' : Number(v).toFixed(d));
const pct = (v: number | null | undefined) => (v === null || v === undefined ? '—' : `${(100 * v).toFixed(1)}%`);

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function points(xs: readonly number[], ys: readonly number[] | null): Point[] {
  return ys ? xs.map((x, i) => ({ x, y: ys[i]! })) : [];
}

/** Records what a chart shows on its canvas (data-datasets, data-points) for tests and e2e checks. */
function annotate(chart: Chart): void {
  const c = chart.canvas;
  c.dataset['datasets'] = String(chart.data.datasets.length);
  c.dataset['points'] = String(chart.data.datasets[0]?.data.length ?? 0);
}

/** Fills the page's elements (ids as in the report page) from the report. */
export function renderReport(r: AnalysisReport): void {
  const css = getComputedStyle(document.documentElement);
  Chart.defaults.color = css.getPropertyValue('--fg').trim() || '#333';
  Chart.defaults.borderColor = css.getPropertyValue('--border').trim() || '#ccc';
  Chart.defaults.animation = false;
  const byId = (id: string) => document.getElementById(id)!;
  byId('provenance').textContent =
    `${r.model.format} · ${r.model.producer} · sha256 ${r.model.sha256.slice(0, 12)}… · mode ${r.settings.mode}, seed ${r.settings.seed}, ε = ${r.settings.eps} · PruneScope ${r.prunescope.version} · ${r.finishedAt}`;
  const s = r.summary;
  const facts: Array<[string, string]> = [
    ['parameters', r.model.params.toLocaleString()],
    ['analysed layers', String(r.layers.length)],
    ['median α-stable', fmt(s.alphaStableMedian)],
    ['weighted α-stable', fmt(s.alphaStableWeighted)],
    ['median α-ESD', fmt(s.alphaEsdMedian)],
    ['prunable@ε magnitude', pct(s.prunableAtEps.magnitude)],
    ['prunable@ε node', pct(s.prunableAtEps.node)],
    ['prunable@ε singular', pct(s.prunableAtEps.singular)],
  ];
  const box = byId('facts');
  for (const [label, value] of facts) {
    const d = el('div', undefined, 'fact');
    d.append(el('span', label, 'muted'), el('b', value));
    box.append(d);
  }
  for (const w of r.warnings) byId('warnings').append(el('p', w, 'warn'));

  const names = r.layers.map((l) => l.name);
  const short = names.map((n) => (n.length > 28 ? `…${n.slice(-27)}` : n));
  const line = (label: string, value: number, color: string, dash: number[]): ChartDataset<'line', number[]> => ({
    type: 'line',
    label,
    data: names.map(() => value),
    borderColor: color,
    borderDash: dash,
    pointRadius: 0,
  });
  const alpha = new Chart(byId('chart-alpha') as HTMLCanvasElement, {
    type: 'bar',
    data: {
      labels: short,
      datasets: [
        { label: 'α-stable (MMO)', data: r.layers.map((l) => l.alphaStable.multivariate), backgroundColor: '#0969da' },
        { label: 'α-Hill', data: r.layers.map((l) => l.alphaHill), backgroundColor: '#8250df' },
        line('α = 2 (finite variance)', 2, '#cf222e', [6, 4]) as unknown as ChartDataset<'bar', (number | null)[]>,
      ],
    },
    options: { maintainAspectRatio: false, plugins: { title: { display: true, text: 'Stable tail index of the weights (lower = heavier tails)' } }, scales: { y: { min: 0, suggestedMax: 2.2 } } },
  });
  const alphaEsd = new Chart(byId('chart-alpha-esd') as HTMLCanvasElement, {
    type: 'bar',
    data: {
      labels: short,
      datasets: [
        { label: 'α-ESD (eigenvalue power law)', data: r.layers.map((l) => l.esd?.alpha ?? null), backgroundColor: '#1a7f37' },
        line('α-ESD = 2', 2, '#9a6700', [6, 4]) as unknown as ChartDataset<'bar', (number | null)[]>,
        line('α-ESD = 6', 6, '#9a6700', [2, 3]) as unknown as ChartDataset<'bar', (number | null)[]>,
      ],
    },
    options: { maintainAspectRatio: false, plugins: { title: { display: true, text: 'ESD power-law exponent (WeightWatcher; typical 2–6)' } } },
  });
  const curves = new Chart(byId('chart-curves') as HTMLCanvasElement, {
    type: 'line',
    data: { datasets: [] as ChartDataset<'line', Point[]>[] },
    options: {
      maintainAspectRatio: false,
      parsing: false,
      plugins: { title: { display: true, text: 'Relative ℓ2 error vs. pruning ratio' } },
      scales: { x: { type: 'linear', min: 0, max: 1, title: { display: true, text: 'pruning ratio (1 − κ)' } }, y: { min: 0, max: 1, title: { display: true, text: 'relative error' } } },
    },
  });
  const esd = new Chart(byId('chart-esd') as HTMLCanvasElement, {
    type: 'scatter',
    data: { datasets: [] as ChartDataset<'scatter', Point[]>[] },
    options: {
      maintainAspectRatio: false,
      plugins: { title: { display: true, text: 'Eigenvalue tail P(Λ ≥ λ), log–log, with the fitted power law' } },
      scales: { x: { type: 'logarithmic', title: { display: true, text: 'λ = σ²' } }, y: { type: 'logarithmic', title: { display: true, text: 'P(Λ ≥ λ)' } } },
    },
  });

  const select = (i: number) => {
    const l: LayerResult | undefined = r.layers[i];
    if (!l) return;
    const c = l.curves;
    curves.data.datasets = [
      { label: 'magnitude', data: points(c.ratios, c.magnitude), borderColor: '#0969da', pointRadius: 0 },
      { label: 'node', data: points(c.ratios, c.node), borderColor: '#bc4c00', pointRadius: 0 },
      { label: 'singular value', data: points(c.ratios, c.singular), borderColor: '#1a7f37', pointRadius: 0 },
      { label: 'Gaussian reference', data: points(c.ratios, c.gaussian), borderColor: '#6e7781', borderDash: [5, 4], pointRadius: 0 },
      { label: `ε = ${r.settings.eps}`, data: [{ x: 0, y: r.settings.eps }, { x: 1, y: r.settings.eps }], borderColor: '#cf222e', borderDash: [2, 3], pointRadius: 0 },
    ];
    curves.update();
    annotate(curves);
    const ds: ChartDataset<'scatter', Point[]>[] = [];
    if (l.esd) {
      const ev = [...l.esd.eigenvalues].sort((a, b) => a - b);
      const n = ev.length;
      ds.push({ label: 'eigenvalues', data: ev.map((v, k) => ({ x: v, y: (n - k) / n })), backgroundColor: '#1a7f37', pointRadius: 2 });
      const tail = l.esd.numTail / n;
      const xmax = ev[n - 1]!;
      const fit: Point[] = [];
      for (let t = 0; t <= 40; t++) {
        const x = l.esd.xmin * Math.pow(xmax / l.esd.xmin, t / 40);
        fit.push({ x, y: tail * Math.pow(x / l.esd.xmin, 1 - l.esd.alpha) });
      }
      ds.push({ type: 'line', label: `power law α = ${fmt(l.esd.alpha, 2)}, xmin = ${fmt(l.esd.xmin, 3)}`, data: fit, borderColor: '#cf222e', pointRadius: 0 } as unknown as ChartDataset<'scatter', Point[]>);
    }
    esd.data.datasets = ds;
    esd.update();
    annotate(esd);
    document.querySelectorAll('#layers tbody tr').forEach((tr, k) => tr.classList.toggle('sel', k === i));
    (byId('layer') as HTMLSelectElement).value = String(i);
  };
  const sel = byId('layer') as HTMLSelectElement;
  const body = document.querySelector('#layers tbody')!;
  r.layers.forEach((l, i) => {
    const o = el('option', l.name);
    o.value = String(i);
    sel.append(o);
    const tr = el('tr');
    tr.tabIndex = 0;
    const cells = [l.name, l.kind, l.shape.join('×'), l.params.toLocaleString(), fmt(l.alphaStable.multivariate), fmt(l.alphaHill), l.esd ? fmt(l.esd.alpha) : '—', pct(l.prunableAtEps.magnitude), pct(l.prunableAtEps.node), pct(l.prunableAtEps.singular), l.status];
    cells.forEach((v, k) => tr.append(el('td', v, k < 3 || k === 10 ? 'text' : undefined)));
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
  annotate(alpha);
  annotate(alphaEsd);
  document.body.setAttribute('data-rendered', 'true');
}
