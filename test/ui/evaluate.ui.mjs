// DenseNet: Evaluate from the dashboard: train the tiny digits spec (with a test folder) for one epoch with the CLI,
// open its dashboard, press Evaluate, pick the test data, and check what a person sees: the evaluation's confusion
// matrix and per-class table; a click on a cell opens the gallery of exactly that cell's images (thumbnails that
// load, true/predicted classes, probabilities); "Visualize Feature Maps" on one opens the feature maps of that
// image with this run (no checkpoint to pick).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const TEST_PER_CLASS = 8;

function trainDigits(workspace) {
  const dir = path.join(workspace, 'digits');
  for (const digit of ['0', '1', '2'])
    for (const [split, n] of [
      ['train', 20],
      ['test', TEST_PER_CLASS],
    ]) {
      const src = path.join(workspace, 'mnist', 'data', split, digit);
      fs.mkdirSync(path.join(dir, 'data', split, digit), { recursive: true });
      for (const f of fs.readdirSync(src).sort().slice(0, n))
        fs.copyFileSync(path.join(src, f), path.join(dir, 'data', split, digit, f));
    }
  const fixture = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'digits.densenet.json'), 'utf8'));
  const spec = {
    ...fixture,
    name: 'digits-eval',
    data: { ...fixture.data, test: 'data/test' },
    training: { ...fixture.training, epochs: 1 },
  };
  const specPath = path.join(dir, 'digits.densenet.json');
  fs.writeFileSync(specPath, JSON.stringify(spec, null, 2));
  const r = spawnSync(
    process.execPath,
    [path.join(ROOT, 'dist', 'cli.js'), 'train', specPath, '--backend', 'wasm', '--workspace', workspace, '--json'],
    { encoding: 'utf8', timeout: 180_000 },
  );
  if (r.status !== 0) throw new Error(`training the digits failed (${r.status}): ${r.stderr}\n${r.stdout}`);
  const runs = path.join(workspace, '.densenet', 'runs', 'digits-eval');
  return path.join(runs, fs.readdirSync(runs)[0]);
}

/** The webview frame (iframe.webview -> #active-frame) that has `selector`, once it has. */
async function frameWith(page, selector, timeout = 60_000) {
  const end = Date.now() + timeout;
  for (;;) {
    for (const f of page.frames()) {
      if (f === page.mainFrame()) continue;
      if (await f.$(selector).catch(() => null)) return f;
    }
    if (Date.now() > end) throw new Error(`no webview shows ${selector} after ${timeout} ms`);
    await page.waitForTimeout(250);
  }
}

