// What the multi-label and segmentation UI tests share: a reduced copy of an example (its spec, a few of its images),
// training it from the Train code lens, Evaluate on its test data from the dashboard, and the feature maps panel of
// one of its test images opened from the explorer with the run just trained.
import fs from 'node:fs';
import path from 'node:path';

/** Copies `files` (paths relative to `from`) to the same paths under `to`. */
export function copyFiles(from, to, files) {
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(to, f)), { recursive: true });
    fs.copyFileSync(path.join(from, f), path.join(to, f));
  }
}

/** Writes `spec` as `<workspace>/<folder>/<folder>.densenet.json`; returns the workspace-relative path. */
export function writeSpec(workspace, folder, spec) {
  const rel = `${folder}/${folder}.densenet.json`;
  fs.writeFileSync(path.join(workspace, rel), JSON.stringify(spec, null, 2));
  return rel;
}

/** The webview frame (iframe.webview -> #active-frame) that has `selector`, once it has. */
export async function frameWith(page, selector, timeout = 60_000) {
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

/**
 * Opens the spec, clicks its Train code lens and waits for the end of the training (the notification) and for the
 * dashboard that opened with it to show the run completed. Returns the dashboard's frame, the run's id and the
 * notification's text.
 */
export async function trainFromLens(page, ui, workspace, specRel, name, epochs, timeout = 240_000) {
  await ui.openFile(page, specRel);
  const train = page.locator('.codelens-decoration a', { hasText: 'Train' });
  await train.first().waitFor({ timeout: 30_000 });
  const started = Date.now();
  await train.first().click();
  await page
    .locator('.tab', { hasText: `Training: ${path.basename(specRel, '.densenet.json')}` })
    .first()
    .waitFor({ timeout: 90_000 });
  const done = page.locator('.notification-list-item', {
    hasText: new RegExp(`Training completed after ${epochs} epoch`),
  });
  await done.first().waitFor({ timeout });
  console.log(`    ${name}: ${epochs} epoch(s) trained from the code lens in ${Date.now() - started} ms`);
  const dashboard = await frameWith(page, '#status');
  await dashboard.locator('#status', { hasText: 'completed' }).waitFor({ timeout: 20_000 });
  const runs = path.join(workspace, '.densenet', 'runs', name);
  const ids = fs.readdirSync(runs);
  if (ids.length !== 1) throw new Error(`one run of ${name} expected, found ${ids.join(', ')}`);
  const finished = (await done.first().textContent()) ?? '';
  return { dashboard, runId: ids[0], runDir: path.join(runs, ids[0]), finished };
}

/** Presses Evaluate on the dashboard, picks the test data, and returns the evaluation box once it is shown. */
export async function evaluateOnTest(page, dashboard) {
  await dashboard.locator('#evaluate:not([disabled])').waitFor({ timeout: 20_000 });
  await dashboard.locator('#evaluate').click();
  const testPick = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Test data' }).first();
  await testPick.waitFor({ timeout: 20_000 });
  await testPick.click();
  const note = page.locator('.notification-list-item', { hasText: /Evaluated / }).first();
  await note.waitFor({ timeout: 120_000 });
  const evaluation = dashboard.locator('.evaluation[data-split="test"]');
  await evaluation.locator('h3').waitFor({ timeout: 20_000 });
  return { evaluation, notification: (await note.textContent()) ?? '' };
}

/**
 * Right-clicks `<folders...>/<file>` in the explorer, "Visualize Feature Maps", picks `runId`; returns the panel's
 * frame once its gallery of channels is drawn.
 */
export async function openFeatureMaps(page, folders, file, runId) {
  const explorer = page.locator('.explorer-folders-view');
  const row = (name) =>
    explorer
      .locator('.monaco-list-row')
      .filter({ hasText: new RegExp(`^\\s*${name.replace(/\./g, '\\.')}\\s*$`) })
      .first();
  // A folder holding one folder shows as one row (`test/images`, compact folders): it matches either name.
  const folderRow = (name) =>
    explorer
      .locator('.monaco-list-row')
      .filter({ hasText: new RegExp(`^\\s*([^/]+/)*${name.replace(/\./g, '\\.')}(/[^/]+)*\\s*$`) })
      .first();
  for (const folder of folders) {
    const r = folderRow(folder);
    await r.waitFor({ timeout: 20_000 });
    if ((await r.getAttribute('aria-expanded')) !== 'true') await r.click();
  }
  const image = row(file);
  await image.waitFor({ timeout: 20_000 });
  await image.click({ button: 'right' });
  const menu = page.locator('.context-view .monaco-menu');
  await menu.waitFor({ timeout: 10_000 });
  await page.waitForTimeout(400);
  const item = menu.locator('.action-item', { hasText: 'Visualize Feature Maps' }).first();
  await item.hover();
  await item.click();
  const pick = page.locator('.quick-input-widget .monaco-list-row', { hasText: runId }).first();
  await pick.waitFor({ timeout: 30_000 });
  await pick.click();
  return frameWith(page, '#gallery canvas', 90_000);
}

/** The number of distinct colours of a canvas (to tell a drawn map from a blank one). */
export function distinctColours(canvas) {
  return canvas.evaluate((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const seen = new Set();
    for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return seen.size;
  });
}
