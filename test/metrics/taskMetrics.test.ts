import * as assert from 'assert';
import fc from 'fast-check';
import {
  SegmentationConfusion,
  auroc,
  averagePrecision,
  bestF1Threshold,
  multilabelReport,
  segmentationReport,
  thresholdMetrics,
  tuneThresholds,
} from '../../src/metrics/taskMetrics';
import { requirePython, runPython } from '../support/pythonReference';

const close = (actual: number | undefined, expected: number, tol = 1e-12, what = '') =>
  assert.ok(
    actual !== undefined && Math.abs(actual - expected) <= tol,
    `${what}: ${actual} is not ${expected} (±${tol})`,
  );

describe('metrics/taskMetrics: multi-label', () => {
  it('AUROC counts a positive–negative tie as one half (Mann–Whitney U with average ranks)', () => {
    // Positives 0.8, 0.4; negatives 0.4, 0.1: pairs (0.8>0.4, 0.8>0.1, 0.4=0.4, 0.4>0.1) = 3.5 of 4.
    close(auroc([0.8, 0.4, 0.4, 0.1], [1, 1, 0, 0]), 3.5 / 4);
    // All tied: 0.5 whatever the labels.
    close(auroc([0.3, 0.3, 0.3], [1, 0, 1]), 0.5);
    close(auroc([0.1, 0.35, 0.4, 0.8], [0, 1, 0, 1]), 0.75); // scikit-learn's documented example
  });

  it('AUROC is undefined for a label with no positive or no negative example', () => {
    assert.strictEqual(auroc([0.1, 0.9], [0, 0]), undefined);
    assert.strictEqual(auroc([0.1, 0.9], [1, 1]), undefined);
    assert.strictEqual(auroc([], []), undefined);
    assert.throws(() => auroc([0.1], [1, 0]), /scores has 1 values and targets 2/);
  });

  it('average precision sums (R_n − R_{n−1})·P_n over the distinct scores, without interpolation', () => {
    // scikit-learn's documented example: 0.8333...
    close(averagePrecision([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 5 / 6);
    // Scores 0.9 (1), 0.7 (0), 0.7 (1), 0.2 (1): thresholds 0.9 → R 1/3 P 1; 0.7 → R 2/3 P 2/3; 0.2 → R 1 P 3/4.
    close(averagePrecision([0.9, 0.7, 0.7, 0.2], [1, 0, 1, 1]), 1 / 3 + (1 / 3) * (2 / 3) + (1 / 3) * (3 / 4));
    assert.strictEqual(averagePrecision([0.3, 0.6], [0, 0]), undefined);
    close(averagePrecision([0.3, 0.6], [1, 1]), 1);
  });

  it('precision, recall and F1 at a threshold: score >= threshold is positive, 0/0 is 0', () => {
    const m = thresholdMetrics([0.9, 0.5, 0.4, 0.2], [1, 0, 1, 0], 0.5);
    assert.deepStrictEqual(
      [m.truePositives, m.falsePositives, m.falseNegatives, m.trueNegatives],
      [1, 1, 1, 1],
      'the 0.5 score is at the threshold, so positive',
    );
    close(m.precision, 0.5);
    close(m.recall, 0.5);
    close(m.f1, 0.5);
    const none = thresholdMetrics([0.1, 0.2], [0, 0], 0.5);
    assert.deepStrictEqual([none.precision, none.recall, none.f1], [0, 0, 0]);
  });

  it('best-F1 threshold: among the distinct scores, ties to the lower; no positive keeps 0.5', () => {
    // Threshold 0.8: F1 2/3 (tp 1, fn 1); 0.6: tp 1 fp 1 fn 1 → 1/2; 0.3: tp 2 fp 1 → 4/5; 0.1: tp 2 fp 2 → 2/3.
    assert.deepStrictEqual(bestF1Threshold([0.8, 0.6, 0.3, 0.1], [1, 0, 1, 0]), { threshold: 0.3, f1: 0.8 });
    // 0.9 → tp 1 fn 1: 2/3; 0.5 → tp 1 fp 1 fn 1: 1/2; 0.2 → tp 2 fp 2: 2/3: the tie goes to 0.2.
    assert.deepStrictEqual(bestF1Threshold([0.9, 0.5, 0.2, 0.2], [1, 0, 1, 0]), { threshold: 0.2, f1: 2 / 3 });
    assert.deepStrictEqual(bestF1Threshold([0.9, 0.1], [0, 0]), { threshold: 0.5, f1: 0 });
  });

  it('report: per label, means over defined labels, exact match and per-decision accuracy', () => {
    // 3 examples × 2 labels; label 1 is always present, so its AUROC is undefined.
    const probs = Float32Array.from([0.9, 0.8, 0.2, 0.3, 0.6, 0.7]);
    const targets = Uint8Array.from([1, 1, 0, 1, 0, 1]);
    const r = multilabelReport(probs, targets, 3, 2);
    assert.strictEqual(r.labels[0].auroc, 1);
    assert.strictEqual(r.labels[1].auroc, undefined);
    assert.strictEqual(r.meanAuroc, 1, 'label 1 is left out of the mean');
    close(r.meanAveragePrecision, 1);
    assert.deepStrictEqual(
      r.labels.map((l) => l.positives),
      [1, 3],
    );
    // Decisions at 0.5: (1,1) right, (0,0) vs (0,1) wrong on label 1, (1,1) vs (0,1) wrong on label 0.
    close(r.exactMatch, 1 / 3);
    close(r.decisionAccuracy, 4 / 6);
    close(r.labels[0].f1, 2 / 3);
    close(r.labels[1].f1, 0.8);
    close(r.macroF1, (2 / 3 + 0.8) / 2);
    const tuned = tuneThresholds(probs, targets, 3, 2);
    assert.strictEqual(tuned[0], Math.fround(0.9));
    assert.strictEqual(tuned[1], Math.fround(0.3), 'every example positive: the lowest score gives F1 1');
    const atTuned = multilabelReport(probs, targets, 3, 2, tuned);
    assert.strictEqual(atTuned.exactMatch, 1);
    assert.strictEqual(atTuned.macroF1, 1);
  });

  it('refuses shapes and targets that do not fit', () => {
    assert.throws(() => multilabelReport(new Float32Array(5), new Uint8Array(6), 3, 2), /not n·labels = 3·2 = 6/);
    assert.throws(() => multilabelReport(new Float32Array(2), Int32Array.from([0, 2]), 1, 2), /target 1 .* is 2/);
    assert.throws(() => multilabelReport(new Float32Array(2), new Uint8Array(2), 1, 2, [0.5]), /one threshold/);
  });
});

/** Scores of n examples with the first `positives` positive. */
const labelled = fc
  .array(fc.tuple(fc.double({ min: -5, max: 5, noNaN: true }), fc.boolean()), { minLength: 2, maxLength: 40 })
  .filter((xs) => xs.some(([, y]) => y) && xs.some(([, y]) => !y));

describe('metrics/taskMetrics: properties', () => {
  it('AUROC of perfectly separated scores is 1, reversed 0', () => {
    fc.assert(
      fc.property(labelled, (xs) => {
        const targets = xs.map(([, y]) => (y ? 1 : 0));
        const separated = xs.map(([s, y]) => (y ? 10 + Math.abs(s) : -10 - Math.abs(s)));
        assert.strictEqual(auroc(separated, targets), 1);
        assert.strictEqual(
          auroc(
            separated.map((s) => -s),
            targets,
          ),
          0,
        );
        assert.strictEqual(averagePrecision(separated, targets), 1);
      }),
    );
  });

  it('AUROC and AP are unchanged by a strictly increasing transform of the scores', () => {
    fc.assert(
      fc.property(labelled, (xs) => {
        const scores = xs.map(([s]) => Math.round(s * 2) / 2); // ties on purpose
        const targets = xs.map(([, y]) => (y ? 1 : 0));
        const squashed = scores.map((s) => 1 / (1 + Math.exp(-s)));
        const cubed = scores.map((s) => s * s * s + 3 * s);
        for (const t of [squashed, cubed]) {
          close(auroc(t, targets), auroc(scores, targets)!, 1e-12, 'AUROC');
          close(averagePrecision(t, targets), averagePrecision(scores, targets)!, 1e-12, 'AP');
        }
        // Flipping the labels and the scores together keeps AUROC.
        close(
          auroc(
            scores.map((s) => -s),
            targets.map((y) => 1 - y),
          ),
          auroc(scores, targets)!,
          1e-12,
          'AUROC symmetry',
        );
      }),
    );
  });

  it('AP is in (0, 1]; the best-F1 threshold beats the F1 at any score and reproduces its F1', () => {
    fc.assert(
      fc.property(labelled, fc.nat(39), (xs, pick) => {
        const scores = xs.map(([s]) => s);
        const targets = xs.map(([, y]) => (y ? 1 : 0));
        const ap = averagePrecision(scores, targets)!;
        assert.ok(ap > 0 && ap <= 1 + 1e-12, `AP ${ap}`);
        const best = bestF1Threshold(scores, targets);
        const other = thresholdMetrics(scores, targets, scores[pick % scores.length]).f1;
        assert.ok(best.f1 >= other, `best ${best.f1} < ${other}`);
        assert.strictEqual(thresholdMetrics(scores, targets, best.threshold).f1, best.f1);
      }),
    );
  });
});

describe('metrics/taskMetrics: segmentation', () => {
  it('IoU, accuracy, mean IoU and pixel accuracy of a hand-counted batch; -1 pixels are skipped', () => {
    const c = new SegmentationConfusion(3);
    c.add(Int32Array.from([0, 0, 1, 1, -1, 0]), Int32Array.from([0, 1, 1, 1, 2, 0]));
    c.add(Int32Array.from([1]), Int32Array.from([0]));
    assert.deepStrictEqual(Array.from(c.counts), [2, 1, 0, 1, 2, 0, 0, 0, 0]);
    const r = c.report();
    // Class 0: TP 2, FP 1, FN 1 → 1/2; class 1: TP 2, FP 1, FN 1 → 1/2; class 2 absent from both → undefined.
    assert.deepStrictEqual(
      r.classes.map((k) => k.iou),
      [0.5, 0.5, undefined],
    );
    assert.deepStrictEqual(
      r.classes.map((k) => k.accuracy),
      [2 / 3, 2 / 3, undefined],
    );
    assert.strictEqual(r.meanIou, 0.5);
    assert.strictEqual(r.pixelAccuracy, 4 / 6);
    assert.strictEqual(r.pixels, 6);
    // A class predicted but absent from the truth has IoU 0 and no accuracy.
    const spurious = segmentationReport([1, 1, 0, 0], 2);
    assert.deepStrictEqual(
      spurious.classes.map((k) => [k.iou, k.accuracy]),
      [
        [0.5, 0.5],
        [0, undefined],
      ],
    );
  });

  it('refuses classes out of range and batches of different sizes', () => {
    const c = new SegmentationConfusion(2);
    assert.throws(() => c.add(Int32Array.from([2]), Int32Array.from([0])), /classes are 0..1/);
    assert.throws(() => c.add(Int32Array.from([0]), Int32Array.from([-1])), /predicted -1/);
    assert.throws(() => c.add(Int32Array.from([0, 1]), Int32Array.from([0])), /one prediction per pixel/);
    assert.throws(() => segmentationReport([1, 2, 3], 2), /not classes² = 4/);
  });

  const pixels = (classes: number) =>
    fc.array(fc.tuple(fc.integer({ min: -1, max: classes - 1 }), fc.integer({ min: 0, max: classes - 1 })), {
      minLength: 1,
      maxLength: 60,
    });

  it('a perfect prediction has mean IoU 1; swapping truth and prediction keeps every IoU', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }).chain((k) => fc.tuple(fc.constant(k), pixels(k))),
        ([classes, px]) => {
          const truth = Int32Array.from(px.map(([t]) => t));
          const predicted = Int32Array.from(px.map(([t, p]) => (t === -1 ? -1 : p)));
          const perfect = new SegmentationConfusion(classes);
          perfect.add(
            truth,
            Int32Array.from(truth, (t) => Math.max(t, 0)),
          );
          const labelled = truth.some((t) => t >= 0);
          assert.strictEqual(perfect.report().meanIou, labelled ? 1 : undefined);
          const forward = new SegmentationConfusion(classes);
          forward.add(truth, predicted);
          const backward = new SegmentationConfusion(classes);
          backward.add(predicted, truth);
          assert.deepStrictEqual(
            backward.report().classes.map((k) => k.iou),
            forward.report().classes.map((k) => k.iou),
          );
          for (const k of forward.report().classes)
            assert.ok(k.iou === undefined || (k.iou >= 0 && k.iou <= 1), `IoU ${k.iou}`);
        },
      ),
    );
  });
});

