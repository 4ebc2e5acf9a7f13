// Test set-up for the UI tests of a real-size DenseNet: a DenseNet-121 run folder (224x224x3, 1000 ImageNet
// classes) in a workspace's .densenet/runs/densenet121/<run id>/, and RGB test images made with sharp.
//
// The run is what a user gets from torchvision: scripts/fixtures/torchvision_fixtures.py (Debian's python3-torch
// and python3-torchvision) saves a torchvision DenseNet-121 with seeded random weights as model.pth, and
// `densenet-lab import model.pth --preset densenet121 --out <run>` (dist/cli.js) writes the run. Without
// python3-torch, outside CI (CI=true fails instead), the run is written by the project's own model builder with
// seeded random weights (densenet121RunMain.ts, bundled with esbuild and run with node).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import sharp from 'sharp';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..', '..');
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

function run(command, args, what) {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) throw new Error(`${what} failed (${r.status ?? r.signal}): ${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

/** True when python3 can import torch and torchvision. */
function hasTorch() {
  return spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { timeout: 120_000 }).status === 0;
}

/** torchvision's DenseNet-121 (seeded random weights) as model.pth, imported by `densenet-lab import`. */
function importTorchvision(runDir, tmp) {
  const fixtures = path.join(tmp, 'torchvision');
  run(
    PYTHON,
    [
      path.join(ROOT, 'scripts/fixtures/torchvision_fixtures.py'),
      '--arch',
      'densenet121',
      '--out',
      fixtures,
      '--formats',
      'pth',
    ],
    'torchvision_fixtures.py',
  );
  const cli = path.join(ROOT, 'dist', 'cli.js');
  run(
    process.execPath,
    [cli, 'import', path.join(fixtures, 'model.pth'), '--preset', 'densenet121', '--out', runDir, '--json'],
    'densenet-lab import',
  );
}

/** The run written by the project's model builder (seeded random weights), for machines without torch. */
async function buildRandom(runDir, tmp) {
  const bundle = path.join(tmp, 'densenet121Run.js');
  await esbuild.build({
    entryPoints: [path.join(HERE, 'densenet121RunMain.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    mainFields: ['module', 'main'],
    external: ['@tensorflow/tfjs-node', 'sharp'],
    nodePaths: [path.join(ROOT, 'node_modules')],
    logLevel: 'error',
  });
  fs.mkdirSync(runDir, { recursive: true });
  run(process.execPath, [bundle, runDir, path.join(ROOT, 'media', 'imagenet-classes.json')], 'writing the run');
}

/**
 * Writes the run into `<workspace>/.densenet/runs/densenet121/<run id>` and returns { runId, runDir, source, ms }
 * (`source`: 'torchvision import' or 'random weights').
 */
export async function writeDenseNet121Run(workspace, { runId = '2026-01-01T00-00-00-d121' } = {}) {
  const started = Date.now();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'd121-'));
  const runDir = path.join(workspace, '.densenet', 'runs', 'densenet121', runId);
  try {
    let source = 'torchvision import';
    if (hasTorch()) importTorchvision(runDir, tmp);
    else if (process.env.CI === 'true')
      throw new Error(
        'python3 with torch and torchvision is needed (apt-get install python3-torch python3-torchvision)',
      );
    else {
      source = 'random weights';
      await buildRandom(runDir, tmp);
    }
    return { runId, runDir, source, ms: Date.now() - started };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** A smooth RGB test picture (gradients, a disc and stripes) of `width` x `height`, as a PNG at `file`. */
export async function writeTestImage(file, width, height) {
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const u = x / width;
      const v = y / height;
      const disc = (u - 0.6) ** 2 + (v - 0.45) ** 2 < 0.05;
      const stripe = Math.sin(u * 40) > 0.6 && v > 0.7;
      px[i] = disc ? 230 : Math.round(255 * u);
      px[i + 1] = stripe ? 20 : Math.round(200 * v);
      px[i + 2] = disc ? 40 : Math.round(255 * (1 - u) * (1 - v));
    }
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp(px, { raw: { width, height, channels: 3 } })
    .png()
    .toFile(file);
}
