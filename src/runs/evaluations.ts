/**
 * `evaluations.jsonl` of a run folder: one JSON object per line (`SavedEvaluation`, src/protocol/dashboard.ts),
 * appended for every validation at the end of an epoch and for every evaluate (`densenet-lab evaluate`,
 * `DenseNet: Evaluate`) of one of the run's checkpoints: its id (naming its per-example predictions,
 * ./predictions.ts), the split, the model's epoch and step, loss, accuracy, the class names, the confusion matrix
 * (`confusion[true][predicted]`) and per-class precision, recall and F1. Each line is written with one write call
 * and fsynced; a torn last line (a crash mid-write) is ignored by the reader and kept apart from the next line.
 * A resume drops the validations of epochs after its checkpoint (`trimEvaluations`), as metrics.jsonl does.
 *
 * No tfjs here.
 */
import * as fs from 'fs';
import * as path from 'path';
import { perClassMetrics } from '../metrics/dashboardMath';
import { parseSpec } from '../core/parse';
import type {
  EvaluationSplit,
  MultilabelScores,
  SavedClassMetrics,
  SavedEvaluation,
  SegmentationScores,
} from '../protocol/evaluation';
import { readTextIfExists, writeAllSync, writeFileAtomicSync } from './atomic';
import { countMatrix, JsonObject } from './jsonCheck';
import { SPEC_SNAPSHOT } from './runFolder';

export const EVALUATIONS_FILE = 'evaluations.jsonl';

export type { SavedEvaluation } from '../protocol/evaluation';

const orNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** Per-class precision, recall and F1 of a confusion matrix, null where undefined. */
export function savedClassMetrics(confusion: number[][], classNames: readonly string[]): SavedClassMetrics[] {
  return perClassMetrics(confusion).map((m, i) => ({
    class: classNames[i] ?? String(i),
    precision: orNull(m.precision),
    recall: orNull(m.recall),
    f1: orNull(m.f1),
    support: m.support,
  }));
}

/**
 * What an evaluation is made of; `appendEvaluation` adds the time, the per-class figures and the example count
 * (the confusion matrix's total unless given: a segmentation's matrix counts pixels, a multi-label's is empty).
 */
export type EvaluationInput = Omit<SavedEvaluation, 'time' | 'examples' | 'perClass'> & {
  time?: string;
  examples?: number;
};

