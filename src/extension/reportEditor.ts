import * as vscode from 'vscode';
import { ReportCache } from './reportCache.ts';
import { ReportSession } from './reportSession.ts';

/**
 * Opening a model file shows its analysis report (one ReportSession per editor). Keeps track of
 * the sessions so that commands can act on the active report.
 */
export class ReportEditorProvider implements vscode.CustomReadonlyEditorProvider, vscode.Disposable {
  static readonly viewType = 'prunescope.report';
  private readonly sessions = new Set<ReportSession>();
  private active: ReportSession | undefined;
  private readonly cache: ReportCache;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.cache = new ReportCache(vscode.Uri.joinPath(context.globalStorageUri, 'reports').fsPath);
  }

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => {} };
  }

  resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): void {
    const session = new ReportSession(this.context.extensionUri, document.uri, panel, this.cache, this.log);
    this.sessions.add(session);
    this.active = session;
    panel.onDidChangeViewState((e) => {
      if (e.webviewPanel.active) this.active = session;
    });
    panel.onDidDispose(() => {
      this.sessions.delete(session);
      if (this.active === session) this.active = [...this.sessions].pop();
    });
    // Not awaited: VS Code shows the editor only once this returns, and the page shows the progress.
    void session.start();
  }

  /** The report in the active editor group, or the last one focused. */
  activeSession(): ReportSession | undefined {
    return this.active;
  }

  /** The session showing `uri`, once its editor is resolved. */
  async sessionFor(uri: vscode.Uri): Promise<ReportSession | undefined> {
    await vscode.commands.executeCommand('vscode.openWith', uri, ReportEditorProvider.viewType);
    for (let i = 0; i < 50; i++) {
      const s = [...this.sessions].find((x) => x.uri.toString() === uri.toString());
      if (s) return s;
      await new Promise((r) => setTimeout(r, 100));
    }
    return undefined;
  }

  dispose(): void {
    for (const s of this.sessions) s.dispose();
  }
}