/** scikit-learn's figures of each case read from stdin (JSON); prints them as JSON. */
const SKLEARN_REFERENCE = String.raw`
import sys, json, warnings
import numpy as np
from sklearn.metrics import (roc_auc_score, average_precision_score, precision_score, recall_score, f1_score,
                             jaccard_score, accuracy_score, hamming_loss)
warnings.simplefilter('ignore')
data = json.load(sys.stdin)

def defined(f):
    try:
        v = float(f())
    except ValueError:  # a single class present
        return None
    return None if np.isnan(v) else v

def best_f1(t, s):
    if t.sum() == 0:
        return [0.5, 0.0]
    cands = [(th, f1_score(t, (s >= th).astype(int), zero_division=0)) for th in np.unique(s)]
    top = max(f for _, f in cands)
    return [float(min(th for th, f in cands if f >= top - 1e-12)), float(top)]

multilabel = []
for c in data['multilabel']:
    n, L = c['n'], c['L']
    p = np.array(c['probs'], dtype=np.float64).reshape(n, L)
    y = np.array(c['targets'], dtype=np.int64).reshape(n, L)
    pred = (p >= np.array(c['thresholds'])).astype(np.int64)
    labels = []
    for j in range(L):
        s, t, d = p[:, j], y[:, j], pred[:, j]
        labels.append({
            'auroc': defined(lambda: roc_auc_score(t, s)),
            'ap': float(average_precision_score(t, s)) if t.sum() > 0 else None,
            'precision': float(precision_score(t, d, zero_division=0)),
            'recall': float(recall_score(t, d, zero_division=0)),
            'f1': float(f1_score(t, d, zero_division=0)),
            'best': best_f1(t, s),
        })
    multilabel.append({'labels': labels,
                       # one column is read as a binary vector, not an indicator matrix: its F1 is the macro F1
                       'macroF1': float(f1_score(y, pred, average='macro', zero_division=0)) if L > 1
                                  else labels[0]['f1'],
                       'exactMatch': float(accuracy_score(y, pred)),
                       'decisionAccuracy': 1 - float(hamming_loss(y, pred))})

segmentation = []
for c in data['segmentation']:
    t, p, k = np.array(c['truth']), np.array(c['predicted']), c['classes']
    keep = t != -1
    t, p = t[keep], p[keep]
    present = sorted(set(t.tolist()) | set(p.tolist()))
    iou = jaccard_score(t, p, labels=list(range(k)), average=None, zero_division=0)
    recall = recall_score(t, p, labels=list(range(k)), average=None, zero_division=0)
    segmentation.append({'iou': [float(iou[i]) if i in present else None for i in range(k)],
                         'accuracy': [float(recall[i]) if i in set(t.tolist()) else None for i in range(k)],
                         'meanIou': float(np.mean(iou[present])),
                         'pixelAccuracy': float(accuracy_score(t, p))})
print(json.dumps({'multilabel': multilabel, 'segmentation': segmentation}))
`;

