/**
 * `predictions/<id>.json` of a run folder: the per-example predictions of one evaluate (`SavedPredictions`,
 * src/protocol/evaluation.ts), written before its line in evaluations.jsonl, so that the confusion matrix the
 * dashboard shows can open the examples of any cell after a reload. IDX/CIFAR examples drawn for the gallery go
 * to `predictions/<id>/<index>.png`.
 *
 * No tfjs, no vscode here.
 */
import * as path from 'path';
import type { EvaluationSplit, ExamplePrediction, SavedPredictions } from '../protocol/evaluation';
import { readJsonSync, writeFileAtomicSync } from './atomic';
import { JsonObject } from './jsonCheck';

export const PREDICTIONS_DIR = 'predictions';

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Whether `id` can name a predictions file (letters, digits, `.`, `_`, `-`; no path). */
export const isEvaluationId = (id: string): boolean => ID.test(id) && !id.includes('..');

/** A new evaluation id: the time (UTC, to the millisecond) and the split, e.g. `20261201-023000-123-test`. */
export function newEvaluationId(split: EvaluationSplit, date: Date = new Date()): string {
  const t = date.toISOString().replace(/[-:]/g, '').replace('T', '-').replace('.', '-').replace('Z', '');
  return `${t}-${split}`;
}

function checkedId(id: string): string {
  if (!isEvaluationId(id))
    throw new Error(`"${id}" is not an evaluation id (letters, digits, ".", "_", "-"): pick an evaluation of the run`);
  return id;
}

/** The predictions file of evaluation `id` of the run in `runDir`. */
export const predictionsFile = (runDir: string, id: string): string =>
  path.join(runDir, PREDICTIONS_DIR, `${checkedId(id)}.json`);

/** Where the PNG of example `index` of evaluation `id` (IDX/CIFAR data) is written. */
export const exampleImageFile = (runDir: string, id: string, index: number): string =>
  path.join(runDir, PREDICTIONS_DIR, checkedId(id), `${index}.png`);

/**
 * Where a dataset says an example comes from (`Dataset.location`: an image file, or `file [image n]` for IDX and
 * `file [record n]` for CIFAR data), as a predictions file records it: the file relative to `dataRoot` with
 * forward slashes (absolute when it is outside), and the record number.
 */
export function exampleSource(location: string, dataRoot: string): { source: string; record?: number } {
  const m = /^(.*) \[(?:image|record) (\d+)\]$/.exec(location);
  const file = m ? m[1] : location;
  const rel = path.relative(dataRoot, file);
  const inside = rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  const source = inside ? rel.split(path.sep).join('/') : file;
  return m ? { source, record: Number(m[2]) } : { source };
}

/** The absolute path of an example's file (the image, or the IDX/CIFAR file holding it). */
export const sourcePath = (p: Pick<SavedPredictions, 'dataRoot'>, e: Pick<ExamplePrediction, 'source'>): string =>
  path.isAbsolute(e.source) ? e.source : path.join(p.dataRoot, ...e.source.split('/'));

/** Writes the predictions of evaluation `p.evaluation` into the run (atomically). Returns the file. */
export function writePredictions(runDir: string, p: SavedPredictions): string {
  const file = predictionsFile(runDir, p.evaluation);
  writeFileAtomicSync(file, JSON.stringify(p) + '\n'); // one line: ~100 bytes an example
  return file;
}

/** A predictions file type-checked against its evaluation's class count; throws naming the field when malformed. */
export function checkPredictions(file: string, value: unknown): SavedPredictions {
  const o = JsonObject.of(file, value);
  if (o.raw('version') !== 1) o.fail('version', '1', o.raw('version'));
  const classNames = o.strings('classNames');
  const classes = classNames.length;
  const examples = o.objects('examples').map((e): ExamplePrediction => {
    const t = e.int('true');
    const p = e.int('predicted');
    if (t >= classes) e.fail('true', `a class index below ${classes}`, t);
    if (p >= classes) e.fail('predicted', `a class index below ${classes}`, p);
    const probability = e.number('probability');
    if (probability < 0 || probability > 1) e.fail('probability', 'a number from 0 to 1', probability);
    const record = e.optInt('record');
    return {
      index: e.int('index'),
      source: e.string('source'),
      ...(record !== undefined ? { record } : {}),
      true: t,
      predicted: p,
      probability,
    };
  });
  return {
    version: 1,
    evaluation: checkedId(o.string('evaluation')),
    split: o.oneOf('split', ['validation', 'test'] as const),
    dataRoot: o.string('dataRoot'),
    classNames,
    examples,
  };
}

/** The predictions of evaluation `id` of the run; throws saying what to do when the file is missing or malformed. */
export function readPredictions(runDir: string, id: string): SavedPredictions {
  const file = predictionsFile(runDir, id);
  const value = readJsonSync<unknown>(file);
  if (value === undefined)
    throw new Error(`${file} is missing: the examples of this evaluation are not saved; evaluate the run again`);
  return checkPredictions(file, value);
}

/** The examples of confusion cell (true class `t`, predicted `p`), the most confident first. */
export function cellExamples(p: SavedPredictions, t: number, pred: number): ExamplePrediction[] {
  return p.examples
    .filter((e) => e.true === t && e.predicted === pred)
    .sort((a, b) => b.probability - a.probability || a.index - b.index);
}

/** The confusion matrix the predictions make (`confusion[true][predicted]`). */
export function predictionsConfusion(p: SavedPredictions): number[][] {
  const n = p.classNames.length;
  const m = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (const e of p.examples) m[e.true][e.predicted]++;
  return m;
}
