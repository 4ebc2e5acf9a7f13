// A training survives a window reload: train the MNIST example, reload the window (Developer: Reload Window),
// then the training is still running in its own process (the same pid alive, metrics.jsonl growing), the
// reloaded window reattaches (one status bar item, the dashboard's live header moves again), Stop works and the
// run reads stopped, with a message saying where and a Resume button.
import fs from 'node:fs';
import path from 'node:path';

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(what, probe, timeout = 60_000) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export default async function ({ page, workspace, assert, ui }) {
  const specFile = path.join(workspace, 'mnist', 'mnist.densenet.json');
  // Enough epochs that it trains for the whole test (it is stopped at the end).
  fs.writeFileSync(specFile, fs.readFileSync(specFile, 'utf8').replace('"epochs": 5', '"epochs": 30'));
  const runs = path.join(workspace, '.densenet', 'runs', 'mnist');
  let pid;
  try {
    await ui.openFile(page, 'mnist/mnist.densenet.json');
    const train = page.locator('.codelens-decoration a', { hasText: 'Train' });
    await train.first().waitFor({ timeout: 30_000 });
    await train.first().click();

    const status = page.locator('.statusbar-item', { hasText: /mnist · wasm · epoch \d+\/30/ });
    await status.first().waitFor({ timeout: 120_000 });
    // One status bar item tells of the training (no second one from a progress notification).
    assert.strictEqual(await page.locator('.statusbar-item', { hasText: /mnist/ }).count(), 1);

    const runDir = await until('the run folder with its engine record', () => {
      const ids = fs.existsSync(runs) ? fs.readdirSync(runs).filter((d) => !d.startsWith('.')) : [];
      const dir = ids.map((d) => path.join(runs, d)).find((d) => fs.existsSync(path.join(d, 'engine.json')));
      return dir;
    });
    pid = JSON.parse(fs.readFileSync(path.join(runDir, 'engine.json'), 'utf8')).pid;
    assert.ok(alive(pid));
    const frame = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await frame.locator('#status', { hasText: 'running' }).waitFor({ timeout: 60_000 });
    await ui.screenshot(page, 'detach-before-reload');

    await ui.runCommand(page, 'Developer: Reload Window');
    await page.waitForLoadState('load');
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });

    // Still training in the same process, writing the run.
    const metrics = path.join(runDir, 'metrics.jsonl');
    const size = fs.statSync(metrics).size;
    assert.ok(alive(pid), 'the engine outlived the reload');
    await until('metrics.jsonl to grow after the reload', () => fs.statSync(metrics).size > size, 60_000);

    // The reloaded window follows it: its status bar item, once.
    await status.first().waitFor({ timeout: 60_000 });
    assert.strictEqual(await page.locator('.statusbar-item', { hasText: /mnist/ }).count(), 1);

    // The dashboard comes back with the window and goes live again: its step moves.
    const frame2 = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await frame2.locator('#status', { hasText: /^running$/ }).waitFor({ timeout: 60_000 });
    const step = frame2.locator('[data-stat="step"]');
    await step.waitFor({ timeout: 30_000 });
    const first = await step.textContent();
    await until('a live batch in the reattached dashboard', async () => (await step.textContent()) !== first, 60_000);
    await ui.screenshot(page, 'detach-after-reload');

    await status.first().click(); // the status bar item stops the run
    const stopped = page.locator('.notification-list-item', {
      hasText: /Stopped at epoch \d+, batch \d+\/127; checkpoint saved/,
    });
    await stopped.first().waitFor({ timeout: 90_000 });
    await stopped.first().locator('.monaco-button', { hasText: 'Resume' }).waitFor({ timeout: 5_000 });
    const info = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
    assert.strictEqual(info.status, 'stopped');
    assert.ok(info.stoppedAt && info.stoppedAt.stepsPerEpoch === 127, JSON.stringify(info.stoppedAt));
    await until('the engine to exit', () => !alive(pid), 30_000);
    // The dashboard keeps the run: stopped, with the epochs it trained.
    await frame2.locator('#status', { hasText: /^stopped$/ }).waitFor({ timeout: 30_000 });
    const trained = info.stoppedAt.epoch - 1 + info.stoppedAt.step / 127;
    const text = `${Number.isInteger(trained) ? trained : trained.toFixed(2)}/30`;
    await frame2.locator('table.runs td.epochs', { hasText: text }).waitFor({ timeout: 10_000 });
    await frame2.locator('[data-stat="epochs"]', { hasText: text }).waitFor({ timeout: 10_000 });
    await ui.screenshot(page, 'detach-stopped');
  } finally {
    // A failed test must not leave a training behind (the engine is detached from the test's VS Code).
    if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
  }
}
