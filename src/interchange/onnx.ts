/**
 * ONNX models of a DenseNet: the parametrised operations of a graph (Conv, BatchNormalization, Gemm or
 * MatMul + Add) read with onnx-proto's protobuf messages, every tensor checked against its bytes, and matched
 * to the analysis' layers. PyTorch's exporter folds each convolution that a batch norm follows into one
 * convolution with a bias; such a node stands for the analysis' Conv2D and that BatchNormalization.
 *
 * `writeOnnxModel` (src/interchange/onnxWrite.ts) writes the other way.
 */
import { onnx } from 'onnx-proto';
import type { Analysis } from '../core/analyze';
import { paramLayers, type ParamLayer } from './layerShapes';
import { oihwToHwio, transpose2d, type MappedWeights, type MappingOptions } from './layout';
import {
  TORCH_BN_EPSILON,
  elementCount,
  halfToFloat,
  shapeText,
  type ForeignTensor,
  type LayerWeights,
  type ParamOp,
} from './tensors';

export { writeOnnxModel, type OnnxWriteOptions } from './onnxWrite';

export interface OnnxModelInfo {
  /** The parametrised operations, in topological order of the graph. */
  ops: ParamOp[];
  /** The first graph input's shape (NCHW for image models); symbolic dimensions by their name, unknown ones `?`. */
  inputShape: (number | string)[];
  /** The default-domain operator set the model imports. */
  opset: number;
}

type Int64 = number | { toNumber(): number };
const toNumber = (v: Int64 | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

const DataType = onnx.TensorProto.DataType;

/** A tensor's values as float32, after checking its dims, data type and data length. */
function tensorValues(t: onnx.ITensorProto, what: string): ForeignTensor {
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL)
    throw new Error(
      `The ONNX model keeps ${what} in an external data file, which is not read. Save the model with its ` +
        'weights inside: `onnx.save_model(onnx.load(path), out_path, save_as_external_data=False)` (models under 2 GB).',
    );
  const shape = (t.dims ?? []).map(toNumber);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw new Error(`${what} has an invalid shape ${shapeText(shape)}: the file is damaged.`);
  const n = elementCount(shape);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  const values = new Float32Array(n);
  const check = (count: number, unit: string) => {
    if (count !== n)
      throw new Error(
        `${what} of shape ${shapeText(shape)} holds ${count} ${unit} instead of ${n}: the file is damaged.`,
      );
  };
  switch (t.dataType) {
    case DataType.FLOAT:
      if (view) {
        check(raw!.length / 4, 'values');
        for (let i = 0; i < n; i++) values[i] = view.getFloat32(4 * i, true);
      } else {
        check(t.floatData?.length ?? 0, 'values');
        values.set(t.floatData ?? []);
      }
      return { shape, dtype: 'float32', values };
    case DataType.DOUBLE:
      if (view) {
        check(raw!.length / 8, 'values');
        for (let i = 0; i < n; i++) values[i] = view.getFloat64(8 * i, true);
      } else {
        check(t.doubleData?.length ?? 0, 'values');
        values.set(t.doubleData ?? []);
      }
      return { shape, dtype: 'float64', values };
    case DataType.FLOAT16:
      if (view) {
        check(raw!.length / 2, 'values');
        for (let i = 0; i < n; i++) values[i] = halfToFloat(view.getUint16(2 * i, true));
      } else {
        check(t.int32Data?.length ?? 0, 'values');
        (t.int32Data ?? []).forEach((h, i) => (values[i] = halfToFloat(h & 0xffff)));
      }
      return { shape, dtype: 'float16', values };
    default:
      throw new Error(
        `${what} has ONNX data type ${DataType[t.dataType ?? 0] ?? t.dataType}; weights must be float32, float64 or float16.`,
      );
  }
}

function decodeModel(bytes: Uint8Array): onnx.ModelProto {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new Error(
      `The data is not an ONNX model (protobuf decoding failed: ${e instanceof Error ? e.message : String(e)}). ` +
        'Check the file: it may be truncated or a different format.',
    );
  }
  if (!model.graph || !model.graph.node?.length)
    throw new Error('The data is not an ONNX model: it has no graph nodes. Check the file (truncated, other format?).');
  return model;
}

