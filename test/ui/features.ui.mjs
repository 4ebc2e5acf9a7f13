// Feature maps panel: train a tiny 3-class MNIST model with the CLI (a checkpoint in .densenet/runs), then
// right-click a digit in the explorer -> "Visualize Feature Maps" -> pick the run, and check what a person sees:
// the input, the top classes, one non-blank canvas per channel of the chosen layer, Grad-CAM at the layer chosen
// by resolution (7×7 on a 28×28 digit, and the panel says so), Grad-CAM and a channel overlaid on the input (the
// pixels follow the opacity slider and the colour map; the colour bar names min, max and unit), activation
// maximisation; then "Compare with…" a second run (trained longer, another seed): both sides labelled with their
// run and epoch, different top classes and Grad-CAM, and closing the comparison stops its engine process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

/**
 * Copies `perClass` digits of each of `classes` from mnist/data/train into tiny/data/train and trains `epochs`
 * epochs with `seed`; returns the new run.
 */
function trainTinyModel(workspace, { classes = ['0', '1', '2'], perClass = 20, epochs = 1, seed = 1 } = {}) {
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
    training: { epochs, batchSize: 16, optimizer: 'adam', learningRate: 0.003, seed },
  };
  const specPath = path.join(dir, 'tiny.densenet.json');
  fs.writeFileSync(specPath, JSON.stringify(spec, null, 2));
  const runs = path.join(workspace, '.densenet', 'runs', 'tiny');
  const before = new Set(fs.existsSync(runs) ? fs.readdirSync(runs) : []);
  const started = Date.now();
  const r = spawnSync(
    process.execPath,
    [path.join(ROOT, 'dist', 'cli.js'), 'train', specPath, '--backend', 'wasm', '--workspace', workspace, '--json'],
    { encoding: 'utf8', timeout: 180_000 },
  );
  if (r.status !== 0) throw new Error(`training the tiny model failed (${r.status}): ${r.stderr}\n${r.stdout}`);
  console.log(`    tiny model trained in ${Date.now() - started} ms`);
  const runId = fs.readdirSync(runs).find((id) => !before.has(id));
  return { runId, runDir: path.join(runs, runId) };
}

/** Two training runs, the opening of the workbench and every view: longer than the default. */
export const timeoutSeconds = 420;

/** A canvas's RGBA pixels. */
const pixels = (canvas) =>
  canvas.evaluate((c) => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data));

/** The mean absolute difference of two pixel arrays of the same size. */
function meanDiff(a, b) {
  assert.equal(a.length, b.length, 'same size');
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

/** Moves the overlay opacity slider to `value` % as a person drags it (an input event). */
async function setOpacity(frame, value) {
  await frame.locator('#overlay-opacity').evaluate((el, v) => {
    el.value = String(v);
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, value);
}

/** The engine processes the extension started (its log: "Engine process <pid> started") that still run. */
function liveEngines(stateDir) {
  const pids = new Set();
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.log'))
        for (const m of fs.readFileSync(p, 'utf8').matchAll(/Engine process (\d+) started/g)) pids.add(Number(m[1]));
    }
  };
  const logs = path.join(stateDir, 'user-data', 'logs');
  if (fs.existsSync(logs)) walk(logs);
  return [...pids].filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
}

/** Waits (up to 20 s: the log is written in batches) until `count` engines run; returns them. */
async function waitForEngines(page, stateDir, count) {
  const deadline = Date.now() + 20_000;
  let live = liveEngines(stateDir);
  while (live.length !== count && Date.now() < deadline) {
    await page.waitForTimeout(250);
    live = liveEngines(stateDir);
  }
  return live;
}

/**
 * A map over the input: at opacity 0 it is the input itself; its pixels change with the slider and the colour
 * map; the colour bar shows the map's min and max (min < max) and `unit`.
 */
