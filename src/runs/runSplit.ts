/**
 * `split.json` of a run folder: the effective seed of the run (`training.seed`, or the one drawn when the spec
 * has none) and, for a `data.validation: {split}`, which examples of the training data were held out. Written
 * once when the run starts; resume and `evaluate` read it back, so the split is never drawn again.
 *
 * No tfjs here: a plain data type, a writer and a reader.
 */
import * as fs from 'fs';
import * as path from 'path';
import { readJsonSync, writeJsonAtomicSync } from './atomic';

export const SPLIT_JSON = 'split.json';

/** The examples held out of the training data for validation. */
export interface HeldOut {
  /** data.validation.split when the run started. */
  fraction: number;
  /** The number of examples in the training data then. */
  examples: number;
  /** SHA-256 of the examples' locations and labels then: a different dataset is refused. */
  fingerprint: string;
  /** Indices (into the training data, ascending) of the validation examples. */
  indices: number[];
}

export interface RunSplit {
  /** The seed of the data (split, normalisation sample, shuffling) and, with training.seed, of the weights. */
  seed: number;
  /** Whether the seed was drawn (the spec has no training.seed). */
  drawn: boolean;
  /** Null when validation is a source of its own, or absent. */
  heldOut: HeldOut | null;
}

const isIndexList = (v: unknown): v is number[] =>
  Array.isArray(v) && v.every((i) => Number.isInteger(i) && (i as number) >= 0);

/** The split of the run in `runDir`; undefined when it has none. Throws, naming the file, when it is malformed. */
export function readRunSplit(runDir: string): RunSplit | undefined {
  const file = path.join(runDir, SPLIT_JSON);
  const raw = readJsonSync<Partial<RunSplit>>(file);
  if (raw === undefined) return undefined;
  const h = raw.heldOut as Partial<HeldOut> | null | undefined;
  const heldOutOk =
    h === null ||
    (typeof h === 'object' &&
      h !== undefined &&
      typeof h.fraction === 'number' &&
      Number.isInteger(h.examples) &&
      typeof h.fingerprint === 'string' &&
      isIndexList(h.indices) &&
      h.indices.every((i) => i < (h.examples as number)));
  if (!Number.isInteger(raw.seed) || typeof raw.drawn !== 'boolean' || !heldOutOk)
    throw new Error(
      `${file} is malformed: it records the run's seed and validation split; restore it or start a new run`,
    );
  return raw as RunSplit;
}

/** Writes `split.json` once: throws if the run already has one (a run's split never changes). */
export function writeRunSplit(runDir: string, split: RunSplit): void {
  const file = path.join(runDir, SPLIT_JSON);
  if (fs.existsSync(file)) throw new Error(`${file} exists: a run's seed and split are written once`);
  writeJsonAtomicSync(file, split);
}
