import { parentPort, workerData } from 'node:worker_threads';
import { type WorkerFailure, workerFailure } from '../errors.ts';
import { openCheckpoint } from '../formats/openCheckpoint.ts';
import { inspectCheckpoint } from '../inspect.ts';

/** Messages the inspect worker posts back to the extension host. */
export type InspectWorkerReply =
  | { ok: true; result: ReturnType<typeof inspectCheckpoint> }
  | WorkerFailure;

function run(file: string): InspectWorkerReply {
  try {
    const ck = openCheckpoint(file);
    try {
      return { ok: true, result: inspectCheckpoint(ck) };
    } finally {
      ck.close();
    }
  } catch (e) {
    return workerFailure(e);
  }
}

if (parentPort) parentPort.postMessage(run((workerData as { file: string }).file));
