// Bundles the extension host code, the CLI (and, as they arrive, the engine process and the webviews).
// `node esbuild.mjs [--watch] [--production]`
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

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
    // `densenet-lab` command line.
    entryPoints: { cli: 'src/cli/bin.ts' },
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
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

if (watch) {
  const contexts = await Promise.all(targets.map((t) => esbuild.context({ ...common, ...t })));
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(targets.map((t) => esbuild.build({ ...common, ...t })));
}

if (!watch) (await import('fs')).chmodSync('dist/cli.js', 0o755);
