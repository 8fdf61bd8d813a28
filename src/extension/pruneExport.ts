import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CheckpointFormat } from '../core/checkpoint.ts';
import type { PreviewRequest } from '../core/pruning/previewPlan.ts';
import type { PruneReport } from '../core/pruning/pruneModel.ts';
import type { PruneWorkerReply, PruneWorkerRequest } from '../core/pruning/pruneWorker.ts';
import { describeVerification } from '../core/report/describeVerification.ts';
import { newTag, removeTempsTagged } from '../core/io/outputTransaction.ts';
import { chooseExportTarget, offerWrittenModel } from './exportTarget.ts';
import { runCoreWorker } from './runCoreWorker.ts';

export interface ExportRequest {
  extensionUri: vscode.Uri;
  input: vscode.Uri;
  format: CheckpointFormat;
  request: PreviewRequest;
  /** The calibration .npy (spectral pruning). */
  calibration: string | undefined;
  layers: string | null;
  verify: boolean;
  /** prunescope.inputShapes, as the analysis used them. */
  inputShapes: Array<{ name: string | null; dims: number[] }>;
  token: vscode.CancellationToken;
  log: vscode.LogOutputChannel;
  onProgress: (message: string) => void;
}

export type ExportResult = { kind: 'done'; report: PruneReport } | { kind: 'failed'; message: string };

/**
 * Prune & export: asks where to save (never over the original), prunes in a worker thread with
 * cancellable progress, verifies, and offers to open the pruned model's report.
 */
export async function exportPrunedModel(x: ExportRequest): Promise<ExportResult> {
  const { request: r } = x;
  const target = await chooseExportTarget(x.input, x.format, `pruned-${r.method}`, { save: 'Prune & export', title: 'Save the pruned model' });
  if ('refused' in target) return { kind: 'failed', message: target.refused };
  const output = target.output;
  const t = r.target;
  const tempTag = newTag();
  const data: PruneWorkerRequest = {
    file: x.input.fsPath,
    output,
    options: {
      method: r.method,
      ...(t.kind === 'ratio' ? { ratio: t.ratio } : t.kind === 'eps' ? { eps: t.eps } : { budget: Math.round(t.params) }),
      ...(r.global && (r.method === 'magnitude' || r.method === 'node') && t.kind === 'ratio' ? { global: true } : {}),
      ...(x.inputShapes.length ? { inputShapes: x.inputShapes } : {}),
      ...(x.layers ? { layers: x.layers } : {}),
      ...(r.method === 'spectral' ? (x.calibration ? { data: x.calibration } : { randomCalibration: true }) : {}),
      verify: x.verify,
      force: true, // the save dialog asked before replacing; inputs are still never written over
      tempTag,
    },
  };
  x.log.info(`prune ${x.input.fsPath} → ${output}: ${JSON.stringify(data.options)}`);
  x.onProgress(`Pruning (${r.method})${x.verify ? ' and verifying' : ''}…`);
  const reply = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `PruneScope: pruning ${path.basename(x.input.fsPath)} (${r.method})`, cancellable: true },
    (_p, token) => {
      const both = new vscode.CancellationTokenSource();
      token.onCancellationRequested(() => both.cancel());
      x.token.onCancellationRequested(() => both.cancel());
      return runCoreWorker<PruneWorkerReply>(x.extensionUri, 'pruneWorker', data, both.token).finally(() => both.dispose());
    },
  );
  if (!reply) {
    removeTempsTagged(path.dirname(output), tempTag); // the terminated worker's staging folder
    x.log.info(`prune of ${x.input.fsPath} cancelled`);
    return { kind: 'failed', message: 'Pruning cancelled; nothing was written.' };
  }
  if (!reply.ok) {
    x.log.error(`prune of ${x.input.fsPath} failed: ${reply.badInput ? reply.message : reply.stack ?? reply.message}`);
    void vscode.window.showErrorMessage(`PruneScope: ${reply.message}`, 'Show Log').then((c) => c && x.log.show());
    return { kind: 'failed', message: reply.message };
  }
  const report = reply.result;
  const summary = `${report.paramsBefore.toLocaleString()} → ${report.paramsAfter.toLocaleString()} parameters`;
  x.log.info(`wrote ${output}: ${summary}${report.verify ? `; ${describeVerification(report.verify)}` : ''}`);
  offerWrittenModel(output, summary, 'pruned');
  return { kind: 'done', report };
}
