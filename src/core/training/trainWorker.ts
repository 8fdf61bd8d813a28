/** Worker-thread entry: gate training (trainGates) with per-epoch messages; 'cancel' stops after the current epoch. */
import { parentPort, workerData } from 'node:worker_threads';
import { type WorkerFailure, workerFailure } from '../errors.ts';
import type { EpochLog } from './gatedNetwork.ts';
import { type TrainGatesLog, trainGates, type TrainGatesOptions } from './trainGates.ts';

export interface TrainWorkerRequest {
  file: string;
  output: string;
  options: Omit<TrainGatesOptions, 'signal' | 'onEpoch'>;
}

export type TrainWorkerMessage =
  | { kind: 'epoch'; log: EpochLog }
  | { kind: 'done'; ok: true; result: TrainGatesLog }
  | ({ kind: 'done' } & WorkerFailure);

if (parentPort) {
  const port = parentPort;
  const abort = new AbortController();
  port.on('message', (m) => m === 'cancel' && abort.abort());
  const r = workerData as TrainWorkerRequest;
  trainGates(r.file, r.output, { ...r.options, signal: abort.signal, onEpoch: (log) => port.postMessage({ kind: 'epoch', log } satisfies TrainWorkerMessage) })
    .then((result) => port.postMessage({ kind: 'done', ok: true, result } satisfies TrainWorkerMessage))
    .catch((e: unknown) => port.postMessage({ kind: 'done', ...workerFailure(e) } satisfies TrainWorkerMessage))
    .finally(() => port.close());
}
