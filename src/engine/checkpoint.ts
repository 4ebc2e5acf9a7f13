/**
 * Checkpoints: the model in the tfjs layers format exactly as tfjs-node's `file://` handler writes it
 * (model.json {modelTopology, weightsManifest: [{paths: ['weights.bin'], weights}], format, generatedBy,
 * convertedBy} + weights.bin), so tfjs-node's `tf.loadLayersModel('file://.../model.json')` and
 * tensorflowjs_converter read it; the optimizer's `getWeights()` in optimizer.bin with its manifest in
 * training_state.json; and the training position. Each checkpoint folder is replaced atomically
 * (`replaceDirAtomic`), and loading falls back to the `.old` copy a crash may leave.
 *
 * Plain @tensorflow/tfjs has no `file://` handler under Node, hence the IOHandlers here.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { io, LayersModel, Optimizer } from '@tensorflow/tfjs';
import { jsonFileText, replaceDirAtomic, type ReplaceDirOptions } from '../runs/atomic';
import {
  checkTrainingState,
  MODEL_JSON,
  OPTIMIZER_BIN,
  TRAINING_STATE_JSON,
  WEIGHTS_BIN,
  resolveCheckpointDir,
  type OptimizerStateJson,
  type TrainingState,
  type WeightsGroupJson,
} from '../runs/checkpointFiles';
import { JsonObject } from '../runs/jsonCheck';
import { checkWeightsManifest, readWeightFiles } from '../runs/weightFiles';
import { tf } from './tf';

type NamedTensor = Awaited<ReturnType<Optimizer['getWeights']>>[number];

const toBuffer = (data: io.WeightData | undefined): Buffer =>
  data === undefined ? Buffer.alloc(0) : Buffer.from(tf.io.CompositeArrayBuffer.join(data));

const toArrayBuffer = (b: Buffer): ArrayBuffer =>
  b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

function readFileOrExplain(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error(`${what} ${file} does not exist: loading failed`);
    throw e;
  }
}

/** The parsed JSON of `file`; a clear error when it is missing or not JSON. */
function parseJsonFile(file: string, what: string): unknown {
  const text = readFileOrExplain(file, what).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new Error(`${file} is not valid JSON (${(e as Error).message})`);
  }
}

/** Writes `model.json` + `weights.bin` into `dir` (created if needed), field for field as tfjs-node's NodeFileSystem.save. */
async function writeModelArtifacts(dir: string, artifacts: io.ModelArtifacts): Promise<io.SaveResult> {
  if (artifacts.modelTopology instanceof ArrayBuffer)
    throw new Error('saving a binary model topology is not supported');
  if (artifacts.modelTopology == null) throw new Error('the model artifacts have no topology');
  await fs.promises.mkdir(dir, { recursive: true });
  const modelJSON: io.ModelJSON = {
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
  };
  if (artifacts.trainingConfig != null) modelJSON.trainingConfig = artifacts.trainingConfig;
  if (artifacts.signature != null) modelJSON.signature = artifacts.signature;
  if (artifacts.userDefinedMetadata != null) modelJSON.userDefinedMetadata = artifacts.userDefinedMetadata;
  await fs.promises.writeFile(path.join(dir, MODEL_JSON), JSON.stringify(modelJSON), 'utf8');
  await fs.promises.writeFile(path.join(dir, WEIGHTS_BIN), toBuffer(artifacts.weightData));
  return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
}

/** A save handler for `model.save(...)` writing the tfjs-node `file://` layout into `dir`. */
export function fileSystemSaveHandler(dir: string): io.IOHandler {
  return { save: (artifacts: io.ModelArtifacts) => writeModelArtifacts(dir, artifacts) };
}

/** The model.json `file`, type-checked: an object with a topology and a weights manifest. */
function readModelJson(file: string): { modelJSON: io.ModelJSON; manifest: WeightsGroupJson[] } {
  const o = JsonObject.of(file, parseJsonFile(file, 'Path'));
  o.object('modelTopology');
  for (const field of ['format', 'generatedBy', 'convertedBy']) if (o.raw(field) !== null) o.optString(field);
  const manifest = checkWeightsManifest(file, o.raw('weightsManifest'), 'weightsManifest');
  return { modelJSON: o.value as unknown as io.ModelJSON, manifest };
}

