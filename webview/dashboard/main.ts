/**
 * Training dashboard webview: header (epoch/step, ETA, backend, memory, Stop/Resume), live charts (loss and
 * accuracy per batch with EMA and per epoch, learning rate, images/s), the validation confusion matrix with
 * per-class precision/recall (live, else the run's last saved validation) and its saved `evaluate` results, and the spec's past runs with curve overlays. Talks to its panel
 * (src/panels/dashboard.ts) through the contract of src/protocol/dashboard.ts.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { BatchMetrics, EpochMetrics, TrainingStarted } from '../../src/protocol/engine';
import type {
  DashboardHost,
  DashboardState,
  DashboardUiState,
  HistoryPoint,
  SavedEvaluation,
} from '../../src/protocol/dashboard';
import { formatDuration } from '../../src/metrics/dashboardMath';
import { byId as $, el } from '../common/dom';
import { connectToHost, reportedByHost, vscodeApi } from '../common/vscode';
import { formatNumber } from './charts';
import { STYLE } from './style';
import {
  confusionTable,
  epochsText,
  headline,
  iouTable,
  labelsTable,
  pct,
  perClassTable,
  runsTable,
  statItems,
} from './tables';
import { TrainingCharts } from './trainingCharts';

const host = connectToHost<DashboardHost>();
const api = vscodeApi<DashboardUiState>();
const ui: DashboardUiState = { overlays: [], smoothing: 0.6, ...(api.getState() ?? {}) };
const saveUi = (): void => api.setState(ui);

// ---------- DOM ----------
const style = document.createElement('style');
style.textContent = STYLE;
document.head.appendChild(style);

const app = document.getElementById('app')!;
app.innerHTML = `
<header class="dash-header">
  <div class="dash-title"><h2 id="title">Training Dashboard</h2><span id="status" class="badge"></span></div>
  <div class="dash-stats" id="stats"></div>
  <div class="toolbar">
    <vscode-button id="stop" secondary>Stop</vscode-button>
    <vscode-button id="resume" secondary>Resume</vscode-button>
    <vscode-button id="train">Train</vscode-button>
    <vscode-button id="evaluate" secondary title="Evaluate the run shown on its test or validation data">Evaluate</vscode-button>
    <vscode-button id="compare-runs" secondary title="All runs of the spec as a table: hyperparameters, metrics, overlays">Compare Runs</vscode-button>
    <label class="smoothing">Smoothing <input id="smoothing" type="range" min="0" max="0.99" step="0.01"><span id="smoothingValue"></span></label>
  </div>
  <div id="notice" class="muted"></div>
</header>
<section class="charts">
  <div class="chart-box"><h3>Loss</h3><div class="chart" id="chart-loss" data-points="0"></div></div>
  <div class="chart-box"><h3 id="acc-title">Accuracy</h3><div class="chart" id="chart-acc" data-points="0"></div></div>
  <div class="chart-box"><h3>Learning rate</h3><div class="chart" id="chart-lr" data-points="0"></div></div>
  <div class="chart-box"><h3>Images / s</h3><div class="chart" id="chart-ips" data-points="0"></div></div>
</section>
<section id="validation" class="validation">
  <h3 id="confusion-title">Validation</h3>
  <div class="validation-grid">
    <div id="confusion" class="muted">The confusion matrix appears after the first validation.</div>
    <div id="per-class"></div>
  </div>
  <div id="evaluations"></div>
</section>
<section>
  <h3>Runs</h3>
  <div id="runs" class="muted">No runs yet.</div>
</section>`;

const stopBtn = $('stop');
const resumeBtn = $('resume');
const trainBtn = $('train');
const evaluateBtn = $('evaluate');
$('compare-runs').addEventListener('click', () => reportedByHost(host.request('compareRuns', null)));
const smoothingInput = $<HTMLInputElement>('smoothing');
smoothingInput.value = String(ui.smoothing);
$('smoothingValue').textContent = ui.smoothing.toFixed(2);

const setDisabled = (el: HTMLElement, disabled: boolean): void => {
  (el as HTMLElement & { disabled: boolean }).disabled = disabled;
  el.toggleAttribute('disabled', disabled);
};

const charts = new TrainingCharts(ui.smoothing);

// ---------- model ----------
let state: DashboardState | undefined;
let started: TrainingStarted | undefined;
let lastBatch: BatchMetrics | undefined;
let liveEpochs: EpochMetrics[] = [];
let status = '';
let live = false;
let overlaysRequested = false;

function addBatch(m: BatchMetrics): void {
  lastBatch = m;
  const gap = (m.batches[0]?.step ?? 0) > charts.nextBatchStep;
  charts.addBatch(m);
  const runDir = state?.current?.runDir;
  // Batches trained after the state this page got but announced before it listened: read them from disk.
  if (gap && runDir)
    host.request('runHistory', { runDir }).then(
      (history) => {
        if (state?.current?.runDir === runDir) charts.fillBatches(history);
      },
      () => undefined, // the host reports it
    );
}

function addEpoch(m: EpochMetrics): void {
  liveEpochs = [...liveEpochs.filter((e) => e.epoch !== m.epoch), m];
  const step = started ? m.epoch * started.stepsPerEpoch : (lastBatch?.globalStep ?? charts.lastBatchStep ?? m.epoch);
  charts.setEpoch({
    epoch: m.epoch,
    step,
    loss: m.loss,
    acc: m.accuracy,
    valLoss: m.valAccuracy === undefined ? undefined : m.valLoss,
    valAcc: m.valAccuracy,
    lr: m.learningRate,
    ips: m.imagesPerSecond,
  });
  renderConfusion();
  renderHeader();
}

// ---------- overlays of other runs ----------
function loadOverlay(runDir: string): void {
  host.request('runHistory', { runDir }).then(
    (history) => showOverlay(runDir, history),
    () => undefined, // the host reports it
  );
}

function showOverlay(runDir: string, history: HistoryPoint[]): void {
  if (!ui.overlays.includes(runDir)) return;
  const label = runDir.split(/[\\/]/).pop() ?? runDir;
  charts.overlay(runDir, label.slice(5, 19), ui.overlays.indexOf(runDir), history);
}

function toggleOverlay(runDir: string, on: boolean): void {
  ui.overlays = ui.overlays.filter((r) => r !== runDir);
  if (on) {
    ui.overlays.push(runDir);
    loadOverlay(runDir);
  } else charts.removeOverlays([runDir]);
  saveUi();
}

// ---------- rendering ----------
/** The header's `name value` stats of the run shown. */
function stats(): [string, string][] {
  const cur = state?.current;
  const items: [string, string][] = [];
  if (cur) items.push(['run', cur.runId]);
  if (live && lastBatch) {
    items.push(['epoch', `${lastBatch.epoch}/${started?.epochs ?? '?'}`]);
    items.push(['step', `${lastBatch.step}/${lastBatch.stepsPerEpoch}`]);
    items.push(['loss', formatNumber(lastBatch.loss)]);
    items.push(['acc', pct(lastBatch.accuracy)]);
    items.push(['ETA', formatDuration(lastBatch.etaSeconds)]);
    items.push(['images/s', lastBatch.imagesPerSecond.toFixed(0)]);
    items.push(['memory', `${lastBatch.memoryMB.toFixed(0)} MB`]);
    items.push(['tensors', String(lastBatch.numTensors)]);
  } else if (cur) {
    // A run that is not live keeps its figures: the epochs it trained (1.93/2 for a stop in epoch 2).
    const summary = state?.runs.find((r) => r.runDir === cur.runDir);
    if (summary) items.push(['epochs', epochsText(summary)]);
    const last = charts.lastEpoch;
    if (last) items.push(['epoch', `${last.epoch}`]);
    // The figure the task is judged by: a multi-label or segmentation run's val acc counts decisions or pixels.
    const task = shownValidation();
    if (task?.multilabel)
      items.push(['val mean AUROC', task.multilabel.meanAuroc === null ? '–' : task.multilabel.meanAuroc.toFixed(3)]);
    else if (task?.segmentation) {
      items.push(['val mean IoU', task.segmentation.meanIou === null ? '–' : pct(task.segmentation.meanIou)]);
      if (last?.valAcc !== undefined) items.push(['val pixel acc', pct(last.valAcc)]);
    } else if (last?.valAcc !== undefined) items.push(['val acc', pct(last.valAcc)]);
  }
  const backend = started?.backend ?? state?.runs.find((r) => r.runDir === cur?.runDir)?.backend;
  if (backend)
    items.push([
      'backend',
      started?.threads && started.threads > 1 ? `${backend} × ${started.threads} threads` : backend,
    ]);
  if (started && live) items.push(['images', `${started.trainExamples} train / ${started.validationExamples} val`]);
  return items;
}

