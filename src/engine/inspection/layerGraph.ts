/**
 * The model's layer graph for the inspections that need more than `model.apply`: gradients with respect to
 * intermediate layers (Grad-CAM) and class logits. `LayerGraph` walks the model's layers itself: it calls each
 * layer eagerly on concrete tensors (inference mode), computes only what a result needs, and can restart the
 * graph from a substituted layer output. The class score is the logit of a Dense+softmax classifier, or of one
 * label of a Dense+sigmoid multi-label classifier (its kernel and bias applied to its input, before the softmax
 * or sigmoid); for a segmentation model (a per-pixel softmax) the class's logit averaged over the pixels predicted
 * as the class (Seg-Grad-CAM, Vinogradova et al. 2020; over every pixel when none is); else the model's output.
 *
 * Graphs and multi-output sub-models are cached per model (`layerGraph`, `subModel`); `releaseInspection`
 * forgets them.
 */
import type { LayersModel, SymbolicTensor, Tensor, Tensor2D } from '@tensorflow/tfjs';
import type { ScoreKind } from '../../protocol/features';
import { tf } from '../tf';

type Layer = LayersModel['layers'][number];

/* ------------------------------------------------------------------------------------------------------------
 * The layer graph
 * ---------------------------------------------------------------------------------------------------------- */

interface GraphNode {
  name: string;
  layer: Layer;
  /** Names of the layers whose outputs feed this one, in call order. */
  inputs: string[];
}

/**
 * A single-input, single-output model's layers in topological order, runnable layer by layer. Layers are
 * called eagerly (`layer.apply` on concrete tensors adds no graph nodes and changes no reference counts).
 */
export class LayerGraph {
  readonly input: string;
  readonly output: string;
  /** Topological order; the input layer excluded. */
  readonly nodes: GraphNode[] = [];
  readonly scoreKind: ScoreKind;
  /** The layer whose output the class scores are computed from (the classifier's input for logits). */
  readonly scoreSource: string;
  private readonly byName = new Map<string, GraphNode>();
  private readonly classifier?: Layer;
  /** A per-pixel softmax ends the model: the scores are Seg-Grad-CAM's region means of the logits. */
  private readonly perPixel: boolean = false;

  constructor(model: LayersModel) {
    if (model.inputs.length !== 1 || model.outputs.length !== 1) {
      throw new Error(
        `Inspection needs a model with one input and one output (this one has ${model.inputs.length} and ${model.outputs.length})`,
      );
    }
    const inputTensor = model.inputs[0];
    this.input = inputTensor.sourceLayer.name;
    const seen = new Map<string, SymbolicTensor>();
    // Depth-first from the output: a node is listed after everything it reads (post-order = topological).
    const visit = (t: SymbolicTensor): string => {
      const layer = t.sourceLayer;
      const name = layer.name;
      const known = seen.get(name);
      if (known) {
        if (known !== t)
          throw new Error(`Layer ${name} is shared or has several outputs: inspection does not support that`);
        return name;
      }
      seen.set(name, t);
      if (t === inputTensor) return name;
      if (layer.getClassName() === 'InputLayer') throw new Error(`The model has a second input ${name}`);
      if (t.tensorIndex !== 0) throw new Error(`Layer ${name} has several outputs: inspection does not support that`);
      const node = layer.inboundNodes[t.nodeIndex];
      const inputs = node.inputTensors.map(visit);
      const entry = { name, layer, inputs };
      this.nodes.push(entry);
      this.byName.set(name, entry);
      return name;
    };
    this.output = visit(model.outputs[0]);

    const last = this.byName.get(this.output);
    if (
      last &&
      last.layer.getClassName() === 'Dense' &&
      ['softmax', 'sigmoid'].includes(String(last.layer.getConfig().activation)) &&
      last.inputs.length === 1
    ) {
      this.classifier = last.layer;
      this.scoreKind = 'logit';
      this.scoreSource = last.inputs[0];
    } else if (
      last &&
      last.layer.getClassName() === 'Activation' &&
      String(last.layer.getConfig().activation) === 'softmax' &&
      last.inputs.length === 1 &&
      model.outputs[0].shape.length === 4
    ) {
      this.perPixel = true;
      this.scoreKind = 'logit';
      this.scoreSource = last.inputs[0];
    } else {
      this.scoreKind = 'output';
      this.scoreSource = this.output;
    }
  }

  has(name: string): boolean {
    return name === this.input || this.byName.has(name);
  }

  /** `name` and every layer that (transitively) reads it. */
  descendants(name: string): Set<string> {
    const out = new Set([name]);
    for (const n of this.nodes) if (n.inputs.some((i) => out.has(i))) out.add(n.name);
    return out;
  }

