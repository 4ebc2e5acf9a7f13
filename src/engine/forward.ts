/**
 * A hand-written training-mode forward pass of the models `buildModel` makes: the same result as
 * `model.apply(x, { training: true })`, from the model's own weight variables (looked up by Keras layer name,
 * so gradients reach `model.trainableWeights` and checkpoints are unaffected), walking `analysis.layers`.
 * Batch norm + ReLU run as one step (`batchNormRelu`); layer outputs are released as soon as their last
 * consumer ran (the tape keeps what the backward pass needs).
 *
 * Two ways to run the dense blocks:
 * - plain: every intermediate the backward pass needs is stored, as tfjs-layers does (each dense layer's
 *   concatenation, batch-norm and ReLU outputs: memory quadratic in the block depth);
 * - memory-efficient (Pleiss et al. 2017, torchvision's `memory_efficient=True`): each dense layer's
 *   "bn_function" — concatenation of the block's feature maps → batch norm → ReLU → first convolution — is one
 *   `tf.customGrad` op whose inputs are the separate feature maps and the weights. Only those (which exist
 *   anyway) and the batch mean and variance are kept; the backward pass recomputes the concatenation, the
 *   normalisation and the ReLU from them and differentiates by hand. The same op also covers every other
 *   batch norm → ReLU → convolution chain (the bottleneck's `_1_bn` → `_2_conv`, the transitions), which
 *   halves the remaining activation memory again at no measurable cost. Memory grows linearly with depth.
 *
 * The backward pass is written by hand (tfjs-core 4.22's own gradients() could not even run inside a gradient
 * function: the nested call reset the engine's tape; ./gradients fixes that, but a closed form needs no second
 * tape): batch norm + ReLU through the fused kernels of ./kernels/batchnorm, the convolution through tfjs's
 * registered Conv2D gradient (the backend's Conv2DBackpropInput/Filter kernels).
 */
import type {
  GradSaveFunc,
  LayersModel,
  LayerVariable,
  NamedAttrMap,
  Tensor,
  Tensor2D,
  Tensor4D,
} from '@tensorflow/tfjs';
import type { Analysis, LayerInfo } from '../core/analyze';
import {
  batchNormRelu,
  batchNormReluForward,
  batchNormReluGradient,
  batchNormReluWithStats,
} from './kernels/batchnorm';
import { tf } from './tf';

/** The training-mode forward pass of a model: images -> class probabilities, updating batch-norm moving statistics. */
export type Forward = (x: Tensor) => Tensor;

export interface ForwardOptions {
  /**
   * Recompute, in the backward pass, the input of every convolution that follows batch norm + ReLU (the dense
   * layers' concatenation → bn → ReLU, the bottleneck's and the transitions' bn → ReLU) instead of storing it.
   */
  memoryEfficient: boolean;
  /**
   * Layers frozen by `training.freeze` (a prefix of the model): their batch norms run in inference mode (moving
   * statistics used, not updated), their dropout is off, and no gradient flows into them.
   */
  frozen?: ReadonlySet<string>;
}

/** A batch-norm layer's variables and settings. */
interface BnParams {
  gamma: LayerVariable;
  beta: LayerVariable;
  movingMean: LayerVariable;
  movingVariance: LayerVariable;
  epsilon: number;
  momentum: number;
}

interface DenseParams {
  kernel: LayerVariable;
  bias?: LayerVariable;
  activation: string;
}

interface ConvParams {
  kernel: LayerVariable;
  bias?: LayerVariable;
  strides: [number, number];
  pad: 'same' | 'valid';
}

/** Updates a moving statistic exactly as tfjs-layers does: v ← v - (v - value)·(1 - momentum). */
function movingAverage(variable: LayerVariable, value: Tensor, momentum: number): void {
  tf.tidy(() => {
    const orig = variable.read();
    variable.write(tf.sub(orig, tf.mul(tf.sub(orig, value), 1 - momentum)));
  });
}

