// DenseNet: New Model Spec... through its quick picks with the keyboard, as a person would: preset, data
// (analysis only), input size, classes, where to write, file name; the spec opens with its lenses and the
// information that it has no data.
import { quickInput } from './support/quickInput.mjs';

export default async function ({ page, assert, ui }) {
  await ui.runCommand(page, 'DenseNet: New Model Spec...');
  const { row, answer } = quickInput(page);

  await row('densenet-40-k12').waitFor({ timeout: 15_000 });
  await answer('preset', 'densenet-40-k12');
  await row('Analysis only').waitFor({ timeout: 10_000 });
  assert.ok(await row('Choose a folder').isVisible(), 'the data can come from a folder');
  await answer('data', 'Analysis only');
  await answer('input size', '28x28x1');
  await answer('classes', '10');
  await row('write here').waitFor({ timeout: 10_000 });
  await answer('where to write it');
  await answer('file name');

  await page
    .locator('.tabs-container .tab.active[data-resource-name="densenet-40-k12.densenet.json"]')
    .waitFor({ timeout: 15_000 });
  // The model lens (Train first, then the figures) of the 28x28x1 DenseNet-40 the wizard wrote.
  const lens = page.locator('.codelens-decoration', { hasText: /1\.0\dM params · / });
  await lens.first().waitFor({ timeout: 20_000 });
  assert.match(await lens.first().innerText(), /Train[\s\S]*1\.0\dM params/);
  await ui.screenshot(page, 'new-spec');
}
