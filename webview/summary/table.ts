/**
 * The summary table's DOM: one row element per layer and a header row per part, built once per summary (in a
 * fragment, appended in one go); sorting re-orders the same row elements and filtering toggles `hidden`, so
 * neither reads layout. Values are set as text only.
 */
import { compactCount, type ModelSummary, type SummaryGroup, type SummaryRow } from '../../src/core/modelSummary';
import { formatBytes, formatInt } from '../../src/core/format';
import { el } from '../common/dom';

export const COLUMNS = [
  { key: 'name', title: 'Layer (type)' },
  { key: 'outputSize', title: 'Output shape', sortable: true },
  { key: 'params', title: 'Param #', sortable: true },
  { key: 'macs', title: 'Mult-Adds', sortable: true },
  {
    key: 'activationBytes',
    title: 'Memory',
    sortable: true,
    tooltip: "Activations: the layer's float32 output per image",
  },
  { key: 'connectedTo', title: 'Connected to' },
] as const;

/** A Keras name that may wrap after each `_` (and before `[0][0]`) in a narrow panel, never inside a word. */
function breakable(text: string): DocumentFragment {
  const frag = document.createDocumentFragment();
  text.split(/(?<=_)|(?=\[0\]\[0\]$)/).forEach((part, i) => {
    if (i > 0) frag.append(document.createElement('wbr'));
    frag.append(part);
  });
  return frag;
}

/** A number cell: the figure as text, the exact value in `data-value` (tests, sorting) and in the tooltip. */
function num(value: number, text: string, cls = 'num'): HTMLTableCellElement {
  return el('td', { class: cls, 'data-value': String(value), title: formatInt(value) }, text);
}

function layerRow(row: SummaryRow, index: number): HTMLTableRowElement {
  const name = el(
    'td',
    { class: 'name' },
    el('span', { class: 'lname' }, breakable(row.name)),
    ' ',
    el('span', { class: 'ltype' }, `(${row.type})`),
  );
  if (row.frozen) name.append(' ', el('span', { class: 'frozen', title: 'frozen by training.freeze' }, 'frozen'));
  const params = num(row.params, formatInt(row.params));
  if (row.nonTrainableParams > 0)
    params.title = `${formatInt(row.trainableParams)} trainable, ${formatInt(row.nonTrainableParams)} non-trainable`;
  return el(
    'tr',
    { class: 'layer', 'data-name': row.name, 'data-index': String(index), 'data-group': String(row.group) },
    name,
    el('td', { class: 'shape', 'data-value': String(row.outputSize) }, row.shape),
    params,
    num(row.macs, compactCount(row.macs)),
    num(row.activationBytes, formatBytes(row.activationBytes)),
    el('td', { class: 'conn' }, ...row.connectedTo.map((c) => el('div', {}, breakable(c)))),
  );
}

function groupRow(g: SummaryGroup, index: number): HTMLTableRowElement {
  const label = el(
    'td',
    { class: 'name' },
    el('span', { class: 'twisty', 'aria-hidden': 'true' }),
    el('strong', {}, g.label),
    g.detail ? el('span', { class: 'ltype' }, ` · ${g.detail}`) : '',
  );
  return el(
    'tr',
    { class: 'group-head', 'data-group': String(index), 'data-name': g.name, tabindex: '0', role: 'button' },
    label,
    el('td', { class: 'count' }, `${g.last - g.first + 1} layers`),
    num(g.params, formatInt(g.params)),
    num(g.macs, compactCount(g.macs)),
    num(g.activationBytes, formatBytes(g.activationBytes)),
    el('td', { class: 'conn' }),
  );
}

/** Every element of a built table, to re-order and filter without building again. */
export interface BuiltTable {
  rows: HTMLTableRowElement[];
  groups: HTMLTableRowElement[];
  tfoot: HTMLTableSectionElement;
}

/** Builds the row elements of `s` (not yet in the document). */
export function buildTable(s: ModelSummary): BuiltTable {
  const t = s.totals;
  const tfoot = el(
    'tfoot',
    {},
    el(
      'tr',
      {},
      el('td', { class: 'name' }, el('strong', {}, 'Total')),
      el('td', { class: 'count' }, `${s.rows.length} layers`),
      num(t.params, formatInt(t.params)),
      num(t.macs, compactCount(t.macs)),
      num(t.activationBytes, formatBytes(t.activationBytes)),
      el('td', { class: 'conn' }),
    ),
  );
  return { rows: s.rows.map(layerRow), groups: s.groups.map(groupRow), tfoot };
}

/**
 * Lays the rows into the table body in one go: by part (each part's header row, then its rows; folded parts keep
 * only their header) in model order, or flat in `order` when sorted.
 */
export function layOut(
  tbody: HTMLTableSectionElement,
  built: BuiltTable,
  s: ModelSummary,
  order: number[] | undefined,
): void {
  const frag = document.createDocumentFragment();
  if (order) for (const i of order) frag.append(built.rows[i]);
  else
    s.groups.forEach((g, gi) => {
      frag.append(built.groups[gi]);
      for (let i = g.first; i <= g.last; i++) frag.append(built.rows[i]);
    });
  tbody.replaceChildren(frag);
}

/**
 * Shows the rows that match (`matches[i]`) and are not in a folded part (unless a filter is on: then every match
 * shows); a part's header shows when any of its rows match. Returns the number of matching rows.
 */
export function applyVisibility(
  built: BuiltTable,
  s: ModelSummary,
  matches: boolean[],
  collapsed: Record<string, boolean>,
  filtering: boolean,
  sorted: boolean,
): number {
  let count = 0;
  s.groups.forEach((g, gi) => {
    const folded = !filtering && !sorted && collapsed[g.name] === true;
    let any = false;
    for (let i = g.first; i <= g.last; i++) {
      const show = matches[i] && !folded;
      if (matches[i]) {
        any = true;
        count++;
      }
      if (built.rows[i].hidden === show) built.rows[i].hidden = !show;
    }
    const head = built.groups[gi];
    head.hidden = !any;
    head.classList.toggle('collapsed', folded);
    head.setAttribute('aria-expanded', String(!folded));
  });
  return count;
}
