/**
 * Validation of a `*.densenet.json` spec: the schema check (schemaCheck.ts: types, ranges, closed enums, unknown
 * keys), then what a schema cannot say: resolves the preset with a message for each model field that says what to
 * change, runs the analysis (only on a spec within the schema's bounds) and checks the input size, the data
 * paths, the class count and the training memory. Never throws: every problem becomes a ranged diagnostic.
 */
import { analyze, type Analysis, trainingMemory } from './analyze';
import { freezePlan, freezeProblem, nearestFreezeNames } from './freeze';
import { formatBytes, formatShape } from './format';
import { Checker, clip, isInt, isObject, show } from './checker';
import { checkData, type FileProbe } from './dataCheck';
import { type JsonPath, type ParsedSpec, parseSpec, type SpecDiagnostic } from './parse';
import { findPretrainedName, looksPretrained, nearestPretrainedName, PRETRAINED_NAMES } from './pretrainedNames';
import { cloneModel, findPreset, nearestPreset, PRESET_NAMES, type Preset } from './presets';
import { schemaCheck } from './schemaCheck';
import { removeEntryFix, reportInputTooSmall } from './specFixes';
import { SPEC_LIMITS } from './specSchema';
import { checkTaskTraining, resolveTask } from './taskCheck';
import type { InputShape, ModelConfig, ResolvedSpec, StemPool, Task } from './types';

export type { FileProbe } from './dataCheck';
export interface ValidationOptions {
  /** Absolute path of the spec file: data paths are relative to its folder. */
  specPath?: string;
  fs?: FileProbe;
  /** Warn when the training memory estimate is above this (bytes). */
  maxTrainingMemoryBytes?: number;
}

export interface ValidationResult {
  parsed: ParsedSpec;
  diagnostics: SpecDiagnostic[];
  /** Present when the model could be resolved (the preset exists and the model fields are usable). */
  resolved?: ResolvedSpec;
  analysis?: Analysis;
}

/** torchvision's DenseNet constructor defaults (= DenseNet-121), used when no preset is given. */
const BASE_MODEL: ModelConfig = (findPreset('densenet121') as Preset).model;
export const DEFAULT_BATCH_SIZE = 32;
export const DEFAULT_MAX_TRAINING_MEMORY_BYTES = 8192 * 1024 * 1024;

/** Validates spec text. `options.fs` enables the data checks; without it they are skipped. */
export function validateSpec(text: string, options: ValidationOptions = {}): ValidationResult {
  try {
    return validateText(text, options);
  } catch (e) {
    return internalErrorResult(text, e);
  }
}

/** The one diagnostic of a check that failed inside DenseNet Lab (a bug, not the spec's fault). */
export function internalErrorDiagnostic(text: string, e: unknown): SpecDiagnostic {
  const why = String(e instanceof Error ? e.message : e).slice(0, 200);
  return {
    offset: 0,
    length: Math.min(1, text.length),
    severity: 'error',
    code: 'internal-error',
    message: `DenseNet Lab could not check this spec (internal error: ${why}); please report it with the spec.`,
  };
}

/** A validation result holding only an internal error (nothing parsed, nothing resolved). */
export function internalErrorResult(text: string, e: unknown): ValidationResult {
  return {
    parsed: { text, root: undefined, value: undefined, syntaxErrors: [] },
    diagnostics: [internalErrorDiagnostic(text, e)],
  };
}

