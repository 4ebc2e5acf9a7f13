/**
 * The model summary as a table (`DenseNet: Show Model Summary`): one row per Keras layer with its output shape,
 * parameters, multiply-adds, activation memory and Keras-style "Connected to" (`conv2_block1_concat[0][0]`),
 * the rows grouped by part (stem, dense blocks, transitions, head), the totals with `training.freeze` applied,
 * sorting and filtering, and the Keras-style text for "Copy as text". Pure: the panel, its webview and the tests
 * use the very same rows.
 */
import { type Analysis, type GroupKind, groupTitle, type LayerInfo, trainingMemory } from './analyze';
import { summaryTable } from './explain';
import { formatShape } from './format';
import { freezePlan } from './freeze';
import type { ResolvedSpec } from './types';

export interface SummaryRow {
  /** Keras layer name. */
  name: string;
  type: string;
  /** `56x56x64`. */
  shape: string;
  /** Elements of the output per image (sorts the shape column). */
  outputSize: number;
  params: number;
  /** Parameters that train: 0 for a layer `training.freeze` freezes. */
  trainableParams: number;
  /** Batch-norm statistics, and every parameter of a frozen layer. */
  nonTrainableParams: number;
  /** Frozen by `training.freeze`. */
  frozen: boolean;
  macs: number;
  /** Bytes of the layer's float32 output per image. */
  activationBytes: number;
  /** Keras' "Connected to": `<input layer>[0][0]` for each input, in order. */
  connectedTo: string[];
  /** Index into `ModelSummary.groups`. */
  group: number;
}

export interface SummaryGroup {
  kind: GroupKind;
  /** Keras prefix: `conv1`, `conv2`.., `pool2`.., `head`, `input`. */
  name: string;
  /** `dense block 1 (conv2)`. */
  label: string;
  /** `6 layers · 56x56 · 64→256 ch` for blocks; empty otherwise. */
  detail: string;
  /** Rows `first..last` (inclusive) belong to the group. */
  first: number;
  last: number;
  params: number;
  macs: number;
  activationBytes: number;
}

export interface SummaryTotals {
  params: number;
  trainableParams: number;
  /** Batch-norm statistics plus the parameters `training.freeze` freezes. */
  nonTrainableParams: number;
  /** Of which frozen by `training.freeze` (0 when nothing is). */
  frozenParams: number;
  /** The spec's `training.freeze` when it freezes something. */
  freeze?: string;
  macs: number;
  convMacs: number;
  /** Every layer's output for one image. */
  activationBytes: number;
  batchSize: number;
  optimizer: string;
  /** Weights, gradients, optimizer state and the kept activations at `batchSize`. */
  trainingMemoryBytes: number;
}

export interface ModelSummary {
  /** `densenet121 (preset densenet121) · input 224x224x3 · 1000 classes · batch 32`. */
  title: string;
  rows: SummaryRow[];
  groups: SummaryGroup[];
  totals: SummaryTotals;
  /** The Keras-style text summary ("Copy as text"). */
  text: string;
}

/** The numeric columns a table sorts by, and `order` (the model's order). */
export type SummarySortKey = 'order' | 'outputSize' | 'params' | 'macs' | 'activationBytes';
export type SortDirection = 'asc' | 'desc';

/** Keras' "Connected to" of a layer: `name[0][0]` for each input (node 0, tensor 0: a DenseNet has no shared layers). */
export function connectedTo(layer: Pick<LayerInfo, 'inputs'>): string[] {
  return layer.inputs.map((name) => `${name}[0][0]`);
}

/** The frozen layer names of `training.freeze`; empty when nothing is frozen or the value is unusable (a diagnostic says why). */
function frozenLayers(a: Analysis, freeze: string | undefined): { layers: ReadonlySet<string>; freeze?: string } {
  if (!freeze || freeze === 'none') return { layers: new Set() };
  try {
    return { layers: freezePlan(a, freeze).layers, freeze };
  } catch {
    return { layers: new Set() };
  }
}

