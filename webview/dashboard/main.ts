/**
 * Training dashboard webview: header (epoch/step, ETA, backend, memory, Stop/Resume), live charts (loss and
 * accuracy per batch with EMA and per epoch, learning rate, images/s), the validation confusion matrix with
 * per-class precision/recall, and the spec's past runs with curve overlays.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { BatchMetrics, EpochMetrics, TrainingStarted } from '../../src/protocol/engine';
import type {
  DashboardState,
  DashboardUiState,
  FromDashboard,
  HistoryPoint,
  RunSummary,
  ToDashboard,
} from '../../src/protocol/dashboard';
import { Ema, ema, formatDuration, perClassMetrics } from '../../src/metrics/dashboardMath';
import { onMessage, post as postAny, vscodeApi } from '../common/vscode';
import { LineChart, formatNumber, type LineDataset, type Point } from './charts';
import { STYLE } from './style';

const post = (m: FromDashboard): void => postAny<FromDashboard>(m);
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
    <label class="smoothing">Smoothing <input id="smoothing" type="range" min="0" max="0.99" step="0.01"><span id="smoothingValue"></span></label>
  </div>
  <div id="notice" class="muted"></div>
</header>
<section class="charts">
  <div class="chart-box"><h3>Loss</h3><div class="chart" id="chart-loss" data-points="0"></div></div>
  <div class="chart-box"><h3>Accuracy</h3><div class="chart" id="chart-acc" data-points="0"></div></div>
  <div class="chart-box"><h3>Learning rate</h3><div class="chart" id="chart-lr" data-points="0"></div></div>
  <div class="chart-box"><h3>Images / s</h3><div class="chart" id="chart-ips" data-points="0"></div></div>
</section>
<section id="validation" class="validation">
  <h3 id="confusion-title">Validation</h3>
  <div class="validation-grid">
    <div id="confusion" class="muted">The confusion matrix appears after the first validation.</div>
    <div id="per-class"></div>
  </div>
</section>
<section>
  <h3>Runs</h3>
  <div id="runs" class="muted">No runs yet.</div>
</section>`;

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
const stopBtn = $('stop');
const resumeBtn = $('resume');
const trainBtn = $('train');
const smoothingInput = $<HTMLInputElement>('smoothing');
smoothingInput.value = String(ui.smoothing);
$('smoothingValue').textContent = ui.smoothing.toFixed(2);

const setDisabled = (el: HTMLElement, disabled: boolean): void => {
  (el as HTMLElement & { disabled: boolean }).disabled = disabled;
  el.toggleAttribute('disabled', disabled);
};

// ---------- charts ----------
const lossChart = new LineChart($('chart-loss'), 'Loss', 'step');
const accChart = new LineChart($('chart-acc'), 'Accuracy', 'step');
const lrChart = new LineChart($('chart-lr'), 'Learning rate', 'step');
const ipsChart = new LineChart($('chart-ips'), 'Images / s', 'step');
const charts = [lossChart, accChart, lrChart, ipsChart];

const ds = {
  lossRaw: lossChart.dataset('train (batch)', { colour: 'blue', alpha: 0.25 }, { borderWidth: 1 }),
  lossEma: lossChart.dataset('train (smoothed)', { colour: 'blue' }),
  lossEpoch: lossChart.dataset('train (epoch)', { colour: 'green' }, { pointRadius: 3 }),
  valLoss: lossChart.dataset('validation', { colour: 'orange' }, { pointRadius: 3 }),
  accRaw: accChart.dataset('train (batch)', { colour: 'blue', alpha: 0.25 }, { borderWidth: 1 }),
  accEma: accChart.dataset('train (smoothed)', { colour: 'blue' }),
  accEpoch: accChart.dataset('train (epoch)', { colour: 'green' }, { pointRadius: 3 }),
  valAcc: accChart.dataset('validation', { colour: 'orange' }, { pointRadius: 3 }),
  lr: lrChart.dataset('learning rate', { colour: 'purple' }),
  ips: ipsChart.dataset('images/s (batch)', { colour: 'yellow' }),
  ipsEpoch: ipsChart.dataset('images/s (epoch)', { colour: 'green' }, { pointRadius: 3 }),
};
for (const c of charts) c.update();

// ---------- model ----------
interface BatchPoint {
  step: number;
  loss: number;
  acc: number;
  lr?: number;
  ips?: number;
}
interface EpochPoint {
  epoch: number;
  step: number;
  loss: number;
  acc: number;
  valLoss?: number;
  valAcc?: number;
  lr?: number;
  ips?: number;
}

let state: DashboardState | undefined;
let started: TrainingStarted | undefined;
let lastBatch: BatchMetrics | undefined;
let batches: BatchPoint[] = [];
let epochs: EpochPoint[] = [];
let liveEpochs: EpochMetrics[] = [];
let status = '';
let live = false;
const lossEma = new Ema(ui.smoothing);
const accEma = new Ema(ui.smoothing);

function resetSeries(history: HistoryPoint[]): void {
  batches = history
    .filter((p) => p.kind === 'batch')
    .map((p) => ({ step: p.step, loss: p.loss, acc: p.acc, lr: p.lr, ips: p.imagesPerSec }));
  epochs = history
    .filter((p) => p.kind === 'epoch')
    .map((p) => ({
      epoch: p.epoch,
      step: p.step,
      loss: p.loss,
      acc: p.acc,
      valLoss: p.valLoss,
      valAcc: p.valAcc,
      lr: p.lr,
      ips: p.imagesPerSec,
    }));
  rebuildCharts();
}

const pts = <T>(items: T[], x: (t: T) => number, y: (t: T) => number | undefined): Point[] =>
  items.flatMap((t) => {
    const v = y(t);
    return v === undefined || !Number.isFinite(v) ? [] : [{ x: x(t), y: v }];
  });

function setData(d: LineDataset, data: Point[]): void {
  d.data.length = 0;
  d.data.push(...data);
}

function rebuildCharts(): void {
  setData(
    ds.lossRaw,
    pts(
      batches,
      (b) => b.step,
      (b) => b.loss,
    ),
  );
  setData(
    ds.accRaw,
    pts(
      batches,
      (b) => b.step,
      (b) => b.acc,
    ),
  );
  rebuildEma();
  setEpochData();
  setData(
    ds.lr,
    pts(
      batches,
      (b) => b.step,
      (b) => b.lr,
    ),
  );
  setData(
    ds.ips,
    pts(
      batches,
      (b) => b.step,
      (b) => b.ips,
    ),
  );
  for (const c of charts) c.update();
}

function rebuildEma(): void {
  const lossVals = batches.map((b) => b.loss);
  const accVals = batches.map((b) => b.acc);
  setData(
    ds.lossEma,
    pts(
      ema(lossVals, ui.smoothing).map((y, i) => ({ x: batches[i].step, y })),
      (p) => p.x,
      (p) => p.y,
    ),
  );
  setData(
    ds.accEma,
    pts(
      ema(accVals, ui.smoothing).map((y, i) => ({ x: batches[i].step, y })),
      (p) => p.x,
      (p) => p.y,
    ),
  );
  // Continue the stream from the same state as the arrays.
  lossEma.reset(ui.smoothing);
  accEma.reset(ui.smoothing);
  for (const b of batches) {
    lossEma.push(b.loss);
    accEma.push(b.acc);
  }
  for (const o of overlays.values()) o.rebuild();
}

function addBatch(m: BatchMetrics): void {
  lastBatch = m;
  const last = batches[batches.length - 1];
  if (last && m.globalStep <= last.step) return; // already in the history read from disk
  const b: BatchPoint = {
    step: m.globalStep,
    loss: m.loss,
    acc: m.accuracy,
    lr: m.learningRate,
    ips: m.imagesPerSecond,
  };
  batches.push(b);
  ds.lossRaw.data.push({ x: b.step, y: b.loss });
  ds.accRaw.data.push({ x: b.step, y: b.acc });
  ds.lossEma.data.push({ x: b.step, y: lossEma.push(b.loss) });
  ds.accEma.data.push({ x: b.step, y: accEma.push(b.acc) });
  ds.lr.data.push({ x: b.step, y: m.learningRate });
  ds.ips.data.push({ x: b.step, y: m.imagesPerSecond });
  for (const c of charts) c.update();
}

/** The per-epoch series of the charts from `epochs`. */
function setEpochData(): void {
  setData(
    ds.lossEpoch,
    pts(
      epochs,
      (e) => e.step,
      (e) => e.loss,
    ),
  );
  setData(
    ds.valLoss,
    pts(
      epochs,
      (e) => e.step,
      (e) => e.valLoss,
    ),
  );
  setData(
    ds.accEpoch,
    pts(
      epochs,
      (e) => e.step,
      (e) => e.acc,
    ),
  );
  setData(
    ds.valAcc,
    pts(
      epochs,
      (e) => e.step,
      (e) => e.valAcc,
    ),
  );
  setData(
    ds.ipsEpoch,
    pts(
      epochs,
      (e) => e.step,
      (e) => e.ips,
    ),
  );
}

