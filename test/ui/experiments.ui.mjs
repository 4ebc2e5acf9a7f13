// Compare Runs in the real VS Code. Setup trains three tiny runs of one spec with different hyperparameters
// (learning rate; optimizer and batch size) and one of a second spec in the same folder, with the CLI. Then:
// the table shows the snapshot hyperparameters with the differing columns highlighted and the equal ones
// hideable; a run the CLI trains while the table is open appears and moves live; columns sort; a rename and a
// note are kept in run.json and rendered as text; two runs' curves overlay with the x-axis by step, epoch and wall
// time and a log y scale (read back from chart.js); the CSV export holds the table as shown; the folder scope
// lists the second spec's run, which is deleted (confirmed) and gone from disk and from the table.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const timeoutSeconds = 300;

const CLI = new URL('../../dist/cli.js', import.meta.url).pathname;
const BASE = JSON.parse(fs.readFileSync(new URL('../fixtures/digits.densenet.json', import.meta.url), 'utf8'));

const spec = (name, training) => ({ ...BASE, name, training: { ...BASE.training, epochs: 2, ...training } });

function train(workspace, specFile, extra = []) {
  const out = execFileSync(
    process.execPath,
    [CLI, 'train', specFile, '--threads', '1', '--workspace', workspace, '--json', ...extra],
    { encoding: 'utf8', timeout: 120_000 },
  );
  const result = JSON.parse(out.trim().split('\n').pop());
  if (result.status !== 'completed') throw new Error(`setup training ended ${result.status}`);
  return result.runDir;
}

const maxOf = (file, pick) =>
  Math.max(
    ...fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => pick(JSON.parse(l))),
  );

/** RFC 4180 records of a CSV text (quoted fields may hold commas, quotes and line breaks). */
function parseCsv(text) {
  const records = [];
  let record = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else field += c;
  }
  return records;
}

/** Accepts the save dialog's proposed path (code-server's simple dialog) and waits for the file. */
async function acceptSave(page, file) {
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 10_000 });
  const t = Date.now();
  while (!(await input.inputValue()).endsWith(`/runs-ui/${path.basename(file)}`)) {
    if (Date.now() - t > 10_000) throw new Error(`the save dialog proposes ${await input.inputValue()}, not ${file}`);
    await page.waitForTimeout(100);
  }
  await input.press('Enter');
  const t0 = Date.now();
  while (!fs.existsSync(file) || fs.statSync(file).size === 0) {
    if (Date.now() - t0 > 15_000) throw new Error(`${file} was not written`);
    await page.waitForTimeout(100);
  }
  await page.waitForTimeout(200);
}

/** Types into the input box the workbench shows and accepts it. */
async function answerInput(page, text) {
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 10_000 });
  await input.fill(text);
  await input.press('Enter');
}