/** The graph's nodes in topological order (file order among the ready ones); a cycle or a missing tensor is an error. */
function topologicalOrder(graph: onnx.IGraphProto): onnx.INodeProto[] {
  const nodes = graph.node ?? [];
  const available = new Set<string>(['']);
  for (const i of graph.input ?? []) available.add(i.name ?? '');
  for (const t of graph.initializer ?? []) available.add(t.name ?? '');
  const done = new Array<boolean>(nodes.length).fill(false);
  const order: onnx.INodeProto[] = [];
  let progress = true;
  while (order.length < nodes.length && progress) {
    progress = false;
    for (let i = 0; i < nodes.length; i++) {
      if (done[i] || !(nodes[i].input ?? []).every((x) => available.has(x))) continue;
      done[i] = true;
      order.push(nodes[i]);
      for (const o of nodes[i].output ?? []) available.add(o);
      progress = true;
      break; // restart from the first node: file order among the ready ones
    }
  }
  if (order.length < nodes.length) {
    const stuck = nodes.find((_, i) => !done[i])!;
    const need = (stuck.input ?? []).find((x) => !available.has(x));
    throw new Error(
      `The ONNX graph cannot be ordered: node ${stuck.name || stuck.opType} needs tensor ${need}, which no node ` +
        'produces (or the graph has a cycle). The file is damaged.',
    );
  }
  return order;
}

function attribute(node: onnx.INodeProto, name: string): onnx.IAttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}
const intAttr = (node: onnx.INodeProto, name: string, fallback: number) => {
  const a = attribute(node, name);
  return a ? toNumber(a.i) : fallback;
};
const floatAttr = (node: onnx.INodeProto, name: string, fallback: number) => {
  const a = attribute(node, name);
  return a ? (a.f ?? fallback) : fallback;
};

/** A 2-D tensor transposed. */
const transposed = (t: ForeignTensor): ForeignTensor => ({
  shape: [t.shape[1], t.shape[0]],
  dtype: t.dtype,
  values: transpose2d(t.values, t.shape),
});

/** Walks the ordered nodes and collects the parametrised operations with their constant inputs. */
function collectOps(graph: onnx.IGraphProto, order: onnx.INodeProto[]): ParamOp[] {
  const constants = new Map<string, onnx.ITensorProto>();
  for (const t of graph.initializer ?? []) constants.set(t.name ?? '', t);
  const consumers = new Map<string, onnx.INodeProto[]>();
  for (const n of order) for (const i of n.input ?? []) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const nodeName = (n: onnx.INodeProto) => n.name || `${n.opType} → ${(n.output ?? [])[0]}`;
  const constant = (n: onnx.INodeProto, index: number, role: string): ForeignTensor => {
    const name = (n.input ?? [])[index];
    const t = name ? constants.get(name) : undefined;
    if (!t)
      throw new Error(
        `ONNX node ${nodeName(n)} (${n.opType}) takes its ${role} from tensor ${name || '(none)'}, which is not ` +
          'stored in the file (an initializer or a Constant): only stored weights can be imported.',
      );
    return tensorValues(t, `the ${role} of ONNX node ${nodeName(n)} (tensor ${name})`);
  };
  const optional = (n: onnx.INodeProto, index: number, role: string) =>
    (n.input ?? [])[index] ? constant(n, index, role) : undefined;
  const ops: ParamOp[] = [];
  const skip = new Set<onnx.INodeProto>();
  for (const n of order) {
    if (skip.has(n)) continue;
    const node = nodeName(n);
    switch (n.opType) {
      case 'Constant': {
        const value = attribute(n, 'value')?.t;
        if (value) constants.set((n.output ?? [])[0], value);
        break;
      }
      case 'Identity': {
        const from = constants.get((n.input ?? [])[0]);
        if (from) constants.set((n.output ?? [])[0], from);
        break;
      }
      case 'Conv': {
        if (intAttr(n, 'group', 1) !== 1)
          throw new Error(`ONNX node ${node} is a grouped convolution, which a DenseNet does not have.`);
        const weight = constant(n, 1, 'weight');
        if (weight.shape.length !== 4)
          throw new Error(`ONNX node ${node} (Conv) has a weight of shape ${shapeText(weight.shape)}, not 4-D (OIHW).`);
        ops.push({ op: 'conv', node, weight, bias: optional(n, 2, 'bias') });
        break;
      }
      case 'BatchNormalization': {
        if (intAttr(n, 'training_mode', 0) !== 0)
          throw new Error(`ONNX node ${node} (BatchNormalization) is in training mode; export the model in eval mode.`);
        const [scale, bias, mean, variance] = ['scale', 'bias', 'mean', 'variance'].map((r, i) =>
          constant(n, i + 1, r),
        );
        ops.push({ op: 'batchnorm', node, scale, bias, mean, variance, epsilon: floatAttr(n, 'epsilon', 1e-5) });
        break;
      }
      case 'Gemm':
        ops.push(gemmOp(n, node, constant, optional));
        break;
      case 'MatMul': {
        const w = constant(n, 1, 'weight');
        if (w.shape.length !== 2)
          throw new Error(`ONNX node ${node} (MatMul) has a weight of shape ${shapeText(w.shape)}, not [in, out].`);
        const next = consumers.get((n.output ?? [])[0]) ?? [];
        const add = next.length === 1 && next[0].opType === 'Add' ? next[0] : undefined;
        const biasAt = add ? (add.input ?? []).findIndex((x) => x !== (n.output ?? [])[0]) : -1;
        let bias: ForeignTensor | undefined;
        if (add && biasAt >= 0 && constants.has((add.input ?? [])[biasAt])) {
          bias = constant(add, biasAt, 'bias');
          skip.add(add);
        }
        ops.push({ op: 'dense', node, weight: transposed(w), bias });
        break;
      }
    }
  }
  return ops;
}

