/**
 * The prune panel: method, target (ratio / ε / budget), global threshold, auto from α, verify.
 * Every change recomputes the preview from the report's curves; "Prune & export" sends the request
 * to the host, which asks where to save, prunes in a worker and verifies.
 */
import type { PruneReport } from '../../../src/core/pruning/pruneModel.ts';
import { type PlanPreview, type PreviewMethod, type PreviewRequest, previewPlan } from '../../../src/core/pruning/previewPlan.ts';
import { describeVerification, verificationConcern } from '../../../src/core/report/describeVerification.ts';
import type { AnalysisReport } from '../../../src/core/report/report.ts';
import type { ViewConfig, WebviewMessage } from '../protocol.ts';
import { el, formatBytes, pct } from './dom.ts';
import type { LayerPreview } from '../../../src/core/pruning/previewPlan.ts';

/** pruned, coupled (pruned with other layers as one group), approximate, refused or kept. */
export function layerStatus(l: LayerPreview): string {
  if (l.skip !== undefined) return l.skip.startsWith('own outputs kept') ? 'refused' : 'kept';
  if (l.ratio === 0) return 'kept';
  if (l.group?.approximate) return 'approximate';
  return l.group && l.group.coupled.length > 0 ? 'coupled' : 'pruned';
}

function layerNote(l: LayerPreview): string {
  if (l.skip !== undefined) return l.skip.replace(/^own outputs kept: /, '');
  const parts: string[] = [];
  if (l.group) {
    const c = l.group.coupled;
    parts.push(`group ${l.group.id}${c.length ? ` with ${c.slice(0, 3).join(', ')}${c.length > 3 ? ` and ${c.length - 3} more` : ''}` : ''}`);
    if (l.group.approximate) parts.push('normalisation statistics change');
  }
  if (l.note) parts.push(l.note);
  return parts.join('; ');
}

export interface PruneFormState {
  method: PreviewMethod;
  targetKind: 'ratio' | 'eps' | 'budget';
  value: string;
  global: boolean;
  autoAlpha: boolean;
  alphaBelow: string;
  verify: boolean;
}

type Field = HTMLElement & { value: string; checked: boolean; disabled: boolean };

const LABELS = { ratio: 'Ratio (0–1)', eps: 'ε (relative ℓ2 error)', budget: 'Parameters to keep' };

export class PrunePanel {
  private readonly f: Record<'method' | 'targetKind' | 'value' | 'global' | 'autoAlpha' | 'alphaBelow' | 'verify' | 'prune' | 'cancel', Field>;
  private preview: PlanPreview | null = null;
  private busy = false;

  constructor(
    private readonly report: AnalysisReport,
    private readonly config: ViewConfig,
    readonly state: PruneFormState,
    private readonly post: (m: WebviewMessage) => void,
    private readonly onChange: () => void,
  ) {
    const byId = (id: string) => document.getElementById(id) as Field;
    this.f = {
      method: byId('method'),
      targetKind: byId('target-kind'),
      value: byId('target-value'),
      global: byId('global'),
      autoAlpha: byId('auto-alpha'),
      alphaBelow: byId('alpha-below'),
      verify: byId('verify'),
      prune: byId('prune'),
      cancel: byId('cancel-prune'),
    };
    if (report.calibration) {
      // Calibration data came with the analysis: offer spectral pruning (it uses the same data).
      const o = document.createElement('vscode-option');
      o.setAttribute('value', 'spectral');
      o.setAttribute('description', 'data-driven: keeps the units that best rebuild the layer, compensates the next layer');
      o.textContent = 'spectral (calibration data)';
      this.f.method.append(o);
    } else if (state.method === 'spectral') state.method = 'node';
    this.applyState();
    // The web components render asynchronously; a select only takes a value once it has its options.
    void Promise.all(Object.values(this.f).map((e) => (e as unknown as { updateComplete?: Promise<unknown> }).updateComplete)).then(() => {
      this.applyState();
      this.update();
    });
    for (const k of ['method', 'targetKind', 'value', 'global', 'autoAlpha', 'alphaBelow', 'verify'] as const) {
      this.f[k].addEventListener('change', () => this.read());
      this.f[k].addEventListener('input', () => this.read());
    }
    this.f.prune.addEventListener('click', () => this.submit());
    this.f.cancel.addEventListener('click', () => this.post({ type: 'cancelPrune' }));
    const unavailable = document.getElementById('prune-unavailable')!;
    unavailable.hidden = config.pruneUnavailable === null;
    unavailable.textContent = config.pruneUnavailable ?? '';
    this.update();
  }

