/**
 * The spec's `task` checked against its model: a segmentation spec builds an FC-DenseNet (a preset such as
 * fc-densenet103, or blockConfig + bottleneckLayers + upBlockConfig), a classification spec a classifier. Pure.
 */
import { type Checker, isInt, show } from './checker';
import type { JsonPath } from './parse';
import type { Preset } from './presets';
import type { ModelConfig, ResolvedSpec, Task } from './types';

const TASKS: readonly Task[] = ['classification', 'multilabel', 'segmentation'];

/**
 * The spec's `task` (the preset's, else classification) and, for segmentation, the FC-DenseNet's bottleneck and
 * up path (`model.bottleneckLayers`, `model.upBlockConfig`; the down path mirrored by default) set on `model`.
 * Undefined, with a diagnostic, when the task and the model do not fit together.
 */
export function resolveTask(
  c: Checker,
  doc: Record<string, unknown>,
  m: Record<string, unknown>,
  preset: Preset | undefined,
  model: ModelConfig,
): Task | undefined {
  if (doc.task !== undefined && !TASKS.includes(doc.task as Task)) return undefined; // the schema check says so
  const task = (doc.task as Task | undefined) ?? preset?.task ?? 'classification';
  const decoderFields = (['bottleneckLayers', 'upBlockConfig'] as const).filter((k) => m[k] !== undefined);
  if (task !== 'segmentation') {
    if (decoderFields.length > 0) {
      c.report(
        ['model', decoderFields[0]],
        'error',
        'decoder-needs-segmentation',
        `${decoderFields[0]} builds the up path of an FC-DenseNet, a segmentation network: add "task": "segmentation" (with masks in data), or remove ${decoderFields.join(' and ')}.`,
      );
      return undefined;
    }
    if (model.decoder) {
      c.report(
        doc.task === undefined ? ['model', 'preset'] : ['task'],
        'error',
        'preset-needs-segmentation',
        `${preset?.name ?? 'This model'} is an FC-DenseNet, a segmentation network (a class per pixel): set "task": "segmentation", or choose a classification preset such as densenet121.`,
        doc.task === undefined ? undefined : c.replaceFix(['task'], 'Set task to "segmentation"', 'segmentation'),
      );
      return undefined;
    }
    return task;
  }
  // Segmentation: an FC-DenseNet.
  let ok = true;
  const at: JsonPath = ['model'];
  for (const key of ['bnSize', 'compression'] as const) {
    if (m[key] === undefined) continue;
    c.report(
      [...at, key],
      'error',
      `${key}-segmentation`,
      `${key} does not apply to an FC-DenseNet (task segmentation): its dense layers have no bottleneck and its transitions down keep every channel. Remove ${key}.`,
    );
    ok = false;
  }
  if (model.stem.stride !== 1 || model.stem.pool !== 'none') {
    c.report(
      m.stem === undefined ? ['task'] : [...at, 'stem'],
      'error',
      'stem-segmentation',
      'An FC-DenseNet predicts a class for every input pixel, so its stem must keep the resolution: set "stem": {"kernelSize": 3, "stride": 1, "pool": "none", "norm": false}, or start from preset fc-densenet103.',
    );
    ok = false;
  }
  const bottleneck =
    c.int(
      m,
      'bottleneckLayers',
      at,
      1,
      'bottleneckLayers',
      'layers of the dense block between the down and the up path (15 in FC-DenseNet103).',
      [15],
    ) ?? (m.bottleneckLayers === undefined ? model.decoder?.bottleneckLayers : undefined);
  if (bottleneck === undefined) {
    if (m.bottleneckLayers === undefined)
      c.report(
        m.preset === undefined ? at : ['model', 'preset'],
        'error',
        'bottleneckLayers-missing',
        'A segmentation spec builds an FC-DenseNet: start from "preset": "fc-densenet103" (or fc-densenet56, fc-densenet67), or add "bottleneckLayers" (the layers between the down and the up path, e.g. 15).',
      );
    return undefined;
  }
  const mirrored = [...model.blockConfig].reverse();
  let up: number[] = m.blockConfig === undefined && model.decoder ? [...model.decoder.upBlockConfig] : mirrored;
  if (m.upBlockConfig !== undefined) {
    const uat: JsonPath = ['model', 'upBlockConfig'];
    const given = m.upBlockConfig;
    if (!Array.isArray(given) || given.some((n) => !isInt(n) || n < 1)) {
      c.report(
        uat,
        'error',
        'upBlockConfig-invalid',
        `upBlockConfig must be a list of positive layer counts, one per up block, coarsest first, e.g. ${JSON.stringify(mirrored)} (the down path mirrored); not ${show(given)}.`,
        c.suggestFixes(uat, 'upBlockConfig', [mirrored]),
      );
      return undefined;
    }
    up = given as number[];
  }
  if (up.length !== model.blockConfig.length) {
    c.report(
      m.upBlockConfig !== undefined ? ['model', 'upBlockConfig'] : ['model', 'blockConfig'],
      'error',
      'upBlockConfig-length',
      `An FC-DenseNet has one up block per down block: blockConfig has ${model.blockConfig.length} and upBlockConfig ${up.length}. Use e.g. "upBlockConfig": ${JSON.stringify(mirrored)} (the down path mirrored).`,
      m.upBlockConfig !== undefined
        ? c.suggestFixes(['model', 'upBlockConfig'], 'upBlockConfig', [mirrored])
        : undefined,
    );
    return undefined;
  }
  model.bnSize = 0;
  model.compression = 1;
  model.decoder = { bottleneckLayers: bottleneck, upBlockConfig: up };
  return ok ? task : undefined;
}

