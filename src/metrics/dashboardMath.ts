/** Pure helpers of the training dashboard: smoothing, per-class metrics, downsampling, time formatting. */

/**
 * Exponential moving average as TensorBoard draws it, debiased so the first values are not pulled to 0.
 * `smoothing` in [0, 1): 0 returns the values, 0.99 is very smooth. Non-finite values are passed through.
 */
export function ema(values: readonly number[], smoothing: number): number[] {
  const w = Math.min(Math.max(smoothing, 0), 0.999);
  let last = 0;
  let n = 0;
  return values.map((v) => {
    if (!Number.isFinite(v)) return v;
    last = last * w + (1 - w) * v;
    n++;
    const debias = 1 - Math.pow(w, n);
    return debias > 0 ? last / debias : v;
  });
}

/** Streaming form of `ema` (one value at a time), for live points. */
export class Ema {
  private last = 0;
  private n = 0;
  constructor(public smoothing: number) {}
  reset(smoothing = this.smoothing): void {
    this.smoothing = smoothing;
    this.last = 0;
    this.n = 0;
  }
  push(v: number): number {
    if (!Number.isFinite(v)) return v;
    const w = Math.min(Math.max(this.smoothing, 0), 0.999);
    this.last = this.last * w + (1 - w) * v;
    this.n++;
    const debias = 1 - Math.pow(w, this.n);
    return debias > 0 ? this.last / debias : v;
  }
}

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  /** True examples of the class (row sum). */
  support: number;
}

/**
 * Per-class precision, recall and F1 from `confusion[true][predicted]`. A class never predicted has precision
 * NaN (0/0), a class without examples recall NaN; F1 is NaN when either is.
 */
export function perClassMetrics(confusion: readonly (readonly number[])[]): ClassMetrics[] {
  const n = confusion.length;
  const colSums = new Array<number>(n).fill(0);
  for (const row of confusion) for (let j = 0; j < n; j++) colSums[j] += row[j] ?? 0;
  return confusion.map((row, i) => {
    const tp = row[i] ?? 0;
    const support = row.reduce((a, b) => a + b, 0);
    const precision = colSums[i] > 0 ? tp / colSums[i] : NaN;
    const recall = support > 0 ? tp / support : NaN;
    const f1 =
      Number.isNaN(precision) || Number.isNaN(recall)
        ? NaN
        : precision + recall > 0
          ? (2 * precision * recall) / (precision + recall)
          : 0;
    return { precision, recall, f1, support };
  });
}

/** Overall accuracy of a confusion matrix (trace / total), NaN when empty. */
export function confusionAccuracy(confusion: readonly (readonly number[])[]): number {
  let total = 0;
  let correct = 0;
  confusion.forEach((row, i) =>
    row.forEach((v, j) => {
      total += v;
      if (i === j) correct += v;
    }),
  );
  return total > 0 ? correct / total : NaN;
}

/** Keeps at most `max` items, evenly spaced, always keeping the first and the last. */
export function downsample<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max || max < 2) return items.slice();
  const out: T[] = [];
  const stride = (items.length - 1) / (max - 1);
  for (let i = 0; i < max; i++) out.push(items[Math.round(i * stride)]);
  return out;
}

/** `42s`, `3m 05s`, `1h 02m`; `–` for unknown. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The validation figures of an epoch a task is judged by, as a log line shows them. */
export interface ValidationFigures {
  valAccuracy?: number;
  multilabel?: { meanAuroc: number | null };
  segmentation?: { meanIou: number | null; pixelAccuracy: number | null };
}

/**
 * An epoch's validation headline: accuracy for one class per image, mean AUROC for multi-label, mean IoU and
 * pixel accuracy for segmentation (the pixel accuracy alone flatters a mostly-background mask).
 */
export function validationHeadline(m: ValidationFigures): string {
  const pct = (v: number | null | undefined) => (v === null || v === undefined ? '–' : `${(v * 100).toFixed(2)}%`);
  if (m.multilabel)
    return `val mean AUROC ${m.multilabel.meanAuroc === null ? '–' : m.multilabel.meanAuroc.toFixed(4)}`;
  if (m.segmentation)
    return `val mean IoU ${pct(m.segmentation.meanIou)} · val pixel acc ${pct(m.segmentation.pixelAccuracy)}`;
  return `val acc ${pct(m.valAccuracy)}`;
}
