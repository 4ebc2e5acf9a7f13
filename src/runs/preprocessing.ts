/**
 * `preprocessing.json` of a run folder: what predictions need besides the weights (input size, class names,
 * normalisation). Training writes it beside the checkpoints; evaluation, prediction and the inspection panels
 * read it back.
 *
 * No tfjs here: a plain data type and a file reader.
 */
import * as path from 'path';
import { readJsonSync } from './atomic';

export const PREPROCESSING_JSON = 'preprocessing.json';

/** What predictions need besides the weights: written beside the checkpoints of a run. */
export interface Preprocessing {
  input: { height: number; width: number; channels: number };
  classNames: string[];
  normalization: { mean: number[]; std: number[] } | null;
}

/** The preprocessing of the run in `runDir`; throws with an explanation when the file is missing. */
export function readPreprocessing(runDir: string): Preprocessing {
  const file = path.join(runDir, PREPROCESSING_JSON);
  const pre = readJsonSync<Preprocessing>(file);
  if (pre === undefined)
    throw new Error(`${file} is missing: a run folder records the input size, class names and normalisation there`);
  return pre;
}