/** Appends one evaluation to the run's evaluations.jsonl (created if needed) and fsyncs it. Returns the record. */
export function appendEvaluation(runDir: string, input: EvaluationInput): SavedEvaluation {
  const record: SavedEvaluation = {
    ...input,
    time: input.time ?? new Date().toISOString(),
    examples: input.examples ?? input.confusion.reduce((n, row) => n + row.reduce((a, b) => a + b, 0), 0),
    perClass: savedClassMetrics(input.confusion, input.classNames),
  };
  const file = path.join(runDir, EVALUATIONS_FILE);
  const fd = fs.openSync(file, 'a+');
  try {
    const size = fs.fstatSync(fd).size;
    const last = Buffer.alloc(1);
    // After a torn last line, start on a new one so the record stays whole.
    const torn = size > 0 && fs.readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a;
    writeAllSync(fd, Buffer.from(`${torn ? '\n' : ''}${JSON.stringify(record)}\n`, 'utf8'));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return record;
}

/** One line of evaluations.jsonl type-checked; throws naming the field when it is malformed. */
export function checkEvaluation(file: string, value: unknown, at: string): SavedEvaluation {
  const o = JsonObject.of(file, value, at);
  const classNames = o.strings('classNames');
  const e: SavedEvaluation = {
    kind: o.oneOf('kind', ['validation', 'evaluate'] as const),
    split: o.string('split'),
    time: o.string('time'),
    examples: o.int('examples'),
    loss: o.raw('loss') === null ? NaN : o.number('loss'),
    accuracy: o.raw('accuracy') === null ? NaN : o.number('accuracy'),
    classNames,
    // A multi-label evaluation has no confusion matrix (its labels are not exclusive).
    confusion: countMatrix(o, 'confusion', o.has('multilabel') ? 0 : classNames.length),
    perClass: o.objects('perClass').map((c) => {
      const n = (f: string) => (c.raw(f) === null ? null : c.number(f));
      return {
        class: c.string('class'),
        precision: n('precision'),
        recall: n('recall'),
        f1: n('f1'),
        support: c.int('support'),
      };
    }),
  };
  const epoch = o.optInt('epoch');
  const step = o.optInt('step');
  const checkpoint = o.optString('checkpoint');
  const id = o.optString('id');
  if (id !== undefined) e.id = id;
  if (epoch !== undefined) e.epoch = epoch;
  if (step !== undefined) e.step = step;
  if (checkpoint !== undefined) e.checkpoint = checkpoint;
  const multilabel = o.optObject('multilabel');
  if (multilabel) e.multilabel = checkMultilabel(multilabel, classNames.length);
  const segmentation = o.optObject('segmentation');
  if (segmentation) e.segmentation = checkSegmentation(segmentation, classNames.length);
  return e;
}

/** A figure in [0, 1], or null where it is undefined. */
function unit(c: JsonObject, f: string): number | null {
  const v = c.numberOrNull(f);
  if (v !== null && !(v >= 0 && v <= 1)) c.fail(f, 'a number in [0, 1] or null', v);
  return v;
}

/** A saved multi-label evaluation's figures, type-checked: one entry per label, figures in [0, 1] or null. */
function checkMultilabel(o: JsonObject, labels: number): MultilabelScores {
  const entries = o.objects('labels');
  if (entries.length !== labels) o.fail('labels', `${labels} labels (one per class name)`, entries.length);
  return {
    labels: entries.map((c) => ({
      label: c.string('label'),
      auroc: unit(c, 'auroc'),
      averagePrecision: unit(c, 'averagePrecision'),
      threshold: c.number('threshold'),
      precision: unit(c, 'precision'),
      recall: unit(c, 'recall'),
      f1: unit(c, 'f1'),
      positives: c.int('positives'),
    })),
    meanAuroc: unit(o, 'meanAuroc'),
    meanAveragePrecision: unit(o, 'meanAveragePrecision'),
    meanF1: unit(o, 'meanF1'),
    thresholds: o.oneOf('thresholds', ['tuned', 'given'] as const),
  };
}

/** A saved segmentation evaluation's figures, type-checked: one entry per class. */
function checkSegmentation(o: JsonObject, classes: number): SegmentationScores {
  const entries = o.objects('classes');
  if (entries.length !== classes) o.fail('classes', `${classes} classes (one per class name)`, entries.length);
  return {
    classes: entries.map((c) => ({
      class: c.string('class'),
      iou: unit(c, 'iou'),
      accuracy: unit(c, 'accuracy'),
      pixels: c.int('pixels'),
    })),
    meanIou: unit(o, 'meanIou'),
    pixelAccuracy: unit(o, 'pixelAccuracy'),
  };
}

export interface ParsedEvaluations {
  records: SavedEvaluation[];
  /** Lines that are not a well-formed evaluation, with what is wrong (a torn last line is not counted). */
  problems: string[];
}

/** Parses the text of `file` (evaluations.jsonl); each line is type-checked, bad ones are named and skipped. */
export function parseEvaluations(text: string, file: string): ParsedEvaluations {
  const records: SavedEvaluation[] = [];
  const problems: string[] = [];
  const lines = text.split('\n');
  const tornCandidate = lines.pop() ?? '';
  const parse = (line: string, i: number, isLast: boolean) => {
    if (line.trim() === '') return;
    try {
      records.push(checkEvaluation(file, JSON.parse(line), `line ${i + 1}`));
    } catch (e) {
      if (!isLast)
        problems.push(e instanceof SyntaxError ? `${file}: line ${i + 1} is not JSON` : (e as Error).message);
    }
  };
  lines.forEach((line, i) => parse(line, i, false));
  parse(tornCandidate, lines.length, true);
  return { records, problems };
}

/** The evaluations saved in a run ([] when there are none). */
export function readEvaluations(runDir: string): ParsedEvaluations {
  const file = path.join(runDir, EVALUATIONS_FILE);
  const text = readTextIfExists(file);
  return text === undefined ? { records: [], problems: [] } : parseEvaluations(text, file);
}

/**
 * For a resume from a checkpoint after `epoch` completed epochs: rewrites the file atomically without the
 * validations of later epochs (they are run again) and without malformed lines. Returns how many were dropped.
 */
export function trimEvaluations(runDir: string, epoch: number): number {
  const file = path.join(runDir, EVALUATIONS_FILE);
  const text = readTextIfExists(file);
  if (text === undefined) return 0;
  const { records } = parseEvaluations(text, file);
  const kept = records.filter((r) => r.kind !== 'validation' || (r.epoch ?? 0) <= epoch);
  const out = kept.map((r) => JSON.stringify(r) + '\n').join('');
  if (out !== text) writeFileAtomicSync(file, out);
  return records.length - kept.length;
}

/** What the dashboard shows again after a reload: the last validation, then the last evaluate of each split and checkpoint. */
export function evaluationsToShow(records: readonly SavedEvaluation[]): SavedEvaluation[] {
  const lastValidation = [...records].reverse().find((r) => r.kind === 'validation');
  const evaluates = new Map<string, SavedEvaluation>();
  for (const r of records) if (r.kind === 'evaluate') evaluates.set(`${r.split}\u0000${r.checkpoint ?? ''}`, r);
  return [...(lastValidation ? [lastValidation] : []), ...evaluates.values()];
}

/**
 * The splits an evaluate of a run can score, from its spec's `data` section: `test` when it has data.test,
 * `validation` when it has data.validation (its own source, or the run's held-out split), test first.
 */
export function evaluationSplits(data: unknown): EvaluationSplit[] {
  if (typeof data !== 'object' || data === null) return [];
  const d = data as Record<string, unknown>;
  const has = (k: string) => d[k] !== undefined && d[k] !== null;
  return [...(has('test') ? ['test' as const] : []), ...(has('validation') ? ['validation' as const] : [])];
}

/** `evaluationSplits` of the run in `runDir` (its spec snapshot); [] when the snapshot is missing. */
export function runEvaluationSplits(runDir: string): EvaluationSplit[] {
  const text = readTextIfExists(path.join(runDir, SPEC_SNAPSHOT));
  if (text === undefined) return [];
  const value = parseSpec(text).value;
  return evaluationSplits(typeof value === 'object' && value !== null ? (value as { data?: unknown }).data : undefined);
}
