import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { AnalysisCancelled, analyzeModel } from '../core/analysis/analyzeModel.ts';
import type { AnalysisReport } from '../core/report/report.ts';
import type { HostMessage, WebviewMessage } from '../../webview-ui/src/protocol.ts';
import { reportWebviewHtml } from './reportWebviewHtml.ts';

/**
 * Opening a model file shows its analysis report: the core runs in worker threads with cancellable
 * progress (notification and in-page), and reports are cached per file and modification time.
 */
export class ReportEditorProvider implements vscode.CustomReadonlyEditorProvider {
  static readonly viewType = 'prunescope.report';
  private readonly cache = new Map<string, AnalysisReport>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => {} };
  }

  async resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): Promise<void> {
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist');
    panel.webview.options = { enableScripts: true, localResourceRoots: [dist] };
    panel.webview.html = reportWebviewHtml({
      cspSource: panel.webview.cspSource,
      scriptUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(dist, 'report-view.js')).toString(),
      nonce: randomBytes(16).toString('base64'),
      title: `PruneScope report: ${document.uri.path.split('/').pop()}`,
    });
    const post = (m: HostMessage) => void panel.webview.postMessage(m);
    const abort = new AbortController();
    const disposables: vscode.Disposable[] = [
      panel.onDidDispose(() => {
        abort.abort();
        for (const d of disposables) d.dispose();
      }),
      panel.webview.onDidReceiveMessage((m: WebviewMessage) => {
        if (m?.type === 'cancel') abort.abort();
        else if (m?.type === 'showLog') this.log.show();
      }),
    ];
    const file = document.uri.fsPath;
    const stat = await vscode.workspace.fs.stat(document.uri);
    const settings = vscode.workspace.getConfiguration('prunescope');
    const options = {
      mode: settings.get<'robust' | 'paper'>('mode', 'robust'),
      seed: settings.get<number>('seed', 0),
      eps: settings.get<number>('eps', 0.1),
      maxSpectrumDim: settings.get<number>('maxSpectrumDim', 4096),
    };
    const key = JSON.stringify([file, stat.mtime, stat.size, options]);
    const cached = this.cache.get(key);
    if (cached) return post({ type: 'report', report: cached });
    try {
      const report = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `PruneScope: analysing ${vscode.workspace.asRelativePath(document.uri)}`, cancellable: true },
        (progress, token) => {
          token.onCancellationRequested(() => abort.abort());
          return analyzeModel(file, {
            ...options,
            signal: abort.signal,
            onLayer: (l, done, total) => {
              progress.report({ increment: 100 / total, message: `${done}/${total} ${l.name}` });
              post({ type: 'progress', done, total, layer: l.name });
            },
          });
        },
      );
      this.cache.set(key, report);
      this.log.info(`analysed ${file}: ${report.layers.length} layers`);
      post({ type: 'report', report });
    } catch (e) {
      if (e instanceof AnalysisCancelled) return post({ type: 'error', message: 'Analysis cancelled.' });
      const message = (e as Error).message;
      this.log.error(`${file}: ${(e as Error).stack ?? message}`);
      post({ type: 'error', message });
      void vscode.window.showErrorMessage(`PruneScope: ${message}`, 'Show Log').then((c) => c && this.log.show());
    }
  }
}
