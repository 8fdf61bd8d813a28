import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AnalysisReport } from './report.ts';

/**
 * The report page's script: webview-ui's renderer with chart.js, bundled by esbuild into
 * dist/report-page.js (found next to this bundle, or under dist/ when run from sources).
 */
export function loadReportScript(): string {
  for (const candidate of [path.join(__dirname, 'report-page.js'), path.resolve(__dirname, '..', '..', '..', 'dist', 'report-page.js')]) {
    if (fs.existsSync(candidate)) return fs.readFileSync(candidate, 'utf8');
  }
  throw new Error('dist/report-page.js is missing: run `npm run build`');
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The report page's CSS; colours come from --fg/--bg/--muted/--border/--warn/--bad (themed by the host page). */
export const REPORT_STYLE = `body { font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); margin: 24px; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
.muted { color: var(--muted); } .warn { color: var(--warn); } .bad { color: var(--bad); }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 8px; margin: 16px 0; }
.fact { border: 1px solid var(--border); border-radius: 6px; padding: 8px 10px; } .fact b { display: block; font-size: 18px; }
.fact.wide { grid-column: 1 / -1; } .fact code { display: block; font-size: 12px; word-break: break-all; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; } th, td { padding: 3px 8px; border-bottom: 1px solid var(--border); text-align: right; }
th:first-child, td:first-child, td.text { text-align: left; } tr.sel { outline: 2px solid #0969da; } tbody tr { cursor: pointer; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 16px; } .chart { position: relative; height: 320px; }
`;

/** The top of every report page: title, provenance line, facts and warnings (filled by the renderer). */
export function pageHeading(title: string): string {
  return `<h1>${esc(title)}</h1>
<div class="muted" id="provenance"></div>
<div class="facts" id="facts"></div>
<div id="warnings"></div>
`;
}

/** The report page's elements, filled by webview-ui's renderReport. */
export function reportBody(title: string): string {
  return `${pageHeading(title)}<h2>Tail index per layer</h2>
<div class="charts">
  <div class="chart"><canvas id="chart-alpha" aria-label="alpha-stable and Hill per layer"></canvas></div>
  <div class="chart"><canvas id="chart-alpha-esd" aria-label="ESD power-law exponent per layer"></canvas></div>
</div>
<h2>Layer <select id="layer"></select></h2>
<div class="charts">
  <div class="chart"><canvas id="chart-curves" aria-label="compressibility curves"></canvas></div>
  <div class="chart"><canvas id="chart-esd" aria-label="eigenvalue spectrum tail"></canvas></div>
  <div class="chart"><canvas id="chart-hist" aria-label="weight histogram"></canvas></div>
  <div class="chart" id="chart-act-box" hidden><canvas id="chart-act" aria-label="activation eigenvalues"></canvas></div>
</div>
<h2>Layers</h2>
<table id="layers"><thead><tr><th>layer</th><th>kind</th><th>shape</th><th>params</th><th>α-stable</th><th>α-Hill</th><th>α-ESD</th>
<th>prunable@ε mag.</th><th>node</th><th>SV</th><th>status</th></tr></thead><tbody></tbody></table>
<p class="muted">α-stable (MMO, multivariate on rows) and α-Hill estimate the tail index of the weights: below 2 means heavy-tailed,
i.e. more compressible; 2 means no evidence of infinite variance. α-ESD is a different quantity: the power-law exponent of the
eigenvalue density of WᵀW (WeightWatcher), typically 2–6. "prunable@ε" is the fraction of weights, nodes or singular values that can
be removed with relative ℓ2 error below ε.</p>
`;
}

/** Colours of the standalone page (light and dark). */
const STANDALONE_COLOURS = `:root { color-scheme: light dark; --fg: #1f2328; --bg: #ffffff; --muted: #59636e; --border: #d1d9e0; --warn: #9a6700; --bad: #cf222e; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9198a1; --border: #3d444d; --warn: #d29922; --bad: #f85149; } }`;

/**
 * One self-contained page: inline CSS, the renderer with chart.js inline, and `data` embedded as
 * JSON in the script element `dataId` (which tells the renderer what to draw).
 */
export function standalonePage(title: string, body: string, dataId: 'report-data' | 'training-data', data: unknown, script: string): string {
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
${STANDALONE_COLOURS}
${REPORT_STYLE}</style></head>
<body>
${body}<script id="${dataId}" type="application/json">${json}</script>
<script>${script.replace(/<\/script/gi, '<\\/script')}</script>
</body></html>
`;
}

/** The analysis report as one self-contained HTML page. */
export function renderHtmlReport(report: AnalysisReport, script = loadReportScript()): string {
  const title = `PruneScope report: ${report.model.path.split(/[\\/]/).pop()}`;
  return standalonePage(title, reportBody(title), 'report-data', report, script);
}
