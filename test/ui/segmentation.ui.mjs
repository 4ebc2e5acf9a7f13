// Segmentation from the real VS Code: a reduced copy of the M2NIST example (the same FC-DenseNet spec, 400 of its
// training and 50 of its test images with their masks) trained from its Train code lens; the dashboard shows the
// validation's confusion of pixels and IoU per class; Evaluate on the test data shows them for the test images;
// right-click a test image -> Visualize Feature Maps with the run: the predicted mask over the input (following the
// opacity slider), its legend with each class's share, a probability map per class; a click on a class shows it alone
// with its Grad-CAM.
import fs from 'node:fs';
import path from 'node:path';
import {
  copyFiles,
  distinctColours,
  evaluateOnTest,
  frameWith,
  openFeatureMaps,
  trainFromLens,
  writeSpec,
} from './support/taskRun.mjs';

export const timeoutSeconds = 300;

const TRAIN = 400;
const TEST = 50;
const CLASSES = ['background', ...'0123456789'];
const COLOURS = ['#000000', '#e6194b', '#3cb44b', '#ffe119', '#4363d8', '#f58231', '#911eb4'];

/** The first `n` images of the example's split with their masks, copied into `<folder>/data/<split>`. */
function copySplit(workspace, folder, split, n) {
  const from = path.join(workspace, 'm2nist', 'data', split);
  const names = fs
    .readdirSync(path.join(from, 'images'))
    .filter((f) => f.endsWith('.png'))
    .sort()
    .slice(0, n);
  const to = path.join(workspace, folder, 'data', split);
  copyFiles(from, to, [...names.map((f) => `images/${f}`), ...names.map((f) => `masks/${f}`)]);
  return names;
}

