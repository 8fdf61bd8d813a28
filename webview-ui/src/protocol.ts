/**
 * The one typed protocol between the extension host and the webview. Both sides import it;
 * the webview validates every incoming message with `isHostMessage`.
 */
import type { InspectResult } from '../../src/core/inspect.ts';

export type HostMessage = { type: 'inspect'; result: InspectResult } | { type: 'error'; message: string };

export type WebviewMessage = { type: 'ready' } | { type: 'showLog' };

export function isHostMessage(m: unknown): m is HostMessage {
  if (!m || typeof m !== 'object') return false;
  const t = (m as { type?: unknown }).type;
  if (t === 'inspect') {
    const r = (m as { result?: InspectResult }).result;
    return !!r && Array.isArray(r.layers) && typeof r.totals === 'object';
  }
  return t === 'error' && typeof (m as { message?: unknown }).message === 'string';
}