function addEpoch(m: EpochMetrics): void {
  liveEpochs = [...liveEpochs.filter((e) => e.epoch !== m.epoch), m];
  const step = started
    ? m.epoch * started.stepsPerEpoch
    : (lastBatch?.globalStep ?? batches[batches.length - 1]?.step ?? m.epoch);
  epochs = [
    ...epochs.filter((e) => e.epoch !== m.epoch),
    {
      epoch: m.epoch,
      step,
      loss: m.loss,
      acc: m.accuracy,
      valLoss: m.valAccuracy === undefined ? undefined : m.valLoss,
      valAcc: m.valAccuracy,
      lr: m.learningRate,
      ips: m.imagesPerSecond,
    },
  ];
  setEpochData();
  for (const c of charts) c.update();
  renderConfusion();
  renderHeader();
}

// ---------- overlays of other runs ----------
const OVERLAY_COLOURS = ['purple', 'red', 'yellow', 'green', 'orange'];

class Overlay {
  private readonly loss: LineDataset;
  private readonly val: LineDataset;
  private readonly acc: LineDataset;
  private readonly valAcc: LineDataset;
  constructor(
    readonly runDir: string,
    label: string,
    colour: string,
    private readonly history: HistoryPoint[],
  ) {
    const dash = { borderDash: [4, 3] };
    this.loss = lossChart.dataset(`${label} train`, { colour, alpha: 0.8 }, dash);
    this.val = lossChart.dataset(`${label} val`, { colour }, { pointRadius: 2, borderDash: [1, 2] });
    this.acc = accChart.dataset(`${label} train`, { colour, alpha: 0.8 }, dash);
    this.valAcc = accChart.dataset(`${label} val`, { colour }, { pointRadius: 2, borderDash: [1, 2] });
    this.rebuild();
  }
  rebuild(): void {
    const b = this.history.filter((p) => p.kind === 'batch');
    const e = this.history.filter((p) => p.kind === 'epoch');
    const sm = (vals: number[]): Point[] =>
      ema(vals, ui.smoothing).flatMap((y, i) => (Number.isFinite(y) ? [{ x: b[i].step, y }] : []));
    setData(this.loss, sm(b.map((p) => p.loss)));
    setData(this.acc, sm(b.map((p) => p.acc)));
    setData(
      this.val,
      pts(
        e,
        (p) => p.step,
        (p) => p.valLoss,
      ),
    );
    setData(
      this.valAcc,
      pts(
        e,
        (p) => p.step,
        (p) => p.valAcc,
      ),
    );
  }
  remove(): void {
    lossChart.remove(this.loss);
    lossChart.remove(this.val);
    accChart.remove(this.acc);
    accChart.remove(this.valAcc);
  }
}
const overlays = new Map<string, Overlay>();
let overlaysRequested = false;

