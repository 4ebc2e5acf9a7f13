/**
 * Metrics of the tasks beyond single-label classification, pure (no tfjs, no vscode, no Node APIs):
 *
 * - multi-label: per label AUROC, average precision, precision/recall/F1 at a threshold, and the threshold
 *   that maximises F1 (tuned on the validation set); means over labels, exact-match and per-decision accuracy;
 * - segmentation: a confusion matrix over labelled pixels (rows true class, columns predicted) accumulated batch
 *   by batch, and per-class IoU and accuracy, mean IoU and pixel accuracy from it.
 *
 * The definitions are scikit-learn's (roc_auc_score, average_precision_score, f1_score with zero_division=0,
 * jaccard_score, accuracy_score), so that figures can be compared with a Python training of the same data;
 * test/metrics/taskMetrics.test.ts checks them against scikit-learn on random cases.
 *
 * A metric that the data cannot define (AUROC of a label with no negative example, IoU of a class absent from
 * both truth and prediction) is `undefined`, never 0: a 0 would drag the means down for a reason that is not
 * the model's. The means skip undefined entries.
 */

/** Scores (probabilities) and 0/1 targets of one label, same length. */
type Scores = ArrayLike<number>;
type Targets = ArrayLike<number>;

/** The default decision threshold of a sigmoid output. */
export const DEFAULT_THRESHOLD = 0.5;

/** Indices of `scores` sorted by decreasing score (stable: equal scores keep their order). */
function byDecreasingScore(scores: Scores): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i);
  return order.sort((a, b) => scores[b] - scores[a] || a - b);
}

function checkLengths(scores: Scores, targets: Targets): void {
  if (scores.length !== targets.length)
    throw new Error(`scores has ${scores.length} values and targets ${targets.length}: pass one target per score`);
}

/** Number of positive (non-zero) targets. */
function countPositives(targets: Targets): number {
  let p = 0;
  for (let i = 0; i < targets.length; i++) if (targets[i]) p++;
  return p;
}

/**
 * Area under the ROC curve as scikit-learn's roc_auc_score: the Mann–Whitney U statistic with average ranks
 * for tied scores, which equals the trapezoid area under the ROC curve (a tie between a positive and a negative
 * counts one half). Undefined when the label has no positive or no negative example.
 */
export function auroc(scores: Scores, targets: Targets): number | undefined {
  checkLengths(scores, targets);
  const n = scores.length;
  const positives = countPositives(targets);
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return undefined;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  // Sum of the (1-based, tie-averaged) ranks of the positives: integers and halves, exact in doubles.
  let rankSum = 0;
  for (let start = 0; start < n;) {
    let end = start;
    while (end + 1 < n && scores[order[end + 1]] === scores[order[start]]) end++;
    const averageRank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) if (targets[order[k]]) rankSum += averageRank;
    start = end + 1;
  }
  const u = rankSum - (positives * (positives + 1)) / 2;
  return u / (positives * negatives);
}

/**
 * Average precision as scikit-learn's average_precision_score: Σ (R_n − R_{n−1}) · P_n over the distinct scores
 * taken as thresholds (predicted positive when score >= threshold), from the highest down. No interpolation.
 * Undefined when the label has no positive example (recall is then undefined).
 */
export function averagePrecision(scores: Scores, targets: Targets): number | undefined {
  checkLengths(scores, targets);
  const positives = countPositives(targets);
  if (positives === 0) return undefined;
  const order = byDecreasingScore(scores);
  let tp = 0;
  let fp = 0;
  let previousRecall = 0;
  let ap = 0;
  for (let k = 0; k < order.length;) {
    const threshold = scores[order[k]];
    while (k < order.length && scores[order[k]] === threshold) {
      if (targets[order[k]]) tp++;
      else fp++;
      k++;
    }
    const recall = tp / positives;
    ap += (recall - previousRecall) * (tp / (tp + fp));
    previousRecall = recall;
  }
  return ap;
}

/** Decisions of one label at a threshold. */
export interface ThresholdCounts {
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  trueNegatives: number;
}

