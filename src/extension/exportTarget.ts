import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CheckpointFormat } from '../core/checkpoint.ts';
import { defaultExportPath, exportPathIn, refuseExportTarget } from './exportPath.ts';

/** Test hook (the e2e suite): exports go to this folder under their suggested names, without a dialog. */
const TEST_EXPORT_DIR = 'PRUNESCOPE_TEST_EXPORT_DIR';

/**
 * Where a new model goes: a save dialog that suggests `<stem>.<suffix>` next to the original.
 * Returns the path, or why nothing will be written (no choice, or a refused target).
 */
export async function chooseExportTarget(input: vscode.Uri, format: CheckpointFormat, suffix: string, labels: { save: string; title: string }): Promise<{ output: string } | { refused: string }> {
  const suggested = defaultExportPath(input.fsPath, format, suffix);
  const ext = format === 'onnx' ? 'onnx' : format === 'safetensors' ? 'safetensors' : 'json';
  const folder = process.env[TEST_EXPORT_DIR];
  const chosen = folder
    ? vscode.Uri.file(exportPathIn(folder, suggested, format))
    : await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(suggested), filters: { [`${format} model`]: [ext] }, saveLabel: labels.save, title: labels.title });
  if (!chosen) return { refused: 'Nothing written: no file chosen.' };
  const refused = refuseExportTarget(input.fsPath, chosen.fsPath, format);
  if (refused) {
    void vscode.window.showErrorMessage(`PruneScope: ${refused}`);
    return { refused };
  }
  return { output: chosen.fsPath };
}

/** The notification after a model is written: open its report, or reveal it. */
export function offerWrittenModel(output: string, summary: string, kind: 'pruned' | 'trained'): void {
  const open = `Open report of ${kind} model`;
  void vscode.window.showInformationMessage(`PruneScope: wrote ${path.basename(output)} (${summary}).`, open, 'Reveal in Explorer').then((choice) => {
    if (choice === open) void vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(output), 'prunescope.report');
    else if (choice === 'Reveal in Explorer') void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(output));
  });
}
