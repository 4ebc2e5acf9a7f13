/**
 * `training.freeze`: which layers of a model keep their weights during a training (fine-tuning). Pure: the
 * validator, the lens text and the engine resolve the same names the same way.
 *
 * - `"none"` (the default): nothing is frozen;
 * - `"backbone"`: every layer but the classifier `predictions`;
 * - a part of the model (`"conv1"` the stem, `"conv2"`.. the dense blocks, `"pool2"`.. the transitions) or a
 *   layer (a Keras name such as `"conv4_block5_concat"`): that part or layer and everything before it.
 */
import type { Analysis } from './analyze';
import { editDistance } from './presets';

export const CLASSIFIER_LAYER = 'predictions';

/** A resolved `training.freeze`: the frozen layers (in model order) and the parameters left to train. */
export interface FreezePlan {
  /** The spec's value. */
  freeze: string;
  /** Names of the frozen layers, the whole prefix of `analysis.layers` up to the named one. */
  layers: ReadonlySet<string>;
  /** True when only the classifier trains: the pooled features can be computed once and cached. */
  backbone: boolean;
  trainableParams: number;
  frozenParams: number;
}

/** Every name `freeze` may take for this model: `none`, `backbone`, the parts and the weighted/named layers. */
export function freezeNames(a: Analysis): string[] {
  const parts = a.groups.filter((g) => g.kind !== 'input' && g.kind !== 'head').map((g) => g.name);
  const layers = a.layers.filter((l) => l.type !== 'InputLayer' && l.name !== CLASSIFIER_LAYER).map((l) => l.name);
  return ['none', 'backbone', ...new Set([...parts, ...layers])];
}

/** The names closest to `name` (at most 3), for "did you mean". */
export function nearestFreezeNames(a: Analysis, name: string): string[] {
  const scored = freezeNames(a).map((n) => ({ n, d: editDistance(name.toLowerCase(), n.toLowerCase()) }));
  scored.sort((x, y) => x.d - y.d || x.n.localeCompare(y.n));
  return scored.slice(0, 3).map((s) => s.n);
}

/** Why `freeze` cannot be used on this model (an unknown name, or one that leaves nothing to train); else undefined. */
export function freezeProblem(a: Analysis, freeze: string): string | undefined {
  if (freeze === CLASSIFIER_LAYER || freeze === 'head')
    return `training.freeze "${freeze}" would freeze the classifier too, and nothing would train: use "backbone" to train only the classifier.`;
  if (lastFrozenIndex(a, freeze) === undefined) {
    const near = nearestFreezeNames(a, freeze)
      .map((n) => `"${n}"`)
      .join(', ');
    return `training.freeze "${freeze}" is not a part or layer of this model: did you mean ${near}? Give "none", "backbone", a part (conv1 = the stem, conv2.. = dense blocks, pool2.. = transitions) or a layer name.`;
  }
  return undefined;
}

/** Index in `a.layers` of the last frozen layer; -1 for none; undefined when the name is unknown. */
function lastFrozenIndex(a: Analysis, freeze: string): number | undefined {
  if (freeze === 'none') return -1;
  if (freeze === 'backbone') return a.layers.findIndex((l) => l.name === CLASSIFIER_LAYER) - 1;
  const group = a.groups.find((g) => g.name === freeze && g.kind !== 'input' && g.kind !== 'head');
  if (group) return group.lastLayer;
  const index = a.layers.findIndex((l) => l.name === freeze);
  return index >= 0 && freeze !== CLASSIFIER_LAYER ? index : undefined;
}

/** The layers `freeze` names on this model; throws with `freezeProblem`'s message when it cannot be used. */
export function freezePlan(a: Analysis, freeze: string | undefined): FreezePlan {
  const value = freeze ?? 'none';
  const problem = freezeProblem(a, value);
  if (problem) throw new Error(problem);
  const last = lastFrozenIndex(a, value) as number;
  const layers = new Set<string>();
  let frozenParams = 0;
  let trainableParams = 0;
  a.layers.forEach((l, i) => {
    if (i <= last) {
      layers.add(l.name);
      frozenParams += l.trainableParams;
    } else trainableParams += l.trainableParams;
  });
  const weighted = a.layers.filter((l) => l.params > 0 && !layers.has(l.name)).map((l) => l.name);
  const backbone = weighted.length === 1 && weighted[0] === CLASSIFIER_LAYER;
  return { freeze: value, layers, backbone, trainableParams, frozenParams };
}
