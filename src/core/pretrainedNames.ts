/**
 * The pretrained DenseNets known by name (`model.weights: "torchvision:densenet121"`): which preset each fits.
 * The files, URLs and checksums are in src/interchange/pretrained.ts. Pure.
 */
import { editDistance } from './presets';

export interface PretrainedName {
  name: string;
  source: 'torchvision' | 'keras';
  /** The preset whose layers the weights fit (ImageNet, 224x224x3, 1000 classes). */
  preset: string;
}

export const PRETRAINED_NAMES: readonly PretrainedName[] = [
  { name: 'torchvision:densenet121', source: 'torchvision', preset: 'densenet121' },
  { name: 'torchvision:densenet161', source: 'torchvision', preset: 'densenet161' },
  { name: 'torchvision:densenet169', source: 'torchvision', preset: 'densenet169' },
  { name: 'torchvision:densenet201', source: 'torchvision', preset: 'densenet201' },
  { name: 'keras:densenet121', source: 'keras', preset: 'densenet121' },
  { name: 'keras:densenet169', source: 'keras', preset: 'densenet169' },
  { name: 'keras:densenet201', source: 'keras', preset: 'densenet201' },
];

/** Whether `ref` is written as a pretrained name (`torchvision:…`, `keras:…`) rather than a path. */
export const looksPretrained = (ref: string): boolean => /^(torchvision|keras):/i.test(ref);

export function findPretrainedName(ref: string): PretrainedName | undefined {
  return PRETRAINED_NAMES.find((p) => p.name === ref.toLowerCase());
}

/** The known name closest to `ref`, for "did you mean". */
export function nearestPretrainedName(ref: string): string {
  let best = PRETRAINED_NAMES[0].name;
  let bestDistance = Infinity;
  for (const p of PRETRAINED_NAMES) {
    const d = editDistance(ref.toLowerCase(), p.name);
    if (d < bestDistance) [best, bestDistance] = [p.name, d];
  }
  return best;
}
