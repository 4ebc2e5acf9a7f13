// Train a tiny spec (3 MNIST digits, 90 images each, 3 epochs) from the palette: the training dashboard opens by itself, its
// charts fill live, the confusion matrix and per-class precision/recall appear after validation, and the run is
// listed. Then close the dashboard and reopen it from the palette: the finished run's curves come from disk.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// The tiny spec the integration tests train too.
const SPEC = {
  ...JSON.parse(fs.readFileSync(new URL('../fixtures/digits.densenet.json', import.meta.url), 'utf8')),
  name: 'digits-ui',
};

export default async function ({ page, workspace, assert, ui }) {
  const dir = path.join(workspace, 'digits');
  const mnist = path.join(workspace, 'mnist', 'data', 'train');
  assert.ok(fs.existsSync(mnist), 'the example MNIST data is built (node scripts/make-mnist-example.mjs)');
  for (const digit of ['0', '1', '2']) {
    fs.mkdirSync(path.join(dir, 'data', 'train', digit), { recursive: true });
    // Enough images that the training outlasts the dashboard's opening on a fast idle machine: the live header is
    // checked while it trains.
    for (const f of fs.readdirSync(path.join(mnist, digit)).slice(0, 90))
      fs.copyFileSync(path.join(mnist, digit, f), path.join(dir, 'data', 'train', digit, f));
  }
  fs.writeFileSync(path.join(dir, 'digits.densenet.json'), JSON.stringify(SPEC, null, 2));

  await ui.openFile(page, 'digits/digits.densenet.json');
  await page.locator('.codelens-decoration a', { hasText: 'Train' }).first().waitFor({ timeout: 30_000 }); // extension active
  await ui.runCommand(page, 'DenseNet: Train Model');

  // The dashboard opens beside the editor when training starts.
  await page.locator('.tab', { hasText: 'Training: digits' }).first().waitFor({ timeout: 90_000 });
  const frame = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
  await frame.locator('#chart-loss canvas').waitFor({ timeout: 30_000 });

  // Live: the status says running and the loss chart gets points while training.
  await frame.locator('#status', { hasText: /running|starting/ }).waitFor({ timeout: 60_000 });
  // densenet.engine.threads defaults to one per core: while it trains, the header names the backend and the threads.
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  if (cores > 1)
    await frame.locator('[data-stat="backend"]', { hasText: `wasm × ${cores} threads` }).waitFor({ timeout: 60_000 });
  await ui.screenshot(page, 'dashboard-live');

  await page
    .locator('.notification-list-item', { hasText: /Training completed after 3 epoch/ })
    .first()
    .waitFor({ timeout: 180_000 });
  await frame.locator('table.confusion').waitFor({ timeout: 20_000 });
  await frame.locator('#status', { hasText: 'completed' }).waitFor({ timeout: 20_000 });
  const liveSeries = await frame.locator('#chart-loss').getAttribute('data-live-batch-series');
  assert.ok(liveSeries, 'the loss chart got live batches');

  const points = async (id) => Number(await frame.locator(`#${id}`).getAttribute('data-points'));
  for (const id of ['chart-loss', 'chart-acc', 'chart-lr'])
    assert.ok((await points(id)) > 10, `${id} has points (${await points(id)})`);
  assert.ok((await points('chart-ips')) >= 3, 'images/s has points');
  const confusion = frame.locator('table.confusion');
  assert.strictEqual(await confusion.getAttribute('data-classes'), '3');
  assert.strictEqual(await confusion.locator('tbody tr').count(), 3);
  // Validation split 0.2 of 270 images: the matrix sums to the validation set.
  const cells = await confusion.locator('tbody td').allTextContents();
  const total = cells.map(Number).reduce((a, b) => a + b, 0);
  assert.ok(total > 0, `confusion matrix counts (${total})`);
  assert.strictEqual(await frame.locator('table.per-class tbody tr').count(), 3);
  assert.strictEqual(await frame.locator('table.runs tbody tr').count(), 1);
  await assert.doesNotReject(
    frame.locator('table.runs tbody tr', { hasText: 'completed' }).waitFor({ timeout: 5_000 }),
  );
  await ui.screenshot(page, 'dashboard');

  // Close and reopen from the palette: the newest run's curves are read from metrics.jsonl.
  await page.locator('.tab', { hasText: 'Training: digits' }).first().click();
  await page.keyboard.press('Control+W');
  await page.locator('.tab', { hasText: 'Training: digits' }).first().waitFor({ state: 'detached', timeout: 10_000 });
  await ui.openFile(page, 'digits/digits.densenet.json');
  await ui.runCommand(page, 'DenseNet: Open Training Dashboard');
  await page.locator('.tab', { hasText: 'Training: digits' }).first().waitFor({ timeout: 30_000 });
  const frame2 = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
  await frame2.locator('table.runs tbody tr').first().waitFor({ timeout: 30_000 });
  await frame2.locator('#status', { hasText: 'completed' }).waitFor({ timeout: 10_000 });
  const reopened = Number(await frame2.locator('#chart-loss').getAttribute('data-points'));
  assert.ok(reopened > 10, `reopened loss chart has points from disk (${reopened})`);
  // The per-batch curves redrawn from metrics.jsonl are the live ones, point for point, bit for bit.
  const redrawn = await frame2.locator('#chart-loss').getAttribute('data-batch-series');
  assert.strictEqual(redrawn, liveSeries, 'the reloaded per-batch loss is the live one');
  assert.ok(Number(redrawn.split(':')[0]) > 10, `per-batch points (${redrawn})`);
  const ipsReopened = Number(await frame2.locator('#chart-ips').getAttribute('data-points'));
  assert.ok(ipsReopened > 10, `images/s is saved per batch and redrawn (${ipsReopened} points)`);
  await ui.screenshot(page, 'dashboard-reopened');
}