/** The training section against the task: loss weights (checkLossWeights) and the early stopping monitor (checkMonitor). */
export function checkTaskTraining(c: Checker, doc: Record<string, unknown>, r: ResolvedSpec): void {
  checkLossWeights(c, doc, r);
  checkMonitor(c, doc, r);
}

/** `training.lossWeights` gives one weight per class (per label for multilabel). */
function checkLossWeights(c: Checker, doc: Record<string, unknown>, r: ResolvedSpec): void {
  const t = doc.training as Record<string, unknown> | undefined;
  const weights = t?.lossWeights;
  if (!Array.isArray(weights) || weights.length === r.classes) return;
  const what = r.task === 'multilabel' ? 'label' : 'class';
  c.report(
    ['training', 'lossWeights'],
    'error',
    'lossWeights-length',
    `lossWeights has ${weights.length} weight(s) but the model has ${r.classes} ${what}es: give one weight per ${what}, in the order of the ${what} names (1 leaves a ${what} as it is).`.replace(
      'labeles',
      'labels',
    ),
  );
}

/** The validation figures of each task an early stopping monitor can watch besides the loss and accuracy. */
const TASK_MONITORS: Record<string, Task> = { val_mean_auroc: 'multilabel', val_mean_iou: 'segmentation' };

/**
 * `training.earlyStopping.monitor` fits the spec: `val_mean_auroc` is a multi-label figure, `val_mean_iou` a
 * segmentation one, and a `val_` figure needs validation data (without it the monitor never improves and the
 * training would stop after `patience` epochs).
 */
export function checkMonitor(c: Checker, doc: Record<string, unknown>, r: ResolvedSpec): void {
  const t = doc.training as Record<string, unknown> | undefined;
  const es = t?.earlyStopping as Record<string, unknown> | undefined;
  if (typeof es !== 'object' || es === null) return;
  const monitor = typeof es.monitor === 'string' ? es.monitor : 'val_loss';
  const at: JsonPath =
    es.monitor === undefined ? ['training', 'earlyStopping'] : ['training', 'earlyStopping', 'monitor'];
  const own = r.task === 'multilabel' ? 'val_mean_auroc' : r.task === 'segmentation' ? 'val_mean_iou' : undefined;
  const needs = TASK_MONITORS[monitor];
  if (needs !== undefined && needs !== r.task) {
    c.report(
      at,
      'error',
      'monitor-task',
      `${monitor} is a figure of a ${needs} task and this spec's task is ${r.task}: watch val_loss or val_accuracy${own ? ` (or ${own})` : ''} instead.`,
      c.suggestFixes(at, 'monitor', own ? ['val_loss', own] : ['val_loss', 'val_accuracy']),
    );
    return;
  }
  const data = doc.data as Record<string, unknown> | undefined;
  if (monitor.startsWith('val_') && data?.validation === undefined)
    c.report(
      at,
      'error',
      'monitor-needs-validation',
      `Early stopping watches ${monitor}, a validation figure, but the spec has no validation data: add "validation": { "split": 0.1 } to data, or watch loss or accuracy.`,
      es.monitor === undefined ? undefined : c.suggestFixes(at, 'monitor', ['loss', 'accuracy']),
    );
}
