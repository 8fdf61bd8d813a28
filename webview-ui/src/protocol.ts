/**
 * The one typed protocol between the extension host and the webviews. Both sides import it; the
 * webviews validate every incoming message with `isHostMessage`.
 */
import type { InspectResult } from '../../src/core/inspect.ts';
import type { AnalysisReport } from '../../src/core/report/report.ts';

export type HostMessage =
  | { type: 'inspect'; result: InspectResult }
  | { type: 'progress'; done: number; total: number; layer: string }
  | { type: 'report'; report: AnalysisReport }
  | { type: 'error'; message: string };

export type WebviewMessage = { type: 'ready' } | { type: 'showLog' } | { type: 'cancel' };

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
      return !!r && typeof r.schemaVersion === 'string' && r.schemaVersion.startsWith('1.') && Array.isArray(r.layers);
    }
    case 'error':
      return typeof x['message'] === 'string';
    default:
      return false;
  }
}
