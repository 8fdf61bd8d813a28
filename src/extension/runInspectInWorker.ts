import { Worker } from 'node:worker_threads';
import * as vscode from 'vscode';
import type { InspectWorkerReply } from '../core/worker/inspectWorker.ts';

/** Runs the core's inspect in a worker thread; resolves undefined when cancelled. */
export function runInspectInWorker(extensionUri: vscode.Uri, file: string, token: vscode.CancellationToken): Promise<InspectWorkerReply | undefined> {
  const script = vscode.Uri.joinPath(extensionUri, 'dist', 'worker.js').fsPath;
  const worker = new Worker(script, { workerData: { file } });
  return new Promise((resolve) => {
    const sub = token.onCancellationRequested(() => {
      void worker.terminate();
      resolve(undefined);
    });
    worker.once('message', (reply: InspectWorkerReply) => {
      sub.dispose();
      void worker.terminate();
      resolve(reply);
    });
    worker.once('error', (e) => {
      sub.dispose();
      resolve({ ok: false, message: e.message, badInput: false, ...(e.stack ? { stack: e.stack } : {}) });
    });
  });
}
