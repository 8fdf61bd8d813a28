/**
 * The report editor's webview: progress while the host analyses, then Overview / Layers / Compare /
 * Prune. Every message is validated against the protocol; the whole view state is kept with
 * setState, so hiding and showing the tab restores it without re-analysis.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-label/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import type { Chart } from 'chart.js';
import type { AnalysisReport } from '../../src/core/report/report.ts';
import { type HostMessage, isHostMessage, type ReportView, type ViewConfig, type WebviewMessage } from './protocol.ts';
import { activationSpectrumChart, alphaChart, alphaEsdChart, applyChartTheme, curvesChart, esdChart, histogramChart } from './report/charts.ts';
import { CompareView } from './report/compareView.ts';
import { LayersTable, type TableState } from './report/layersTable.ts';
import { LearnPanel } from './report/learnPanel.ts';
import { provenance, renderFacts } from './report/overview.ts';
import { type PruneFormState, PrunePanel } from './report/prunePanel.ts';

declare function acquireVsCodeApi(): { postMessage(m: WebviewMessage): void; getState(): unknown; setState(s: unknown): void };

const VIEWS: ReportView[] = ['overview', 'layers', 'compare', 'prune'];

interface SavedState {
  report: AnalysisReport;
  config: ViewConfig;
  view: ReportView;
  table: TableState;
  prune: PruneFormState;
}

const vscode = acquireVsCodeApi();
const byId = (id: string) => document.getElementById(id)!;
let state: SavedState | undefined;
let table: LayersTable | undefined;
let prune: PrunePanel | undefined;
let compare: CompareView | undefined;
let learn: LearnPanel | undefined;
let charts: Chart[] = [];
let detail: Chart[] = [];

const save = () => state && vscode.setState(state);

function selectedLayers() {
  return state!.table.selected.map((n) => state!.report.layers.find((l) => l.name === n)).filter((l) => l !== undefined);
}

/** Charts of the Layers tab (selected layers' curves; the last selected layer's spectrum and histogram) and Compare. */
function renderSelection(): void {
  for (const c of detail) c.destroy();
  const layers = selectedLayers();
  const focus = layers[layers.length - 1];
  detail = focus
    ? [
        curvesChart(byId('chart-curves') as HTMLCanvasElement, layers, state!.report.settings.eps, undefined, state!.report.structure),
        esdChart(byId('chart-esd') as HTMLCanvasElement, focus),
        histogramChart(byId('chart-hist') as HTMLCanvasElement, focus),
        ...(state!.report.calibration ? [activationSpectrumChart(byId('chart-act') as HTMLCanvasElement, focus)] : []),
      ]
    : [];
  compare!.render(layers, state!.report.settings.eps);
}

function renderAll(): void {
  applyChartTheme();
  for (const c of charts) c.destroy();
  charts = [alphaChart(byId('chart-alpha') as HTMLCanvasElement, state!.report.layers), alphaEsdChart(byId('chart-alpha-esd') as HTMLCanvasElement, state!.report.layers)];
  renderSelection();
}

function showView(view: ReportView): void {
  state!.view = view;
  (byId('tabs') as HTMLElement & { selectedIndex: number }).selectedIndex = VIEWS.indexOf(view);
  save();
}

function showReport(report: AnalysisReport, config: ViewConfig, restored?: SavedState): void {
  if (state) return; // already shown (the host re-sends it after a reload)
  const largest = report.layers.reduce<(typeof report.layers)[number] | undefined>((a, l) => (!a || l.params > a.params ? l : a), undefined);
  state = restored ?? {
    report,
    config,
    view: 'overview',
    table: { sort: null, filter: '', selected: largest ? [largest.name] : [] },
    prune: { method: config.defaultMethod, targetKind: 'ratio', value: '0.5', global: false, autoAlpha: false, alphaBelow: '1.9', verify: config.verifyOnExport },
  };
  byId('progress').hidden = true;
  byId('tabs').hidden = false;
  byId('provenance').textContent = provenance(report);
  renderFacts(report, byId('facts'), byId('warnings'));
  byId('chart-act-box').hidden = !report.calibration;
  compare = new CompareView(byId('compare'), byId('compare-hint'));
  table = new LayersTable(byId('layers') as HTMLTableElement, report.layers, state.table, () => {
    renderSelection();
    save();
  });
  const filter = byId('filter') as HTMLElement & { value: string };
  filter.value = state.table.filter;
  filter.addEventListener('input', () => table!.setFilter(filter.value));
  prune = new PrunePanel(report, state.config, state.prune, (m) => vscode.postMessage(m), save);
  learn = new LearnPanel((m) => vscode.postMessage(m));
  byId('tabs').addEventListener('vsc-tabs-select', (e) => {
    state!.view = VIEWS[(e as CustomEvent<{ selectedIndex: number }>).detail.selectedIndex] ?? 'overview';
    save();
  });
  renderAll();
  showView(state.view);
  // Theme changes (light / dark / high contrast) change the CSS variables: redraw with the new colours.
  new MutationObserver(() => renderAll()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
  document.body.setAttribute('data-rendered', 'true');
}

function handle(m: HostMessage): void {
  switch (m.type) {
    case 'progress':
      byId('status').textContent = `Analysing layer ${m.done} of ${m.total}: ${m.layer}`;
      break;
    case 'report':
      showReport(m.report, m.config);
      break;
    case 'error':
      byId('status').textContent = m.message;
      byId('status').className = 'bad';
      byId('spinner').hidden = true;
      byId('cancel').hidden = true;
      break;
    case 'show':
      if (state) showView(m.view);
      break;
    case 'pruneProgress':
      prune?.setBusy(true, m.message);
      break;
    case 'pruneDone':
      prune?.showResult(m.result);
      break;
    case 'pruneFailed':
      prune?.showFailure(m.message);
      break;
    case 'trainEpoch':
      learn?.epoch(m.log, m.epochs);
      break;
    case 'trainDone':
      learn?.done(m);
      break;
    case 'trainFailed':
      learn?.failed(m.message);
      break;
    case 'inspect':
      break; // for the inspect panel
  }
}

window.addEventListener('message', (e: MessageEvent<unknown>) => {
  if (isHostMessage(e.data)) handle(e.data);
});
byId('cancel').addEventListener('click', () => {
  byId('status').textContent = 'Cancelling…';
  vscode.postMessage({ type: 'cancel' });
});
const saved = vscode.getState() as SavedState | undefined;
if (saved?.report && saved.config && isHostMessage({ type: 'report', report: saved.report, config: saved.config })) showReport(saved.report, saved.config, saved);
vscode.postMessage({ type: 'ready' });
