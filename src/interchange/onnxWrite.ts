/**
 * An analysis and its weights as an ONNX inference graph (NCHW): Conv (a preceding ZeroPadding2D folded into
 * its pads), BatchNormalization, Relu, MaxPool, AveragePool, Concat on channels, GlobalAveragePool + Flatten,
 * Gemm; for an FC-DenseNet ConvTranspose and a per-pixel head; dropout is omitted. Input `input` [batch, C, H, W];
 * outputs `logits` and `probabilities` (Softmax over the classes), [batch, classes] or [batch, classes, H, W].
 */
import { onnx } from 'onnx-proto';
import type { Analysis, LayerInfo } from '../core/analyze';
import { checkLayerWeights } from './layerShapes';
import { hwioToOihw, transpose2d } from './layout';
import type { LayerWeights } from './tensors';

export interface OnnxWriteOptions {
  /** The batch norms' epsilon (the weights' source: torchvision 1e-5, Keras 1.001e-5). */
  epsilon: number;
  /** Default-domain operator set, at least 13. */
  opset?: number;
  /**
   * Layers whose outputs the graph also returns, each as a graph output named by the layer (NCHW for feature
   * maps, [batch, features] otherwise; `predictions` is the softmax output, as in the Keras model).
   */
  outputs?: readonly string[];
}

/** A layer's output as a graph tensor, with zero padding still to apply (a ZeroPadding2D not yet folded). */
interface Source {
  tensor: string;
  pad: number;
  /** Produced by a ReLU: non-negative, so zero padding before a max pool equals the pool's own padding. */
  nonNegative: boolean;
}

const ints = (name: string, values: number[]): onnx.IAttributeProto => ({
  name,
  type: onnx.AttributeProto.AttributeType.INTS,
  ints: values,
});
const int = (name: string, i: number): onnx.IAttributeProto => ({
  name,
  type: onnx.AttributeProto.AttributeType.INT,
  i,
});
const float = (name: string, f: number): onnx.IAttributeProto => ({
  name,
  type: onnx.AttributeProto.AttributeType.FLOAT,
  f,
});

function floatTensor(name: string, shape: number[], values: Float32Array): onnx.ITensorProto {
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return { name, dims: shape, dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw };
}

function int64Tensor(name: string, values: number[]): onnx.ITensorProto {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setBigInt64(8 * i, BigInt(v), true));
  return { name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData: raw };
}

