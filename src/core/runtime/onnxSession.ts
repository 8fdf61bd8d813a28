/**
 * onnxruntime-node sessions as PruneScope opens them: its own log quiet (failures reach the user
 * as one clean error through our messages, not as coloured lines on stderr), and its error texts
 * without the C++ source locations.
 */
import * as ort from 'onnxruntime-node';

/** Severity 4: fatal only. */
const QUIET: ort.InferenceSession.SessionOptions = { logSeverityLevel: 4 };

export function openSession(file: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(file, QUIET);
}

export function runOptions(): ort.InferenceSession.RunOptions {
  return { logSeverityLevel: 4 };
}

/** onnxruntime's message without source paths and C++ signatures. */
export function ortMessage(e: unknown): string {
  return String((e as Error)?.message ?? e)
    .replace(/\/onnxruntime_src\/\S+:\d+\s+(?:[\w:~<>]+\([^)]*\)\s*(?:const\s*)?)?/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}