export default async function ({ page, workspace, assert, ui }) {
  copySplit(workspace, 'seg', 'train', TRAIN);
  const test = copySplit(workspace, 'seg', 'test', TEST);
  const spec = {
    version: 1,
    name: 'seg-small',
    task: 'segmentation',
    input: { height: 64, width: 64, channels: 1 },
    classes: 11,
    // The example's FC-DenseNet (m2nist/m2nist.densenet.json).
    model: {
      growthRate: 8,
      blockConfig: [2, 3, 4],
      bottleneckLayers: 4,
      upBlockConfig: [4, 3, 2],
      numInitFeatures: 16,
      stem: { kernelSize: 3, stride: 1, pool: 'none', norm: false },
      dropRate: 0,
    },
    data: {
      train: { images: 'data/train/images', masks: 'data/train/masks' },
      validation: { split: 0.1 },
      test: { images: 'data/test/images', masks: 'data/test/masks' },
      normalize: 'auto',
      classList: CLASSES.map((name, i) => ({ name, color: COLOURS[i % COLOURS.length] })),
    },
    training: { epochs: 2, batchSize: 32, optimizer: 'adam', learningRate: 0.003, seed: 42 },
  };
  const specRel = writeSpec(workspace, 'seg', spec);

  // Train from the lens: the dashboard's validation is a confusion of pixels and the IoU per class.
  const { dashboard, runId, finished } = await trainFromLens(page, ui, workspace, specRel, 'seg-small', 2);
  // The best checkpoint is chosen by the task's figure, and the finish message names it.
  assert.match(finished, /Best val mean IoU [\d.]+%/);
  assert.equal(await dashboard.locator('#acc-title').textContent(), 'Pixel accuracy');
  assert.match(
    await dashboard.locator('#confusion-title').textContent(),
    /^Validation after epoch 2: mean IoU [\d.]+%, pixel accuracy [\d.]+%$/,
  );
  assert.match(await dashboard.locator('[data-stat="val mean IoU"]').textContent(), /^val mean IoU [\d.]+%$/);
  assert.equal(await dashboard.locator('#confusion table.confusion').getAttribute('data-classes'), '11');
  const iou = dashboard.locator('#per-class table.per-class-iou');
  assert.deepEqual(await iou.locator('tbody tr:not(.mean) th').allTextContents(), CLASSES, 'an IoU row per class');
  await ui.screenshot(page, 'segmentation-dashboard');

  // Evaluate on the test data: every labelled pixel of the 50 test masks is counted once.
  const { evaluation, notification } = await evaluateOnTest(page, dashboard);
  assert.match(notification, /mean IoU/);
  const heading = await evaluation.locator('h3').textContent();
  assert.match(
    heading,
    /^Evaluate on test \(checkpoints\/best, epoch \d\): mean IoU [\d.]+%, pixel accuracy [\d.]+%, loss [\d.]+ on 50 images$/,
  );
  const pixels = (await evaluation.locator('table.confusion tbody td').allTextContents()).map(Number);
  assert.equal(
    pixels.reduce((a, b) => a + b, 0),
    TEST * 64 * 64,
    'the confusion counts every test pixel',
  );
  const pixelAccuracy = Number(/pixel accuracy ([\d.]+)%/.exec(heading)[1]);
  // Background is ~85% of the pixels: a model that learned anything beats it.
  assert.ok(pixelAccuracy > 85, `pixel accuracy ${pixelAccuracy}% after 2 epochs on ${TRAIN} images`);
  console.log(`    ${heading}`);
  await ui.screenshot(page, 'segmentation-evaluate');

  // The feature maps panel of a test image: the mask over the input, the legend, the class maps.
  const frame = await openFeatureMaps(page, ['seg', 'data', 'test', 'images'], test[0], runId);
  const section = frame.locator('#segmentation');
  await section.waitFor({ state: 'visible', timeout: 30_000 });
  const overlay = frame.locator('#segmentation canvas#mask-overlay');
  assert.deepEqual(await overlay.evaluate((c) => [c.width, c.height]), [64, 64], 'the mask at the input size');
  const legend = frame.locator('#mask-legend .legend-item');
  assert.equal(await legend.count(), 11, 'a legend item per class');
  const shares = (await legend.locator('.pct').allTextContents()).map((t) => Number(t.replace('%', '')));
  const total = shares.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(total - 100) < 0.6, `the shares of the pixels sum to 100% (${total.toFixed(1)})`);
  assert.equal(await frame.locator('#class-maps canvas.class-map').count(), 11, 'a probability map per class');
  assert.ok((await distinctColours(frame.locator('#class-maps canvas.class-map').first())) > 2, 'a drawn map');

  // The opacity slider moves the overlay's pixels.
  const before = await overlay.evaluate((c) => c.toDataURL());
  await frame.locator('#mask-opacity').evaluate((el) => {
    el.value = '10';
    el.dispatchEvent(new Event('input', { bubbles: true }));
  });
  assert.notEqual(await overlay.evaluate((c) => c.toDataURL()), before, 'the overlay follows the opacity');
  await ui.screenshot(page, 'segmentation-feature-maps');

  // A click on a digit class: that class alone over the input, and its Grad-CAM.
  const digit = shares.slice(1).indexOf(Math.max(...shares.slice(1))) + 1;
  const all = frame.locator('#mask-overlay');
  const allPixels = await all.evaluate((c) => c.toDataURL());
  await legend.nth(digit).click();
  await frame.locator(`#mask-overlay[data-only="${digit}"]`).waitFor({ timeout: 10_000 });
  assert.notEqual(await all.evaluate((c) => c.toDataURL()), allPixels, 'one class alone is drawn differently');
  await frame.locator(`#gradcam-canvas[data-class-index="${digit}"]`).waitFor({ timeout: 60_000 });
  const cam = frame.locator('#gradcam-canvas');
  assert.ok((await distinctColours(cam)) > 10, `the Grad-CAM of class ${CLASSES[digit]} is drawn`);
  console.log(`    ${test[0]}: shares ${shares.join(' ')}; Grad-CAM of ${CLASSES[digit]}`);
  await frameWith(page, '#gallery canvas');
  await ui.screenshot(page, 'segmentation-gradcam');
}