class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  readonly sources = new Map<string, Source>();

  constructor(
    private readonly weights: LayerWeights,
    private readonly epsilon: number,
  ) {}

  node(opType: string, name: string, input: string[], output: string[], attribute: onnx.IAttributeProto[] = []) {
    this.nodes.push({ opType, name, input, output, attribute });
  }

  /** The layer's input, with any pending zero padding applied by a Pad node. */
  padded(layer: LayerInfo, index = 0): string {
    const s = this.source(layer.inputs[index]);
    if (s.pad === 0) return s.tensor;
    const pads = `${layer.name}/pads`;
    this.initializers.push(int64Tensor(pads, [0, 0, s.pad, s.pad, 0, 0, s.pad, s.pad]));
    this.node('Pad', `${layer.name}/pad`, [s.tensor, pads], [`${layer.name}/padded`]);
    return `${layer.name}/padded`;
  }

  source(name: string): Source {
    const s = this.sources.get(name);
    if (!s) throw new Error(`Layer ${name} feeds another layer before it is defined: the analysis is out of order.`);
    return s;
  }

  conv(layer: LayerInfo): void {
    const s = this.source(layer.inputs[0]);
    const k = layer.config.kernelSize ?? 1;
    const stride = layer.config.strides ?? 1;
    if (layer.config.padding === 'same' && (stride !== 1 || k % 2 === 0))
      throw new Error(
        `Layer ${layer.name}: 'same' padding with stride ${stride} and kernel ${k} has no ONNX equivalent.`,
      );
    const p = (layer.config.padding === 'same' ? (k - 1) / 2 : 0) + s.pad;
    const [kernel, bias] = this.weights.get(layer.name)!;
    const [h, w, i, o] = kernel.shape;
    this.initializers.push(floatTensor(`${layer.name}/kernel`, [o, i, h, w], hwioToOihw(kernel.values, kernel.shape)));
    const inputs = [s.tensor, `${layer.name}/kernel`];
    if (bias) {
      this.initializers.push(floatTensor(`${layer.name}/bias`, bias.shape, bias.values));
      inputs.push(`${layer.name}/bias`);
    }
    this.node(
      'Conv',
      layer.name,
      inputs,
      [layer.name],
      [ints('kernel_shape', [k, k]), ints('strides', [stride, stride]), ints('pads', [p, p, p, p])],
    );
  }

  /**
   * A transposed convolution with 'same' padding (an FC-DenseNet's transition up): tfjs' kernel [kH, kW, out, in]
   * becomes ONNX's [in, out, kH, kW]; 'same' crops what the stride leaves over at the bottom and right, as
   * TensorFlow does, so the output is exactly stride x the input.
   */
  convTranspose(layer: LayerInfo): void {
    const k = layer.config.kernelSize ?? 1;
    const stride = layer.config.strides ?? 1;
    const [kernel] = this.weights.get(layer.name)!;
    const [h, w, o, i] = kernel.shape;
    const values = new Float32Array(kernel.values.length);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let co = 0; co < o; co++)
          for (let ci = 0; ci < i; ci++)
            values[((ci * o + co) * h + y) * w + x] = kernel.values[((y * w + x) * o + co) * i + ci];
    this.initializers.push(floatTensor(`${layer.name}/kernel`, [i, o, h, w], values));
    const total = Math.max(k - stride, 0);
    const [begin, end] = [Math.floor(total / 2), total - Math.floor(total / 2)];
    this.node(
      'ConvTranspose',
      layer.name,
      [this.padded(layer), `${layer.name}/kernel`],
      [layer.name],
      [ints('kernel_shape', [k, k]), ints('strides', [stride, stride]), ints('pads', [begin, begin, end, end])],
    );
  }

  batchNorm(layer: LayerInfo): void {
    const names = ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((n) => `${layer.name}/${n}`);
    this.weights.get(layer.name)!.forEach((t, i) => this.initializers.push(floatTensor(names[i], t.shape, t.values)));
    this.node(
      'BatchNormalization',
      layer.name,
      [this.padded(layer), ...names],
      [layer.name],
      [float('epsilon', this.epsilon)],
    );
  }

  pool(layer: LayerInfo, opType: 'MaxPool' | 'AveragePool'): void {
    const s = this.source(layer.inputs[0]);
    const fold = opType === 'MaxPool' && s.nonNegative ? s.pad : 0;
    const input = fold ? s.tensor : this.padded(layer);
    const size = layer.config.poolSize ?? 2;
    const stride = layer.config.strides ?? size;
    this.node(
      opType,
      layer.name,
      [input],
      [layer.name],
      [ints('kernel_shape', [size, size]), ints('strides', [stride, stride]), ints('pads', [fold, fold, fold, fold])],
    );
  }

  dense(layer: LayerInfo, output: string): void {
    const [kernel, bias] = this.weights.get(layer.name)!;
    const [inputs, units] = kernel.shape;
    this.initializers.push(
      floatTensor(`${layer.name}/kernel`, [units, inputs], transpose2d(kernel.values, kernel.shape)),
    );
    this.initializers.push(floatTensor(`${layer.name}/bias`, bias.shape, bias.values));
    this.node(
      'Gemm',
      layer.name,
      [this.padded(layer), `${layer.name}/kernel`, `${layer.name}/bias`],
      [output],
      [int('transB', 1)],
    );
  }

  /**
   * A graph tensor named `layer.name` holding the layer's output (an Identity, or a Pad of pending zero padding,
   * where the layer's output is another tensor), for an extra graph output.
   */
  named(layer: LayerInfo): string {
    const s = this.source(layer.name);
    if (s.tensor === layer.name && s.pad === 0) return layer.name;
    const tensor = layer.name === 'predictions' ? 'probabilities' : s.tensor;
    if (s.pad === 0) this.node('Identity', `${layer.name}/output`, [tensor], [layer.name]);
    else {
      const pads = `${layer.name}/output_pads`;
      this.initializers.push(int64Tensor(pads, [0, 0, s.pad, s.pad, 0, 0, s.pad, s.pad]));
      this.node('Pad', `${layer.name}/output`, [tensor, pads], [layer.name]);
    }
    return layer.name;
  }

  /** Adds one layer and records the tensor that stands for its output. */
  layer(layer: LayerInfo, isLast: boolean): void {
    const plain = (tensor = layer.name): Source => ({ tensor, pad: 0, nonNegative: false });
    switch (layer.type) {
      case 'InputLayer':
        this.sources.set(layer.name, plain('input'));
        return;
      case 'ZeroPadding2D': {
        const s = this.source(layer.inputs[0]);
        this.sources.set(layer.name, { ...s, pad: s.pad + Number(layer.config.padding ?? 0) });
        return;
      }
      case 'Dropout':
        this.sources.set(layer.name, this.source(layer.inputs[0]));
        return;
      case 'Conv2D':
        this.conv(layer);
        break;
      case 'Conv2DTranspose':
        this.convTranspose(layer);
        break;
      case 'BatchNormalization':
        this.batchNorm(layer);
        break;
      case 'Activation':
        if (layer.config.activation === 'softmax' && isLast) {
          // A segmentation head: the classifier's output is `logits`, its softmax over the classes `probabilities`.
          this.node('Identity', 'logits', [this.padded(layer)], ['logits']);
          this.node('Softmax', layer.name, ['logits'], ['probabilities'], [int('axis', 1)]);
          this.sources.set(layer.name, plain('probabilities'));
          return;
        }
        if (layer.config.activation === 'softmax')
          this.node('Softmax', layer.name, [this.padded(layer)], [layer.name], [int('axis', 1)]);
        else this.node('Relu', layer.name, [this.padded(layer)], [layer.name]);
        this.sources.set(layer.name, {
          tensor: layer.name,
          pad: 0,
          nonNegative: layer.config.activation !== 'softmax',
        });
        return;
      case 'MaxPooling2D':
        this.pool(layer, 'MaxPool');
        break;
      case 'AveragePooling2D':
        this.pool(layer, 'AveragePool');
        break;
      case 'Concatenate':
        this.node(
          'Concat',
          layer.name,
          layer.inputs.map((_, i) => this.padded(layer, i)),
          [layer.name],
          [int('axis', 1)],
        );
        break;
      case 'GlobalAveragePooling2D':
        this.node('GlobalAveragePool', layer.name, [this.padded(layer)], [`${layer.name}/pooled`]);
        this.node('Flatten', `${layer.name}/flatten`, [`${layer.name}/pooled`], [layer.name], [int('axis', 1)]);
        break;
      case 'Dense':
        if (!isLast)
          throw new Error(`Dense layer ${layer.name} is not the model's last layer; the export expects one head.`);
        this.dense(layer, 'logits');
        // A multi-label head's probabilities are a sigmoid per label; a classifier's a softmax over the classes.
        if (layer.config.activation === 'sigmoid') this.node('Sigmoid', 'probabilities', ['logits'], ['probabilities']);
        else this.node('Softmax', 'probabilities', ['logits'], ['probabilities'], [int('axis', 1)]);
        this.sources.set(layer.name, plain('logits'));
        return;
    }
    this.sources.set(layer.name, plain());
  }
}

