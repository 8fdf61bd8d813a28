/** Side-by-side comparison of 2–4 selected layers: facts, compressibility curves and histograms. */
import type { Chart } from 'chart.js';
import type { LayerResult } from '../../../src/core/analysis/analyzeLayer.ts';
import { curvesChart, histogramChart } from './charts.ts';
import { el, fmt, pct } from './dom.ts';

export class CompareView {
  private charts: Chart[] = [];

  constructor(
    private readonly box: HTMLElement,
    private readonly hint: HTMLElement,
  ) {}

  render(layers: readonly LayerResult[], eps: number): void {
    for (const c of this.charts) c.destroy();
    this.charts = [];
    this.box.replaceChildren();
    if (layers.length < 2) {
      this.hint.textContent = `Select 2–4 layers in the Layers tab (Ctrl+click, or Space on a focused row) to compare them here. Selected: ${layers.length}.`;
      return;
    }
    this.hint.textContent = `${layers.length} layers side by side; curves share the axes (relative ℓ2 error vs. pruning ratio).`;
    this.box.style.setProperty('--columns', String(layers.length));
    layers.forEach((l, i) => {
      const card = el('section', undefined, 'card');
      card.setAttribute('aria-label', `layer ${l.name}`);
      const facts = `${l.kind} ${l.shape.join('×')} · ${l.params.toLocaleString()} params · α-stable ${fmt(l.alphaStable.multivariate, 2)} · α-Hill ${fmt(l.alphaHill, 2)} · α-ESD ${l.esd ? fmt(l.esd.alpha, 2) : '—'}`;
      const prunable = `prunable@ε: magnitude ${pct(l.prunableAtEps.magnitude)}, node ${pct(l.prunableAtEps.node)}, SV ${pct(l.prunableAtEps.singular)}`;
      card.append(el('h3', l.name), el('p', facts, 'muted'), el('p', prunable, 'muted'));
      const curves = el('canvas');
      curves.id = `compare-curves-${i}`;
      curves.setAttribute('role', 'img');
      curves.setAttribute('aria-label', `compressibility curves of ${l.name}`);
      const hist = el('canvas');
      hist.id = `compare-hist-${i}`;
      hist.setAttribute('role', 'img');
      hist.setAttribute('aria-label', `weight histogram of ${l.name}`);
      const c1 = el('div', undefined, 'chart');
      c1.append(curves);
      const c2 = el('div', undefined, 'chart');
      c2.append(hist);
      card.append(c1, c2);
      this.box.append(card);
      this.charts.push(curvesChart(curves, [l], eps), histogramChart(hist, l));
    });
  }
}