function validateText(text: string, options: ValidationOptions): ValidationResult {
  const parsed = parseSpec(text);
  const c = new Checker(parsed);
  c.diagnostics.push(...parsed.syntaxErrors);
  const doc = parsed.value;
  if (!isObject(doc)) {
    if (parsed.syntaxErrors.length === 0) {
      c.report(
        [],
        'error',
        'not-object',
        'A DenseNet spec is a JSON object: start from {"version": 1, "name": "my-model", "model": {"preset": "densenet121"}}.',
      );
    }
    return { parsed, diagnostics: c.diagnostics };
  }

  if (doc.version === undefined) {
    c.report(
      [],
      'warning',
      'version-missing',
      'Add "version": 1 so later versions of DenseNet Lab read this spec the same way.',
      parsed.root && parsed.root.type === 'object'
        ? [
            {
              title: 'Add "version": 1',
              edits: [{ offset: parsed.root.offset + 1, length: 0, newText: '\n  "version": 1,' }],
            },
          ]
        : undefined,
    );
  } else if (doc.version !== 1) {
    c.report(
      ['version'],
      'error',
      'version-unsupported',
      `Version ${show(doc.version)} is not supported: this DenseNet Lab reads version 1 specs. Set "version": 1.`,
      c.replaceFix(['version'], 'Set version to 1', 1),
    );
  }

  const schema = schemaCheck(parsed);
  const resolved = resolve(c, doc);
  // The schema's diagnostics where the checks above said nothing (theirs say more about a DenseNet).
  const taken = new Set(c.diagnostics.map((d) => `${d.offset}:${d.length}`));
  c.diagnostics.push(...schema.diagnostics.filter((d) => !taken.has(`${d.offset}:${d.length}`)));
  // A model out of the schema's bounds is not analysed (the analysis stays fast: see SPEC_LIMITS).
  if (!resolved || !schema.analysable) return finish(c, doc, parsed, undefined, options);
  const analysis = analyze(resolved.model, resolved.input, resolved.classes, resolved.task);
  if (analysis.problem) {
    reportInputTooSmall(c, resolved.model, resolved.input, analysis);
  } else {
    checkMemory(c, doc, resolved, analysis, options.maxTrainingMemoryBytes ?? DEFAULT_MAX_TRAINING_MEMORY_BYTES);
    checkFreeze(c, doc, resolved, analysis);
    checkTaskTraining(c, doc, resolved);
  }
  return finish(c, doc, parsed, { resolved, analysis }, options);
}

/** Adds the data checks (when the options give a file system) and returns the result. */
function finish(
  c: Checker,
  doc: Record<string, unknown>,
  parsed: ParsedSpec,
  model: { resolved: ResolvedSpec; analysis: Analysis } | undefined,
  options: ValidationOptions,
): ValidationResult {
  if (model) checkWeightsRef(c, model.resolved, options);
  if (options.fs && options.specPath) checkData(c, doc, model?.resolved, options.fs, options.specPath);
  return { parsed, diagnostics: c.diagnostics, ...model };
}

/**
 * `model.weights`: a known pretrained name must exist and fit the model's preset; a path must exist (when the
 * options give a file system).
 */
function checkWeightsRef(c: Checker, r: ResolvedSpec, options: ValidationOptions): void {
  const ref = r.weights;
  if (ref === undefined) return;
  const at = ['model', 'weights'];
  if (looksPretrained(ref)) {
    const known = findPretrainedName(ref);
    if (!known) {
      const near = nearestPretrainedName(ref);
      c.report(
        at,
        'error',
        'unknown-pretrained',
        `Unknown pretrained model "${ref}": did you mean "${near}"? Known: ${PRETRAINED_NAMES.map((p) => p.name).join(', ')}.`,
        c.replaceFix(at, `Change to "${near}"`, near),
      );
    } else if (r.preset !== known.preset) {
      c.report(
        at,
        'error',
        'pretrained-preset',
        `${known.name} holds the weights of ${known.preset}: set "preset": "${known.preset}" (and no fields that change its layers), or choose the weights of ${r.preset ?? 'this model'}.`,
      );
    }
    return;
  }
  if (!options.fs || !options.specPath) return;
  const abs = options.fs.resolve(options.specPath, ref);
  if (options.fs.kind(abs) === undefined)
    // A warning: a new training refuses to start without them, but resuming a run does not read them again.
    c.report(
      at,
      'warning',
      'weights-missing',
      `The weights ${ref} do not exist (${abs}): a new training cannot start from them. Give a weights file (.pth, .safetensors, .h5, .onnx), a run folder, or a known name such as torchvision:densenet121.`,
    );
}

