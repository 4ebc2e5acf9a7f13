// The README's screenshots, taken in a real VS Code (code-server + Playwright, the set-up of scripts/run-ui.mjs):
//
//   media/dashboard.png                 the training dashboard of an MNIST run (curves, confusion matrix, runs)
//   media/architecture-densenet121.png  the architecture view of the DenseNet-121 example, fitted to the panel
//   media/feature-maps.png              the feature-map panel of that MNIST run on a test digit, Grad-CAM overlaid
//
// Usage: npm run screenshots   (builds, writes the MNIST example data, then runs this)
//        node scripts/screenshots.mjs [--out media] [--epochs 2] [--only dashboard,architecture,features]
// The MNIST run is made with the CLI (`densenet-lab train`) in a temp copy of examples/; every step waits for the
// panels' own data-* attributes, never for a fixed time. Each PNG is 1400x900, palette-compressed under 400 KB.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { launchBrowser, ROOT, startServer, withCleanup } from './lib/vscode-server.mjs';
import * as ui from './lib/ui.mjs';

const { values: opts } = parseArgs({
  options: {
    out: { type: 'string', default: path.join(ROOT, 'media') },
    epochs: { type: 'string', default: '2' },
    only: { type: 'string', default: 'dashboard,architecture,features' },
  },
});
const SIZE = { width: 1400, height: 900 };
const MAX_BYTES = 400 * 1024;
const only = new Set(opts.only.split(','));

/** The page inside the active webview panel. */
const webview = (page) => page.frameLocator('iframe.webview.ready').first().frameLocator('#active-frame');

/** Trains the MNIST example with the CLI for `epochs` epochs; returns its run id. */
function trainMnist(workspace, epochs) {
  const spec = path.join(workspace, 'mnist', 'mnist.densenet.json');
  if (!fs.existsSync(path.join(workspace, 'mnist', 'data', 'train')))
    throw new Error(
      'examples/mnist/data is missing: run `node scripts/make-mnist-example.mjs` (npm run screenshots does)',
    );
  const started = Date.now();
  const r = spawnSync(
    process.execPath,
    [path.join(ROOT, 'dist', 'cli.js'), 'train', spec, '--epochs', epochs, '--workspace', workspace, '--json'],
    { encoding: 'utf8', timeout: 30 * 60_000 },
  );
  if (r.status !== 0) throw new Error(`training the MNIST example failed (${r.status ?? r.signal}): ${r.stderr}`);
  const runs = path.join(workspace, '.densenet', 'runs', 'mnist');
  const runId = fs.readdirSync(runs).sort().pop();
  console.log(
    `  MNIST example trained for ${epochs} epoch(s) in ${((Date.now() - started) / 1000).toFixed(0)} s: ${runId}`,
  );
  return runId;
}

/** Saves the page as a palette PNG under MAX_BYTES (fewer colours until it fits). */
async function save(page, name) {
  const raw = await page.screenshot({ animations: 'disabled', timeout: 20_000 });
  const file = path.join(opts.out, `${name}.png`);
  for (const colours of [256, 128, 64]) {
    const png = await sharp(raw).png({ palette: true, colours, compressionLevel: 9, effort: 10 }).toBuffer();
    if (png.length <= MAX_BYTES || colours === 64) {
      fs.writeFileSync(file, png);
      console.log(`  ${path.relative(ROOT, file)}: ${(png.length / 1024).toFixed(0)} KB (${colours} colours)`);
      return;
    }
  }
}

/** Closes every editor and the side bar: each screenshot starts from an empty workbench. */
async function resetWorkbench(page) {
  await ui.runCommand(page, 'View: Close All Editors');
  await page.locator('.editor-group-container .tab').first().waitFor({ state: 'detached', timeout: 10_000 });
}

async function closeSideBar(page) {
  if (await page.locator('#workbench\\.parts\\.sidebar').isVisible())
    await ui.runCommand(page, 'View: Close Primary Side Bar');
  await page.locator('#workbench\\.parts\\.sidebar').waitFor({ state: 'hidden', timeout: 10_000 });
}

/** The dashboard of the finished MNIST run beside its spec, curves read from the run's metrics.jsonl. */
async function dashboard(page) {
  await ui.openFile(page, 'mnist/mnist.densenet.json');
  await page.locator('.codelens-decoration a', { hasText: 'Train' }).first().waitFor({ timeout: 60_000 });
  await closeSideBar(page);
  await ui.runCommand(page, 'DenseNet: Open Training Dashboard');
  await page.locator('.tab', { hasText: 'Training: mnist' }).first().waitFor({ timeout: 30_000 });
  const view = webview(page);
  await view.locator('table.runs tbody tr', { hasText: 'completed' }).first().waitFor({ timeout: 60_000 });
  for (const id of ['chart-loss', 'chart-acc'])
    await view.locator(`#${id}[data-points]:not([data-points="0"]) canvas`).first().waitFor({ timeout: 30_000 });
  await save(page, 'dashboard');
}