  private applyState(): void {
    const s = this.state;
    this.f.method.value = s.method;
    this.f.targetKind.value = s.targetKind;
    this.f.value.value = s.value;
    this.f.global.checked = s.global;
    this.f.autoAlpha.checked = s.autoAlpha;
    this.f.alphaBelow.value = s.alphaBelow;
    this.f.verify.checked = s.verify;
  }

  private read(): void {
    const previousKind = this.state.targetKind;
    Object.assign(this.state, {
      method: this.f.method.value as PreviewMethod,
      targetKind: this.f.targetKind.value as PruneFormState['targetKind'],
      value: this.f.value.value,
      global: this.f.global.checked,
      autoAlpha: this.f.autoAlpha.checked,
      alphaBelow: this.f.alphaBelow.value,
      verify: this.f.verify.checked,
    });
    if (this.state.targetKind !== previousKind) {
      // A sensible starting value for the new kind of target.
      this.state.value = this.state.targetKind === 'ratio' ? '0.5' : this.state.targetKind === 'eps' ? String(this.report.settings.eps) : String(Math.round(this.report.model.params / 2));
      this.f.value.value = this.state.value;
    }
    this.update();
    this.onChange();
  }

  /** The request the form describes, or why it is not valid. */
  request(): PreviewRequest | string {
    const s = this.state;
    const v = Number(s.value);
    if (s.value.trim() === '' || !Number.isFinite(v)) return `${LABELS[s.targetKind]}: enter a number`;
    if (s.targetKind === 'ratio' && !(v >= 0 && v < 1)) return 'the ratio must be in [0, 1)';
    if (s.targetKind === 'eps' && !(v > 0)) return 'ε must be greater than 0';
    if (s.targetKind === 'budget' && !(v >= 1 && Number.isInteger(v))) return 'the budget must be a whole number of parameters';
    const alpha = Number(s.alphaBelow);
    if (s.autoAlpha && !(alpha > 0 && alpha <= 2)) return 'the α cutoff must be in (0, 2]';
    const target = s.targetKind === 'ratio' ? { kind: 'ratio' as const, ratio: v } : s.targetKind === 'eps' ? { kind: 'eps' as const, eps: v } : { kind: 'budget' as const, params: v };
    return { method: s.method, target, global: s.global && this.globalApplies() && s.targetKind === 'ratio', alphaBelow: s.autoAlpha ? alpha : null };
  }

  /** One global threshold: magnitude (on |w|), and node pruning on ONNX (on the groups' normalised scores). */
  private globalApplies(): boolean {
    return this.state.method === 'magnitude' || (this.state.method === 'node' && this.report.structure !== undefined);
  }

