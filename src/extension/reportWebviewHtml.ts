import { REPORT_STYLE } from '../core/report/renderHtmlReport.ts';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** VS Code theme variables for the report's colour slots (light, dark and high-contrast themes). */
const THEME = `:root { --fg: var(--vscode-foreground); --bg: var(--vscode-editor-background); --muted: var(--vscode-descriptionForeground);
--border: var(--vscode-panel-border, var(--vscode-contrastBorder, #8888)); --warn: var(--vscode-editorWarning-foreground); --bad: var(--vscode-errorForeground);
--sel: var(--vscode-list-activeSelectionBackground); --sel-fg: var(--vscode-list-activeSelectionForeground); --hover: var(--vscode-list-hoverBackground);
--focus: var(--vscode-focusBorder); }
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); margin: 16px 20px; }
[hidden] { display: none !important; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 16px; }
#progress { display: flex; align-items: center; gap: 10px; margin: 12px 0; }
vscode-tabs { margin-top: 8px; } vscode-tab-panel { padding: 12px 2px; }
.toolbar { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; margin: 0 0 10px; }
.table-wrap { max-height: 45vh; overflow: auto; border: 1px solid var(--border); }
table { width: 100%; } thead th { position: sticky; top: 0; background: var(--bg); z-index: 1; }
th button { all: unset; cursor: pointer; font-weight: 600; } th button:focus-visible, tbody tr:focus-visible { outline: 1px solid var(--focus); outline-offset: -1px; }
tbody tr[aria-selected="true"] { background: var(--sel); color: var(--sel-fg); } tbody tr:hover:not([aria-selected="true"]) { background: var(--hover); }
tr.sel { outline: none; }
.compare { display: grid; grid-template-columns: repeat(var(--columns, 2), minmax(260px, 1fr)); gap: 14px; }
.compare .card { border: 1px solid var(--border); border-radius: 4px; padding: 8px 10px; min-width: 0; }
.compare h3 { font-size: 13px; margin: 0 0 6px; overflow-wrap: anywhere; } .compare .chart { height: 220px; }
.form { display: grid; grid-template-columns: max-content minmax(200px, 360px); gap: 10px 14px; align-items: center; margin-bottom: 14px; }
.form vscode-textfield, .form vscode-single-select { width: 100%; }
.summary { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 8px; margin: 10px 0; }
#prune-result { margin-top: 12px; white-space: pre-line; } .ok { color: var(--vscode-testing-iconPassed, var(--fg)); }
.hint { margin: 6px 0; }`;

/**
 * The report editor's page. Strict CSP: no network, scripts only with this page's nonce (the bundle
 * from the extension's dist/), styles only from this nonce'd block (the web components use
 * constructed stylesheets).
 */
