/** Small DOM and number-formatting helpers of the report pages. */
export const fmt = (v: number | null | undefined, d = 3) => (v === null || v === undefined ? '—' : Number(v).toFixed(d));
export const pct = (v: number | null | undefined) => (v === null || v === undefined ? '—' : `${(100 * v).toFixed(1)}%`);

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** Fact cards (label over value) into `box`, replacing what it held. */
export function fillFacts(box: HTMLElement, facts: ReadonlyArray<readonly [string, string]>): void {
  box.replaceChildren(
    ...facts.map(([label, value]) => {
      const d = el('div', undefined, 'fact');
      d.append(el('span', label, 'muted'), el('b', value));
      return d;
    }),
  );
}

/** A table row of text cells; the columns in `textColumns` are left-aligned. */
export function tableRow(cells: readonly string[], textColumns: ReadonlySet<number> = new Set()): HTMLTableRowElement {
  const tr = el('tr');
  cells.forEach((v, k) => tr.append(el('td', v, textColumns.has(k) ? 'text' : undefined)));
  return tr;
}
