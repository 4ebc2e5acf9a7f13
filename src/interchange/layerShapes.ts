/**
 * The parametrised layers of an analysis and the tensors each holds, in tfjs order and layout: what every
 * importer matches a file against and every exporter writes.
 */
import type { Analysis, LayerInfo } from '../core/analyze';
import { elementCount, shapeText, type LayerTensor, type LayerWeights } from './tensors';

export type ParamLayerType = 'Conv2D' | 'Conv2DTranspose' | 'BatchNormalization' | 'Dense';

export interface ParamLayer {
  layer: LayerInfo;
  type: ParamLayerType;
  /** Keras' names of the layer's tensors, in tfjs order (`kernel`; `gamma`, `beta`, `moving_mean`, …). */
  names: string[];
  /** Their shapes in tfjs layout (Conv2D kernel HWIO, Conv2DTranspose kernel HW-out-in, Dense kernel [in, out]). */
  shapes: number[][];
}

export const KERAS_TENSOR_NAMES: Record<ParamLayerType, string[]> = {
  Conv2D: ['kernel'],
  Conv2DTranspose: ['kernel'],
  BatchNormalization: ['gamma', 'beta', 'moving_mean', 'moving_variance'],
  Dense: ['kernel', 'bias'],
};

const isParamType = (t: string): t is ParamLayerType => t in KERAS_TENSOR_NAMES;

/** The channels (or units) a layer receives: the last axis of its first input's output shape. */
export function inputChannels(analysis: Analysis, layer: LayerInfo): number {
  const from = analysis.layers.find((l) => l.name === layer.inputs[0]);
  if (!from) throw new Error(`Layer ${layer.name} has no input layer in the analysis.`);
  return from.outputShape[from.outputShape.length - 1];
}

/**
 * The parametrised layers of the analysis (convolutions, transposed convolutions, batch norms, dense), in model
 * order, with their tensor shapes. A convolution with a bias (an FC-DenseNet's classifier) holds two tensors.
 */
export function paramLayers(analysis: Analysis): ParamLayer[] {
  const out: ParamLayer[] = [];
  for (const layer of analysis.layers) {
    const type = layer.type;
    if (!isParamType(type)) continue;
    const cin = inputChannels(analysis, layer);
    let shapes: number[][];
    let names = KERAS_TENSOR_NAMES[type];
    const k = layer.config.kernelSize ?? 1;
    const filters = layer.config.filters ?? 0;
    if (type === 'Conv2D') {
      shapes = [[k, k, cin, filters]];
      if (layer.config.useBias) {
        shapes.push([filters]);
        names = ['kernel', 'bias'];
      }
    } else if (type === 'Conv2DTranspose') shapes = [[k, k, filters, cin]];
    else if (type === 'BatchNormalization') shapes = [[cin], [cin], [cin], [cin]];
    else shapes = [[cin, layer.config.units ?? 0], [layer.config.units ?? 0]];
    out.push({ layer, type, names, shapes });
  }
  return out;
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Checks that `weights` holds exactly the analysis' parametrised layers with the right shapes and value counts;
 * the error names the first mismatching layer and both shapes.
 */
export function checkLayerWeights(weights: LayerWeights, analysis: Analysis): ParamLayer[] {
  const layers = paramLayers(analysis);
  const known = new Set(layers.map((p) => p.layer.name));
  for (const name of weights.keys()) {
    if (!known.has(name)) throw new Error(`The weights have a layer ${name} that the model does not have.`);
  }
  for (const p of layers) {
    const tensors: LayerTensor[] | undefined = weights.get(p.layer.name);
    if (!tensors) throw new Error(`The weights have no tensors for layer ${p.layer.name} (${p.type}).`);
    if (tensors.length !== p.shapes.length)
      throw new Error(
        `Layer ${p.layer.name} (${p.type}) needs ${p.shapes.length} tensors, the weights have ${tensors.length}.`,
      );
    p.shapes.forEach((shape, i) => {
      const t = tensors[i];
      if (!sameShape(t.shape, shape))
        throw new Error(
          `Layer ${p.layer.name} (${p.type}): its ${p.names[i]} has shape ${shapeText(t.shape)} but the model needs ` +
            `${shapeText(shape)}.`,
        );
      if (t.values.length !== elementCount(shape))
        throw new Error(
          `Layer ${p.layer.name} (${p.type}): its ${p.names[i]} of shape ${shapeText(shape)} holds ` +
            `${t.values.length} values instead of ${elementCount(shape)}.`,
        );
    });
  }
  return layers;
}
