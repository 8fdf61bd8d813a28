import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as vscode from 'vscode';
import type { CheckpointFormat } from '../core/checkpoint.ts';
import { GATE_DEFAULTS } from '../core/training/gatedNetwork.ts';
import type { TrainWorkerMessage, TrainWorkerRequest } from '../core/training/trainWorker.ts';
import type { HostMessage } from '../../webview-ui/src/protocol.ts';
import { chooseExportTarget, offerWrittenModel } from './exportTarget.ts';
import { resolveSettingPath } from './settings.ts';

export interface LearnRequest {
  extensionUri: vscode.Uri;
  input: vscode.Uri;
  format: CheckpointFormat;
  log: vscode.LogOutputChannel;
  post: (m: HostMessage) => void;
  /** Cancelled from the page. */
  token: vscode.CancellationToken;
}

/** A .npy from the setting (relative to the workspace folder) or from an open dialog. */
async function pickNpy(input: vscode.Uri, setting: string, title: string): Promise<string | undefined> {
  const value = vscode.workspace.getConfiguration('prunescope').get<string>(setting, '').trim();
  if (value) return resolveSettingPath(input, value);
  const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'NumPy arrays': ['npy'] }, openLabel: 'Use', title });
  return picked?.[0]?.fsPath;
}

/**
 * "Learn structure": retrains the model with Bernoulli gates in a worker thread, streaming each
 * epoch to the page, and writes the smaller model where the user says (never over the original).
 */
export async function learnStructure(r: LearnRequest): Promise<void> {
  const fail = (message: string) => r.post({ type: 'trainFailed', message });
  const data = await pickNpy(r.input, 'trainingData', 'PruneScope: training inputs (samples × features .npy)');
  if (!data) return fail('No training data chosen: gate training retrains the model and needs labelled data.');
  const labels = await pickNpy(r.input, 'trainingLabels', 'PruneScope: training labels (integer classes .npy)');
  if (!labels) return fail('No labels chosen.');
  const target = await chooseExportTarget(r.input, r.format, 'gated', { save: 'Train & export', title: 'Save the trained model' });
  if ('refused' in target) return fail(target.refused);
  // force: the save dialog already asked before replacing; inputs are still never written over.
  const request: TrainWorkerRequest = { file: r.input.fsPath, output: target.output, options: { data, labels, force: true } };
  r.log.info(`train-gates ${r.input.fsPath} → ${target.output} on ${data}, ${labels}`);
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `PruneScope: learning the structure of ${path.basename(r.input.fsPath)}`, cancellable: true },
    (progress, token) =>
      new Promise<void>((resolve) => {
        const worker = new Worker(vscode.Uri.joinPath(r.extensionUri, 'dist', 'trainWorker.js').fsPath, { workerData: request });
        const cancel = () => worker.postMessage('cancel'); // stops after the current epoch, keeping its state
        const subs = [token.onCancellationRequested(cancel), r.token.onCancellationRequested(cancel)];
        const epochs = GATE_DEFAULTS.epochs; // the worker trains with the defaults
        worker.on('message', (m: TrainWorkerMessage) => {
          if (m.kind === 'epoch') {
            progress.report({ increment: 100 / epochs, message: `epoch ${m.log.epoch}: widths ${m.log.widths.join('-')}` });
            r.post({ type: 'trainEpoch', log: m.log, epochs });
            return;
          }
          for (const s of subs) s.dispose();
          if (m.ok) {
            const l = m.result;
            r.post({ type: 'trainDone', output: l.output, widthsBefore: l.widthsBefore, widthsAfter: l.widthsAfter, accuracy: l.final.trainAccuracy, valAccuracy: l.final.valAccuracy, cancelled: l.cancelled, gatedLayers: l.gatedLayers, thetaAtDecision: l.thetaAtDecision, thetaFinal: l.thetaFinal });
            r.log.info(`trained ${l.output}: widths ${l.widthsBefore.join('-')} → ${l.widthsAfter.join('-')}`);
            offerWrittenModel(l.output, `widths ${l.widthsBefore.join('-')} → ${l.widthsAfter.join('-')}`, 'trained');
          } else {
            r.log.error(`train-gates failed: ${m.badInput ? m.message : m.stack ?? m.message}`);
            fail(m.message);
            void vscode.window.showErrorMessage(`PruneScope: ${m.message}`, 'Show Log').then((c) => c && r.log.show());
          }
          resolve();
        });
        worker.once('error', (e) => {
          for (const s of subs) s.dispose();
          r.log.error(`train-gates worker: ${e.stack ?? e.message}`);
          fail(e.message);
          resolve();
        });
      }),
  );
}
