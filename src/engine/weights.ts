/**
 * A model's weights as plain arrays, per layer (`LayerWeights`), in and out: what weight import applies and
 * export reads. Shapes are checked layer by layer before anything is assigned, so a mismatch changes nothing.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import { shapeText, type LayerWeights } from '../interchange/tensors';
import { tf } from './tf';

/** Every layer's weights that holds some, in tfjs order, copied out of the model. */
export function readLayerWeights(model: LayersModel): LayerWeights {
  const out: LayerWeights = new Map();
  for (const layer of model.layers) {
    const ws = layer.getWeights();
    if (ws.length === 0) continue;
    out.set(
      layer.name,
      ws.map((w) => ({ shape: [...w.shape], values: Float32Array.from(w.dataSync()) })),
    );
  }
  return out;
}

export interface ApplyOptions {
  /** Layers that keep their own (initialised) weights: the classifier a fine-tuning replaces. */
  keep?: readonly string[];
}

/**
 * Assigns `weights` to the model's layers. Every weighted layer of the model must be given (but those in
 * `keep`), with its exact shapes, and no unknown layer may be: the first mismatch throws, naming the layer and
 * both shapes, before any weight changes.
 */
export function applyLayerWeights(model: LayersModel, weights: LayerWeights, options: ApplyOptions = {}): void {
  const keep = new Set(options.keep ?? []);
  const plan: { layer: LayersModel['layers'][number]; index: number }[] = [];
  for (const [index, layer] of model.layers.entries()) {
    const current = layer.weights;
    if (current.length === 0 || keep.has(layer.name)) continue;
    const given = weights.get(layer.name);
    if (!given) throw new Error(`No weights for layer ${layer.name}`);
    if (given.length !== current.length)
      throw new Error(`Layer ${layer.name}: ${given.length} weight tensors given, the model has ${current.length}`);
    given.forEach((t, i) => {
      const want = current[i].shape as number[];
      if (t.shape.length !== want.length || t.shape.some((d, j) => d !== want[j]))
        throw new Error(
          `Layer ${layer.name} (${current[i].name}): the weights have ${shapeText(t.shape)}, the model needs ${shapeText(want)}`,
        );
      if (t.values.length !== t.shape.reduce((a, b) => a * b, 1))
        throw new Error(`Layer ${layer.name}: ${t.values.length} values for shape ${shapeText(t.shape)}`);
    });
    plan.push({ layer, index });
  }
  const names = new Set(model.layers.map((l) => l.name));
  const unknown = [...weights.keys()].find((n) => !names.has(n));
  if (unknown !== undefined) throw new Error(`The weights have a layer ${unknown} that the model does not`);
  for (const { layer } of plan) {
    const given = weights.get(layer.name) ?? [];
    const tensors = given.map((t) => tf.tensor(t.values, t.shape, 'float32'));
    layer.setWeights(tensors);
    tf.dispose(tensors);
  }
}
