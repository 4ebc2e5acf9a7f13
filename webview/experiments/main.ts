/**
 * Compare Runs webview: the runs table (scope: this spec or every spec of the folder; differing hyperparameters
 * highlighted, equal ones hideable; sortable; rename, notes, delete), the overlaid curves of the selected runs
 * (x by step, epoch or wall time; log y), CSV export and TensorBoard. Talks to its panel
 * (src/panels/experiments.ts) through the contract of src/protocol/experiments.ts.
 */
import {
  differingParams,
  paramKeys,
  sortRows,
  tableColumns,
  type CurvePoint,
  type XAxis,
} from '../../src/metrics/experimentTable';
import type { ExperimentsHost, ExperimentsState, ExperimentsUiState } from '../../src/protocol/experiments';
import { byId as $, el } from '../common/dom';
import { connectToHost, reportedByHost, vscodeApi } from '../common/vscode';
import { CurveCharts } from './curves';
import { STYLE } from './style';
import { isShown, runsTable } from './table';

const host = connectToHost<ExperimentsHost>();
const api = vscodeApi<ExperimentsUiState>();
const ui: ExperimentsUiState = {
  selected: [],
  hideEqual: false,
  xAxis: 'step',
  logY: false,
  ...(api.getState() ?? {}),
};
const saveUi = (): void => api.setState(ui);

const style = document.createElement('style');
style.textContent = STYLE;
document.head.appendChild(style);

document.getElementById('app')!.innerHTML = `
<header class="exp-header">
  <div class="exp-title"><h2 id="title">Compare Runs</h2><span id="count" class="muted"></span></div>
  <div class="toolbar">
    <label>Runs of <select id="scope"></select></label>
    <label><input type="checkbox" id="hide-equal"> Hide equal columns</label>
    <button type="button" id="export-csv">Export CSV…</button>
    <button type="button" id="tensorboard">Open in TensorBoard</button>
    <button type="button" id="refresh" title="Read the run folders again">Refresh</button>
  </div>
  <div id="tb-box" class="tb-box" hidden>
    <span class="muted">tensorboard is not on PATH. Install it (pip install tensorboard), then run:</span>
    <code id="tb-command"></code><button type="button" id="tb-copy">Copy</button><span id="tb-copied" class="muted"></span>
  </div>
</header>
<section class="table-wrap" id="table"><p class="muted">Reading the runs…</p></section>
<section class="curves">
  <div class="toolbar">
    <h3>Curves</h3>
    <label>x-axis <select id="x-axis"><option value="step">step</option><option value="epoch">epoch</option><option value="time">wall time</option></select></label>
    <label><input type="checkbox" id="log-y"> Log scale (y)</label>
    <span id="overlay-hint" class="muted">Select runs (the boxes on the left) to overlay their curves.</span>
  </div>
  <div id="curves-error" class="error"></div>
  <div class="charts">
    <div class="chart-box"><h4>Loss</h4><div class="chart" id="chart-loss" data-points="0"></div></div>
    <div class="chart-box"><h4>Accuracy</h4><div class="chart" id="chart-acc" data-points="0"></div></div>
  </div>
</section>`;

const scopeSelect = $<HTMLSelectElement>('scope');
const hideEqual = $<HTMLInputElement>('hide-equal');
const xAxisSelect = $<HTMLSelectElement>('x-axis');
const logY = $<HTMLInputElement>('log-y');
hideEqual.checked = ui.hideEqual;
xAxisSelect.value = ui.xAxis;
logY.checked = ui.logY;
const charts = new CurveCharts($('chart-loss'), $('chart-acc'));

let state: ExperimentsState | undefined;
/** Curves read for each selected run, by run folder (read again when the table changes: a run may be training). */
const curves = new Map<string, CurvePoint[]>();

function render(): void {
  if (!state) return;
  const rows = sortRows(state.rows, ui.sort?.key ?? 'startedAt', ui.sort?.direction ?? 'desc');
  const keys = paramKeys(rows);
  const differing = differingParams(rows, keys);
  const columns = tableColumns(keys, rows);
  const view = {
    columns,
    rows,
    differing,
    hideEqual: ui.hideEqual,
    selected: new Set(ui.selected),
    sort: ui.sort ?? { key: 'startedAt', direction: 'desc' as const },
  };
  const wrap = $('table');
  wrap.replaceChildren();
  if (rows.length === 0) {
    wrap.append(el('p', { class: 'muted', id: 'empty' }, 'No runs here yet: train the spec (DenseNet: Train Model).'));
  } else {
    const table = runsTable(view);
    table.dataset.differing = [...differing].join('|');
    table.dataset.columns = columns
      .filter((c) => isShown(c, view))
      .map((c) => c.key)
      .join('|');
    wrap.append(table);
  }
  const hidden = keys.length - [...differing].length;
  $('count').textContent =
    `${rows.length} run${rows.length === 1 ? '' : 's'} · ${differing.size} differing hyperparameter${differing.size === 1 ? '' : 's'}` +
    (ui.hideEqual && rows.length > 1 && hidden > 0 ? ` · ${hidden} equal hidden` : '');
}

