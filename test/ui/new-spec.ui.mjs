// DenseNet: New Model Spec... through its quick picks, as a person would: preset, input size, classes.
export default async function ({ page, assert, ui }) {
  await ui.runCommand(page, 'DenseNet: New Model Spec...');
  const input = page.locator('.quick-input-widget input');
  const row = (text) => page.locator('.quick-input-widget .monaco-list-row', { hasText: text }).first();

  await row('densenet-40-k12').waitFor({ timeout: 15_000 });
  await input.fill('densenet-40-k12');
  await row('densenet-40-k12').click();

  await page.locator('.quick-input-widget', { hasText: 'input size' }).waitFor({ timeout: 10_000 });
  await row('28x28x1').click();

  await page.locator('.quick-input-widget', { hasText: 'classes' }).waitFor({ timeout: 10_000 });
  await input.fill('10');
  await page.keyboard.press('Enter');

  await page
    .locator('.tabs-container .tab.active[data-resource-name="densenet-40-k12.densenet.json"]')
    .waitFor({ timeout: 15_000 });
  const lens = page.locator('.codelens-decoration', { hasText: '28x28x1 -> 10' });
  await lens.first().waitFor({ timeout: 20_000 });
  assert.match(await lens.first().innerText(), /1\.0\dM params/);
  await ui.screenshot(page, 'new-spec');
}