/** Resolves the model (preset and fields), input, classes and training settings; undefined on any error. */
function resolve(c: Checker, doc: Record<string, unknown>): ResolvedSpec | undefined {
  const section = resolveModelSection(c, doc);
  if (!section) return undefined;
  const { fields: m, preset } = section;
  const model = cloneModel(preset?.model ?? BASE_MODEL);
  const fieldsOk = resolveModelFields(c, m, model);
  const stemOk = resolveStem(c, m, model);
  const task = section.ok && fieldsOk && stemOk ? resolveTask(c, doc, m, preset, model) : undefined;
  const ok = section.ok && fieldsOk && stemOk && task !== undefined;

  // With an unknown preset, missing input/classes would have come from it: do not report them too.
  const quiet = typeof m.preset === 'string' && !preset;
  const input = resolveInput(c, doc, preset, quiet);
  const classes = resolveClasses(c, doc, preset, quiet);
  if (!ok || !input || classes === undefined) return undefined;
  const training = resolveTraining(doc);
  const name = typeof doc.name === 'string' && doc.name.trim() ? doc.name : (preset?.name ?? 'densenet');
  return {
    name,
    task: task as Task,
    input,
    classes,
    model,
    preset: preset?.name,
    weights: typeof m.weights === 'string' ? m.weights : undefined,
    batchSize: training.batchSize,
    optimizer: training.optimizer,
    memoryEfficient: training.memoryEfficient,
    freeze: training.freeze,
  };
}

/** The model section, checked: its fields (none when it is missing), the preset it names, and whether all is well. */
interface ModelSection {
  fields: Record<string, unknown>;
  preset?: Preset;
  ok: boolean;
}

/** Checks that there is a model object and that its preset, if any, exists; undefined when `model` is no object. */
function resolveModelSection(c: Checker, doc: Record<string, unknown>): ModelSection | undefined {
  let ok = true;
  const modelDoc = doc.model;
  let preset: Preset | undefined;
  if (modelDoc !== undefined && !isObject(modelDoc)) {
    c.report(
      ['model'],
      'error',
      'model-invalid',
      'model must be an object, e.g. {"preset": "densenet121"} or {"growthRate": 32, "blockConfig": [6, 12, 24, 16]}.',
    );
    return undefined;
  }
  const m = (modelDoc ?? {}) as Record<string, unknown>;
  if (modelDoc === undefined) {
    c.report(
      [],
      'error',
      'model-missing',
      'Add a "model" section, e.g. "model": {"preset": "densenet121"}, or give growthRate, blockConfig and numInitFeatures.',
    );
    ok = false;
  }
  if (m.preset !== undefined) {
    if (typeof m.preset !== 'string') {
      c.report(
        ['model', 'preset'],
        'error',
        'preset-invalid',
        `preset must be a name in quotes, one of: ${PRESET_NAMES.join(', ')}.`,
      );
      ok = false;
    } else {
      preset = findPreset(m.preset);
      if (!preset) {
        const near = nearestPreset(m.preset);
        c.report(
          ['model', 'preset'],
          'error',
          'preset-unknown',
          `Unknown preset "${clip(m.preset)}": did you mean "${near}"? Presets: ${PRESET_NAMES.join(', ')}.`,
          c.replaceFix(['model', 'preset'], `Change to "${near}"`, near),
        );
        ok = false;
      }
    }
  }
  return { fields: m, preset, ok };
}

/**
 * Reads the model fields given in the spec (growthRate, blockConfig, bnSize, compression, numInitFeatures,
 * dropRate) over `model`, which holds the preset's or the default values; false when any is invalid.
 */
