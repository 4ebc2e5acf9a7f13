/**
 * What the editor shows about a spec, as plain text and Markdown: code lens titles, hovers, the
 * torchinfo-style summary table. Pure, so the CLI and the unit tests use the very same text.
 */
import { findPretrainedName } from './pretrainedNames';
import { formatOfPath, WEIGHTS_FORMAT_TITLES } from './weightsOrigin';
import { findNodeAtOffset, getNodePath } from 'jsonc-parser';
import { type Analysis, type GroupInfo, groupTitle, type LayerInfo, trainingMemory } from './analyze';
import { formatBytes, formatCount, formatInt, formatMacs, formatShape } from './format';
import { type JsonPath, nodeAt } from './parse';
import { freezePlan } from './freeze';
import { findPreset } from './presets';
import type { ModelConfig, ResolvedSpec } from './types';
import type { ValidationResult } from './validate';

const hwOf = (g: GroupInfo) => `${g.inputShape[0]}x${g.inputShape[1]}`;
const channels = (shape: number[]) => shape[shape.length - 1];

/** The dense blocks of `blockConfig`, one per entry: a classifier's blocks, an FC-DenseNet's down path. */
export function blocksOf(a: Analysis): GroupInfo[] {
  return a.groups.filter((g) => g.kind === 'block' && (g.path === undefined || g.path === 'down'));
}

/** An FC-DenseNet's bottleneck block, transitions up and up blocks, in order (none for a classifier). */
export function upPathOf(a: Analysis): GroupInfo[] {
  return a.groups.filter(
    (g) => g.kind === 'upsample' || (g.kind === 'block' && (g.path === 'bottleneck' || g.path === 'up')),
  );
}

/**
 * `7.98M params · 2.88 GMACs`, then `· 6.95M frozen` when `training.freeze` freezes some: short, so that the
 * lens line (Train first) fits beside a dashboard; the input and classes are in the hover and status bar.
 */
export function modelLensTitle(a: Analysis, r?: Pick<ResolvedSpec, 'freeze'>): string {
  const frozen = frozenCounts(a, r);
  return (
    `${formatCount(a.totals.trainableParams)} params · ${formatMacs(a.totals.macs)}` +
    (frozen ? ` · ${formatCount(frozen.frozenParams)} frozen` : '')
  );
}

/** The trainable and frozen parameter counts under `training.freeze`; undefined when nothing is frozen or it is unusable. */
export function frozenCounts(
  a: Analysis,
  r: Pick<ResolvedSpec, 'freeze'> | undefined,
): { trainableParams: number; frozenParams: number; freeze: string } | undefined {
  if (!r?.freeze || r.freeze === 'none') return undefined;
  try {
    return freezePlan(a, r.freeze);
  } catch {
    return undefined;
  }
}

/** `block 2: 12 layers · 28x28 · 128→512 ch` (the block's parameters are in its hover). */
export function blockLensTitle(g: GroupInfo): string {
  return `block ${g.index}: ${g.denseLayers} layer${g.denseLayers === 1 ? '' : 's'} · ${hwOf(g)} · ${channels(g.inputShape)}→${channels(g.outputShape)} ch`;
}

/**
 * One lens for several blocks: the blocks of a preset (no blockConfig entries to stand above), or entries
 * written on one line (VS Code shows all lenses of a line side by side, which runs off screen):
 * `blocks 1–4: 6·12·24·16 layers · 56x56→7x7 · 64→1024 ch`. One block gets its own title.
 */
export function blocksLensTitle(blocks: GroupInfo[]): string {
  if (blocks.length === 0) return 'no dense blocks';
  if (blocks.length === 1) return blockLensTitle(blocks[0]);
  const first = blocks[0];
  const last = blocks[blocks.length - 1];
  const range = (a: string, b: string) => (a === b ? a : `${a}→${b}`);
  return (
    `blocks ${first.index}–${last.index}: ${blocks.map((g) => g.denseLayers).join('·')} layers · ` +
    `${range(hwOf(first), hwOf(last))} · ${channels(first.inputShape)}→${channels(last.outputShape)} ch`
  );
}

/** One table row of figures for a group of layers. */
function figures(
  g: { params: number; trainableParams: number; macs: number; activationBytes: number; outputShape: number[] },
  batch: number,
): string {
  return `| ${formatShape(g.outputShape)} | ${formatInt(g.trainableParams)} | ${formatMacs(g.macs)} | ${formatBytes(g.activationBytes * batch)} |`;
}