/** The summary of an analysed model: rows, groups, totals and the text. */
export function modelSummary(a: Analysis, r: ResolvedSpec): ModelSummary {
  const frozen = frozenLayers(a, r.freeze);
  const rows: SummaryRow[] = a.layers.map((l) => {
    const isFrozen = frozen.layers.has(l.name);
    return {
      name: l.name,
      type: l.type,
      shape: formatShape(l.outputShape),
      outputSize: l.outputShape.reduce((x, y) => x * y, 1),
      params: l.params,
      trainableParams: isFrozen ? 0 : l.trainableParams,
      nonTrainableParams: isFrozen ? l.params : l.nonTrainableParams,
      frozen: isFrozen,
      macs: l.macs,
      activationBytes: l.activationBytes,
      connectedTo: connectedTo(l),
      group: l.group,
    };
  });
  const groups: SummaryGroup[] = a.groups.map((g) => ({
    kind: g.kind,
    name: g.name,
    label: groupTitle(g),
    detail:
      g.kind === 'block'
        ? `${g.denseLayers} layer${g.denseLayers === 1 ? '' : 's'} · ${g.inputShape[0]}x${g.inputShape[1]} · ` +
          `${g.inputShape[2]}→${g.outputShape[2]} ch`
        : '',
    first: g.firstLayer,
    last: g.lastLayer,
    params: g.params,
    macs: g.macs,
    activationBytes: g.activationBytes,
  }));
  const frozenParams = a.layers.reduce((s, l) => s + (frozen.layers.has(l.name) ? l.trainableParams : 0), 0);
  const mem = trainingMemory(a, r.batchSize, r.optimizer, r.memoryEfficient);
  const trainable = rows.reduce((s, row) => s + row.trainableParams, 0);
  return {
    title:
      `${r.name}${r.preset ? ` (preset ${r.preset})` : ''} · input ${formatShape([r.input.height, r.input.width, r.input.channels])}` +
      ` · ${r.classes} classes · batch ${r.batchSize}`,
    rows,
    groups,
    totals: {
      params: a.totals.params,
      trainableParams: trainable,
      nonTrainableParams: a.totals.params - trainable,
      frozenParams,
      freeze: frozenParams > 0 ? frozen.freeze : undefined,
      macs: a.totals.macs,
      convMacs: a.totals.convMacs,
      activationBytes: a.totals.activationBytes,
      batchSize: r.batchSize,
      optimizer: r.optimizer,
      trainingMemoryBytes: mem.totalBytes,
    },
    text: summaryTable(a, r),
  };
}

const VALUE: Record<Exclude<SummarySortKey, 'order'>, (r: SummaryRow) => number> = {
  outputSize: (r) => r.outputSize,
  params: (r) => r.params,
  macs: (r) => r.macs,
  activationBytes: (r) => r.activationBytes,
};

/**
 * The indices of `rows` in the order of `key` (`order`: the model's), ties kept in model order whatever the
 * direction, so that equal layers stay readable.
 */
export function sortRows(rows: readonly SummaryRow[], key: SummarySortKey, direction: SortDirection): number[] {
  const indices = rows.map((_, i) => i);
  if (key === 'order') return direction === 'asc' ? indices : indices.reverse();
  const value = VALUE[key];
  const sign = direction === 'asc' ? 1 : -1;
  return indices.sort((i, j) => sign * (value(rows[i]) - value(rows[j])) || i - j);
}

/**
 * Whether a row matches the filter: every space-separated word of `query` (case-insensitive) is in the layer's
 * name or type. An empty query matches every row.
 */
export function rowMatches(row: Pick<SummaryRow, 'name' | 'type'>, query: string): boolean {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const text = `${row.name} ${row.type}`.toLowerCase();
  return words.every((w) => text.includes(w));
}

/** A count in a narrow column: 118013952 -> "118.0M", 2.88e9 -> "2.88G", 9408 -> "9.4K", 512 -> "512". */
export function compactCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}
