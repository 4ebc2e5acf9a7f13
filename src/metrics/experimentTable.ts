/**
 * The experiment table's logic (Compare Runs): a run's spec snapshot flattened into hyperparameter columns, the
 * columns whose values differ between the runs shown, sorting, the final and best metrics of a metrics log, the
 * x value of a curve point (step, epoch or wall time) and the CSV export. Pure: the host and the webview share it.
 */

/** A table cell: text, a number, a flag, or nothing. */
export type Cell = string | number | boolean | null;

/** The final and best figures of a run, from its metrics.jsonl and evaluations.jsonl. */
export interface RunMetrics {
  trainLoss?: number;
  trainAcc?: number;
  valLoss?: number;
  valAcc?: number;
  bestValAcc?: number;
  /** Multi-label runs: the last validation's mean AUROC over the labels. */
  valMeanAuroc?: number;
  /** Segmentation runs: the last validation's mean IoU over the classes. */
  valMeanIou?: number;
  /** 1-based epoch of bestValAcc. */
  bestEpoch?: number;
  /** Accuracy of the latest `evaluate` saved in the run, and on which split. */
  evalAcc?: number;
  evalSplit?: string;
}

/** One run as a row of the table. Every value was type-checked on the host. */
export interface ExperimentRow {
  runDir: string;
  runId: string;
  /** The name shown: run.json's displayName, else the run id. */
  name: string;
  displayName?: string;
  notes?: string;
  spec: string;
  status: string;
  /** ISO time. */
  startedAt: string;
  /** Seconds from start to end (to now for a running run). */
  durationSec?: number;
  epochsDone: number;
  epochsPlanned: number;
  /** Flattened spec snapshot (`training.learningRate` → 0.01); keys in `defaulted` hold the default of a field the spec leaves out. */
  params: Record<string, Cell>;
  defaulted: string[];
  metrics: RunMetrics;
  problems?: string[];
}

export type ColumnGroup = 'run' | 'param' | 'metric';
export type ColumnKind = 'text' | 'number' | 'percent' | 'time' | 'duration';

export interface Column {
  key: string;
  label: string;
  group: ColumnGroup;
  kind: ColumnKind;
}

export const RUN_COLUMNS: readonly Column[] = [
  { key: 'name', label: 'run', group: 'run', kind: 'text' },
  { key: 'spec', label: 'spec', group: 'run', kind: 'text' },
  { key: 'status', label: 'status', group: 'run', kind: 'text' },
  { key: 'startedAt', label: 'started', group: 'run', kind: 'time' },
  { key: 'durationSec', label: 'duration', group: 'run', kind: 'duration' },
  { key: 'epochsDone', label: 'epochs done', group: 'run', kind: 'number' },
  { key: 'notes', label: 'notes', group: 'run', kind: 'text' },
];

export const METRIC_COLUMNS: readonly Column[] = [
  { key: 'metric:trainLoss', label: 'train loss', group: 'metric', kind: 'number' },
  { key: 'metric:trainAcc', label: 'train acc', group: 'metric', kind: 'percent' },
  { key: 'metric:valLoss', label: 'val loss', group: 'metric', kind: 'number' },
  { key: 'metric:valAcc', label: 'val acc', group: 'metric', kind: 'percent' },
  { key: 'metric:valMeanAuroc', label: 'val mean AUROC', group: 'metric', kind: 'number' },
  { key: 'metric:valMeanIou', label: 'val mean IoU', group: 'metric', kind: 'percent' },
  { key: 'metric:bestValAcc', label: 'best val acc', group: 'metric', kind: 'percent' },
  { key: 'metric:bestEpoch', label: 'best epoch', group: 'metric', kind: 'number' },
  { key: 'metric:evalAcc', label: 'eval acc', group: 'metric', kind: 'percent' },
];

