/** Worker-thread entry: prunes one model (pruneModel) off the extension host's thread. */
import { parentPort, workerData } from 'node:worker_threads';
import { type WorkerFailure, workerFailure } from '../errors.ts';
import { type PruneOptions, type PruneReport, pruneModel } from './pruneModel.ts';

export interface PruneWorkerRequest {
  file: string;
  output: string;
  options: Omit<PruneOptions, 'layers' | 'signal'> & { layers?: string };
}

export type PruneWorkerReply = { ok: true; result: PruneReport } | WorkerFailure;

async function run(r: PruneWorkerRequest): Promise<PruneWorkerReply> {
  try {
    const { layers, ...rest } = r.options;
    return { ok: true, result: await pruneModel(r.file, r.output, { ...rest, ...(layers ? { layers: new RegExp(layers) } : {}) }) };
  } catch (e) {
    return workerFailure(e);
  }
}

if (parentPort) void run(workerData as PruneWorkerRequest).then((reply) => parentPort!.postMessage(reply));
