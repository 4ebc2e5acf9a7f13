/**
 * The rows of `npm run bench` (`--rows`), the targets its medians are held to and how a target prints. Pure:
 * bench/run.mjs loads it from the bundle esbuild.mjs makes of it.
 *
 * Rows: `models` (the synthetic-data bench models, engine against PyTorch), `mnist-epoch` (the MNIST example's
 * real epoch, data included), `frozen-head` (frozen-backbone fine-tuning: features once, then head epochs) and
 * `onnxruntime` (the exported bench models in ONNX Runtime against PyTorch's inference).
 */
import type { Spread } from './benchStats';

export const BENCH_ROWS = ['models', 'mnist-epoch', 'frozen-head', 'onnxruntime'] as const;
export type BenchRow = (typeof BENCH_ROWS)[number];

/** The rows of `--rows a,b` in the order given, each once; all of them when absent or empty. */
export function parseRows(text: string | undefined): BenchRow[] {
  const names = (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) return [...BENCH_ROWS];
  const unknown = names.filter((n) => !(BENCH_ROWS as readonly string[]).includes(n));
  if (unknown.length)
    throw new Error(`--rows: unknown row ${unknown.join(', ')} (give some of ${BENCH_ROWS.join(',')})`);
  return [...new Set(names)] as BenchRow[];
}

/** One side of the bench compared with PyTorch: the medians of its round-by-round ratios. */
export interface Comparison {
  row: BenchRow;
  /** `wasm`, `cpu`, `onnxruntime`, … (the side compared with PyTorch). */
  engine: string;
  model: string;
  /** `train`, `infer`, `epoch` (mnist-epoch) or `frozen-head`. */
  mode: string;
  /** Its images/s over PyTorch's. */
  imagesPerSecond?: Spread;
  /** Its peak RSS over PyTorch's. */
  peakRss?: Spread;
}

/** The most peak RSS any side may take, relative to PyTorch's on the same row. */
export const PEAK_RSS_TARGET = 1.5;

/**
 * The least images/s a side should reach, relative to PyTorch's: the bench models' inference through ONNX
 * Runtime 2x, the MNIST example's real epoch 0.8x, BC-40 training 1.0x, DenseNet-121@64 training 0.5x; none
 * for the rest.
 */
export function speedTarget(c: Pick<Comparison, 'row' | 'engine' | 'model' | 'mode'>): number | undefined {
  if (c.row === 'onnxruntime') return c.mode === 'infer' ? 2 : undefined;
  if (c.row === 'mnist-epoch') return 0.8;
  if (c.row === 'models' && c.mode === 'train')
    return c.model === 'densenet-bc-40' ? 1.0 : c.model === 'densenet121-64' ? 0.5 : undefined;
  return undefined;
}

export interface BenchTarget {
  name: string;
  /** The median the target is checked on, and the spread it came from. */
  value: number;
  min: number;
  max: number;
  /** `>= 2`, `<= 1.5`. */
  target: string;
  met: boolean;
}

/** A target on a spread's median; undefined without samples. */
export function checkTarget(
  name: string,
  s: Spread | undefined,
  op: '>=' | '<=',
  bound: number,
): BenchTarget | undefined {
  if (!s) return undefined;
  const met = op === '>=' ? s.median >= bound : s.median <= bound;
  return { name, value: s.median, min: s.min, max: s.max, target: `${op} ${bound}`, met };
}

/** What a comparison is called in the targets: `onnxruntime densenet-bc-40 infer`, `mnist epoch (wasm)`. */
export function comparisonName(c: Comparison): string {
  return c.row === 'onnxruntime' ? `onnxruntime ${c.model} ${c.mode}` : `${c.engine} ${c.model} ${c.mode}`;
}

/** The targets of the comparisons: speed where `speedTarget` sets one, peak RSS on every one. */
export function comparisonTargets(comparisons: readonly Comparison[]): BenchTarget[] {
  const out: BenchTarget[] = [];
  for (const c of comparisons) {
    const bound = speedTarget(c);
    const speed =
      bound === undefined
        ? undefined
        : checkTarget(`${comparisonName(c)} images/s vs PyTorch`, c.imagesPerSecond, '>=', bound);
    const rss = checkTarget(`${comparisonName(c)} peak RSS vs PyTorch`, c.peakRss, '<=', PEAK_RSS_TARGET);
    for (const t of [speed, rss]) if (t) out.push(t);
  }
  return out;
}

/** `  met      wasm densenet-bc-40 train images/s vs PyTorch: 1.02 (0.95–1.10; target >= 1)` (one sample: no range). */
export function formatTarget(t: BenchTarget): string {
  const range = t.min === t.max ? '' : `${t.min.toFixed(2)}–${t.max.toFixed(2)}; `;
  return `  ${t.met ? 'met    ' : 'NOT met'}  ${t.name}: ${t.value.toFixed(2)} (${range}target ${t.target})`;
}