function updateMovingStats(bn: BnParams, mean: Tensor, variance: Tensor): void {
  movingAverage(bn.movingMean, mean, bn.momentum);
  movingAverage(bn.movingVariance, variance, bn.momentum);
}

function weightsOf(model: LayersModel, name: string): Map<string, LayerVariable> {
  const byKey = new Map<string, LayerVariable>();
  for (const w of model.getLayer(name).weights) byKey.set(w.originalName.split('/').pop() as string, w);
  return byKey;
}

function weight(weights: Map<string, LayerVariable>, layer: string, key: string): LayerVariable {
  const w = weights.get(key);
  if (!w) throw new Error(`Layer ${layer} has no weight '${key}'`);
  return w;
}

function bnParams(model: LayersModel, name: string): BnParams {
  const w = weightsOf(model, name);
  const config = model.getLayer(name).getConfig();
  return {
    gamma: weight(w, name, 'gamma'),
    beta: weight(w, name, 'beta'),
    movingMean: weight(w, name, 'moving_mean'),
    movingVariance: weight(w, name, 'moving_variance'),
    epsilon: config.epsilon as number,
    momentum: config.momentum as number,
  };
}

function convParams(model: LayersModel, l: LayerInfo): ConvParams {
  const w = weightsOf(model, l.name);
  const s = l.config.strides ?? 1;
  return {
    kernel: weight(w, l.name, 'kernel'),
    bias: w.get('bias'),
    strides: [s, s],
    pad: l.config.padding === 'same' ? 'same' : 'valid',
  };
}

function conv2d(x: Tensor, c: ConvParams): Tensor {
  const y = tf.conv2d(x as Tensor4D, c.kernel.read() as Tensor4D, c.strides, c.pad);
  return c.bias ? tf.add(y, c.bias.read()) : y;
}

/** An FC-DenseNet's transition up: a transposed convolution with 'same' padding to the analysis' output shape. */
function conv2dTransposeSame(x: Tensor4D, c: ConvParams, [h, w, ch]: number[]): Tensor {
  return tf.conv2dTranspose(x, c.kernel.read() as Tensor4D, [x.shape[0], h, w, ch], c.strides, 'same');
}

function concatChannels(pieces: Tensor[]): Tensor {
  return pieces.length === 1 ? pieces[0] : tf.concat(pieces, -1);
}

/**
 * concat(pieces) → batch norm (training) → ReLU → conv as one op that keeps only its inputs (the pieces, γ, β,
 * kernel: buffers shared, not copied) and the batch statistics for the backward pass. Its gradient function
 * recomputes the convolution's input with the saved statistics (bit-identical to the forward's) and returns
 * the gradient of every input. The moving statistics are updated once, in the forward pass.
 */
function checkpointedBnReluConv(pieces: Tensor[], bn: BnParams, conv: ConvParams): Tensor {
  const m = pieces.length;
  const convAttrs: NamedAttrMap = { strides: conv.strides, pad: conv.pad, dataFormat: 'NHWC', dilations: [1, 1] };
  const op = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const save = args[args.length - 1] as GradSaveFunc;
    const inputs = args.slice(0, -1) as Tensor[];
    const ps = inputs.slice(0, m);
    const [gamma, beta, kernel] = inputs.slice(m);
    const { y, mean, variance } = batchNormReluForward(concatChannels(ps), gamma, beta, bn.epsilon, true);
    updateMovingStats(bn, mean, variance);
    const value = tf.conv2d(y as Tensor4D, kernel as Tensor4D, conv.strides, conv.pad);
    // Saved tensors are clones sharing the inputs' buffers: nothing is copied.
    save([...ps, gamma, beta, kernel, mean, variance]);
    const gradFunc = (dy: Tensor, saved: Tensor[]): Tensor[] =>
      tf.tidy(() => {
        const sp = saved.slice(0, m);
        const [g, b, k, mu, v] = saved.slice(m);
        const x = concatChannels(sp);
        // Recompute the convolution's input from the saved pieces and batch statistics (bit-identical).
        const r = batchNormReluWithStats(x, g, b, mu, v, bn.epsilon, true);
        const convGrad = tf.getGradient(tf.Conv2D).gradFunc(dy, [r, k], convAttrs);
        const dKernel = convGrad.filter();
        const dr = convGrad.x();
        r.dispose();
        const { dx, dGamma, dBeta } = batchNormReluGradient(x, dr, g, b, mu, v, bn.epsilon, true);
        dr.dispose();
        const dPieces =
          m === 1
            ? [dx]
            : tf.split(
                dx,
                sp.map((p) => p.shape[p.rank - 1]),
                -1,
              );
        return [...dPieces, dGamma, dBeta, dKernel];
      });
    return { value, gradFunc };
  });
  const out = op(...pieces, bn.gamma.read(), bn.beta.read(), conv.kernel.read());
  return conv.bias ? tf.add(out, conv.bias.read()) : out;
}