function renderHeader(): void {
  $('title').textContent = state?.specName ? `Training: ${state.specName}` : 'Training Dashboard';
  const statusEl = $('status');
  // A run on disk: its status as it ended; one that says running is trained by a process this window does not follow.
  statusEl.textContent = status
    ? live || status !== 'running'
      ? status
      : 'running (not followed by this window)'
    : 'no runs';
  statusEl.dataset.status = status;
  $('stats').replaceChildren(...statItems(stats()));
  setDisabled(stopBtn, !(live && status === 'running'));
  const resumable = (state?.runs ?? []).some((r) => r.resumable);
  setDisabled(resumeBtn, live || !resumable || !!state?.busyElsewhere);
  setDisabled(trainBtn, live || !state?.specUri || !!state?.busyElsewhere);
  setDisabled(evaluateBtn, live || !state?.runs.some((r) => r.runDir === state?.current?.runDir && r.evaluable));
  $('notice').textContent = state?.busyElsewhere ? `Training ${state.busyElsewhere} is running.` : '';
}

/** A validation as shown: its confusion matrix (empty for multilabel) and the task's figures. */
type ShownValidation = Pick<SavedEvaluation, 'epoch' | 'confusion' | 'classNames' | 'multilabel' | 'segmentation'> & {
  accuracy?: number;
};

