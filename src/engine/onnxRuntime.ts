/**
 * Inference on ONNX Runtime: a model's ONNX graph (src/interchange/onnxWrite.ts) built in memory and run by
 * onnxruntime-node, several times faster than tfjs on the same cores. The only module that imports
 * onnxruntime-node, and only when a session is first asked for (`require` at run time), so that a missing or
 * broken native library is an error a caller can catch. `inferenceEngine` decides, from the
 * `densenet.engine.inference` setting (or `--inference`), whether a model's inference runs here or on tfjs.
 *
 * Inputs and layer outputs are in the engine's NHWC layout; the graph is NCHW, so both are transposed here.
 * Batch norms use their moving statistics and dropout is left out: inference mode, as `model.predict`.
 */
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import type { LayersModel } from '@tensorflow/tfjs';
import type { Analysis } from '../core/analyze';
import type { InferencePreference } from '../protocol/engine';
import { writeOnnxModel } from '../interchange/onnxWrite';
import type { LayerWeights } from '../interchange/tensors';
import { readLayerWeights } from './weights';

type OnnxRuntimeModule = typeof import('onnxruntime-node');

export type { InferencePreference };
export type InferenceEngineName = 'onnxruntime' | 'tfjs';
export const INFERENCE_PREFERENCES: readonly InferencePreference[] = ['auto', 'onnxruntime', 'tfjs'];

let preferred: InferencePreference = 'auto';

/** The inference engine this process uses when a request names none (densenet.engine.inference, --inference). */
export function setInferencePreference(preference: InferencePreference): void {
  checkPreference(preference);
  preferred = preference;
}

export function inferencePreference(): InferencePreference {
  return preferred;
}

function checkPreference(preference: string): void {
  if (!INFERENCE_PREFERENCES.includes(preference as InferencePreference))
    throw new Error(`The inference engine must be one of ${INFERENCE_PREFERENCES.join(', ')} (got "${preference}")`);
}

/** The batch-norm epsilon of models built without imported weights (Keras' default). */
const KERAS_EPSILON = 1.001e-5;

export interface OnnxSessionOptions {
  /** Threads ONNX Runtime uses inside an operator (at least 1). */
  threads: number;
  /** Layers (Keras names) whose activations `run` also returns. */
  outputs?: readonly string[];
  /** The batch norms' epsilon; default Keras' 1.001e-5 (a model's own: `modelEpsilon`). */
  epsilon?: number;
  /** The module to load (tests name a broken one); default onnxruntime-node. */
  module?: string;
}

export interface LayerOutput {
  data: Float32Array;
  /** NHWC for feature maps ([batch, H, W, C]), else [batch, features]. */
  shape: number[];
}

export interface OnnxResult {
  /** [batch, classes], row-major. */
  logits: Float32Array;
  probabilities: Float32Array;
  /** The requested layers' activations by name. */
  layers: Map<string, LayerOutput>;
}

export interface OnnxSession {
  /** The layers whose activations `run` returns. */
  readonly outputs: readonly string[];
  /** Runs a batch of `batchSize` NHWC images (the analysis' input size), normalised as the model takes them. */
  run(nhwc: Float32Array, batchSize: number): Promise<OnnxResult>;
  release(): Promise<void>;
}

const loaded = new Map<string, OnnxRuntimeModule | Error>();

/** onnxruntime-node (or `name`), required once; throws, every time, why it could not be loaded. */
export function loadOnnxRuntime(name = 'onnxruntime-node'): OnnxRuntimeModule {
  let found = loaded.get(name);
  if (!found) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      found = require(name) as OnnxRuntimeModule;
      if (typeof found.InferenceSession?.create !== 'function') throw new Error('it has no InferenceSession');
    } catch (e) {
      found = new Error(`ONNX Runtime (${name}) could not be loaded: ${(e as Error).message.split('\n')[0]}`);
    }
    loaded.set(name, found);
  }
  if (found instanceof Error) throw found;
  return found;
}

/** The batch-norm epsilon of a built model (its first batch norm's; Keras' default when it has none). */
export function modelEpsilon(model: LayersModel): number {
  const bn = model.layers.find((l) => l.getClassName() === 'BatchNormalization');
  return bn ? Number(bn.getConfig().epsilon) : KERAS_EPSILON;
}

/** NHWC -> NCHW (`toChannelsFirst`) or back, for `n` images of h x w x c. */
export function transposeImages(
  data: Float32Array,
  [n, h, w, c]: readonly number[],
  toChannelsFirst: boolean,
): Float32Array {
  const out = new Float32Array(data.length);
  const hw = h * w;
  for (let b = 0; b < n; b++) {
    const base = b * hw * c;
    for (let p = 0; p < hw; p++) {
      for (let k = 0; k < c; k++) {
        const nhwc = base + p * c + k;
        const nchw = base + k * hw + p;
        if (toChannelsFirst) out[nchw] = data[nhwc];
        else out[nhwc] = data[nchw];
      }
    }
  }
  return out;
}

