// Playwright helpers for UI tests against the real workbench (see scripts/run-ui.mjs).
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, workbenchUrl } from './vscode-server.mjs';

export const ARTIFACTS = path.join(ROOT, 'test-artifacts');

/**
 * Opens the workbench on `folder` with the extension under development loaded, and waits until it is
 * usable: workbench rendered, Explorer listing the folder, window titled as an Extension Development Host.
 * The extension itself activates asynchronously after that: wait for its own UI (code lens, view, ...).
 */
export async function openWorkbench(page, { port, folder, extensionDevelopmentPath = ROOT, timeout = 60_000 }) {
  await page.goto(workbenchUrl({ port, folder, extensionDevelopmentPath }), { timeout });
  await page.locator('.monaco-workbench').waitFor({ timeout });
  await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout });
  await page.waitForFunction(() => document.title.includes('[Extension Development Host]'), null, { timeout });
}

/** Opens a workspace file via Quick Open (Ctrl+P) and waits for its editor to be active. */
export async function openFile(page, relativePath, { timeout = 20_000 } = {}) {
  const name = path.basename(relativePath);
  await page.locator('.monaco-workbench').click({ position: { x: 1, y: 1 } }); // focus the workbench, not an input
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout });
  await input.fill(relativePath);
  // Results come from a file search; Enter before the first match would open nothing.
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: name }).first().waitFor({ timeout });
  await page.keyboard.press('Enter');
  await page.locator(`.tabs-container .tab.active[data-resource-name="${name}"]`).waitFor({ timeout });
  await page.locator('.editor-group-container.active .monaco-editor .view-lines').waitFor({ timeout });
}

/**
 * Runs a command by its palette title (e.g. "DenseNet: New Model Spec..."). Contributed commands show up
 * only once the extension host has scanned the extension under development, so this retries until then.
 */
export async function runCommand(page, title, { timeout = 30_000 } = {}) {
  const end = Date.now() + timeout;
  const input = page.locator('.quick-input-widget input');
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
  for (;;) {
    await page.keyboard.press('Control+Shift+P');
    try {
      await input.waitFor({ timeout: 5_000 });
    } catch (err) {
      // A webview restored with the window may hold the keyboard focus: give it back to the workbench.
      if (Date.now() > end) throw new Error(`the command palette did not open in ${timeout} ms`, { cause: err });
      await page.evaluate(() => document.activeElement?.blur?.());
      continue;
    }
    await input.fill(`>${title}`);
    try {
      await row.waitFor({ timeout: 2_000 });
      break;
    } catch (err) {
      await page.keyboard.press('Escape');
      if (Date.now() > end)
        throw new Error(`command "${title}" is not in the palette after ${timeout} ms`, { cause: err });
    }
  }
  await page.keyboard.press('Enter');
}

/** Saves a full-page PNG as test-artifacts/<name>.png and returns its path. */
export async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name.replace(/[^\w.-]+/g, '_')}.png`);
  await page.screenshot({ path: file, animations: 'disabled', timeout: 10_000 });
  return file;
}