/**
 * A load handler reading a layers-format model: `target` is a folder holding model.json, or the model.json
 * file itself; weight files are resolved relative to it, as tfjs-node does, but must stay inside its folder and
 * add up exactly to the bytes the manifest describes (src/runs/weightFiles.ts).
 */
export function fileSystemLoadHandler(target: string): io.IOHandler {
  return {
    async load(): Promise<io.ModelArtifacts> {
      const jsonPath = fs.statSync(target, { throwIfNoEntry: false })?.isDirectory()
        ? path.join(target, MODEL_JSON)
        : target;
      const { modelJSON, manifest } = readModelJson(jsonPath);
      const base = path.dirname(jsonPath);
      return tf.io.getModelArtifactsForJSON(modelJSON, async () => {
        const data = readWeightFiles(base, manifest, jsonPath);
        const specs = manifest.flatMap((g) => g.weights) as unknown as io.WeightsManifestEntry[];
        return [specs, toArrayBuffer(data)];
      });
    },
  };
}

/** Writes the model (model.json + weights.bin) into `dir`, not atomically: use `saveCheckpoint` for that. */
export async function saveModel(model: LayersModel, dir: string): Promise<io.SaveResult> {
  return model.save(fileSystemSaveHandler(dir));
}

/** Loads a layers model from a checkpoint folder (or its `.old` fallback), a model folder or a model.json. */
export async function loadCheckpointModel(dirOrModelJson: string): Promise<LayersModel> {
  const target = resolveCheckpointDir(dirOrModelJson) ?? dirOrModelJson;
  return tf.loadLayersModel(fileSystemLoadHandler(target));
}

// ---- optimizer state ----

/** Scalar variables that optimizers keep outside `getWeights()`, yet need for an exact continuation. */
const EXTRA_OPTIMIZER_SCALARS = ['accBeta1', 'accBeta2'] as const;

interface ScalarVariableLike {
  dataSync(): ArrayLike<number>;
  assign(value: unknown): void;
  size: number;
}

function extraScalar(optimizer: Optimizer, key: string): ScalarVariableLike | undefined {
  const v = (optimizer as unknown as Record<string, unknown>)[key];
  if (typeof v !== 'object' || v === null) return undefined;
  const s = v as Partial<ScalarVariableLike>;
  return typeof s.dataSync === 'function' && typeof s.assign === 'function' && s.size === 1
    ? (s as ScalarVariableLike)
    : undefined;
}

/** Encodes `optimizer.getWeights()` (in its order) and the extra scalars. */
export async function encodeOptimizerState(optimizer: Optimizer): Promise<{ json: OptimizerStateJson; data: Buffer }> {
  const named: NamedTensor[] = await optimizer.getWeights();
  try {
    const { data, specs } = await tf.io.encodeWeights(named);
    const extra: Record<string, number> = {};
    for (const key of EXTRA_OPTIMIZER_SCALARS) {
      const v = extraScalar(optimizer, key);
      if (v) extra[key] = v.dataSync()[0];
    }
    const json: OptimizerStateJson = {
      className: optimizer.getClassName(),
      config: optimizer.getConfig() as Record<string, unknown>,
      weightsManifest: [{ paths: [OPTIMIZER_BIN], weights: specs as WeightsGroupJson['weights'] }],
    };
    if (Object.keys(extra).length) json.extra = extra;
    return { json, data: Buffer.from(data) };
  } finally {
    // getWeights returns a fresh `iter` scalar first, then the optimizer's live variables: dispose only `iter`.
    if (named[0]?.name === 'iter') named[0].tensor.dispose();
  }
}

/**
 * Restores a fresh optimizer (of the same class, built with the same config) from `state` and the weight files
 * in `dir`. The optimizer must then be used on the same variables in the same order as when it was saved (tfjs
 * optimizers match their slots to variables by position). Slots it already had are replaced, not disposed.
 */
