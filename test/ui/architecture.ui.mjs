// The architecture panel in the real VS Code: open the example spec, run DenseNet: Show Architecture, see the
// diagram (collapsed blocks, Keras names), click a node and see its spec text selected, expand a block, move
// the cursor to see the node highlighted; then DenseNet-264: how fast an edit re-renders.
import fs from 'node:fs';
import path from 'node:path';

const webview = (page) => page.frameLocator('iframe.webview').first().frameLocator('#active-frame');

export default async function ({ page, assert, ui, workspace }) {
  await ui.openFile(page, 'cifar/densenet-bc-100.densenet.json');
  await page.locator('.codelens-decoration', { hasText: 'Architecture' }).first().waitFor({ timeout: 30_000 });
  await ui.runCommand(page, 'DenseNet: Show Architecture');

  const view = webview(page);
  const diagram = view.locator('#diagram[data-nodes]');
  await diagram.waitFor({ timeout: 30_000 });
  // Blocks of 16 layers start collapsed: input, stem, 3 blocks, 2 transitions, head.
  assert.strictEqual(await view.locator('g.node').count(), 8);
  assert.strictEqual(await diagram.getAttribute('data-nodes'), '8');
  const labels = await view.locator('g.node text.label').allTextContents();
  assert.deepStrictEqual(labels, [
    'input_1',
    'conv1_conv',
    'conv2',
    'pool2_conv',
    'conv3',
    'pool3_conv',
    'conv4',
    'predictions',
  ]);
  assert.match(await view.locator('g.node[data-id="pool2"] text.shape').textContent(), /^16x16x108$/);

  // Click the transition: the spec's compression field is selected (`"compression": 0.5`, 18 characters).
  await view.locator('g.node[data-id="pool2"]').click();
  const status = page.locator('.statusbar-item', { hasText: /Ln \d+, Col \d+ \(\d+ selected\)/ });
  await status.first().waitFor({ timeout: 10_000 });
  assert.match(await status.first().innerText(), /Ln 13, Col 23 \(18 selected\)/);
  assert.strictEqual(await view.locator('g.node.sel').getAttribute('data-id'), 'pool2');

  // Expand block 1: 16 dense-layer nodes and their 16·17/2 concatenation arcs.
  await view.locator('g.node[data-id="conv2"] [data-toggle]').click();
  await view.locator('#diagram[data-nodes="23"]').waitFor({ timeout: 10_000 });
  assert.ok(await view.locator('g.node[data-id="conv2_block16"]').isVisible());
  const arcs = await view.locator('path.edge.dense[data-group="conv2"]').getAttribute('d');
  assert.strictEqual((arcs.match(/M/g) ?? []).length, 136);

  // Click a dense layer: its blockConfig entry (`16`) is selected.
  await view.locator('g.node[data-id="conv2_block3"]').click();
  await page
    .locator('.statusbar-item', { hasText: /Ln 11, Col \d+ \(2 selected\)/ })
    .first()
    .waitFor({ timeout: 10_000 });

  // Move the cursor to `classes` in the spec: the head node is highlighted.
  await page.locator('.view-line span', { hasText: '"classes"' }).first().click();
  await view.locator('g.node.hl[data-id="head"]').waitFor({ timeout: 10_000 });
  await ui.screenshot(page, 'architecture');
  await ui.screenshot(page, 'architecture-bc100'); // the runner overwrites architecture.png with the end state

  // DenseNet-264: edit the last block's size and time the re-render.
  fs.writeFileSync(
    path.join(workspace, 'imagenet', 'densenet264.densenet.json'),
    [
      '{',
      '  "version": 1,',
      '  "name": "densenet264",',
      '  "model": {',
      '    "blockConfig": [6, 12, 64, 48],',
      '    "preset": "densenet264"',
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  await ui.openFile(page, 'imagenet/densenet264.densenet.json');
  await ui.runCommand(page, 'DenseNet: Show Architecture');
  await page.locator('.tab', { hasText: 'Architecture: densenet264' }).first().waitFor({ timeout: 10_000 });
  const big = page.frameLocator('iframe.webview >> visible=true').first().frameLocator('#active-frame');
  const bigDiagram = big.locator('#diagram[data-nodes="26"]');
  await bigDiagram.waitFor({ timeout: 30_000 });
  // Expand everything: 130 dense-layer nodes, 3,355 arcs.
  await big.locator('#expand').click();
  await big.locator('#diagram[data-nodes="136"]').waitFor({ timeout: 10_000 });
  const expandMs = Number(await big.locator('#diagram').getAttribute('data-render-ms'));

  // Back in the editor: put the cursor before `]` of blockConfig and change 48 to 49.
  await page.locator('.tab', { hasText: 'densenet264.densenet.json' }).first().click();
  await page.locator('.view-line span', { hasText: '"blockConfig"' }).first().click();
  await page.keyboard.press('End');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowLeft'); // before `],`
  await page.keyboard.press('Backspace'); // [6, 12, 64, 4]: 92 nodes
  await big.locator('#diagram[data-nodes="92"]').waitFor({ timeout: 10_000 });
  const started = Date.now();
  await page.keyboard.type('9');
  await big.locator('#diagram[data-nodes="137"]').waitFor({ timeout: 10_000 });
  const editMs = Date.now() - started;
  const renderMs = Number(await big.locator('#diagram').getAttribute('data-render-ms'));
  // From the host's document change event to the end of the webview render (100 ms debounce included).
  const latencyMs = Number(await big.locator('#diagram').getAttribute('data-latency-ms'));
  console.log(
    `    DenseNet-264 (all expanded, 137 nodes, 3,404 arcs): expand render ${expandMs} ms; ` +
      `edit -> re-render ${latencyMs} ms (layout+DOM ${renderMs} ms; ${editMs} ms as Playwright polls it)`,
  );
  assert.ok(latencyMs < 300, `edit to render took ${latencyMs} ms`);
  await ui.screenshot(page, 'architecture-densenet264');
}
