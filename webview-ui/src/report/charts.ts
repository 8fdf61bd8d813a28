/**
 * The report's chart.js charts, shared by the self-contained HTML report and the VS Code webview.
 * Colours come from VS Code's chart theme variables when present (light, dark, high contrast),
 * else from a fixed palette.
 */
import { layerGroupCurve } from '../../../src/core/pruning/previewStructured.ts';
import type { StructureReport } from '../../../src/core/report/structure.ts';
import { Chart, type ChartDataset, registerables } from 'chart.js';
import type { LayerResult } from '../../../src/core/analysis/analyzeLayer.ts';

Chart.register(...registerables);

type Point = { x: number; y: number };
export type Method = 'magnitude' | 'node' | 'singular';

const FALLBACK = { blue: '#0969da', purple: '#8250df', green: '#1a7f37', orange: '#bc4c00', red: '#cf222e', yellow: '#9a6700', grey: '#6e7781' };

/** The current palette (re-read after a theme change). */
export function palette(): typeof FALLBACK & { series: string[] } {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string) => css.getPropertyValue(`--vscode-charts-${name}`).trim() || fallback;
  const p = {
    blue: v('blue', FALLBACK.blue),
    purple: v('purple', FALLBACK.purple),
    green: v('green', FALLBACK.green),
    orange: v('orange', FALLBACK.orange),
    red: v('red', FALLBACK.red),
    yellow: v('yellow', FALLBACK.yellow),
    grey: v('lines', FALLBACK.grey),
  };
  return { ...p, series: [p.blue, p.orange, p.green, p.purple] };
}

/** Text and grid colours from the page's --fg / --border. */
export function applyChartTheme(): void {
  const css = getComputedStyle(document.documentElement);
  Chart.defaults.color = css.getPropertyValue('--fg').trim() || '#333';
  Chart.defaults.borderColor = css.getPropertyValue('--border').trim() || '#ccc';
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
}

/** Records what a chart shows on its canvas (data-datasets, data-points) for tests and e2e checks. */
export function annotate(chart: Chart): Chart {
  const c = chart.canvas;
  c.dataset['datasets'] = String(chart.data.datasets.length);
  c.dataset['points'] = String(chart.data.datasets[0]?.data.length ?? 0);
  return chart;
}

function points(xs: readonly number[], ys: readonly number[] | null): Point[] {
  return ys ? xs.map((x, i) => ({ x, y: ys[i]! })) : [];
}

const shortName = (n: string) => (n.length > 28 ? `…${n.slice(-27)}` : n);
const fmt = (v: number, d: number) => v.toFixed(d);

function constantLine(label: string, n: number, value: number, color: string, dash: number[]): ChartDataset<'bar', (number | null)[]> {
  return { type: 'line', label, data: Array.from({ length: n }, () => value), borderColor: color, borderDash: dash, pointRadius: 0 } as unknown as ChartDataset<'bar', (number | null)[]>;
}

/** One bar per layer for each series, plus horizontal reference lines. */
function perLayerBars(
  canvas: HTMLCanvasElement,
  layers: readonly LayerResult[],
  title: string,
  bars: Array<{ label: string; value: (l: LayerResult) => number | null; color: string }>,
  lines: Array<{ label: string; at: number; color: string; dash: number[] }>,
  y: Record<string, unknown> = {},
): Chart {
  return annotate(
    new Chart(canvas, {
      type: 'bar',
      data: {
        labels: layers.map((l) => shortName(l.name)),
        datasets: [
          ...bars.map((b) => ({ label: b.label, data: layers.map(b.value), backgroundColor: b.color })),
          ...lines.map((l) => constantLine(l.label, layers.length, l.at, l.color, l.dash)),
        ],
      },
      options: { plugins: { title: { display: true, text: title } }, scales: { y } },
    }),
  );
}

/** α-stable and α-Hill per layer (bars) with the α = 2 line. */
export function alphaChart(canvas: HTMLCanvasElement, layers: readonly LayerResult[]): Chart {
  const p = palette();
  return perLayerBars(
    canvas,
    layers,
    'Stable tail index of the weights (lower = heavier tails)',
    [
      { label: 'α-stable (MMO)', value: (l) => l.alphaStable.multivariate, color: p.blue },
      { label: 'α-Hill', value: (l) => l.alphaHill, color: p.purple },
    ],
    [{ label: 'α = 2 (finite variance)', at: 2, color: p.red, dash: [6, 4] }],
    { min: 0, suggestedMax: 2.2 },
  );
}