const tensorType = (dims: (number | string)[]): onnx.ITypeProto => ({
  tensorType: {
    elemType: onnx.TensorProto.DataType.FLOAT,
    shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
  },
});

/**
 * The analysis with its weights (tfjs layout) as an ONNX model: NCHW input `input` with a symbolic batch
 * dimension, outputs `logits` and `probabilities` (and `options.outputs`); node names are the layer names.
 */
export function writeOnnxModel(analysis: Analysis, weights: LayerWeights, options: OnnxWriteOptions): Uint8Array {
  const opset = options.opset ?? 13;
  if (!Number.isInteger(opset) || opset < 13)
    throw new Error(`ONNX export needs operator set 13 or later, not ${opset}.`);
  if (analysis.problem) throw new Error(`The model cannot be exported: ${analysis.problem.message}`);
  checkLayerWeights(weights, analysis);
  const g = new GraphBuilder(weights, options.epsilon);
  analysis.layers.forEach((l, i) => g.layer(l, i === analysis.layers.length - 1));
  const last = analysis.layers[analysis.layers.length - 1];
  const segmentation = analysis.task === 'segmentation';
  if (last.type !== (segmentation ? 'Activation' : 'Dense'))
    throw new Error(`The model ends in ${last.name} (${last.type}), not in a classifier.`);
  const { height, width, channels } = analysis.input;
  const head = segmentation ? ['batch', analysis.classes, height, width] : ['batch', analysis.classes];
  const extra = [...new Set(options.outputs ?? [])].map((name) => {
    const layer = analysis.layers.find((l) => l.name === name);
    if (!layer) throw new Error(`The model has no layer ${name} to return from the ONNX graph.`);
    const [h, w, c] = layer.outputShape;
    const dims = layer.outputShape.length === 3 ? ['batch', c, h, w] : ['batch', ...layer.outputShape];
    return { name: g.named(layer), type: tensorType(dims) };
  });
  const model: onnx.IModelProto = {
    irVersion: 7,
    opsetImport: [{ domain: '', version: opset }],
    producerName: 'DenseNet Lab',
    docString:
      'A DenseNet exported by DenseNet Lab for inference: NCHW float32 input, batch norm with its moving ' +
      'statistics, dropout omitted; outputs logits and softmax probabilities.',
    metadataProps: [
      { key: 'source', value: 'DenseNet Lab' },
      { key: 'layout', value: 'NCHW' },
      { key: 'batch_norm_epsilon', value: String(options.epsilon) },
      { key: 'classes', value: String(analysis.classes) },
    ],
    graph: {
      name: 'densenet',
      docString: 'Exported by DenseNet Lab; node names are the Keras layer names of the model.',
      node: g.nodes,
      initializer: g.initializers,
      input: [{ name: 'input', type: tensorType(['batch', channels, height, width]) }],
      output: [{ name: 'logits', type: tensorType(head) }, { name: 'probabilities', type: tensorType(head) }, ...extra],
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}
