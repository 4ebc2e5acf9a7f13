// Open the example spec in the real VS Code and see what a person sees: the model and block code lenses,
// the status bar item, a hover on growthRate; then the summary beside the spec, and the lenses still fit
// in the half-width editor (for DenseNet-BC-100 and for DenseNet-121 from its preset).

/** Every code lens line of the first editor group ends inside its text area (left of the minimap). */
async function lensesFit(page, assert, what) {
  const group = page.locator('.editor-group-container').first();
  const report = await group.evaluate((g) => {
    const editor = g.querySelector('.monaco-editor');
    const minimap = g.querySelector('.minimap');
    const right = Math.min(
      editor.getBoundingClientRect().right,
      minimap && minimap.getBoundingClientRect().width > 0 ? minimap.getBoundingClientRect().left : Infinity,
    );
    return Array.from(g.querySelectorAll('.codelens-decoration')).map((d) => {
      const links = Array.from(d.querySelectorAll('a'));
      const end = Math.max(...links.map((a) => a.getBoundingClientRect().right));
      return { text: d.textContent.replace(/\s+/g, ' ').trim(), end: Math.round(end), right: Math.round(right) };
    });
  });
  assert.ok(report.length > 0, `${what}: code lenses shown`);
  for (const r of report)
    assert.ok(r.end <= r.right, `${what}: "${r.text}" ends at ${r.end} px, the text area at ${r.right} px`);
  return report;
}

export default async function ({ page, assert, ui }) {
  await ui.openFile(page, 'cifar/densenet-bc-100.densenet.json');

  const lens = page.locator('.codelens-decoration', { hasText: '0.77M params · 300.9 MMACs' });
  await lens.first().waitFor({ timeout: 30_000 });
  // The model lens line: Train first, then the short figures (a click opens the summary) and Architecture.
  const modelLine = (await lens.first().innerText()).replace(/\s+/g, ' ').trim();
  assert.match(modelLine, /^\S* ?Train \| 0\.77M params · 300\.9 MMACs \| Architecture$/, modelLine);
  // blockConfig [16, 16, 16] is on one line: one lens for its three blocks.
  const blockLens = page.locator('.codelens-decoration', {
    hasText: 'blocks 1–3: 16·16·16 layers · 32x32→8x8 · 24→342 ch',
  });
  await blockLens.first().waitFor({ timeout: 10_000 });

  const status = page.locator('.statusbar-item', { hasText: '0.77M params' });
  await status.first().waitFor({ timeout: 10_000 });

  // Hover growthRate: the hover explains k in terms of the blocks.
  await page.locator('.view-line span', { hasText: '"growthRate"' }).first().hover();
  const hover = page.locator('.monaco-hover', { hasText: 'each layer adds k=12 feature maps' });
  await hover.first().waitFor({ timeout: 10_000 });
  assert.match(await hover.first().innerText(), /block 1 ends with 24\+16x12=216 channels/);
  await ui.screenshot(page, 'codelens-and-hover');
  await page.keyboard.press('Escape');

  // Click the block lens: the summary opens beside, at the first of its blocks.
  await blockLens.first().locator('a', { hasText: 'blocks 1–3' }).click();
  await page.locator('.tab', { hasText: 'Summary: densenet-bc-100' }).first().waitFor({ timeout: 10_000 });
  const summary = page.frameLocator('iframe.webview').first().frameLocator('#active-frame');
  await summary.locator('#table[data-focus="conv2"]').waitFor({ timeout: 20_000 });
  await summary.locator('tr.group-head[data-name="conv2"]', { hasText: 'dense block 1 (conv2)' }).waitFor();

  // With the summary beside, the spec has half the width: Train and every lens line still fit.
  await lensesFit(page, assert, 'DenseNet-BC-100 beside its summary');

  // DenseNet-121 (preset and its blockConfig on one line) in the same half-width group.
  await page.keyboard.press('Control+1');
  await ui.openFile(page, 'imagenet/densenet121.densenet.json');
  const group = page.locator('.editor-group-container').first();
  await group
    .locator('.codelens-decoration', { hasText: '7.98M params · 2.88 GMACs' })
    .first()
    .waitFor({ timeout: 30_000 });
  await group
    .locator('.codelens-decoration', { hasText: 'blocks 1–4: 6·12·24·16 layers · 56x56→7x7 · 64→1024 ch' })
    .first()
    .waitFor({ timeout: 10_000 });
  const fit = await lensesFit(page, assert, 'DenseNet-121 beside a summary');
  assert.match(fit.map((r) => r.text).join(' / '), /^\S* ?Train \| 7\.98M params · 2\.88 GMACs \| Architecture/);
  await ui.screenshot(page, 'codelens');
}
