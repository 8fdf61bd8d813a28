/**
 * The sortable, filterable layers table. Selection: click selects one row, Ctrl/⌘+click or Space
 * toggles a row (up to 4), Enter selects one, arrow keys move between rows.
 */
import type { LayerResult } from '../../../src/core/analysis/analyzeLayer.ts';
import { el, fmt, pct } from './dom.ts';

export const MAX_SELECTED = 4;

interface Column {
  key: string;
  label: string;
  title: string;
  value: (l: LayerResult) => string | number | null;
  show: (l: LayerResult) => string;
  text?: boolean;
}

const COLUMNS: Column[] = [
  { key: 'name', label: 'layer', title: 'weight name', value: (l) => l.name, show: (l) => l.name, text: true },
  { key: 'kind', label: 'kind', title: 'layer kind', value: (l) => l.kind, show: (l) => l.kind, text: true },
  { key: 'shape', label: 'shape', title: 'canonical shape (out × in × …)', value: (l) => l.params, show: (l) => l.shape.join('×'), text: true },
  { key: 'params', label: 'params', title: 'parameters', value: (l) => l.params, show: (l) => l.params.toLocaleString() },
  { key: 'alphaStable', label: 'α-stable', title: 'α-stable (MMO, multivariate): below 2 = heavy-tailed', value: (l) => l.alphaStable.multivariate, show: (l) => fmt(l.alphaStable.multivariate) },
  { key: 'alphaHill', label: 'α-Hill', title: 'Hill estimate of the tail index', value: (l) => l.alphaHill, show: (l) => fmt(l.alphaHill) },
  { key: 'alphaEsd', label: 'α-ESD', title: 'power-law exponent of the eigenvalue spectrum', value: (l) => l.esd?.alpha ?? null, show: (l) => (l.esd ? fmt(l.esd.alpha) : '—') },
  { key: 'magnitude', label: 'mag.@ε', title: 'fraction of weights prunable at ε', value: (l) => l.prunableAtEps.magnitude, show: (l) => pct(l.prunableAtEps.magnitude) },
  { key: 'node', label: 'node@ε', title: 'fraction of units prunable at ε', value: (l) => l.prunableAtEps.node, show: (l) => pct(l.prunableAtEps.node) },
  { key: 'singular', label: 'SV@ε', title: 'fraction of singular values prunable at ε', value: (l) => l.prunableAtEps.singular, show: (l) => pct(l.prunableAtEps.singular) },
  { key: 'dof', label: 'N̂(λ)', title: 'degrees of freedom of the activations (needs calibration data): small = compressible by spectral pruning', value: (l) => l.activationSpectrum?.degreesOfFreedom[1] ?? null, show: (l) => (l.activationSpectrum ? `${fmt(l.activationSpectrum.degreesOfFreedom[1]!, 1)}/${l.activationSpectrum.units}` : '—') },
  { key: 'status', label: 'status', title: 'ok, partial (some estimates missing) or invalid', value: (l) => l.status, show: (l) => l.status, text: true },
];

export interface TableState {
  sort: { key: string; dir: 1 | -1 } | null;
  filter: string;
  selected: string[];
}

export class LayersTable {
  private readonly body: HTMLTableSectionElement;
  private readonly head: HTMLTableRowElement;

  constructor(
    table: HTMLTableElement,
    private readonly layers: readonly LayerResult[],
    readonly state: TableState,
    private readonly onChange: () => void,
  ) {
    this.body = table.tBodies[0]!;
    this.head = table.tHead!.rows[0]!;
    this.head.replaceChildren(
      ...COLUMNS.map((c) => {
        const th = el('th');
        th.title = c.title;
        const b = el('button', c.label);
        b.addEventListener('click', () => this.sortBy(c.key));
        th.append(b);
        return th;
      }),
    );
    this.render();
  }

  setFilter(text: string): void {
    this.state.filter = text;
    this.render();
    this.onChange();
  }

  private sortBy(key: string): void {
    const s = this.state.sort;
    this.state.sort = s?.key === key ? (s.dir === 1 ? { key, dir: -1 } : null) : { key, dir: 1 };
    this.render();
    this.onChange();
  }

  /** Rows shown: filtered, then sorted (missing values last). */
  visible(): LayerResult[] {
    const f = this.state.filter.trim().toLowerCase();
    const rows = this.layers.filter((l) => !f || [l.name, l.kind, l.status].some((v) => v.toLowerCase().includes(f)));
    const s = this.state.sort;
    const col = s && COLUMNS.find((c) => c.key === s.key);
    if (!s || !col) return rows;
    return [...rows].sort((a, b) => {
      const x = col.value(a);
      const y = col.value(b);
      if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
      return (x < y ? -1 : x > y ? 1 : 0) * s.dir;
    });
  }

  select(name: string, additive: boolean): void {
    const sel = this.state.selected;
    if (!additive) this.state.selected = [name];
    else if (sel.includes(name)) this.state.selected = sel.filter((n) => n !== name);
    else this.state.selected = [...sel, name].slice(-MAX_SELECTED);
    this.markSelection();
    this.onChange();
  }

  private markSelection(): void {
    for (const tr of Array.from(this.body.rows)) tr.setAttribute('aria-selected', String(this.state.selected.includes(tr.dataset['name']!)));
  }

  render(): void {
    COLUMNS.forEach((c, i) => {
      const th = this.head.cells[i]!;
      th.setAttribute('aria-sort', this.state.sort?.key === c.key ? (this.state.sort.dir === 1 ? 'ascending' : 'descending') : 'none');
      th.querySelector('button')!.textContent = c.label + (this.state.sort?.key === c.key ? (this.state.sort.dir === 1 ? ' ▲' : ' ▼') : '');
    });
    const rows = this.visible().map((l) => {
      const tr = el('tr');
      tr.dataset['name'] = l.name;
      tr.tabIndex = 0;
      for (const c of COLUMNS) tr.append(el('td', c.show(l), c.text ? 'text' : undefined));
      const status = tr.lastElementChild as HTMLElement;
      if (l.status !== 'ok') status.className = `text ${l.status === 'invalid' ? 'bad' : 'warn'}`;
      if (l.reasons.length) status.title = l.reasons.join('\n');
      tr.addEventListener('click', (e) => this.select(l.name, e.ctrlKey || e.metaKey || e.shiftKey));
      tr.addEventListener('keydown', (e) => this.onKey(e, tr, l.name));
      return tr;
    });
    this.body.replaceChildren(...rows);
    this.markSelection();
  }

  private onKey(e: KeyboardEvent, tr: HTMLTableRowElement, name: string): void {
    if (e.key === 'Enter') this.select(name, false);
    else if (e.key === ' ') this.select(name, true);
    else if (e.key === 'ArrowDown') (tr.nextElementSibling as HTMLElement | null)?.focus();
    else if (e.key === 'ArrowUp') (tr.previousElementSibling as HTMLElement | null)?.focus();
    else return;
    e.preventDefault();
  }
}