function resolveModelFields(c: Checker, m: Record<string, unknown>, model: ModelConfig): boolean {
  let ok = true;
  const at: JsonPath = ['model'];
  const growth = c.int(
    m,
    'growthRate',
    at,
    1,
    'growthRate (k)',
    'each layer of a dense block adds k feature maps; the paper uses 12, 24, 32, 40 or 48.',
    [12, 24, 32, 40, 48],
  );
  if (growth !== undefined) model.growthRate = growth;
  else if (m.growthRate !== undefined) ok = false;

  if (!resolveBlockConfig(c, m, model)) ok = false;

  const bnSize = c.int(
    m,
    'bnSize',
    at,
    0,
    'bnSize',
    'the bottleneck 1x1 convolution has bnSize·k filters (4 in DenseNet-BC); 0 means no bottleneck.',
    [4, 0],
  );
  if (bnSize !== undefined) model.bnSize = bnSize;
  else if (m.bnSize !== undefined) ok = false;

  if (m.compression !== undefined) {
    const v = m.compression;
    if (typeof v !== 'number' || !(v > 0 && v <= 1)) {
      c.report(
        [...at, 'compression'],
        'error',
        'compression-range',
        `compression must be in (0, 1], not ${show(v)}: a transition keeps floor(compression x channels) feature maps; use 0.5 (DenseNet-BC) or 1 (no compression).`,
        c.suggestFixes([...at, 'compression'], 'compression', typeof v === 'number' && v > 1 ? [1, 0.5] : [0.5, 1]),
      );
      ok = false;
    } else model.compression = v;
  }

  const init = c.int(
    m,
    'numInitFeatures',
    at,
    1,
    'numInitFeatures',
    `the stem convolution has this many filters (64 for DenseNet-121, 2k = ${2 * model.growthRate} for DenseNet-BC).`,
    [...new Set([64, 2 * model.growthRate])],
  );
  if (init !== undefined) model.numInitFeatures = init;
  else if (m.numInitFeatures !== undefined) ok = false;

  if (m.dropRate !== undefined) {
    const v = m.dropRate;
    if (typeof v !== 'number' || v < 0 || v >= 1) {
      c.report(
        [...at, 'dropRate'],
        'error',
        'dropRate-range',
        `dropRate must be in [0, 1), not ${show(v)}: the fraction of units dropped after each convolution; 0 turns dropout off (the paper uses 0.2 without augmentation).`,
        c.suggestFixes([...at, 'dropRate'], 'dropRate', [0, 0.2]),
      );
      ok = false;
    } else model.dropRate = v;
  }
  return ok;
}

/** Reads model.blockConfig, if given, into `model`: a non-empty list of positive layer counts. False when invalid. */
function resolveBlockConfig(c: Checker, m: Record<string, unknown>, model: ModelConfig): boolean {
  if (m.blockConfig === undefined) return true;
  const at: JsonPath = ['model', 'blockConfig'];
  // More blocks than the schema allows: the schema check says so once (not once per block).
  if (Array.isArray(m.blockConfig) && m.blockConfig.length > SPEC_LIMITS.blocks) return false;
  if (!Array.isArray(m.blockConfig) || m.blockConfig.length === 0) {
    c.report(
      at,
      'error',
      'blockConfig-invalid',
      `blockConfig must be a non-empty list of layer counts, one per dense block, e.g. [6, 12, 24, 16]; not ${show(m.blockConfig)}.`,
      c.suggestFixes(at, 'blockConfig', [[6, 12, 24, 16]]),
    );
    return false;
  }
  let ok = true;
  m.blockConfig.forEach((n: unknown, i: number) => {
    if (!isInt(n) || n < 1) {
      // The preset's (or the default model's) count for this block, else 1.
      const suggested = model.blockConfig[i] ?? 1;
      const remove = removeEntryFix(c, at, i, `Remove dense block ${i + 1}`);
      c.report(
        [...at, i],
        'error',
        'blockConfig-invalid',
        `Dense block ${i + 1} must have a positive whole number of layers, not ${show(n)}: write e.g. ${suggested}, or remove the block.`,
        [...(c.suggestFixes([...at, i], `dense block ${i + 1}`, [suggested]) ?? []), ...(remove ? [remove] : [])],
      );
      ok = false;
    }
  });
  model.blockConfig = m.blockConfig.map((n: unknown) => (isInt(n) ? n : 0));
  return ok;
}