/** Spec fields that are not hyperparameters (the spec's name has its own column). */
const NOT_PARAMS = new Set(['version', 'name', '$schema']);

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A scalar as a cell; arrays of scalars as `[6, 12, 24, 16]`, anything else as its JSON text. */
function toCell(v: unknown): Cell {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (Array.isArray(v) && v.every((x) => x === null || ['string', 'number', 'boolean'].includes(typeof x)))
    return `[${v.map((x) => (typeof x === 'string' ? JSON.stringify(x) : String(x))).join(', ')}]`;
  return JSON.stringify(v) ?? null;
}

/**
 * A spec (the parsed snapshot) as dotted keys: `{ training: { lrSchedule: { type: 'cosine' } } }` →
 * `training.lrSchedule.type`. Objects nest, arrays are one cell; `version` and `name` are left out.
 */
export function flattenSpec(spec: unknown): Record<string, Cell> {
  const out: Record<string, Cell> = {};
  const walk = (v: unknown, prefix: string) => {
    if (isPlainObject(v)) {
      const entries = Object.entries(v);
      if (entries.length === 0 && prefix) out[prefix] = '{}';
      for (const [k, x] of entries) {
        if (!prefix && NOT_PARAMS.has(k)) continue;
        walk(x, prefix ? `${prefix}.${k}` : k);
      }
    } else if (prefix) out[prefix] = toCell(v);
  };
  walk(spec, '');
  return out;
}

/** The resolved values of the fields the table always shows, as a spec would write them (see `withDefaults`). */
export interface ResolvedParams {
  model?: {
    growthRate: number;
    blockConfig: number[];
    bnSize: number;
    compression: number;
    numInitFeatures: number;
    dropRate: number;
  };
  training?: {
    epochs: number;
    batchSize: number;
    optimizer: string;
    learningRate: number;
    weightDecay: number;
    scheduleType: string;
    freeze: string;
  };
}

/**
 * DenseNet's depth L as the paper counts it: the convolutions of the dense layers (two per layer with a
 * bottleneck, else one), one per transition, the stem's and the classifier.
 */
export function densenetDepth(blockConfig: readonly number[], bnSize: number): number {
  const layers = blockConfig.reduce((a, b) => a + b, 0);
  return layers * (bnSize > 0 ? 2 : 1) + Math.max(0, blockConfig.length - 1) + 2;
}

/**
 * `params` (a flattened snapshot) completed with the resolved values of the fields it leaves out (a preset's
 * growth rate, the optimizer's default learning rate…) and the derived `model.depth`. Returns the keys filled in.
 */
export function withDefaults(params: Record<string, Cell>, resolved: ResolvedParams): string[] {
  const filled: string[] = [];
  const fill = (key: string, v: Cell) => {
    if (key in params) return;
    params[key] = v;
    filled.push(key);
  };
  const m = resolved.model;
  if (m) {
    fill('model.growthRate', m.growthRate);
    fill('model.blockConfig', toCell(m.blockConfig));
    fill('model.bnSize', m.bnSize);
    fill('model.compression', m.compression);
    fill('model.numInitFeatures', m.numInitFeatures);
    fill('model.dropRate', m.dropRate);
    params['model.depth'] = densenetDepth(m.blockConfig, m.bnSize);
  }
  const t = resolved.training;
  if (t) {
    fill('training.epochs', t.epochs);
    fill('training.batchSize', t.batchSize);
    fill('training.optimizer', t.optimizer);
    fill('training.learningRate', t.learningRate);
    fill('training.weightDecay', t.weightDecay);
    fill('training.lrSchedule.type', t.scheduleType);
    fill('training.freeze', t.freeze);
  }
  return filled;
}

/** Hyperparameters a user looks for first, in this order; the others follow alphabetically. */
const LEADING_PARAMS = [
  'model.preset',
  'model.depth',
  'model.growthRate',
  'model.blockConfig',
  'model.compression',
  'model.bnSize',
  'model.numInitFeatures',
  'model.dropRate',
  'model.weights',
  'training.optimizer',
  'training.learningRate',
  'training.lrSchedule.type',
  'training.batchSize',
  'training.epochs',
  'training.weightDecay',
  'training.freeze',
];

