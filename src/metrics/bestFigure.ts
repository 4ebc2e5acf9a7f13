/**
 * The figure a run's best checkpoint was chosen by, as the runs lists, the dashboard and the CLI show it: validation
 * accuracy for one class per image, mean AUROC for multi-label, mean IoU for segmentation. Pure.
 */

/** What run.json (or a run summary) records of the best epoch. */
export interface BestFigureSource {
  bestValAccuracy?: number;
  bestMonitor?: string;
  bestValue?: number;
}

export interface BestFigure {
  /** `val acc`, `val mean AUROC`, `val mean IoU`. */
  label: string;
  /** The value as shown: `97.50%`, `0.9979`. */
  text: string;
  value: number;
}

const LABELS: Record<string, string> = {
  val_accuracy: 'val acc',
  val_mean_auroc: 'val mean AUROC',
  val_mean_iou: 'val mean IoU',
  val_loss: 'val loss',
};

/**
 * The best figure of a run, or undefined when it has none (no validation data, no epoch yet). Runs written before
 * run.json named the monitor have only bestValAccuracy. `digits`: decimals of a percentage.
 */
export function bestFigure(r: BestFigureSource, digits = 2): BestFigure | undefined {
  const monitor = r.bestMonitor ?? (r.bestValAccuracy !== undefined ? 'val_accuracy' : undefined);
  const value = r.bestValue ?? r.bestValAccuracy;
  if (monitor === undefined || value === undefined || !Number.isFinite(value)) return undefined;
  const label = LABELS[monitor] ?? monitor.replace(/_/g, ' ');
  const text =
    monitor === 'val_mean_auroc' || monitor.endsWith('loss') ? value.toFixed(4) : `${(value * 100).toFixed(digits)}%`;
  return { label, text, value };
}

/** `best val mean IoU 85.00%` (or `` without a figure). */
export function bestFigureText(r: BestFigureSource, digits = 2): string {
  const f = bestFigure(r, digits);
  return f ? `best ${f.label} ${f.text}` : '';
}
