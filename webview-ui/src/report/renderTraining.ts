/** Fills the training report page (ids as in core/report/renderTrainingHtml.ts) from a train-gates log. */
import type { TrainGatesLog } from '../../../src/core/training/trainGates.ts';
import { applyChartTheme } from './charts.ts';
import { el, fmt, pct } from './dom.ts';
import { lossChart, thetaChart, widthsChart } from './trainingCharts.ts';

export function renderTraining(log: TrainGatesLog): void {
  applyChartTheme();
  const byId = (id: string) => document.getElementById(id)!;
  byId('provenance').textContent = `${log.method}; tfjs ${log.backend}; ${log.epochs.length} of ${log.settings.epochs} epochs${log.cancelled ? ' (cancelled: the last complete epoch was exported)' : ''}`;
  const facts: Array<[string, string]> = [
    ['widths', `${log.widthsBefore.join('-')} → ${log.widthsAfter.join('-')}`],
    ['parameters', `${log.paramsBefore.toLocaleString()} → ${log.paramsAfter.toLocaleString()} (${pct(log.paramsAfter / log.paramsBefore)})`],
    ['training accuracy', pct(log.final.trainAccuracy)],
    ['validation accuracy', pct(log.final.valAccuracy)],
    ['θ at 0 / 1 when decided', `${log.thetaAtDecision.zero} / ${log.thetaAtDecision.one}`],
    ['θ rounded', `${log.rounded}`],
    ['training time', `${(log.epochs.reduce((a, e) => a + e.ms, 0) / 1000).toFixed(1)} s`],
  ];
  for (const [k, v] of facts) {
    const f = el('div', undefined, 'fact');
    f.append(el('span', k, 'muted'), el('b', v));
    byId('facts').append(f);
  }
  if (log.rounded) byId('warnings').append(el('p', `${log.rounded} θ had not reached 0 or 1 when the structure was decided and were rounded to the nearer end.`, 'warn'));
  widthsChart(byId('chart-widths') as HTMLCanvasElement, log.epochs, log.gatedLayers);
  lossChart(byId('chart-loss') as HTMLCanvasElement, log.epochs);
  thetaChart(byId('chart-theta') as HTMLCanvasElement, log.thetaAtDecision, log.thetaFinal);
  const layers = document.querySelector('#layers tbody')!;
  log.gatedLayers.forEach((name, i) => {
    const tr = el('tr');
    const [before, after] = [log.widthsBefore[i]!, log.widthsAfter[i]!];
    [name, String(before), String(after), pct(after / before)].forEach((v, k) => tr.append(el('td', v, k === 0 ? 'text' : undefined)));
    layers.append(tr);
  });
  const epochs = document.querySelector('#epochs tbody')!;
  for (const e of log.epochs) {
    const tr = el('tr');
    [String(e.epoch), fmt(e.loss, 4), pct(e.accuracy), fmt(e.valLoss, 4), pct(e.valAccuracy), e.widths.join('-'), e.undecided.join('/'), `${(e.ms / 1000).toFixed(1)} s`].forEach((v) => tr.append(el('td', v)));
    epochs.append(tr);
  }
  document.body.setAttribute('data-rendered', 'true');
}