/** Reads model.stem, if given, into `model.stem` (kernelSize, stride, pool, norm). False when any is invalid. */
function resolveStem(c: Checker, m: Record<string, unknown>, model: ModelConfig): boolean {
  if (m.stem === undefined) return true;
  const sat: JsonPath = ['model', 'stem'];
  if (!isObject(m.stem)) {
    c.report(
      sat,
      'error',
      'stem-invalid',
      'stem must be an object: {"kernelSize": 7, "stride": 2, "pool": "max", "norm": true} (ImageNet) or {"kernelSize": 3, "stride": 1, "pool": "none", "norm": false} (CIFAR).',
    );
    return false;
  }
  let ok = true;
  const s = m.stem;
  const k = c.int(
    s,
    'kernelSize',
    sat,
    1,
    'stem.kernelSize',
    'the stem convolution is kernelSize x kernelSize (7 for ImageNet, 3 for CIFAR).',
    [7, 3],
  );
  if (k !== undefined) model.stem.kernelSize = k;
  else if (s.kernelSize !== undefined) ok = false;
  const st = c.int(
    s,
    'stride',
    sat,
    1,
    'stem.stride',
    'the stem convolution stride (2 for ImageNet, 1 for CIFAR).',
    [2, 1],
  );
  if (st !== undefined) model.stem.stride = st;
  else if (s.stride !== undefined) ok = false;
  if (s.pool !== undefined) {
    if (s.pool === 'max' || s.pool === 'none') model.stem.pool = s.pool as StemPool;
    else {
      c.report(
        [...sat, 'pool'],
        'error',
        'pool-invalid',
        `stem.pool must be "max" (3x3/2 max pooling, ImageNet) or "none" (CIFAR), not ${show(s.pool)}.`,
        c.suggestFixes([...sat, 'pool'], 'stem.pool', ['max', 'none']),
      );
      ok = false;
    }
  }
  if (s.norm !== undefined) {
    if (typeof s.norm === 'boolean') model.stem.norm = s.norm;
    else {
      c.report(
        [...sat, 'norm'],
        'error',
        'norm-invalid',
        `stem.norm must be true (batch-norm + ReLU after the stem convolution) or false, not ${show(s.norm)}.`,
        c.suggestFixes([...sat, 'norm'], 'stem.norm', [true, false]),
      );
      ok = false;
    }
  }
  return ok;
}

/**
 * The training settings the analysis uses; a missing value falls back to its default here (the schema check
 * reports unusable ones, which then stop training).
 */
function resolveTraining(
  doc: Record<string, unknown>,
): Pick<ResolvedSpec, 'batchSize' | 'optimizer' | 'memoryEfficient' | 'freeze'> {
  const training = isObject(doc.training) ? doc.training : {};
  const batchSize = isInt(training.batchSize) && training.batchSize > 0 ? training.batchSize : DEFAULT_BATCH_SIZE;
  const optimizer = typeof training.optimizer === 'string' ? training.optimizer : 'sgd';
  const freeze = typeof training.freeze === 'string' ? training.freeze : undefined;
  return { batchSize, optimizer, memoryEfficient: training.memoryEfficient === true, freeze };
}

function resolveInput(
  c: Checker,
  doc: Record<string, unknown>,
  preset: Preset | undefined,
  quiet: boolean,
): InputShape | undefined {
  if (doc.input === undefined) {
    if (preset) return { ...preset.input };
    if (quiet) return undefined;
    c.report(
      [],
      'error',
      'input-missing',
      'Add "input": {"height": 224, "width": 224, "channels": 3}: the image size the network takes (a preset gives one).',
    );
    return undefined;
  }
  if (!isObject(doc.input)) {
    c.report(
      ['input'],
      'error',
      'input-invalid',
      'input must be an object: {"height": 32, "width": 32, "channels": 3}.',
    );
    return undefined;
  }
  const i = doc.input;
  const fallback = preset?.input;
  const result: Partial<InputShape> = {};
  let ok = true;
  for (const key of ['height', 'width', 'channels'] as const) {
    const v = c.int(
      i,
      key,
      ['input'],
      1,
      `input.${key}`,
      key === 'channels' ? 'use 1 for grayscale or 3 for RGB images.' : 'images are resized to this many pixels.',
      key === 'channels' ? [1, 3] : [],
    );
    if (v !== undefined) result[key] = v;
    else if (i[key] !== undefined) ok = false;
    else if (fallback) result[key] = fallback[key];
    else if (quiet) ok = false;
    else {
      c.report(
        ['input'],
        'error',
        'input-incomplete',
        `input needs "${key}": give height, width and channels, e.g. {"height": 32, "width": 32, "channels": 3}.`,
      );
      ok = false;
    }
  }
  return ok ? (result as InputShape) : undefined;
}