const TABLE_HEAD = (batch: number) =>
  `| part | output | params | multiply-adds | activations (batch ${batch}) |\n|---|---|---:|---:|---:|`;

function groupLabel(g: GroupInfo): string {
  if (g.kind !== 'head') return groupTitle(g);
  return g.lastLayer - g.firstLayer === 1 ? 'head (classifier, predictions)' : 'head (bn, relu, avg_pool, predictions)';
}

function groupTable(groups: GroupInfo[], batch: number): string {
  return [TABLE_HEAD(batch), ...groups.map((g) => `| ${groupLabel(g)} ${figures(g, batch)}`)].join('\n');
}

function totalsLine(a: Analysis, r: ResolvedSpec): string {
  const mem = trainingMemory(a, r.batchSize, r.optimizer, r.memoryEfficient);
  const frozen = frozenCounts(a, r);
  return (
    `**Model:** ${formatInt(a.totals.trainableParams)} trainable + ${formatInt(a.totals.nonTrainableParams)} non-trainable = ${formatInt(a.totals.params)} parameters · ` +
    `${formatMacs(a.totals.macs)} per image · training memory ≈ ${formatBytes(mem.totalBytes)} at batch ${r.batchSize} (${r.optimizer})` +
    (frozen
      ? ` · **training.freeze "${frozen.freeze}":** ${formatInt(frozen.trainableParams)} parameters train, ${formatInt(frozen.frozenParams)} are frozen`
      : '')
  );
}

/** "block 2 ends with 24+6x12=96 channels" for every block. */
function growthStory(a: Analysis, k: number): string {
  return blocksOf(a)
    .map(
      (g) =>
        `block ${g.index} ends with ${channels(g.inputShape)}+${g.denseLayers}x${k}=${channels(g.outputShape)} channels`,
    )
    .join('; ');
}

export interface HoverContent {
  offset: number;
  length: number;
  markdown: string;
}

/** The hover for the spec at `offset`, or undefined where there is nothing to say. */
export function hoverAt(v: ValidationResult, offset: number): HoverContent | undefined {
  const root = v.parsed.root;
  if (!root) return undefined;
  const node = findNodeAtOffset(root, offset, true);
  if (!node) return undefined;
  const full = getNodePath(node);
  const target = node.parent?.type === 'property' && node.parent.children?.[0] === node ? node.parent : node;
  const range = { offset: target.offset, length: target.length };
  const text = hoverText(v, full);
  return text ? { ...range, markdown: text } : undefined;
}

/** What a hover about the model needs: the analysis, the resolved spec and the groups of the network. */
interface HoverContext {
  a: Analysis;
  r: ResolvedSpec;
  m: ModelConfig;
  batch: number;
  blocks: GroupInfo[];
  stem: GroupInfo;
  head: GroupInfo;
  transitions: GroupInfo[];
}

function hoverText(v: ValidationResult, p: JsonPath): string | undefined {
  const a = v.analysis;
  const r = v.resolved;
  if (!a || !r || a.problem) {
    const problems = v.diagnostics.filter((d) => d.severity === 'error').length;
    if (p[0] === 'model' || p[0] === 'input' || p[0] === 'classes') {
      return `**DenseNet spec** — the figures appear once the spec is valid (${problems} error${problems === 1 ? '' : 's'}: see the Problems view).`;
    }
    return undefined;
  }
  const h: HoverContext = {
    a,
    r,
    m: r.model,
    batch: r.batchSize,
    blocks: blocksOf(a),
    stem: a.groups.find((g) => g.kind === 'stem') as GroupInfo,
    head: a.groups.find((g) => g.kind === 'head') as GroupInfo,
    transitions: a.groups.filter((g) => g.kind === 'transition'),
  };
  const key = p.join('.');
  if (key === 'model.preset') return presetHover(h);
  if (key === 'model.growthRate') return growthRateHover(h);
  if (p[0] === 'model' && p[1] === 'blockConfig') {
    return typeof p[2] === 'number' ? blockHover(h, p[2]) : blockConfigHover(h);
  }
  if (key === 'task') return taskHover(h);
  if (key === 'model.bottleneckLayers' || (p[0] === 'model' && p[1] === 'upBlockConfig')) return upPathHover(h);
  if (key === 'model.bnSize') return bnSizeHover(h);
  if (key === 'model.compression') return compressionHover(h);
  if (key === 'model.numInitFeatures' || (p[0] === 'model' && p[1] === 'stem')) return stemHover(h);
  if (key === 'model.dropRate') return dropRateHover(h);
  if (key === 'model.weights') return weightsHover(h);
  if (p[0] === 'model') return modelHover(h);
  if (p[0] === 'input') return inputHover(h);
  if (key === 'classes') return classesHover(h);
  if (key === 'training.batchSize' || key === 'training.optimizer' || key === 'training.memoryEfficient') {
    return trainingMemoryHover(h);
  }
  return undefined;
}

