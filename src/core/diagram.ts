/**
 * The architecture diagram of a DenseNet: a compact model of the network for the webview (`diagramModel`,
 * built from the analysis on the host so only a few kilobytes cross to the webview) and its layout
 * (`layoutDiagram`: boxes, edges, block frames in SVG user units). Pure: no DOM, no `vscode`.
 *
 * Why a hand layout rather than a general graph layout (elkjs, dagre): a DenseNet is a chain of groups
 * (stem, block, transition, ..., head) and inside a block every layer feeds every later one. A layered
 * graph layout would route the n(n+1)/2 concatenation edges of a block as crossing polylines, re-order nodes
 * as edges change and cost hundreds of milliseconds (plus a large worker bundle) for DenseNet-264's 2,080
 * edges in one block. Here the structure is known: one column of nodes top to bottom, the dense edges as
 * arcs on the right whose bulge grows with the distance they skip. That reads as "dense" at a glance, is
 * stable while the spec is edited (nodes keep their order), and lays out in well under a millisecond.
 */
import type { Analysis, BlockPath, GroupKind, LayerInfo, Shape } from './analyze';
import type { JsonPath } from './parse';

/** One dense layer (BN-ReLU-Conv1x1-BN-ReLU-Conv3x3 + concatenation), drawn as one node. */
export interface DiagramDenseLayer {
  /** Keras name prefix, e.g. `conv2_block1`. */
  name: string;
  /** Output of the layer's concatenation: [h, w, channels so far]. */
  outputShape: Shape;
  /** Filters of the 1x1 bottleneck (0 without bottleneck). */
  bottleneck: number;
  /** Filters of the 3x3 convolution (the growth rate). */
  growth: number;
  params: number;
}

export interface DiagramGroup {
  kind: GroupKind;
  /** Keras group prefix: `input`, `conv1`, `conv2`.., `pool2`.., `head`. */
  name: string;
  index: number;
  inputShape: Shape;
  outputShape: Shape;
  params: number;
  /** A one-line description of what the group does (`3x3/1 conv`, `1x1 conv 216->108, 2x2 avg pool`). */
  detail: string;
  /** The Keras name the group's node shows (`conv1_conv`, `pool2_conv`, `predictions`; a block: `conv2`). */
  label: string;
  /** Dense blocks only. */
  layers: DiagramDenseLayer[];
  /** An FC-DenseNet's transition up: the down block whose output its skip connection brings. */
  skipFrom?: string;
}

/** What the host sends to the webview: small even for DenseNet-264. */
export interface DiagramModel {
  groups: DiagramGroup[];
  /** Largest channel count in the network: the channel bars are relative to it. */
  maxChannels: number;
  /** The network's totals (the exports' caption). */
  totals: { params: number; macs: number };
}

export type NodeKind = GroupKind | 'dense' | 'blockCollapsed';

