/**
 * The one typed protocol between the extension host and the webviews. Both sides import it; the
 * webviews validate every incoming message with `isHostMessage`, the host every incoming one with
 * `isWebviewMessage`.
 */
import type { InspectResult } from '../../src/core/inspect.ts';
import type { PruneReport } from '../../src/core/pruning/pruneModel.ts';
import type { PreviewMethod, PreviewRequest } from '../../src/core/pruning/previewPlan.ts';
import type { AnalysisReport } from '../../src/core/report/report.ts';
import type { EpochLog } from '../../src/core/training/gatedNetwork.ts';
import type { ThetaHistogram } from '../../src/core/training/trainGates.ts';

export type ReportView = 'overview' | 'layers' | 'compare' | 'prune';

/** Settings the report view needs from the host. */
export interface ViewConfig {
  defaultMethod: PreviewMethod;
  verifyOnExport: boolean;
  /** Why this model cannot be pruned from the UI (e.g. a TF.js graph-model), or null. */
  pruneUnavailable: string | null;
}

export type HostMessage =
  | { type: 'inspect'; result: InspectResult }
  | { type: 'progress'; done: number; total: number; layer: string }
  | { type: 'report'; report: AnalysisReport; config: ViewConfig }
  | { type: 'error'; message: string }
  /** Switch to a view (the Compare Layers and Prune & Export commands). */
  | { type: 'show'; view: ReportView }
  | { type: 'pruneProgress'; message: string }
  | { type: 'pruneDone'; result: PruneReport }
  | { type: 'pruneFailed'; message: string }
  /** Gate training ("Learn structure"): one message per epoch, then the outcome. */
  | { type: 'trainEpoch'; log: EpochLog; epochs: number }
  | { type: 'trainDone'; output: string; widthsBefore: number[]; widthsAfter: number[]; accuracy: number; valAccuracy: number | null; cancelled: boolean; gatedLayers: string[]; thetaAtDecision: ThetaHistogram; thetaFinal: ThetaHistogram }
  | { type: 'trainFailed'; message: string };

export type WebviewMessage =
  | { type: 'ready' }
  | { type: 'showLog' }
  | { type: 'cancel' }
  /** Prune with the panel's settings; `layers` restricts pruning (a `--layers` pattern), null = all. */
  | { type: 'prune'; request: PreviewRequest; layers: string | null; verify: boolean }
  | { type: 'cancelPrune' }
  | { type: 'learnStructure' }
  | { type: 'cancelTraining' };

const METHODS = ['magnitude', 'node', 'singular', 'spectral'];
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function isPreviewRequest(r: unknown): r is PreviewRequest {
  if (!r || typeof r !== 'object') return false;
  const x = r as Record<string, unknown>;
  const t = x['target'] as Record<string, unknown> | undefined;
  const targetOk =
    !!t &&
    ((t['kind'] === 'ratio' && isNum(t['ratio'])) || (t['kind'] === 'eps' && isNum(t['eps'])) || (t['kind'] === 'budget' && isNum(t['params'])));
  return METHODS.includes(x['method'] as string) && targetOk && typeof x['global'] === 'boolean' && (x['alphaBelow'] === null || isNum(x['alphaBelow']));
}

export function isHostMessage(m: unknown): m is HostMessage {
  if (!m || typeof m !== 'object') return false;
  const x = m as Record<string, unknown>;
  switch (x['type']) {
    case 'inspect': {
      const r = x['result'] as InspectResult | undefined;
      return !!r && Array.isArray(r.layers) && typeof r.totals === 'object';
    }
    case 'progress':
      return typeof x['done'] === 'number' && typeof x['total'] === 'number' && typeof x['layer'] === 'string';
    case 'report': {
      const r = x['report'] as AnalysisReport | undefined;
      const c = x['config'] as ViewConfig | undefined;
      return (
        !!r && typeof r.schemaVersion === 'string' && r.schemaVersion.startsWith('1.') && Array.isArray(r.layers) &&
        !!c && METHODS.includes(c.defaultMethod) && typeof c.verifyOnExport === 'boolean'
      );
    }
    case 'show':
      return ['overview', 'layers', 'compare', 'prune'].includes(x['view'] as string);
    case 'pruneDone': {
      const r = x['result'] as PruneReport | undefined;
      return !!r && typeof r.output === 'string' && Array.isArray(r.layers);
    }
    case 'trainEpoch': {
      const l = x['log'] as EpochLog | undefined;
      return !!l && typeof l.epoch === 'number' && typeof l.loss === 'number' && Array.isArray(l.widths) && typeof x['epochs'] === 'number';
    }
    case 'trainDone':
      return (
        typeof x['output'] === 'string' &&
        Array.isArray(x['widthsBefore']) &&
        Array.isArray(x['widthsAfter']) &&
        typeof x['accuracy'] === 'number' &&
        typeof x['cancelled'] === 'boolean' &&
        Array.isArray(x['gatedLayers']) &&
        [x['thetaAtDecision'], x['thetaFinal']].every((h) => typeof h === 'object' && h !== null && Array.isArray((h as ThetaHistogram).bins) && (h as ThetaHistogram).bins.length === 12)
      );
    case 'error':
    case 'pruneProgress':
    case 'pruneFailed':
    case 'trainFailed':
      return typeof x['message'] === 'string';
    default:
      return false;
  }
}

export function isWebviewMessage(m: unknown): m is WebviewMessage {
  if (!m || typeof m !== 'object') return false;
  const x = m as Record<string, unknown>;
  switch (x['type']) {
    case 'ready':
    case 'showLog':
    case 'cancel':
    case 'cancelPrune':
    case 'learnStructure':
    case 'cancelTraining':
      return true;
    case 'prune':
      return isPreviewRequest(x['request']) && (x['layers'] === null || typeof x['layers'] === 'string') && typeof x['verify'] === 'boolean';
    default:
      return false;
  }
}
