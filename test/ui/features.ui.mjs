// Feature maps panel: train a tiny 3-class MNIST model with the CLI (a checkpoint in .densenet/runs), then
// right-click a digit in the explorer -> "Visualize Feature Maps" -> pick the run, and check what a person sees:
// the input, the top classes, one non-blank canvas per channel of the chosen layer, a Grad-CAM overlay.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

/** Copies `perClass` digits of each of `classes` from mnist/data/train into tiny/data/train and trains 1 epoch. */
function trainTinyModel(workspace, { classes = ['0', '1', '2'], perClass = 20 } = {}) {
  const src = path.join(workspace, 'mnist', 'data', 'train');
  const dir = path.join(workspace, 'tiny');
  for (const c of classes) {
    const files = fs
      .readdirSync(path.join(src, c))
      .filter((f) => f.endsWith('.png'))
      .sort()
      .slice(0, perClass);
    fs.mkdirSync(path.join(dir, 'data', 'train', c), { recursive: true });
    for (const f of files) fs.copyFileSync(path.join(src, c, f), path.join(dir, 'data', 'train', c, f));
  }
  const spec = {
    version: 1,
    name: 'tiny',
    input: { height: 28, width: 28, channels: 1 },
    classes: classes.length,
    // The architecture of the MNIST example (mnist/mnist.densenet.json), with 3 classes.
    model: {
      growthRate: 12,
      blockConfig: [4, 4, 4],
      bnSize: 4,
      compression: 0.5,
      numInitFeatures: 24,
      stem: { kernelSize: 3, stride: 2, pool: 'none', norm: true },
      dropRate: 0,
    },
    data: { train: 'data/train', validation: { split: 0.1 }, normalize: 'auto' },
    training: { epochs: 1, batchSize: 16, optimizer: 'adam', learningRate: 0.003, seed: 1 },
  };
  const specPath = path.join(dir, 'tiny.densenet.json');
  fs.writeFileSync(specPath, JSON.stringify(spec, null, 2));
  const started = Date.now();
  const r = spawnSync(
    process.execPath,
    [path.join(ROOT, 'dist', 'cli.js'), 'train', specPath, '--backend', 'wasm', '--workspace', workspace, '--json'],
    { encoding: 'utf8', timeout: 180_000 },
  );
  if (r.status !== 0) throw new Error(`training the tiny model failed (${r.status}): ${r.stderr}\n${r.stdout}`);
  console.log(`    tiny model trained in ${Date.now() - started} ms`);
  const runs = path.join(workspace, '.densenet', 'runs', 'tiny');
  const runId = fs.readdirSync(runs)[0];
  return { runId, runDir: path.join(runs, runId) };
}

export default async function ({ page, workspace, assert, ui }) {
  const { runId, runDir } = trainTinyModel(workspace);
  assert.ok(fs.existsSync(path.join(runDir, 'checkpoints')), 'the CLI wrote a checkpoint');

  // Explorer: mnist > data > test > 7 > first PNG (the workbench was opened before the run existed: fine).
  const explorer = page.locator('.explorer-folders-view');
  const row = (name) =>
    explorer
      .locator('.monaco-list-row')
      .filter({ hasText: new RegExp(`^\\s*${name.replace(/\./g, '\\.')}\\s*$`) })
      .first();
  for (const folder of ['mnist', 'data', 'test', '7']) {
    const r = row(folder);
    await r.waitFor({ timeout: 20_000 });
    if ((await r.getAttribute('aria-expanded')) !== 'true') await r.click();
  }
  const digitName = fs
    .readdirSync(path.join(workspace, 'mnist', 'data', 'test', '7'))
    .filter((f) => f.endsWith('.png'))
    .sort()[0];
  const digit = row(digitName);
  await digit.waitFor({ timeout: 20_000 });
  await digit.click({ button: 'right' });
  const menu = page.locator('.context-view .monaco-menu');
  await menu.waitFor({ timeout: 10_000 });
  await page.waitForTimeout(400);
  const item = menu.locator('.action-item', { hasText: 'Visualize Feature Maps' }).first();
  await item.hover();
  await item.click();

  // Pick the run.
  const pick = page.locator('.quick-input-widget .monaco-list-row', { hasText: runId }).first();
  await pick.waitFor({ timeout: 30_000 });
  const t0 = Date.now();
  await pick.click();

  // The panel: iframe.webview -> #active-frame.
  const frame = page.frameLocator('iframe.webview').frameLocator('#active-frame');
  const tiles = frame.locator('#gallery canvas');
  await tiles.first().waitFor({ timeout: 60_000 });
  const clickToGallery = Date.now() - t0;
  const channels = Number(await frame.locator('#gallery').getAttribute('data-channels'));
  const layer = await frame.locator('#gallery').getAttribute('data-layer');
  const panelMs = await frame.locator('body').getAttribute('data-gallery-ms');
  console.log(
    `    click-to-gallery: ${clickToGallery} ms measured by the test, ${panelMs} ms by the panel (layer ${layer}, ${channels} channels)`,
  );

  assert.ok(channels > 0, 'the layer has channels');
  assert.equal(await tiles.count(), channels, 'one canvas per channel');
  // Pixel variance inside the frame: most channels of a real digit are not flat.
  const variances = await tiles.evaluateAll((canvases) =>
    canvases.map((c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let s = 0;
      let s2 = 0;
      const n = d.length / 4;
      for (let i = 0; i < d.length; i += 4) {
        const v = d[i] + d[i + 1] + d[i + 2];
        s += v;
        s2 += v * v;
      }
      return s2 / n - (s / n) ** 2;
    }),
  );
  const nonBlank = variances.filter((v) => v > 1).length;
  assert.ok(nonBlank >= Math.ceil(channels / 2), `most channels are non-blank (${nonBlank}/${channels})`);

  // Top classes and the input image.
  const preds = frame.locator('#predictions .pred');
  assert.equal(await preds.count(), 3, 'top classes (3-class model)');

  // Grad-CAM overlay over the image.
  const cam = frame.locator('#gradcam-canvas');
  await frame.locator('#gradcam-info', { hasText: /p=/ }).waitFor({ timeout: 30_000 });
  const camSize = await cam.evaluate((c) => [c.width, c.height]);
  assert.deepEqual(camSize, [28, 28], 'Grad-CAM at the input size');

  // Zoom a channel: value scale.
  await tiles.nth(0).click();
  await frame.locator('#zoom.open').waitFor({ timeout: 5_000 });
  await ui.screenshot(page, 'features-zoom');
  await page.keyboard.press('Escape');

  // Activation maximisation of a class, with live progress, then cancel.
  await frame.locator('#max-kind').selectOption('class');
  // Maximising a class shows the class picker, not the channel number.
  assert.equal(await frame.locator('#max-channel-label').isVisible(), false, 'no channel input for a class');
  assert.equal(await frame.locator('#max-class-label').isVisible(), true, 'the class picker');
  // Timings are in the log and the data attribute only, not in the page's text.
  assert.doesNotMatch(await frame.locator('#gallery-info').textContent(), /ms after/);
  await frame.locator('#max-steps').fill('400');
  await frame.locator('#maximise button', { hasText: 'Start' }).click();
  await frame.locator('#max-info', { hasText: /step \d+\/400/ }).waitFor({ timeout: 30_000 });
  await frame.locator('#maximise button', { hasText: 'Cancel' }).click();
  await frame.locator('#max-info', { hasText: /cancelled after|done,/ }).waitFor({ timeout: 30_000 });

  await ui.screenshot(page, 'features');
}