export default async function ({ page, workspace, assert, ui }) {
  const runDir = trainDigits(workspace);
  assert.ok(fs.existsSync(path.join(runDir, 'checkpoints', 'best')), 'the CLI wrote a checkpoint');

  await ui.openFile(page, 'digits/digits.densenet.json');
  await page.locator('.codelens-decoration a', { hasText: 'Train' }).first().waitFor({ timeout: 30_000 }); // active
  await ui.runCommand(page, 'DenseNet: Open Training Dashboard');
  const dashboard = await frameWith(page, '#evaluate:not([disabled])');
  await dashboard.locator('table.runs tbody tr .evaluate-run').first().waitFor({ timeout: 10_000 });

  // Evaluate the run shown: the spec has test data and a validation split, so the split is asked.
  await dashboard.locator('#evaluate').click();
  const testPick = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Test data' }).first();
  await testPick.waitFor({ timeout: 20_000 });
  await testPick.click();
  await page
    .locator('.notification-list-item', { hasText: /Evaluated .* accuracy/ })
    .first()
    .waitFor({ timeout: 120_000 });

  const evaluation = dashboard.locator('.evaluation[data-split="test"]');
  await evaluation.locator('table.confusion').waitFor({ timeout: 20_000 });
  const heading = await evaluation.locator('h3').textContent();
  assert.match(
    heading,
    /^Evaluate on test \(checkpoints\/best, epoch 1\): accuracy [\d.]+%, loss [\d.]+ on 24 images$/,
  );
  const counts = (await evaluation.locator('table.confusion tbody td').allTextContents()).map(Number);
  assert.strictEqual(
    counts.reduce((a, b) => a + b, 0),
    3 * TEST_PER_CLASS,
  );
  assert.strictEqual(await evaluation.locator('table.per-class tbody tr').count(), 3);
  await ui.screenshot(page, 'evaluate-dashboard');

  // The non-empty cell with the most images: its gallery shows exactly those.
  const cells = evaluation.locator('td.examples-cell');
  const cellCounts = (await cells.allTextContents()).map(Number);
  assert.strictEqual(cellCounts.length, counts.filter((c) => c > 0).length, 'every non-empty cell opens a gallery');
  const k = cellCounts.indexOf(Math.max(...cellCounts));
  const cell = cells.nth(k);
  const [t, p] = [await cell.getAttribute('data-true'), await cell.getAttribute('data-predicted')];
  await cell.click();

  const gallery = await frameWith(page, '.example');
  await gallery
    .locator('#summary', { hasText: `${cellCounts[k]} of ${cellCounts[k]} example` })
    .waitFor({ timeout: 10_000 });
  assert.strictEqual(await gallery.locator('.example').count(), cellCounts[k]);
  assert.strictEqual(await gallery.locator('#heading').textContent(), `True ${t}, predicted ${p}`);
  const first = gallery.locator('.example').first();
  assert.strictEqual(await first.locator('.classes').textContent(), `true ${t} · predicted ${p}`);
  assert.match(await first.locator('.probability').textContent(), /^probability \d+\.\d%$/);
  const name = await first.locator('.name').textContent();
  assert.ok(fs.existsSync(path.join(workspace, 'digits', 'data', 'test', t, name)), `${name} is a test image of ${t}`);
  // The thumbnails load (webview URIs of the data folder).
  await gallery.waitForFunction(
    () => [...document.querySelectorAll('.example img')].every((i) => i.complete && i.naturalWidth === 28),
    null,
    { timeout: 10_000 },
  );
  await ui.screenshot(page, 'evaluate-gallery');

  // Visualize Feature Maps of that image with this run: the feature maps panel, no checkpoint to pick.
  await first.locator('.visualize').click();
  await page
    .locator('.tab', { hasText: `Feature Maps: ${name}` })
    .first()
    .waitFor({ timeout: 60_000 });
  const features = await frameWith(page, '#gallery canvas', 90_000);
  assert.ok((await features.locator('#gallery canvas').count()) > 0, 'the feature maps are drawn');
  assert.strictEqual(await page.locator('.quick-input-widget').isVisible(), false, 'no checkpoint was asked for');
  await ui.screenshot(page, 'evaluate-feature-maps');

  // After a window reload the dashboard shows the evaluation again (from disk) and its cells still open the gallery.
  await ui.runCommand(page, 'Developer: Reload Window');
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  await page.locator('.tabs-container .tab').first().waitFor({ timeout: 60_000 }); // the editors are restored
  await ui.runCommand(page, 'View: Close All Editor Groups', { timeout: 60_000 });
  await page.locator('.tabs-container .tab').first().waitFor({ state: 'detached', timeout: 20_000 });
  await ui.openFile(page, 'digits/digits.densenet.json', { timeout: 60_000 });
  await page.locator('.codelens-decoration a', { hasText: 'Train' }).first().waitFor({ timeout: 60_000 });
  await ui.runCommand(page, 'DenseNet: Open Training Dashboard');
  const reloaded = await frameWith(page, '.evaluation[data-split="test"] td.examples-cell');
  const again = (
    await reloaded.locator('.evaluation[data-split="test"] table.confusion tbody td').allTextContents()
  ).map(Number);
  assert.deepStrictEqual(again, counts, 'the same confusion matrix after the reload');

  // The runs table's per-run Evaluate, on the validation examples this time.
  await reloaded.locator('table.runs tbody tr .evaluate-run').first().click();
  const validationPick = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Validation examples' });
  await validationPick.first().waitFor({ timeout: 20_000 });
  await validationPick.first().click();
  const validation = reloaded.locator('.evaluation[data-split="validation"]');
  await validation.locator('table.confusion').waitFor({ timeout: 120_000 });
  assert.match(await validation.locator('h3').textContent(), /^Evaluate on validation \(checkpoints\/best, epoch 1\)/);
  const vCells = validation.locator('td.examples-cell');
  const vCount = Number(await vCells.first().textContent());
  await vCells.first().click();
  const gallery2 = await frameWith(page, `#gallery[data-total="${vCount}"] .example`);
  assert.strictEqual(await gallery2.locator('.example').count(), vCount);
  await ui.screenshot(page, 'evaluate-after-reload');
}
