// Times the WASM training kernels of src/engine/kernels against WASM's built-in kernels and the CPU backend
// on DenseNet-typical shapes (batch 32). Run `node esbuild.mjs && npx tsc -p tsconfig.test.json` first, then
// `node bench/kernels.mjs [--no-cpu]`. Prints milliseconds per call (mean of a few calls after a warm-up).
// `node bench/kernels.mjs --filter-grad [--pairs 5]` instead compares ways of computing the 3x3 filter gradient
// (see filterGradOptions below).
import { createRequire } from 'module';

const require = createRequire(import.meta.url);
const { tf } = require('../out/src/engine/tf.js');
const { registerWasmTrainingKernels } = require('../out/src/engine/kernels/register.js');
const { setBatchNormSimd } = require('../out/src/engine/kernels/simdModule.js');
const withCpu = !process.argv.includes('--no-cpu');

await tf.setBackend('wasm');
const builtin = Object.fromEntries(
  ['Conv2DBackpropInput', 'Tile', 'BatchMatMul'].map((n) => [n, tf.getKernel(n, 'wasm').kernelFunc]),
);
registerWasmTrainingKernels();
if (process.argv.includes('--filter-grad')) {
  const i = process.argv.indexOf('--pairs');
  await filterGradOptions(i > 0 ? Number(process.argv[i + 1]) : 5);
  process.exit(0);
}
const ours = Object.fromEntries(
  ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'Tile', 'BatchMatMul'].map((n) => [
    n,
    tf.getKernel(n, 'wasm').kernelFunc,
  ]),
);

/** ms per call of a kernel function on the active backend (its output released each time). */
function time(kernelFunc, inputs, attrs, reps) {
  const backend = tf.backend();
  const once = () => backend.disposeData(kernelFunc({ inputs, backend, attrs }).dataId);
  once();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) once();
  return (performance.now() - t0) / reps;
}

/** ms per call through the engine on the CPU backend. */
async function timeCpu(name, make, attrs) {
  await tf.setBackend('cpu');
  const inputs = make();
  const t0 = performance.now();
  tf.dispose(tf.engine().runKernel(name, inputs, attrs));
  const ms = performance.now() - t0;
  tf.dispose(Object.values(inputs));
  await tf.setBackend('wasm');
  return ms;
}

const fmt = (ms) => (ms === undefined ? '-' : ms < 10 ? ms.toFixed(2) : ms.toFixed(0)).padStart(8);
const rows = [];
function report(label, oursMs, builtinMs, cpuMs) {
  const base = builtinMs ?? cpuMs;
  rows.push(
    `${label.padEnd(44)}${fmt(oursMs)}${fmt(builtinMs)}${fmt(cpuMs)}${(base ? `${(base / oursMs).toFixed(1)}x` : '').padStart(9)}`,
  );
  console.log(rows[rows.length - 1]);
}

console.log(
  `${'kernel, shape (batch 32)'.padEnd(44)}${'ours'.padStart(8)}${'wasm'.padStart(8)}${'cpu'.padStart(8)}${'speedup'.padStart(9)}`,
);
const N = 32;
const convs = [
  // [H, Cin, Cout, K, stride, pad]
  [32, 24, 48, 1, 1, 'same'],
  [32, 120, 48, 1, 1, 'same'],
  [32, 200, 48, 1, 1, 'same'],
  [32, 216, 108, 1, 1, 'same'],
  [16, 300, 48, 1, 1, 'same'],
  [8, 500, 48, 1, 1, 'same'],
  [32, 48, 12, 3, 1, 'same'],
  [16, 48, 12, 3, 1, 'same'],
  [8, 48, 12, 3, 1, 'same'],
  [32, 3, 24, 3, 1, 'same'],
  [64, 3, 64, 7, 2, 'same'],
  [16, 48, 48, 3, 2, 'same'],
];
for (const [H, ci, co, k, s, pad] of convs) {
  const info = tf.backend_util.computeConv2DInfo([N, H, H, ci], [k, k, ci, co], s, 1, pad);
  const make = () => ({
    x: tf.randomNormal([N, H, H, ci]),
    dy: tf.randomNormal(info.outShape),
    filter: tf.randomNormal([k, k, ci, co]),
  });
  const t = make();
  const fAttrs = { strides: s, pad, dataFormat: 'NHWC', filterShape: [k, k, ci, co] };
  const iAttrs = { strides: s, pad, dataFormat: 'NHWC', inputShape: [N, H, H, ci] };
  const reps = H * H * ci * co * k * k > 5e6 ? 3 : 10;
  const shape = `${H}x${H}x${ci}->${co} ${k}x${k}/${s}`;
  const cpu = withCpu && H * H * ci * co * k * k < 3e6; // the CPU kernels run ~5 MFLOP/s
  report(
    `BackpropFilter ${shape}`,
    time(ours.Conv2DBackpropFilter, { x: t.x, dy: t.dy }, fAttrs, reps),
    undefined,
    cpu
      ? await timeCpu(
          'Conv2DBackpropFilter',
          () => {
            const m = make();
            return { x: m.x, dy: m.dy };
          },
          fAttrs,
        )
      : undefined,
  );
  if (ci > 3) {
    report(
      `BackpropInput  ${shape}`,
      time(ours.Conv2DBackpropInput, { dy: t.dy, filter: t.filter }, iAttrs, reps),
      time(builtin.Conv2DBackpropInput, { dy: t.dy, filter: t.filter }, iAttrs, Math.min(reps, 3)),
      cpu
        ? await timeCpu(
            'Conv2DBackpropInput',
            () => {
              const m = make();
              return { dy: m.dy, filter: m.filter };
            },
            iAttrs,
          )
        : undefined,
    );
  }
  tf.dispose(Object.values(t));
}
for (const [shape, reps] of [
  [
    [1, 1, 1, 200],
    [N, 32, 32, 1],
  ],
  [
    [1, 1, 1, 48],
    [N, 32, 32, 1],
  ],
  [
    [1, 1, 1, 500],
    [N, 8, 8, 1],
  ],
]) {
  const x = tf.randomNormal(shape);
  report(
    `Tile [${shape}] x [${reps}]`,
    time(ours.Tile, { x }, { reps }, 5),
    time(builtin.Tile, { x }, { reps }, 2),
    withCpu ? await timeCpu('Tile', () => ({ x: tf.randomNormal(shape) }), { reps }) : undefined,
  );
  x.dispose();
}
for (const [sa, sb, transposeA, transposeB] of [
  [[1, N * 32 * 32, 200], [1, N * 32 * 32, 48], true, false],
  [[1, N, 342], [1, N, 10], true, false],
  [[1, 512, 64], [1, 512, 64], true, false],
  [[1, N, 10], [1, 342, 10], false, true],
  [[1, 4096, 512], [1, 1000, 512], false, true],
]) {
  const a = tf.randomNormal(sa);
  const b = tf.randomNormal(sb);
  const attrs = { transposeA, transposeB };
  report(
    `BatchMatMul [${sa}]${transposeA ? 'T' : ''} [${sb}]${transposeB ? 'T' : ''}`,
    time(ours.BatchMatMul, { a, b }, attrs, 5),
    time(builtin.BatchMatMul, { a, b }, attrs, 2),
    undefined,
  );
  tf.dispose([a, b]);
}

