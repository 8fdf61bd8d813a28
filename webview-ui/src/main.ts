import { type HostMessage, type WebviewMessage, isHostMessage } from './protocol.ts';

declare function acquireVsCodeApi(): { postMessage(m: WebviewMessage): void; getState(): unknown; setState(s: unknown): void };

const vscode = acquireVsCodeApi();
const root = document.getElementById('app')!;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function render(m: HostMessage): void {
  root.replaceChildren();
  if (m.type === 'error') {
    root.append(el('p', m.message, 'error'));
    const b = el('button', 'Show log');
    b.addEventListener('click', () => vscode.postMessage({ type: 'showLog' }));
    root.append(b);
    return;
  }
  if (m.type !== 'inspect') return; // this panel shows inspect results only
  const r = m.result;
  root.append(el('h2', r.file.split(/[\\/]/).pop()!));
  root.append(
    el(
      'p',
      `${r.format}${r.producer ? ` · ${r.producer}` : ''}${r.opset !== null ? ` · opset ${r.opset}` : ''} · ` +
        `${r.totals.params.toLocaleString()} params (${r.totals.weightParams.toLocaleString()} in matrices/kernels)`,
    ),
  );
  for (const w of r.warnings) root.append(el('p', w, 'warning'));
  const table = el('table');
  const head = el('tr');
  for (const h of ['name', 'kind', 'op', 'shape', 'dtype', 'params']) head.append(el('th', h));
  table.append(el('thead'), el('tbody'));
  table.tHead!.append(head);
  for (const l of r.layers) {
    const tr = el('tr');
    tr.append(
      el('td', l.name),
      el('td', l.kind),
      el('td', l.opType || '—'),
      el('td', l.shape.join('×')),
      el('td', l.dtype + (l.quantized ? ' (q)' : '')),
      el('td', l.params.toLocaleString(), 'num'),
    );
    table.tBodies[0]!.append(tr);
  }
  root.append(table);
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  if (!isHostMessage(event.data)) return;
  vscode.setState(event.data);
  render(event.data);
});

const saved = vscode.getState();
if (isHostMessage(saved)) render(saved);
vscode.postMessage({ type: 'ready' });
