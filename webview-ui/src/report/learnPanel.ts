/**
 * "Learn structure": asks the host to retrain the model with Bernoulli gates and draws, live, the
 * hidden widths and the loss / accuracy of each epoch, then the θ histogram.
 */
import type { Chart } from 'chart.js';
import type { EpochLog } from '../../../src/core/training/gatedNetwork.ts';
import type { HostMessage, WebviewMessage } from '../protocol.ts';
import { lossChart, thetaChart, widthsChart } from './trainingCharts.ts';

type Button = HTMLElement & { disabled: boolean };

export class LearnPanel {
  private readonly epochs: EpochLog[] = [];
  private charts: Chart[] = [];
  private theta: Chart | undefined;

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
    this.theta?.destroy();
    this.theta = undefined;
    document.getElementById('chart-theta-box')!.hidden = true;
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

  done(m: Extract<HostMessage, { type: 'trainDone' }>): void {
    this.busy(false);
    document.getElementById('chart-theta-box')!.hidden = false;
    this.theta?.destroy();
    this.theta = thetaChart(document.getElementById('chart-theta') as HTMLCanvasElement, m.thetaAtDecision, m.thetaFinal);
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
    this.charts = [widthsChart(document.getElementById('chart-widths') as HTMLCanvasElement, this.epochs), lossChart(document.getElementById('chart-loss') as HTMLCanvasElement, this.epochs)];
  }
}