/** The hyperparameter keys of `rows`, the usual ones first, then data.*, then the rest alphabetically. */
export function paramKeys(rows: readonly Pick<ExperimentRow, 'params'>[]): string[] {
  const keys = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r.params)) keys.add(k);
  const lead = LEADING_PARAMS.filter((k) => keys.has(k));
  const rest = [...keys].filter((k) => !LEADING_PARAMS.includes(k));
  const rank = (k: string) =>
    k.startsWith('training.') ? 0 : k.startsWith('data.') ? 1 : k.startsWith('model.') ? 2 : 3;
  rest.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return [...lead, ...rest];
}

/** Metric columns of one task, shown only when some run has the figure. */
const TASK_METRICS = new Set(['metric:valMeanAuroc', 'metric:valMeanIou']);

/**
 * The columns of a table of these hyperparameter keys: run, status, epochs; hyperparameters; metrics (a task's
 * own, mean AUROC or mean IoU, when one of `rows` has it); the rest of the run.
 */
export function tableColumns(keys: readonly string[], rows: readonly Pick<ExperimentRow, 'metrics'>[] = []): Column[] {
  const params: Column[] = keys.map((k) => ({
    key: `param:${k}`,
    label: k.replace(/^(model|training)\./, ''),
    group: 'param',
    kind: 'text',
  }));
  // What tells runs apart first (name, status, progress, the hyperparameters, the metrics), the rest of the
  // run's record after: at a usual panel width the highlighted differences are in view without scrolling.
  const first = new Set(['name', 'status', 'epochsDone']);
  return [
    ...RUN_COLUMNS.filter((c) => first.has(c.key)),
    ...params,
    ...METRIC_COLUMNS.filter(
      (c) => !TASK_METRICS.has(c.key) || rows.some((r) => r.metrics[c.key.slice(7) as keyof RunMetrics] !== undefined),
    ),
    ...RUN_COLUMNS.filter((c) => !first.has(c.key)),
  ];
}

/** The value of a column in a row (undefined: nothing to show). */
export function cellValue(row: ExperimentRow, key: string): Cell | undefined {
  if (key.startsWith('param:')) {
    const k = key.slice(6);
    return k in row.params ? row.params[k] : undefined;
  }
  if (key.startsWith('metric:')) return row.metrics[key.slice(7) as keyof RunMetrics];
  switch (key) {
    case 'name':
    case 'spec':
    case 'status':
    case 'startedAt':
    case 'notes':
      return row[key];
    case 'durationSec':
    case 'epochsDone':
      return row[key];
    default:
      return undefined;
  }
}

const canonical = (v: Cell | undefined): string => (v === undefined ? '\u0000missing' : JSON.stringify(v));

/** The hyperparameter keys whose value is not the same in every row (a field only some runs have differs). */
export function differingParams(rows: readonly ExperimentRow[], keys: readonly string[]): Set<string> {
  const out = new Set<string>();
  if (rows.length < 2) return out;
  for (const k of keys) {
    const first = canonical(rows[0].params[k]);
    if (rows.some((r) => canonical(r.params[k]) !== first)) out.add(k);
  }
  return out;
}

/** Orders two cells: nothing last, numbers by value, text in natural order (`run 2` before `run 10`). */
export function compareCells(a: Cell | undefined, b: Cell | undefined): number {
  const empty = (v: Cell | undefined) => v === undefined || v === null || v === '';
  if (empty(a) || empty(b)) return empty(a) === empty(b) ? 0 : empty(a) ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true, sensitivity: 'base' });
}

export type SortDirection = 'asc' | 'desc';

/** `rows` sorted by a column (empty cells last either way), ties newest first; a new array. */
export function sortRows(rows: readonly ExperimentRow[], key: string, direction: SortDirection): ExperimentRow[] {
  const sign = direction === 'asc' ? 1 : -1;
  return [...rows].sort((x, y) => {
    const a = cellValue(x, key);
    const b = cellValue(y, key);
    const emptyA = a === undefined || a === null || a === '';
    const emptyB = b === undefined || b === null || b === '';
    if (emptyA !== emptyB) return emptyA ? 1 : -1;
    return sign * compareCells(a, b) || y.startedAt.localeCompare(x.startedAt);
  });
}

