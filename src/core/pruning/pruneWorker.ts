/** Worker-thread entry: prunes one model (pruneModel) off the extension host's thread. */
import { parentPort, workerData } from 'node:worker_threads';
import { isCheckpointError } from '../errors.ts';
import { PlanError } from './plan.ts';
import { PruneOptionsError, type PruneOptions, type PruneReport, pruneModel } from './pruneModel.ts';

export interface PruneWorkerRequest {
  file: string;
  output: string;
  options: Omit<PruneOptions, 'layers'> & { layers?: string };
}

export type PruneWorkerReply = { ok: true; result: PruneReport } | { ok: false; message: string; badInput: boolean; stack?: string };

async function run(r: PruneWorkerRequest): Promise<PruneWorkerReply> {
  try {
    const { layers, ...rest } = r.options;
    return { ok: true, result: await pruneModel(r.file, r.output, { ...rest, ...(layers ? { layers: new RegExp(layers) } : {}) }) };
  } catch (e) {
    const err = e as Error;
    const badInput = isCheckpointError(e) || e instanceof PruneOptionsError || e instanceof PlanError;
    return { ok: false, message: err.message, badInput, ...(err.stack ? { stack: err.stack } : {}) };
  }
}

if (parentPort) void run(workerData as PruneWorkerRequest).then((reply) => parentPort!.postMessage(reply));
