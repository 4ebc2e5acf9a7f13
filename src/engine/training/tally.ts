/**
 * The tally of an evaluation: batches of predictions added as they come, the task's figures at the end.
 * Classification: loss, accuracy and the confusion matrix of the examples. Multi-label: loss, the accuracy of the
 * label decisions, and per label AUROC, average precision and F1 (at thresholds given, or tuned for the best F1 on
 * these examples: validation), with their means. Segmentation: loss, pixel accuracy, the confusion matrix of the
 * labelled pixels and per-class IoU with its mean. The figures themselves come from src/metrics/taskMetrics.ts.
 */
import { multilabelReport, SegmentationConfusion, tuneThresholds } from '../../metrics/taskMetrics';
import type { MultilabelScores, SegmentationScores } from '../../protocol/evaluation';
import type { Objective, Predictions } from './objective';

/** Loss, accuracy, confusion matrix (rows: true class, columns: predicted) and the task's figures. */
export interface Evaluation {
  loss: number;
  /** Of the examples (classification), the label decisions (multilabel) or the labelled pixels (segmentation). */
  accuracy: number;
  /** Classification: of the examples; segmentation: of the labelled pixels; multilabel: empty. */
  confusion: number[][];
  examples: number;
  multilabel?: MultilabelScores;
  segmentation?: SegmentationScores;
}

/** The inference of a batch: its mean loss, the weight it is a mean over, and its predictions. */
export interface BatchScore extends Predictions {
  loss: number;
  weight: number;
}

/** How a multi-label tally decides: at these thresholds (one per label), or at the thresholds of the best F1. */
export type Thresholds = readonly number[] | 'tune';

export class EvaluationTally {
  private readonly confusion: number[][];
  private readonly pixels?: SegmentationConfusion;
  private readonly scores: Float32Array[] = [];
  private readonly targets: Int32Array[] = [];
  private lossSum = 0;
  private weightSum = 0;
  private n = 0;
  private correct = 0;
  private decisions = 0;

  private readonly o: Objective;

  /** `objective`: the task's, or the classes of a classification. */
  constructor(
    objective: Objective | number,
    private readonly thresholds: Thresholds = 'tune',
  ) {
    const o = typeof objective === 'number' ? { task: 'classification' as const, classes: objective } : objective;
    this.o = o;
    const square = o.task === 'multilabel' ? 0 : o.classes;
    this.confusion = Array.from({ length: square }, () => new Array<number>(o.classes).fill(0));
    if (o.task === 'segmentation') this.pixels = new SegmentationConfusion(o.classes);
  }

  /** The `size` examples of a batch (or shard) with targets `y` (as Batch.y) and their inference `s`. */
  add(y: Int32Array, size: number, s: BatchScore): void {
    const { task, classes } = this.o;
    if (task === 'classification') {
      for (let i = 0; i < size; i++) {
        this.confusion[y[i]][s.predicted[i]]++;
        if (y[i] === s.predicted[i]) this.correct++;
      }
      this.decisions += size;
    } else if (task === 'multilabel') {
      const t = y.slice(0, size * classes);
      for (let k = 0; k < t.length; k++) if (t[k] === s.predicted[k]) this.correct++;
      this.decisions += t.length;
      this.targets.push(t);
      this.scores.push((s.scores as Float32Array).slice(0, t.length));
    } else {
      const pixels = this.pixels as SegmentationConfusion;
      pixels.add(y.subarray(0, s.predicted.length), s.predicted);
    }
    this.lossSum += s.loss * s.weight;
    this.weightSum += s.weight;
    this.n += size;
  }

  result(): Evaluation {
    const base = { loss: this.weightSum > 0 ? this.lossSum / this.weightSum : NaN, examples: this.n };
    if (this.o.task === 'segmentation') {
      const pixels = this.pixels as SegmentationConfusion;
      const r = pixels.report();
      const c = this.o.classes;
      const segmentation: SegmentationScores = {
        classes: r.classes.map((k, i) => ({
          class: String(i),
          iou: k.iou ?? null,
          accuracy: k.accuracy ?? null,
          pixels: k.truePixels,
        })),
        meanIou: r.meanIou ?? null,
        pixelAccuracy: Number.isFinite(r.pixelAccuracy) ? r.pixelAccuracy : null,
      };
      const confusion = Array.from({ length: c }, (_, t) => Array.from(pixels.counts.subarray(t * c, (t + 1) * c)));
      return { ...base, accuracy: r.pixelAccuracy, confusion, segmentation };
    }
    if (this.o.task === 'classification')
      return { ...base, accuracy: this.decisions ? this.correct / this.decisions : NaN, confusion: this.confusion };
    const probs = concat(this.scores, Float32Array);
    const targets = concat(this.targets, Int32Array);
    const L = this.o.classes;
    const thresholds = this.thresholds === 'tune' ? tuneThresholds(probs, targets, this.n, L) : this.thresholds;
    const r = multilabelReport(probs, targets, this.n, L, thresholds);
    const multilabel: MultilabelScores = {
      labels: r.labels.map((l, j) => ({
        label: String(j),
        auroc: l.auroc ?? null,
        averagePrecision: l.averagePrecision ?? null,
        threshold: l.threshold,
        precision: l.precision,
        recall: l.recall,
        f1: l.f1,
        positives: l.positives,
      })),
      meanAuroc: r.meanAuroc ?? null,
      meanAveragePrecision: r.meanAveragePrecision ?? null,
      meanF1: Number.isFinite(r.macroF1) ? r.macroF1 : null,
      thresholds: this.thresholds === 'tune' ? 'tuned' : 'given',
    };
    return {
      ...base,
      accuracy: this.decisions ? this.correct / this.decisions : NaN,
      confusion: this.confusion,
      multilabel,
    };
  }
}

function concat<T extends Float32Array | Int32Array>(parts: T[], Kind: { new (n: number): T }): T {
  const out = new Kind(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p as never, at);
    at += p.length;
  }
  return out;
}

/** `e` with its labels and classes named (the tally numbers them). */
export function namedEvaluation(e: Evaluation, names: readonly string[]): Evaluation {
  const name = (i: number) => names[i] ?? String(i);
  return {
    ...e,
    ...(e.multilabel
      ? { multilabel: { ...e.multilabel, labels: e.multilabel.labels.map((l, j) => ({ ...l, label: name(j) })) } }
      : {}),
    ...(e.segmentation
      ? {
          segmentation: {
            ...e.segmentation,
            classes: e.segmentation.classes.map((c, k) => ({ ...c, class: name(k) })),
          },
        }
      : {}),
  };
}
