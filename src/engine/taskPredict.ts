/**
 * Predictions of the tasks beyond one class per image, for `densenet-lab predict`: a multi-label model's labels
 * over their thresholds (each label's threshold tuned on validation when the checkpoint's epoch was validated,
 * else 0.5), and a segmentation model's mask, written as PNG files at the image's own size (a label map whose
 * pixel values are the class indices, as the training masks, and a picture in the class colours).
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { readEvaluations } from '../runs/evaluations';
import type { LabelPrediction, TaskPrediction } from '../protocol/features';
import type { Preprocessing } from '../runs/preprocessing';
import { readTrainingState } from '../runs/checkpointFiles';
import { defaultPalette, parseColor } from './data/mask';
import { inputTensor, loadImageInput } from './inspection';
import { read, tidyPlain } from './inspection/tensors';
import type { OnnxSession } from './onnxRuntime';
import { onnxProbabilities } from './training/onnxValidation';
import { tf } from './tf';

/** Each label's decision threshold for a checkpoint, and where it comes from (for the log). */
export interface CheckpointThresholds {
  thresholds: number[];
  source: string;
}

/**
 * The thresholds of the validation of the checkpoint's epoch (tuned there for each label's best F1), else of the
 * run's last validation, else 0.5 for every label.
 */
export function checkpointThresholds(runDir: string, modelPath: string, labels: number): CheckpointThresholds {
  const dir = modelPath.endsWith('.json') ? path.dirname(modelPath) : modelPath;
  let epoch: number | undefined;
  try {
    epoch = readTrainingState(dir)?.epoch;
  } catch {
    epoch = undefined; // a checkpoint without a readable training state: the last validation's thresholds
  }
  const validations = readEvaluations(runDir).records.filter(
    (r) => r.kind === 'validation' && r.multilabel && r.multilabel.labels.length === labels,
  );
  const chosen = validations.filter((r) => r.epoch === epoch).pop() ?? validations.pop();
  if (!chosen?.multilabel)
    return { thresholds: new Array<number>(labels).fill(0.5), source: '0.5 (no validation saved)' };
  return {
    thresholds: chosen.multilabel.labels.map((l) => l.threshold),
    source: `tuned on the validation of epoch ${chosen.epoch ?? '?'}`,
  };
}

/** Every label of one image's probabilities, most probable first. */
export function labelPredictions(
  probs: Float32Array,
  pre: Preprocessing,
  thresholds: readonly number[],
): LabelPrediction[] {
  return Array.from(probs, (probability, index) => ({
    label: pre.classNames[index] ?? String(index),
    index,
    probability,
    threshold: thresholds[index],
    present: probability >= thresholds[index],
  })).sort((a, b) => b.probability - a.probability);
}

/** The model's output for one image file: per-label probabilities, or the class of each pixel ([H·W]). */
async function modelOutput(
  model: LayersModel,
  pre: Preprocessing,
  file: string,
  session: OnnxSession | undefined,
): Promise<Float32Array | Int32Array> {
  const { input } = await loadImageInput(file, pre);
  const { height, width } = pre.input;
  const segmentation = pre.task === 'segmentation';
  if (session) {
    const { probabilities } = await session.run(input, 1);
    if (!segmentation) return probabilities;
    return tidyPlain(() =>
      Int32Array.from(
        tf.argMax(onnxProbabilities(probabilities, 1, pre.classNames.length, [height, width]), -1).dataSync(),
      ),
    );
  }
  return tidyPlain(() => {
    const out = model.predict(inputTensor(model, input)) as Tensor;
    return segmentation ? Int32Array.from(tf.argMax(out, -1).dataSync()) : read(out);
  });
}

/** A multi-label model's labels for one image file. */
export async function predictLabels(
  model: LayersModel,
  pre: Preprocessing,
  file: string,
  thresholds: readonly number[],
  session?: OnnxSession,
): Promise<LabelPrediction[]> {
  return labelPredictions((await modelOutput(model, pre, file, session)) as Float32Array, pre, thresholds);
}

