// Runs an extension test entry (`export function run(): Promise<void>`, mocha inside the extension host,
// as with @vscode/test-electron) in a real VS Code (code-server) driven by headless chromium.
//
// Usage: node scripts/run-integration.mjs --tests <abs compiled entry .js> --workspace <folder>
//          [--results test-results/integration.json] [--extension <extensionDevelopmentPath, default: repo>]
//          [--timeout <seconds, default 300>]
// The workbench opens a temp copy of --workspace. Prints the extension host's console output (mocha's
// report) as it comes, writes the counts from the entry's `RESULTS {"passed":N,"failed":N,"skipped":N}`
// line to --results, exits with the host's code (1 if there was no RESULTS line; on failure the logs are
// kept in test-artifacts/integration-logs/).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { format, parseArgs } from 'node:util';
import { ROOT, startServer, workbenchUrl, launchBrowser, withCleanup } from './lib/vscode-server.mjs';

const { values: opts } = parseArgs({
  options: {
    tests: { type: 'string' },
    workspace: { type: 'string' },
    results: { type: 'string', default: 'test-results/integration.json' },
    extension: { type: 'string', default: ROOT },
    timeout: { type: 'string', default: '300' },
  },
});
if (!opts.tests || !opts.workspace) {
  console.error('usage: node scripts/run-integration.mjs --tests <entry.js> --workspace <folder> [--results <file>]');
  process.exit(2);
}
const tests = path.resolve(opts.tests);
const workspace = path.resolve(opts.workspace);
for (const p of [tests, workspace, opts.extension]) {
  if (!fs.existsSync(p)) {
    console.error(`run-integration: not found: ${p}`);
    process.exit(2);
  }
}

// Workbench start-up chatter that also goes through codeAutomationLog; the offline gallery error is harmless.
const NOISE =
  /^(Resolving connection token|Resolved connection token|Creating a socket|Updating additional builtin extensions cache|\[Service Worker\]|ChatSessionStore:|getaddrinfo ENOTFOUND open-vsx\.org)/;
const started = Date.now();
let results = null;

let code = await withCleanup(async (cleanups) => {
  // The tests may write into the workspace: give them a temp copy, so the repo stays clean.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'it-ws-'));
  cleanups.push(async () => fs.rmSync(tmp, { recursive: true, force: true }));
  const folder = path.join(tmp, path.basename(workspace));
  fs.cpSync(workspace, folder, { recursive: true });
  const server = await startServer();
  cleanups.push(server.stop);
  const browser = await launchBrowser();
  cleanups.push(() => browser.close());
  const page = await browser.newPage();

  let finish;
  const finished = new Promise((resolve) => (finish = resolve));
  // Both must exist before the workbench loads: it looks them up when the extension tests start.
  // codeAutomationLog(level, args) gets the window log, including the extension host's console.* calls,
  // with console's printf-style arguments unformatted.
  await page.exposeFunction('codeAutomationLog', (level, args) => {
    const line = format(...(Array.isArray(args) ? args : [args]));
    const m = /^RESULTS (\{.*\})\s*$/m.exec(line);
    if (m) results = JSON.parse(m[1]);
    if (!NOISE.test(line))
      process.stdout.write(`${level === 'error' || level === 'warn' ? `[${level}] ` : ''}${line}\n`);
  });
  // codeAutomationExit(code, logs): the test entry's run() resolved (0) or rejected (1).
  await page.exposeFunction('codeAutomationExit', (exitCode, logs) => finish({ exitCode: Number(exitCode), logs }));
  page.on('crash', () => finish({ exitCode: 1, error: 'the browser page crashed' }));
  const timer = setTimeout(
    () => finish({ exitCode: 1, error: `timed out after ${opts.timeout} s` }),
    Number(opts.timeout) * 1000,
  );
  cleanups.push(async () => clearTimeout(timer));

  await page.goto(
    workbenchUrl({ port: server.port, folder, extensionDevelopmentPath: opts.extension, extensionTestsPath: tests }),
    { timeout: 60_000 },
  );
  const outcome = await finished;
  if (outcome.error) console.error(`run-integration: ${outcome.error}`);
  if (outcome.exitCode !== 0) saveLogs(server, outcome.logs);
  return outcome.exitCode;
}).catch((err) => {
  console.error(`run-integration: ${err.stack ?? err}`);
  return 1;
});

if (!results) {
  console.error('run-integration: the test entry printed no RESULTS line');
  results = { passed: 0, failed: 1, skipped: 0 };
  code ||= 1;
}
fs.mkdirSync(path.dirname(path.resolve(opts.results)), { recursive: true });
fs.writeFileSync(opts.results, JSON.stringify(results) + '\n');
console.log(
  `integration: ${results.passed} passed, ${results.failed} failed, ${results.skipped ?? 0} skipped (exit ${code}, ${((Date.now() - started) / 1000).toFixed(1)} s)`,
);
process.exit(code);

/** On failure: keep the workbench's and the server's logs (extension host included) in test-artifacts/. */
function saveLogs(server, windowLogs = []) {
  const dir = path.join(ROOT, 'test-artifacts/integration-logs');
  fs.rmSync(dir, { recursive: true, force: true });
  for (const { relativePath, contents } of windowLogs) {
    const file = path.join(dir, 'window', relativePath);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, contents);
  }
  fs.mkdirSync(dir, { recursive: true });
  const serverLogs = path.join(server.stateDir, 'user-data/logs');
  if (fs.existsSync(serverLogs)) fs.cpSync(serverLogs, path.join(dir, 'server'), { recursive: true });
  fs.copyFileSync(server.logFile, path.join(dir, 'server.log'));
  console.error(`run-integration: logs saved in ${path.relative(process.cwd(), dir)}/`);
}