/** The architecture of DenseNet-121 beside its spec, fitted to the panel. */
async function architecture(page) {
  await ui.openFile(page, 'imagenet/densenet121.densenet.json');
  await page.locator('.codelens-decoration a', { hasText: 'Architecture' }).first().waitFor({ timeout: 60_000 });
  await closeSideBar(page);
  await ui.runCommand(page, 'DenseNet: Show Architecture');
  const view = webview(page);
  await view.locator('#diagram[data-nodes]:not([data-nodes="0"]) svg').waitFor({ timeout: 30_000 });
  // A dense layer selected: its properties (layers, weight shapes, parameters) fill the pane, its spec text is
  // selected, its arcs are drawn.
  await view.locator('g.node[data-id="conv3_block5"]').click();
  await view.locator('#props[data-id="conv3_block5"]').waitFor({ timeout: 10_000 });
  // The architecture's editor group takes the whole window, so the properties pane sits beside the diagram.
  await page.locator('.tab', { hasText: 'Architecture: densenet121' }).first().click();
  await ui
    .runCommand(page, 'View: Toggle Maximize Editor Group', { timeout: 10_000 })
    .catch((e) => console.warn(`  (the editor group stays as it is: ${e.message})`));
  await view.locator('#fit').click();
  await view.locator('#diagram[data-scale]').waitFor({ timeout: 10_000 });
  // The highlight and tooltips of the mouse would be in the picture: move it off the panel.
  await page.mouse.move(0, SIZE.height - 1);
  await save(page, 'architecture-densenet121');
}

/** Right-click a test digit in the explorer -> Visualize Feature Maps -> the MNIST run; Grad-CAM overlaid. */
async function featureMaps(page, workspace, runId) {
  if (!(await page.locator('#workbench\\.parts\\.sidebar').isVisible()))
    await ui.runCommand(page, 'View: Show Explorer');
  const explorer = page.locator('.explorer-folders-view');
  const row = (name) =>
    explorer
      .locator('.monaco-list-row')
      .filter({ hasText: new RegExp(`^\\s*${name.replace(/\./g, '\\.')}\\s*$`) })
      .first();
  for (const folder of ['mnist', 'data', 'test', '7']) {
    const r = row(folder);
    await r.waitFor({ timeout: 20_000 });
    if ((await r.getAttribute('aria-expanded')) !== 'true') await r.click();
  }
  const digitName = fs
    .readdirSync(path.join(workspace, 'mnist', 'data', 'test', '7'))
    .filter((f) => f.endsWith('.png'))
    .sort()[0];
  await row(digitName).waitFor({ timeout: 20_000 });
  await row(digitName).click({ button: 'right' });
  const item = page.locator('.context-view .monaco-menu .action-item', { hasText: 'Visualize Feature Maps' }).first();
  await item.waitFor({ timeout: 10_000 });
  await item.hover();
  await item.click();
  const pick = page.locator('.quick-input-widget .monaco-list-row', { hasText: runId }).first();
  await pick.waitFor({ timeout: 30_000 });
  await pick.click();
  const view = webview(page);
  await view.locator('#gallery canvas').first().waitFor({ timeout: 120_000 });
  // The Grad-CAM of the predicted class drawn over the input: its canvas says which class and how long it took
  // once it is drawn (an overlay marked data-overlay="gradcam" counts too).
  await view
    .locator('#gradcam-canvas[data-class-index], [data-overlay="gradcam"][data-class-index]')
    .first()
    .waitFor({ timeout: 120_000 });
  await closeSideBar(page);
  await view
    .locator('#gradcam-canvas, [data-overlay="gradcam"]')
    .first()
    .evaluate((e) => e.scrollIntoView({ block: 'center' }));
  await page.mouse.move(0, SIZE.height - 1);
  await save(page, 'feature-maps');
}

fs.mkdirSync(opts.out, { recursive: true });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'screenshots-'));
const workspace = path.join(tmp, 'examples');
fs.cpSync(path.join(ROOT, 'examples'), workspace, { recursive: true });
let failed = false;
await withCleanup(async (cleanups) => {
  cleanups.push(async () => fs.rmSync(tmp, { recursive: true, force: true }));
  const runId = only.has('dashboard') || only.has('features') ? trainMnist(workspace, opts.epochs) : undefined;
  const browser = await launchBrowser();
  cleanups.push(() => browser.close());
  const server = await startServer();
  cleanups.push(() => server.stop());
  const context = await browser.newContext({ viewport: SIZE });
  cleanups.push(() => context.close());
  const page = await context.newPage();
  await ui.openWorkbench(page, { port: server.port, folder: workspace });
  const shots = [
    ['dashboard', () => dashboard(page)],
    ['architecture', () => architecture(page)],
    ['features', () => featureMaps(page, workspace, runId)],
  ];
  for (const [name, shoot] of shots) {
    if (!only.has(name)) continue;
    try {
      await shoot();
      await resetWorkbench(page);
    } catch (err) {
      failed = true;
      console.error(`  ✘ ${name}: ${err.stack ?? err}`);
      await ui.screenshot(page, `screenshots-${name}-failed`).catch(() => {});
      await resetWorkbench(page).catch(() => {});
    }
  }
}).catch((err) => {
  failed = true;
  console.error(`screenshots: ${err.stack ?? err}`);
});
process.exit(failed ? 1 : 0);