function weightsHover({ a, r }: HoverContext): string | undefined {
  const ref = r.weights;
  if (ref === undefined) return undefined;
  const known = findPretrainedName(ref);
  const head = known
    ? `**Pretrained \`${known.name}\`** — ${known.source === 'torchvision' ? "torchvision's" : "Keras'"} ImageNet weights of ${known.preset} (1000 classes, batch-norm epsilon ${known.source === 'torchvision' ? '1e-5' : '1.001e-5'}), downloaded once and checked against the publisher's checksum.`
    : `**Weights \`${ref}\`** — ${formatOfPath(ref) === 'tfjs' ? 'a DenseNet Lab run or checkpoint folder, or a TensorFlow.js model' : `a ${WEIGHTS_FORMAT_TITLES[formatOfPath(ref) ?? 'pytorch']} file`}, read without running anything in it and mapped layer by layer onto this model.`;
  const classes = known
    ? a.classes === 1000
      ? 'The ImageNet classifier is kept: predictions name the 1000 ImageNet classes.'
      : `The weights' classifier (1000 classes) is replaced by a new one of ${a.classes} classes.`
    : `When the weights' class count differs from ${a.classes}, their classifier is replaced by a new one.`;
  return [
    head,
    '',
    classes,
    '',
    'A new training starts from them (a resume continues from its own checkpoint); inputs are normalised as the weights expect unless `data.normalize` is set. `training.freeze` keeps part of them as they are.',
  ].join('\n');
}

function presetHover({ a, r, batch }: HoverContext): string | undefined {
  const preset = findPreset(r.preset ?? '');
  if (!preset) return undefined;
  const pm = preset.model;
  return [
    `**Preset \`${preset.name}\`** — ${preset.description}.`,
    '',
    `Expands to ${preset.task ? `task ${preset.task}, ` : ''}growthRate ${pm.growthRate}, blockConfig [${pm.blockConfig.join(', ')}], ` +
      (pm.decoder
        ? `bottleneckLayers ${pm.decoder.bottleneckLayers}, upBlockConfig [${pm.decoder.upBlockConfig.join(', ')}], `
        : `bnSize ${pm.bnSize}, compression ${pm.compression}, `) +
      `numInitFeatures ${pm.numInitFeatures}, ` +
      `stem ${pm.stem.kernelSize}x${pm.stem.kernelSize}/${pm.stem.stride}${pm.stem.norm ? ' + BN-ReLU' : ''}${pm.stem.pool === 'max' ? ' + 3x3/2 max pool' : ''}, dropRate ${pm.dropRate}; fields written next to it override these.`,
    '',
    totalsLine(a, r),
    '',
    groupTable(
      a.groups.filter((g) => g.kind !== 'input'),
      batch,
    ),
  ].join('\n');
}

function growthRateHover({ a, m, batch, blocks }: HoverContext): string {
  return [
    `**growthRate** k = ${m.growthRate} — each layer adds k=${m.growthRate} feature maps; ${growthStory(a, m.growthRate)}.`,
    '',
    `Every layer's 3x3 convolution has k filters${m.bnSize > 0 ? ` (after a 1x1 bottleneck of ${m.bnSize}k = ${m.bnSize * m.growthRate})` : ''}; layer i of a block reads all c0 + (i-1)·k maps before it.`,
    '',
    groupTable(blocks, batch),
  ].join('\n');
}

