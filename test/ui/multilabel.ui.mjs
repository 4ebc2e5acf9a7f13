// Multi-label from the real VS Code: a reduced copy of the multi-MNIST example (the same spec, 600 of its training and
// 100 of its test images with their CSV of labels) trained from its Train code lens; the dashboard shows the
// validation per label (AUROC, AP, threshold, F1); Evaluate on the test data shows them for the test images; right-click
// a test image -> Visualize Feature Maps with the run: every label against its threshold, those over it ticked, and a
// click on a label shows that label's Grad-CAM.
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

const TRAIN = 600;
const TEST = 100;

/** The first `n` rows of the example's CSV `split` copied with their images into `<folder>/data`. */
function copySplit(workspace, folder, split, n) {
  const from = path.join(workspace, 'multi-mnist', 'data');
  const [header, ...rows] = fs
    .readFileSync(path.join(from, `${split}.csv`), 'utf8')
    .trim()
    .split('\n');
  const kept = rows.slice(0, n);
  const to = path.join(workspace, folder, 'data');
  copyFiles(
    from,
    to,
    kept.map((r) => r.split(',')[0]),
  );
  fs.writeFileSync(path.join(to, `${split}.csv`), `${[header, ...kept].join('\n')}\n`);
  return kept.map((r) => ({ image: r.split(',')[0], labels: r.split(',')[1].split('|') }));
}

export default async function ({ page, workspace, assert, ui }) {
  copySplit(workspace, 'ml', 'train', TRAIN);
  const test = copySplit(workspace, 'ml', 'test', TEST);
  const spec = {
    version: 1,
    name: 'ml-small',
    task: 'multilabel',
    input: { height: 48, width: 48, channels: 1 },
    classes: 10,
    // The example's model (multi-mnist/multi-mnist.densenet.json).
    model: {
      growthRate: 12,
      blockConfig: [4, 4, 4],
      bnSize: 4,
      compression: 0.5,
      numInitFeatures: 24,
      stem: { kernelSize: 3, stride: 2, pool: 'none', norm: true },
      dropRate: 0,
    },
    data: { train: 'data/train.csv', validation: { split: 0.1 }, test: 'data/test.csv', normalize: 'auto' },
    training: { epochs: 2, batchSize: 32, optimizer: 'adam', learningRate: 0.003, seed: 42 },
  };
  const specRel = writeSpec(workspace, 'ml', spec);

  // Train from the lens: the dashboard's validation is per label.
  const { dashboard, runId, finished } = await trainFromLens(page, ui, workspace, specRel, 'ml-small', 2);
  // The best checkpoint is chosen by the task's figure, and the finish message names it.
  assert.match(finished, /Best val mean AUROC \d\.\d{4}/);
  assert.equal(await dashboard.locator('#acc-title').textContent(), 'Accuracy (label decisions at 0.5)');
  const validationTitle = await dashboard.locator('#confusion-title').textContent();
  assert.match(validationTitle, /^Validation after epoch 2: mean AUROC \d\.\d{3}, mean F1 [\d.]+%/);
  // The header's validation figure is the mean AUROC, not the accuracy of the label decisions.
  assert.match(await dashboard.locator('[data-stat="val mean AUROC"]').textContent(), /^val mean AUROC \d\.\d{3}$/);
  assert.equal(await dashboard.locator('[data-stat="val acc"]').count(), 0);
  const perLabel = dashboard.locator('#confusion table.per-label');
  assert.equal(await perLabel.locator('tbody tr:not(.mean)').count(), 10, 'a row per label');
  const labels = await perLabel.locator('tbody tr:not(.mean) th').allTextContents();
  assert.deepEqual(labels, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  await ui.screenshot(page, 'multilabel-dashboard');

  // Evaluate on the test data: the per-label table of the 100 test images.
  const { evaluation, notification } = await evaluateOnTest(page, dashboard);
  assert.match(notification, /mean AUROC/);
  const heading = await evaluation.locator('h3').textContent();
  assert.match(
    heading,
    /^Evaluate on test \(checkpoints\/best, epoch \d\): mean AUROC \d\.\d{3}, mean F1 [\d.]+%, label decisions right at 0\.5 [\d.]+%, loss [\d.]+ on 100 images$/,
  );
  const meanAuroc = Number(/mean AUROC (\d\.\d{3})/.exec(heading)[1]);
  assert.ok(meanAuroc > 0.5, `better than chance after 2 epochs on ${TRAIN} images (mean AUROC ${meanAuroc})`);
  const testRows = evaluation.locator('table.per-label tbody tr:not(.mean)');
  assert.equal(await testRows.count(), 10);
  // The positives column counts each label's test images.
  const positives = (
    await evaluation.locator('table.per-label tbody tr:not(.mean) td:last-child').allTextContents()
  ).map(Number);
  const expected = labels.map((l) => test.filter((t) => t.labels.includes(l)).length);
  assert.deepEqual(positives, expected, 'positives per label as in the test CSV');
  console.log(`    ${heading}`);
  await ui.screenshot(page, 'multilabel-evaluate');

  // The feature maps panel of a test image: a row per label against its threshold.
  const [folder, file] = test[0].image.split('/').slice(-2);
  const frame = await openFeatureMaps(page, ['ml', 'data', 'test', folder], file, runId);
  const preds = frame.locator('#predictions .pred');
  await preds.first().waitFor({ timeout: 30_000 });
  assert.equal(await preds.count(), 10, 'every label is listed');
  const present = await frame.locator('#predictions .pred.present').count();
  const ticked = (await frame.locator('#predictions .pred .name').allTextContents()).filter((n) => n.startsWith('✓'));
  assert.equal(ticked.length, present, 'the labels over their threshold are ticked');
  assert.equal(await frame.locator('#predictions .pred .threshold').count(), 10, 'each bar marks its threshold');
  console.log(`    ${file} (labels ${test[0].labels.join('|')}): over the threshold ${ticked.join(' ') || 'none'}`);

  // A click on a label: its Grad-CAM.
  const cam = frame.locator('#gradcam-canvas');
  await frame.locator('#gradcam-canvas[data-class-index]').waitFor({ timeout: 60_000 });
  const first = await cam.getAttribute('data-class-index');
  const other = (await preds.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-class')))).find(
    (c) => c !== first,
  );
  await frame.locator(`#predictions .pred[data-class="${other}"]`).click();
  await frame.locator(`#gradcam-canvas[data-class-index="${other}"]`).waitFor({ timeout: 60_000 });
  assert.ok((await distinctColours(cam)) > 10, 'the Grad-CAM of the clicked label is drawn');
  await ui.screenshot(page, 'multilabel-gradcam');
  await frameWith(page, '#gallery canvas');
  await ui.screenshot(page, 'multilabel-feature-maps');
}