function drawCurves(): void {
  try {
    drawCurvesNow();
    $('curves-error').textContent = '';
  } catch (e) {
    // Shown where the charts are: a failure to draw never passes silently.
    $('curves-error').textContent = `The curves could not be drawn: ${e instanceof Error ? e.message : String(e)}`;
    console.error(e);
  }
}

function drawCurvesNow(): void {
  if (!state) return;
  const byDir = new Map(state.rows.map((r) => [r.runDir, r]));
  const runs = ui.selected
    .filter((d) => byDir.has(d) && curves.has(d))
    .map((d) => ({ runDir: d, name: byDir.get(d)!.name, points: curves.get(d)! }));
  charts.draw(runs, ui.xAxis, ui.logY);
  $('overlay-hint').hidden = ui.selected.length > 0;
}

function loadCurves(runDirs: string[]): void {
  if (runDirs.length === 0) {
    drawCurves();
    return;
  }
  host.request('curves', { runDirs }).then(
    (list) => {
      for (const c of list) curves.set(c.runDir, c.points);
      drawCurves();
    },
    () => undefined, // the host reports it
  );
}

function applyState(s: ExperimentsState): void {
  state = s;
  ui.specUri = s.spec?.uri;
  ui.folder = s.folderUri;
  ui.scope = s.scope;
  const known = new Set(s.rows.map((r) => r.runDir));
  ui.selected = ui.selected.filter((d) => known.has(d));
  for (const d of [...curves.keys()]) if (!known.has(d)) curves.delete(d);
  saveUi();
  scopeSelect.replaceChildren(
    ...(s.spec ? [el('option', { value: 'spec' }, `this spec: ${s.spec.name}`)] : []),
    el('option', { value: 'folder' }, `all specs in ${s.folderLabel}`),
  );
  scopeSelect.value = s.scope;
  $('title').textContent = s.scope === 'spec' && s.spec ? `Runs of ${s.spec.name}` : `Runs in ${s.folderLabel}`;
  $('tb-command').textContent = s.tensorboard.command;
  $('tensorboard').title = s.tensorboard.available
    ? `Runs ${s.tensorboard.command} in a terminal`
    : s.tensorboard.command;
  render();
  loadCurves(ui.selected);
}

// ---------- events ----------
scopeSelect.addEventListener('change', () => {
  ui.selected = [];
  reportedByHost(host.request('setScope', { scope: scopeSelect.value === 'spec' ? 'spec' : 'folder' }));
});
hideEqual.addEventListener('change', () => {
  ui.hideEqual = hideEqual.checked;
  saveUi();
  render();
});
xAxisSelect.addEventListener('change', () => {
  ui.xAxis = xAxisSelect.value as XAxis;
  saveUi();
  drawCurves();
});
logY.addEventListener('change', () => {
  ui.logY = logY.checked;
  saveUi();
  drawCurves();
});
$('refresh').addEventListener('click', () => {
  host.request('state', null).then(applyState, () => undefined);
});
$('export-csv').addEventListener('click', () => {
  const table = document.querySelector<HTMLTableElement>('table.experiments');
  const columns = (table?.dataset.columns ?? '').split('|').filter(Boolean);
  const order = [...document.querySelectorAll<HTMLElement>('table.experiments tbody tr')].map((tr) => tr.dataset.run!);
  reportedByHost(host.request('exportCsv', { columns, order }));
});
$('tensorboard').addEventListener('click', () => {
  host.request('openTensorBoard', null).then(
    (opened) => {
      $('tb-box').hidden = opened;
    },
    () => undefined,
  );
});
$('tb-copy').addEventListener('click', () => {
  host.request('copy', { text: $('tb-command').textContent ?? '' }).then(
    () => {
      $('tb-copied').textContent = 'Copied.';
    },
    () => undefined,
  );
});

$('table').addEventListener('click', (e) => {
  const target = e.target as HTMLElement;
  const th = target.closest<HTMLElement>('th.sortable');
  if (th?.dataset.key) {
    const key = th.dataset.key;
    const direction = ui.sort?.key === key && ui.sort.direction === 'asc' ? 'desc' : 'asc';
    ui.sort = { key, direction };
    saveUi();
    render();
    return;
  }
  const runDir = target.closest<HTMLElement>('tr[data-run]')?.dataset.run;
  if (!runDir) return;
  if (target.matches('input.select')) {
    const on = (target as HTMLInputElement).checked;
    ui.selected = ui.selected.filter((d) => d !== runDir);
    if (on) ui.selected.push(runDir);
    saveUi();
    target.closest('tr')?.classList.toggle('selected', on);
    if (on && !curves.has(runDir)) loadCurves([runDir]);
    else drawCurves();
  } else if (target.matches('button.rename')) reportedByHost(host.request('rename', { runDir }));
  else if (target.matches('button.notes')) reportedByHost(host.request('editNotes', { runDir }));
  else if (target.matches('button.delete')) reportedByHost(host.request('deleteRun', { runDir }));
});

new MutationObserver(() => {
  charts.rebuild();
  drawCurves();
}).observe(document.body, {
  attributes: true,
  attributeFilter: ['class'],
});

host.on('state', applyState);
host.request('state', null).then(applyState, () => undefined); // the host reports a failure