function denseParams(model: LayersModel, name: string): DenseParams {
  const w = weightsOf(model, name);
  return {
    kernel: weight(w, name, 'kernel'),
    bias: w.get('bias'),
    activation: String(model.getLayer(name).getConfig().activation ?? 'linear'),
  };
}

/** Batch norm (+ ReLU) in inference mode, as the layer's own inference: the moving statistics, not updated. */
function frozenBatchNorm(x: Tensor, bn: BnParams, relu: boolean): Tensor {
  return tf.tidy(() => {
    const y = tf.batchNorm(
      x,
      bn.movingMean.read(),
      bn.movingVariance.read(),
      bn.beta.read(),
      bn.gamma.read(),
      bn.epsilon,
    );
    return relu ? tf.relu(y) : y;
  });
}

/** A concatenation not yet materialised: its parts along the channel axis (memory-efficient mode). */
interface Pieces {
  pieces: Tensor[];
  whole?: Tensor;
}
type Value = Tensor | Pieces;

const isPieces = (v: Value): v is Pieces => !(v instanceof tf.Tensor);
const tensorsOf = (v: Value): Tensor[] => (isPieces(v) ? [...v.pieces] : [v]);

/**
 * Layer outputs by name, each released once its last consumer ran: a tensor is disposed when no value holds
 * it any more (never the input or the output). The backward pass does not need them: what it needs, the tape
 * keeps as its own references.
 */
class Values {
  private readonly values = new Map<string, Value>();
  private readonly refs = new Map<Tensor, number>();
  private readonly remaining: Map<string, number>;

  constructor(
    uses: Map<string, number>,
    private readonly protect: Set<Tensor>,
  ) {
    this.remaining = new Map(uses);
  }

  set(name: string, v: Value): void {
    this.values.set(name, v);
    for (const t of tensorsOf(v)) this.refs.set(t, (this.refs.get(t) ?? 0) + 1);
  }

  get(name: string): Value {
    const v = this.values.get(name);
    if (v === undefined) throw new Error(`trainingForward: ${name} has no value yet`);
    return v;
  }

  /** The value as one tensor (a concatenation is materialised once). */
  tensor(name: string): Tensor {
    const v = this.get(name);
    if (!isPieces(v)) return v;
    if (!v.whole) v.whole = concatChannels(v.pieces);
    return v.whole;
  }

  /** One consumer of `name` is done with it. */
  release(name: string): void {
    const left = (this.remaining.get(name) ?? 0) - 1;
    this.remaining.set(name, left);
    if (left > 0) return;
    const v = this.values.get(name);
    if (v === undefined) return;
    this.values.delete(name);
    for (const t of tensorsOf(v)) {
      const n = (this.refs.get(t) ?? 0) - 1;
      this.refs.set(t, n);
      if (n <= 0) {
        this.refs.delete(t);
        if (!this.protect.has(t)) t.dispose();
      }
    }
    if (isPieces(v) && v.whole && v.whole !== v.pieces[0] && !this.protect.has(v.whole)) v.whole.dispose();
  }

