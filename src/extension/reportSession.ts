import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { analyzeModel } from '../core/analysis/analyzeModel.ts';
import { Cancelled } from '../core/errors.ts';
import type { AnalysisReport } from '../core/report/report.ts';
import { type HostMessage, isWebviewMessage, type ReportView, type WebviewMessage } from '../../webview-ui/src/protocol.ts';
import { learnStructure } from './learnStructure.ts';
import { exportPrunedModel } from './pruneExport.ts';
import type { ReportCache } from './reportCache.ts';
import { reportWebviewHtml } from './reportWebviewHtml.ts';
import { analysisSettings, calibrationSettings, exportSettings } from './settings.ts';

/**
 * One report editor: analyses its model in worker threads (cancellable, with progress in a
 * notification and in the page), answers the webview's messages, and runs its prune exports.
 */
export class ReportSession implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly abort = new AbortController();
  private pruning: vscode.CancellationTokenSource | undefined;
  private training: vscode.CancellationTokenSource | undefined;
  private report: AnalysisReport | undefined;
  private pendingView: ReportView | undefined;
  private ready = false;
  private calibration: string | undefined;
  /** prunescope.inputShapes as the analysis used them (the export uses the same). */
  private inputShapes: Array<{ name: string | null; dims: number[] }> = [];

  constructor(
    private readonly extensionUri: vscode.Uri,
    readonly uri: vscode.Uri,
    private readonly panel: vscode.WebviewPanel,
    private readonly cache: ReportCache,
    private readonly log: vscode.LogOutputChannel,
  ) {
    const dist = vscode.Uri.joinPath(extensionUri, 'dist');
    panel.webview.options = { enableScripts: true, localResourceRoots: [dist] };
    panel.webview.html = reportWebviewHtml({
      cspSource: panel.webview.cspSource,
      scriptUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(dist, 'report-view.js')).toString(),
      nonce: randomBytes(16).toString('base64'),
      title: `PruneScope report: ${uri.path.split('/').pop()}`,
    });
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m: unknown) => {
        if (isWebviewMessage(m)) this.onMessage(m);
        else this.log.warn(`ignored an unexpected message from the report view: ${JSON.stringify(m)?.slice(0, 200)}`);
      }),
    );
  }

  /** The finished analysis, if any. */
  get analysis(): AnalysisReport | undefined {
    return this.report;
  }

  /** Brings the editor forward and switches the page to a view (queued until the report is shown). */
  show(view: ReportView): void {
    this.panel.reveal();
    if (this.report && this.ready) this.post({ type: 'show', view });
    else this.pendingView = view;
  }

  async start(): Promise<void> {
    const file = this.uri.fsPath;
    let settings: ReturnType<typeof analysisSettings>;
    try {
      settings = analysisSettings();
    } catch (e) {
      this.fail('could not read the settings', e);
      return this.post({ type: 'error', message: `Settings: ${(e as Error).message}` });
    }
    const { workers, memoryBudget, ...analysis } = settings;
    this.inputShapes = settings.inputShapes;
    // Calibration data adds activation spectra (ONNX only; other formats ignore the setting).
    const calibration = this.uri.fsPath.toLowerCase().endsWith('.onnx') ? calibrationSettings(this.uri) : undefined;
    this.calibration = calibration?.data;
    const keyed = { ...analysis, ...(calibration ? { calibration } : {}) };
    try {
      const cached = await this.cache.get(file, keyed);
      if (cached.report) {
        this.log.info(`${file}: report from the cache`);
        return this.showReport(cached.report);
      }
      const report = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `PruneScope: analysing ${vscode.workspace.asRelativePath(this.uri)}`, cancellable: true },
        (progress, token) => {
          token.onCancellationRequested(() => this.abort.abort());
          return analyzeModel(file, {
            ...analysis,
            ...(calibration ? { data: calibration.data, samples: calibration.samples } : {}),
            sha256: cached.sha256,
            ...(workers !== undefined ? { workers } : {}),
            ...(memoryBudget !== undefined ? { memoryBudget } : {}),
            signal: this.abort.signal,
            onLayer: (l, done, total) => {
              progress.report({ increment: 100 / total, message: `${done}/${total} ${l.name}` });
              this.post({ type: 'progress', done, total, layer: l.name });
            },
          });
        },
      );
      await this.cache.set(cached.key, report).catch((e: Error) => this.log.warn(`could not cache the report: ${e.message}`));
      this.log.info(`analysed ${file}: ${report.layers.length} layers`);
      this.showReport(report);
    } catch (e) {
      if (e instanceof Cancelled) {
        this.log.info(`${file}: analysis cancelled`);
        return this.post({ type: 'error', message: 'Analysis cancelled. Reopen the file to analyse it again.' });
      }
      this.fail('could not analyse the model', e);
      this.post({ type: 'error', message: (e as Error).message });
    }
  }

  private showReport(report: AnalysisReport): void {
    this.report = report;
    const { defaultMethod, verifyOnExport } = exportSettings();
    const pruneUnavailable = report.model.format === 'tfjs-graph' ? 'Pruning TF.js graph-models is not implemented yet (ONNX, TF.js layers-models and safetensors are).' : null;
    this.post({ type: 'report', report, config: { defaultMethod, verifyOnExport, pruneUnavailable } });
    if (this.pendingView && this.ready) {
      this.post({ type: 'show', view: this.pendingView });
      this.pendingView = undefined;
    }
  }

  private onMessage(m: WebviewMessage): void {
    switch (m.type) {
      case 'ready':
        this.ready = true;
        if (this.report) this.showReport(this.report); // the page was reloaded (e.g. the tab was hidden)
        break;
      case 'cancel':
        this.abort.abort();
        break;
      case 'showLog':
        this.log.show();
        break;
      case 'cancelPrune':
        this.pruning?.cancel();
        break;
      case 'prune':
        void this.prune(m);
        break;
      case 'learnStructure':
        void this.learn();
        break;
      case 'cancelTraining':
        this.training?.cancel();
        break;
    }
  }

  private async prune(m: Extract<WebviewMessage, { type: 'prune' }>): Promise<void> {
    if (!this.report || this.pruning) return;
    this.pruning = new vscode.CancellationTokenSource();
    try {
      const result = await exportPrunedModel({
        extensionUri: this.extensionUri,
        input: this.uri,
        format: this.report.model.format,
        request: m.request,
        calibration: this.calibration,
        layers: m.layers,
        verify: m.verify,
        inputShapes: this.inputShapes,
        token: this.pruning.token,
        log: this.log,
        onProgress: (message) => this.post({ type: 'pruneProgress', message }),
      });
      if (result.kind === 'done') this.post({ type: 'pruneDone', result: result.report });
      else this.post({ type: 'pruneFailed', message: result.message });
    } finally {
      this.pruning.dispose();
      this.pruning = undefined;
    }
  }

  private async learn(): Promise<void> {
    if (!this.report || this.training) return;
    this.training = new vscode.CancellationTokenSource();
    try {
      await learnStructure({ extensionUri: this.extensionUri, input: this.uri, format: this.report.model.format, log: this.log, post: (m) => this.post(m), token: this.training.token });
    } finally {
      this.training.dispose();
      this.training = undefined;
    }
  }

  private fail(what: string, e: unknown): void {
    const err = e as Error;
    this.log.error(`${this.uri.fsPath}: ${what}: ${err.stack ?? err.message}`);
    void vscode.window.showErrorMessage(`PruneScope: ${err.message}`, 'Show Log').then((c) => c && this.log.show());
  }

  private post(m: HostMessage): void {
    void this.panel.webview.postMessage(m);
  }

  dispose(): void {
    this.abort.abort();
    this.pruning?.cancel();
    this.training?.cancel();
    for (const d of this.disposables) d.dispose();
    this.disposables.length = 0;
  }
}