/** The ESD power-law exponent per layer, with the typical 2–6 band. */
export function alphaEsdChart(canvas: HTMLCanvasElement, layers: readonly LayerResult[]): Chart {
  const p = palette();
  return perLayerBars(
    canvas,
    layers,
    'ESD power-law exponent (WeightWatcher; typical 2–6)',
    [{ label: 'α-ESD (eigenvalue power law)', value: (l) => l.esd?.alpha ?? null, color: p.green }],
    [
      { label: 'α-ESD = 2', at: 2, color: p.yellow, dash: [6, 4] },
      { label: 'α-ESD = 6', at: 6, color: p.yellow, dash: [2, 3] },
    ],
  );
}

const METHOD_DASH: Record<Method, number[]> = { magnitude: [], node: [6, 3], singular: [2, 2] };
const METHOD_LABEL: Record<Method, string> = { magnitude: 'magnitude', node: 'node', singular: 'singular value' };

/**
 * Relative ℓ2 error vs. pruning ratio. One layer: its three methods in three colours. Several
 * layers: one colour per layer, methods by dash (magnitude solid, node dashed, SV dotted).
 * Always with the Gaussian reference and the ε line; for one ONNX layer, also its dependency
 * group's curve (the paper's per-layer node curve stays).
 */
export function curvesChart(canvas: HTMLCanvasElement, layers: readonly LayerResult[], eps: number, methods: readonly Method[] = ['magnitude', 'node', 'singular'], structure?: StructureReport): Chart {
  const p = palette();
  const methodColour: Record<Method, string> = { magnitude: p.blue, node: p.orange, singular: p.green };
  const datasets: ChartDataset<'line', Point[]>[] = [];
  layers.forEach((l, i) => {
    for (const m of methods) {
      const c = l.curves[m];
      if (!c) continue;
      const colour = layers.length === 1 ? methodColour[m] : p.series[i % p.series.length]!;
      const label = layers.length === 1 ? METHOD_LABEL[m] : `${shortName(l.name)} · ${METHOD_LABEL[m]}`;
      datasets.push({ label, data: points(l.curves.ratios, c), borderColor: colour, backgroundColor: colour, borderDash: layers.length === 1 ? [] : METHOD_DASH[m], pointRadius: 0 });
    }
  });
  // ONNX: the curve of the layer's dependency group, over all its slices (what node pruning removes).
  const group = structure && layers.length === 1 && methods.includes('node') ? layerGroupCurve(structure, layers[0]!.name) : null;
  if (group) {
    datasets.push({ label: `node, group ${group.group} (export)`, data: Array.from(group.curve, (y, j) => ({ x: j / group.classes, y })), borderColor: p.orange, backgroundColor: p.orange, borderDash: [3, 3], pointRadius: 0, stepped: 'before' });
  }
  if (layers[0]) datasets.push({ label: 'Gaussian reference', data: points(layers[0].curves.ratios, layers[0].curves.gaussian), borderColor: p.grey, borderDash: [5, 4], pointRadius: 0 });
  datasets.push({ label: `ε = ${eps}`, data: [{ x: 0, y: eps }, { x: 1, y: eps }], borderColor: p.red, borderDash: [2, 3], pointRadius: 0 });
  return annotate(
    new Chart(canvas, {
      type: 'line',
      data: { datasets },
      options: {
        parsing: false,
        plugins: { title: { display: true, text: layers.length === 1 ? `Relative ℓ2 error vs. pruning ratio: ${shortName(layers[0]!.name)}` : 'Relative ℓ2 error vs. pruning ratio' } },
        scales: { x: { type: 'linear', min: 0, max: 1, title: { display: true, text: 'pruning ratio (1 − κ)' } }, y: { min: 0, max: 1, title: { display: true, text: 'relative error' } } },
      },
    }),
  );
}