async function checkOverlay(frame, id, unit) {
  const view = frame.locator(`#${id}`);
  // Drawn at `scale` times the input's size: at opacity 0 each pixel is the input's pixel it covers.
  const scale = Number(await view.getAttribute('data-scale'));
  const inputWidth = await frame.locator('#input-image').evaluate((c) => c.width);
  const input = await pixels(frame.locator('#input-image'));
  const scaledInput = [];
  for (let y = 0; y < (input.length / 4 / inputWidth) * scale; y++)
    for (let x = 0; x < inputWidth * scale; x++) {
      const i = (Math.floor(y / scale) * inputWidth + Math.floor(x / scale)) * 4;
      scaledInput.push(...input.slice(i, i + 4));
    }
  await setOpacity(frame, 0);
  assert.ok(meanDiff(await pixels(view), scaledInput) <= 1, `${id} at opacity 0 is the input`);
  await setOpacity(frame, 30);
  const at30 = await pixels(view);
  await setOpacity(frame, 90);
  const at90 = await pixels(view);
  const moved = meanDiff(at30, at90);
  assert.ok(moved > 5, `${id}: the pixels follow the opacity slider (mean |Δ| ${moved.toFixed(1)} from 30% to 90%)`);
  assert.equal(await view.getAttribute('data-opacity'), '90');
  await frame.locator('#overlay-colormap').selectOption('gray');
  const gray = await pixels(view);
  assert.ok(meanDiff(gray, at90) > 5, `${id}: the colour map changes the pixels`);
  await frame.locator('#overlay-colormap').selectOption('jet');
  const legend = frame.locator(`#${id}-legend`);
  assert.equal(await legend.isVisible(), true, `${id}: a colour bar`);
  const min = Number(await legend.locator('.overlay-min').textContent());
  const max = Number(await legend.locator('.overlay-max').textContent());
  assert.ok(Number.isFinite(min) && Number.isFinite(max) && min < max, `${id}: colour bar from ${min} to ${max}`);
  assert.equal((await legend.locator('.overlay-unit').textContent()).trim(), unit);
  console.log(`    ${id}: opacity 30→90 % moves pixels by ${moved.toFixed(1)}; colour bar ${min} … ${max} (${unit})`);
  return { min, max };
}

