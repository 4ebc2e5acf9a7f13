/**
 * A TensorFlow.js layers model (model.json + weight files, e.g. from `tensorflowjs_converter` or a DenseNet Lab
 * checkpoint) as a weights source: its weights manifest is checked and its files read confined to its folder
 * (src/runs/weightFiles.ts), decoded by tfjs (quantized weights included), and mapped by their Keras names.
 */
import * as fs from 'fs';
import * as path from 'path';
import { KERAS_BN_EPSILON, type TensorDict } from '../interchange/tensors';
import { kerasNamedSource, type SourceWeights } from '../interchange/importer';
import { locateCheckpoint, MODEL_JSON } from '../runs/checkpointFiles';
import { checkWeightsManifest, readWeightFiles } from '../runs/weightFiles';
import { tf } from './tf';

/** The model.json `target` designates: a model.json, a folder holding one, or a run folder (its best checkpoint). */
export function tfjsModelJson(target: string): string {
  if (target.endsWith('.json')) return target;
  if (fs.existsSync(path.join(target, MODEL_JSON))) return path.join(target, MODEL_JSON);
  const { modelPath } = locateCheckpoint(target);
  return modelPath.endsWith('.json') ? modelPath : path.join(modelPath, MODEL_JSON);
}

/** The batch-norm epsilon a model.json's topology gives its first BatchNormalization layer, if any. */
function topologyEpsilon(topology: unknown): number | undefined {
  const text = JSON.stringify(topology ?? null);
  const m = /"class_name":"BatchNormalization","config":\{[^}]*?"epsilon":([0-9.eE+-]+)/.exec(text);
  const value = m ? Number(m[1]) : NaN;
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

/** Reads a tfjs layers model's weights by name; throws naming the file and field when it is not one. */
export function readTfjsWeights(modelJson: string): { dict: TensorDict; batchNormEpsilon: number } {
  let json: { weightsManifest?: unknown; modelTopology?: unknown };
  try {
    json = JSON.parse(fs.readFileSync(modelJson, 'utf8')) as typeof json;
  } catch (e) {
    throw new Error(`${modelJson} is not a TensorFlow.js model.json (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null) throw new Error(`${modelJson} is not a TensorFlow.js model.json`);
  const manifest = checkWeightsManifest(modelJson, json.weightsManifest, 'weightsManifest');
  const data = readWeightFiles(path.dirname(modelJson), manifest, modelJson);
  const specs = manifest.flatMap((g) => g.weights) as unknown as Parameters<typeof tf.io.decodeWeights>[1];
  const bytes = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  const tensors = tf.io.decodeWeights(bytes, specs);
  const dict: TensorDict = new Map();
  try {
    for (const [name, t] of Object.entries(tensors))
      dict.set(name, {
        shape: [...t.shape],
        dtype: t.dtype,
        values: Float32Array.from(t.dataSync() as ArrayLike<number>),
      });
  } finally {
    tf.dispose(Object.values(tensors));
  }
  const modelTopology = json.modelTopology as { model_config?: unknown } | undefined;
  return { dict, batchNormEpsilon: topologyEpsilon(modelTopology) ?? KERAS_BN_EPSILON };
}

/** A tfjs layers model as a weights source (format `tfjs`). */
export function tfjsSource(target: string): SourceWeights {
  const { dict, batchNormEpsilon } = readTfjsWeights(tfjsModelJson(target));
  return kerasNamedSource('tfjs', dict, batchNormEpsilon);
}