  private update(): void {
    document.getElementById('target-label')!.textContent = LABELS[this.state.targetKind];
    document.getElementById('preview-error')!.textContent = this.state.method === 'spectral' ? 'activation error (lower bound)' : 'weight error';
    this.f.global.disabled = !(this.globalApplies() && this.state.targetKind === 'ratio');
    this.f.alphaBelow.disabled = !this.state.autoAlpha;
    const req = this.request();
    const problem = document.getElementById('preview-problem')!;
    const summary = document.getElementById('preview-summary')!;
    const body = document.querySelector('#preview tbody')!;
    if (typeof req === 'string') {
      this.preview = null;
      problem.hidden = false;
      problem.textContent = req;
      summary.replaceChildren();
      body.replaceChildren();
    } else {
      const p = (this.preview = previewPlan(this.report, req));
      problem.hidden = p.problem === null;
      problem.textContent = p.problem ?? '';
      const fact = (label: string, value: string) => {
        const d = el('div', undefined, 'fact');
        d.append(el('span', label, 'muted'), el('b', value));
        return d;
      };
      const removed = 1 - p.paramsAfter / p.paramsBefore;
      summary.replaceChildren(
        fact(req.method === 'magnitude' ? 'non-zero parameters' : 'parameters', `${p.paramsAfter.toLocaleString()} (−${pct(removed)})`),
        fact('size (dense)', `${formatBytes(p.bytesBefore)} → ${formatBytes(p.bytesAfter)}`),
        ...(p.bytesSparse !== null ? [fact('size (sparse-encoded, est.)', formatBytes(p.bytesSparse))] : []),
        fact('layers pruned', `${p.layers.filter((l) => !l.skip && l.ratio > 0).length} of ${p.layers.length}`),
        ...(p.layers.some((l) => l.group?.approximate) ? [fact('approximate', 'normalisation statistics change in some groups')] : []),
      );
      body.replaceChildren(
        ...p.layers.map((l) => {
          const tr = el('tr');
          tr.dataset['status'] = layerStatus(l);
          tr.append(el('td', l.name), el('td', pct(l.ratio)), el('td', l.skip ? '—' : pct(l.relErr)), el('td', l.paramsBefore.toLocaleString()), el('td', l.paramsAfter.toLocaleString()), el('td', layerStatus(l)), el('td', layerNote(l), 'text muted'));
          return tr;
        }),
      );
    }
    this.f.prune.disabled = this.busy || this.config.pruneUnavailable !== null || this.preview === null || this.preview.problem !== null;
  }

  private submit(): void {
    const req = this.request();
    if (typeof req === 'string' || !this.preview || this.preview.problem || this.busy) return;
    this.setBusy(true, 'Choose where to save the pruned model…');
    document.getElementById('prune-result')!.replaceChildren();
    this.post({ type: 'prune', request: req, layers: this.preview.layersPattern, verify: this.state.verify });
  }

  setBusy(busy: boolean, message = ''): void {
    this.busy = busy;
    this.f.cancel.hidden = !busy;
    document.getElementById('prune-status')!.textContent = message;
    this.update();
  }

  showResult(r: PruneReport): void {
    this.setBusy(false);
    const box = document.getElementById('prune-result')!;
    const lines = [
      `Wrote ${r.output}`,
      `parameters ${r.paramsBefore.toLocaleString()} → ${r.paramsAfter.toLocaleString()} (−${pct(1 - r.paramsAfter / r.paramsBefore)}); size ${formatBytes(r.bytes.before)} → ${formatBytes(r.bytes.after)}, ${formatBytes(r.bytes.afterGzip)} gzipped`,
      ...(r.multiplyAdds ? [`multiply-adds per sample ${r.multiplyAdds.before.toLocaleString()} → ${r.multiplyAdds.after.toLocaleString()}`] : []),
      ...r.notes.map((n) => `note: ${n}`),
      ...r.layers.filter((l) => l.skipped).map((l) => `kept ${l.name}: ${l.reason}`),
    ];
    const out = el('div');
    out.append(el('p', lines.join('\n')));
    if (r.verify) {
      // Green only when the pruned model still does what the original did; otherwise say what moved.
      const concern = verificationConcern(r.verify);
      const v = el('p', describeVerification(r.verify), concern ? 'warn' : 'ok');
      v.id = 'verification';
      out.append(v);
      if (concern) out.append(el('p', `Check before you use it: ${concern}. Try a smaller ratio, spectral pruning, or fine-tune the pruned model.`, 'warn'));
    } else {
      out.append(el('p', 'Not verified (verification was off).', 'muted'));
    }
    box.replaceChildren(out);
  }

  showFailure(message: string): void {
    this.setBusy(false);
    document.getElementById('prune-result')!.replaceChildren(el('p', message, 'bad'));
  }
}
