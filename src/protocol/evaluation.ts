/**
 * Evaluations of a run's checkpoint: what evaluations.jsonl holds (`SavedEvaluation`), the per-example
 * predictions saved beside it (`predictions/<id>.json`), and the engine requests that make them (`evaluate`, with
 * progress and cancellation) and that draw the examples of IDX/CIFAR data as PNG files (`exampleImages`).
 * Plain data only.
 */

/** Precision, recall and F1 of one class (null where undefined: a class never predicted, or without examples). */
export interface SavedClassMetrics {
  class: string;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  support: number;
}

/**
 * One evaluation saved in a run's evaluations.jsonl: a validation at the end of an epoch (`kind: 'validation'`)
 * or an evaluate of one of its checkpoints (`kind: 'evaluate'`, from `densenet-lab evaluate` or `DenseNet: Evaluate`).
 */
export interface SavedEvaluation {
  kind: 'validation' | 'evaluate';
  /** evaluate: names its predictions file, `predictions/<id>.json` in the run folder (absent in older runs). */
  id?: string;
  /** The split scored: `validation` or `test`. */
  split: string;
  /** Epochs completed by the model scored (the epoch just validated; for evaluate, its checkpoint's, if known). */
  epoch?: number;
  /** Global step of the model scored, if known. */
  step?: number;
  /** evaluate: the checkpoint scored, relative to the run folder (`checkpoints/best`). */
  checkpoint?: string;
  /** ISO time. */
  time: string;
  examples: number;
  loss: number;
  accuracy: number;
  classNames: string[];
  /** confusion[true][predicted]. */
  confusion: number[][];
  perClass: SavedClassMetrics[];
  /** Multi-label: per label AUROC, average precision and F1 at its threshold, with their means. */
  multilabel?: MultilabelScores;
  /** Segmentation: per-class IoU, mean IoU and pixel accuracy (`confusion` counts labelled pixels). */
  segmentation?: SegmentationScores;
}

/** One label of a multi-label evaluation; null where a figure is undefined (no positive or no negative example). */
export interface LabelScores {
  label: string;
  auroc: number | null;
  averagePrecision: number | null;
  /** The decision threshold of the label: tuned on validation for the best F1, or the validation's when testing. */
  threshold: number;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  /** Examples that have the label. */
  positives: number;
}

export interface MultilabelScores {
  labels: LabelScores[];
  /** Means over the labels where the figure is defined. */
  meanAuroc: number | null;
  meanAveragePrecision: number | null;
  meanF1: number | null;
  /** `tuned`: each threshold gives its label's best F1 on these examples (validation); `given`: set beforehand. */
  thresholds: 'tuned' | 'given';
}

/** One class of a segmentation evaluation, over labelled pixels; null where the class is in neither truth nor prediction. */
export interface ClassIou {
  class: string;
  iou: number | null;
  /** Of the class's pixels, the share predicted as the class (recall). */
  accuracy: number | null;
  /** Labelled pixels of the class. */
  pixels: number;
}

export interface SegmentationScores {
  classes: ClassIou[];
  /** Mean IoU over the classes where it is defined. */
  meanIou: number | null;
  pixelAccuracy: number | null;
}

export type EvaluationSplit = 'validation' | 'test';

/** One example scored: where it comes from, its true and predicted class and the predicted class's probability. */
export interface ExamplePrediction {
  /** Its position in the split evaluated (the order the data lists it). */
  index: number;
  /** The image file, relative to the data root (forward slashes); for IDX/CIFAR data, the file holding it. */
  source: string;
  /** For IDX/CIFAR data: the image's record number in `source`. */
  record?: number;
  true: number;
  predicted: number;
  probability: number;
}

/** `predictions/<id>.json` of a run: every example of one evaluate. */
export interface SavedPredictions {
  version: 1;
  /** The `id` of its line in evaluations.jsonl. */
  evaluation: string;
  split: EvaluationSplit;
  /** The folder `source` paths are relative to (the spec's folder, where the data paths start). */
  dataRoot: string;
  classNames: string[];
  examples: ExamplePrediction[];
}

export interface EvaluateParams {
  /** A run folder (its best checkpoint, else latest), a checkpoint folder or its model.json. */
  checkpoint: string;
  /** Default: the run's validation examples when the spec has validation data, else its test set. */
  split?: EvaluationSplit;
  batchSize?: number;
}

export interface EvaluateProgress {
  examples: number;
  /** Examples in the split. */
  total: number;
}

export interface EvaluateResult {
  runDir: string;
  /** What was scored, for messages: `test (data/test (class folders))`. */
  label: string;
  /** The line appended to evaluations.jsonl. */
  evaluation: SavedEvaluation;
  /** Absolute path of the predictions file written (classification: the other tasks save their figures only). */
  predictionsFile?: string;
  /** Unreadable images skipped. */
  skipped: number;
  /** The engine that scored the examples. */
  inference?: 'onnxruntime' | 'tfjs';
}

export interface ExampleImagesParams {
  runDir: string;
  /** The evaluation's id. */
  evaluation: string;
  /** `index` values of its predictions. */
  indices: number[];
}

export type EvaluationRequests = {
  /**
   * Scores a checkpoint on a split, saves the result (evaluations.jsonl) and its per-example predictions. Streams
   * progress; cancelling (the request's signal) stops it at the next batch and rejects: nothing is saved.
   */
  evaluate: { params: EvaluateParams; result: EvaluateResult; progress: EvaluateProgress };
  /**
   * The image files of some examples of an evaluation, in the order asked: a file of image-folder data as it is,
   * an IDX/CIFAR record drawn once into `predictions/<id>/<index>.png` in the run folder.
   */
  exampleImages: { params: ExampleImagesParams; result: string[] };
};