/** Precision, recall and F1 of one label at a threshold. */
export interface ThresholdMetrics extends ThresholdCounts {
  threshold: number;
  /** TP / (TP + FP); 0 when nothing is predicted positive (scikit-learn's zero_division=0). */
  precision: number;
  /** TP / (TP + FN); 0 when the label has no positive example (zero_division=0). */
  recall: number;
  /** 2·TP / (2·TP + FP + FN); 0 when that is 0/0 (zero_division=0). */
  f1: number;
}

/** F1 from counts; 0 when there is neither a positive nor a positive prediction. */
function f1Of(tp: number, fp: number, fn: number): number {
  const d = 2 * tp + fp + fn;
  return d === 0 ? 0 : (2 * tp) / d;
}

/** Precision, recall and F1 when a score >= `threshold` is a positive prediction. */
export function thresholdMetrics(scores: Scores, targets: Targets, threshold = DEFAULT_THRESHOLD): ThresholdMetrics {
  checkLengths(scores, targets);
  const c: ThresholdCounts = { truePositives: 0, falsePositives: 0, falseNegatives: 0, trueNegatives: 0 };
  for (let i = 0; i < scores.length; i++) {
    const predicted = scores[i] >= threshold;
    if (targets[i]) {
      if (predicted) c.truePositives++;
      else c.falseNegatives++;
    } else if (predicted) c.falsePositives++;
    else c.trueNegatives++;
  }
  const predictedPositives = c.truePositives + c.falsePositives;
  const positives = c.truePositives + c.falseNegatives;
  return {
    threshold,
    ...c,
    precision: predictedPositives === 0 ? 0 : c.truePositives / predictedPositives,
    recall: positives === 0 ? 0 : c.truePositives / positives,
    f1: f1Of(c.truePositives, c.falsePositives, c.falseNegatives),
  };
}

/** The threshold of best F1 of one label, and that F1. */
export interface BestThreshold {
  threshold: number;
  f1: number;
}

/**
 * The threshold among the distinct scores that maximises F1 (score >= threshold is positive), for tuning the
 * decision thresholds on the validation set. Ties of F1 go to the lowest such threshold (the one with the
 * highest recall). A label without a positive example has F1 0 at every threshold: it keeps the default 0.5,
 * as does an empty label.
 */
export function bestF1Threshold(scores: Scores, targets: Targets): BestThreshold {
  checkLengths(scores, targets);
  const positives = countPositives(targets);
  if (positives === 0) return { threshold: DEFAULT_THRESHOLD, f1: 0 };
  const order = byDecreasingScore(scores);
  let tp = 0;
  let fp = 0;
  let best: BestThreshold = { threshold: DEFAULT_THRESHOLD, f1: -1 };
  for (let k = 0; k < order.length;) {
    const threshold = scores[order[k]];
    while (k < order.length && scores[order[k]] === threshold) {
      if (targets[order[k]]) tp++;
      else fp++;
      k++;
    }
    // Thresholds come from the highest down, so `>=` moves a tie to the lower threshold.
    const f1 = f1Of(tp, fp, positives - tp);
    if (f1 >= best.f1) best = { threshold, f1 };
  }
  return best;
}

/** Checks the shapes of a multi-label batch: n·L probabilities and 0/1 targets, example-major. */
function checkMultilabel(probs: Float32Array, targets: Int32Array | Uint8Array, n: number, labels: number): void {
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(labels) || labels < 1)
    throw new Error(`n is ${n} and labels ${labels}: pass a whole number of examples and at least one label`);
  if (probs.length !== n * labels || targets.length !== n * labels)
    throw new Error(
      `probabilities have ${probs.length} values and targets ${targets.length}, not n·labels = ${n}·${labels} = ` +
        `${n * labels}: pass one value per example and label, example-major`,
    );
  for (let i = 0; i < targets.length; i++)
    if (targets[i] !== 0 && targets[i] !== 1)
      throw new Error(
        `target ${i} (example ${Math.floor(i / labels)}, label ${i % labels}) is ${targets[i]}: targets are 0 or 1`,
      );
}

