// `npm run bench [-- options]`: compares the engine with PyTorch (Debian's python3-torch, 2 threads) where it is
// installed, in rows (`--rows`, default all of them):
// - models: trains and infers DenseNet-BC-40 (k=12, 32x32x3) and DenseNet-121 at 64x64x3 (10 classes each) on
//   synthetic data with the engine (dist/bench.js) and the same models in PyTorch (bench/torch_bench.py). Batch 32,
//   SGD with Nesterov momentum; warm-up steps untimed, then at least --steps steps and --seconds seconds. The engine
//   trains on --threads threads (default: the cores; data-parallel, src/engine/parallel) and once more per model
//   with training.memoryEfficient on, to compare peak RSS and time with it off.
// - mnist-epoch: one real epoch of the MNIST example (examples/mnist, its PNG class folders) through the training
//   code `densenet-lab train` runs (dist/bench-train.js: decoding, batching, the spec's augmentation and
//   normalisation, the steps), against the same model and folders in PyTorch (bench/torch_mnist.py: ImageFolder,
//   PIL, same batch size and optimizer). Images/s of the epoch's training, data loading included.
// - frozen-head: the same spec with training.freeze "backbone" for --head-epochs epochs: the pooled features
//   computed once, then the classifier's epochs on them; PyTorch the same (features under no_grad, a Linear head).
//   Reports the features-once time and the time of a head epoch.
// - onnxruntime: inference of the two bench models exported by the project's ONNX writer, in onnxruntime-node on
//   --threads intra-op threads (dist/bench-ort.js), against PyTorch's inference.
// Every run is a process of its own, one after another, so that each peak RSS is that run's own. Within a row the
// sides alternate, round after round (engine, PyTorch, engine, PyTorch, …; --pairs rounds, 3 by default): each
// figure is the median of its rounds with their min–max, and each ratio to PyTorch is taken round by round, then
// its median (on this noisy machine one run of each side cannot tell a change from noise).
// Prints images/s, GFLOP/s (from the analysis' multiply-adds: 2 flops each, training ≈ 3 forward passes),
// peak RSS, CPU use of the timed part (100% = one core busy), ratios to PyTorch, the issue's targets (met or not,
// src/metrics/benchRows.ts) and the top kernels of one profiled single-thread training step; `--json` prints one
// object that keeps every sample.
//
// Options: --json, --rows models,mnist-epoch,frozen-head,onnxruntime, --backend wasm|cpu|tensorflow|auto (default
// wasm), --models a,b, --modes train,infer, --batch 32, --warmup 1, --steps 3, --seconds 10, --threads N, --pairs 3,
// --head-epochs 10, --spec examples/mnist/mnist.densenet.json, --python /usr/bin/python3, --no-torch,
// --no-memory-efficient (skip the memoryEfficient runs). `npm run -s bench -- --json` keeps npm's banner off
// stdout. About 3-4 minutes a round of the models row, 1-2 minutes of each other row, on 2 idle cores.
import { spawnSync } from 'child_process';
import { createRequire } from 'module';
import * as os from 'os';
import { fileURLToPath } from 'url';
import { parseArgs } from 'util';

const root = fileURLToPath(new URL('..', import.meta.url));
// Built by esbuild.mjs from src/metrics/benchStats.ts (unit-tested there).
const require = createRequire(import.meta.url);
const { spread, pairRatios, formatSpread } = require('../dist/bench-stats.js');
// Built from src/metrics/benchRows.ts: the rows, the targets, their printing.
const { parseRows, comparisonTargets, checkTarget, formatTarget } = require('../dist/bench-rows.js');
const { values: o } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    rows: { type: 'string', default: '' },
    'head-epochs': { type: 'string', default: '10' },
    spec: { type: 'string', default: 'examples/mnist/mnist.densenet.json' },
    backend: { type: 'string', default: 'wasm' },
    models: { type: 'string', default: 'densenet-bc-40,densenet121-64' },
    modes: { type: 'string', default: 'train,infer' },
    batch: { type: 'string', default: '32' },
    warmup: { type: 'string', default: '1' },
    steps: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
    python: { type: 'string', default: '/usr/bin/python3' },
    threads: { type: 'string', default: String(os.availableParallelism?.() ?? os.cpus().length) },
    pairs: { type: 'string', default: '3' },
    'no-torch': { type: 'boolean', default: false },
    'no-memory-efficient': { type: 'boolean', default: false },
  },
});
const rowsToRun = parseRows(o.rows);
const models = o.models.split(',');
const modes = o.modes.split(',');
const pairs = Number(o.pairs);
if (!Number.isInteger(pairs) || pairs < 1)
  throw new Error(`--pairs ${o.pairs}: give a whole number of rounds, 3 or more`);
