/** Fills the training report page (ids as in core/report/renderTrainingHtml.ts) from a train-gates log. */
import type { TrainGatesLog } from '../../../src/core/training/trainGates.ts';
import { applyChartTheme } from './charts.ts';
import { el, fillFacts, fmt, pct, tableRow } from './dom.ts';
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
  fillFacts(byId('facts'), facts);
  if (log.rounded) byId('warnings').append(el('p', `${log.rounded} θ had not reached 0 or 1 when the structure was decided and were rounded to the nearer end.`, 'warn'));
  widthsChart(byId('chart-widths') as HTMLCanvasElement, log.epochs, log.gatedLayers);
  lossChart(byId('chart-loss') as HTMLCanvasElement, log.epochs);
  thetaChart(byId('chart-theta') as HTMLCanvasElement, log.thetaAtDecision, log.thetaFinal);
  const layers = document.querySelector('#layers tbody')!;
  layers.append(...log.gatedLayers.map((name, i) => tableRow([name, String(log.widthsBefore[i]), String(log.widthsAfter[i]), pct(log.widthsAfter[i]! / log.widthsBefore[i]!)], new Set([0]))));
  document
    .querySelector('#epochs tbody')!
    .append(...log.epochs.map((e) => tableRow([String(e.epoch), fmt(e.loss, 4), pct(e.accuracy), fmt(e.valLoss, 4), pct(e.valAccuracy), e.widths.join('-'), e.undecided.join('/'), `${(e.ms / 1000).toFixed(1)} s`])));
  document.body.setAttribute('data-rendered', 'true');
}