/**
 * An ONNX Runtime session of the model `analysis` with `weights` (tfjs layout, as `readLayerWeights` gives them).
 * Throws when the graph writer cannot express a layer, or ONNX Runtime cannot be loaded or rejects the graph.
 */
export async function createOnnxSession(
  analysis: Analysis,
  weights: LayerWeights,
  options: OnnxSessionOptions,
): Promise<OnnxSession> {
  if (!Number.isInteger(options.threads) || options.threads < 1)
    throw new Error(`ONNX Runtime needs a whole number of threads >= 1 (got ${options.threads})`);
  const outputs = [...new Set(options.outputs ?? [])];
  const bytes = writeOnnxModel(analysis, weights, { epsilon: options.epsilon ?? KERAS_EPSILON, outputs });
  const ort = loadOnnxRuntime(options.module);
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: options.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const { height, width, channels } = analysis.input;
  const shapes = new Map(analysis.layers.map((l) => [l.name, l.outputShape]));
  let released = false;
  return {
    outputs,
    async run(nhwc, batchSize) {
      if (released) throw new Error('The ONNX Runtime session was released');
      const perImage = height * width * channels;
      if (!Number.isInteger(batchSize) || batchSize < 1 || nhwc.length !== batchSize * perImage)
        throw new Error(
          `A batch of ${batchSize} ${height}x${width}x${channels} images has ${batchSize * perImage} values, not ${nhwc.length}`,
        );
      const input = new ort.Tensor('float32', transposeImages(nhwc, [batchSize, height, width, channels], true), [
        batchSize,
        channels,
        height,
        width,
      ]);
      const result: InferenceSession.ReturnType = await session.run({ input }, ['logits', 'probabilities', ...outputs]);
      const plain = (t: OrtTensor) => t.data as Float32Array;
      const layers = new Map<string, LayerOutput>();
      for (const name of outputs) {
        const shape = shapes.get(name) as number[];
        const data = plain(result[name]);
        layers.set(
          name,
          shape.length === 3
            ? { data: transposeImages(data, [batchSize, ...shape], false), shape: [batchSize, ...shape] }
            : { data, shape: [batchSize, ...shape] },
        );
      }
      return { logits: plain(result.logits), probabilities: plain(result.probabilities), layers };
    },
    async release() {
      if (released) return;
      released = true;
      await session.release();
    },
  };
}

export interface InferenceEngine {
  readonly preference: InferencePreference;
  /**
   * An ONNX Runtime session of the model, or undefined when its inference runs on tfjs (the preference `tfjs`,
   * or `auto` and ONNX Runtime failed: the reason is logged). With the preference `onnxruntime` a failure throws.
   * `model` gives the weights and the batch norms' epsilon; `analysis` names its layers (a function: its
   * failure is a reason to fall back).
   */
  open(
    analysis: Analysis | (() => Analysis),
    model: LayersModel,
    options: Omit<OnnxSessionOptions, 'epsilon' | 'module'>,
  ): Promise<OnnxSession | undefined>;
}

/** A sentence naming the engine that ran a model's inference, for logs and CLI output. */
export function inferenceNote(session: OnnxSession | undefined, threads?: number): string {
  return session
    ? `inference on ONNX Runtime${threads === undefined ? '' : ` (${threads} thread${threads === 1 ? '' : 's'})`}`
    : 'inference on tfjs';
}

/**
 * The engine that runs inference for `preference` (the setting densenet.engine.inference, or --inference):
 * `auto` tries ONNX Runtime and falls back to tfjs, logging why; `onnxruntime` throws instead of falling back;
 * `tfjs` never tries ONNX Runtime. `module` replaces onnxruntime-node (tests).
 */
export function inferenceEngine(
  preference: InferencePreference,
  log: (message: string) => void,
  module?: string,
): InferenceEngine {
  checkPreference(preference);
  const logged = new Set<string>();
  return {
    preference,
    async open(analysis, model, options) {
      if (preference === 'tfjs') return undefined;
      try {
        const weights = readLayerWeights(model);
        const a = typeof analysis === 'function' ? analysis() : analysis;
        return await createOnnxSession(a, weights, { ...options, epsilon: modelEpsilon(model), module });
      } catch (e) {
        const reason = (e as Error).message;
        if (preference === 'onnxruntime')
          throw new Error(
            `Inference on ONNX Runtime failed: ${reason.replace(/\.?$/, '.')} Set densenet.engine.inference (or --inference) to auto or tfjs to run inference on tfjs.`,
          );
        if (!logged.has(reason)) log(`inference on tfjs: ONNX Runtime is not used (${reason})`);
        logged.add(reason);
        return undefined;
      }
    },
  };
}
