import * as vscode from 'vscode';
import { InspectPanel } from './inspectPanel.ts';
import { ReportEditorProvider } from './reportEditor.ts';
import { runInspectInWorker } from './runInspectInWorker.ts';

const MODEL_FILTERS = { 'Model checkpoints': ['onnx', 'json', 'safetensors'] };

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('PruneScope', { log: true });
  context.subscriptions.push(
    log,
    vscode.window.registerCustomEditorProvider(ReportEditorProvider.viewType, new ReportEditorProvider(context.extensionUri, log), {
      webviewOptions: { retainContextWhenHidden: false },
    }),
    vscode.commands.registerCommand('prunescope.showLog', () => log.show()),
    vscode.commands.registerCommand('prunescope.inspectModel', async (uri?: vscode.Uri) => {
      const target =
        uri ?? (await vscode.window.showOpenDialog({ canSelectMany: false, filters: MODEL_FILTERS, openLabel: 'Inspect' }))?.[0];
      if (!target) return;
      const panel = InspectPanel.show(context.extensionUri, target, log);
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `PruneScope: reading ${vscode.workspace.asRelativePath(target)}`, cancellable: true },
        async (_progress, token) => {
          const reply = await runInspectInWorker(context.extensionUri, target.fsPath, token);
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
