/**
 * The dashboard's tables and stats, as DOM: the header stats, the validation confusion matrix, the per-class
 * precision/recall/F1 and the spec's runs. Every value (class names, run ids, statuses, numbers) is text.
 */
import type { RunSummary } from '../../src/protocol/dashboard';
import type { MultilabelScores, SegmentationScores } from '../../src/protocol/evaluation';
import { perClassMetrics } from '../../src/metrics/dashboardMath';
import { bestFigure } from '../../src/metrics/bestFigure';
import { el } from '../common/dom';

export const pct = (v: number | undefined): string =>
  v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(1)}%`;

const row = (...cells: Node[]): HTMLTableRowElement => el('tr', {}, ...cells);
const th = (text: string, attributes: Record<string, string> = {}) => el('th', attributes, text);
const td = (...children: (Node | string)[]) => el('td', {}, ...children);

/** `name value` items of the header (`data-stat` names each, for tests). */
export function statItems(items: [string, string][]): HTMLElement[] {
  return items.map(([k, v]) =>
    el('span', { class: 'stat', 'data-stat': k }, el('span', { class: 'muted' }, k), ` ${v}`),
  );
}

/**
 * The confusion matrix (rows: true class, columns: predicted), each cell shaded by its share of the row. With
 * `examples`, its non-empty cells open the gallery of their examples (`data-true`, `data-predicted`).
 */
export function confusionTable(m: number[][], names: string[], examples = false): HTMLTableElement {
  const head = row(th('true \\ predicted', { class: 'corner' }), ...names.map((n) => th(n)));
  const body = m.map((counts, i) => {
    const total = counts.reduce((a, b) => a + b, 0);
    const cells = counts.map((v, j) => {
      const share = total > 0 ? v / total : 0;
      const colour = i === j ? 'var(--vscode-charts-blue, #3794ff)' : 'var(--vscode-charts-red, #f14c4c)';
      return el(
        'td',
        {
          style: `background: color-mix(in srgb, ${colour} ${Math.round(share * 85)}%, transparent)`,
          title: `${names[i]} predicted as ${names[j]}: ${v} (${pct(share)} of the row)${examples && v > 0 ? ' — click to see them' : ''}`,
          ...(examples && v > 0 ? { class: 'examples-cell', 'data-true': String(i), 'data-predicted': String(j) } : {}),
        },
        String(v),
      );
    });
    return row(th(names[i]), ...cells);
  });
  return el(
    'table',
    { class: 'confusion', 'data-classes': String(m.length) },
    el('thead', {}, head),
    el('tbody', {}, ...body),
  );
}

/** Precision, recall, F1 and support of each class, from the confusion matrix. */
export function perClassTable(m: number[][], names: string[]): HTMLTableElement {
  const head = row(...['class', 'precision', 'recall', 'F1', 'support'].map((h) => th(h)));
  const body = perClassMetrics(m).map((c, i) =>
    row(th(names[i]), td(pct(c.precision)), td(pct(c.recall)), td(pct(c.f1)), td(String(c.support))),
  );
  return el('table', { class: 'per-class' }, el('thead', {}, head), el('tbody', {}, ...body));
}

const pctOrDash = (v: number | null): string => (v === null ? '–' : pct(v));
const fixed = (v: number | null): string => (v === null ? '–' : v.toFixed(3));

/**
 * A multi-label evaluation, a row per label: AUROC, average precision, and precision, recall and F1 at the
 * label's threshold (tuned on validation), with the label's positives. `–`: undefined (no positive or no negative).
 */
export function labelsTable(ml: MultilabelScores): HTMLTableElement {
  const head = row(
    ...['label', 'AUROC', 'AP', 'threshold', 'precision', 'recall', 'F1', 'positives'].map((h) => th(h)),
  );
  const body = ml.labels.map((l) =>
    row(
      th(l.label),
      td(fixed(l.auroc)),
      td(fixed(l.averagePrecision)),
      td(l.threshold.toFixed(2)),
      td(pctOrDash(l.precision)),
      td(pctOrDash(l.recall)),
      td(pctOrDash(l.f1)),
      td(String(l.positives)),
    ),
  );
  const mean = row(
    th('mean'),
    td(fixed(ml.meanAuroc)),
    td(fixed(ml.meanAveragePrecision)),
    td(ml.thresholds === 'tuned' ? 'tuned' : 'given'),
    td(''),
    td(''),
    td(pctOrDash(ml.meanF1)),
    td(''),
  );
  mean.className = 'mean';
  return el('table', { class: 'per-label' }, el('thead', {}, head), el('tbody', {}, ...body, mean));
}

/** A segmentation evaluation, a row per class: IoU, the share of its pixels found, and its labelled pixels. */
export function iouTable(seg: SegmentationScores): HTMLTableElement {
  const head = row(...['class', 'IoU', 'accuracy', 'pixels'].map((h) => th(h)));
  const body = seg.classes.map((c) =>
    row(th(c.class), td(pctOrDash(c.iou)), td(pctOrDash(c.accuracy)), td(String(c.pixels))),
  );
  const mean = row(th('mean'), td(pctOrDash(seg.meanIou)), td(pctOrDash(seg.pixelAccuracy)), td(''));
  mean.className = 'mean';
  return el('table', { class: 'per-class-iou' }, el('thead', {}, head), el('tbody', {}, ...body, mean));
}

/** The headline of an evaluation: accuracy, or mean AUROC (multilabel), or mean IoU (segmentation). */
export function headline(e: {
  accuracy?: number;
  multilabel?: MultilabelScores;
  segmentation?: SegmentationScores;
}): string {
  if (e.multilabel)
    return `mean AUROC ${fixed(e.multilabel.meanAuroc)}, mean F1 ${pctOrDash(e.multilabel.meanF1)}, label decisions right at 0.5 ${pct(e.accuracy)}`;
  if (e.segmentation)
    return `mean IoU ${pctOrDash(e.segmentation.meanIou)}, pixel accuracy ${pctOrDash(e.segmentation.pixelAccuracy)}`;
  return `accuracy ${pct(e.accuracy)}`;
}

/** `1.93/2`: the epochs a run trained (with the fraction of the one it stopped in) of those planned. */
export function epochsText(r: Pick<RunSummary, 'epochs' | 'epochsCompleted' | 'epochsTrained'>): string {
  const done = r.epochsTrained ?? r.epochsCompleted ?? 0;
  return `${Number.isInteger(done) ? done : done.toFixed(2)}/${r.epochs}`;
}

/** The figure the run's best checkpoint was chosen by: `val acc 97.50%`, `val mean IoU 85.00%`, `–` without one. */
function bestCell(r: RunSummary): HTMLTableCellElement {
  const f = bestFigure(r);
  return f ? el('td', { class: 'best', title: `best ${f.label}` }, `${f.label} ${f.text}`) : td('–');
}

/**
 * The spec's runs, newest first: a checkbox to overlay each one's curves (not the run shown above), its status,
 * epochs, best validation accuracy, backend, Resume for the runs that can be resumed and Evaluate for the runs
 * with a checkpoint.
 */
export function runsTable(runs: RunSummary[], shownRunDir: string | undefined, overlays: string[]): HTMLTableElement {
  const head = row(
    th('overlay', { title: 'Overlay its curves' }),
    ...['run', 'status', 'epochs', 'best', 'backend', ''].map((h) => th(h)),
  );
  const sorted = [...runs].sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  const body = sorted.map((r) => {
    const isCurrent = r.runDir === shownRunDir;
    const box = el('input', {
      type: 'checkbox',
      class: 'overlay',
      checked: overlays.includes(r.runDir) ? '' : undefined,
      disabled: isCurrent ? '' : undefined,
      title: isCurrent ? 'Shown above' : undefined,
    });
    const resume = document.createElement('vscode-button');
    resume.className = 'resume-run';
    resume.setAttribute('secondary', '');
    resume.textContent = 'Resume';
    const evaluate = document.createElement('vscode-button');
    evaluate.className = 'evaluate-run';
    evaluate.setAttribute('secondary', '');
    evaluate.textContent = 'Evaluate';
    const tr = row(
      td(box),
      td(r.runId, ...(isCurrent ? [' ', el('span', { class: 'muted' }, '(shown)')] : [])),
      r.problems?.length ? el('td', { class: 'problem', title: r.problems.join('\n') }, r.status) : td(r.status),
      el('td', { class: 'epochs' }, epochsText(r)),
      bestCell(r),
      td(r.backend ?? ''),
      td(...(r.resumable ? [resume] : []), ...(r.evaluable ? [evaluate] : [])),
    );
    tr.dataset.run = r.runDir;
    if (isCurrent) tr.className = 'current';
    return tr;
  });
  return el('table', { class: 'runs' }, el('thead', {}, head), el('tbody', {}, ...body));
}
