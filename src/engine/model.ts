/**
 * Builds a `LayersModel` from the analysis, layer by layer: the same Keras names, shapes and wiring as
 * the editor shows (one source of truth), batch-norm epsilon 1.001e-5, convolutions without bias, a dense
 * softmax classifier. Weights load by layer name from Keras-named checkpoints.
 */
import type { Analysis, LayerInfo } from '../core/analyze';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';
import { tf } from './tf';

export interface BuildOptions {
  /** Seeds the initialisers and dropout so that a run is reproducible on the same backend. */
  seed?: number;
  /** Batch-norm epsilon of the weights the model will hold (torchvision 1e-5); the analysis' (Keras') otherwise. */
  batchNormEpsilon?: number;
}

/** A different, deterministic seed per layer (initialisers of equal shape must not draw equal weights). */
function layerSeed(base: number | undefined, index: number): number | undefined {
  return base === undefined ? undefined : (base * 1000003 + index * 7919) % 2147483647;
}

function makeLayer(l: LayerInfo, index: number, options: BuildOptions) {
  const c = l.config;
  const s = layerSeed(options.seed, index);
  switch (l.type) {
    case 'ZeroPadding2D':
      return tf.layers.zeroPadding2d({ name: l.name, padding: c.padding as number });
    case 'Conv2D':
      return tf.layers.conv2d({
        name: l.name,
        filters: c.filters as number,
        kernelSize: c.kernelSize as number,
        strides: c.strides ?? 1,
        padding: c.padding === 'same' ? 'same' : 'valid',
        useBias: c.useBias === true,
        // He initialisation, as torchvision's DenseNet (kaiming_normal_): trains deep ReLU networks from scratch.
        kernelInitializer: tf.initializers.heNormal({ seed: s }),
      });
    case 'Conv2DTranspose':
      return tf.layers.conv2dTranspose({
        name: l.name,
        filters: c.filters as number,
        kernelSize: c.kernelSize as number,
        strides: c.strides ?? 1,
        padding: 'same',
        useBias: false,
        kernelInitializer: tf.initializers.heNormal({ seed: s }),
      });
    case 'BatchNormalization':
      // Moving statistics with PyTorch's momentum (0.1, Keras 0.9): they track the weights within a few
      // hundred steps, so short trainings validate on settled statistics.
      return tf.layers.batchNormalization({
        name: l.name,
        axis: -1,
        epsilon: options.batchNormEpsilon ?? c.epsilon,
        momentum: 0.9,
      });
    case 'Activation':
      return tf.layers.activation({ name: l.name, activation: c.activation === 'softmax' ? 'softmax' : 'relu' });
    case 'MaxPooling2D':
      return tf.layers.maxPooling2d({
        name: l.name,
        poolSize: c.poolSize as number,
        strides: c.strides as number,
        padding: 'valid',
      });
    case 'AveragePooling2D':
      return tf.layers.averagePooling2d({
        name: l.name,
        poolSize: c.poolSize as number,
        strides: c.strides as number,
        padding: 'valid',
      });
    case 'Concatenate':
      return tf.layers.concatenate({ name: l.name, axis: -1 });
    case 'Dropout':
      return tf.layers.dropout({ name: l.name, rate: c.rate as number, seed: s });
    case 'GlobalAveragePooling2D':
      return tf.layers.globalAveragePooling2d({ name: l.name });
    case 'Dense':
      return tf.layers.dense({
        name: l.name,
        units: c.units as number,
        activation: c.activation === 'sigmoid' ? 'sigmoid' : 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: s }),
      });
    default:
      throw new Error(`Layer ${l.name}: no tfjs layer for type ${l.type}`);
  }
}

export function buildModel(a: Analysis, options: BuildOptions = {}): LayersModel {
  if (a.problem) throw new Error(a.problem.message);
  const outputs = new Map<string, SymbolicTensor>();
  let input: SymbolicTensor | undefined;
  a.layers.forEach((l, i) => {
    if (l.type === 'InputLayer') {
      input = tf.input({ name: l.name, shape: l.outputShape });
      outputs.set(l.name, input);
      return;
    }
    const inbound = l.inputs.map((name) => {
      const t = outputs.get(name);
      if (!t) throw new Error(`Layer ${l.name}: input ${name} is not built yet`);
      return t;
    });
    const out = makeLayer(l, i, options).apply(inbound.length === 1 ? inbound[0] : inbound) as SymbolicTensor;
    outputs.set(l.name, out);
  });
  const last = a.layers[a.layers.length - 1];
  if (!input) throw new Error('The analysis has no input layer');
  return tf.model({ name: 'densenet', inputs: input, outputs: outputs.get(last.name) as SymbolicTensor });
}

/** Trainable and non-trainable parameter counts of a built model, as Keras reports them. */
export function countParams(model: LayersModel): { trainable: number; nonTrainable: number } {
  const sum = (ws: { shape: (number | null)[] }[]) =>
    ws.reduce((s, w) => s + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
  return { trainable: sum(model.trainableWeights), nonTrainable: sum(model.nonTrainableWeights) };
}
