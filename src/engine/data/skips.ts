/**
 * The accounting of unreadable examples: each bad file is reported once however often it is met (the
 * normalisation sample, every epoch, every validation), and a class none of whose images can be read is an error
 * before training rather than a class trained on no examples.
 */
import type { Dataset, Size } from './dataset';

/** The unreadable files met so far, each reported once to `report` (the first time, with its reason). */
export class SkipLedger {
  private readonly bad = new Map<string, string>();

  constructor(private readonly report?: (file: string, reason: string) => void) {}

  /** Distinct unreadable files so far. */
  get count(): number {
    return this.bad.size;
  }

  /** Records that `file` could not be read; reports it unless it was already. */
  add(file: string, reason: string): void {
    if (this.bad.has(file)) return;
    this.bad.set(file, reason);
    this.report?.(file, reason);
  }
}

interface Unreadable {
  label: number;
  examples: number;
  first: string;
}

/** Reads the examples of one class in order until one decodes; undefined when one does. */
async function unreadableClass(
  dataset: Dataset,
  label: number,
  members: readonly number[],
  size: Size,
  skips: SkipLedger,
): Promise<Unreadable | undefined> {
  let first = '';
  for (const index of members) {
    try {
      await dataset.read(index, size);
      return undefined;
    } catch (e) {
      const reason = (e as Error).message;
      skips.add(dataset.location(index), reason);
      first ||= `${dataset.location(index)}: ${reason}`;
    }
  }
  return { label, examples: members.length, first };
}

function unreadableMessage(dataset: Dataset, classes: Unreadable[]): string {
  const [c] = classes;
  const name = dataset.classNames[c.label];
  const where = dataset.classFolder ? `in "${dataset.classFolder(c.label)}"` : `in ${dataset.description}`;
  const more =
    classes.length > 1
      ? ` (${classes.length - 1} more class(es) have no readable image: ${classes
          .slice(1)
          .map((u) => dataset.classNames[u.label])
          .join(', ')}.)`
      : '';
  const fix = dataset.classFolder
    ? 'replace them with readable images, or remove the class folder (and lower "classes")'
    : 'fix the data';
  return `Class "${name}" has no readable image: none of its ${c.examples} image(s) ${where} can be read (${c.first}). Before training, ${fix}.${more}`;
}

/**
 * Multi-label and segmentation data: checks that at least one example can be read (its image, and its mask for
 * segmentation), reading them in order until one does. Unreadable files met go to `skips`.
 */
async function checkAnyReadable(dataset: Dataset, size: Size, skips: SkipLedger): Promise<void> {
  let first = '';
  for (let index = 0; index < dataset.length; index++) {
    try {
      await dataset.read(index, size);
      await dataset.readMask?.(index, size);
      return;
    } catch (e) {
      const reason = (e as Error).message;
      skips.add(dataset.location(index), reason);
      first ||= `${dataset.location(index)}: ${reason}`;
    }
  }
  const what = dataset.readMask ? 'image and mask' : 'image';
  throw new Error(
    `None of the ${dataset.length} examples of ${dataset.description} can be read (${first || 'no examples'}): replace each unreadable ${what} with a readable one before training.`,
  );
}

/**
 * Checks that every class with examples in `dataset` has at least one readable image: reads each class's
 * examples in order until one decodes at `size` (one read a class for good data). Unreadable files met go to
 * `skips`. Throws an Error naming the class and its folder when one has none. Multi-label and segmentation
 * data, whose examples have no one class, need one readable example (checkAnyReadable).
 */
export async function checkClassesReadable(
  dataset: Dataset,
  size: Size,
  skips: SkipLedger,
  concurrency = 4,
): Promise<void> {
  if (dataset.labelSet || dataset.readMask) return checkAnyReadable(dataset, size, skips);
  const members: number[][] = dataset.classNames.map(() => []);
  for (let i = 0; i < dataset.length; i++) members[dataset.label(i)].push(i);
  const found: (Unreadable | undefined)[] = new Array<Unreadable | undefined>(members.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < members.length) {
      const label = next++;
      if (members[label].length > 0) found[label] = await unreadableClass(dataset, label, members[label], size, skips);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  const unreadable = found.filter((u): u is Unreadable => u !== undefined);
  if (unreadable.length > 0) throw new Error(unreadableMessage(dataset, unreadable));
}
