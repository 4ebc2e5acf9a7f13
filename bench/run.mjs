// `npm run bench [-- options]`: trains and infers DenseNet-BC-40 (k=12, 32x32x3) and DenseNet-121 at 64x64x3
// (10 classes each) with the engine (dist/bench.js, built by esbuild.mjs) and, where Debian's python3-torch is
// installed, with the same models in PyTorch (bench/torch_bench.py, 2 threads). Every model and mode runs in a
// process of its own, one after another, so that each peak RSS is that run's own. Batch 32, synthetic data,
// SGD with Nesterov momentum; warm-up steps untimed, then at least --steps steps and --seconds seconds.
// The engine trains on --threads threads (default: the cores; data-parallel, src/engine/parallel) and once more
// per model with training.memoryEfficient on, to compare peak RSS and time with it off.
// Prints images/s, GFLOP/s (from the analysis' multiply-adds: 2 flops each, training ≈ 3 forward passes),
// peak RSS, CPU use of the timed steps (100% = one core busy), engine/PyTorch ratios, the issue's targets
// (met or not) and the top kernels of one profiled single-thread training step; `--json` prints one object.
//
// Options: --json, --backend wasm|cpu|tensorflow|auto (default wasm), --models a,b, --modes train,infer,
// --batch 32, --warmup 1, --steps 3, --seconds 10, --threads N, --python /usr/bin/python3, --no-torch,
// --no-memory-efficient (skip the memoryEfficient runs).
// `npm run -s bench -- --json` keeps npm's banner off stdout. About 3-4 minutes on 2 idle cores (WASM, PyTorch).
import { spawnSync } from 'child_process';
import * as os from 'os';
import { fileURLToPath } from 'url';
import { parseArgs } from 'util';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: o } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    backend: { type: 'string', default: 'wasm' },
    models: { type: 'string', default: 'densenet-bc-40,densenet121-64' },
    modes: { type: 'string', default: 'train,infer' },
    batch: { type: 'string', default: '32' },
    warmup: { type: 'string', default: '1' },
    steps: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
    python: { type: 'string', default: '/usr/bin/python3' },
    threads: { type: 'string', default: String(os.availableParallelism?.() ?? os.cpus().length) },
    'no-torch': { type: 'boolean', default: false },
    'no-memory-efficient': { type: 'boolean', default: false },
  },
});
const models = o.models.split(',');
const modes = o.modes.split(',');
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
const results = [];
for (const model of models) {
  for (const mode of modes) {
    const profile = mode === 'train' ? ['--profile'] : [];
    const engineArgs = [
      '--max-old-space-size=8192',
      'dist/bench.js',
      '--backend',
      o.backend,
      '--model',
      model,
      '--mode',
      mode,
      '--threads',
      o.threads,
      ...common,
    ];
    results.push(run(`${o.backend} ${model} ${mode}`, process.execPath, [...engineArgs, ...profile]));
    if (mode === 'train' && !o['no-memory-efficient']) {
      results.push(
        run(`${o.backend} ${model} ${mode} memoryEfficient`, process.execPath, [...engineArgs, '--memory-efficient']),
      );
    }
    if (torch)
      results.push(
        run(`pytorch ${model} ${mode}`, o.python, [
          'bench/torch_bench.py',
          '--model',
          model,
          '--mode',
          mode,
          ...common,
        ]),
      );
  }
}
// Other work on this small machine lowers the figures, PyTorch's most: its 2 OpenMP threads stall without a core
// each. (Only the load before the runs says so: during them, the runs themselves keep both cores busy.)
if (loadBefore > 0.5)
  notes.push(
    `load average ${loadBefore.toFixed(1)} on ${os.cpus().length} cores in the minute before the runs: other processes were running or had just run, figures may be low (PyTorch's most; see CPU %)`,
  );

const ok = results.filter(Boolean);
const macs = Object.fromEntries(
  ok.filter((r) => r.engine !== 'pytorch').map((r) => [r.model, { macsPerImage: r.macsPerImage, params: r.params }]),
);
const gflops = (r) =>
  macs[r.model] ? (r.imagesPerSecond * macs[r.model].macsPerImage * 2 * (r.mode === 'train' ? 3 : 1)) / 1e9 : undefined;
