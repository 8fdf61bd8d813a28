import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AnalyzeOptions } from '../core/analysis/analyzeModel.ts';
import type { PreviewMethod } from '../core/pruning/previewPlan.ts';
import { parseInputShape } from '../core/graph/inputDims.ts';

/**
 * prunescope.inputShapes: dims for dynamic inputs (`name=1x16000`), for the dependency analysis,
 * the preview and random verification. A malformed entry throws a UsageError naming it.
 */
export function inputShapeSettings(): Array<{ name: string | null; dims: number[] }> {
  const raw = vscode.workspace.getConfiguration('prunescope').get<unknown>('inputShapes', []);
  const list = Array.isArray(raw) ? raw : [];
  return list.filter((x): x is string => typeof x === 'string' && x.trim() !== '').map((x) => parseInputShape(x.replace(/^--input-shape[= ]/, '')));
}

/**
 * The `prunescope.*` settings of an analysis. All but `workers` and `memoryBudget`, which change
 * only how fast it runs, are part of its cache key.
 */
export function analysisSettings(): Required<Pick<AnalyzeOptions, 'mode' | 'seed' | 'eps' | 'maxSpectrumDim' | 'inputShapes'>> & { workers: number | undefined; memoryBudget: number | undefined } {
  const c = vscode.workspace.getConfiguration('prunescope');
  const workers = c.get<number>('workers', 0);
  const budgetMB = c.get<number>('memoryBudgetMB', 0);
  return {
    inputShapes: inputShapeSettings(),
    mode: c.get<'robust' | 'paper'>('mode', 'robust'),
    seed: c.get<number>('seed', 0),
    eps: c.get<number>('eps', 0.1),
    maxSpectrumDim: c.get<number>('maxSpectrumDim', 4096),
    workers: workers > 0 ? workers : undefined, // 0: one per core
    memoryBudget: budgetMB > 0 ? budgetMB * 2 ** 20 : undefined, // 0: a quarter of the machine's memory
  };
}

/** A path from a setting: absolute, or relative to the model's workspace folder (its own folder outside one). */
export function resolveSettingPath(model: vscode.Uri, value: string): string {
  return path.resolve(vscode.workspace.getWorkspaceFolder(model)?.uri.fsPath ?? path.dirname(model.fsPath), value);
}

/** The calibration .npy (prunescope.calibrationData), resolved against the model's workspace folder, with its mtime for cache keys. */
export function calibrationSettings(model: vscode.Uri): { data: string; mtime: number; samples: number } | undefined {
  const c = vscode.workspace.getConfiguration('prunescope');
  const value = c.get<string>('calibrationData', '').trim();
  if (!value) return undefined;
  const data = resolveSettingPath(model, value);
  let mtime = 0;
  try {
    mtime = fs.statSync(data).mtimeMs;
  } catch {
    mtime = -1; // reported by the analysis as a missing file
  }
  return { data, mtime, samples: c.get<number>('calibrationSamples', 512) };
}

export function exportSettings(): { defaultMethod: PreviewMethod; verifyOnExport: boolean } {
  const c = vscode.workspace.getConfiguration('prunescope');
  return { defaultMethod: c.get<PreviewMethod>('defaultMethod', 'magnitude'), verifyOnExport: c.get<boolean>('verifyOnExport', true) };
}
