// DenseNet: New Model Spec... for segmentation through its quick picks, as a person would: the FC-DenseNet-56 preset,
// the M2NIST example's data folder typed in the folder dialog (its images/ and masks/ in train/ and test/ are
// detected), the input size the data suggests, the classes asked with what a mask's values mean; the spec written
// says its task, points at the images and masks, and validates (its lenses show the figures).
import { quickInput } from './support/quickInput.mjs';
import fs from 'node:fs';
import path from 'node:path';

export default async function ({ page, workspace, assert, ui }) {
  await ui.runCommand(page, 'DenseNet: New Model Spec...');
  const { widget, input, row, answer } = quickInput(page);

  // The FC-DenseNets come after the classifiers: typed, as a person would, to filter the list.
  await widget('preset').waitFor({ timeout: 15_000 });
  await input.fill('fc-densenet56');
  await row('fc-densenet56').waitFor({ timeout: 15_000 });
  await answer('preset');
  await row('Choose a folder').waitFor({ timeout: 10_000 });
  assert.match(await row('Choose a folder').innerText(), /images\/ and masks\/ folders/);
  await answer('data', 'Choose a folder');
  // The folder dialog of the web workbench is a quick input that takes a path. It fills in its starting folder
  // once it has listed it: the path is typed after that, and again if the dialog overwrote it.
  const data = path.join(workspace, 'm2nist', 'data');
  await widget('The data folder').waitFor({ timeout: 15_000 });
  await page.waitForFunction(() => document.querySelector('.quick-input-widget input')?.value.endsWith('/'), null, {
    timeout: 15_000,
  });
  for (let tries = 0; ; tries++) {
    await input.fill(`${data}/`);
    try {
      await row('train').waitFor({ timeout: 5_000 }); // the listing of data/: train, test
      if ((await input.inputValue()) === `${data}/`) break;
    } catch (err) {
      if (tries >= 3) throw err;
    }
  }
  await page.locator('.quick-input-widget .monaco-button', { hasText: 'Use This Data' }).click();
  await page
    .locator('.notification-list-item', { hasText: 'Data: images with masks (segmentation) in train/images' })
    .first()
    .waitFor({ timeout: 15_000 });

  await row('from the data').waitFor({ timeout: 15_000 });
  assert.match(await row('from the data').innerText(), /64x64x1/);
  await answer('input size');
  await widget('background included').waitFor({ timeout: 10_000 });
  await answer('classes', '11');
  await row('write here').waitFor({ timeout: 10_000 });
  await answer('where to write it');
  await answer('file name', 'digits-seg');

  await page
    .locator('.tabs-container .tab.active[data-resource-name="digits-seg.densenet.json"]')
    .waitFor({ timeout: 15_000 });
  const written = path.join(workspace, 'm2nist', 'digits-seg.densenet.json');
  const spec = JSON.parse(fs.readFileSync(written, 'utf8').replace(/^\s*\/\/.*$/gm, ''));
  assert.deepStrictEqual(
    [spec.task, spec.classes, spec.input, spec.data.train, spec.data.test],
    [
      'segmentation',
      11,
      { height: 64, width: 64, channels: 1 },
      { images: 'data/train/images', masks: 'data/train/masks' },
      { images: 'data/test/images', masks: 'data/test/masks' },
    ],
  );
  // Valid: the model lens shows the FC-DenseNet-56's figures (1.37M trainable parameters at 64x64x1, 11 classes).
  const lens = page.locator('.codelens-decoration', { hasText: /1\.37M params · 743\.9 MMACs/ });
  await lens.first().waitFor({ timeout: 20_000 });
  assert.strictEqual(await page.locator('.codelens-decoration', { hasText: /error/ }).count(), 0);
  assert.match(fs.readFileSync(written, 'utf8'), /"input": \{ "height": 64, "width": 64, "channels": 1 \}/);
  await ui.screenshot(page, 'new-spec-segmentation');
}
