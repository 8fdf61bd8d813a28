import * as vscode from 'vscode';
import type { InspectWorkerReply } from '../core/worker/inspectWorker.ts';
import { InspectPanel } from './inspectPanel.ts';
import { ReportEditorProvider } from './reportEditor.ts';
import type { ReportView } from '../../webview-ui/src/protocol.ts';
import { runCoreWorker } from './runCoreWorker.ts';

const MODEL_FILTERS = { 'Model checkpoints': ['onnx', 'json', 'safetensors'] };

async function pickModel(openLabel: string): Promise<vscode.Uri | undefined> {
  return (await vscode.window.showOpenDialog({ canSelectMany: false, filters: MODEL_FILTERS, openLabel, title: `PruneScope: ${openLabel}` }))?.[0];
}

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('PruneScope', { log: true });
  const reports = new ReportEditorProvider(context, log);

  /** The report of `uri` (opened if needed), else the active report, else one picked in a dialog. */
  const reportFor = async (uri: vscode.Uri | undefined, openLabel: string) => {
    if (uri instanceof vscode.Uri) return reports.sessionFor(uri);
    const active = reports.activeSession();
    if (active) return active;
    const picked = await pickModel(openLabel);
    return picked && reports.sessionFor(picked);
  };
  const showView = (view: ReportView, openLabel: string) => async (uri?: vscode.Uri) => (await reportFor(uri, openLabel))?.show(view);

  context.subscriptions.push(
    log,
    reports,
    vscode.window.registerCustomEditorProvider(ReportEditorProvider.viewType, reports, { webviewOptions: { retainContextWhenHidden: false } }),
    vscode.commands.registerCommand('prunescope.showLog', () => log.show()),
    vscode.commands.registerCommand('prunescope.analyzeModel', async (uri?: vscode.Uri) => {
      const target = uri instanceof vscode.Uri ? uri : await pickModel('Analyze');
      if (target) await vscode.commands.executeCommand('vscode.openWith', target, ReportEditorProvider.viewType);
    }),
    vscode.commands.registerCommand('prunescope.pruneAndExport', showView('prune', 'Prune')),
    vscode.commands.registerCommand('prunescope.compareLayers', showView('compare', 'Compare layers')),
    vscode.commands.registerCommand('prunescope.openReportJson', async (uri?: vscode.Uri) => {
      const session = await reportFor(uri, 'Open report');
      if (!session) return;
      if (!session.analysis) return void vscode.window.showInformationMessage('PruneScope: the analysis of this model has not finished yet.');
      const doc = await vscode.workspace.openTextDocument({ language: 'json', content: JSON.stringify(session.analysis, null, 2) });
      await vscode.window.showTextDocument(doc, { preview: false });
    }),
    vscode.commands.registerCommand('prunescope.inspectModel', async (uri?: vscode.Uri) => {
      const target = uri instanceof vscode.Uri ? uri : await pickModel('Inspect');
      if (!target) return;
      const panel = InspectPanel.show(context.extensionUri, target, log);
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `PruneScope: reading ${vscode.workspace.asRelativePath(target)}`, cancellable: true },
        async (_progress, token) => {
          const reply = await runCoreWorker<InspectWorkerReply>(context.extensionUri, 'worker', { file: target.fsPath }, token);
          if (!reply) return; // cancelled
          if (reply.ok) {
            log.info(`inspected ${target.fsPath}: ${reply.result.layers.length} weights, ${reply.result.totals.params} params`);
            panel.post({ type: 'inspect', result: reply.result });
          } else {
            log.error(reply.badInput ? reply.message : `${reply.message}\n${reply.stack ?? ''}`);
            panel.post({ type: 'error', message: reply.message });
            void vscode.window.showErrorMessage(`PruneScope: ${reply.message}`, 'Show Log').then((c) => c && log.show());
          }
        },
      );
    }),
  );
}

export function deactivate(): void {}