  /**
   * Computes the outputs of `targets` from the `given` layer outputs (at least the input, or everything the
   * targets need), running only the layers on the way. Returns the given and the computed outputs.
   */
  run(given: Map<string, Tensor>, targets: string[]): Map<string, Tensor> {
    const values = new Map(given);
    const needed = new Set<string>();
    const stack = [...targets];
    while (stack.length > 0) {
      const name = stack.pop() as string;
      if (needed.has(name) || values.has(name)) continue;
      const node = this.byName.get(name);
      if (!node) throw new Error(name === this.input ? 'The input is missing' : `The model has no layer ${name}`);
      needed.add(name);
      stack.push(...node.inputs);
    }
    for (const n of this.nodes) {
      if (!needed.has(n.name)) continue;
      const inputs = n.inputs.map((i) => values.get(i) as Tensor);
      values.set(n.name, n.layer.apply(inputs.length === 1 ? inputs[0] : inputs, { training: false }) as Tensor);
    }
    return values;
  }

  /** The class scores [batch, classes] from computed outputs that include `scoreSource`. */
  scores(values: Map<string, Tensor>): Tensor2D {
    const source = values.get(this.scoreSource);
    if (!source) throw new Error(`${this.scoreSource} has not been computed`);
    if (this.perPixel) return regionMeans(source);
    if (!this.classifier) return source as Tensor2D;
    // Dense: kernel then (if useBias) bias; the softmax is left out. getWeights() returns the live variables.
    const [kernel, bias] = this.classifier.getWeights();
    const logits = tf.matMul(source as Tensor2D, kernel as Tensor2D) as Tensor2D;
    return bias ? (tf.add(logits, bias) as Tensor2D) : logits;
  }

  /**
   * Class probabilities from the scores (segmentation: the softmax of the region means, a score of each class
   * rather than the probability of any pixel).
   */
  probabilities(scores: Tensor2D): Tensor2D {
    if (this.scoreKind !== 'logit') return scores;
    // A multi-label classifier: each label's own sigmoid.
    return this.classifier?.getConfig().activation === 'sigmoid' ? tf.sigmoid(scores) : tf.softmax(scores);
  }
}

/**
 * Per-pixel logits [b, H, W, C] to a score per class [b, C]: the mean logit of the class over the pixels
 * predicted as it, or over every pixel when no pixel is. The region is held constant under differentiation
 * (argMax and oneHot have zero gradients).
 */
function regionMeans(logits: Tensor): Tensor2D {
  const classes = logits.shape[3] as number;
  const region = tf.cast(tf.oneHot(tf.argMax(logits, -1), classes), 'float32');
  const pixels = tf.sum(region, [1, 2]);
  const inRegion = tf.div(tf.sum(tf.mul(logits, region), [1, 2]), tf.maximum(pixels, 1));
  return tf.where(tf.greaterEqual(pixels, 0.5), inRegion, tf.mean(logits, [1, 2])) as Tensor2D;
}

/* ------------------------------------------------------------------------------------------------------------
 * Per-model cache
 * ---------------------------------------------------------------------------------------------------------- */

interface Inspection {
  graph: LayerGraph;
  /** Multi-output sub-models by their layer list, oldest first. */
  subModels: Map<string, LayersModel>;
}

const MAX_SUB_MODELS = 8;
const inspections = new WeakMap<LayersModel, Inspection>();

function inspection(model: LayersModel): Inspection {
  let found = inspections.get(model);
  if (!found) {
    found = { graph: new LayerGraph(model), subModels: new Map() };
    inspections.set(model, found);
  }
  return found;
}

/**
 * A `tf.model` with the given layers' outputs, built once per model and layer list. Such a sub-model shares
 * the model's layers and owns no tensors; it must never be `dispose()`d: tf.model does not take references on
 * the layers, so disposing it would dispose the model's weights. Dropping it is all the disposal it needs.
 */
export function subModel(model: LayersModel, layerNames: string[]): LayersModel {
  const cache = inspection(model).subModels;
  const key = layerNames.join('\n');
  let sub = cache.get(key);
  if (sub) {
    cache.delete(key); // re-inserted below: most recently used last
  } else {
    const outputs = layerNames.map((name) => model.getLayer(name).output as SymbolicTensor);
    sub = tf.model({ inputs: model.inputs, outputs });
  }
  cache.set(key, sub);
  while (cache.size > MAX_SUB_MODELS) cache.delete(cache.keys().next().value as string);
  return sub;
}

/**
 * Forgets the sub-models and the layer graph cached for `model` (call it when the model is disposed; they
 * hold no tensors, and a disposed model's cache is dropped by the garbage collector anyway).
 */
export function releaseInspection(model: LayersModel): void {
  inspections.delete(model);
}

/** The layer graph of `model`, built once per model. */
export function layerGraph(model: LayersModel): LayerGraph {
  return inspection(model).graph;
}