export interface DiagramNode {
  /** Unique: the group name, or the dense layer name (`conv2_block3`). */
  id: string;
  kind: NodeKind;
  /** The group (Keras prefix) it belongs to: what a click reveals in the spec. */
  group: string;
  /** 1-based dense layer index in its block (dense nodes). */
  blockLayer?: number;
  label: string;
  detail: string;
  outputShape: Shape;
  channels: number;
  /** channels / maxChannels in (0, 1]: the width of the node's channel bar. */
  channelFraction: number;
  params: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface DiagramEdge {
  from: string;
  to: string;
  /**
   * `flow`: the chain between groups; `dense`: a concatenation input inside a block (drawn as an arc); `skip`: an
   * FC-DenseNet's skip connection from a down block to the transition up of the same resolution.
   */
  kind: 'flow' | 'dense' | 'skip';
  /** The block (group name) of a dense edge. */
  group?: string;
  /** SVG path data. */
  path: string;
}

/** The frame around an expanded block, with its header (click to collapse). */
export interface DiagramFrame {
  group: string;
  label: string;
  detail: string;
  x: number;
  y: number;
  width: number;
  height: number;
  headerHeight: number;
}

export interface DiagramLayout {
  nodes: DiagramNode[];
  edges: DiagramEdge[];
  frames: DiagramFrame[];
  width: number;
  height: number;
}

export interface LayoutOptions {
  /**
   * Per block (group name): true = expanded, false = collapsed. Blocks not listed follow the default:
   * collapsed above `collapseAbove` layers.
   */
  expanded?: Record<string, boolean>;
  collapseAbove?: number;
  /**
   * Use the width: each expanded block starts a new column (the groups after it follow it in its column),
   * instead of one column for the whole network.
   */
  wrap?: boolean;
}

export const COLLAPSE_ABOVE = 12;

const NODE_WIDTH = 300;
const NODE_HEIGHT = 46;
const DENSE_HEIGHT = 40;
const GAP = 18;
const DENSE_GAP = 8;
const MARGIN = 16;
const FRAME_PAD = 10;
const FRAME_HEADER = 26;
/** Room on the right of the column for the arcs. */
const ARC_ROOM = 200;
/** Between columns (wrap): room for the flow edge that climbs to the next column. */
const COLUMN_GAP = 40;
const COLUMN_WIDTH = NODE_WIDTH + ARC_ROOM + COLUMN_GAP;

const channelsOf = (s: Shape) => s[s.length - 1] ?? 0;
export const formatShape = (s: Shape) => s.join('x');

/** Builds the compact diagram model from the analysis. */
export function diagramModel(a: Analysis): DiagramModel {
  const groups: DiagramGroup[] = [];
  let maxChannels = 1;
  for (const g of a.groups) {
    const layers = a.layers.slice(g.firstLayer, g.lastLayer + 1);
    const byName = new Map<string, LayerInfo>(layers.map((l) => [l.name, l]));
    const dense: DiagramDenseLayer[] = [];
    let detail = '';
    let label = g.name;
    let skipFrom: string | undefined;
    switch (g.kind) {
      case 'input':
        label = layers[0]?.name ?? 'input_1';
        detail = 'input';
        break;
      case 'stem': {
        const conv = byName.get('conv1_conv');
        const k = conv?.config.kernelSize ?? 0;
        const s = conv?.config.strides ?? 1;
        label = 'conv1_conv';
        detail = `${k}x${k}/${s} conv, ${conv ? channelsOf(conv.outputShape) : '?'} filters${byName.has('conv1_bn') ? ' + BN-ReLU' : ''}${byName.has('pool1') ? ' + 3x3/2 max pool' : ''}`;
        break;
      }
      case 'block': {
        let c = channelsOf(g.inputShape);
        for (let i = 1; i <= g.denseLayers; i++) {
          const p = `${g.name}_block${i}`;
          // A classifier's layers end in `_2_conv`, an FC-DenseNet's in `_conv`; the last layer of an FC-DenseNet
          // block that feeds a transition up has no concatenation with the block's input.
          const growth = (byName.get(`${p}_2_conv`) ?? byName.get(`${p}_conv`))?.config.filters ?? 0;
          const concat = byName.get(`${p}_concat`);
          if (!concat && (g.path === undefined || i < g.denseLayers)) break;
          c += growth;
          let params = 0;
          for (const l of layers) if (l.blockLayer === i) params += l.params;
          dense.push({
            name: p,
            outputShape: concat?.outputShape ?? [g.inputShape[0], g.inputShape[1], c],
            bottleneck: byName.get(`${p}_1_conv`)?.config.filters ?? 0,
            growth,
            params,
          });
        }
        label = g.name;
        const what =
          g.path === 'bottleneck' ? 'bottleneck block' : `${g.path ? `${g.path} ` : 'dense '}block ${g.index}`;
        detail = `${what}: ${g.denseLayers} layers, ${channelsOf(g.inputShape)}->${channelsOf(g.outputShape)} ch`;
        break;
      }
      case 'transition': {
        const conv = byName.get(`${g.name}_conv`);
        label = `${g.name}_conv`;
        detail = `1x1 conv ${channelsOf(g.inputShape)}->${conv ? channelsOf(conv.outputShape) : '?'} + 2x2 ${g.path === 'down' ? 'max' : 'avg'} pool`;
        break;
      }
      case 'upsample': {
        const join = byName.get(`${g.name}_concat`);
        skipFrom = join?.inputs[1]?.replace(/_block\d+_concat$/, '');
        const skip = skipFrom ?? '?';
        label = `${g.name}_conv`;
        detail = `3x3/2 transposed conv ${channelsOf(g.inputShape)} ch, + skip from ${skip} -> ${channelsOf(g.outputShape)} ch`;
        break;
      }
      case 'head':
        label = 'predictions';
        detail =
          a.task === 'segmentation'
            ? `1x1 conv ${channelsOf(g.inputShape)}->${channelsOf(g.outputShape)}, softmax at every pixel`
            : `BN-ReLU, global avg pool, dense ${channelsOf(g.inputShape)}->${channelsOf(g.outputShape)} ${a.task === 'multilabel' ? 'sigmoid' : 'softmax'}`;
        break;
    }
    maxChannels = Math.max(maxChannels, channelsOf(g.outputShape), channelsOf(g.inputShape));
    groups.push({
      kind: g.kind,
      name: g.name,
      index: g.index,
      inputShape: g.inputShape,
      outputShape: g.outputShape,
      params: g.params,
      detail,
      label,
      layers: dense,
      ...(skipFrom ? { skipFrom } : {}),
    });
  }
  return { groups, maxChannels, totals: { params: a.totals.params, macs: a.totals.macs } };
}

export function isExpanded(g: DiagramGroup, options: LayoutOptions = {}): boolean {
  const explicit = options.expanded?.[g.name];
  if (explicit !== undefined) return explicit;
  return g.layers.length <= (options.collapseAbove ?? COLLAPSE_ABOVE);
}

type Box = Pick<DiagramNode, 'id' | 'x' | 'y' | 'width'> & { height?: number };

/** The chain from `a` to `b`: straight down in a column, or down, across the gap and up to the next column. */
function flowEdge(a: DiagramNode, b: Box): DiagramEdge {
  const cx = a.x + a.width / 2;
  const bx = b.x + b.width / 2;
  if (bx === cx) return { from: a.id, to: b.id, kind: 'flow', path: `M${cx} ${a.y + a.height}V${b.y}` };
  const gutter = b.x - FRAME_PAD - COLUMN_GAP / 2;
  const below = a.y + a.height + GAP / 2;
  const above = b.y - GAP / 2;
  return {
    from: a.id,
    to: b.id,
    kind: 'flow',
    path: `M${cx} ${a.y + a.height}V${below}H${gutter}V${above}H${bx}V${b.y}`,
  };
}

/** How far a skip connection's arc reaches right of the nodes. */
const SKIP_BULGE = ARC_ROOM - 10;

/** An FC-DenseNet's skip connection: a wide arc on the right, from a down block's last node to a transition up. */
function skipEdge(from: DiagramNode, to: DiagramNode): DiagramEdge {
  const [x0, y0] = [from.x + from.width, from.y + from.height / 2];
  const [x1, y1] = [to.x + to.width, to.y + to.height / 2];
  return {
    from: from.id,
    to: to.id,
    kind: 'skip',
    path: `M${x0} ${y0}C${x0 + SKIP_BULGE} ${y0} ${x1 + SKIP_BULGE} ${y1} ${x1} ${y1}`,
  };
}

/** Lays the diagram out: one column of nodes, dense arcs on the right. */
export function layoutDiagram(model: DiagramModel, options: LayoutOptions = {}): DiagramLayout {
  const nodes: DiagramNode[] = [];
  const edges: DiagramEdge[] = [];
  const frames: DiagramFrame[] = [];
  let x = MARGIN;
  let y = MARGIN;
  let maxArc = 0;
  let bottom = MARGIN;
  const fraction = (c: number) => Math.max(0.02, Math.min(1, c / model.maxChannels));
  const node = (n: Omit<DiagramNode, 'x' | 'y' | 'width' | 'channels' | 'channelFraction'>): DiagramNode => {
    const channels = channelsOf(n.outputShape);
    const full: DiagramNode = { ...n, x, y, width: NODE_WIDTH, channels, channelFraction: fraction(channels) };
    nodes.push(full);
    return full;
  };
  const right = (n: DiagramNode) => n.x + n.width;
  const midY = (n: DiagramNode) => n.y + n.height / 2;
  const flow = (a: DiagramNode, b: Box) => edges.push(flowEdge(a, b));
  const newColumn = () => {
    bottom = Math.max(bottom, y);
    x += COLUMN_WIDTH;
    y = MARGIN + GAP / 2;
  };

  let prev: DiagramNode | undefined;
  /** The node each group ends with (its last dense layer, or its own node): where a skip connection starts. */
  const lastOf = new Map<string, DiagramNode>();
  for (const g of model.groups) {
    if (g.kind === 'block' && isExpanded(g, options)) {
      if (options.wrap && prev) newColumn();
      const frame: DiagramFrame = {
        group: g.name,
        label: g.name,
        detail: g.detail,
        x: x - FRAME_PAD,
        y,
        width: NODE_WIDTH + 2 * FRAME_PAD,
        height: 0,
        headerHeight: FRAME_HEADER,
      };
      frames.push(frame);
      y += FRAME_HEADER;
      const blockInput = prev;
      // The block input in another column: the flow reaches the frame, the arcs start from its header.
      const inputAnchor =
        blockInput && blockInput.x !== x ? { x: x + NODE_WIDTH, y: frame.y + FRAME_HEADER / 2 } : undefined;
      if (blockInput && inputAnchor) flow(blockInput, { id: g.name, x, y: frame.y, width: NODE_WIDTH });
      const members: DiagramNode[] = [];
      g.layers.forEach((l, i) => {
        const n = node({
          id: l.name,
          kind: 'dense',
          group: g.name,
          blockLayer: i + 1,
          label: l.name,
          detail:
            l.bottleneck > 0 ? `BN-ReLU-1x1(${l.bottleneck})-BN-ReLU-3x3(${l.growth})` : `BN-ReLU-3x3(${l.growth})`,
          outputShape: l.outputShape,
          params: l.params,
          height: DENSE_HEIGHT,
        });
        // Dense edges: the block input and every earlier layer feed this one (i + 1 edges).
        const sources = blockInput ? [blockInput, ...members] : members;
        for (const s of sources) {
          const skip = members.length - members.indexOf(s); // 1 for the previous node
          const bulge = Math.min(ARC_ROOM - 20, 14 + 10 * Math.sqrt(skip) * 2.2);
          maxArc = Math.max(maxArc, bulge);
          const anchored = s === blockInput && inputAnchor;
          const x0 = anchored ? inputAnchor.x : right(s);
          const y0 = anchored ? inputAnchor.y : midY(s);
          const x1 = right(n);
          const y1 = midY(n);
          edges.push({
            from: s.id,
            to: n.id,
            kind: 'dense',
            group: g.name,
            path: `M${x0} ${y0}C${x0 + bulge} ${y0} ${x1 + bulge} ${y1} ${x1} ${y1}`,
          });
        }
        members.push(n);
        y += DENSE_HEIGHT + DENSE_GAP;
      });
      y += FRAME_PAD - DENSE_GAP;
      frame.height = y - frame.y;
      y += GAP;
      if (members.length) prev = members[members.length - 1];
      if (prev) lastOf.set(g.name, prev);
      continue;
    }
    const collapsed = g.kind === 'block';
    const n = node({
      id: g.name,
      kind: collapsed ? 'blockCollapsed' : g.kind,
      group: g.name,
      label: g.label,
      detail: collapsed ? `${g.detail} (collapsed)` : g.detail,
      outputShape: g.outputShape,
      params: g.params,
      height: NODE_HEIGHT,
    });
    if (prev) flow(prev, n);
    const from = g.skipFrom ? lastOf.get(g.skipFrom) : undefined;
    if (from) {
      edges.push(skipEdge(from, n));
      maxArc = Math.max(maxArc, SKIP_BULGE);
    }
    lastOf.set(g.name, n);
    prev = n;
    y += NODE_HEIGHT + GAP;
  }
  const width = x + NODE_WIDTH + FRAME_PAD + Math.max(maxArc, 20) + MARGIN;
  bottom = Math.max(bottom, y);
  return { nodes, edges, frames, width, height: Math.max(bottom - GAP + MARGIN, 2 * MARGIN) };
}

/** Where in the spec a group is defined, most specific first (the first that exists is revealed). */
export function specPathsOf(kind: GroupKind, index: number, path?: BlockPath): JsonPath[] {
  if (kind === 'block' && path === 'bottleneck') return [['model', 'bottleneckLayers'], ['model', 'preset'], ['model']];
  if (kind === 'block' && path === 'up')
    return [['model', 'upBlockConfig', index - 1], ['model', 'upBlockConfig'], ['model', 'preset'], ['model']];
  switch (kind) {
    case 'input':
      return [['input'], ['model']];
    case 'stem':
      return [['model', 'stem'], ['model', 'numInitFeatures'], ['model', 'preset'], ['model']];
    case 'block':
      return [['model', 'blockConfig', index - 1], ['model', 'blockConfig'], ['model', 'preset'], ['model']];
    case 'transition':
      return path === 'down'
        ? [['model', 'preset'], ['model']]
        : [['model', 'compression'], ['model', 'preset'], ['model']];
    case 'upsample':
      return [['model', 'upBlockConfig', index - 1], ['model', 'upBlockConfig'], ['model', 'preset'], ['model']];
    case 'head':
      return [['classes'], ['model']];
  }
}
