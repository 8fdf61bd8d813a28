/**
 * Charts of a gate-training run, shared by the webview's Learn panel (drawn live, epoch by epoch)
 * and the training report page: surviving units per gated layer, loss and accuracy, and the θ
 * histogram.
 */
import { Chart } from 'chart.js';
import type { EpochLog } from '../../../src/core/training/gatedNetwork.ts';
import type { ThetaHistogram } from '../../../src/core/training/trainGates.ts';
import { annotate, palette } from './charts.ts';

export function widthsChart(canvas: HTMLCanvasElement, epochs: readonly EpochLog[], layerNames: readonly string[] = []): Chart {
  const p = palette();
  const layers = epochs[0]?.widths.length ?? 0;
  return annotate(
    new Chart(canvas, {
      type: 'line',
      data: {
        labels: epochs.map((e) => e.epoch),
        datasets: Array.from({ length: layers }, (_, i) => ({ label: layerNames[i] ?? `hidden layer ${i + 1}`, data: epochs.map((e) => e.widths[i]!), borderColor: p.series[i % 4], backgroundColor: p.series[i % 4] })),
      },
      options: { plugins: { title: { display: true, text: 'Surviving units per gated layer' } }, scales: { x: { title: { display: true, text: 'epoch' } }, y: { min: 0, title: { display: true, text: 'units / filters' } } } },
    }),
  );
}

export function lossChart(canvas: HTMLCanvasElement, epochs: readonly EpochLog[]): Chart {
  const p = palette();
  return annotate(
    new Chart(canvas, {
      type: 'line',
      data: {
        labels: epochs.map((e) => e.epoch),
        datasets: [
          { label: 'training loss', data: epochs.map((e) => e.loss), borderColor: p.red, backgroundColor: p.red, yAxisID: 'y' },
          { label: 'training accuracy', data: epochs.map((e) => e.accuracy), borderColor: p.green, backgroundColor: p.green, yAxisID: 'acc' },
          ...(epochs.some((e) => e.valAccuracy !== null) ? [{ label: 'validation accuracy', data: epochs.map((e) => e.valAccuracy), borderColor: p.blue, backgroundColor: p.blue, yAxisID: 'acc' }] : []),
        ],
      },
      options: { plugins: { title: { display: true, text: 'Loss and accuracy' } }, scales: { x: { title: { display: true, text: 'epoch' } }, y: { min: 0, title: { display: true, text: 'loss' } }, acc: { position: 'right', min: 0, max: 1, title: { display: true, text: 'accuracy' } } } },
    }),
  );
}

const THETA_BINS = ['0', ...Array.from({ length: 10 }, (_, i) => `${(i / 10).toFixed(1)}–${((i + 1) / 10).toFixed(1)}`), '1'];

/** The θ of every unit in 12 bins (exactly 0, tenths of (0, 1), exactly 1): at the decision and at the end. */
export function thetaChart(canvas: HTMLCanvasElement, atDecision: ThetaHistogram, final: ThetaHistogram): Chart {
  const p = palette();
  return annotate(
    new Chart(canvas, {
      type: 'bar',
      data: {
        labels: THETA_BINS,
        datasets: [
          { label: 'θ when the structure was decided', data: atDecision.bins, backgroundColor: p.orange },
          { label: 'θ at the end (exported)', data: final.bins, backgroundColor: p.blue },
        ],
      },
      options: { plugins: { title: { display: true, text: 'Gate probabilities θ' } }, scales: { x: { title: { display: true, text: 'θ' } }, y: { min: 0, title: { display: true, text: 'units' } } } },
    }),
  );
}
