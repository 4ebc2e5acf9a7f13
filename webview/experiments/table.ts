/**
 * The runs table of Compare Runs, as DOM: a selection box per run (its curves are overlaid), the run columns,
 * one column per hyperparameter (`differs` where the runs disagree, `same` where they agree: hideable), the
 * metrics, and the run's actions. Every value (names, notes, paths, numbers) is set as text.
 */
import { formatDuration } from '../../src/metrics/dashboardMath';
import {
  type Cell,
  type Column,
  cellValue,
  type ExperimentRow,
  type SortDirection,
} from '../../src/metrics/experimentTable';
import { el } from '../common/dom';

export interface TableView {
  columns: Column[];
  rows: ExperimentRow[];
  differing: Set<string>;
  hideEqual: boolean;
  selected: Set<string>;
  sort: { key: string; direction: SortDirection };
}

const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;

function number(v: number): string {
  const a = Math.abs(v);
  if (Number.isInteger(v) && a < 1e9) return String(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

function time(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A cell's text as the table shows it. */
export function formatCell(column: Column, v: Cell | undefined, row: ExperimentRow): string {
  if (v === undefined || v === null || v === '') return column.key === 'notes' ? '' : '–';
  if (typeof v === 'number') {
    if (column.kind === 'percent') return pct(v);
    if (column.kind === 'duration') return formatDuration(v);
    if (column.key === 'epochsDone') return `${v}/${row.epochsPlanned}`;
    return number(v);
  }
  if (column.kind === 'time' && typeof v === 'string') return time(v);
  return String(v);
}

/** Whether a column is shown: a hyperparameter all runs agree on is hidden with "hide equal columns". */
export const isShown = (c: Column, view: Pick<TableView, 'differing' | 'hideEqual' | 'rows'>): boolean =>
  c.group !== 'param' || !view.hideEqual || view.rows.length < 2 || view.differing.has(c.key.slice(6));

function headerCell(c: Column, view: TableView): HTMLTableCellElement {
  const isParam = c.group === 'param';
  const differs = isParam && view.differing.has(c.key.slice(6));
  const classes = [c.group, isParam ? (differs ? 'differs' : 'same') : ''].filter(Boolean).join(' ');
  const sorted = view.sort.key === c.key ? view.sort.direction : undefined;
  const arrow = sorted === 'asc' ? ' ▲' : sorted === 'desc' ? ' ▼' : '';
  const th = el(
    'th',
    {
      class: `sortable ${classes}`,
      'data-key': c.key,
      'data-sort': sorted,
      title: isParam
        ? `${c.key.slice(6)}${differs ? ': differs between the runs' : ''} (click to sort)`
        : 'Click to sort',
      'aria-sort': sorted === 'asc' ? 'ascending' : sorted === 'desc' ? 'descending' : undefined,
    },
    c.label + arrow,
  );
  return th;
}

function button(cls: string, label: string, title: string): HTMLButtonElement {
  return el('button', { class: `link ${cls}`, title, type: 'button' }, label);
}

function bodyCell(c: Column, r: ExperimentRow, view: TableView): HTMLTableCellElement {
  const v = cellValue(r, c.key);
  const isParam = c.group === 'param';
  const key = isParam ? c.key.slice(6) : c.key;
  const classes = [c.group, isParam ? (view.differing.has(key) ? 'differs' : 'same') : ''];
  const attributes: Record<string, string | undefined> = { 'data-key': c.key };
  if (isParam && r.defaulted.includes(key)) {
    classes.push('default');
    attributes.title = `${key}: not in the spec; the default`;
  }
  if (c.key === 'notes' && typeof v === 'string') attributes.title = v;
  if (c.key === 'status' && r.problems?.length) {
    classes.push('problem');
    attributes.title = r.problems.join('\n');
  }
  if (c.key === 'metric:evalAcc' && r.metrics.evalSplit) attributes.title = `on the ${r.metrics.evalSplit} split`;
  if (c.key === 'startedAt') attributes.title = r.startedAt;
  attributes.class = classes.filter(Boolean).join(' ');
  const td = el('td', attributes, formatCell(c, v, r));
  if (c.key === 'name') {
    td.title = r.displayName ? `${r.displayName} (${r.runId})` : r.runId;
    td.append(' ', button('rename', '✎', 'Rename the run'));
  }
  if (c.key === 'notes') td.append(' ', button('notes', r.notes ? 'edit' : 'add', 'Edit the notes'));
  return td;
}

/** The table element; `data-run` on each row is its run folder. */
export function runsTable(view: TableView): HTMLTableElement {
  const shown = view.columns.filter((c) => isShown(c, view));
  const groups: [string, string, number][] = [];
  for (const c of shown) {
    const label = c.group === 'param' ? 'hyperparameters' : c.group === 'metric' ? 'metrics' : 'run';
    const last = groups[groups.length - 1];
    if (last?.[0] === c.group) last[2]++;
    else groups.push([c.group, label, 1]);
  }
  const groupRow = el(
    'tr',
    { class: 'groups' },
    el('th', {}),
    ...groups.map(([g, label, n]) => el('th', { class: g, colspan: String(n) }, label)),
    el('th', {}),
  );
  const head = el(
    'tr',
    { class: 'columns' },
    el('th', { class: 'select', title: 'Overlay the curves of the selected runs' }, '⧉'),
    ...shown.map((c) => headerCell(c, view)),
    el('th', {}, ''),
  );
  const body = view.rows.map((r) => {
    const box = el('input', {
      type: 'checkbox',
      class: 'select',
      title: 'Overlay its curves',
      checked: view.selected.has(r.runDir) ? '' : undefined,
    });
    const tr = el(
      'tr',
      { 'data-run': r.runDir, 'data-status': r.status },
      el('td', { class: 'select' }, box),
      ...shown.map((c) => bodyCell(c, r, view)),
      el('td', { class: 'actions' }, button('delete', 'Delete', 'Move the run folder to the trash')),
    );
    if (view.selected.has(r.runDir)) tr.classList.add('selected');
    return tr;
  });
  return el(
    'table',
    { class: 'experiments', 'data-rows': String(view.rows.length) },
    el('thead', {}, groupRow, head),
    el('tbody', {}, ...body),
  );
}
