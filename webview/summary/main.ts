/**
 * Model summary webview: the Keras-style table of the spec's layers (rows and totals from src/core/modelSummary.ts),
 * grouped by part (foldable), sortable by any numeric column, filtered by name or type, with "Copy as text". A
 * clicked row reveals its part of the spec. While the spec has errors it says so above the last good table. Talks
 * to its panel (src/panels/summary.ts) through the contract of src/protocol/summary.ts.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { formatBytes, formatInt, formatMacs } from '../../src/core/format';
import {
  type ModelSummary,
  rowMatches,
  type SortDirection,
  type SummarySortKey,
  sortRows,
} from '../../src/core/modelSummary';
import type { SummaryHost, SummaryState, SummaryView, SummaryWebviewState } from '../../src/protocol/summary';
import { byId, el } from '../common/dom';
import { connectToHost, reportedByHost, vscodeApi } from '../common/vscode';
import { writePage } from './style';
import { applyVisibility, type BuiltTable, buildTable, COLUMNS, layOut } from './table';

const host = connectToHost<SummaryHost, SummaryView>();
const api = vscodeApi<SummaryWebviewState>();
const saved = api.getState() ?? {};

writePage(byId('app'));
const table = byId<HTMLTableElement>('table');
const tbody = byId<HTMLTableSectionElement>('rows');
const filterEl = byId<HTMLInputElement>('filter');
const problemEl = byId('problem');

let state: SummaryState | undefined;
let shown: ModelSummary | undefined;
let built: BuiltTable | undefined;
let collapsed: Record<string, boolean> = saved.collapsed ?? {};
const SORT_KEYS: SummarySortKey[] = ['outputSize', 'params', 'macs', 'activationBytes'];
let sort: { key: SummarySortKey; direction: SortDirection } | undefined =
  saved.sort && SORT_KEYS.includes(saved.sort.key as SummarySortKey)
    ? { key: saved.sort.key as SummarySortKey, direction: saved.sort.direction }
    : undefined;
filterEl.value = saved.filter ?? '';
let selected: string | undefined;

function persist(): void {
  api.setState({ specUri: state?.specUri ?? saved.specUri, collapsed, sort, filter: filterEl.value });
}

byId('head').append(
  ...COLUMNS.map((c) => {
    const th = el('th', { 'data-key': c.key, class: 'sortable' in c ? 'num' : '' });
    const tip = 'tooltip' in c ? `${c.tooltip}. ` : '';
    th.append('sortable' in c ? el('button', { title: `${tip}Sort by ${c.title}` }, c.title) : c.title);
    return th;
  }),
);

function totalsLine(s: ModelSummary): void {
  const t = s.totals;
  const item = (id: string, label: string, value: number, text: string, note = '') =>
    el('div', {}, `${label} `, el('span', { class: 'v', id, 'data-value': String(value) }, text), note);
  byId('totals').replaceChildren(
    item('total-params', 'Total params', t.params, formatInt(t.params)),
    item('trainable-params', 'Trainable', t.trainableParams, formatInt(t.trainableParams)),
    item(
      'nontrainable-params',
      'Non-trainable',
      t.nonTrainableParams,
      formatInt(t.nonTrainableParams),
      t.freeze ? ` (${formatInt(t.frozenParams)} frozen by training.freeze "${t.freeze}")` : '',
    ),
    item('total-macs', 'Mult-adds', t.macs, formatMacs(t.macs)),
    item('total-memory', 'Activations', t.activationBytes, formatBytes(t.activationBytes), ' per image'),
    item(
      'training-memory',
      'Training memory ≈',
      t.trainingMemoryBytes,
      formatBytes(t.trainingMemoryBytes),
      ` at batch ${t.batchSize} (${t.optimizer})`,
    ),
  );
}

/** Re-orders (sort or parts) and re-filters the rows already built: no rebuild, no layout read. */
function arrange(): void {
  if (!shown || !built) return;
  const s = shown;
  const order = sort ? sortRows(s.rows, sort.key, sort.direction) : undefined;
  layOut(tbody, built, s, order);
  const query = filterEl.value.trim();
  const matches = s.rows.map((r) => rowMatches(r, query));
  const count = applyVisibility(built, s, matches, collapsed, query !== '', order !== undefined);
  byId('count').textContent = query ? `${count} of ${s.rows.length} layers` : `${s.rows.length} layers`;
  table.dataset.sort = sort ? `${sort.key}:${sort.direction}` : 'order';
  table.dataset.shown = String(count);
  for (const th of byId('head').querySelectorAll<HTMLElement>('th')) {
    const on = sort?.key === th.dataset.key;
    if (on) th.setAttribute('aria-sort', sort?.direction === 'asc' ? 'ascending' : 'descending');
    else th.removeAttribute('aria-sort');
  }
}

