/**
 * Evaluate a run's checkpoint on its validation examples or its test set: the one implementation behind
 * `densenet-lab evaluate` (./cli.ts) and the engine's `evaluate` request (`DenseNet: Evaluate`). Scores every
 * example on this thread, saves the per-example predictions (`predictions/<id>.json`, src/runs/predictions.ts)
 * and then the evaluation's line in evaluations.jsonl. `exampleImages` draws IDX/CIFAR examples as PNG files for
 * the confusion-matrix gallery.
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { Analysis } from '../core';
import { UsageError } from '../protocol/cli';
import type { InferencePreference } from '../protocol/engine';
import type {
  EvaluateParams,
  EvaluateProgress,
  EvaluateResult,
  EvaluationSplit,
  ExampleImagesParams,
  ExamplePrediction,
} from '../protocol/evaluation';
import { writeFileAtomicSync } from '../runs/atomic';
import { locateCheckpoint, readTrainingState } from '../runs/checkpointFiles';
import { appendEvaluation } from '../runs/evaluations';
import {
  exampleImageFile,
  exampleSource,
  newEvaluationId,
  readPredictions,
  sourcePath,
  writePredictions,
} from '../runs/predictions';
import { type Preprocessing, readPreprocessing } from '../runs/preprocessing';
import { readRunInfo, RUN_JSON, SPEC_SNAPSHOT } from '../runs/runFolder';
import { readRunSplit } from '../runs/runSplit';
import { loadCheckpointModel } from './checkpoint';
import { type DataPipeline, type DataSpec, type Dataset, openData, type Pixels } from './data/open';
import { inputShape } from './inspection/inputs';
import { inferenceEngine, inferenceNote, inferencePreference, type OnnxSession } from './onnxRuntime';
import { coreCount } from './parallel/threads';
import { tf } from './tf';
import { tidyPlain } from './inspection/tensors';
import { checkpointThresholds } from './taskPredict';
import { onnxProbabilities } from './training/onnxValidation';
import {
  type Evaluation,
  EvaluationTally,
  type Objective,
  scoreProbabilities,
  type TrainControl,
} from './training/step';
import { namedEvaluation } from './training/tally';

type Log = (message: string) => void;

export interface RunSpecDoc {
  data?: DataSpec;
  training?: unknown;
  analysis?: Analysis;
}

export interface EvaluationData {
  data: DataPipeline;
  dataset: Dataset;
  split: EvaluationSplit;
  /** What is scored, for messages. */
  label: string;
  doc: RunSpecDoc;
  /** The spec's folder: the data paths start there. */
  dataRoot: string;
}

/**
 * The data an evaluate scores a run on: the run's own validation examples (its recorded split, or its validation
 * source) or its test set. Says which in `label`.
 */
export async function openEvaluationData(
  runDir: string,
  pre: Preprocessing,
  requested: string | undefined,
  log: Log,
): Promise<EvaluationData> {
  if (requested !== undefined && requested !== 'validation' && requested !== 'test')
    throw new UsageError(`--split must be validation or test (got "${requested}")`);
  const info = readRunInfo(runDir);
  const snapshot = path.join(runDir, SPEC_SNAPSHOT);
  const specFile = info?.specFile && fs.existsSync(info.specFile) ? info.specFile : snapshot;
  const { validateSpec } = await import('../core');
  const validated = validateSpec(fs.readFileSync(snapshot, 'utf8'));
  const doc = validated.parsed.value as RunSpecDoc;
  doc.analysis = validated.analysis;
  const dataSpec = doc.data;
  const split: EvaluationSplit =
    (requested as EvaluationSplit | undefined) ?? (dataSpec?.validation !== undefined ? 'validation' : 'test');
  if (!dataSpec || dataSpec[split] === undefined)
    throw new Error(
      `the run's spec has no data.${split} to evaluate on${split === 'validation' ? '' : ' (without --split test, evaluate uses the validation examples of the run)'}`,
    );
  const validation = dataSpec.validation;
  const isHeldOut =
    split === 'validation' && typeof validation === 'object' && validation !== null && 'split' in validation;
  const recorded = readRunSplit(runDir);
  if (isHeldOut && !recorded?.heldOut)
    throw new Error(
      `${runDir} did not record its validation split (split.json): it started before runs recorded them, so its validation examples are unknown; evaluate with --split test, or train a new run`,
    );
  const dataRoot = path.dirname(specFile);
  const data = await openData(
    {
      ...dataSpec,
      normalize: pre.normalization ?? 'none',
      augment: undefined,
      ...(split === 'test' ? { validation: undefined } : {}),
    },
    {
      baseDir: dataRoot,
      input: pre.input,
      classes: pre.classNames.length,
      task: pre.task ?? 'classification',
      seed: recorded?.seed,
      heldOut: isHeldOut ? (recorded?.heldOut ?? undefined) : undefined,
      onSkip: (f, r) => log(`skipped ${f}: ${r}`),
    },
  );
  const dataset = split === 'test' ? data.test : data.validation;
  if (!dataset) {
    await data.close();
    throw new Error(`no ${split} data`);
  }
  const label = isHeldOut
    ? `validation (the run's split: ${recorded?.heldOut?.indices.length} of ${recorded?.heldOut?.examples} training examples held out)`
    : `${split} (${dataset.description})`;
  return { data, dataset, split, label, doc, dataRoot };
}