function resolveClasses(
  c: Checker,
  doc: Record<string, unknown>,
  preset: Preset | undefined,
  quiet: boolean,
): number | undefined {
  if (doc.classes === undefined) {
    if (preset) return preset.classes;
    if (quiet) return undefined;
    c.report(
      [],
      'error',
      'classes-missing',
      'Add "classes": the number of output classes (e.g. 10 for CIFAR-10 or MNIST, 1000 for ImageNet).',
    );
    return undefined;
  }
  const v = c.int(
    doc,
    'classes',
    [],
    2,
    'classes',
    'the classifier has one output per class (10 for CIFAR-10 or MNIST, 1000 for ImageNet).',
    [10, 1000],
  );
  return v;
}

function checkMemory(c: Checker, doc: Record<string, unknown>, r: ResolvedSpec, a: Analysis, limit: number): void {
  const mem = trainingMemory(a, r.batchSize, r.optimizer, r.memoryEfficient);
  if (mem.totalBytes <= limit) return;
  const fixed = mem.totalBytes - mem.activationBytes;
  const perImage = mem.activationBytes / r.batchSize;
  const fitting = Math.floor((limit - fixed) / perImage);
  const advice =
    fitting >= 1
      ? `lower training.batchSize to ${fitting} or less, use a smaller input, or raise the setting densenet.validation.maxTrainingMemoryMB.`
      : 'even one image does not fit: use a smaller input or model, or raise the setting densenet.validation.maxTrainingMemoryMB.';
  const hasBatch = isObject(doc.training) && doc.training.batchSize !== undefined;
  c.report(
    hasBatch ? ['training', 'batchSize'] : ['model'],
    'warning',
    'memory-limit',
    `Training needs about ${formatBytes(mem.totalBytes)} at batch ${r.batchSize} (${formatBytes(mem.activationBytes)} of activations for ${formatShape([r.input.height, r.input.width, r.input.channels])} images), ` +
      `above the limit of ${formatBytes(limit)}: ${advice}`,
    hasBatch && fitting >= 1 ? c.suggestFixes(['training', 'batchSize'], 'training.batchSize', [fitting]) : undefined,
  );
}

/** `training.freeze` names a part or layer of this model; `backboneLearningRate` has layers to act on. */
function checkFreeze(c: Checker, doc: Record<string, unknown>, r: ResolvedSpec, a: Analysis): void {
  const training = isObject(doc.training) ? doc.training : {};
  if (r.freeze !== undefined) {
    const problem = freezeProblem(a, r.freeze);
    if (problem) {
      const near = nearestFreezeNames(a, r.freeze)[0];
      const fix = r.freeze === 'predictions' || r.freeze === 'head' ? 'backbone' : near;
      c.report(
        ['training', 'freeze'],
        'error',
        'freeze-unknown',
        problem,
        c.replaceFix(['training', 'freeze'], `Freeze "${fix}"`, fix),
      );
      return;
    }
  }
  if (training.backboneLearningRate !== undefined && r.freeze !== undefined && freezePlan(a, r.freeze).backbone)
    c.report(
      ['training', 'backboneLearningRate'],
      'warning',
      'backbone-lr-unused',
      `training.freeze "${r.freeze}" freezes the whole backbone, so backboneLearningRate changes nothing: remove it, or freeze less (e.g. a block name such as "conv3").`,
    );
}