export default async function ({ page, workspace, assert, ui }) {
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`console: ${m.text()}`);
  });
  // ---------- setup: runs trained by the CLI ----------
  const dir = path.join(workspace, 'runs-ui');
  const mnist = path.join(workspace, 'mnist', 'data', 'train');
  assert.ok(fs.existsSync(mnist), 'the example MNIST data is built (node scripts/make-mnist-example.mjs)');
  for (const digit of ['0', '1', '2']) {
    fs.mkdirSync(path.join(dir, 'data', 'train', digit), { recursive: true });
    for (const f of fs.readdirSync(path.join(mnist, digit)).slice(0, 20))
      fs.copyFileSync(path.join(mnist, digit, f), path.join(dir, 'data', 'train', digit, f));
  }
  const specFile = path.join(dir, 'digits.densenet.json');
  const otherFile = path.join(dir, 'other.densenet.json');
  const write = (file, s) => fs.writeFileSync(file, JSON.stringify(s, null, 2));
  write(specFile, spec('digits-cmp', { optimizer: 'adam', learningRate: 0.01 }));
  const runA = train(workspace, specFile);
  write(specFile, spec('digits-cmp', { optimizer: 'adam', learningRate: 0.001 }));
  const runB = train(workspace, specFile);
  write(specFile, spec('digits-cmp', { optimizer: 'sgd', learningRate: 0.05, batchSize: 4 }));
  const runC = train(workspace, specFile);
  write(otherFile, spec('other-cmp', {}));
  const runO = train(workspace, otherFile);
  // The spec as it is now is not what the runs trained with: the table reads each run's snapshot.
  write(specFile, spec('digits-cmp', { optimizer: 'adamw', learningRate: 0.003 }));

  // ---------- open from the palette ----------
  await ui.openFile(page, 'runs-ui/digits.densenet.json');
  await page.locator('.codelens-decoration a', { hasText: 'Train' }).first().waitFor({ timeout: 30_000 }); // extension active
  await ui.runCommand(page, 'DenseNet: Compare Runs');
  await page.locator('.tab', { hasText: 'Runs: digits' }).first().waitFor({ timeout: 30_000 });
  const view = page.frameLocator('iframe.webview.ready').first().frameLocator('#active-frame');
  const table = view.locator('table.experiments');
  await table.waitFor({ timeout: 30_000 });
  const rows = table.locator('tbody tr');
  assert.strictEqual(await rows.count(), 3);
  const row = (runDir) => table.locator(`tbody tr[data-run="${runDir}"]`);
  const cell = (runDir, key) => row(runDir).locator(`td[data-key="${key}"]`);

  // Hyperparameters from the snapshots; the differing ones highlighted, the equal ones not.
  assert.strictEqual(await cell(runA, 'param:training.learningRate').textContent(), '0.01');
  assert.strictEqual(await cell(runC, 'param:training.optimizer').textContent(), 'sgd');
  const differing = (await table.getAttribute('data-differing')).split('|').sort();
  // SGD's defaults (step schedule, weight decay 1e-4) differ from Adam's (constant, 0): resolved, not only as written.
  assert.deepStrictEqual(differing, [
    'training.batchSize',
    'training.learningRate',
    'training.lrSchedule.type',
    'training.optimizer',
    'training.weightDecay',
  ]);
  assert.ok((await cell(runC, 'param:training.weightDecay').getAttribute('class')).includes('default'));
  assert.strictEqual(await table.locator('th.differs[data-key="param:training.learningRate"]').count(), 1);
  assert.strictEqual(await table.locator('td.differs[data-key="param:training.learningRate"]').count(), 3);
  assert.strictEqual(await table.locator('th.same[data-key="param:model.growthRate"]').count(), 1);
  assert.strictEqual(await cell(runA, 'param:model.depth').textContent(), '11');
  assert.match(await cell(runA, 'epochsDone').textContent(), /^2\/2$/);
  assert.match(await cell(runA, 'metric:bestValAcc').textContent(), /^\d+\.\d%$/);
  await view.locator('#hide-equal').check();
  await table.locator('th[data-key="param:model.growthRate"]').waitFor({ state: 'detached', timeout: 5_000 });
  assert.strictEqual(await table.locator('th.differs').count(), 5, 'the differing columns stay');
  assert.strictEqual(await table.locator('th.same').count(), 0);
  await ui.screenshot(page, 'experiments-table');

  // ---------- live: a run trained while the table is open appears and moves ----------
  const live = spawn(
    process.execPath,
    [CLI, 'train', specFile, '--threads', '1', '--workspace', workspace, '--epochs', '40', '--json'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let liveOutput = '';
  live.stdout.on('data', (d) => (liveOutput += d));
  live.stderr.on('data', (d) => (liveOutput = (liveOutput + d).slice(-4000)));
  const liveDone = new Promise((resolve) => live.on('exit', resolve));
  try {
    const running = table.locator('tbody tr[data-status="running"]');
    await running.waitFor({ timeout: 60_000 }).catch((e) => {
      throw new Error(`${e.message}\nthe CLI training wrote:\n${liveOutput}`);
    });
    const first = await running.locator('td[data-key="epochsDone"]').textContent();
    const t0 = Date.now();
    let moved;
    for (;;) {
      const now = await table
        .locator('tbody tr[data-status="running"] td[data-key="epochsDone"]')
        .textContent({ timeout: 2_000 })
        .catch(() => undefined);
      if (now !== undefined && now !== first) {
        moved = now;
        break;
      }
      if (now === undefined) {
        // The run ended between two looks (a fast machine): its row, no longer running, shows where it ended.
        moved = await table
          .locator('tbody tr', { hasText: '40/40' })
          .locator('td[data-key="epochsDone"]')
          .textContent({ timeout: 30_000 })
          .catch(() => undefined);
        if (moved === undefined) throw new Error(`the run ended, but its row stayed at ${first}`);
        break;
      }
      if (Date.now() - t0 > 60_000) throw new Error(`the running row stayed at ${first}`);
      await page.waitForTimeout(200);
    }
    assert.match(moved, /^\d+\/40$/, `the running row moved: ${first} → ${moved}`);
  } finally {
    await liveDone;
  }
  await table.locator('tbody tr', { hasText: '40/40' }).waitFor({ timeout: 30_000 });
  await rows.nth(3).waitFor({ timeout: 5_000 });
  assert.strictEqual(await rows.count(), 4);
  assert.ok((await table.getAttribute('data-differing')).includes('training.optimizer'));

  // ---------- sort ----------
  const lrHeader = table.locator('th[data-key="param:training.learningRate"]');
  const lrs = () => table.locator('tbody td[data-key="param:training.learningRate"]').allTextContents();
  await lrHeader.click();
  assert.deepStrictEqual(await lrs(), ['0.001', '0.003', '0.01', '0.05']);
  assert.strictEqual(await lrHeader.getAttribute('data-sort'), 'asc');
  await table.locator('th[data-key="param:training.learningRate"]').click();
  assert.deepStrictEqual(await lrs(), ['0.05', '0.01', '0.003', '0.001']);

  // ---------- rename and notes, kept in run.json, shown as text ----------
  await row(runA).locator('button.rename').click();
  await answerInput(page, 'adam lr 0.01');
  await cell(runA, 'name').filter({ hasText: 'adam lr 0.01' }).waitFor({ timeout: 10_000 });
  const notes = 'baseline, "first" <b>try</b>';
  await row(runA).locator('button.notes').click();
  await answerInput(page, notes);
  await cell(runA, 'notes').filter({ hasText: 'baseline' }).waitFor({ timeout: 10_000 });
  assert.strictEqual((await cell(runA, 'notes').textContent()).replace(/\s*edit$/, ''), notes);
  assert.strictEqual(await cell(runA, 'notes').locator('b').count(), 0, 'notes are text, not markup');
  const info = JSON.parse(fs.readFileSync(path.join(runA, 'run.json'), 'utf8'));
  assert.strictEqual(info.displayName, 'adam lr 0.01');
  assert.strictEqual(info.notes, notes);
  assert.strictEqual(info.runId, path.basename(runA), 'the folder keeps its id');

  // ---------- overlay two runs; x by step, epoch, wall time; log y ----------
  await row(runA).locator('input.select').check();
  await row(runB).locator('input.select').check();
  const loss = view.locator('#chart-loss');
  await view
    .locator('#chart-loss[data-runs="2"]')
    .waitFor({ timeout: 10_000 })
    .catch(async (e) => {
      throw new Error(`${e.message}\n${await view.locator('#curves-error').textContent()}`);
    });
  const series = (await loss.getAttribute('data-series')).split('|');
  assert.deepStrictEqual(series, [
    'adam lr 0.01 train',
    'adam lr 0.01 val',
    `${path.basename(runB)} train`,
    `${path.basename(runB)} val`,
  ]);
  const metricsA = path.join(runA, 'metrics.jsonl');
  const metricsB = path.join(runB, 'metrics.jsonl');
  const maxStep = Math.max(
    maxOf(metricsA, (r) => r.step),
    maxOf(metricsB, (r) => r.step),
  );
  assert.strictEqual(Number(await loss.getAttribute('data-x-max')), maxStep);
  assert.strictEqual(await loss.getAttribute('data-x-title'), 'step');
  assert.ok(Number(await loss.getAttribute('data-points')) > 10);
  await view.locator('#x-axis').selectOption('epoch');
  await view.locator('#chart-loss[data-x-axis="epoch"]').waitFor({ timeout: 5_000 });
  assert.strictEqual(Number(await loss.getAttribute('data-x-max')), 2);
  assert.strictEqual(await loss.getAttribute('data-x-title'), 'epoch');
  await view.locator('#x-axis').selectOption('time');
  await view.locator('#chart-loss[data-x-axis="time"]').waitFor({ timeout: 5_000 });
  const span = (file) => (maxOf(file, (r) => r.time) - -maxOf(file, (r) => -r.time)) / 1000;
  assert.ok(
    Math.abs(Number(await loss.getAttribute('data-x-max')) - Math.max(span(metricsA), span(metricsB))) < 1e-9,
    'wall time: seconds since the run began',
  );
  assert.strictEqual(await loss.getAttribute('data-y-scale'), 'linear');
  await view.locator('#log-y').check();
  await view.locator('#chart-loss[data-y-scale="logarithmic"]').waitFor({ timeout: 5_000 });
  assert.strictEqual(await view.locator('#chart-acc').getAttribute('data-y-scale'), 'logarithmic');
  await ui.screenshot(page, 'experiments-curves');

  // ---------- CSV: the table as shown (equal columns hidden, sorted by learning rate, descending) ----------
  const csvFile = path.join(dir, 'digits-cmp.runs.csv');
  await view.locator('#export-csv').click();
  await acceptSave(page, csvFile);
  const text = fs.readFileSync(csvFile, 'utf8');
  assert.strictEqual(text.split('\r\n').length, 6, 'a header and 4 records, each ended by CRLF');
  const [header, ...records] = parseCsv(text);
  assert.ok(header.includes('training.learningRate') && header.includes('training.optimizer'), header.join());
  assert.ok(!header.includes('model.growthRate'), 'hidden equal columns are not exported');
  assert.strictEqual(records.length, 4);
  assert.ok(
    records.every((r) => r.length === header.length),
    'every record has every column',
  );
  const column = (name) => records.map((r) => r[header.indexOf(name)]);
  assert.deepStrictEqual(column('training.learningRate'), ['0.05', '0.01', '0.003', '0.001']);
  assert.strictEqual(column('run')[1], 'adam lr 0.01');
  assert.strictEqual(column('notes')[1], notes);
  assert.ok(text.includes('"baseline, ""first"" <b>try</b>"'), 'quoted as RFC 4180');
  assert.ok(header.includes('training.epochs'), 'the live run trained 40 epochs (--epochs), the others 2');

  // ---------- folder scope, delete ----------
  await view.locator('#scope').selectOption('folder');
  await table.locator(`tbody tr[data-run="${runO}"]`).waitFor({ timeout: 10_000 });
  assert.strictEqual(await rows.count(), 5);
  assert.strictEqual(await cell(runO, 'spec').textContent(), 'other-cmp');
  await row(runO).locator('button.delete').click();
  const dialog = page.locator('.monaco-dialog-box');
  await dialog.waitFor({ timeout: 10_000 });
  assert.match(await dialog.textContent(), /goes to the trash/);
  await dialog.locator('.monaco-button', { hasText: 'Move to Trash' }).click();
  // Where the file system has no trash (code-server's remote files), a second confirmation says so.
  const permanently = dialog.locator('.monaco-button', { hasText: 'Delete Permanently' });
  const t0 = Date.now();
  while (fs.existsSync(runO)) {
    if (await permanently.isVisible().catch(() => false)) {
      console.log('  the file system has no trash here: deleted permanently after the second confirmation');
      await permanently.click();
    }
    if (Date.now() - t0 > 15_000) throw new Error(`${runO} was not deleted`);
    await page.waitForTimeout(200);
  }
  await table.locator(`tbody tr[data-run="${runO}"]`).waitFor({ state: 'detached', timeout: 10_000 });
  assert.strictEqual(await rows.count(), 4);
  assert.ok(fs.existsSync(runA) && fs.existsSync(runB) && fs.existsSync(runC), 'the other runs are kept');

  // ---------- TensorBoard: not on this PATH, the exact command with Copy ----------
  await view.locator('#tensorboard').click();
  await view.locator('#tb-box').waitFor({ state: 'visible', timeout: 5_000 });
  assert.strictEqual(
    await view.locator('#tb-command').textContent(),
    `tensorboard --logdir ${path.join(workspace, '.densenet', 'runs')}`,
  );
  await view.locator('#tb-copy').click();
  await view.locator('#tb-copied', { hasText: 'Copied.' }).waitFor({ timeout: 5_000 });
  await ui.screenshot(page, 'experiments');

  // ---------- opened from the Explorer's context menu of a folder, and from the dashboard ----------
  await page
    .locator('.explorer-folders-view .monaco-list-row', { hasText: 'runs-ui' })
    .first()
    .click({ button: 'right' });
  await page
    .locator('.context-view .action-label', { hasText: /^Compare Runs$/ })
    .first()
    .click();
  await page.locator('.tab', { hasText: 'Runs: runs-ui/' }).first().waitFor({ timeout: 15_000 });
  for (let i = 0; i < 5 && (await page.locator('.context-view.monaco-menu-container').count()) > 0; i++) {
    await page.keyboard.press('Escape'); // a menu left open (code-server)
    await page.waitForTimeout(200);
  }
  await page.locator('.tab', { hasText: 'digits.densenet.json' }).first().click();
  await page.locator('.tabs-container .tab.active[data-resource-name="digits.densenet.json"]').waitFor();
  await ui.runCommand(page, 'DenseNet: Open Training Dashboard');
  let button;
  for (const t = Date.now(); !button; await page.waitForTimeout(250)) {
    for (const f of page.frames())
      if (
        (await f
          .locator('#compare-runs')
          .count()
          .catch(() => 0)) > 0
      )
        button = f.locator('#compare-runs');
    if (!button && Date.now() - t > 30_000) throw new Error('the dashboard has no Compare Runs button');
  }
  await button.click();
  await page.locator('.tab', { hasText: 'Runs: digits' }).first().waitFor({ timeout: 15_000 });
}
