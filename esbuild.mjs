// Bundles the extension host code, the CLI (and, as they arrive, the engine process and the webviews).
// `node esbuild.mjs [--watch] [--production]`
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

// Native modules stay outside the bundles: tfjs-node (optional, loaded at run time), onnxruntime-node (loaded
// at run time for inference) and sharp (libvips).
const NATIVE = ['@tensorflow/tfjs-node', 'onnxruntime-node', 'sharp'];

/** @type {esbuild.BuildOptions[]} */
const targets = [
  {
    // Extension host: Node, CommonJS; `vscode` is provided by the host.
    entryPoints: { extension: 'src/extension.ts' },
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
  },
  {
    // Engine process (forked by the host; tfjs on WASM/CPU, or tfjs-node loaded at run time).
    entryPoints: { engine: 'src/engine/main.ts' },
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: NATIVE,
  },
  {
    // Data-parallel training worker (worker_threads), started by the engine, the CLI and the bench from
    // dist/ (src/engine/parallel/pool.ts finds it beside their bundle).
    entryPoints: { 'engine-worker': 'src/engine/parallel/worker.ts' },
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: NATIVE,
  },
  {
    // `densenet-lab` command line.
    entryPoints: { cli: 'src/cli/bin.ts' },
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
    external: NATIVE,
  },
  {
    // Benchmark worker of `npm run bench` (bench/run.mjs): one model and mode per process.
    entryPoints: { bench: 'src/engine/bench.ts' },
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: NATIVE,
  },
  {
    // Benchmark workers of the rows mnist-epoch and frozen-head (the training of a spec, data included) and
    // onnxruntime (the exported graph in onnxruntime-node, kept outside the bundle: native).
    entryPoints: { 'bench-train': 'src/engine/benchTrain.ts', 'bench-ort': 'src/engine/benchOrt.ts' },
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: [...NATIVE, 'onnxruntime-node'],
  },
  {
    // The rows and targets of `npm run bench` (which rows run, which targets are met, how they print).
    entryPoints: { 'bench-rows': 'src/metrics/benchRows.ts' },
    platform: 'node',
    format: 'cjs',
    target: 'node20',
  },
  {
    // The statistics bench/run.mjs reports its alternating runs with (medians, spreads, pair-by-pair ratios).
    entryPoints: { 'bench-stats': 'src/metrics/benchStats.ts' },
    platform: 'node',
    format: 'cjs',
    target: 'node20',
  },
  {
    // Webviews: browser bundles; they import only shared pure modules (src/spec, src/protocol).
    entryPoints: {
      'webview/architecture': 'webview/architecture/main.ts',
      'webview/dashboard': 'webview/dashboard/main.ts',
      'webview/features': 'webview/features/main.ts',
      'webview/summary': 'webview/summary/main.ts',
      'webview/gallery': 'webview/gallery/main.ts',
      'webview/experiments': 'webview/experiments/main.ts',
    },
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
  },
];

const common = {
  bundle: true,
  // jsonc-parser's UMD build hides its requires from the bundler: take the ES module builds.
  mainFields: ['module', 'main'],
  outdir: 'dist',
  sourcemap: !production,
  minify: production,
  logLevel: 'info',
};

// The JSON schema of the spec, generated from its one description (src/core/specSchema.ts).
const { writeSchema } = await import('./scripts/gen-schema.mjs');
process.stderr.write(`  media/densenet.schema.json ${(await writeSchema()) ? 'written' : 'up to date'}\n`);

if (watch) {
  const contexts = await Promise.all(targets.map((t) => esbuild.context({ ...common, ...t })));
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(targets.map((t) => esbuild.build({ ...common, ...t })));
}

// The WASM backend loads its .wasm files from beside the bundle (setWasmPaths).
const fs = await import('fs');
fs.mkdirSync('dist', { recursive: true });
for (const f of fs.readdirSync('node_modules/@tensorflow/tfjs-backend-wasm/dist').filter((f) => f.endsWith('.wasm'))) {
  fs.copyFileSync(`node_modules/@tensorflow/tfjs-backend-wasm/dist/${f}`, `dist/${f}`);
}
if (!watch) fs.chmodSync('dist/cli.js', 0o755);

// The SIMD inner loops of the WASM backend's batch-norm and channel Concat/SplitV kernels
// (src/engine/kernels/simd.wat), loaded from beside the bundles by src/engine/kernels/simdModule.ts: one module
// importing a plain memory (the single-threaded tfjs builds) and one importing a shared memory (the threaded
// build).
const { default: loadWabt } = await import('wabt');
const wabt = await loadWabt();
const wat = fs.readFileSync('src/engine/kernels/simd.wat', 'utf8');
const MEMORY_IMPORT = '(import "env" "memory" (memory 1))';
if (!wat.includes(MEMORY_IMPORT)) throw new Error(`simd.wat: expected the memory import ${MEMORY_IMPORT}`);
for (const [file, text] of [
  ['densenet-kernels.wasm', wat],
  ['densenet-kernels-shared.wasm', wat.replace(MEMORY_IMPORT, '(import "env" "memory" (memory 1 65536 shared))')],
]) {
  const features = { simd: true, threads: true };
  const module = wabt.parseWat(file, text, features);
  try {
    module.validate(features);
    fs.writeFileSync(`dist/${file}`, module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}
process.stderr.write('  dist/densenet-kernels.wasm, dist/densenet-kernels-shared.wasm (wabt)\n');