/** The class colours of a run as 0xRRGGBB: its data.classList's, else the default palette. */
function colorsOf(pre: Preprocessing): number[] {
  return (pre.classColors ?? defaultPalette(pre.classNames.length)).map(parseColor);
}

/** The files a segmentation prediction wrote and the share of the image each class covers. */
export interface MaskPrediction {
  mask: string;
  colored: string;
  /** Classes present, largest first: the share of the pixels predicted as each. */
  classes: { class: string; index: number; share: number }[];
}

/**
 * A segmentation model's mask of one image file, written in `outDir` as `<name>.mask.png` (8-bit label map at
 * the image's size, nearest neighbour) and `<name>.mask-color.png` (the class colours).
 */
export async function predictMask(
  model: LayersModel,
  pre: Preprocessing,
  file: string,
  outDir: string,
  session?: OnnxSession,
): Promise<MaskPrediction> {
  const classes = (await modelOutput(model, pre, file, session)) as Int32Array;
  if (pre.classNames.length > 256)
    throw new Error(`a mask PNG holds at most 256 classes; this model has ${pre.classNames.length}`);
  const { height, width } = pre.input;
  const meta = await sharp(file).metadata();
  const size = { width: meta.width ?? width, height: meta.height ?? height };
  const resize = { ...size, kernel: 'nearest' as const, fit: 'fill' as const };
  const base = path.join(outDir, path.parse(file).name);
  fs.mkdirSync(outDir, { recursive: true });
  const labels = Buffer.from(Uint8Array.from(classes));
  await sharp(labels, { raw: { width, height, channels: 1 } })
    .resize(resize)
    .png()
    .toFile(`${base}.mask.png`);
  const colors = colorsOf(pre);
  const rgb = Buffer.alloc(width * height * 3);
  classes.forEach((c, p) => {
    rgb[3 * p] = (colors[c] >> 16) & 255;
    rgb[3 * p + 1] = (colors[c] >> 8) & 255;
    rgb[3 * p + 2] = colors[c] & 255;
  });
  await sharp(rgb, { raw: { width, height, channels: 3 } })
    .resize(resize)
    .png()
    .toFile(`${base}.mask-color.png`);
  const counts = new Array<number>(pre.classNames.length).fill(0);
  for (const c of classes) counts[c]++;
  const present = counts
    .map((n, index) => ({ class: pre.classNames[index], index, share: n / classes.length }))
    .filter((c) => c.share > 0)
    .sort((a, b) => b.share - a.share);
  return { mask: `${base}.mask.png`, colored: `${base}.mask-color.png`, classes: present };
}

/**
 * A segmentation model's prediction of one input for the feature maps panel: the class of each pixel, each
 * class's probability map as 8-bit codes, and the share of the pixels each class takes.
 */
export function segmentationPrediction(
  model: LayersModel,
  input: Float32Array,
  pre: Preprocessing,
): Extract<TaskPrediction, { task: 'segmentation' }> {
  const { height, width } = pre.input;
  const c = pre.classNames.length;
  if (c > 256) throw new Error(`a mask holds at most 256 classes; this model has ${c}`);
  const probs = tidyPlain(() => read(model.predict(inputTensor(model, input)) as Tensor));
  if (probs.length !== height * width * c)
    throw new Error(
      `the model outputs ${probs.length} values, not ${height}×${width}×${c}: is it a segmentation model?`,
    );
  const mask = new Uint8Array(height * width);
  const probabilities = new Uint8Array(probs.length);
  const counts = new Array<number>(c).fill(0);
  for (let p = 0; p < mask.length; p++) {
    let best = 0;
    for (let k = 0; k < c; k++) {
      const v = probs[p * c + k];
      probabilities[p * c + k] = Math.round(Math.min(Math.max(v, 0), 1) * 255);
      if (v > probs[p * c + best]) best = k;
    }
    mask[p] = best;
    counts[best]++;
  }
  const colors = pre.classColors ?? defaultPalette(c);
  return {
    task: 'segmentation',
    height,
    width,
    mask,
    probabilities,
    classes: pre.classNames.map((name, k) => ({ name, color: colors[k], share: counts[k] / mask.length })),
  };
}