function gemmOp(
  n: onnx.INodeProto,
  node: string,
  constant: (n: onnx.INodeProto, i: number, role: string) => ForeignTensor,
  optional: (n: onnx.INodeProto, i: number, role: string) => ForeignTensor | undefined,
): ParamOp {
  if (intAttr(n, 'transA', 0) !== 0) throw new Error(`ONNX node ${node} (Gemm) transposes its input (transA = 1).`);
  const b = constant(n, 1, 'weight');
  if (b.shape.length !== 2)
    throw new Error(`ONNX node ${node} (Gemm) has a weight of shape ${shapeText(b.shape)}, not 2-D.`);
  const weight = intAttr(n, 'transB', 0) ? b : transposed(b);
  const alpha = floatAttr(n, 'alpha', 1);
  const beta = floatAttr(n, 'beta', 1);
  if (alpha !== 1) weight.values = weight.values.map((v) => v * alpha);
  const bias = optional(n, 2, 'bias');
  if (bias && beta !== 1) bias.values = bias.values.map((v) => v * beta);
  if (bias && elementCount(bias.shape) !== weight.shape[0])
    throw new Error(
      `ONNX node ${node} (Gemm) has a bias of shape ${shapeText(bias.shape)} for ${weight.shape[0]} outputs.`,
    );
  return { op: 'dense', node, weight, bias };
}

/**
 * Decodes and checks an ONNX model and returns its parametrised operations (Conv weight OIHW and optional
 * bias, BatchNormalization with its epsilon, dense [out, in] from Gemm or MatMul + Add) in topological order.
 */
export function readOnnxModel(bytes: Uint8Array): OnnxModelInfo {
  const model = decodeModel(bytes);
  const graph = model.graph!;
  const opsetEntry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!opsetEntry) throw new Error('The ONNX model imports no default-domain operator set: the file is damaged.');
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const input = (graph.input ?? []).find((i) => !initializers.has(i.name));
  const inputShape = (input?.type?.tensorType?.shape?.dim ?? []).map((d) =>
    d.dimValue != null && toNumber(d.dimValue) > 0 ? toNumber(d.dimValue) : d.dimParam || '?',
  );
  return { ops: collectOps(graph, topologicalOrder(graph)), inputShape, opset: toNumber(opsetEntry.version) };
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

const FIX = 'Make the spec match the ONNX model (preset, growth rate, blocks, bottleneck, input channels, classes).';

function mismatch(p: ParamLayer, op: ParamOp, what: string, has: number[], needs: number[]): Error {
  return new Error(
    `Layer ${p.layer.name} (${p.type}): ONNX node ${op.node} has a ${what} of shape ${shapeText(has)} but the ` +
      `model needs ${shapeText(needs)}. ${FIX}`,
  );
}

/** The ONNX operation each layer type's weights come from (an FC-DenseNet's transposed convolutions: none). */
const OP_FOR: Partial<Record<ParamLayer['type'], ParamOp['op']>> = {
  Conv2D: 'conv',
  BatchNormalization: 'batchnorm',
  Dense: 'dense',
};

/**
 * Matches the parametrised operations, in order, to the analysis' Conv2D, BatchNormalization and Dense layers.
 * A convolution with a bias stands for a Conv2D and the batch norm that follows it: that batch norm becomes
 * gamma 1, beta = bias, mean 0, variance 1 − ε, so that it adds the bias exactly. Returns the batch norms'
 * epsilon (they must agree; torchvision's when the graph has none). With `replaceClassifier`, a classifier of
 * other classes is left out (no `predictions`) and reported as torchvision reports it ([out, in] shapes).
 */