const common = ['--batch', o.batch, '--warmup', o.warmup, '--steps', o.steps, '--seconds', o.seconds];
const log = (s) => process.stderr.write(`${s}\n`);
const notes = [];

/** Runs one worker; returns its JSON result line, or undefined (and a note) when it failed. */
function run(label, command, args) {
  log(`bench: ${label}...`);
  const r = spawnSync(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  const last = r.stdout?.trim().split('\n').pop();
  if (r.status === 0 && last?.startsWith('{')) return JSON.parse(last);
  notes.push(`${label} failed (${r.error?.message ?? (r.signal ? `signal ${r.signal}` : `exit code ${r.status}`)})`);
  return undefined;
}

// PyTorch only where it imports (Debian's python, not a pyenv shim without torch).
let torch = !o['no-torch'];
if (torch) {
  const probe = spawnSync(o.python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  torch = probe.status === 0;
  notes.push(
    torch
      ? `PyTorch ${probe.stdout.trim()} (${o.python}), 2 threads`
      : `no PyTorch comparison: ${o.python} cannot import torch (apt-get install python3-torch)`,
  );
}

const loadBefore = os.loadavg()[0];
if (pairs < 3) notes.push(`${pairs} round(s) only: a figure needs 3 or more to tell a change from noise`);
const node = (script, args) => ({ command: process.execPath, args: ['--max-old-space-size=8192', script, ...args] });
const python = (script, args) => ({ command: o.python, args: [script, ...args] });
const pytorchInfer = (model) => ({
  label: `pytorch ${model} infer`,
  ...python('bench/torch_bench.py', ['--model', model, '--mode', 'infer', ...common]),
});
/** The sides of each row that alternate round by round; `profile`: one profiled step in the first round. */
const groups = [];
for (const row of rowsToRun) {
  if (row === 'models')
    for (const model of models)
      for (const mode of modes) {
        const args = ['--backend', o.backend, '--model', model, '--mode', mode, '--threads', o.threads, ...common];
        const sides = [
          { label: `${o.backend} ${model} ${mode}`, ...node('dist/bench.js', args), profile: mode === 'train' },
        ];
        if (mode === 'train' && !o['no-memory-efficient'])
          sides.push({
            label: `${o.backend} ${model} ${mode} memoryEfficient`,
            ...node('dist/bench.js', [...args, '--memory-efficient']),
          });
        if (torch)
          sides.push({
            label: `pytorch ${model} ${mode}`,
            ...python('bench/torch_bench.py', ['--model', model, '--mode', mode, ...common]),
          });
        groups.push({ row, sides });
      }
  if (row === 'onnxruntime')
    for (const model of models) {
      const args = ['--model', model, '--threads', o.threads, ...common];
      const sides = [{ label: `onnxruntime ${model} infer`, ...node('dist/bench-ort.js', args) }];
      if (torch) sides.push(pytorchInfer(model));
      groups.push({ row, sides });
    }
  if (row === 'mnist-epoch' || row === 'frozen-head') {
    const args = ['--row', row, '--spec', o.spec, '--head-epochs', o['head-epochs']];
    const sides = [
      {
        label: `${o.backend} ${row}`,
        ...node('dist/bench-train.js', [...args, '--backend', o.backend, '--threads', o.threads]),
      },
    ];
    if (torch) sides.push({ label: `pytorch ${row}`, ...python('bench/torch_mnist.py', args) });
    groups.push({ row, sides });
  }
}
/** Every run, with its row, side and round. */
const samples = [];
for (const { row, sides } of groups)
  for (let round = 0; round < pairs; round++)
    for (const side of sides) {
      // Profiling slows the step it measures: one step, after the timed ones, in the first round only.
      const profile = side.profile && round === 0 ? ['--profile'] : [];
      const r = run(`${side.label} (round ${round + 1}/${pairs})`, side.command, [...side.args, ...profile]);
      if (r) samples.push({ ...r, row, memoryEfficient: Boolean(r.memoryEfficient), round });
    }
// Other work on this small machine lowers the figures, PyTorch's most: its 2 OpenMP threads stall without a core
// each. (Only the load before the runs says so: during them, the runs themselves keep both cores busy.)
if (loadBefore > 0.5)
  notes.push(
    `load average ${loadBefore.toFixed(1)} on ${os.cpus().length} cores in the minute before the runs: other processes were running or had just run, figures may be low (PyTorch's most; see CPU %)`,
  );

const macs = Object.fromEntries(
  samples
    .filter((r) => r.engine !== 'pytorch')
    .map((r) => [r.model, { macsPerImage: r.macsPerImage, params: r.params }]),
);
const gflops = (r, imagesPerSecond) =>
  macs[r.model]
    ? (imagesPerSecond * macs[r.model].macsPerImage * 2 * (r.mode === 'train' || r.mode === 'epoch' ? 3 : 1)) / 1e9
    : undefined;
/** The times the training rows report besides images/s (seconds). */
const TIMES = ['epochSeconds', 'featuresSeconds', 'headEpochSeconds', 'totalSeconds'];
/** One figure a side: the spreads of its rounds. */
const sideKey = (r) => `${r.row}|${r.engine}|${r.model}|${r.mode}|${r.memoryEfficient}`;
const bySide = new Map();
for (const r of samples) bySide.set(sideKey(r), [...(bySide.get(sideKey(r)) ?? []), r]);
const runs = [...bySide.values()].map((rs) => {
  const { row, engine, model, mode, batch, threads, memoryEfficient } = rs[0];
  const times = TIMES.filter((k) => rs[0][k] !== undefined).map((k) => [k, spread(rs.map((r) => r[k]))]);
  return {
    row,
    engine,
    model,
    mode,
    batch,
    threads,
    memoryEfficient,
    imagesPerSecond: spread(rs.map((r) => r.imagesPerSecond)),
    peakRssMB: spread(rs.map((r) => r.peakRssMB)),
    cpuPercent: spread(rs.map((r) => (100 * r.cpuSeconds) / r.seconds)),
    ...Object.fromEntries(times),
  };
});
/** A side's samples by round (undefined where that round's run failed), for pair-by-pair ratios. */
const rounds = (row, engine, model, mode, memoryEfficient, field) =>
  Array.from({ length: pairs }, (_, round) => {
    const r = samples.find(
      (s) =>
        s.row === row &&
        s.engine === engine &&
        s.model === model &&
        s.mode === mode &&
        s.memoryEfficient === memoryEfficient &&
        s.round === round,
    );
    return r?.[field];
  });
const ratios = {};
/** Each side compared with PyTorch's run of the same row, model and mode (src/metrics/benchRows.ts). */
const comparisons = [];
for (const e of runs.filter((r) => r.engine !== 'pytorch' && !r.memoryEfficient)) {
  const same = (r) => r.engine === 'pytorch' && r.row === e.row && r.model === e.model && r.mode === e.mode;
  if (!runs.some(same)) continue;
  const of = (engine, field) => rounds(e.row, engine, e.model, e.mode, false, field);
  const speed = pairRatios(of(e.engine, 'imagesPerSecond'), of('pytorch', 'imagesPerSecond'));
  const rss = pairRatios(of(e.engine, 'peakRssMB'), of('pytorch', 'peakRssMB'));
  // Times as speed-ups: PyTorch's time over this side's (above 1: this side is faster).
  const faster = Object.fromEntries(
    ['featuresSeconds', 'headEpochSeconds']
      .filter((k) => e[k])
      .map((k) => [k, pairRatios(of('pytorch', k), of(e.engine, k))]),
  );
  const key = e.row === 'models' ? `${e.model}/${e.mode}` : `${e.row}/${e.model}/${e.mode}`;
  ratios[key] = {
    label: `${e.engine}/pytorch`,
    imagesPerSecond: speed.spread,
    peakRss: rss.spread,
    ...Object.fromEntries(Object.entries(faster).map(([k, v]) => [`${k}Faster`, v.spread])),
    pairs: {
      imagesPerSecond: speed.ratios,
      peakRss: rss.ratios,
      ...Object.fromEntries(Object.entries(faster).map(([k, v]) => [`${k}Faster`, v.ratios])),
    },
  };
  const { row, engine, model, mode } = e;
  comparisons.push({ row, engine, model, mode, imagesPerSecond: speed.spread, peakRss: rss.spread });
}
const targets = comparisonTargets(comparisons);
for (const on of runs.filter((r) => r.memoryEfficient)) {
  const of = (memoryEfficient, field) => rounds(on.row, on.engine, on.model, on.mode, memoryEfficient, field);
  const lower = pairRatios(of(false, 'peakRssMB'), of(true, 'peakRssMB'));
  // More time per image = (plain images/s) / (memory-efficient images/s) - 1, round by round.
  const slower = pairRatios(of(false, 'imagesPerSecond'), of(true, 'imagesPerSecond'));
  const more = spread(slower.ratios.map((x) => x - 1));
  ratios[`${on.model}/${on.mode}/memoryEfficient`] = { peakRssLower: lower.spread, timeMore: more };
  for (const t of [
    checkTarget(`${on.model} memoryEfficient: peak RSS lower by`, lower.spread, '>=', 2),
    checkTarget(`${on.model} memoryEfficient: more time per image`, more, '<=', 0.25),
  ])
    if (t) targets.push(t);
}
// The 10 slowest kernels of each profiled step, with their share of all its kernel time.
const totalMs = Object.fromEntries(
  samples.filter((r) => r.profile).map((r) => [r.model, r.profile.reduce((s, k) => s + k.ms, 0)]),
);
const profile = Object.fromEntries(
  samples
    .filter((r) => r.profile)
    .map((r) => [r.model, r.profile.slice(0, 10).map((k) => ({ ...k, share: k.ms / totalMs[r.model] }))]),
);

if (o.json) {
  // Every sample, without the profile (printed once under `profile`).
  const all = samples.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'profile')));
  process.stdout.write(
    `${JSON.stringify({ pairs, rows: rowsToRun, runs, ratios, targets, profile, models: macs, samples: all, notes })}\n`,
  );
} else {
  const line = (cells, widths) =>
    cells.map((c, i) => (i < 4 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  const w = [12, 12, 16, 12, 6, 8, 22, 8, 20, 6];
  const f = (x, d = 1) => (x === undefined ? '-' : x.toFixed(d));
  console.log(`Medians of ${pairs} alternating round(s), (min–max):`);
  console.log(
    line(['row', 'engine', 'model', 'mode', 'batch', 'threads', 'images/s', 'GFLOP/s', 'peak RSS MB', 'CPU %'], w),
  );
  for (const r of runs) {
    const mode = r.memoryEfficient ? `${r.mode}+memEff` : r.mode;
    const ips = r.imagesPerSecond;
    const cells = [
      r.row,
      r.engine,
      r.model,
      mode,
      r.batch,
      r.threads ?? 2,
      formatSpread(ips, ips && ips.median < 10 ? 2 : 1),
      f(ips && gflops(r, ips.median), 2),
      formatSpread(r.peakRssMB, 0),
      f(r.cpuPercent?.median, 0),
    ];
    console.log(line(cells, w));
  }
  const timed = runs.filter((r) => r.totalSeconds);
  if (timed.length)
    console.log("\nSeconds (mnist-epoch: images/s is the epoch's training; frozen-head: images/s of the features):");
  for (const r of timed) {
    const parts = [
      r.epochSeconds && `epoch with validation ${formatSpread(r.epochSeconds)}`,
      r.featuresSeconds && `features once ${formatSpread(r.featuresSeconds)}`,
      r.headEpochSeconds && `a head epoch ${formatSpread(r.headEpochSeconds, 3)}`,
      `whole run ${formatSpread(r.totalSeconds)}`,
    ];
    console.log(`  ${r.row} ${r.engine}: ${parts.filter(Boolean).join(', ')}`);
  }
  for (const [key, v] of Object.entries(ratios)) {
    if ('peakRssLower' in v)
      console.log(
        `${key}: peak RSS ${formatSpread(v.peakRssLower, 2)}x lower, ${formatSpread(v.timeMore && { ...v.timeMore, median: 100 * v.timeMore.median, min: 100 * v.timeMore.min, max: 100 * v.timeMore.max }, 0)}% more time per image`,
      );
    else {
      const times = ['featuresSeconds', 'headEpochSeconds']
        .filter((k) => v[`${k}Faster`])
        .map(
          (k) =>
            `, ${k === 'featuresSeconds' ? 'features' : 'head epoch'} ${formatSpread(v[`${k}Faster`], 2)}x as fast`,
        );
      console.log(
        `${v.label} ${key}: speed ${formatSpread(v.imagesPerSecond, 3)}x${times.join('')}, peak RSS ${formatSpread(v.peakRss, 2)}x (round by round)`,
      );
    }
  }
  if (targets.length) console.log('\nTargets (medians of the round-by-round ratios):');
  for (const t of targets) console.log(formatTarget(t));
  for (const [model, kernels] of Object.entries(profile)) {
    console.log(
      `\nTop kernels of one ${o.backend} training step, ${model} (all kernels ${totalMs[model].toFixed(0)} ms):`,
    );
    for (const k of kernels)
      console.log(
        `  ${k.kernel.padEnd(24)}${k.ms.toFixed(0).padStart(8)} ms${(100 * k.share).toFixed(1).padStart(6)}%${String(k.calls).padStart(6)} calls`,
      );
  }
  if (notes.length) console.log(`\n${notes.map((n) => `note: ${n}`).join('\n')}`);
}
if (notes.some((n) => n.includes(' failed ('))) process.exitCode = 1;