/** The eigenvalue tail P(Λ ≥ λ) of one layer on log–log axes, with the fitted power law from xmin. */
export function esdChart(canvas: HTMLCanvasElement, l: LayerResult): Chart {
  const p = palette();
  const ds: ChartDataset<'scatter', Point[]>[] = [];
  if (l.esd) {
    const ev = [...l.esd.eigenvalues].sort((a, b) => a - b);
    const n = ev.length;
    ds.push({ label: 'eigenvalues', data: ev.map((v, k) => ({ x: v, y: (n - k) / n })), backgroundColor: p.green, pointRadius: 2 });
    const tail = l.esd.numTail / n;
    const xmax = ev[n - 1]!;
    const fit: Point[] = [];
    for (let t = 0; t <= 40; t++) {
      const x = l.esd.xmin * Math.pow(xmax / l.esd.xmin, t / 40);
      fit.push({ x, y: tail * Math.pow(x / l.esd.xmin, 1 - l.esd.alpha) });
    }
    ds.push({ type: 'line', label: `power law α = ${fmt(l.esd.alpha, 2)}, xmin = ${fmt(l.esd.xmin, 3)}`, data: fit, borderColor: p.red, pointRadius: 0 } as unknown as ChartDataset<'scatter', Point[]>);
  }
  return annotate(
    new Chart(canvas, {
      type: 'scatter',
      data: { datasets: ds },
      options: {
        plugins: { title: { display: true, text: l.esd ? `Eigenvalue tail P(Λ ≥ λ), log–log: ${shortName(l.name)}` : `No spectrum for ${shortName(l.name)}` } },
        scales: { x: { type: 'logarithmic', title: { display: true, text: 'λ = σ²' } }, y: { type: 'logarithmic', title: { display: true, text: 'P(Λ ≥ λ)' } } },
      },
    }),
  );
}

/** The layer's weight histogram with a logarithmic count axis (empty bins are left out). */
export function histogramChart(canvas: HTMLCanvasElement, l: LayerResult): Chart {
  const p = palette();
  const h = l.histogram;
  const width = h ? (h.max - h.min) / h.counts.length : 0;
  const labels = h ? h.counts.map((_, b) => (h.min + (b + 0.5) * width).toPrecision(3)) : [];
  return annotate(
    new Chart(canvas, {
      type: 'bar',
      data: { labels, datasets: [{ label: 'weights per bin', data: h ? h.counts.map((c) => (c > 0 ? c : null)) : [], backgroundColor: p.blue, barPercentage: 1, categoryPercentage: 1 }] },
      options: {
        plugins: { title: { display: true, text: h ? `Weight histogram (log count): ${shortName(l.name)}` : `No histogram for ${shortName(l.name)}` }, legend: { display: false } },
        scales: { x: { title: { display: true, text: 'weight value' }, ticks: { maxTicksLimit: 9 } }, y: { type: 'logarithmic', title: { display: true, text: 'count' }, ticks: { callback: (v) => Number(v).toLocaleString() } } },
      },
    }),
  );
}

/** The eigenvalues of the layer's activation covariance Σ̂ (descending, log scale), with N̂(λ). */
export function activationSpectrumChart(canvas: HTMLCanvasElement, l: LayerResult): Chart {
  const p = palette();
  const a = l.activationSpectrum;
  const ev = a ? a.eigenvalues.map((v, i) => ({ x: i + 1, y: v > 0 ? v : null })) : [];
  const title = a
    ? `Activation eigenvalues of ${shortName(l.name)}: N̂(λ) = ${fmt(a.degreesOfFreedom[1]!, 1)} of ${a.units} units (λ = 1e-3·Tr/m)`
    : `No activation spectrum for ${shortName(l.name)} (analyse with calibration data)`;
  const datasets: ChartDataset<'line', Array<{ x: number; y: number | null }>>[] = [{ label: 'eigenvalue of Σ̂', data: ev, borderColor: p.purple, backgroundColor: p.purple, pointRadius: 1.5 }];
  if (a) datasets.push({ label: `λ = 1e-3·Tr(Σ̂)/m`, data: [{ x: 1, y: a.lambdas[1]! }, { x: a.units, y: a.lambdas[1]! }], borderColor: p.red, borderDash: [4, 3], pointRadius: 0 });
  return annotate(
    new Chart(canvas, {
      type: 'line',
      data: { datasets },
      options: {
        parsing: false,
        plugins: { title: { display: true, text: title } },
        scales: {
          x: { type: 'linear', min: 1, title: { display: true, text: 'index (descending)' } },
          // Dead units give eigenvalues at rounding level: start the axis 12 decades below the largest.
          y: { type: 'logarithmic', min: a ? Math.max(Math.min(...a.eigenvalues.filter((v) => v > 0)), 1e-12 * (a.eigenvalues[0] ?? 1)) : undefined, title: { display: true, text: 'eigenvalue' }, ticks: { callback: (v) => Number(v).toExponential(0) } },
        },
      },
    }),
  );
}