/** The validation shown: the last one seen live, else the run's last saved validation. */
function shownValidation(): ShownValidation | undefined {
  const seen = [...liveEpochs].reverse().find((e) => e.confusion && (e.confusion.length > 0 || e.multilabel));
  if (seen?.confusion)
    return {
      epoch: seen.epoch,
      accuracy: seen.valAccuracy,
      confusion: seen.confusion,
      classNames: seen.classNames,
      multilabel: seen.multilabel,
      segmentation: seen.segmentation,
    };
  return state?.current?.evaluations.find((e) => e.kind === 'validation');
}

/** The tables of an evaluation: per label (multilabel); confusion of pixels and IoU (segmentation); else per class. */
function evaluationTables(e: ShownValidation, names: string[], examples: boolean): HTMLElement[] {
  if (e.multilabel) return [labelsTable(e.multilabel)];
  if (e.segmentation) return [confusionTable(e.confusion, names), iouTable(e.segmentation)];
  return [confusionTable(e.confusion, names, examples), perClassTable(e.confusion, names)];
}

const classNamesFor = (m: number[][], names: string[]): string[] =>
  names.length === m.length ? names : m.map((_, i) => String(i));

/** What the accuracy chart counts: examples, label decisions at 0.5 (multilabel) or labelled pixels (segmentation). */
function renderAccuracyTitle(shown: ShownValidation | undefined): void {
  $('acc-title').textContent = shown?.multilabel
    ? 'Accuracy (label decisions at 0.5)'
    : shown?.segmentation
      ? 'Pixel accuracy'
      : 'Accuracy';
}

function renderConfusion(): void {
  const shown = shownValidation();
  renderAccuracyTitle(shown);
  const box = $('confusion');
  const perClass = $('per-class');
  renderEvaluations(state?.current?.evaluations.filter((e) => e.kind === 'evaluate') ?? []);
  if (!shown) {
    box.className = 'muted';
    box.textContent =
      live || liveEpochs.length
        ? 'The confusion matrix appears after the first validation.'
        : 'No validation of this run is saved (a run without validation data, or not yet past its first epoch).';
    perClass.replaceChildren();
    $('confusion-title').textContent = 'Validation';
    return;
  }
  const names = shown.multilabel ? shown.classNames : classNamesFor(shown.confusion, shown.classNames);
  $('confusion-title').textContent =
    `Validation${shown.epoch !== undefined ? ` after epoch ${shown.epoch}` : ''}: ${headline(shown)}`;
  box.className = '';
  const [first, second] = evaluationTables(shown, names, false);
  box.replaceChildren(first);
  perClass.replaceChildren(...(second ? [second] : []));
}

/**
 * The run's saved evaluate results (DenseNet: Evaluate, densenet-lab evaluate), the latest first, each with its
 * confusion matrix (whose cells open the gallery of their examples) and per-class figures.
 */
let seenEvaluations: Set<string> | undefined;

function renderEvaluations(evaluations: SavedEvaluation[]): void {
  const latestFirst = [...evaluations].sort((a, b) => b.time.localeCompare(a.time));
  // One saved since the page showed the run (an Evaluate just finished): brought into view.
  const fresh = seenEvaluations && latestFirst.find((e) => e.id !== undefined && !seenEvaluations!.has(e.id));
  seenEvaluations = new Set([...(seenEvaluations ?? []), ...latestFirst.flatMap((e) => (e.id ? [e.id] : []))]);
  $('evaluations').replaceChildren(
    ...latestFirst.map((e) => {
      const names = e.multilabel ? e.classNames : classNamesFor(e.confusion, e.classNames);
      const of = [e.checkpoint, e.epoch !== undefined ? `epoch ${e.epoch}` : undefined].filter(Boolean).join(', ');
      const loss = Number.isFinite(e.loss) ? `, loss ${formatNumber(e.loss)}` : '';
      const title = `Evaluate on ${e.split}${of ? ` (${of})` : ''}: ${headline(e)}${loss} on ${e.examples} images`;
      const box = el(
        'div',
        { class: 'evaluation', 'data-split': e.split },
        el('h3', { title: e.time }, title),
        el('div', { class: 'validation-grid' }, ...evaluationTables(e, names, e.id !== undefined)),
      );
      if (e.id !== undefined) box.dataset.evaluation = e.id;
      return box;
    }),
  );
  if (fresh) $('evaluations').querySelector('.evaluation')?.scrollIntoView({ block: 'start', behavior: 'smooth' });
}

