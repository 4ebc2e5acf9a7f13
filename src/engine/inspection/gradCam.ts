/** Grad-CAM heatmaps of a class for one input, on any layer with feature maps. */
import type { LayersModel, Tensor, Tensor4D } from '@tensorflow/tfjs';
import type { GradCamResult } from '../../protocol/features';
import type { Preprocessing } from '../../runs/preprocessing';
import { tf } from '../tf';
import { argMax, checkClass, className, classScore } from './classes';
import { inputShape, inputTensor } from './inputs';
import { featureLayers } from './activations';
import { layerGraph } from './layerGraph';
import { range, read, scaleToUnit, tidyPlain } from './tensors';
import { chooseGradCamLayer } from '../../core/gradCamLayer';

export interface GradCamOptions {
  /**
   * A layer with a 4D output; default the deepest block output at ≥ 1/16 of the input's side
   * (src/core/gradCamLayer.ts), else `relu`.
   */
  layerName?: string;
  /** Default: the predicted class. */
  classIndex?: number;
}

/**
 * Grad-CAM (Selvaraju et al. 2017): the gradients of the class score with respect to the layer's feature maps,
 * averaged over positions, weight the feature maps; their sum, ReLU'd, is the heatmap.
 */
export function gradCam(
  model: LayersModel,
  input: Float32Array,
  pre: Preprocessing,
  options: GradCamOptions = {},
): GradCamResult {
  const graph = layerGraph(model);
  const [inputHeight, inputWidth] = inputShape(model);
  const layerName = options.layerName ?? defaultGradCamLayer(model, inputHeight, inputWidth);
  if (!graph.has(layerName)) throw new Error(`The model has no layer ${layerName}`);
  return tidyPlain(() => {
    const x = inputTensor(model, input);
    const values = graph.run(new Map([[graph.input, x]]), [graph.scoreSource, layerName]);
    const activations = values.get(layerName) as Tensor;
    if (activations.rank !== 4)
      throw new Error(
        `Layer ${layerName} has output shape [${activations.shape.slice(1)}]: Grad-CAM needs feature maps (H x W x C)`,
      );
    const probs = graph.probabilities(graph.scores(values)).dataSync();
    const classIndex = options.classIndex === undefined ? argMax(probs) : checkClass(options.classIndex, probs.length);

    // The score as a function of the layer's output: everything downstream is recomputed from `a`, the
    // rest (e.g. the other inputs of later concatenations) is held constant.
    const downstream = graph.descendants(layerName);
    const upstream = new Map([...values].filter(([name]) => !downstream.has(name)));
    const score = (a: Tensor) =>
      classScore(graph.scores(graph.run(new Map([...upstream, [layerName, a]]), [graph.scoreSource])), classIndex);
    const grads = tf.grad(score)(activations);

    const weights = tf.mean(grads, [1, 2], true); // [1, 1, 1, C]
    const relevance = tf.relu(tf.sum(tf.mul(activations, weights), -1, true)); // [1, H', W', 1]
    const cam = scaleToUnit(relevance) as Tensor4D;
    const upsampled = tf.image.resizeBilinear(cam, [inputHeight, inputWidth], false, true);
    const [, height, width] = cam.shape;
    return {
      heatmap: read(cam),
      height,
      width,
      upsampled: read(upsampled),
      inputHeight,
      inputWidth,
      range: range(relevance),
      classIndex,
      className: className(pre, classIndex),
      probability: probs[classIndex],
      score: graph.scoreKind,
    };
  });
}

/** The layer Grad-CAM uses when none is named (src/core/gradCamLayer.ts), else `relu`. */
export function defaultGradCamLayer(model: LayersModel, height: number, width: number): string {
  return chooseGradCamLayer(featureLayers(model), { height, width })?.name ?? 'relu';
}
