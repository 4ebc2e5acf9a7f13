// Runs Playwright UI tests against a real VS Code (code-server) with the extension under development.
//
// Usage: node scripts/run-ui.mjs [test files...] [--workspace examples] [--extension <dir, default: repo>]
//          [--results test-results/ui.json] [--timeout <seconds per test, default 120>]
// Without files it runs every test/ui/*.ui.mjs. A test file looks like:
//
//   export default async function ({ page, workspace, server, assert, ui }) {
//     await ui.openFile(page, 'model.densenet.json');
//     await page.locator('.codelens-decoration').first().waitFor();
//   }
//
// Each test gets its own code-server, browser context and a temp copy of the workspace (so it may edit
// files), already open in the workbench. A screenshot of the end state goes to test-artifacts/<test>.png
// (<test>-failed.png on failure). Writes {"passed":N,"failed":N} to --results; exits 1 on any failure.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ROOT, startServer, launchBrowser, withCleanup } from './lib/vscode-server.mjs';
import * as ui from './lib/ui.mjs';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    workspace: { type: 'string', default: path.join(ROOT, 'examples') },
    extension: { type: 'string', default: ROOT },
    results: { type: 'string', default: 'test-results/ui.json' },
    timeout: { type: 'string', default: '120' },
  },
});
const uiDir = path.join(ROOT, 'test/ui');
const files = positionals.length
  ? positionals.map((f) => path.resolve(f))
  : fs.existsSync(uiDir)
    ? fs
        .readdirSync(uiDir)
        .filter((f) => f.endsWith('.ui.mjs'))
        .sort()
        .map((f) => path.join(uiDir, f))
    : [];

const counts = { passed: 0, failed: 0 };
const startedAll = Date.now();
if (!files.length) console.log('run-ui: no UI tests found');

await withCleanup(async (cleanups) => {
  const browser = await launchBrowser();
  cleanups.push(() => browser.close());
  for (const file of files) {
    const name = path.basename(file).replace(/\.ui\.mjs$|\.mjs$/, '');
    const started = Date.now();
    try {
      await runOne(browser, file, name);
      counts.passed++;
      console.log(`  ✔ ${name} (${secs(started)} s)`);
    } catch (err) {
      counts.failed++;
      console.log(`  ✘ ${name} (${secs(started)} s)\n${indent(err.stack ?? String(err))}`);
    }
  }
}).catch((err) => {
  counts.failed++;
  console.error(`run-ui: ${err.stack ?? err}`);
});

fs.mkdirSync(path.dirname(path.resolve(opts.results)), { recursive: true });
fs.writeFileSync(opts.results, JSON.stringify(counts) + '\n');
console.log(`ui: ${counts.passed} passed, ${counts.failed} failed (${secs(startedAll)} s)`);
process.exit(counts.failed ? 1 : 0);

/** One test: fresh server, fresh context, temp copy of the workspace; always cleaned up. */
async function runOne(browser, file, name) {
  // A test module may export `timeoutSeconds` when it needs longer than --timeout (a DenseNet-121 at 224).
  const { default: test, timeoutSeconds } = await import(pathToFileURL(file).href);
  const limit = Number(timeoutSeconds ?? opts.timeout);
  if (typeof test !== 'function') throw new Error(`${file} has no default export function`);
  fs.rmSync(path.join(ui.ARTIFACTS, `${name}-failed.png`), { force: true }); // from an earlier run
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ui-ws-'));
  const workspace = path.join(tmp, path.basename(opts.workspace));
  fs.cpSync(opts.workspace, workspace, { recursive: true });
  let server, context, page;
  try {
    server = await startServer();
    context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    page = await context.newPage();
    const run = async () => {
      await ui.openWorkbench(page, { port: server.port, folder: workspace, extensionDevelopmentPath: opts.extension });
      await test({ page, workspace, server, assert, ui });
    };
    // On timeout, `finally` closes the context, which aborts whatever the test is still waiting for.
    await withTimeout(run(), limit * 1000, `timed out after ${limit} s`);
    await ui.screenshot(page, name);
  } catch (err) {
    if (page) await ui.screenshot(page, `${name}-failed`).catch(() => {});
    throw err;
  } finally {
    await context?.close().catch(() => {});
    await server?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function withTimeout(promise, ms, message) {
  let timer;
  const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function secs(since) {
  return ((Date.now() - since) / 1000).toFixed(1);
}

function indent(text) {
  return text.replace(/^/gm, '      ');
}