/** A seeded PRNG (mulberry32) so that a failing case can be found again. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface MultilabelCase {
  n: number;
  L: number;
  probs: Float32Array;
  targets: Uint8Array;
  thresholds: number[];
}

/** Random multi-label cases: some with coarse scores (ties), some with a label always or never present. */
function multilabelCases(random: () => number, count: number): MultilabelCase[] {
  return Array.from({ length: count }, (_, c) => {
    const n = 1 + Math.floor(random() * 50);
    const L = 1 + Math.floor(random() * 4);
    const levels = c % 3 === 0 ? 4 : 0; // a third of the cases: scores in quarters, many ties
    const probs = Float32Array.from({ length: n * L }, () =>
      levels ? Math.round(random() * levels) / levels : random(),
    );
    const rate = random();
    const targets = Uint8Array.from({ length: n * L }, () => (random() < rate ? 1 : 0));
    const thresholds = Array.from({ length: L }, (_, j) => (j % 2 ? Math.fround(random()) : probs[j]));
    return { n, L, probs, targets, thresholds };
  });
}

/** Random segmentation batches of `classes` classes with ignored pixels, some classes never seen. */
function segmentationCases(random: () => number, count: number) {
  return Array.from({ length: count }, () => {
    const classes = 1 + Math.floor(random() * 6);
    const used = 1 + Math.floor(random() * classes);
    const pixels = 1 + Math.floor(random() * 200);
    const truth = Int32Array.from({ length: pixels }, () => (random() < 0.1 ? -1 : Math.floor(random() * used)));
    const predicted = Int32Array.from({ length: pixels }, (_, i) =>
      random() < 0.6 && truth[i] >= 0 ? truth[i] : Math.floor(random() * used),
    );
    return { classes, truth, predicted };
  });
}

