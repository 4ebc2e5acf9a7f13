/**
 * `preprocessing.json` of a run folder: what predictions need besides the weights (input size, class names,
 * normalisation). Training writes it beside the checkpoints; evaluation, prediction and the inspection panels
 * read it back.
 *
 * No tfjs here: a plain data type and a file reader.
 */
import * as path from 'path';
import { readJsonSync } from './atomic';
import { JsonObject } from './jsonCheck';

export const PREPROCESSING_JSON = 'preprocessing.json';

/** What predictions need besides the weights: written beside the checkpoints of a run. */
export interface Preprocessing {
  input: { height: number; width: number; channels: number };
  classNames: string[];
  normalization: { mean: number[]; std: number[] } | null;
  /** What the model predicts (absent in runs of classifiers written before tasks: classification). */
  task?: 'classification' | 'multilabel' | 'segmentation';
  /** Segmentation: the colour of each class ("#rrggbb"), to draw predicted masks. */
  classColors?: string[];
}

/** `value` (the content of the preprocessing.json `file`) type-checked; throws naming the field otherwise. */
export function checkPreprocessing(file: string, value: unknown): Preprocessing {
  const o = JsonObject.of(file, value);
  const input = o.object('input');
  const pre: Preprocessing = {
    input: { height: input.int('height', 1), width: input.int('width', 1), channels: input.int('channels', 1) },
    classNames: o.strings('classNames'),
    normalization: null,
  };
  if (pre.classNames.length === 0) o.fail('classNames', 'a non-empty array of class names', []);
  if (o.raw('normalization') !== null) {
    const n = o.object('normalization');
    const mean = n.numbers('mean');
    const std = n.numbers('std');
    if (std.length !== mean.length) n.fail('std', `an array of ${mean.length} numbers (as many as mean)`, std);
    pre.normalization = { mean, std };
  }
  if (o.has('task')) pre.task = o.oneOf('task', ['classification', 'multilabel', 'segmentation'] as const);
  if (o.has('classColors')) {
    const colors = o.strings('classColors');
    if (colors.length !== pre.classNames.length || colors.some((c) => !/^#[0-9a-fA-F]{6}$/.test(c)))
      o.fail('classColors', `${pre.classNames.length} colours "#rrggbb", one per class name`, colors);
    pre.classColors = colors;
  }
  return pre;
}

/** The preprocessing of the run in `runDir`, type-checked; throws with an explanation when the file is missing or malformed. */
export function readPreprocessing(runDir: string): Preprocessing {
  const file = path.join(runDir, PREPROCESSING_JSON);
  const pre = readJsonSync<unknown>(file);
  if (pre === undefined)
    throw new Error(`${file} is missing: a run folder records the input size, class names and normalisation there`);
  return checkPreprocessing(file, pre);
}
