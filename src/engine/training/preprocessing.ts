/**
 * `preprocessing.json` of a run: what predictions need besides the weights (input shape, class names,
 * normalization), written beside the checkpoints when a training opens its run.
 */

/** What predictions need besides the weights: written beside the checkpoints of a run. */
export interface Preprocessing {
  input: { height: number; width: number; channels: number };
  classNames: string[];
  normalization: { mean: number[]; std: number[] } | null;
}
export const PREPROCESSING_JSON = 'preprocessing.json';
