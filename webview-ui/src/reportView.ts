/** The report editor's webview: shows progress while the host analyses, then the report. */
import { type HostMessage, isHostMessage, type WebviewMessage } from './protocol.ts';
import { renderReport } from './report/renderReport.ts';

declare function acquireVsCodeApi(): { postMessage(m: WebviewMessage): void; getState(): unknown; setState(s: unknown): void };

const vscode = acquireVsCodeApi();
const status = document.getElementById('status')!;
let rendered = false;

function handle(m: HostMessage): void {
  if (m.type === 'progress') {
    status.textContent = `Analysing layer ${m.done} of ${m.total}: ${m.layer}`;
  } else if (m.type === 'report' && !rendered) {
    rendered = true;
    status.textContent = '';
    document.getElementById('cancel')!.hidden = true;
    document.getElementById('report')!.hidden = false;
    vscode.setState({ report: m.report }); // the tab can be hidden and restored without re-analysis
    renderReport(m.report);
  } else if (m.type === 'error') {
    status.textContent = m.message;
    status.className = 'bad';
    document.getElementById('cancel')!.hidden = true;
  }
}

window.addEventListener('message', (e: MessageEvent<unknown>) => {
  if (isHostMessage(e.data)) handle(e.data);
});
document.getElementById('cancel')?.addEventListener('click', () => vscode.postMessage({ type: 'cancel' }));
const saved = vscode.getState() as { report?: unknown } | undefined;
const restored = saved?.report !== undefined && isHostMessage({ type: 'report', report: saved.report });
if (restored) handle({ type: 'report', report: saved!.report } as HostMessage);
vscode.postMessage({ type: 'ready' });