export default async function ({ page, workspace, server, ui }) {
  const { runId, runDir } = trainTinyModel(workspace);
  assert.ok(fs.existsSync(path.join(runDir, 'checkpoints')), 'the CLI wrote a checkpoint');
  const second = trainTinyModel(workspace, { epochs: 2, seed: 7 });
  assert.notEqual(second.runId, runId, 'a second run');

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
  // Over the 28×28 input drawn 8 times larger: the map is interpolated at every screen pixel.
  assert.deepEqual(camSize, [224, 224], 'Grad-CAM over the input, 8× its size');
  assert.equal(await cam.getAttribute('data-scale'), '8');

  // The default Grad-CAM layer: the deepest block output at >= max(7, 28/16) = 7 cells a side, and the panel says
  // which and why; Grad-CAM was computed there (a 7×7 map upsampled to 28×28).
  const camDefault = frame.locator('#gradcam-default');
  assert.equal(await camDefault.getAttribute('data-layer'), 'conv3_block4_concat');
  assert.equal(await camDefault.getAttribute('data-size'), '7x7');
  assert.match(await camDefault.textContent(), /^Grad-CAM at conv3_block4_concat \(7×7\): the deepest block output/);
  assert.equal(await cam.getAttribute('data-map-size'), '7x7');
  assert.equal(await cam.getAttribute('data-overlay'), 'gradcam');
  await checkOverlay(frame, 'gradcam-canvas', 'Grad-CAM relevance');

  // Zoom a channel (value scale), then overlay it on the input: the most varied channel of the gallery.
  const channel = variances.indexOf(Math.max(...variances));
  await tiles.nth(channel).click();
  await frame.locator('#zoom.open').waitFor({ timeout: 5_000 });
  await ui.screenshot(page, 'features-zoom');
  await frame.locator('#zoom-overlay').click();
  const overlay = frame.locator('#overlay-canvas');
  await frame.locator('#overlay-canvas[data-overlay="channel"][data-channel]').waitFor({ timeout: 5_000 });
  assert.deepEqual(await overlay.evaluate((c) => [c.width, c.height]), [224, 224], 'the channel over the input');
  assert.equal(await overlay.getAttribute('data-channel'), String(channel));
  assert.equal(await overlay.getAttribute('data-layer'), layer);
  await checkOverlay(frame, 'overlay-canvas', 'activation value');
  await setOpacity(frame, 60);
  await ui.screenshot(page, 'features-overlay');

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

  // Compare with the second run: both sides labelled with run and epoch, their own top classes and Grad-CAM at
  // the same layer and class; the second model lives in its own engine process, stopped when compare closes.
  const enginesBefore = await waitForEngines(page, server.stateDir, 1);
  assert.equal(enginesBefore.length, 1, `one inspection engine before comparing (${enginesBefore})`);
  await frame.locator('#compare-with').click();
  const pickB = page.locator('.quick-input-widget .monaco-list-row', { hasText: second.runId }).first();
  await pickB.waitFor({ timeout: 30_000 });
  await pickB.click();
  const compare = frame.locator('#compare');
  await compare.waitFor({ state: 'visible', timeout: 30_000 });
  const sideA = compare.locator('[data-side="a"]');
  const sideB = compare.locator('[data-side="b"]');
  await sideB.locator('.side-preds .pred').first().waitFor({ timeout: 60_000 });
  const camA = sideA.locator('canvas[data-overlay="gradcam"]');
  const camB = sideB.locator('canvas[data-overlay="gradcam"]');
  for (const s of [sideA, sideB])
    await s.locator('canvas[data-overlay="gradcam"][data-map-size]').waitFor({ timeout: 60_000 });
  const labelA = await sideA.locator('.side-label').textContent();
  const labelB = await sideB.locator('.side-label').textContent();
  assert.match(labelA, new RegExp(`^A: tiny / ${runId} · epoch 1 \\((best|latest)\\)$`));
  assert.match(labelB, new RegExp(`^B: tiny / ${second.runId} · epoch \\d \\((best|latest)\\)$`));
  const predsA = await sideA.locator('.side-preds').textContent();
  const predsB = await sideB.locator('.side-preds').textContent();
  assert.notEqual(predsA, predsB, 'the two checkpoints predict differently');
  assert.equal(await camA.getAttribute('data-layer'), 'conv3_block4_concat', 'the same Grad-CAM layer on both sides');
  assert.equal(await camB.getAttribute('data-layer'), 'conv3_block4_concat');
  assert.equal(await camA.getAttribute('data-class-index'), await camB.getAttribute('data-class-index'), 'same class');
  const camDiff = meanDiff(await pixels(camA), await pixels(camB));
  assert.ok(camDiff > 1, `different Grad-CAM (mean |Δ| ${camDiff.toFixed(1)})`);
  await sideB.locator(`.side-gallery[data-layer="${layer}"] canvas`).first().waitFor({ timeout: 30_000 });
  assert.ok((await sideA.locator('.side-gallery canvas').count()) > 0, 'side A gallery');
  const enginesOpen = await waitForEngines(page, server.stateDir, 2);
  console.log(
    `    compare: A "${labelA}", B "${labelB}"; Grad-CAM differs by ${camDiff.toFixed(1)}; engine pids ${enginesBefore} -> ${enginesOpen}`,
  );
  assert.equal(enginesOpen.length, 2, 'the second checkpoint in its own engine process');
  await ui.screenshot(page, 'features-compare');

  await compare.locator('button', { hasText: 'Close compare' }).click();
  await compare.waitFor({ state: 'hidden', timeout: 10_000 });
  const enginesClosed = await waitForEngines(page, server.stateDir, 1);
  assert.deepEqual(enginesClosed, enginesBefore, 'closing the comparison stops its engine process');
}