  protectTensor(t: Tensor): void {
    this.protect.add(t);
  }
}

/** One step of the forward pass: a layer, or a batch norm with the ReLU (and convolution) it absorbs. */
type Step =
  | { kind: 'layer'; layer: LayerInfo }
  | {
      kind: 'bn';
      bn: LayerInfo;
      params: BnParams;
      relu?: LayerInfo;
      conv?: { layer: LayerInfo; params: ConvParams };
      /** A frozen batch norm: inference mode. */
      frozen?: boolean;
    };

function isRelu(l: LayerInfo | undefined, from: string): l is LayerInfo {
  return (
    !!l && l.type === 'Activation' && l.config.activation === 'relu' && l.inputs.length === 1 && l.inputs[0] === from
  );
}

/** The steps of the forward pass, with the fusions the layer wiring allows. */
function plan(model: LayersModel, analysis: Analysis, options: ForwardOptions): Step[] {
  const consumers = new Map<string, LayerInfo[]>();
  for (const l of analysis.layers) for (const i of l.inputs) consumers.set(i, [...(consumers.get(i) ?? []), l]);
  const only = (name: string): LayerInfo | undefined => {
    const c = consumers.get(name) ?? [];
    return c.length === 1 ? c[0] : undefined;
  };
  const absorbed = new Set<string>();
  const steps: Step[] = [];
  for (const l of analysis.layers) {
    if (absorbed.has(l.name)) continue;
    if (l.type !== 'BatchNormalization') {
      steps.push({ kind: 'layer', layer: l });
      continue;
    }
    const frozen = options.frozen?.has(l.name) === true;
    const step: Step = { kind: 'bn', bn: l, params: bnParams(model, l.name), frozen };
    const relu = only(l.name);
    if (isRelu(relu, l.name)) {
      step.relu = relu;
      absorbed.add(relu.name);
      const conv = only(relu.name);
      if (!frozen && options.memoryEfficient && conv && conv.type === 'Conv2D' && conv.inputs.length === 1) {
        step.conv = { layer: conv, params: convParams(model, conv) };
        absorbed.add(conv.name);
      }
    }
    steps.push(step);
  }
  return steps;
}

/**
 * The training-mode forward pass of `model` (built by `buildModel` from `analysis`): images → class
 * probabilities, updating the batch-norm moving statistics as tfjs-layers does. `memoryEfficient` recomputes
 * the dense layers' concatenation, batch norm and ReLU in the backward pass instead of storing them.
 */