interface SklearnLabel {
  auroc: number | null;
  ap: number | null;
  precision: number;
  recall: number;
  f1: number;
  best: [number, number];
}

const orUndefined = (v: number | null) => (v === null ? undefined : v);

describe('metrics/taskMetrics against scikit-learn (python3-sklearn)', function () {
  this.timeout(120_000);
  before(function () {
    requirePython(this, ['sklearn']);
  });

  it('agrees to 1e-9 on random multi-label and segmentation cases', () => {
    const random = prng(20261201);
    const ml = multilabelCases(random, 150);
    const seg = segmentationCases(random, 80);
    const input = JSON.stringify({
      multilabel: ml.map((c) => ({ ...c, probs: Array.from(c.probs), targets: Array.from(c.targets) })),
      segmentation: seg.map((c) => ({ ...c, truth: Array.from(c.truth), predicted: Array.from(c.predicted) })),
    });
    const ref = JSON.parse(runPython(SKLEARN_REFERENCE, [], input)) as {
      multilabel: { labels: SklearnLabel[]; macroF1: number; exactMatch: number; decisionAccuracy: number }[];
      segmentation: { iou: (number | null)[]; accuracy: (number | null)[]; meanIou: number; pixelAccuracy: number }[];
    };
    let undefinedAuroc = 0;
    ml.forEach((c, i) => {
      const ours = multilabelReport(c.probs, c.targets, c.n, c.L, c.thresholds);
      const theirs = ref.multilabel[i];
      const what = `case ${i} (n ${c.n}, L ${c.L})`;
      ours.labels.forEach((l, j) => {
        const r = theirs.labels[j];
        if (r.auroc === null) undefinedAuroc++;
        assert.strictEqual(l.auroc === undefined, r.auroc === null, `${what} label ${j}: AUROC defined`);
        if (r.auroc !== null) close(l.auroc, r.auroc, 1e-9, `${what} label ${j} AUROC`);
        assert.strictEqual(l.averagePrecision === undefined, r.ap === null, `${what} label ${j}: AP defined`);
        if (r.ap !== null) close(l.averagePrecision, r.ap, 1e-9, `${what} label ${j} AP`);
        close(l.precision, r.precision, 1e-9, `${what} label ${j} precision`);
        close(l.recall, r.recall, 1e-9, `${what} label ${j} recall`);
        close(l.f1, r.f1, 1e-9, `${what} label ${j} F1`);
        const best = bestF1Threshold(
          Array.from({ length: c.n }, (_, k) => c.probs[k * c.L + j]),
          Array.from({ length: c.n }, (_, k) => c.targets[k * c.L + j]),
        );
        assert.strictEqual(best.threshold, r.best[0], `${what} label ${j}: best-F1 threshold`);
        close(best.f1, r.best[1], 1e-9, `${what} label ${j} best F1`);
      });
      close(ours.macroF1, theirs.macroF1, 1e-9, `${what} macro F1`);
      close(ours.exactMatch, theirs.exactMatch, 1e-9, `${what} exact match`);
      close(ours.decisionAccuracy, theirs.decisionAccuracy, 1e-9, `${what} decision accuracy`);
      assert.deepStrictEqual(
        tuneThresholds(c.probs, c.targets, c.n, c.L),
        theirs.labels.map((l) => l.best[0]),
      );
    });
    assert.ok(undefinedAuroc > 0, 'the cases include labels with one class only');
    seg.forEach((c, i) => {
      const confusion = new SegmentationConfusion(c.classes);
      confusion.add(c.truth, c.predicted);
      const ours = confusion.report();
      const theirs = ref.segmentation[i];
      ours.classes.forEach((k, j) => {
        const iou = orUndefined(theirs.iou[j]);
        const acc = orUndefined(theirs.accuracy[j]);
        assert.strictEqual(k.iou === undefined, iou === undefined, `segmentation ${i} class ${j}: IoU defined`);
        if (iou !== undefined) close(k.iou, iou, 1e-9, `segmentation ${i} class ${j} IoU`);
        assert.strictEqual(k.accuracy === undefined, acc === undefined, `segmentation ${i} class ${j}: accuracy`);
        if (acc !== undefined) close(k.accuracy, acc, 1e-9, `segmentation ${i} class ${j} accuracy`);
      });
      close(ours.meanIou, theirs.meanIou, 1e-9, `segmentation ${i} mean IoU`);
      close(ours.pixelAccuracy, theirs.pixelAccuracy, 1e-9, `segmentation ${i} pixel accuracy`);
    });
  });
});
