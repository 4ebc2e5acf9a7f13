// The architecture of FC-DenseNet103 in the real VS Code: the down path, the bottleneck and the up path, each skip
// connection drawn from its down block to the transition up of the same resolution, the per-pixel head; a click
// on a layer of an up block selects its upBlockConfig entry.
const webview = (page) => page.frameLocator('iframe.webview').first().frameLocator('#active-frame');

export default async function ({ page, assert, ui }) {
  await ui.openFile(page, 'segmentation/fc-densenet103.densenet.json');
  await page.locator('.codelens-decoration', { hasText: 'Architecture' }).first().waitFor({ timeout: 30_000 });
  // A segmentation spec trains like a classifier: its Train lens is there.
  assert.strictEqual(await page.locator('.codelens-decoration', { hasText: /Train/ }).count(), 1);
  await ui.runCommand(page, 'DenseNet: Show Architecture');

  const view = webview(page);
  const diagram = view.locator('#diagram[data-nodes]');
  await diagram.waitFor({ timeout: 30_000 });
  // Blocks of more than 12 layers start collapsed (the 15-layer bottleneck); the others are expanded.
  const labels = await view.locator('g.node text.label').allTextContents();
  for (const name of ['conv1_conv', 'td1_conv', 'td5_conv', 'bottleneck', 'tu1_conv', 'tu5_conv', 'predictions'])
    assert.ok(labels.includes(name), `${name} is drawn (${labels.length} nodes)`);
  assert.match(await view.locator('g.node[data-id="tu1"] text.detail').textContent(), /skip from down5 -> 896 ch/);
  assert.match(await view.locator('g.node[data-id="head"] text.detail').textContent(), /softmax at every pixel/);
  assert.match(await view.locator('g.node[data-id="head"] text.shape').textContent(), /^224x224x11$/);
  const skips = await view.locator('path.edge.skip').getAttribute('d');
  assert.strictEqual(skips.match(/M/g)?.length, 5, 'five skip connections');
  await ui.screenshot(page, 'architecture-fc-densenet103');

  // A click on a layer of up block 2 selects the block's entry in upBlockConfig (`10`, on line 13).
  await view.locator('g.node[data-id="up2_block1"]').click();
  const status = page.locator('.statusbar-item', { hasText: /Ln \d+, Col \d+ \(\d+ selected\)/ });
  await status.first().waitFor({ timeout: 10_000 });
  assert.match(await status.first().innerText(), /Ln 13, Col \d+ \(2 selected\)/);
}