export function trainingForward(model: LayersModel, analysis: Analysis, options: ForwardOptions): Forward {
  if (analysis.problem) throw new Error(analysis.problem.message);
  const steps = plan(model, analysis, options);
  const convs = new Map<string, ConvParams>();
  const dense = new Map<string, DenseParams>();
  const layersByName = new Map<string, ReturnType<LayersModel['getLayer']>>();
  for (const l of analysis.layers) {
    if (l.type === 'Conv2D' || l.type === 'Conv2DTranspose') convs.set(l.name, convParams(model, l));
    if (l.type === 'Dense') dense.set(l.name, denseParams(model, l.name));
    if (l.type === 'Dropout') layersByName.set(l.name, model.getLayer(l.name));
  }
  const uses = new Map<string, number>();
  for (const l of analysis.layers) for (const i of l.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  const outputName = analysis.layers[analysis.layers.length - 1].name;

  const layer = (l: LayerInfo, v: Values): Value => {
    const c = l.config;
    const x = () => v.tensor(l.inputs[0]);
    switch (l.type) {
      case 'ZeroPadding2D': {
        const p = c.padding as number;
        return tf.pad(x(), [
          [0, 0],
          [p, p],
          [p, p],
          [0, 0],
        ]);
      }
      case 'Conv2D':
        return tf.tidy(() => conv2d(x(), convs.get(l.name) as ConvParams));
      case 'Conv2DTranspose':
        return conv2dTransposeSame(x() as Tensor4D, convs.get(l.name) as ConvParams, l.outputShape);
      case 'Activation':
        return c.activation === 'softmax' ? tf.softmax(x()) : tf.relu(x());
      case 'MaxPooling2D':
        return tf.maxPool(x() as Tensor4D, c.poolSize as number, c.strides as number, 'valid');
      case 'AveragePooling2D':
        return tf.avgPool(x() as Tensor4D, c.poolSize as number, c.strides as number, 'valid');
      case 'Concatenate': {
        if (!options.memoryEfficient)
          return tf.concat(
            l.inputs.map((i) => v.tensor(i)),
            -1,
          );
        return { pieces: l.inputs.flatMap((i) => tensorsOf(v.get(i))) };
      }
      case 'Dropout': {
        if (options.frozen?.has(l.name)) return tf.clone(x());
        // tfjs-layers' Dropout with a seed draws the same mask on every call, so a seeded model.apply would
        // drop the same units at every step. Here the seed advances with the step: the first call draws
        // model.apply's mask, the next ones fresh masks, reproducibly for a seeded run.
        const seed = layersByName.get(l.name)?.getConfig().seed;
        const stepSeed = typeof seed === 'number' ? (seed + calls * 104729) % 2147483647 : undefined;
        return tf.dropout(x(), c.rate as number, undefined, stepSeed);
      }
      case 'GlobalAveragePooling2D':
        return tf.mean(x(), [1, 2]);
      case 'Dense': {
        const d = dense.get(l.name) as DenseParams;
        return tf.tidy(() => {
          let y: Tensor = tf.matMul(x() as Tensor2D, d.kernel.read() as Tensor2D);
          if (d.bias) y = tf.add(y, d.bias.read());
          if (d.activation === 'softmax') return tf.softmax(y);
          if (d.activation === 'sigmoid') return tf.sigmoid(y);
          if (d.activation === 'relu') return tf.relu(y);
          if (d.activation === 'linear') return y;
          throw new Error(`Layer ${l.name}: activation ${d.activation} is not supported`);
        });
      }
      default:
        throw new Error(`Layer ${l.name}: type ${l.type} is not supported by trainingForward`);
    }
  };

  let calls = -1;
  return (input: Tensor): Tensor => {
    calls++;
    const v = new Values(uses, new Set([input]));
    let output: Tensor | undefined;
    for (const step of steps) {
      let name: string;
      let value: Value;
      let from: string[];
      if (step.kind === 'layer') {
        name = step.layer.name;
        from = step.layer.inputs;
        value = step.layer.type === 'InputLayer' ? input : layer(step.layer, v);
      } else {
        const { bn, params, relu, conv } = step;
        from = bn.inputs;
        if (step.frozen) {
          name = relu ? relu.name : bn.name;
          value = frozenBatchNorm(v.tensor(from[0]), params, !!relu);
        } else if (conv) {
          name = conv.layer.name;
          value = checkpointedBnReluConv(tensorsOf(v.get(from[0])), params, conv.params);
        } else {
          name = relu ? relu.name : bn.name;
          value = tf.tidy(() => {
            const r = batchNormRelu(v.tensor(from[0]), params.gamma.read(), params.beta.read(), params.epsilon, !!relu);
            updateMovingStats(params, r.mean, r.variance);
            return r.y;
          });
        }
      }
      // Hold the new value before releasing its inputs: a concatenation's pieces are its inputs' tensors.
      v.set(name, value);
      for (const i of from) v.release(i);
      if (name === outputName) {
        output = value as Tensor;
        v.protectTensor(output);
      }
    }
    if (!output) throw new Error('trainingForward: the last layer produced no output');
    return output;
  };
}
