/**
 * Weight files from outside, whatever their format: recognised by their bytes, read without executing
 * anything, and mapped onto an analysis' layers (tfjs layout) with the batch-norm epsilon of their source.
 *   PyTorch `.pth` and safetensors: torchvision's key names (timm's DenseNets share them);
 *   Keras `.h5`: the legacy weights layout, Keras 2 and Keras 3 layer names;
 *   ONNX: the initializers, matched through the graph.
 */
import * as path from 'path';
import { analyze, type Analysis } from '../core/analyze';
import { PRESETS } from '../core/presets';
import type { WeightsFormat } from '../core/weightsOrigin';
import { kerasLayerWeights, readKerasH5 } from './kerasH5';
import { torchvisionLayerWeights, torchvisionShape } from './layout';
import { onnxLayerWeights, readOnnxModel } from './onnx';
import { readPytorchFile } from './pytorch';
import { readSafetensors } from './safetensors';
import { KERAS_BN_EPSILON, TORCH_BN_EPSILON, type LayerWeights, type ParamOp, type TensorDict } from './tensors';

/** A weights file read: its format, its class count, and how to map it onto an analysis. */
export interface SourceWeights {
  format: WeightsFormat;
  /** Outputs of its classifier. */
  classes: number;
  /** Its layers on `analysis` (whose classes must be `classes`); throws naming the first mismatch. */
  map(analysis: Analysis): { weights: LayerWeights; batchNormEpsilon: number };
}

const startsWith = (b: Uint8Array, bytes: number[]) => bytes.every((x, i) => b[i] === x);

/** The format of a weights file, from its first bytes (and, for ONNX, which has no magic number, its name). */
export function detectFormat(bytes: Uint8Array, fileName: string): WeightsFormat | undefined {
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04])) return 'pytorch'; // zip: torch.save since 1.6
  if (bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5) return 'pytorch'; // a pickle: legacy torch.save
  if (startsWith(bytes, [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a])) return 'keras-h5';
  if (bytes.length >= 9) {
    const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
    if (headerLength > 1n && headerLength < BigInt(bytes.length) && bytes[8] === 0x7b) return 'safetensors';
  }
  if (path.extname(fileName).toLowerCase() === '.onnx') return 'onnx';
  return undefined;
}

function torchvisionSource(format: WeightsFormat, dict: TensorDict): SourceWeights {
  const shape = torchvisionShape(dict);
  if (!shape)
    throw new Error(
      `This ${format === 'pytorch' ? 'PyTorch file' : 'safetensors file'} is not a torchvision DenseNet state dict: it has no features.conv0.weight, features.denseblock1… or classifier.weight`,
    );
  return {
    format,
    classes: shape.classes,
    map: (analysis) => ({
      weights: torchvisionLayerWeights(dict, analysis).weights,
      batchNormEpsilon: TORCH_BN_EPSILON,
    }),
  };
}

function kerasClasses(dict: TensorDict): number {
  for (const [name, t] of dict)
    if (/^(predictions|fc1000)[/_].*kernel/.test(name) && t.shape.length === 2) return t.shape[1];
  throw new Error('This Keras file has no classifier (a predictions/kernel of two dimensions): is it a DenseNet?');
}

/** Keras-named weights (`conv1/conv/kernel:0`, `conv1_conv/kernel`): a Keras .h5, or a tfjs layers model's manifest. */
export function kerasNamedSource(format: WeightsFormat, dict: TensorDict, batchNormEpsilon: number): SourceWeights {
  return {
    format,
    classes: kerasClasses(dict),
    map: (analysis) => ({ weights: kerasLayerWeights(dict, analysis), batchNormEpsilon }),
  };
}