/**
 * The 3x3 stride-1 'same' filter gradient of DenseNet layers (batch 32), CPU milliseconds per call (the process's
 * CPU time: on a shared machine, less disturbed than wall time), medians (min-max) of alternating rounds:
 * (a) the XNNPACK composition (x as [Ci,H,W,N] convolved with dy as a filter), (b) and (c) lower bounds of
 * im2col + one matMul and of nine shifted 1x1 matMuls: their XNNPACK matMuls alone, without building the
 * im2col or shifted operands, and (d) the SIMD module's loop (simd.wat convFilterGrad).
 */
async function filterGradOptions(pairs) {
  const fg = tf.getKernel('Conv2DBackpropFilter', 'wasm').kernelFunc;
  const mm = tf.getKernel('BatchMatMul', 'wasm').kernelFunc;
  const backend = tf.backend();
  const call = (fn, inputs, attrs) => backend.disposeData(fn({ inputs, backend, attrs }).dataId);
  const cpuMs = (f, reps) => {
    const c0 = process.cpuUsage();
    for (let r = 0; r < reps; r++) f();
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000 / reps;
  };
  const median = (v) => v.slice().sort((p, q) => p - q)[v.length >> 1];
  const show = (v) => `${median(v).toFixed(2)} (${Math.min(...v).toFixed(2)}-${Math.max(...v).toFixed(2)})`;
  const noT = { transposeA: false, transposeB: false };
  console.log(`3x3 filter gradient, CPU ms per call, medians (min-max) of ${pairs} alternating rounds`);
  for (const [H, ci, co] of [
    [16, 128, 32],
    [8, 128, 32],
    [4, 128, 32],
    [2, 128, 32],
    [32, 48, 12],
    [16, 48, 12],
    [8, 48, 12],
  ]) {
    const m = 32 * H * H;
    const t = {
      x: tf.randomNormal([32, H, H, ci]),
      dy: tf.randomNormal([32, H, H, co]),
      colT: tf.randomNormal([1, 9 * ci, m]),
      col: tf.randomNormal([1, m, 9 * ci]),
      dyM: tf.randomNormal([1, m, co]),
      dyT: tf.randomNormal([1, co, m]),
      xM: tf.randomNormal([1, m, ci]),
    };
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, ci, co] };
    const reps = Math.max(3, Math.round(2e8 / (m * ci * co * 9)));
    const options = {
      '(a) composition': () => call(fg, { x: t.x, dy: t.dy }, attrs),
      '(b) colT.dy matMul': () => call(mm, { a: t.colT, b: t.dyM }, noT),
      '(b) dyT.col matMul': () => call(mm, { a: t.dyT, b: t.col }, noT),
      '(c) 9 matMuls': () => {
        for (let k = 0; k < 9; k++) call(mm, { a: t.dyT, b: t.xM }, noT);
      },
      '(d) SIMD loop': () => call(fg, { x: t.x, dy: t.dy }, attrs),
    };
    const ms = Object.fromEntries(Object.keys(options).map((k) => [k, []]));
    for (let p = 0; p < pairs; p++) {
      for (const [name, f] of Object.entries(options)) {
        setBatchNormSimd(name.startsWith('(d)'));
        ms[name].push(cpuMs(f, reps));
      }
    }
    setBatchNormSimd(true);
    console.log(`${H}x${H}x${ci}->${co}`);
    for (const [name, v] of Object.entries(ms)) console.log(`  ${name.padEnd(22)}${show(v).padStart(24)}`);
    tf.dispose(Object.values(t));
  }
}