function toggleOverlay(runDir: string, on: boolean): void {
  ui.overlays = ui.overlays.filter((r) => r !== runDir);
  if (on) {
    ui.overlays.push(runDir);
    post({ type: 'loadRun', runDir });
  } else {
    overlays.get(runDir)?.remove();
    overlays.delete(runDir);
    lossChart.update();
    accChart.update();
  }
  saveUi();
}

// ---------- rendering ----------
const pct = (v: number | undefined): string =>
  v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(1)}%`;
const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function renderHeader(): void {
  $('title').textContent = state?.specName ? `Training: ${state.specName}` : 'Training Dashboard';
  const statusEl = $('status');
  statusEl.textContent = status ? (live ? status : `${status} (not running)`) : 'no runs';
  statusEl.dataset.status = status;
  const cur = state?.current;
  const totalEpochs = started?.epochs;
  const items: [string, string][] = [];
  if (cur) items.push(['run', cur.runId]);
  if (live && lastBatch) {
    items.push(['epoch', `${lastBatch.epoch}/${totalEpochs ?? '?'}`]);
    items.push(['step', `${lastBatch.step}/${lastBatch.stepsPerEpoch}`]);
    items.push(['loss', formatNumber(lastBatch.loss)]);
    items.push(['acc', pct(lastBatch.accuracy)]);
    items.push(['ETA', formatDuration(lastBatch.etaSeconds)]);
    items.push(['images/s', lastBatch.imagesPerSecond.toFixed(0)]);
    items.push(['memory', `${lastBatch.memoryMB.toFixed(0)} MB`]);
    items.push(['tensors', String(lastBatch.numTensors)]);
  } else if (cur) {
    const last = epochs[epochs.length - 1];
    if (last) items.push(['epoch', `${last.epoch}`]);
    if (last?.valAcc !== undefined) items.push(['val acc', pct(last.valAcc)]);
  }
  const backend = started?.backend ?? state?.runs.find((r) => r.runDir === cur?.runDir)?.backend;
  if (backend)
    items.push([
      'backend',
      started?.threads && started.threads > 1 ? `${backend} × ${started.threads} threads` : backend,
    ]);
  if (started && live) items.push(['images', `${started.trainExamples} train / ${started.validationExamples} val`]);
  $('stats').innerHTML = items
    .map(([k, v]) => `<span class="stat" data-stat="${esc(k)}"><span class="muted">${esc(k)}</span> ${esc(v)}</span>`)
    .join('');
  setDisabled(stopBtn, !(live && status === 'running'));
  const resumable = (state?.runs ?? []).some((r) => r.resumable);
  setDisabled(resumeBtn, live || !resumable || !!state?.busyElsewhere);
  setDisabled(trainBtn, live || !state?.specUri || !!state?.busyElsewhere);
  $('notice').textContent = state?.busyElsewhere ? `Training ${state.busyElsewhere} is running.` : '';
}

function renderConfusion(): void {
  const withConfusion = [...liveEpochs].reverse().find((e) => e.confusion && e.confusion.length > 0);
  const box = $('confusion');
  const perClass = $('per-class');
  if (!withConfusion?.confusion) {
    box.className = 'muted';
    box.textContent =
      live || liveEpochs.length
        ? 'The confusion matrix appears after the first validation.'
        : 'The confusion matrix is shown for trainings watched live (it is not kept on disk).';
    perClass.innerHTML = '';
    $('confusion-title').textContent = 'Validation';
    return;
  }
  const m = withConfusion.confusion;
  const names = withConfusion.classNames.length === m.length ? withConfusion.classNames : m.map((_, i) => String(i));
  $('confusion-title').textContent =
    `Validation after epoch ${withConfusion.epoch}: accuracy ${pct(withConfusion.valAccuracy)}`;
  box.className = '';
  let html =
    '<table class="confusion" data-classes="' + m.length + '"><thead><tr><th class="corner">true \\ predicted</th>';
  html += names.map((n) => `<th>${esc(n)}</th>`).join('') + '</tr></thead><tbody>';
  m.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    html += `<tr><th>${esc(names[i])}</th>`;
    row.forEach((v, j) => {
      const share = total > 0 ? v / total : 0;
      const colour = i === j ? 'var(--vscode-charts-blue, #3794ff)' : 'var(--vscode-charts-red, #f14c4c)';
      html += `<td style="background: color-mix(in srgb, ${colour} ${Math.round(share * 85)}%, transparent)" title="${esc(names[i])} predicted as ${esc(names[j])}: ${v} (${pct(share)} of the row)">${v}</td>`;
    });
    html += '</tr>';
  });
  box.innerHTML = html + '</tbody></table>';
  const pc = perClassMetrics(m);
  perClass.innerHTML = `<table class="per-class"><thead><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr></thead><tbody>${pc
    .map(
      (c, i) =>
        `<tr><th>${esc(names[i])}</th><td>${pct(c.precision)}</td><td>${pct(c.recall)}</td><td>${pct(c.f1)}</td><td>${c.support}</td></tr>`,
    )
    .join('')}</tbody></table>`;
}

function renderRuns(runs: RunSummary[]): void {
  const box = $('runs');
  if (runs.length === 0) {
    box.className = 'muted';
    box.textContent = 'No runs of this spec yet.';
    return;
  }
  box.className = '';
  const sorted = [...runs].sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  box.innerHTML = `<table class="runs"><thead><tr><th title="Overlay its curves">overlay</th><th>run</th><th>status</th><th>epochs</th><th>best val acc</th><th>backend</th><th></th></tr></thead><tbody>${sorted
    .map((r) => {
      const isCurrent = r.runDir === state?.current?.runDir;
      return `<tr data-run="${esc(r.runDir)}"${isCurrent ? ' class="current"' : ''}>
        <td><input type="checkbox" class="overlay" ${ui.overlays.includes(r.runDir) ? 'checked' : ''} ${isCurrent ? 'disabled title="Shown above"' : ''}></td>
        <td>${esc(r.runId)}${isCurrent ? ' <span class="muted">(shown)</span>' : ''}</td>
        <td>${esc(r.status)}</td>
        <td>${r.epochsCompleted ?? 0}/${r.epochs}</td>
        <td>${pct(r.bestValAccuracy)}</td>
        <td>${esc(r.backend ?? '')}</td>
        <td>${r.resumable ? '<vscode-button class="resume-run" secondary>Resume</vscode-button>' : ''}</td></tr>`;
    })
    .join('')}</tbody></table>`;
}

$('runs').addEventListener('change', (e) => {
  const t = e.target as HTMLInputElement;
  const runDir = t.closest('tr')?.dataset.run;
  if (t.classList.contains('overlay') && runDir) toggleOverlay(runDir, t.checked);
});
$('runs').addEventListener('click', (e) => {
  const b = (e.target as HTMLElement).closest('.resume-run');
  const runDir = b?.closest('tr')?.dataset.run;
  if (runDir && !b?.hasAttribute('disabled')) post({ type: 'resume', runDir });
});
stopBtn.addEventListener('click', () => {
  if (!stopBtn.hasAttribute('disabled')) post({ type: 'stop' });
});
resumeBtn.addEventListener('click', () => {
  if (!resumeBtn.hasAttribute('disabled')) post({ type: 'resume' });
});
trainBtn.addEventListener('click', () => {
  if (!trainBtn.hasAttribute('disabled')) post({ type: 'train' });
});
smoothingInput.addEventListener('input', () => {
  ui.smoothing = Number(smoothingInput.value);
  $('smoothingValue').textContent = ui.smoothing.toFixed(2);
  saveUi();
  rebuildEma();
  for (const c of charts) c.update();
});

// ---------- messages ----------
onMessage<ToDashboard>((m) => {
  switch (m.type) {
    case 'state': {
      state = m.state;
      ui.specUri = m.state.specUri;
      saveUi();
      const cur = m.state.current;
      live = !!cur?.live;
      status = cur?.status ?? '';
      started = cur?.started;
      lastBatch = cur?.lastBatch;
      liveEpochs = cur?.epochs ?? [];
      resetSeries(cur?.history ?? []);
      // Live epoch ends not yet in the file: add them.
      for (const e of liveEpochs) if (!epochs.some((p) => p.epoch === e.epoch)) addEpoch(e);
      renderRuns(m.state.runs);
      renderConfusion();
      renderHeader();
      // Overlays: drop runs that are gone; load the chosen ones once.
      const known = new Set(m.state.runs.map((r) => r.runDir));
      for (const [dir, o] of overlays)
        if (!known.has(dir)) {
          o.remove();
          overlays.delete(dir);
        }
      ui.overlays = ui.overlays.filter((r) => known.has(r));
      if (!overlaysRequested) {
        overlaysRequested = true;
        for (const r of ui.overlays) if (!overlays.has(r)) post({ type: 'loadRun', runDir: r });
      }
      break;
    }
    case 'started':
      started = m.info;
      break;
    case 'batch':
      if (status === 'starting') status = 'running';
      addBatch(m.metrics);
      renderHeader();
      break;
    case 'epochEnd':
      addEpoch(m.metrics);
      break;
    case 'status':
      status = m.status;
      renderHeader();
      break;
    case 'runs':
      if (state) state.runs = m.runs;
      renderRuns(m.runs);
      renderHeader();
      break;
    case 'runHistory': {
      if (!ui.overlays.includes(m.runDir)) break;
      overlays.get(m.runDir)?.remove();
      const i = ui.overlays.indexOf(m.runDir);
      const label = m.runDir.split(/[\\/]/).pop() ?? m.runDir;
      overlays.set(
        m.runDir,
        new Overlay(m.runDir, label.slice(5, 19), OVERLAY_COLOURS[i % OVERLAY_COLOURS.length], m.history),
      );
      lossChart.update();
      accChart.update();
      break;
    }
  }
});

// Theme changes: VS Code swaps the body's classes and variables.
new MutationObserver(() => {
  for (const c of charts) {
    c.applyTheme();
    c.update();
  }
}).observe(document.body, { attributes: true, attributeFilter: ['class', 'style'] });

window.addEventListener('unload', () => charts.forEach((c) => c.destroy()));
post({ type: 'ready' });