interface Scored {
  evaluation: Evaluation;
  /** Classification: each example's prediction (the other tasks keep the figures only). */
  examples?: ExamplePrediction[];
  skipped: number;
}

/** The model's probabilities of `n` NHWC images, as tfjs gives them ([n, classes] or [n, H, W, classes]). */
type Scorer = (x: Float32Array, n: number) => Promise<Tensor>;

/** The model's probabilities on ONNX Runtime when `session` is given, else on tfjs (`model.predict`). */
function scorer(model: LayersModel, session: OnnxSession | undefined, o: Objective): Scorer {
  const [h, w, ch] = inputShape(model);
  const spatial = o.task === 'segmentation' ? [h, w] : undefined;
  if (session) return async (x, n) => onnxProbabilities((await session.run(x, n)).probabilities, n, o.classes, spatial);
  return async (x, n) => tf.tidy(() => model.predict(tf.tensor4d(x, [n, h, w, ch])) as Tensor);
}

/**
 * Scores every example of `e.dataset`: the task's figures (multi-label decisions at `thresholds`) and, for a
 * classifier, each example's prediction.
 */
async function scoreExamples(
  score: Scorer,
  e: EvaluationData,
  o: Objective,
  options: {
    batchSize: number;
    thresholds?: readonly number[];
    control?: TrainControl;
    onProgress?: (p: EvaluateProgress) => void;
  },
): Promise<Scored> {
  const { dataset } = e;
  const tally = new EvaluationTally(o, options.thresholds ?? 'tune');
  const examples: ExamplePrediction[] = [];
  let done = 0;
  const batches = e.data.evalBatches(dataset, options.batchSize);
  for await (const b of batches) {
    const probs = await score(b.x, b.size);
    let probability: Float32Array | undefined;
    const result = tidyPlain(() => {
      if (o.task === 'classification') probability = Float32Array.from(tf.max(probs, -1).dataSync());
      return scoreProbabilities(probs, b, o);
    });
    probs.dispose();
    tally.add(b.y, b.size, result);
    if (o.task === 'classification' && b.indices)
      b.indices.forEach((index, k) => {
        const where = exampleSource(dataset.location(index), e.dataRoot);
        examples.push({
          index,
          ...where,
          true: b.y[k],
          predicted: result.predicted[k],
          probability: (probability as Float32Array)[k],
        });
      });
    done += b.size;
    options.onProgress?.({ examples: done, total: dataset.length });
    if (options.control?.cancelled) throw new Error('The evaluation was cancelled: nothing was saved.');
  }
  return {
    evaluation: namedEvaluation(tally.result(), dataset.classNames),
    ...(o.task === 'classification' ? { examples } : {}),
    skipped: batches.skipped,
  };
}

/** The checkpoint's epoch and step (when its training state is readable) and its folder relative to the run. */
function checkpointPosition(runDir: string, modelPath: string): { checkpoint: string; epoch?: number; step?: number } {
  const dir = modelPath.endsWith('.json') ? path.dirname(modelPath) : modelPath;
  const checkpoint = path.relative(runDir, dir).split(path.sep).join('/');
  try {
    const state = readTrainingState(dir);
    return state ? { checkpoint, epoch: state.epoch, step: state.step } : { checkpoint };
  } catch {
    return { checkpoint }; // a checkpoint without a readable training state: saved without its epoch
  }
}

export interface EvaluateRunOptions {
  /** Set to stop at the next batch (the evaluation then rejects and saves nothing). */
  control?: TrainControl;
  onProgress?: (p: EvaluateProgress) => void;
  /** Skipped images, the engine that scores, and other notes. */
  log?: Log;
  /** The engine that scores (default: the process's, densenet.engine.inference). */
  inference?: InferencePreference;
  /** ONNX Runtime's threads (default: one per core). */
  threads?: number;
}

/**
 * Scores `params.checkpoint` on a split of its run and saves the result in the run: the predictions file, then
 * the line of evaluations.jsonl (with the predictions' id). Throws when the checkpoint is not in a run folder.
 */
