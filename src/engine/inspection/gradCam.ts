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
import type { Analysis } from '../../core/analyze';
import { CLASSIFIER_LAYER } from '../../core/freeze';
import type { OnnxSession } from '../onnxRuntime';

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
    return camResult(activations, weights, [inputHeight, inputWidth], {
      classIndex,
      className: className(pre, classIndex),
      probability: probs[classIndex],
      score: graph.scoreKind,
    });
  });
}

/**
 * The heatmap of feature maps `activations` [1, H', W', C] weighted per channel by `weights` [1, 1, 1, C]: the
 * ReLU of their weighted sum, scaled to [0, 1] and resized to the input. Call inside a tidy scope.
 */
function camResult(
  activations: Tensor,
  weights: Tensor,
  [inputHeight, inputWidth]: [number, number],
  about: Pick<GradCamResult, 'classIndex' | 'className' | 'probability' | 'score'>,
): GradCamResult {
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
    ...about,
  };
}

/**
 * The layer whose Grad-CAM is the class activation map (Zhou et al. 2016): the input of the global average pool
 * that feeds the classifier (a DenseNet's `relu`), else undefined. There the gradient of a class logit is the
 * classifier's weight of each channel over the map's size, so no backward pass is needed.
 */
export function camLayer(analysis: Analysis): string | undefined {
  const head = analysis.layers.find((l) => l.name === CLASSIFIER_LAYER);
  const pool = head && analysis.layers.find((l) => l.name === head.inputs[0]);
  if (head?.type !== 'Dense' || head.inputs.length !== 1 || pool?.type !== 'GlobalAveragePooling2D') return undefined;
  return pool.inputs[0];
}

/**
 * Grad-CAM at `camLayer` from a forward pass on ONNX Runtime (`session` returns that layer): the class activation
 * map sum_k w[k, class] · A_k / (H'·W'), which equals Grad-CAM there (the same normalisation and resizing).
 */
export async function classActivationMap(
  session: OnnxSession,
  model: LayersModel,
  analysis: Analysis,
  input: Float32Array,
  pre: Preprocessing,
  classIndex?: number,
): Promise<GradCamResult> {
  const layer = camLayer(analysis);
  if (!layer) throw new Error('The model has no global average pool before its classifier: no class activation map');
  const out = await session.run(input, 1);
  const maps = out.layers.get(layer);
  if (!maps) throw new Error(`The ONNX Runtime session does not return ${layer}`);
  const probs = out.probabilities;
  const c = classIndex === undefined ? argMax(probs) : checkClass(classIndex, probs.length);
  const [, h, w, channels] = maps.shape;
  const [kernel] = model.getLayer(CLASSIFIER_LAYER).getWeights(); // [channels, classes]
  return tidyPlain(() => {
    const weights = tf.div(tf.reshape(tf.slice(kernel, [0, c], [channels, 1]), [1, 1, 1, channels]), h * w);
    return camResult(
      tf.tensor4d(maps.data, [1, h, w, channels]),
      weights,
      [analysis.input.height, analysis.input.width],
      {
        classIndex: c,
        className: className(pre, c),
        probability: probs[c],
        score: 'logit',
      },
    );
  });
}

/** The layer Grad-CAM uses when none is named (src/core/gradCamLayer.ts), else `relu`. */
export function defaultGradCamLayer(model: LayersModel, height: number, width: number): string {
  return chooseGradCamLayer(featureLayers(model), { height, width })?.name ?? 'relu';
}
