/**
 * What the architecture panel's properties pane shows for a diagram node: its Keras layers with output shapes,
 * weight shapes (Conv2D kernels HWIO, BatchNormalization gamma/beta/moving mean/variance, Dense kernel and
 * bias), parameters, multiply-adds and activation memory, all from the analysis (src/core/analyze.ts). Also the
 * search by Keras name and the node tooltip. Pure: no DOM, no `vscode`.
 */
import type { Analysis, LayerInfo, Shape } from './analyze';
import type { DiagramModel } from './diagram';
import { formatCount, formatShape } from './format';

export interface WeightInfo {
  /** Keras weight name: `kernel`, `bias`, `gamma`, `beta`, `moving_mean`, `moving_variance`. */
  name: string;
  shape: Shape;
  trainable: boolean;
}

export interface LayerProperties {
  name: string;
  type: string;
  outputShape: Shape;
  weights: WeightInfo[];
  params: number;
  macs: number;
  activationBytes: number;
}

export interface NodeProperties {
  /** The node id: a group name (`conv1`, `pool3`, `head`, a collapsed block `conv4`) or a dense layer. */
  id: string;
  layers: LayerProperties[];
  params: number;
  trainableParams: number;
  nonTrainableParams: number;
  macs: number;
  activationBytes: number;
}

const product = (s: Shape) => s.reduce((a, b) => a * b, 1);

/** The weights a layer holds, shaped as Keras stores them; their sizes add up to `layer.params`. */
export function weightsOf(layer: LayerInfo, inputShape: Shape | undefined): WeightInfo[] {
  const cin = inputShape?.[inputShape.length - 1] ?? 0;
  const cout = layer.outputShape[layer.outputShape.length - 1] ?? 0;
  const w = (name: string, shape: Shape, trainable = true): WeightInfo => ({ name, shape, trainable });
  switch (layer.type) {
    case 'Conv2D': {
      const k = layer.config.kernelSize ?? 1;
      const kernel = [k, k, cin, cout];
      return layer.params > product(kernel) ? [w('kernel', kernel), w('bias', [cout])] : [w('kernel', kernel)];
    }
    case 'BatchNormalization':
      return [
        w('gamma', [cout]),
        w('beta', [cout]),
        w('moving_mean', [cout], false),
        w('moving_variance', [cout], false),
      ];
    case 'Dense':
      return [w('kernel', [cin, cout]), w('bias', [cout])];
    default:
      return [];
  }
}

/** The analysis' layers a node stands for: a dense layer's 6 layers and its concatenation, or a whole group. */
export function layersOfNode(a: Analysis, id: string): LayerInfo[] {
  const group = a.groups.find((g) => g.name === id);
  if (group) return a.layers.slice(group.firstLayer, group.lastLayer + 1);
  const m = /^(.+)_block(\d+)$/.exec(id);
  if (!m) return [];
  const gi = a.groups.findIndex((g) => g.name === m[1] && g.kind === 'block');
  const n = Number(m[2]);
  return gi < 0 ? [] : a.layers.filter((l) => l.group === gi && l.blockLayer === n);
}

/** The properties pane of node `id`; undefined when the analysis has no such node. */
export function nodeProperties(a: Analysis, id: string): NodeProperties | undefined {
  const layers = layersOfNode(a, id);
  if (layers.length === 0) return undefined;
  const shapes = new Map(a.layers.map((l) => [l.name, l.outputShape]));
  const sum = (f: (l: LayerInfo) => number) => layers.reduce((s, l) => s + f(l), 0);
  return {
    id,
    layers: layers.map((l) => ({
      name: l.name,
      type: l.type,
      outputShape: l.outputShape,
      weights: weightsOf(l, l.inputs[0] === undefined ? undefined : shapes.get(l.inputs[0])),
      params: l.params,
      macs: l.macs,
      activationBytes: l.activationBytes,
    })),
    params: sum((l) => l.params),
    trainableParams: sum((l) => l.trainableParams),
    nonTrainableParams: sum((l) => l.nonTrainableParams),
    macs: sum((l) => l.macs),
    activationBytes: sum((l) => l.activationBytes),
  };
}

export interface SearchMatch {
  /** The node to select (a dense layer or a group). */
  id: string;
  /** Its group: the block to expand so the node is drawn. */
  group: string;
}

/**
 * Nodes whose Keras name matches `query` (case-insensitive), in diagram order: a node matches when its name
 * contains the query (`block12`, `pool`) or the query is one of its layers' full names (`conv4_block12_1_conv`,
 * `pool3_conv` lead to `conv4_block12`, `pool3`). The full-name rule takes the longest node name.
 */
export function searchNodes(model: DiagramModel, query: string): SearchMatch[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  const candidates: SearchMatch[] = [];
  for (const g of model.groups) {
    candidates.push({ id: g.name, group: g.name });
    for (const l of g.layers) candidates.push({ id: l.name, group: g.name });
  }
  const contains = candidates.filter((c) => c.id.toLowerCase().includes(q));
  if (contains.length) return contains;
  const prefixed = candidates.filter((c) => q.startsWith(`${c.id.toLowerCase()}_`) || q === c.id.toLowerCase());
  const longest = Math.max(0, ...prefixed.map((c) => c.id.length));
  const extra = model.groups.find((g) => g.label.toLowerCase() === q);
  if (prefixed.length) return prefixed.filter((c) => c.id.length === longest);
  return extra ? [{ id: extra.name, group: extra.name }] : [];
}

/** `1 channel`, `32 channels`. */
export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The node's tooltip: name, what it does, output shape, channels and parameters. */
export function nodeTooltip(n: { label: string; detail: string; outputShape: Shape; params: number }): string {
  const c = n.outputShape[n.outputShape.length - 1] ?? 0;
  return (
    `${n.label}: ${n.detail}\noutput ${formatShape(n.outputShape)} (${plural(c, 'channel')})\n` +
    `${n.params.toLocaleString('en-US')} parameters (${formatCount(n.params)})`
  );
}
