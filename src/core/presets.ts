import type { InputShape, ModelConfig, Task } from './types';

export interface Preset {
  name: string;
  title: string;
  description: string;
  model: ModelConfig;
  input: InputShape;
  classes: number;
  /** What the preset's network predicts (classification when absent). */
  task?: Task;
}

const imagenetStem = { kernelSize: 7, stride: 2, pool: 'max', norm: true } as const;
const cifarStem = { kernelSize: 3, stride: 1, pool: 'none', norm: false } as const;

function imagenet(
  name: string,
  title: string,
  growthRate: number,
  blockConfig: number[],
  numInitFeatures: number,
): Preset {
  return {
    name,
    title,
    description: `${title} (Huang et al. 2017; keras.applications / torchvision): k=${growthRate}, blocks [${blockConfig.join(', ')}], ImageNet 224x224x3, 1000 classes`,
    model: {
      growthRate,
      blockConfig,
      bnSize: 4,
      compression: 0.5,
      numInitFeatures,
      stem: { ...imagenetStem },
      dropRate: 0,
    },
    input: { height: 224, width: 224, channels: 3 },
    classes: 1000,
  };
}

/** The paper's CIFAR models: depth L, growth k, three blocks of (L-4)/3 layers, or (L-4)/6 with bottlenecks (BC). */
function cifar(depth: number, growthRate: number, bc: boolean): Preset {
  const perBlock = bc ? (depth - 4) / 6 : (depth - 4) / 3;
  const title = `DenseNet${bc ? '-BC' : ''} (L=${depth}, k=${growthRate})`;
  return {
    name: `densenet${bc ? '-bc' : ''}-${depth}-k${growthRate}`,
    title,
    description: `${title}, the paper's CIFAR model: 3 blocks of ${perBlock} layers${bc ? ' with bottleneck and compression 0.5' : ''}, 32x32x3, 10 classes`,
    model: {
      growthRate,
      blockConfig: [perBlock, perBlock, perBlock],
      bnSize: bc ? 4 : 0,
      compression: bc ? 0.5 : 1,
      numInitFeatures: bc ? 2 * growthRate : 16,
      stem: { ...cifarStem },
      dropRate: 0,
    },
    input: { height: 32, width: 32, channels: 3 },
    classes: 10,
  };
}

/**
 * The paper's FC-DenseNets (Jégou et al. 2017, Table 2 and the authors' SimJeg/FC-DenseNet): a 48-filter 3x3 stem,
 * five down blocks, a bottleneck block and five up blocks of `layers` layers each (or per block), growth rate k,
 * dropout 0.2; CamVid's 11 classes at 224x224.
 */
function fcDenseNet(
  depth: number,
  growthRate: number,
  down: number[],
  bottleneck: number,
  paperParams: string,
): Preset {
  const up = [...down].reverse();
  const title = `FC-DenseNet${depth}`;
  return {
    name: `fc-densenet${depth}`,
    title,
    description: `${title} (Jégou et al. 2017, "The One Hundred Layers Tiramisu"): semantic segmentation, k=${growthRate}, down blocks [${down.join(', ')}], bottleneck ${bottleneck}, up blocks [${up.join(', ')}]; 224x224x3, 11 classes (CamVid); the paper gives ${paperParams} parameters`,
    model: {
      growthRate,
      blockConfig: down,
      bnSize: 0,
      compression: 1,
      numInitFeatures: 48,
      stem: { ...cifarStem },
      dropRate: 0.2,
      decoder: { bottleneckLayers: bottleneck, upBlockConfig: up },
    },
    input: { height: 224, width: 224, channels: 3 },
    classes: 11,
    task: 'segmentation',
  };
}

export const PRESETS: readonly Preset[] = [
  imagenet('densenet121', 'DenseNet-121', 32, [6, 12, 24, 16], 64),
  imagenet('densenet169', 'DenseNet-169', 32, [6, 12, 32, 32], 64),
  imagenet('densenet201', 'DenseNet-201', 32, [6, 12, 48, 32], 64),
  imagenet('densenet161', 'DenseNet-161', 48, [6, 12, 36, 24], 96),
  imagenet('densenet264', 'DenseNet-264', 32, [6, 12, 64, 48], 64),
  cifar(40, 12, false),
  cifar(100, 12, false),
  cifar(100, 24, false),
  cifar(100, 12, true),
  cifar(250, 24, true),
  cifar(190, 40, true),
  fcDenseNet(56, 12, [4, 4, 4, 4, 4], 4, '1.5M'),
  fcDenseNet(67, 16, [5, 5, 5, 5, 5], 5, '3.5M'),
  fcDenseNet(103, 16, [4, 5, 7, 10, 12], 15, '9.4M'),
];

export const PRESET_NAMES: readonly string[] = PRESETS.map((p) => p.name);

export function findPreset(name: string): Preset | undefined {
  return PRESETS.find((p) => p.name === name);
}

/** A deep copy of a model config, safe to modify. */
export function cloneModel(model: ModelConfig): ModelConfig {
  const copy = { ...model, blockConfig: [...model.blockConfig], stem: { ...model.stem } };
  if (model.decoder) copy.decoder = { ...model.decoder, upBlockConfig: [...model.decoder.upBlockConfig] };
  return copy;
}

/** Only this many first characters of each string are compared by editDistance (bounded time). */
export const EDIT_DISTANCE_MAX_LENGTH = 64;

/** Levenshtein distance of the first EDIT_DISTANCE_MAX_LENGTH characters, for "did you mean" suggestions. */
export function editDistance(fullA: string, fullB: string): number {
  const a = fullA.slice(0, EDIT_DISTANCE_MAX_LENGTH);
  const b = fullB.slice(0, EDIT_DISTANCE_MAX_LENGTH);
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = above;
    }
  }
  return prev[b.length];
}

/** The preset name closest to `name` (case-insensitive, ignoring `-`/`_`), for a quick fix. */
export function nearestPreset(name: string): string {
  const norm = (s: string) => s.toLowerCase().replace(/[-_\s]/g, '');
  let best = PRESET_NAMES[0];
  let bestDistance = Infinity;
  for (const candidate of PRESET_NAMES) {
    const d = editDistance(norm(name.slice(0, EDIT_DISTANCE_MAX_LENGTH)), norm(candidate));
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}
