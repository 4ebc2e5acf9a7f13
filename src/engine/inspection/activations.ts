/**
 * Layer activations for the feature-map gallery (one pass through a cached multi-output sub-model, with
 * per-channel statistics), and the layers the gallery offers (4D outputs, grouped by their Keras name).
 */
import type { LayersModel } from '@tensorflow/tfjs';
import type {
  ActivationStats,
  EncodedActivation,
  FeatureGroup,
  FeatureLayer,
  LayerActivation,
} from '../../protocol/features';
import type { OnnxSession } from '../onnxRuntime';
import { inputTensor } from './inputs';
import { subModel } from './layerGraph';
import { read, tidyPlain } from './tensors';

function activationStats(data: Float32Array, channels: number): ActivationStats {
  const channelMin = new Float32Array(channels).fill(Infinity);
  const channelMax = new Float32Array(channels).fill(-Infinity);
  const sums = new Float64Array(channels);
  for (let i = 0; i < data.length; i++) {
    const k = i % channels;
    const v = data[i];
    if (v < channelMin[k]) channelMin[k] = v;
    if (v > channelMax[k]) channelMax[k] = v;
    sums[k] += v;
  }
  const perChannel = data.length / channels;
  const channelMean = Float32Array.from(sums, (s) => s / perChannel);
  let min = Infinity;
  let max = -Infinity;
  let total = 0;
  for (let k = 0; k < channels; k++) {
    min = Math.min(min, channelMin[k]);
    max = Math.max(max, channelMax[k]);
    total += sums[k];
  }
  return { min, max, mean: total / data.length, channelMin, channelMax, channelMean };
}

/** The outputs of the named layers for one input (one pass through a cached multi-output sub-model). */
export function layerActivations(model: LayersModel, input: Float32Array, layerNames: string[]): LayerActivation[] {
  if (layerNames.length === 0) return [];
  const sub = subModel(model, layerNames);
  return tidyPlain(() => {
    const out = sub.predict(inputTensor(model, input));
    const tensors = Array.isArray(out) ? out : [out];
    return tensors.map((t, i) => {
      const shape = t.shape.slice(1);
      const data = read(t);
      return { name: layerNames[i], shape, data, stats: activationStats(data, shape[shape.length - 1] ?? 1) };
    });
  });
}

/** The outputs of the named layers for one input, from a forward pass on ONNX Runtime (`session` returns them). */
export async function sessionActivations(
  session: OnnxSession,
  input: Float32Array,
  layerNames: string[],
): Promise<LayerActivation[]> {
  if (layerNames.length === 0) return [];
  const out = await session.run(input, 1);
  return layerNames.map((name) => {
    const a = out.layers.get(name);
    if (!a) throw new Error(`The ONNX Runtime session does not return ${name}`);
    const shape = a.shape.slice(1);
    return { name, shape, data: a.data, stats: activationStats(a.data, shape[shape.length - 1] ?? 1) };
  });
}

/** `a` with each value as an 8-bit code over its channel's range (src/protocol/features.ts: EncodedActivation). */
export function encodeActivation(a: LayerActivation): EncodedActivation {
  const { channelMin, channelMax } = a.stats;
  const channels = channelMin.length;
  const scale = Float32Array.from(channelMin, (lo, k) => {
    const range = channelMax[k] - lo;
    return range > 0 && Number.isFinite(range) ? 255 / range : 0;
  });
  const codes = new Uint8Array(a.data.length);
  for (let i = 0, k = 0; i < codes.length; i++, k = k + 1 === channels ? 0 : k + 1) {
    const code = Math.round((a.data[i] - channelMin[k]) * scale[k]);
    codes[i] = code > 0 ? (code < 255 ? code : 255) : 0; // NaN -> 0
  }
  return { name: a.name, shape: a.shape, codes, stats: a.stats };
}

function groupOf(name: string): { block: string; group: FeatureGroup; blockLayer?: number } {
  let m = /^(conv\d+)_block(\d+)_/.exec(name);
  if (m) return { block: m[1], group: 'block', blockLayer: Number(m[2]) };
  if (/^conv1_/.test(name) || /^zero_padding2d(_\d+)?$/.test(name) || name === 'pool1')
    return { block: 'conv1', group: 'stem' };
  m = /^(pool\d+)_/.exec(name);
  if (m) return { block: m[1], group: 'transition' };
  if (name === 'bn' || name === 'relu') return { block: 'head', group: 'head' };
  return { block: 'other', group: 'other' };
}

/** The layers with feature-map (4D) outputs, in model order, without the input layer. */
export function featureLayers(model: LayersModel): FeatureLayer[] {
  const out: FeatureLayer[] = [];
  for (const layer of model.layers) {
    const type = layer.getClassName();
    const shape = layer.outputShape;
    if (type === 'InputLayer' || !Array.isArray(shape) || shape.length !== 4 || Array.isArray(shape[0])) continue;
    out.push({
      name: layer.name,
      type,
      outputShape: shape.slice(1) as [number, number, number],
      ...groupOf(layer.name),
    });
  }
  return out;
}
