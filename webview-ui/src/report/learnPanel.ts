/**
 * "Learn structure": asks the host to retrain the model with Bernoulli gates and draws, live, the
 * hidden widths and the loss / accuracy of each epoch.
 */
import { Chart } from 'chart.js';
import type { EpochLog } from '../../../src/core/training/gatedNetwork.ts';
import type { WebviewMessage } from '../protocol.ts';
import { annotate, palette } from './charts.ts';

type Button = HTMLElement & { disabled: boolean };

export class LearnPanel {
  private readonly epochs: EpochLog[] = [];
  private charts: Chart[] = [];

  constructor(private readonly post: (m: WebviewMessage) => void) {
    document.getElementById('learn')!.addEventListener('click', () => this.start());
    document.getElementById('cancel-learn')!.addEventListener('click', () => {
      this.status('Cancelling after the current epoch…');
      this.post({ type: 'cancelTraining' });
    });
  }

  private status(text: string, cls = ''): void {
    const s = document.getElementById('learn-status')!;
    s.textContent = text;
    s.className = cls;
  }

  private busy(on: boolean): void {
    (document.getElementById('learn') as Button).disabled = on;
    document.getElementById('cancel-learn')!.hidden = !on;
  }

  private start(): void {
    this.epochs.length = 0;
    this.busy(true);
    this.status('Choose the training data and where to save…');
    this.post({ type: 'learnStructure' });
  }

  epoch(log: EpochLog, total: number): void {
    this.busy(true);
    this.epochs.push(log);
    const val = log.valAccuracy !== null ? `, validation ${(100 * log.valAccuracy).toFixed(1)}%` : '';
    this.status(`Epoch ${log.epoch} of ${total}: loss ${log.loss.toFixed(3)}, accuracy ${(100 * log.accuracy).toFixed(1)}%${val}; widths ${log.widths.join('-')}`);
    this.draw();
  }

  done(m: { output: string; widthsBefore: number[]; widthsAfter: number[]; accuracy: number; valAccuracy: number | null; cancelled: boolean }): void {
    this.busy(false);
    const val = m.valAccuracy !== null ? `, validation ${(100 * m.valAccuracy).toFixed(1)}%` : '';
    this.status(`${m.cancelled ? 'Cancelled; saved the last complete epoch. ' : ''}Widths ${m.widthsBefore.join('-')} → ${m.widthsAfter.join('-')}; accuracy ${(100 * m.accuracy).toFixed(1)}%${val}. Wrote ${m.output}`, 'ok');
  }

  failed(message: string): void {
    this.busy(false);
    this.status(message, 'bad');
  }

  private draw(): void {
    document.getElementById('learn-charts')!.hidden = false;
    for (const c of this.charts) c.destroy();
    const p = palette();
    const x = this.epochs.map((e) => e.epoch);
    const layers = this.epochs[0]?.widths.length ?? 0;
    this.charts = [
      annotate(
        new Chart(document.getElementById('chart-widths') as HTMLCanvasElement, {
          type: 'line',
          data: { labels: x, datasets: Array.from({ length: layers }, (_, i) => ({ label: `hidden layer ${i + 1}`, data: this.epochs.map((e) => e.widths[i]!), borderColor: p.series[i % 4], backgroundColor: p.series[i % 4] })) },
          options: { plugins: { title: { display: true, text: 'Surviving units per hidden layer' } }, scales: { x: { title: { display: true, text: 'epoch' } }, y: { min: 0, title: { display: true, text: 'units' } } } },
        }),
      ),
      annotate(
        new Chart(document.getElementById('chart-loss') as HTMLCanvasElement, {
          type: 'line',
          data: {
            labels: x,
            datasets: [
              { label: 'training loss', data: this.epochs.map((e) => e.loss), borderColor: p.red, backgroundColor: p.red, yAxisID: 'y' },
              { label: 'training accuracy', data: this.epochs.map((e) => e.accuracy), borderColor: p.green, backgroundColor: p.green, yAxisID: 'acc' },
              ...(this.epochs.some((e) => e.valAccuracy !== null) ? [{ label: 'validation accuracy', data: this.epochs.map((e) => e.valAccuracy), borderColor: p.blue, backgroundColor: p.blue, yAxisID: 'acc' }] : []),
            ],
          },
          options: { plugins: { title: { display: true, text: 'Loss and accuracy' } }, scales: { x: { title: { display: true, text: 'epoch' } }, y: { min: 0, title: { display: true, text: 'loss' } }, acc: { position: 'right', min: 0, max: 1, title: { display: true, text: 'accuracy' } } } },
        }),
      ),
    ];
  }
}