/** The hover of one blockConfig entry: that dense block and the transition after it. */
function blockHover({ m, batch, blocks, transitions }: HoverContext, index: number): string | undefined {
  const g = blocks[index];
  if (!g) return undefined;
  const t = transitions.find((x) => x.index === g.index);
  return [
    `**Dense block ${g.index}** (\`${g.name}_block1\` … \`${g.name}_block${g.denseLayers}\`) — ${g.denseLayers} layers at ${hwOf(g)}: ` +
      `${channels(g.inputShape)} + ${g.denseLayers}x${m.growthRate} = ${channels(g.outputShape)} channels; each layer is BN-ReLU-${m.bnSize > 0 ? `Conv1x1(${m.bnSize * m.growthRate})-BN-ReLU-` : ''}Conv3x3(${m.growthRate}) and a concatenation.`,
    '',
    groupTable(t ? [g, t] : [g], batch),
    t
      ? `\nThen transition ${t.index} (\`${t.name}\`): ${channels(t.inputShape)} -> ${channels(t.outputShape)} channels, ${hwOf(t)} -> ${t.outputShape[0]}x${t.outputShape[1]}.`
      : '\nThe last block feeds the head (bn, relu, avg_pool, predictions).',
  ].join('\n');
}

function blockConfigHover({ a, m, batch, blocks }: HoverContext): string {
  return [
    `**blockConfig** [${m.blockConfig.join(', ')}] — layers per dense block; ${blocks.length} blocks, ${m.blockConfig.reduce((x, y) => x + y, 0)} dense layers.`,
    '',
    groupTable(
      a.groups.filter((g) => g.kind === 'block' || g.kind === 'transition'),
      batch,
    ),
  ].join('\n');
}

function taskHover({ a, r }: HoverContext): string {
  if (r.task === 'multilabel')
    return `**task** multilabel — any of ${a.classes} labels per image (CheXNet-style): dense blocks, global average pooling and one sigmoid per label, trained with binary cross-entropy; each label has its own decision threshold, tuned on the validation data.`;
  return r.task === 'segmentation'
    ? `**task** segmentation — a class for each of the ${a.input.height}x${a.input.width} pixels (${a.classes} classes): an FC-DenseNet (Jégou et al. 2017) with ${blocksOf(a).length} down blocks, a bottleneck block and ${blocksOf(a).length} up blocks joined to the down path by skip connections; the output is ${formatShape(a.layers[a.layers.length - 1].outputShape)}.`
    : `**task** classification — one of ${a.classes} classes per image: dense blocks, global average pooling and a softmax classifier.`;
}

/** The hover of bottleneckLayers and upBlockConfig: the FC-DenseNet's bottleneck and up path. */
function upPathHover({ a, m, batch }: HoverContext): string | undefined {
  if (!m.decoder) return undefined;
  return [
    `**FC-DenseNet up path** — a bottleneck block of ${m.decoder.bottleneckLayers} layers, then per down block, coarsest first, a transition up (a 3x3/2 transposed convolution of the previous block's ${m.growthRate}-channel maps only, concatenated with the skip connection from the down block of the same resolution) and an up block of [${m.decoder.upBlockConfig.join(', ')}] layers.`,
    '',
    groupTable(upPathOf(a), batch),
  ].join('\n');
}

function bnSizeHover({ a, m }: HoverContext): string {
  const bottlenecks = a.layers.filter((l) => /_1_conv$/.test(l.name));
  const params = bottlenecks.reduce((s, l) => s + l.params, 0);
  return m.bnSize > 0
    ? `**bnSize** ${m.bnSize} — each dense layer starts with a 1x1 bottleneck convolution to ${m.bnSize}x${m.growthRate} = ${m.bnSize * m.growthRate} channels before its 3x3 convolution (the "B" of DenseNet-BC). ` +
        `The ${bottlenecks.length} bottleneck convolutions hold ${formatInt(params)} parameters and ${formatMacs(bottlenecks.reduce((s, l) => s + l.macs, 0))}. 0 removes them.`
    : `**bnSize** 0 — no bottleneck: each dense layer is BN-ReLU-Conv3x3(${m.growthRate}). Set 4 for DenseNet-B (a 1x1 convolution to 4k channels first).`;
}

function compressionHover({ m, transitions }: HoverContext): string {
  const lines = transitions.map(
    (t) =>
      `| ${t.name} | ${channels(t.inputShape)} -> ${channels(t.outputShape)} | ${hwOf(t)} -> ${t.outputShape[0]}x${t.outputShape[1]} | ${formatInt(t.trainableParams)} |`,
  );
  return [
    `**compression** θ = ${m.compression} — each transition keeps floor(θ·m) of its m channels with a 1x1 convolution, then halves the resolution with 2x2 average pooling${m.compression < 1 ? ' (the "C" of DenseNet-BC)' : ''}.`,
    '',
    '| transition | channels | resolution | params |',
    '|---|---|---|---:|',
    ...lines,
  ].join('\n');
}