export async function restoreOptimizerState(
  optimizer: Optimizer,
  state: OptimizerStateJson,
  dir: string,
): Promise<void> {
  if (optimizer.getClassName() !== state.className) {
    throw new Error(`checkpoint optimizer is ${state.className}, cannot restore it into ${optimizer.getClassName()}`);
  }
  const manifest = checkWeightsManifest(
    path.join(dir, TRAINING_STATE_JSON),
    state.weightsManifest,
    'optimizer.weightsManifest',
  );
  const data = readWeightFiles(dir, manifest, path.join(dir, TRAINING_STATE_JSON));
  const specs = manifest.flatMap((g) => g.weights) as unknown as io.WeightsManifestEntry[];
  const map = tf.io.decodeWeights(toArrayBuffer(data), specs);
  const ordered: NamedTensor[] = specs.map((s) => ({ name: s.name, tensor: map[s.name] }));
  try {
    await optimizer.setWeights(ordered);
  } finally {
    tf.dispose(Object.values(map));
  }
  for (const [key, value] of Object.entries(state.extra ?? {})) {
    const v = extraScalar(optimizer, key);
    if (v) tf.tidy(() => v.assign(tf.scalar(value)));
  }
}

// ---- checkpoints ----

export interface SaveCheckpointArgs {
  model: LayersModel;
  /** Saved when given; a checkpoint without it resumes with a fresh optimizer. */
  optimizer?: Optimizer;
  state: Omit<TrainingState, 'time' | 'optimizer'> & { time?: string };
}

/**
 * Writes a complete checkpoint into `dir` (`checkpointDir(runDir, 'latest' | 'best')`), replacing any previous
 * one atomically. Returns the training state written.
 */
export async function saveCheckpoint(
  dir: string,
  args: SaveCheckpointArgs,
  options: ReplaceDirOptions = {},
): Promise<TrainingState> {
  const state: TrainingState = { ...args.state, time: args.state.time ?? new Date().toISOString() };
  // Read the tensors before touching the disk, so training may go on while the files are written.
  const opt = args.optimizer ? await encodeOptimizerState(args.optimizer) : undefined;
  if (opt) state.optimizer = opt.json;
  let captured: io.ModelArtifacts | undefined;
  await args.model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  const artifacts = captured as io.ModelArtifacts;
  await replaceDirAtomic(
    dir,
    async (tmp) => {
      await writeModelArtifacts(tmp, artifacts);
      if (opt) await fs.promises.writeFile(path.join(tmp, OPTIMIZER_BIN), opt.data);
      await fs.promises.writeFile(path.join(tmp, TRAINING_STATE_JSON), jsonFileText(state), 'utf8');
    },
    options,
  );
  return state;
}

export interface LoadedCheckpoint {
  /** The folder actually read (`dir`, or `dir.old` after an interrupted replacement). */
  dir: string;
  model: LayersModel;
  state: TrainingState;
  /** Whether the optimizer passed in was restored (false if the checkpoint has no optimizer state). */
  optimizerRestored: boolean;
}

/** Loads the checkpoint `dir` (with the `.old` fallback); restores `optimizer` from it when given. */
export async function loadCheckpoint(dir: string, options: { optimizer?: Optimizer } = {}): Promise<LoadedCheckpoint> {
  const found = resolveCheckpointDir(dir);
  if (found === undefined) throw new Error(`no checkpoint at ${dir}`);
  const stateFile = path.join(found, TRAINING_STATE_JSON);
  const state = checkTrainingState(stateFile, parseJsonFile(stateFile, 'Training state'));
  const model = await tf.loadLayersModel(fileSystemLoadHandler(found));
  let optimizerRestored = false;
  if (options.optimizer && state.optimizer) {
    await restoreOptimizerState(options.optimizer, state.optimizer, found);
    optimizerRestored = true;
  }
  return { dir: found, model, state, optimizerRestored };
}