/** Column `label` of an example-major n×L array. */
function column<T extends Float32Array | Int32Array | Uint8Array>(
  values: T,
  n: number,
  labels: number,
  label: number,
): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = values[i * labels + label];
  return out;
}

/** Mean of the defined values; undefined when none is. */
function meanDefined(values: readonly (number | undefined)[]): number | undefined {
  const defined = values.filter((v): v is number => v !== undefined);
  return defined.length === 0 ? undefined : defined.reduce((a, b) => a + b, 0) / defined.length;
}

/** One label's figures in a multi-label report. */
export interface LabelMetrics extends ThresholdMetrics {
  /** Undefined when the label has no positive or no negative example. */
  auroc: number | undefined;
  /** Undefined when the label has no positive example. */
  averagePrecision: number | undefined;
  /** Examples where the label is present. */
  positives: number;
}

/** The metrics of a multi-label evaluation. */
export interface MultilabelReport {
  examples: number;
  labels: LabelMetrics[];
  /** Mean AUROC over the labels where it is defined; undefined when it is defined for none. */
  meanAuroc: number | undefined;
  /** Mean average precision over the labels where it is defined; undefined when none has a positive. */
  meanAveragePrecision: number | undefined;
  /** Unweighted mean of the labels' F1 at their thresholds (scikit-learn's f1_score average='macro'). */
  macroF1: number;
  /** Fraction of examples whose every label decision is right (scikit-learn's accuracy_score); NaN if n = 0. */
  exactMatch: number;
  /** Fraction of the n·L label decisions that are right (1 − Hamming loss); NaN if n = 0. */
  decisionAccuracy: number;
}

/**
 * The multi-label metrics of `probs` (sigmoid outputs, n·L values, example-major) against `targets` (0/1, same
 * layout), deciding each label at its threshold (score >= threshold is positive; default 0.5 for every label).
 */
export function multilabelReport(
  probs: Float32Array,
  targets: Int32Array | Uint8Array,
  n: number,
  labels: number,
  thresholds?: ArrayLike<number>,
): MultilabelReport {
  checkMultilabel(probs, targets, n, labels);
  if (thresholds && thresholds.length !== labels)
    throw new Error(`${thresholds.length} thresholds for ${labels} labels: pass one threshold per label`);
  const perLabel: LabelMetrics[] = [];
  for (let j = 0; j < labels; j++) {
    const s = column(probs, n, labels, j);
    const t = column(targets, n, labels, j);
    perLabel.push({
      ...thresholdMetrics(s, t, thresholds ? thresholds[j] : DEFAULT_THRESHOLD),
      auroc: auroc(s, t),
      averagePrecision: averagePrecision(s, t),
      positives: countPositives(t),
    });
  }
  let exact = 0;
  let right = 0;
  for (let i = 0; i < n; i++) {
    let all = true;
    for (let j = 0; j < labels; j++) {
      const predicted = probs[i * labels + j] >= perLabel[j].threshold ? 1 : 0;
      if (predicted === targets[i * labels + j]) right++;
      else all = false;
    }
    if (all) exact++;
  }
  return {
    examples: n,
    labels: perLabel,
    meanAuroc: meanDefined(perLabel.map((l) => l.auroc)),
    meanAveragePrecision: meanDefined(perLabel.map((l) => l.averagePrecision)),
    macroF1: perLabel.reduce((a, l) => a + l.f1, 0) / labels,
    exactMatch: exact / n,
    decisionAccuracy: right / (n * labels),
  };
}

/** Per label, the threshold of best F1 (bestF1Threshold) on these probabilities: tune on the validation set. */
export function tuneThresholds(
  probs: Float32Array,
  targets: Int32Array | Uint8Array,
  n: number,
  labels: number,
): number[] {
  checkMultilabel(probs, targets, n, labels);
  return Array.from(
    { length: labels },
    (_, j) => bestF1Threshold(column(probs, n, labels, j), column(targets, n, labels, j)).threshold,
  );
}

