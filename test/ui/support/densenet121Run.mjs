// Test set-up for the UI tests of a real-size DenseNet: a DenseNet-121 run folder (224x224x3, 1000 ImageNet
// classes, seeded random weights) in a workspace's .densenet/runs/densenet121/<run id>/, written by the project's
// own code (densenet121RunMain.ts, bundled with esbuild and run with node), and RGB test images made with sharp.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import sharp from 'sharp';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..', '..');

/**
 * Writes the run into `<workspace>/.densenet/runs/densenet121/<run id>` and returns { runId, runDir, ms }.
 */
export async function writeDenseNet121Run(workspace, { runId = '2026-01-01T00-00-00-d121' } = {}) {
  const started = Date.now();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'd121-'));
  try {
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
    const classNames = path.join(ROOT, 'media', 'imagenet-classes.json');
    const runDir = path.join(workspace, '.densenet', 'runs', 'densenet121', runId);
    fs.mkdirSync(runDir, { recursive: true });
    const r = spawnSync(process.execPath, [bundle, runDir, classNames], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (r.status !== 0) throw new Error(`writing the DenseNet-121 run failed (${r.status}): ${r.stderr}\n${r.stdout}`);
    return { runId, runDir, ms: Date.now() - started };
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
