/**
 * The default Grad-CAM layer of a DenseNet, chosen by spatial resolution.
 *
 * Grad-CAM (Selvaraju et al., ICCV 2017) weights the feature maps of the last convolutional layer: the deepest
 * maps carry the most class-specific evidence, but a map of a few cells upsampled to the input is a blur. The
 * paper works at VGG-16's conv5_3, 14×14 for a 224×224 input: 1/16 of the input's side. A DenseNet's last maps
 * are 1/32 of the side (7×7 at 224; 3×3 for a 28×28 MNIST digit). So the default is the deepest stage output
 * (a dense block's output, or the head's `relu`) whose maps are at least 1/16 of the input's side and never
 * fewer than 7 cells a side (what Grad-CAM on a ResNet or DenseNet at 224 shows): on DenseNet-121 at 224
 * `conv4_block24_concat` (14×14), on the MNIST example `conv3_block4_concat` (7×7), on DenseNet-BC-100 at
 * 32×32 `relu` (8×8). An FC-DenseNet's default is its bottleneck's output (`bottleneck_new`), as Seg-Grad-CAM
 * (Vinogradova et al. 2020) does on a U-Net. Pure: the webview and the engine both use it.
 */

/** A layer as the choice needs it: its name and output shape ([H, W, C] for feature maps). */
export interface ShapedLayer {
  name: string;
  outputShape: readonly number[];
}

export interface GradCamLayerChoice {
  name: string;
  height: number;
  width: number;
  /** The smallest side a map should have: max(7, ceil(input side / 16)). */
  minSide: number;
  /** Why this layer, in a sentence a person reads in the panel. */
  reason: string;
}

/** Grad-CAM's resolution: 1/16 of the input's side (VGG-16's conv5_3 at 224×224). */
export const GRAD_CAM_SIDE_FRACTION = 16;
/** Never fewer cells a side than the 7×7 of a ResNet's or DenseNet's last maps at 224×224. */
export const GRAD_CAM_MIN_SIDE = 7;

const BLOCK_CONCAT = /^(conv\d+)_block(\d+)_concat$/;
/** The model's output layer (a classifier's softmax, a segmentation model's per-pixel softmax). */
const OUTPUT_LAYER = 'predictions';
/** The maps an FC-DenseNet's bottleneck block adds (src/core/fcDenseNet.ts): what goes up the up path. */
const FC_BOTTLENECK = 'bottleneck_new';

/** The smallest map side for an input of `height` × `width`. */
export function gradCamMinSide(height: number, width: number): number {
  return Math.max(GRAD_CAM_MIN_SIDE, Math.ceil(Math.min(height, width) / GRAD_CAM_SIDE_FRACTION));
}

/**
 * The stage outputs of `layers` (in model order): the last concatenation of each dense block (`convN_blockM_concat`
 * with the largest M) and the head's `relu`.
 */
export function stageOutputs<L extends ShapedLayer>(layers: readonly L[]): L[] {
  const lastOfBlock = new Map<string, { layer: L; index: number }>();
  for (const l of layers) {
    const m = BLOCK_CONCAT.exec(l.name);
    if (!m) continue;
    const seen = lastOfBlock.get(m[1]);
    if (!seen || Number(m[2]) > seen.index) lastOfBlock.set(m[1], { layer: l, index: Number(m[2]) });
  }
  const chosen = new Set<L>([...lastOfBlock.values()].map((v) => v.layer));
  return layers.filter((l) => chosen.has(l) || l.name === 'relu');
}

const isMap = (l: ShapedLayer): boolean => l.outputShape.length === 3;
const side = (l: ShapedLayer): number => Math.min(l.outputShape[0], l.outputShape[1]);

/**
 * The default Grad-CAM layer of a model whose layers are `layers` (model order) and input `input`: the deepest
 * stage output with maps of at least `gradCamMinSide` a side; when no stage output is that large, the deepest
 * layer with maps that large; when none is, the layer with the largest maps (the deepest of them). Undefined
 * when no layer has feature maps.
 */
export function chooseGradCamLayer(
  layers: readonly ShapedLayer[],
  input: { height: number; width: number },
): GradCamLayerChoice | undefined {
  // A segmentation model's per-pixel softmax (`predictions`) is its output, not evidence for it.
  const maps = layers.filter((l) => isMap(l) && l.name !== OUTPUT_LAYER);
  if (maps.length === 0) return undefined;
  const minSide = gradCamMinSide(input.height, input.width);
  const bottleneck = maps.find((l) => l.name === FC_BOTTLENECK);
  if (bottleneck) {
    const [height, width] = bottleneck.outputShape;
    return {
      name: bottleneck.name,
      height,
      width,
      minSide,
      reason: `Grad-CAM at ${bottleneck.name} (${height}×${width}): the maps the bottleneck block adds, the deepest of the FC-DenseNet and where Seg-Grad-CAM looks; the up path's maps are finer but mix in the skip connections. Pick another layer above.`,
    };
  }
  const large = (l: ShapedLayer) => side(l) >= minSide;
  const target = `≥ ${minSide}×${minSide}: 1/${GRAD_CAM_SIDE_FRACTION} of the input's side (Grad-CAM's 14×14 at 224), at least ${GRAD_CAM_MIN_SIDE}×${GRAD_CAM_MIN_SIDE}`;
  const stage = stageOutputs(maps).filter(large).pop();
  const deepest = maps.filter(large).pop();
  let layer: ShapedLayer;
  let why: string;
  if (stage) {
    layer = stage;
    why = `the deepest block output at ${target}`;
  } else if (deepest) {
    layer = deepest;
    why = `the deepest layer at ${target} (no block output is that large)`;
  } else {
    const best = Math.max(...maps.map(side));
    layer = maps.filter((l) => side(l) === best).pop() as ShapedLayer;
    why = `the deepest layer with the largest maps (none reaches ${minSide}×${minSide})`;
  }
  const [height, width] = layer.outputShape;
  return {
    name: layer.name,
    height,
    width,
    minSide,
    reason: `Grad-CAM at ${layer.name} (${height}×${width}): ${why}; deeper maps are more class-specific but coarser. Pick another layer above.`,
  };
}