/** Builds the table of a new summary in one pass (or marks the kept one stale while the spec has errors). */
function render(): void {
  if (!state) return;
  const t0 = performance.now();
  byId('title').textContent = `Summary: ${state.specName}`;
  problemEl.hidden = !state.problem;
  problemEl.textContent = state.problem ? `${state.problem}${shown ? ' — showing the last valid version.' : ''}` : '';
  table.classList.toggle('stale', !!state.problem);
  table.dataset.stale = String(!!state.problem);
  if (state.summary) {
    shown = state.summary;
    built = buildTable(shown);
    table.querySelector('tfoot')?.remove();
    table.append(built.tfoot);
    byId('subtitle').textContent = shown.title;
    totalsLine(shown);
    if (selected) built.rows.find((r) => r.dataset.name === selected)?.classList.add('sel');
    arrange();
    table.dataset.version = String(state.version);
  }
  const renderMs = performance.now() - t0;
  table.dataset.rows = String(shown?.rows.length ?? 0);
  table.dataset.renderMs = renderMs.toFixed(1);
  host.notify('rendered', { version: state.version, rows: shown?.rows.length ?? 0, renderMs });
}

/** Unfolds a part and scrolls its header to the top (a block lens asked for it). */
function focusGroup(name: string): void {
  if (!shown || !built) return;
  const gi = shown.groups.findIndex((g) => g.name === name);
  if (gi < 0) return;
  sort = undefined;
  collapsed[name] = false;
  filterEl.value = '';
  persist();
  arrange();
  const head = built.groups[gi];
  head.scrollIntoView({ block: 'start' });
  head.classList.add('flash');
  setTimeout(() => head.classList.remove('flash'), 1200);
  table.dataset.focus = name;
}

function toggleGroup(head: HTMLElement): void {
  const gi = Number(head.dataset.group);
  const g = shown?.groups[gi];
  if (!g) return;
  collapsed[g.name] = !collapsed[g.name];
  persist();
  arrange();
}

tbody.addEventListener('click', (e) => {
  const tr = (e.target as HTMLElement).closest('tr');
  if (!tr) return;
  if (tr.classList.contains('group-head')) return toggleGroup(tr);
  const name = tr.dataset.name;
  if (!name) return;
  tbody.querySelector('tr.sel')?.classList.remove('sel');
  tr.classList.add('sel');
  selected = name;
  reportedByHost(host.request('reveal', { layer: name }));
});
tbody.addEventListener('keydown', (e) => {
  const tr = (e.target as HTMLElement).closest('tr');
  if (tr?.classList.contains('group-head') && (e.key === 'Enter' || e.key === ' ')) {
    e.preventDefault();
    toggleGroup(tr);
  }
});
byId('head').addEventListener('click', (e) => {
  const th = (e.target as HTMLElement).closest('th');
  const key = th?.dataset.key as SummarySortKey | undefined;
  if (!key || !SORT_KEYS.includes(key)) return;
  // Largest first, then smallest first, then the model's order again.
  if (sort?.key !== key) sort = { key, direction: 'desc' };
  else if (sort.direction === 'desc') sort = { key, direction: 'asc' };
  else sort = undefined;
  persist();
  arrange();
});
filterEl.addEventListener('input', () => {
  persist();
  arrange();
});
filterEl.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') {
    filterEl.value = '';
    persist();
    arrange();
  }
});
const on = (id: string, f: () => void) => byId(id).addEventListener('click', f);
const setAll = (fold: boolean) => {
  collapsed = Object.fromEntries((shown?.groups ?? []).map((g) => [g.name, fold]));
  persist();
  arrange();
};
on('expand', () => setAll(false));
on('collapse', () => setAll(true));
on('order', () => {
  sort = undefined;
  persist();
  arrange();
});
on('copy', () => {
  const status = byId('copied');
  host.request('copyText', null).then(
    ({ text }) => {
      const lines = text.split('\n').filter(Boolean).length;
      byId<HTMLTextAreaElement>('copied-text').value = text;
      status.textContent = `Copied ${lines} lines`;
      status.dataset.lines = String(lines);
    },
    (e: Error) => (status.textContent = `Copy failed: ${e.message}`),
  );
});

host.on('summary', (u) => {
  if (!state) return;
  state = { ...state, ...u, summary: u.summary, problem: u.problem };
  render();
});
host.on('focus', ({ group }) => focusGroup(group));

// The handshake: the full state, each time the page loads.
host.request('state', null).then(
  (s) => {
    state = s;
    persist();
    render();
    if (s.focus) focusGroup(s.focus);
  },
  (e: Error) => {
    problemEl.hidden = false;
    problemEl.textContent = e.message;
  },
);