/** Label of a pixel that counts in no metric (unlabelled, void). */
export const IGNORED_PIXEL = -1;

/**
 * A segmentation confusion matrix over the labelled pixels: `counts[t * classes + p]` pixels of true class t
 * predicted p. Add batches with `add`; read the metrics with `segmentationReport(confusion.counts, classes)`.
 */
export class SegmentationConfusion {
  readonly counts: Float64Array;

  constructor(readonly classes: number) {
    if (!Number.isInteger(classes) || classes < 1)
      throw new Error(`classes is ${classes}: a segmentation has a whole number of classes, at least 1`);
    this.counts = new Float64Array(classes * classes);
  }

  /** Adds a batch of pixels: truth -1 is ignored (skipped); other values are class indices 0..classes-1. */
  add(truth: Int32Array, predicted: Int32Array): void {
    if (truth.length !== predicted.length)
      throw new Error(
        `truth has ${truth.length} pixels and prediction ${predicted.length}: pass one prediction per pixel`,
      );
    const c = this.classes;
    for (let i = 0; i < truth.length; i++) {
      const t = truth[i];
      if (t === IGNORED_PIXEL) continue;
      const p = predicted[i];
      if (t < 0 || t >= c || p < 0 || p >= c)
        throw new Error(
          `pixel ${i} is true ${t}, predicted ${p}: classes are 0..${c - 1} (mark unlabelled pixels ${IGNORED_PIXEL} ` +
            `in the truth)`,
        );
      this.counts[t * c + p]++;
    }
  }

  report(): SegmentationReport {
    return segmentationReport(this.counts, this.classes);
  }
}

/** One class's figures in a segmentation report. */
export interface ClassSegmentationMetrics {
  /** TP / (TP + FP + FN); undefined when the class is absent from both truth and prediction. */
  iou: number | undefined;
  /** TP / (TP + FN), the class's recall; undefined when the class is absent from the truth. */
  accuracy: number | undefined;
  /** Labelled pixels of this class. */
  truePixels: number;
  /** Labelled pixels predicted as this class. */
  predictedPixels: number;
}

/** The metrics of a segmentation evaluation. */
export interface SegmentationReport {
  classes: ClassSegmentationMetrics[];
  /** Mean IoU over the classes where it is defined; undefined when no pixel was counted. */
  meanIou: number | undefined;
  /** Mean of the per-class accuracies where defined; undefined when no pixel was counted. */
  meanClassAccuracy: number | undefined;
  /** Fraction of the labelled pixels predicted right; NaN when no pixel was counted. */
  pixelAccuracy: number;
  /** Labelled pixels counted. */
  pixels: number;
}

/** Per-class IoU and accuracy, mean IoU and pixel accuracy of a confusion matrix (rows true, columns predicted). */
export function segmentationReport(counts: ArrayLike<number>, classes: number): SegmentationReport {
  if (counts.length !== classes * classes)
    throw new Error(`the confusion matrix has ${counts.length} cells, not classes² = ${classes * classes}`);
  const truePixels = new Array<number>(classes).fill(0);
  const predictedPixels = new Array<number>(classes).fill(0);
  let total = 0;
  let correct = 0;
  for (let t = 0; t < classes; t++)
    for (let p = 0; p < classes; p++) {
      const v = counts[t * classes + p];
      truePixels[t] += v;
      predictedPixels[p] += v;
      total += v;
      if (t === p) correct += v;
    }
  const perClass = truePixels.map((truth, k): ClassSegmentationMetrics => {
    const tp = counts[k * classes + k];
    const union = truth + predictedPixels[k] - tp;
    return {
      iou: union === 0 ? undefined : tp / union,
      accuracy: truth === 0 ? undefined : tp / truth,
      truePixels: truth,
      predictedPixels: predictedPixels[k],
    };
  });
  return {
    classes: perClass,
    meanIou: meanDefined(perClass.map((c) => c.iou)),
    meanClassAccuracy: meanDefined(perClass.map((c) => c.accuracy)),
    pixelAccuracy: correct / total,
    pixels: total,
  };
}