function stemHover({ a, m, batch, stem }: HoverContext): string {
  const stemLayers = a.layers.slice(stem.firstLayer, stem.lastLayer + 1);
  return [
    `**Stem** (\`conv1\`) — ${m.stem.kernelSize}x${m.stem.kernelSize} convolution, stride ${m.stem.stride}, to numInitFeatures = ${m.numInitFeatures} channels` +
      `${m.stem.norm ? ', then BN-ReLU' : ''}${m.stem.pool === 'max' ? ', then 3x3/2 max pooling' : ''}: ${formatShape(stem.inputShape)} -> ${formatShape(stem.outputShape)}.`,
    '',
    layerTable(stemLayers, batch),
  ].join('\n');
}

function dropRateHover({ m }: HoverContext): string {
  return `**dropRate** ${m.dropRate} — dropout after each convolution except the stem's (the paper uses 0.2 on CIFAR without augmentation). ${m.dropRate > 0 ? 'Active only while training.' : 'Off.'}`;
}

function modelHover({ a, r, m, batch }: HoverContext): string {
  return [
    `**Model** — ${r.preset ? `preset \`${r.preset}\`, ` : ''}k=${m.growthRate}, blocks [${m.blockConfig.join(', ')}], ${a.layers.length} Keras layers.`,
    '',
    totalsLine(a, r),
    '',
    groupTable(
      a.groups.filter((g) => g.kind !== 'input'),
      batch,
    ),
  ].join('\n');
}

function inputHover({ a, r, batch, stem, blocks }: HoverContext): string {
  const stages = [stem, ...blocks].map((g) => `${g.outputShape[0]}x${g.outputShape[1]}`);
  return (
    `**input** ${formatShape([r.input.height, r.input.width, r.input.channels])} — images are resized to this. Resolution through the network: ` +
    `${r.input.height}x${r.input.width} -> stem ${stages[0]} -> blocks ${stages.slice(1).join(', ')}. ` +
    `One image's activations for training: ${formatBytes(a.totals.activationBytes)}; at batch ${batch}: ${formatBytes(a.totals.activationBytes * batch)}.`
  );
}

function classesHover({ a, r, head }: HoverContext): string {
  const pred = a.layers[a.layers.length - 1];
  return (
    `**classes** ${r.classes} — the \`predictions\` layer (dense + ${r.task === 'multilabel' ? 'a sigmoid per label' : 'softmax'}) maps ${channels(head.inputShape)} features to ${r.classes} ${r.task === 'multilabel' ? 'labels' : 'classes'}: ` +
    `${formatInt(pred.params)} parameters (${channels(head.inputShape)}x${r.classes} weights + ${r.classes} biases), ${formatMacs(pred.macs)}.`
  );
}

/** The hover of training.batchSize, .optimizer and .memoryEfficient: the training memory estimate, by part. */
function trainingMemoryHover({ a, r, batch }: HoverContext): string {
  const mem = trainingMemory(a, batch, r.optimizer, r.memoryEfficient);
  const other = trainingMemory(a, batch, r.optimizer, !r.memoryEfficient);
  const activations = r.memoryEfficient
    ? `Activations: the layer outputs kept for the backward pass. With \`memoryEfficient\` the concatenations and the ReLU outputs that feed convolutions are recomputed instead of kept (without it: ${formatBytes(other.activationBytes)}).`
    : `Activations: the layer outputs kept for the backward pass, concatenations included (batch norm + ReLU keep only their input). \`"memoryEfficient": true\` would recompute the concatenations and the ReLU outputs that feed convolutions: ${formatBytes(other.activationBytes)}, for some more time per step.`;
  return [
    `**Training memory** at batch ${batch} with ${r.optimizer}${r.memoryEfficient ? ', memory-efficient' : ''} ≈ ${formatBytes(mem.totalBytes)}:`,
    '',
    `| weights | gradients | optimizer state | activations |`,
    '|---:|---:|---:|---:|',
    `| ${formatBytes(mem.weightsBytes)} | ${formatBytes(mem.gradientBytes)} | ${formatBytes(mem.optimizerBytes)} | ${formatBytes(mem.activationBytes)} |`,
    '',
    activations,
  ].join('\n');
}

function layerTable(layers: LayerInfo[], batch: number): string {
  return [
    `| layer | type | output | params | multiply-adds | activations (batch ${batch}) |`,
    '|---|---|---|---:|---:|---:|',
    ...layers.map((l) => `| \`${l.name}\` | ${l.type} ${figures(l, batch)}`),
  ].join('\n');
}

