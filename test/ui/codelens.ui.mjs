// Open the example spec in the real VS Code and see what a person sees: the model and block code lenses,
// the status bar item, a hover on growthRate; then break the spec and see the diagnostic squiggle.
export default async function ({ page, assert, ui }) {
  await ui.openFile(page, 'cifar/densenet-bc-100.densenet.json');

  const lens = page.locator('.codelens-decoration', { hasText: '0.77M params · 300.9 MMACs' });
  await lens.first().waitFor({ timeout: 30_000 });
  // The model lens line: Train first, then the short figures, Summary and Architecture.
  const modelLine = (await lens.first().innerText()).replace(/\s+/g, ' ').trim();
  assert.match(modelLine, /^\S* ?Train \| 0\.77M params · 300\.9 MMACs \| Summary \| Architecture$/, modelLine);
  const blockLens = page.locator('.codelens-decoration', { hasText: 'block 2: 16 layers · 16x16 · 108→300 ch' });
  await blockLens.first().waitFor({ timeout: 10_000 });
  // Every lens line fits in the editor: none is wider than the editor's text area.
  const editorWidth = await page
    .locator('.monaco-editor .view-lines')
    .first()
    .evaluate((e) => e.clientWidth);
  const widths = await page.locator('.codelens-decoration').evaluateAll((els) => els.map((e) => e.scrollWidth));
  assert.ok(Math.max(...widths) < editorWidth, `lens widths ${widths.join(', ')} within ${editorWidth}`);

  const status = page.locator('.statusbar-item', { hasText: '0.77M params' });
  await status.first().waitFor({ timeout: 10_000 });

  // Hover growthRate: the hover explains k in terms of the blocks.
  await page.locator('.view-line span', { hasText: '"growthRate"' }).first().hover();
  const hover = page.locator('.monaco-hover', { hasText: 'each layer adds k=12 feature maps' });
  await hover.first().waitFor({ timeout: 10_000 });
  assert.match(await hover.first().innerText(), /block 1 ends with 24\+16x12=216 channels/);
  await ui.screenshot(page, 'codelens-and-hover');
  await page.keyboard.press('Escape');

  // Click the block lens: the summary opens beside, at that block.
  await blockLens.first().locator('a', { hasText: 'block 2' }).click();
  await page.locator('.tab', { hasText: 'densenet-bc-100 summary.txt' }).first().waitFor({ timeout: 10_000 });
  await page.locator('.view-line', { hasText: 'dense block 2 (conv3)' }).first().waitFor({ timeout: 10_000 });
}