export function onnxLayerWeights(
  ops: ParamOp[],
  analysis: Analysis,
  options: MappingOptions = {},
): { weights: LayerWeights; epsilon: number; replacedClassifier?: MappedWeights['replacedClassifier'] } {
  const layers = paramLayers(analysis);
  let replacedClassifier: MappedWeights['replacedClassifier'];
  const weights: LayerWeights = new Map();
  const fused: { name: string; bias: Float32Array }[] = [];
  const epsilons: number[] = [];
  let k = 0;
  for (let i = 0; i < layers.length; i++) {
    const p = layers[i];
    if (!OP_FOR[p.type]) throw new Error(`Layer ${p.layer.name} (${p.type}): ONNX weights cannot be imported into it.`);
    const op = ops[k++];
    if (!op)
      throw new Error(
        `The ONNX model has no weights for layer ${p.layer.name} (${p.type}) and the ${layers.length - i - 1} ` +
          `parametrised layer(s) after it: it has ${ops.length} parametrised nodes. ${FIX}`,
      );
    if (op.op !== OP_FOR[p.type])
      throw new Error(
        `Layer ${p.layer.name} (${p.type}) meets ONNX node ${op.node}, a ${op.op}, where the model needs a ` +
          `${OP_FOR[p.type]}. ${FIX}`,
      );
    if (op.op === 'conv') {
      const [h, w, cin, cout] = p.shapes[0];
      if (!sameShape(op.weight.shape, [cout, cin, h, w]))
        throw mismatch(p, op, 'weight (OIHW)', op.weight.shape, [cout, cin, h, w]);
      weights.set(p.layer.name, [{ shape: [h, w, cin, cout], values: oihwToHwio(op.weight.values, op.weight.shape) }]);
      if (op.bias) {
        const next = layers[i + 1];
        if (!next || next.type !== 'BatchNormalization' || next.layer.inputs[0] !== p.layer.name)
          throw new Error(
            `Layer ${p.layer.name} (Conv2D): ONNX node ${op.node} has a bias, but the layer has none and no batch ` +
              `norm follows it to take it. ${FIX}`,
          );
        if (!sameShape(op.bias.shape, [cout])) throw mismatch(p, op, 'bias', op.bias.shape, [cout]);
        fused.push({ name: next.layer.name, bias: op.bias.values });
        i++;
      }
    } else if (op.op === 'batchnorm') {
      const parts = [op.scale, op.bias, op.mean, op.variance];
      const bad = parts.findIndex((t) => !sameShape(t.shape, p.shapes[0]));
      if (bad >= 0) throw mismatch(p, op, ['scale', 'bias', 'mean', 'variance'][bad], parts[bad].shape, p.shapes[0]);
      weights.set(
        p.layer.name,
        parts.map((t) => ({ shape: [...t.shape], values: t.values })),
      );
      epsilons.push(op.epsilon);
    } else {
      const [cin, units] = p.shapes[0];
      const fits = sameShape(op.weight.shape, [units, cin]) && (!op.bias || sameShape(op.bias.shape, [units]));
      if (!fits && p.layer.name === 'predictions' && options.replaceClassifier) {
        replacedClassifier = { fileShape: [...op.weight.shape], modelShape: [units, cin] };
        continue;
      }
      if (!sameShape(op.weight.shape, [units, cin]))
        throw mismatch(p, op, 'weight ([out, in])', op.weight.shape, [units, cin]);
      if (op.bias && !sameShape(op.bias.shape, [units])) throw mismatch(p, op, 'bias', op.bias.shape, [units]);
      weights.set(p.layer.name, [
        { shape: [cin, units], values: transpose2d(op.weight.values, op.weight.shape) },
        { shape: [units], values: op.bias ? op.bias.values : new Float32Array(units) },
      ]);
    }
  }
  if (k < ops.length)
    throw new Error(
      `The ONNX model has ${ops.length - k} parametrised node(s) more than the model, first ${ops[k].node} ` +
        `(${ops[k].op}). ${FIX}`,
    );
  const epsilon = epsilons[0] ?? TORCH_BN_EPSILON;
  const other = epsilons.find((e) => Math.abs(e - epsilon) > 1e-9);
  if (other !== undefined)
    throw new Error(
      `The ONNX model's batch norms use different epsilons (${epsilon} and ${other}); one model has one.`,
    );
  for (const { name, bias } of fused) {
    const c = bias.length;
    weights.set(name, [
      { shape: [c], values: new Float32Array(c).fill(1) },
      { shape: [c], values: Float32Array.from(bias) },
      { shape: [c], values: new Float32Array(c) },
      { shape: [c], values: new Float32Array(c).fill(1 - epsilon) },
    ]);
  }
  // Model order, as paramLayers lists them.
  const ordered: LayerWeights = new Map();
  for (const p of layers) if (weights.has(p.layer.name)) ordered.set(p.layer.name, weights.get(p.layer.name)!);
  return { weights: ordered, epsilon, replacedClassifier };
}