/**
 * Where the lenses go: the `model` property, and for each block its blockConfig entry; when the blocks come
 * from a preset, `presetBlocks` is the `preset` property (one lens for all blocks there).
 */
export function lensAnchors(v: ValidationResult): {
  model?: number;
  blocks: number[];
  presetBlocks?: number;
  weights?: number;
} {
  const modelNode = nodeAt(v.parsed, ['model']);
  const blocksNode = nodeAt(v.parsed, ['model', 'blockConfig']);
  const weights = nodeAt(v.parsed, ['model', 'weights'])?.parent?.offset;
  if (blocksNode?.type === 'array')
    return { model: modelNode?.parent?.offset, blocks: (blocksNode.children ?? []).map((n) => n.offset), weights };
  const presetProperty = nodeAt(v.parsed, ['model', 'preset'])?.parent;
  return { model: modelNode?.parent?.offset, blocks: [], presetBlocks: presetProperty?.offset, weights };
}

function pad(s: string, n: number): string {
  return s.length >= n ? `${s} ` : s + ' '.repeat(n - s.length);
}

/** A torchinfo-style per-layer table (name, type, output shape, params, MACs) with totals. */
export function summaryTable(a: Analysis, r: ResolvedSpec): string {
  const widths = [46, 18, 14, 16];
  const total = widths.reduce((x, y) => x + y, 0);
  const rule = (ch: string) => ch.repeat(total);
  const row = (cells: string[]) =>
    cells
      .map((c, i) => (i >= 2 ? c.padStart(widths[i] - 1) + ' ' : pad(c, widths[i])))
      .join('')
      .trimEnd();
  const out: string[] = [];
  out.push(
    `${r.name}${r.preset ? ` (preset ${r.preset})` : ''} · input ${formatShape([r.input.height, r.input.width, r.input.channels])} · ${r.classes} classes · batch ${r.batchSize}`,
  );
  out.push(rule('='));
  out.push(row(['Layer (type)', 'Output Shape', 'Param #', 'Mult-Adds']));
  out.push(rule('='));
  let group = -1;
  for (const l of a.layers) {
    if (l.group !== group) {
      group = l.group;
      const g = a.groups[group];
      if (g.kind !== 'input') {
        const extra =
          g.kind === 'block'
            ? `: ${g.denseLayers} layers, ${hwOf(g)}, ${channels(g.inputShape)}->${channels(g.outputShape)} ch`
            : '';
        out.push(
          `── ${groupLabel(g)}${extra} ` + '─'.repeat(Math.max(0, total - groupLabel(g).length - extra.length - 4)),
        );
      }
    }
    out.push(row([`${l.name} (${l.type})`, formatShape(l.outputShape), formatInt(l.params), formatInt(l.macs)]));
  }
  const mem = trainingMemory(a, r.batchSize, r.optimizer, r.memoryEfficient);
  out.push(rule('='));
  // As Keras counts them: the layers training.freeze freezes are non-trainable.
  const frozen = frozenCounts(a, r);
  const trainable = frozen ? frozen.trainableParams : a.totals.trainableParams;
  out.push(`Total params: ${formatInt(a.totals.params)}`);
  out.push(`Trainable params: ${formatInt(trainable)}`);
  out.push(`Non-trainable params: ${formatInt(a.totals.params - trainable)}`);
  if (frozen)
    out.push(
      `training.freeze "${frozen.freeze}": ${formatInt(frozen.trainableParams)} params train, ${formatInt(frozen.frozenParams)} frozen`,
    );
  out.push(
    `Total mult-adds: ${formatMacs(a.totals.macs)} (convolutions and dense layers: ${formatMacs(a.totals.convMacs)})`,
  );
  out.push(rule('-'));
  out.push(
    `Input size (batch ${r.batchSize}): ${formatBytes(r.input.height * r.input.width * r.input.channels * 4 * r.batchSize)}`,
  );
  out.push(`Forward/backward pass size (batch ${r.batchSize}): ${formatBytes(mem.activationBytes)}`);
  out.push(`Params size: ${formatBytes(mem.weightsBytes)}`);
  out.push(`Gradients + ${r.optimizer} state: ${formatBytes(mem.gradientBytes + mem.optimizerBytes)}`);
  out.push(`Estimated total training memory: ${formatBytes(mem.totalBytes)}`);
  out.push(rule('='));
  return out.join('\n') + '\n';
}
