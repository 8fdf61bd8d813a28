import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { HostMessage, WebviewMessage } from '../../webview-ui/src/protocol.ts';

/** A webview panel showing one model's inspect table. Strict CSP, scripts only from dist/. */
export class InspectPanel implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private pending: HostMessage | undefined;
  private ready = false;

  static show(extensionUri: vscode.Uri, model: vscode.Uri, log: vscode.LogOutputChannel): InspectPanel {
    const dist = vscode.Uri.joinPath(extensionUri, 'dist');
    const panel = vscode.window.createWebviewPanel('prunescope.inspect', `PruneScope: ${model.path.split('/').pop()}`, vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [dist],
    });
    return new InspectPanel(panel, dist, log);
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    dist: vscode.Uri,
    log: vscode.LogOutputChannel,
  ) {
    panel.webview.html = html(panel.webview, dist);
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m: WebviewMessage) => {
        if (m?.type === 'ready') {
          this.ready = true;
          if (this.pending) void panel.webview.postMessage(this.pending);
        } else if (m?.type === 'showLog') {
          log.show();
        }
      }),
    );
  }

  post(message: HostMessage): void {
    this.pending = message;
    if (this.ready) void this.panel.webview.postMessage(message);
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

function html(webview: vscode.Webview, dist: vscode.Uri): string {
  const nonce = randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js'));
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${webview.cspSource} 'nonce-${nonce}'; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<style nonce="${nonce}">
 body { color: var(--vscode-foreground); background: var(--vscode-editor-background); font-family: var(--vscode-font-family); }
 table { border-collapse: collapse; } th, td { padding: 2px 8px; text-align: left; border-bottom: 1px solid var(--vscode-panel-border); }
 td.num { text-align: right; font-variant-numeric: tabular-nums; }
 .error { color: var(--vscode-errorForeground); } .warning { color: var(--vscode-editorWarning-foreground); }
</style></head>
<body><div id="app">Reading model…</div><script nonce="${nonce}" src="${script}"></script></body></html>`;
}
