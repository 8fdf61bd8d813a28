/** Worker-thread entry: opens the checkpoint once, then analyses the layers it is sent. */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { type WorkerFailure, workerFailure } from '../errors.ts';
import { openCheckpoint } from '../formats/openCheckpoint.ts';
import { analyzeLayer, type AnalysisSettings, releaseLayerScratch } from './analyzeLayer.ts';

/** Analyse one layer, or drop the thread's scratch buffers while it waits (the memory cap blocks it). */
export type AnalyzeWorkerRequest = { name: string; isClassifier: boolean } | { release: true };
export type AnalyzeWorkerReply = { ok: true; result: Awaited<ReturnType<typeof analyzeLayer>> } | (WorkerFailure & { name: string });

// A full collection between layers returns the previous layer's buffers (hundreds of MB for an
// embedding) before the next one is allocated, which keeps the pool's peak RSS near its live data.
v8.setFlagsFromString('--expose-gc');
const collect = vm.runInNewContext('gc') as () => void;

const { file, settings } = workerData as { file: string; settings: AnalysisSettings };
const ck = openCheckpoint(file);
const byName = new Map(ck.weights.map((w) => [w.name, w]));

parentPort!.on('message', async (req: AnalyzeWorkerRequest) => {
  if ('release' in req) {
    releaseLayerScratch();
    collect();
    return;
  }
  let reply: AnalyzeWorkerReply;
  try {
    reply = { ok: true, result: await analyzeLayer(byName.get(req.name)!, settings, req.isClassifier) };
  } catch (e) {
    reply = { ...workerFailure(e), name: req.name };
  }
  parentPort!.postMessage(reply);
  collect();
});
