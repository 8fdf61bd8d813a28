import { parentPort, workerData } from 'node:worker_threads';
import { isCheckpointError } from '../errors.ts';
import { openCheckpoint } from '../formats/openCheckpoint.ts';
import { inspectCheckpoint } from '../inspect.ts';

/** Messages the inspect worker posts back to the extension host. */
export type InspectWorkerReply =
  | { ok: true; result: ReturnType<typeof inspectCheckpoint> }
  | { ok: false; message: string; badInput: boolean; stack?: string };

function run(file: string): InspectWorkerReply {
  try {
    const ck = openCheckpoint(file);
    try {
      return { ok: true, result: inspectCheckpoint(ck) };
    } finally {
      ck.close();
    }
  } catch (e) {
    const err = e as Error;
    return { ok: false, message: err.message, badInput: isCheckpointError(e), ...(err.stack ? { stack: err.stack } : {}) };
  }
}

if (parentPort) parentPort.postMessage(run((workerData as { file: string }).file));
