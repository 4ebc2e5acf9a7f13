/** The text of a new spec, as `DenseNet: New Model Spec...` writes it. */
import { analyze, trainingMemory } from './analyze';
import type { Preset } from './presets';
import type { InputShape, Task } from './types';
import { DEFAULT_MAX_TRAINING_MEMORY_BYTES } from './validate';

/** The largest batch (a power of two, at most 64) whose training memory estimate stays under the limit. */
export function fittingBatchSize(
  preset: Preset,
  input: InputShape,
  classes: number,
  limit = DEFAULT_MAX_TRAINING_MEMORY_BYTES,
): number {
  const a = analyze(preset.model, input, classes);
  let batch = 64;
  while (batch > 1 && trainingMemory(a, batch, 'sgd').totalBytes > limit) batch /= 2;
  return batch;
}

/** The input sizes under which `preset` still has at least 1x1 feature maps before its head. */
export function inputFits(preset: Preset, input: InputShape, classes = 10): boolean {
  return !analyze(preset.model, input, classes).problem;
}

/**
 * The training recipe a new spec starts from: the DenseNet paper's SGD for one class per image (300 epochs on
 * CIFAR-sized inputs, 90 on ImageNet-sized), Adam at 0.001 for multi-label (CheXNet's) and segmentation (close to
 * FC-DenseNet's RMSprop at 0.001), with a cosine decay.
 */
function recipe(preset: Preset, task: Task): Record<string, unknown> {
  if (task !== 'classification')
    return { epochs: 100, optimizer: 'adam', learningRate: 0.001, weightDecay: 0.0001, lrSchedule: { type: 'cosine' } };
  return {
    epochs: preset.model.stem.pool === 'none' ? 300 : 90,
    optimizer: 'sgd',
    learningRate: 0.1,
    momentum: 0.9,
    nesterov: true,
    weightDecay: 0.0001,
    lrSchedule: { type: 'step', milestones: [0.5, 0.75], gamma: 0.1 },
  };
}

/**
 * `data`: the spec's data section (paths relative to the spec), or none for a spec to analyse only. `task`: written
 * when it is not classification.
 */
export function newSpecText(
  preset: Preset,
  input: InputShape,
  classes: number,
  name: string,
  data?: Record<string, unknown>,
  task: Task = 'classification',
): string {
  const { epochs, ...rest } = recipe(preset, task);
  const spec = {
    version: 1,
    name,
    ...(task !== 'classification' ? { task } : {}),
    input: { height: input.height, width: input.width, channels: input.channels },
    classes,
    model: { preset: preset.name },
    ...(data ? { data } : {}),
    training: { epochs, batchSize: fittingBatchSize(preset, input, classes), ...rest },
  };
  const json = JSON.stringify(spec, null, 2)
    // Short arrays and the input object on one line, as people write them.
    .replace(/\[\s+([^\]{}]*?)\s+\]/g, (_, inner: string) => `[${inner.split(/,\s*/).join(', ')}]`)
    .replace(/"input": \{\s+([^}]*?)\s+\}/, (_, inner: string) => `"input": { ${inner.split(/,\s*/).join(', ')} }`);
  return (
    json.replace(
      `"preset": "${preset.name}"`,
      `"preset": "${preset.name}"\n    // Fields written here override the preset: growthRate, blockConfig, bnSize, compression,\n    // numInitFeatures, stem, dropRate. Hover a field to see what it does to the network.`,
    ) + '\n'
  );
}