$('evaluations').addEventListener('click', (e) => {
  const cell = (e.target as HTMLElement).closest<HTMLElement>('td.examples-cell');
  const evaluation = cell?.closest<HTMLElement>('.evaluation')?.dataset.evaluation;
  if (!cell || !evaluation) return;
  const cellOf = { evaluation, true: Number(cell.dataset.true), predicted: Number(cell.dataset.predicted) };
  reportedByHost(host.request('openExamples', cellOf));
});

function renderRuns(runs: DashboardState['runs']): void {
  const box = $('runs');
  if (runs.length === 0) {
    box.className = 'muted';
    box.textContent = 'No runs of this spec yet.';
    return;
  }
  box.className = '';
  box.replaceChildren(runsTable(runs, state?.current?.runDir, ui.overlays));
}

$('runs').addEventListener('change', (e) => {
  const t = e.target as HTMLInputElement;
  const runDir = t.closest('tr')?.dataset.run;
  if (t.classList.contains('overlay') && runDir) toggleOverlay(runDir, t.checked);
});
$('runs').addEventListener('click', (e) => {
  const b = (e.target as HTMLElement).closest('.resume-run');
  const runDir = b?.closest('tr')?.dataset.run;
  if (runDir && !b?.hasAttribute('disabled')) reportedByHost(host.request('resume', { runDir }));
  const evaluateRun = (e.target as HTMLElement).closest('.evaluate-run')?.closest('tr')?.dataset.run;
  if (evaluateRun) reportedByHost(host.request('evaluate', { runDir: evaluateRun }));
});
evaluateBtn.addEventListener('click', () => {
  if (!evaluateBtn.hasAttribute('disabled')) reportedByHost(host.request('evaluate', {}));
});
stopBtn.addEventListener('click', () => {
  if (stopBtn.hasAttribute('disabled')) return;
  host.request('stop', null).then(
    (s) => {
      if (s === null) return;
      status = s;
      renderHeader();
    },
    () => undefined, // the host reports it
  );
});
resumeBtn.addEventListener('click', () => {
  if (!resumeBtn.hasAttribute('disabled')) reportedByHost(host.request('resume', {}));
});
trainBtn.addEventListener('click', () => {
  if (!trainBtn.hasAttribute('disabled')) reportedByHost(host.request('train', null));
});
smoothingInput.addEventListener('input', () => {
  ui.smoothing = Number(smoothingInput.value);
  $('smoothingValue').textContent = ui.smoothing.toFixed(2);
  saveUi();
  charts.setSmoothing(ui.smoothing);
});

// ---------- the host ----------
/** The full state: the handshake's answer, and again whenever what the dashboard shows changes. */
function applyState(next: DashboardState): void {
  state = next;
  ui.specUri = next.specUri;
  saveUi();
  const cur = next.current;
  live = !!cur?.live;
  status = cur?.status ?? '';
  started = cur?.started;
  lastBatch = cur?.lastBatch;
  liveEpochs = cur?.epochs ?? [];
  charts.showHistory(cur?.history ?? []);
  // Live epoch ends not yet in the file: add them.
  for (const e of liveEpochs) if (!charts.hasEpoch(e.epoch)) addEpoch(e);
  renderRuns(next.runs);
  renderConfusion();
  renderHeader();
  // Overlays: drop runs that are gone; load the chosen ones once.
  const known = new Set(next.runs.map((r) => r.runDir));
  charts.removeOverlays(charts.overlaid().filter((dir) => !known.has(dir)));
  ui.overlays = ui.overlays.filter((r) => known.has(r));
  if (!overlaysRequested) {
    overlaysRequested = true;
    for (const r of ui.overlays) if (!charts.hasOverlay(r)) loadOverlay(r);
  }
}

host.on('state', applyState);
host.on('batch', (m) => {
  if (status === 'starting') status = 'running';
  addBatch(m);
  renderHeader();
});
host.on('epochEnd', addEpoch);
host.on('runs', (runs) => {
  if (state) state.runs = runs;
  renderRuns(runs);
  renderHeader();
});

new MutationObserver(() => charts.applyTheme()).observe(document.body, {
  attributes: true,
  attributeFilter: ['class', 'style'],
});

window.addEventListener('unload', () => charts.destroy());
host.request('state', null).then(applyState, () => undefined); // the host reports a failure
