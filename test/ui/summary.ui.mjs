// The model summary of DenseNet-121 in the real VS Code: `DenseNet: Show Model Summary` opens a table beside the
// spec with every column inside the panel's width (Layer, Output shape, Param #, Mult-Adds, activations, Connected
// to), Keras' totals, a concatenation "Connected to" both its inputs; sorts by Param # both ways, filters by name,
// folds a block, copies the Keras-style text, reveals a row's spec text, and follows an edit of the spec (a broken
// spec is reported above the last good table).

const webview = (page) => page.frameLocator('iframe.webview').first().frameLocator('#active-frame');
// 429 rows built in one pass: 91 ms measured on 2 cores, 671 ms under a load of 16; the budget allows for that.
const RENDER_BUDGET_MS = 1500;

/** Param # of the visible layer rows, in table order. */
const visibleParams = (view) =>
  view
    .locator('#rows tr.layer')
    .evaluateAll((trs) => trs.filter((tr) => !tr.hidden).map((tr) => Number(tr.children[2].dataset.value)));

export default async function ({ page, assert, ui }) {
  await ui.openFile(page, 'imagenet/densenet121.densenet.json');
  await page.locator('.codelens-decoration', { hasText: 'Architecture' }).first().waitFor({ timeout: 30_000 });
  await ui.runCommand(page, 'DenseNet: Show Model Summary');
  await page.locator('.tab', { hasText: 'Summary: densenet121' }).first().waitFor({ timeout: 10_000 });
  const view = webview(page);
  const table = view.locator('#table');
  await view.locator('#table[data-rows="429"]').waitFor({ timeout: 30_000 });
  const renderMs = Number(await table.getAttribute('data-render-ms'));
  console.log(`    DenseNet-121 summary: 429 rows rendered in ${renderMs} ms`);
  assert.ok(renderMs < RENDER_BUDGET_MS, `rendered in ${renderMs} ms`);

  // Every column inside the panel: no horizontal overflow, each header and the widest figures fully shown.
  const wrap = view.locator('#wrap');
  const box = await wrap.boundingBox();
  assert.ok(box.width < 900, `the panel is beside the spec (${box.width} px)`);
  const overflow = await wrap.evaluate((w) => w.scrollWidth - w.clientWidth);
  assert.ok(overflow <= 0, `the table overflows by ${overflow} px`);
  const heads = await view.locator('#head th').allTextContents();
  assert.deepStrictEqual(
    heads.map((h) => h.trim()),
    ['Layer (type)', 'Output shape', 'Param #', 'Mult-Adds', 'Memory', 'Connected to'],
  );
  for (const th of await view.locator('#head th').all()) {
    const b = await th.boundingBox();
    assert.ok(b.x >= box.x - 1 && b.x + b.width <= box.x + box.width + 1, `${await th.textContent()} is in view`);
    const cut = await th.evaluate((e) => e.scrollWidth > e.clientWidth + 1);
    assert.ok(!cut, `header ${await th.textContent()} is not cut`);
  }
  const predictions = view.locator('tr.layer[data-name="predictions"]');
  assert.strictEqual((await predictions.locator('td').nth(2).textContent()).trim(), '1,025,000');
  const cutCells = await view
    .locator('#rows tr.layer td.num, #rows tr.layer td.shape')
    .evaluateAll((tds) => tds.filter((td) => td.scrollWidth > td.clientWidth + 1).map((td) => td.textContent));
  assert.deepStrictEqual(cutCells, [], 'no number is cut off');

  // Keras' totals and a concatenation's inputs.
  assert.strictEqual(await view.locator('#total-params').getAttribute('data-value'), '8062504');
  assert.strictEqual(await view.locator('#total-params').textContent(), '8,062,504');
  assert.strictEqual(await view.locator('#trainable-params').textContent(), '7,978,856');
  assert.strictEqual(await view.locator('#nontrainable-params').textContent(), '83,648');
  assert.match(await view.locator('#total-macs').textContent(), /^2\.88 GMACs$/);
  const concat = await view.locator('tr.layer[data-name="conv2_block1_concat"] td.conn div').allTextContents();
  assert.deepStrictEqual(concat, ['pool1[0][0]', 'conv2_block1_2_conv[0][0]']);

  // Sort by Param #: largest first, then smallest first, then the model's order (grouped) again.
  const paramsHead = view.locator('#head th[data-key="params"] button');
  await paramsHead.click();
  await view.locator('#table[data-sort="params:desc"]').waitFor({ timeout: 5_000 });
  const desc = await visibleParams(view);
  assert.strictEqual(desc.length, 429);
  assert.strictEqual(desc[0], 1_025_000, 'predictions first');
  assert.ok(
    desc.every((v, i) => i === 0 || desc[i - 1] >= v),
    'Param # descending',
  );
  assert.strictEqual(await view.locator('#rows tr.group-head').count(), 0, 'sorted rows are not grouped');
  await paramsHead.click();
  await view.locator('#table[data-sort="params:asc"]').waitFor({ timeout: 5_000 });
  const asc = await visibleParams(view);
  assert.ok(
    asc.every((v, i) => i === 0 || asc[i - 1] <= v),
    'Param # ascending',
  );
  await paramsHead.click();
  await view.locator('#table[data-sort="order"]').waitFor({ timeout: 5_000 });
  assert.strictEqual(await view.locator('#rows tr.group-head').count(), 10, 'back to the parts');

  // Filter by name: the 24 concatenations of block 3.
  await view.locator('#filter').fill('conv4 concat');
  await view.locator('#table[data-shown="24"]').waitFor({ timeout: 5_000 });
  assert.strictEqual(await view.locator('#rows tr.layer:not([hidden])').count(), 24);
  assert.strictEqual(await view.locator('#count').textContent(), '24 of 429 layers');
  await view.locator('#filter').fill('');
  await view.locator('#table[data-shown="429"]').waitFor({ timeout: 5_000 });

  // Fold dense block 3: its 168 rows hide, its header stays.
  await view.locator('tr.group-head[data-name="conv4"]').click();
  await view.locator('tr.group-head.collapsed[data-name="conv4"]').waitFor({ timeout: 5_000 });
  assert.strictEqual(await view.locator('#rows tr.layer:not([hidden])').count(), 429 - 168);
  await view.locator('tr.group-head[data-name="conv4"]').click();
  await view.locator('tr.group-head:not(.collapsed)[data-name="conv4"]').waitFor({ timeout: 5_000 });

  // Copy as text: the Keras-style text summary, one line per layer, Keras' totals.
  await view.locator('#copy').click();
  await view.locator('#copied[data-lines]').waitFor({ timeout: 10_000 });
  const text = await view.locator('#copied-text').inputValue();
  assert.match(text, /^Layer \(type\)\s+Output Shape\s+Param #\s+Mult-Adds$/m);
  assert.match(text, /^conv4_block12_1_conv \(Conv2D\)\s+14x14x128\s+77,824/m);
  assert.match(text, /^Total params: 8,062,504$/m);
  assert.match(await view.locator('#copied').textContent(), /^Copied \d+ lines$/);

  // A click on a row selects its part of the spec: conv4_block12_1_conv -> `24` in blockConfig.
  await view.locator('tr.layer[data-name="conv4_block12_1_conv"]').click();
  await page.locator('.monaco-editor .selected-text').first().waitFor({ timeout: 10_000 });
  const selected = await page.locator('.monaco-editor .selected-text').first().boundingBox();
  const line = await page.locator('.monaco-editor .view-line', { hasText: '"blockConfig"' }).first().boundingBox();
  assert.ok(Math.abs(selected.y - line.y) < 4, 'the selection is on the blockConfig line');
  assert.ok(selected.width > 5 && selected.width < 40, `two characters selected (${selected.width} px)`);
  await ui.screenshot(page, 'summary-densenet121');

  // Edit the spec: blockConfig [6, 12, 24, 16] -> [6, 12, 24, 17]: 7 more rows, new totals.
  await page.locator('.view-line span', { hasText: '"blockConfig"' }).first().click();
  await page.keyboard.press('End');
  await page.keyboard.press('ArrowLeft'); // before `]`
  await page.keyboard.press('Backspace');
  await page.keyboard.type('7');
  await view.locator('#table[data-rows="436"]').waitFor({ timeout: 10_000 });
  await view.locator('#total-params[data-value="8267176"]').waitFor({ timeout: 5_000 });
  assert.strictEqual(await view.locator('tr.layer[data-name="conv5_block17_concat"]').count(), 1);
  // A broken spec: said above the table, the last good table kept.
  await page.keyboard.type('x');
  await view.locator('#table[data-stale="true"]').waitFor({ timeout: 10_000 });
  assert.match(await view.locator('#problem').textContent(), /error.*showing the last valid version\.$/s);
  assert.strictEqual(await view.locator('#table').getAttribute('data-rows'), '436');
  await page.keyboard.press('Backspace');
  await view.locator('#table[data-stale="false"]').waitFor({ timeout: 10_000 });
  assert.ok(await view.locator('#problem').isHidden());
}