const runs = ok.map(({ engine, model, mode, batch, threads, memoryEfficient, imagesPerSecond, peakRssMB }) => ({
  engine,
  model,
  mode,
  batch,
  threads,
  memoryEfficient,
  imagesPerSecond,
  peakRssMB,
}));
const ratios = {};
const targets = [];
const target = (name, value, op, bound) =>
  targets.push({ name, value, target: `${op} ${bound}`, met: op === '>=' ? value >= bound : value <= bound });
for (const e of runs.filter((r) => r.engine !== 'pytorch' && !r.memoryEfficient)) {
  const p = runs.find((r) => r.engine === 'pytorch' && r.model === e.model && r.mode === e.mode);
  if (!p) continue;
  const r = { imagesPerSecond: e.imagesPerSecond / p.imagesPerSecond, peakRss: e.peakRssMB / p.peakRssMB };
  ratios[`${e.model}/${e.mode}`] = r;
  target(`${e.model} ${e.mode} images/s vs PyTorch`, r.imagesPerSecond, '>=', e.mode === 'train' ? 0.5 : 0.7);
  target(`${e.model} ${e.mode} peak RSS vs PyTorch`, r.peakRss, '<=', 1.5);
}
for (const on of runs.filter((r) => r.memoryEfficient)) {
  const off = runs.find(
    (r) => r.engine === on.engine && r.model === on.model && r.mode === on.mode && !r.memoryEfficient,
  );
  if (!off) continue;
  ratios[`${on.model}/${on.mode}/memoryEfficient`] = {
    peakRssLower: off.peakRssMB / on.peakRssMB,
    timeMore: off.imagesPerSecond / on.imagesPerSecond - 1,
  };
  target(`${on.model} memoryEfficient: peak RSS lower by`, off.peakRssMB / on.peakRssMB, '>=', 2);
  target(`${on.model} memoryEfficient: more time per image`, off.imagesPerSecond / on.imagesPerSecond - 1, '<=', 0.25);
}
// The 10 slowest kernels of each profiled step, with their share of all its kernel time.
const totalMs = Object.fromEntries(
  ok.filter((r) => r.profile).map((r) => [r.model, r.profile.reduce((s, k) => s + k.ms, 0)]),
);
const profile = Object.fromEntries(
  ok
    .filter((r) => r.profile)
    .map((r) => [r.model, r.profile.slice(0, 10).map((k) => ({ ...k, share: k.ms / totalMs[r.model] }))]),
);

if (o.json) {
  process.stdout.write(`${JSON.stringify({ runs, ratios, targets, profile, models: macs, notes })}\n`);
} else {
  const row = (cells, widths) =>
    cells.map((c, i) => (i < 3 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  const w = [8, 16, 10, 6, 8, 9, 8, 12, 6];
  const f = (x, d = 1) => (x === undefined ? '-' : x.toFixed(d));
  console.log(row(['engine', 'model', 'mode', 'batch', 'threads', 'images/s', 'GFLOP/s', 'peak RSS MB', 'CPU %'], w));
  for (const r of ok) {
    const mode = r.memoryEfficient ? `${r.mode}+memEff` : r.mode;
    const cells = [
      r.engine,
      r.model,
      mode,
      r.batch,
      r.threads ?? 2,
      f(r.imagesPerSecond, r.imagesPerSecond < 10 ? 2 : 1),
      f(gflops(r), 2),
      f(r.peakRssMB, 0),
      f((100 * r.cpuSeconds) / r.seconds, 0),
    ];
    console.log(row(cells, w));
  }
  for (const [key, v] of Object.entries(ratios)) {
    if ('peakRssLower' in v)
      console.log(
        `${key}: peak RSS ${v.peakRssLower.toFixed(2)}x lower, ${(100 * v.timeMore).toFixed(0)}% more time per image`,
      );
    else
      console.log(
        `${o.backend}/pytorch ${key}: speed ${v.imagesPerSecond.toFixed(3)}x, peak RSS ${v.peakRss.toFixed(2)}x`,
      );
  }
  if (targets.length) console.log('\nTargets (issue 5):');
  for (const t of targets)
    console.log(`  ${t.met ? 'met    ' : 'NOT met'}  ${t.name}: ${t.value.toFixed(2)} (target ${t.target})`);
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
if (results.some((r) => !r)) process.exitCode = 1;
