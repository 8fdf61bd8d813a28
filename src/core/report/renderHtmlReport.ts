import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AnalysisReport } from './report.ts';

/** chart.js's UMD build, read from node_modules (inlined so the report needs no network). */
export function loadChartJs(): string {
  // chart.js's "exports" hide dist/; its main entry lives in dist/, beside the UMD build.
  return fs.readFileSync(path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** One self-contained HTML page: inline CSS, inline chart.js, the report embedded as JSON. */
export function renderHtmlReport(report: AnalysisReport, chartJs = loadChartJs()): string {
  const json = JSON.stringify(report).replace(/</g, '\\u003c');
  const title = `PruneScope report: ${report.model.path.split(/[\\/]/).pop()}`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
:root { color-scheme: light dark; --fg: #1f2328; --bg: #ffffff; --muted: #59636e; --border: #d1d9e0; --warn: #9a6700; --bad: #cf222e; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9198a1; --border: #3d444d; --warn: #d29922; --bad: #f85149; } }
body { font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); margin: 24px; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
.muted { color: var(--muted); } .warn { color: var(--warn); } .bad { color: var(--bad); }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 8px; margin: 16px 0; }
.fact { border: 1px solid var(--border); border-radius: 6px; padding: 8px 10px; } .fact b { display: block; font-size: 18px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; } th, td { padding: 3px 8px; border-bottom: 1px solid var(--border); text-align: right; }
th:first-child, td:first-child, td.text { text-align: left; } tr.sel { outline: 2px solid #0969da; } tbody tr { cursor: pointer; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 16px; } .chart { position: relative; height: 320px; }
</style></head>
<body>
<h1>${esc(title)}</h1>
<div class="muted" id="provenance"></div>
<div class="facts" id="facts"></div>
<div id="warnings"></div>
<h2>Tail index per layer</h2>
<div class="charts">
  <div class="chart"><canvas id="chart-alpha" aria-label="alpha-stable and Hill per layer"></canvas></div>
  <div class="chart"><canvas id="chart-alpha-esd" aria-label="ESD power-law exponent per layer"></canvas></div>
</div>
<h2>Layer <select id="layer"></select></h2>
<div class="charts">
  <div class="chart"><canvas id="chart-curves" aria-label="compressibility curves"></canvas></div>
  <div class="chart"><canvas id="chart-esd" aria-label="eigenvalue spectrum tail"></canvas></div>
</div>
<h2>Layers</h2>
<table id="layers"><thead><tr><th>layer</th><th>kind</th><th>shape</th><th>params</th><th>α-stable</th><th>α-Hill</th><th>α-ESD</th>
<th>prunable@ε mag.</th><th>node</th><th>SV</th><th>status</th></tr></thead><tbody></tbody></table>
<p class="muted">α-stable (MMO, multivariate on rows) and α-Hill estimate the tail index of the weights: below 2 means heavy-tailed,
i.e. more compressible; 2 means no evidence of infinite variance. α-ESD is a different quantity: the power-law exponent of the
eigenvalue density of WᵀW (WeightWatcher), typically 2–6. "prunable@ε" is the fraction of weights, nodes or singular values that can
be removed with relative ℓ2 error below ε.</p>
<script id="report-data" type="application/json">${json}</script>
<script>${chartJs}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}

/** Plain JS run in the page: builds the facts, table and charts from the embedded report. */
const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var r = JSON.parse(document.getElementById('report-data').textContent);
  var fmt = function (v, d) { return v === null || v === undefined ? '—' : Number(v).toFixed(d === undefined ? 3 : d); };
  var pct = function (v) { return v === null || v === undefined ? '—' : (100 * v).toFixed(1) + '%'; };
  var css = getComputedStyle(document.documentElement);
  var fg = css.getPropertyValue('--fg').trim(), grid = css.getPropertyValue('--border').trim();
  Chart.defaults.color = fg; Chart.defaults.borderColor = grid; Chart.defaults.animation = false;
  document.getElementById('provenance').textContent = r.model.format + ' · ' + r.model.producer + ' · sha256 ' + r.model.sha256.slice(0, 12) +
    '… · mode ' + r.settings.mode + ', seed ' + r.settings.seed + ', ε = ' + r.settings.eps + ' · PruneScope ' + r.prunescope.version + ' · ' + r.finishedAt;
  var s = r.summary;
  var facts = [['parameters', r.model.params.toLocaleString()], ['analysed layers', String(r.layers.length)],
    ['median α-stable', fmt(s.alphaStableMedian)], ['weighted α-stable', fmt(s.alphaStableWeighted)], ['median α-ESD', fmt(s.alphaEsdMedian)],
    ['prunable@ε magnitude', pct(s.prunableAtEps.magnitude)], ['prunable@ε node', pct(s.prunableAtEps.node)], ['prunable@ε singular', pct(s.prunableAtEps.singular)]];
  var box = document.getElementById('facts');
  facts.forEach(function (f) { var d = document.createElement('div'); d.className = 'fact'; d.innerHTML = '<span class="muted"></span><b></b>';
    d.firstChild.textContent = f[0]; d.lastChild.textContent = f[1]; box.appendChild(d); });
  r.warnings.forEach(function (w) { var p = document.createElement('p'); p.className = 'warn'; p.textContent = w; document.getElementById('warnings').appendChild(p); });

  var names = r.layers.map(function (l) { return l.name; });
  var short = names.map(function (n) { return n.length > 28 ? '…' + n.slice(-27) : n; });
  new Chart(document.getElementById('chart-alpha'), { type: 'bar', data: { labels: short, datasets: [
      { label: 'α-stable (MMO)', data: r.layers.map(function (l) { return l.alphaStable.multivariate; }), backgroundColor: '#0969da' },
      { label: 'α-Hill', data: r.layers.map(function (l) { return l.alphaHill; }), backgroundColor: '#8250df' },
      { type: 'line', label: 'α = 2 (finite variance)', data: names.map(function () { return 2; }), borderColor: '#cf222e', borderDash: [6, 4], pointRadius: 0 }] },
    options: { maintainAspectRatio: false, plugins: { title: { display: true, text: 'Stable tail index of the weights (lower = heavier tails)' } }, scales: { y: { min: 0, suggestedMax: 2.2 } } } });
  new Chart(document.getElementById('chart-alpha-esd'), { type: 'bar', data: { labels: short, datasets: [
      { label: 'α-ESD (eigenvalue power law)', data: r.layers.map(function (l) { return l.esd ? l.esd.alpha : null; }), backgroundColor: '#1a7f37' },
      { type: 'line', label: 'α-ESD = 2', data: names.map(function () { return 2; }), borderColor: '#9a6700', borderDash: [6, 4], pointRadius: 0 },
      { type: 'line', label: 'α-ESD = 6', data: names.map(function () { return 6; }), borderColor: '#9a6700', borderDash: [2, 3], pointRadius: 0 }] },
    options: { maintainAspectRatio: false, plugins: { title: { display: true, text: 'ESD power-law exponent (WeightWatcher; typical 2–6)' } } } });

  var curves = new Chart(document.getElementById('chart-curves'), { type: 'line', data: { labels: [], datasets: [] },
    options: { maintainAspectRatio: false, parsing: false, plugins: { title: { display: true, text: 'Relative ℓ2 error vs. pruning ratio' } },
      scales: { x: { type: 'linear', min: 0, max: 1, title: { display: true, text: 'pruning ratio (1 − κ)' } }, y: { min: 0, max: 1, title: { display: true, text: 'relative error' } } } } });
  var esd = new Chart(document.getElementById('chart-esd'), { type: 'scatter', data: { datasets: [] },
    options: { maintainAspectRatio: false, plugins: { title: { display: true, text: 'Eigenvalue tail P(Λ ≥ λ), log–log, with the fitted power law' } },
      scales: { x: { type: 'logarithmic', title: { display: true, text: 'λ = σ²' } }, y: { type: 'logarithmic', title: { display: true, text: 'P(Λ ≥ λ)' } } } } });

  function pts(xs, ys) { var o = []; if (!ys) return o; for (var i = 0; i < xs.length; i++) o.push({ x: xs[i], y: ys[i] }); return o; }
  function select(i) {
    var l = r.layers[i]; if (!l) return;
    var c = l.curves;
    curves.data.datasets = [
      { label: 'magnitude', data: pts(c.ratios, c.magnitude), borderColor: '#0969da', pointRadius: 0 },
      { label: 'node', data: pts(c.ratios, c.node), borderColor: '#bc4c00', pointRadius: 0 },
      { label: 'singular value', data: pts(c.ratios, c.singular), borderColor: '#1a7f37', pointRadius: 0 },
      { label: 'Gaussian reference', data: pts(c.ratios, c.gaussian), borderColor: '#6e7781', borderDash: [5, 4], pointRadius: 0 },
      { label: 'ε = ' + r.settings.eps, data: [{ x: 0, y: r.settings.eps }, { x: 1, y: r.settings.eps }], borderColor: '#cf222e', borderDash: [2, 3], pointRadius: 0 }];
    curves.update();
    var ds = [];
    if (l.esd) {
      var ev = l.esd.eigenvalues.slice().sort(function (a, b) { return a - b; }); var n = ev.length;
      ds.push({ label: 'eigenvalues', data: ev.map(function (v, k) { return { x: v, y: (n - k) / n }; }), backgroundColor: '#1a7f37', pointRadius: 2 });
      var tailFrac = l.esd.numTail / n, xmax = ev[n - 1], line = [];
      for (var t = 0; t <= 40; t++) { var x = l.esd.xmin * Math.pow(xmax / l.esd.xmin, t / 40); line.push({ x: x, y: tailFrac * Math.pow(x / l.esd.xmin, 1 - l.esd.alpha) }); }
      ds.push({ type: 'line', label: 'power law α = ' + fmt(l.esd.alpha, 2) + ', xmin = ' + fmt(l.esd.xmin, 3), data: line, borderColor: '#cf222e', pointRadius: 0 });
    }
    esd.data.datasets = ds; esd.update();
    Array.prototype.forEach.call(document.querySelectorAll('#layers tbody tr'), function (tr, k) { tr.className = k === i ? 'sel' : ''; });
    document.getElementById('layer').value = String(i);
  }
  var sel = document.getElementById('layer'), body = document.querySelector('#layers tbody');
  r.layers.forEach(function (l, i) {
    var o = document.createElement('option'); o.value = String(i); o.textContent = l.name; sel.appendChild(o);
    var tr = document.createElement('tr');
    var cells = [l.name, l.kind, l.shape.join('×'), l.params.toLocaleString(), fmt(l.alphaStable.multivariate), fmt(l.alphaHill), l.esd ? fmt(l.esd.alpha) : '—',
      pct(l.prunableAtEps.magnitude), pct(l.prunableAtEps.node), pct(l.prunableAtEps.singular), l.status];
    cells.forEach(function (v, k) { var td = document.createElement('td'); td.textContent = v; if (k < 3 || k === 10) td.className = 'text'; tr.appendChild(td); });
    if (l.status !== 'ok') { tr.lastChild.className = 'text ' + (l.status === 'invalid' ? 'bad' : 'warn'); tr.lastChild.title = l.reasons.join('\n'); }
    tr.addEventListener('click', function () { select(i); });
    body.appendChild(tr);
  });
  sel.addEventListener('change', function () { select(Number(sel.value)); });
  var best = 0; r.layers.forEach(function (l, i) { if (l.params > r.layers[best].params) best = i; });
  select(best);
  document.body.setAttribute('data-rendered', 'true');
})();
`;
