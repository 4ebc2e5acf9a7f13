/**
 * What the benchmark workers share (dist/bench.js, dist/bench-train.js, dist/bench-ort.js; each started by
 * `npm run bench`, bench/run.mjs, one process per run): the two synthetic-data bench models, the peak RSS of the
 * process and the timing loop. The PyTorch scripts (bench/torch_bench.py) build the same models.
 */
import * as fs from 'fs';
import { findPreset, type InputShape, type ModelConfig } from '../core';

/** The bench models by name. */
export const BENCH_MODELS = ['densenet-bc-40', 'densenet121-64'] as const;

/** A bench model: its layers, input and classes. */
export function benchModel(name: string): { model: ModelConfig; input: InputShape; classes: number } {
  if (name === 'densenet-bc-40') {
    // DenseNet-BC (L=40, k=12): the BC-100 preset with 6 bottleneck layers per block (stem 3x3 conv, 24 filters).
    const p = findPreset('densenet-bc-100-k12')!;
    return { model: { ...p.model, blockConfig: [6, 6, 6] }, input: p.input, classes: 10 };
  }
  if (name === 'densenet121-64') {
    // DenseNet-121 (ImageNet stem) at 64x64x3 with a 10-class head.
    return { model: findPreset('densenet121')!.model, input: { height: 64, width: 64, channels: 3 }, classes: 10 };
  }
  throw new Error(`unknown model ${name} (${BENCH_MODELS.join(', ')})`);
}

/** Peak resident set size of this process in MiB (VmHWM; resourceUsage where /proc is missing). */
export function peakRssMB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(
    fs.existsSync('/proc/self/status') ? fs.readFileSync('/proc/self/status', 'utf8') : '',
  );
  return (m ? Number(m[1]) : process.resourceUsage().maxRSS) / 1024;
}

/** CPU seconds (user + system) of this process since `since` (a `process.cpuUsage()`). */
export function cpuSecondsSince(since: NodeJS.CpuUsage): number {
  const cpu = process.cpuUsage(since);
  return (cpu.user + cpu.system) / 1e6;
}

/**
 * Runs `step` `warmup` times untimed, then until both `minSteps` steps and `minSeconds` have passed. Also
 * returns the CPU seconds of the timed steps: below the wall time when other processes took the cores.
 */
export async function timeSteps(
  step: () => unknown,
  warmup: number,
  minSteps: number,
  minSeconds: number,
): Promise<{ steps: number; seconds: number; cpuSeconds: number }> {
  for (let i = 0; i < warmup; i++) await step();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let steps = 0;
  while (steps < minSteps || performance.now() - t0 < minSeconds * 1000) {
    await step();
    steps++;
  }
  return { steps, seconds: (performance.now() - t0) / 1000, cpuSeconds: cpuSecondsSince(cpu0) };
}

/** A whole number >= `min` from a command-line option, or an error naming the option. */
export function wholeOption(name: string, text: string | undefined, min: number): number {
  const n = Number(text);
  if (text === undefined || !Number.isInteger(n) || n < min)
    throw new Error(`--${name} must be a whole number of at least ${min} (got ${text})`);
  return n;
}