export async function evaluateRun(params: EvaluateParams, options: EvaluateRunOptions = {}): Promise<EvaluateResult> {
  const log = options.log ?? (() => undefined);
  const { modelPath, runDir } = locateCheckpoint(params.checkpoint);
  if (!fs.existsSync(path.join(runDir, RUN_JSON)))
    throw new Error(`${runDir} is not a run folder (no ${RUN_JSON}): evaluate a checkpoint of a run`);
  const batchSize = params.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new UsageError(`the batch size must be a positive whole number (got ${batchSize})`);
  const pre = readPreprocessing(runDir);
  const opened = await openEvaluationData(runDir, pre, params.split, log);
  let model: LayersModel | undefined;
  let session: OnnxSession | undefined;
  try {
    model = await loadCheckpointModel(modelPath);
    const o: Objective = { task: pre.task ?? 'classification', classes: pre.classNames.length };
    const threads = options.threads ?? coreCount();
    const { analysis } = opened.doc;
    session = await inferenceEngine(options.inference ?? inferencePreference(), log).open(
      () => {
        if (!analysis) throw new Error(`${runDir}'s spec snapshot does not describe a model`);
        return analysis;
      },
      model,
      { threads },
    );
    const inference = session ? 'onnxruntime' : 'tfjs';
    log(inferenceNote(session, threads));
    // A multi-label model decides at the thresholds tuned on validation for the checkpoint's epoch.
    const thresholds =
      o.task === 'multilabel' ? checkpointThresholds(runDir, modelPath, o.classes).thresholds : undefined;
    const scored = await scoreExamples(scorer(model, session, o), opened, o, { batchSize, thresholds, ...options });
    const id = newEvaluationId(opened.split);
    const predictionsFile =
      scored.examples &&
      writePredictions(runDir, {
        version: 1,
        evaluation: id,
        split: opened.split,
        dataRoot: opened.dataRoot,
        classNames: pre.classNames,
        examples: scored.examples,
      });
    const { loss, accuracy, confusion, examples, multilabel, segmentation } = scored.evaluation;
    const evaluation = appendEvaluation(runDir, {
      kind: 'evaluate',
      ...(predictionsFile ? { id } : {}),
      split: opened.split,
      ...checkpointPosition(runDir, modelPath),
      loss,
      accuracy,
      classNames: pre.classNames,
      confusion,
      examples,
      ...(multilabel ? { multilabel } : {}),
      ...(segmentation ? { segmentation } : {}),
    });
    return {
      runDir,
      label: opened.label,
      evaluation,
      ...(predictionsFile ? { predictionsFile } : {}),
      skipped: scored.skipped,
      inference,
    };
  } finally {
    await session?.release();
    model?.dispose();
    await opened.data.close();
  }
}

/** 8-bit pixels of `p` (16-bit sources scaled). */
function eightBit(p: Pixels): Uint8Array {
  if (p.data instanceof Uint8Array && p.maxValue === 255) return p.data;
  return Uint8Array.from(p.data, (v) => Math.round((v * 255) / p.maxValue));
}

/**
 * The image files of examples `params.indices` of an evaluation (see `EvaluationRequests['exampleImages']`):
 * image files as they are; IDX/CIFAR records read with the run's data and written once as PNG files.
 */
export async function exampleImages(params: ExampleImagesParams, log: Log = () => undefined): Promise<string[]> {
  const { runDir } = params;
  const predictions = readPredictions(runDir, params.evaluation);
  const byIndex = new Map(predictions.examples.map((e) => [e.index, e]));
  const wanted = params.indices.map((i) => {
    const e = byIndex.get(i);
    if (!e) throw new Error(`evaluation ${params.evaluation} has no example ${i}`);
    return e;
  });
  const files = wanted.map((e) =>
    e.record === undefined ? sourcePath(predictions, e) : exampleImageFile(runDir, params.evaluation, e.index),
  );
  const missing = wanted.filter((e, k) => e.record !== undefined && !fs.existsSync(files[k]));
  if (missing.length === 0) return files;
  const pre = readPreprocessing(runDir);
  const opened = await openEvaluationData(runDir, pre, predictions.split, log);
  try {
    fs.mkdirSync(path.dirname(exampleImageFile(runDir, params.evaluation, 0)), { recursive: true });
    for (const e of missing) {
      if (e.index >= opened.dataset.length)
        throw new Error(
          `the ${predictions.split} data has ${opened.dataset.length} examples now, not the ones evaluated: evaluate the run again`,
        );
      const p = await opened.dataset.read(e.index, { height: pre.input.height, width: pre.input.width });
      const image = sharp(Buffer.from(eightBit(p)), {
        raw: { width: p.width, height: p.height, channels: p.channels as 1 | 3 },
      });
      // A grayscale record stays a one-channel PNG.
      const png = await (p.channels === 1 ? image.toColourspace('b-w') : image).png().toBuffer();
      writeFileAtomicSync(exampleImageFile(runDir, params.evaluation, e.index), png);
    }
  } finally {
    await opened.data.close();
  }
  return files;
}