export function reportWebviewHtml(o: { cspSource: string; scriptUri: string; nonce: string; title: string }): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${o.cspSource} data:; font-src ${o.cspSource}; style-src ${o.cspSource} 'nonce-${o.nonce}'; script-src 'nonce-${o.nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style nonce="${o.nonce}">
${THEME}
${REPORT_STYLE}</style></head>
<body>
<header><h1>${esc(o.title)}</h1><span class="muted" id="provenance"></span></header>
<div id="progress"><vscode-progress-ring id="spinner" aria-hidden="true"></vscode-progress-ring><span id="status" role="status" aria-live="polite">Reading the model…</span>
<vscode-button id="cancel" secondary>Cancel</vscode-button></div>
<vscode-tabs id="tabs" hidden>
  <vscode-tab-header slot="header" data-view="overview">Overview</vscode-tab-header>
  <vscode-tab-panel data-view="overview">
    <div class="facts" id="facts"></div>
    <div id="warnings"></div>
    <div class="charts">
      <div class="chart"><canvas id="chart-alpha" role="img" aria-label="alpha-stable and Hill per layer"></canvas></div>
      <div class="chart"><canvas id="chart-alpha-esd" role="img" aria-label="ESD power-law exponent per layer"></canvas></div>
    </div>
  </vscode-tab-panel>
  <vscode-tab-header slot="header" data-view="layers">Layers</vscode-tab-header>
  <vscode-tab-panel data-view="layers">
    <div class="toolbar">
      <vscode-textfield id="filter" placeholder="Filter by name, kind or status" aria-label="Filter layers"></vscode-textfield>
      <span class="muted" id="selection-hint">Click a row to plot it; Ctrl+click or Space adds up to 4 layers for Compare.</span>
    </div>
    <div class="table-wrap"><table id="layers" role="grid" aria-multiselectable="true" aria-label="Weight layers"><thead><tr></tr></thead><tbody></tbody></table></div>
    <div class="charts">
      <div class="chart"><canvas id="chart-curves" role="img" aria-label="compressibility curves of the selected layers"></canvas></div>
      <div class="chart"><canvas id="chart-esd" role="img" aria-label="eigenvalue spectrum tail"></canvas></div>
      <div class="chart"><canvas id="chart-hist" role="img" aria-label="weight histogram"></canvas></div>
      <div class="chart" id="chart-act-box" hidden><canvas id="chart-act" role="img" aria-label="activation eigenvalues"></canvas></div>
    </div>
  </vscode-tab-panel>
  <vscode-tab-header slot="header" data-view="compare">Compare</vscode-tab-header>
  <vscode-tab-panel data-view="compare">
    <p class="hint muted" id="compare-hint"></p>
    <div class="compare" id="compare"></div>
  </vscode-tab-panel>
  <vscode-tab-header slot="header" data-view="prune">Prune</vscode-tab-header>
  <vscode-tab-panel data-view="prune">
    <p class="warn" id="prune-unavailable" hidden></p>
    <div class="form">
      <vscode-label for="method">Method</vscode-label>
      <vscode-single-select id="method" aria-label="Pruning method">
        <vscode-option value="magnitude" description="unstructured: the smallest weights become zeros">magnitude</vscode-option>
        <vscode-option value="node" description="structured: units and filters are removed, consumers shrunk">node</vscode-option>
        <vscode-option value="singular" description="low rank: each matrix becomes two thinner layers">singular value</vscode-option>
      </vscode-single-select>
      <vscode-label for="target-kind">Target</vscode-label>
      <vscode-single-select id="target-kind" aria-label="Target kind">
        <vscode-option value="ratio">pruning ratio per layer</vscode-option>
        <vscode-option value="eps">relative weight error ε per layer</vscode-option>
        <vscode-option value="budget">parameter budget for the model</vscode-option>
      </vscode-single-select>
      <vscode-label for="target-value" id="target-label">Ratio</vscode-label>
      <vscode-textfield id="target-value" value="0.5" aria-labelledby="target-label"></vscode-textfield>
      <span></span><vscode-checkbox id="global" label="One global threshold over all layers (ratio; magnitude, and node on ONNX)"></vscode-checkbox>
      <span></span><vscode-checkbox id="auto-alpha" label="Auto from α: prune only heavy-tailed layers"></vscode-checkbox>
      <vscode-label for="alpha-below">α-stable below</vscode-label>
      <vscode-textfield id="alpha-below" value="1.9" aria-label="Prune only layers whose alpha-stable is below"></vscode-textfield>
      <span></span><vscode-checkbox id="verify" label="Verify the pruned model against the original" checked></vscode-checkbox>
    </div>
    <h2>Preview <span class="muted">(from the report; nothing has been written)</span></h2>
    <p class="warn" id="preview-problem" hidden></p>
    <div class="summary" id="preview-summary"></div>
    <div class="table-wrap"><table id="preview"><thead><tr><th>layer</th><th>pruned</th><th id="preview-error">weight error</th><th>params</th><th>after</th><th>status</th><th>note</th></tr></thead><tbody></tbody></table></div>
    <p class="toolbar"><vscode-button id="prune">Prune &amp; export…</vscode-button><vscode-button id="cancel-prune" secondary hidden>Cancel</vscode-button>
    <span id="prune-status" role="status" aria-live="polite"></span></p>
    <div id="prune-result" role="status" aria-live="polite"></div>
    <h2>Learn structure <span class="muted">(retrains with Bernoulli gates; needs labelled data; Dense and Conv2D chains)</span></h2>
    <p class="toolbar"><vscode-button id="learn" secondary>Learn structure (needs data)…</vscode-button><vscode-button id="cancel-learn" secondary hidden>Cancel</vscode-button>
    <span id="learn-status" role="status" aria-live="polite"></span></p>
    <div class="charts" id="learn-charts" hidden>
      <div class="chart"><canvas id="chart-widths" role="img" aria-label="surviving units per epoch"></canvas></div>
      <div class="chart"><canvas id="chart-loss" role="img" aria-label="loss and accuracy per epoch"></canvas></div>
      <div class="chart" id="chart-theta-box" hidden><canvas id="chart-theta" role="img" aria-label="histogram of the gate probabilities"></canvas></div>
    </div>
  </vscode-tab-panel>
</vscode-tabs>
<script nonce="${o.nonce}" src="${o.scriptUri}"></script>
</body></html>
`;
}
