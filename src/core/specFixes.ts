/**
 * Quick fixes the validator's messages need beyond "replace this value": the smallest input a model takes
 * (and the fix that sets it), and removing one entry of a list. Pure.
 */
import { fcInputSide } from './fcDenseNet';
import { analyze, type Analysis } from './analyze';
import type { Checker } from './checker';
import { nodeAt, type JsonPath, type SpecFix } from './parse';
import type { InputShape, ModelConfig } from './types';

/** Larger sides than this are not searched (the schema's bound on input sizes is far below). */
const MAX_SIDE = 1 << 16;

const fits = (model: ModelConfig, side: number, channels: number, classes: number) =>
  !analyze(model, { height: side, width: side, channels }, classes).problem;

/**
 * The smallest height (= width) whose feature maps stay at least 1 px through the stem, its pooling and every
 * transition; undefined when even MAX_SIDE is too small. Output sizes grow with the input, so a binary search.
 */
export function minInputSide(model: ModelConfig, channels = 3, classes = 2): number | undefined {
  if (!fits(model, MAX_SIDE, channels, classes)) return undefined;
  let lo = 1;
  let hi = MAX_SIDE;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(model, mid, channels, classes)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** "stem stride 2, 3x3/2 max pooling and 3 transitions halve it" */
function downsamplingStory(model: ModelConfig): string {
  const parts = [`stem stride ${model.stem.stride}`];
  if (model.stem.pool === 'max') parts.push('3x3/2 max pooling');
  const t = model.blockConfig.length - 1;
  if (t > 0) parts.push(`${t} transition${t === 1 ? '' : 's'} halving it`);
  return parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

/**
 * Reports "input too small" with the minimum input size of this model and a fix that sets each too small
 * input side (given in the spec) to it.
 */
export function reportInputTooSmall(c: Checker, model: ModelConfig, input: InputShape, a: Analysis): void {
  const problem = a.problem;
  if (!problem) return;
  if (model.decoder) {
    reportFcInput(c, model, input, problem.message);
    return;
  }
  const side = minInputSide(model, input.channels, a.classes);
  const head = problem.message.replace(/\s*Use a larger input or fewer dense blocks\.$/, '');
  if (side === undefined) {
    c.report(['input'], 'error', 'input-too-small', `${head} Use fewer dense blocks.`);
    return;
  }
  const edits = (['height', 'width'] as const).flatMap((key) => {
    const node = nodeAt(c.parsed, ['input', key]);
    return node && input[key] < side ? [{ offset: node.offset, length: node.length, newText: String(side) }] : [];
  });
  const fixes: SpecFix[] | undefined =
    edits.length > 0 ? [{ title: `Set the input to at least ${side}x${side}`, edits }] : undefined;
  c.report(
    ['input'],
    'error',
    'input-too-small',
    `${head} This model needs an input of at least ${side}x${side} (${downsamplingStory(model)}): set input.height and input.width to ${side} or more, or use fewer dense blocks.`,
    fixes,
  );
}

/**
 * An FC-DenseNet's input: every transition down halves it exactly (so that the up path meets the skip
 * connections), so height and width must be multiples of 2^(down blocks); the fix rounds them to the nearest.
 */
function reportFcInput(c: Checker, model: ModelConfig, input: InputShape, message: string): void {
  const factor = 2 ** model.blockConfig.length;
  const nearest = (n: number) => fcInputSide(n, model.blockConfig.length);
  const edits = (['height', 'width'] as const).flatMap((key) => {
    const node = nodeAt(c.parsed, ['input', key]);
    return node && input[key] % factor !== 0
      ? [{ offset: node.offset, length: node.length, newText: String(nearest(input[key])) }]
      : [];
  });
  const fixes: SpecFix[] | undefined =
    edits.length > 0
      ? [{ title: `Set the input to ${nearest(input.height)}x${nearest(input.width)}`, edits }]
      : undefined;
  c.report(['input'], 'error', 'input-too-small', message, fixes);
}

/** A fix that removes the entry `index` of the list at `at` with its comma; undefined for a list's only entry. */
export function removeEntryFix(c: Checker, at: JsonPath, index: number, title: string): SpecFix | undefined {
  const list = nodeAt(c.parsed, at);
  const items = list?.type === 'array' ? (list.children ?? []) : [];
  const item = items[index];
  if (!item || items.length < 2) return undefined;
  const next = items[index + 1];
  const prev = items[index - 1];
  const [start, end] = next ? [item.offset, next.offset] : [prev.offset + prev.length, item.offset + item.length];
  return { title, edits: [{ offset: start, length: end - start, newText: '' }] };
}
