import { Worker } from 'node:worker_threads';
import * as vscode from 'vscode';
import type { WorkerFailure } from '../core/errors.ts';

type Reply = { ok: true } | WorkerFailure;

/**
 * Runs one of the core's worker bundles (dist/<name>.js) with `data` and resolves its single reply,
 * or undefined when cancelled (the worker is terminated).
 */
export function runCoreWorker<R extends Reply>(extensionUri: vscode.Uri, name: string, data: unknown, token: vscode.CancellationToken): Promise<R | undefined> {
  const worker = new Worker(vscode.Uri.joinPath(extensionUri, 'dist', `${name}.js`).fsPath, { workerData: data });
  return new Promise((resolve) => {
    const sub = token.onCancellationRequested(() => {
      void worker.terminate();
      resolve(undefined);
    });
    worker.once('message', (reply: R) => {
      sub.dispose();
      void worker.terminate();
      resolve(reply);
    });
    worker.once('error', (e) => {
      sub.dispose();
      resolve({ ok: false, message: e.message, badInput: false, ...(e.stack ? { stack: e.stack } : {}) } as R);
    });
  });
}