function onnxSource(ops: ParamOp[]): SourceWeights {
  const dense = [...ops].reverse().find((o) => o.op === 'dense');
  if (!dense || dense.op !== 'dense')
    throw new Error('This ONNX model has no classifier (Gemm or MatMul): is it a DenseNet?');
  return {
    format: 'onnx',
    classes: dense.weight.shape[0],
    map: (analysis) => {
      const { weights, epsilon } = onnxLayerWeights(ops, analysis);
      return { weights, batchNormEpsilon: epsilon };
    },
  };
}

/** Reads a weights file's bytes; throws saying which formats are read when it is none of them. */
export async function readWeightsFile(bytes: Uint8Array, fileName: string): Promise<SourceWeights> {
  const format = detectFormat(bytes, fileName);
  switch (format) {
    case 'pytorch':
      return torchvisionSource(format, readPytorchFile(bytes));
    case 'safetensors':
      return torchvisionSource(format, readSafetensors(bytes).tensors);
    case 'keras-h5':
      return kerasNamedSource(format, await readKerasH5(bytes), KERAS_BN_EPSILON);
    case 'onnx':
      return onnxSource(readOnnxModel(bytes).ops);
    default:
      throw new Error(
        `${path.basename(fileName)} is not a weights file DenseNet Lab reads: PyTorch .pth/.pt (torch.save), .safetensors, Keras .h5 or .onnx`,
      );
  }
}

/** What mapping a source onto a model gave. */
export interface MappedSource {
  weights: LayerWeights;
  batchNormEpsilon: number;
  /** Set when the source's classifier was left out because the model has another class count. */
  replacedClassifier?: { fromClasses: number; toClasses: number };
}

/**
 * The source's weights on `analysis`. With `replaceClassifier`, a source of another class count maps onto the
 * same model with the source's classes, and its classifier is left out: the model keeps a new one.
 */
export function mapSource(source: SourceWeights, analysis: Analysis, replaceClassifier: boolean): MappedSource {
  if (analysis.task === 'segmentation')
    throw new Error(
      'Importing weights into a segmentation model (FC-DenseNet) is not supported: pretrained DenseNets are classifiers; start an FC-DenseNet from scratch.',
    );
  if (source.classes === analysis.classes) return source.map(analysis);
  if (!replaceClassifier)
    throw new Error(
      `Layer predictions: the weights have ${source.classes} classes, the model ${analysis.classes}: set "classes" to ${source.classes}, or fine-tune (the classifier is then replaced)`,
    );
  const { weights, batchNormEpsilon } = source.map(withClasses(analysis, source.classes));
  weights.delete('predictions');
  return {
    weights,
    batchNormEpsilon,
    replacedClassifier: { fromClasses: source.classes, toClasses: analysis.classes },
  };
}

/** The same network with another class count. */
function withClasses(a: Analysis, classes: number): Analysis {
  const dense = a.layers.find((l) => l.type === 'Dense');
  const features = a.layers.find((l) => l.name === dense?.inputs[0])?.outputShape[0] ?? 0;
  return {
    ...a,
    classes,
    layers: a.layers.map((l) =>
      l.type === 'Dense'
        ? {
            ...l,
            outputShape: [classes],
            config: { ...l.config, units: classes },
            params: features * classes + classes,
          }
        : l,
    ),
  };
}

/**
 * The ImageNet preset whose network the source fits (at the preset's input size, with the source's classes),
 * for an import that names neither a preset nor a spec. Throws listing what was tried.
 */
export function guessPreset(source: SourceWeights): { preset: string; analysis: Analysis; mapped: MappedSource } {
  const tried: string[] = [];
  for (const p of PRESETS.filter((x) => (x.task ?? 'classification') === 'classification')) {
    const analysis = analyze(p.model, p.input, source.classes);
    try {
      return { preset: p.name, analysis, mapped: source.map(analysis) };
    } catch (e) {
      tried.push(`${p.name}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(
    `These weights fit none of the presets; give --preset NAME or --spec FILE. First mismatch per preset:\n  ${tried.join('\n  ')}`,
  );
}