/** A metrics.jsonl record as far as the table reads it (every field is checked before use). */
export type MetricsLine = Record<string, unknown>;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The last epoch's train and validation figures, and the best validation accuracy with its epoch. */
export function summarizeMetrics(records: readonly MetricsLine[]): RunMetrics {
  const out: RunMetrics = {};
  let lastEpoch = -Infinity;
  // A multi-label or segmentation run's best checkpoint is the epoch of its best mean AUROC or mean IoU.
  let bestTaskFigure: number | undefined;
  let bestTaskEpoch: number | undefined;
  for (const r of records) {
    if (r.kind !== 'epoch') continue;
    const epoch = num(r.epoch);
    if (epoch === undefined) continue;
    const valAcc = num(r.val_acc);
    if (valAcc !== undefined && (out.bestValAcc === undefined || valAcc > out.bestValAcc)) {
      out.bestValAcc = valAcc;
      out.bestEpoch = epoch;
    }
    const taskFigure = num(r.val_mean_auroc) ?? num(r.val_mean_iou);
    if (taskFigure !== undefined && (bestTaskFigure === undefined || taskFigure > bestTaskFigure)) {
      bestTaskFigure = taskFigure;
      bestTaskEpoch = epoch;
    }
    if (epoch < lastEpoch) continue;
    lastEpoch = epoch;
    out.trainLoss = num(r.loss);
    out.trainAcc = num(r.acc);
    out.valLoss = num(r.val_loss);
    out.valAcc = valAcc;
    out.valMeanAuroc = num(r.val_mean_auroc);
    out.valMeanIou = num(r.val_mean_iou);
  }
  if (bestTaskEpoch !== undefined) out.bestEpoch = bestTaskEpoch;
  for (const k of Object.keys(out) as (keyof RunMetrics)[]) if (out[k] === undefined) delete out[k];
  return out;
}

export type XAxis = 'step' | 'epoch' | 'time';

/** One point of a run's curves as the charts get it: `t` is seconds since the run's first record. */
export interface CurvePoint {
  kind: 'batch' | 'epoch';
  epoch: number;
  step: number;
  t: number;
  loss?: number;
  acc?: number;
  valLoss?: number;
  valAcc?: number;
}

/** Batches per epoch of a run: from its first epoch record (global step at its end / epoch), else undefined. */
export function stepsPerEpoch(points: readonly CurvePoint[]): number | undefined {
  const e = points.find((p) => p.kind === 'epoch' && p.epoch > 0 && p.step > 0);
  return e ? e.step / e.epoch : undefined;
}

/**
 * The x of a point: its global step; its epoch (a batch at a fraction of its epoch: step / steps per epoch, an
 * epoch's end at its number); or seconds since the run's first record.
 */
export function curveX(p: CurvePoint, axis: XAxis, perEpoch: number | undefined): number {
  if (axis === 'step') return p.step;
  if (axis === 'time') return p.t;
  if (p.kind === 'epoch' || !perEpoch) return p.epoch;
  return p.step / perEpoch;
}

/** A CSV field (RFC 4180): quoted when it holds a comma, quote or line break; text a spreadsheet would run as a formula gets a leading `'`. */
export function csvField(v: Cell | undefined): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  let s = String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The table as CSV: a header of column labels, one line per row, CRLF line ends. */
export function toCsv(columns: readonly Pick<Column, 'key' | 'label'>[], rows: readonly ExperimentRow[]): string {
  const header = columns.map((c) => csvField(c.key.startsWith('param:') ? c.key.slice(6) : c.label));
  const lines = rows.map((r) => columns.map((c) => csvField(cellValue(r, c.key))).join(','));
  return [header.join(','), ...lines].join('\r\n') + '\r\n';
}
