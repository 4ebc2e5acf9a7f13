// Starts a real VS Code (code-server 4.100.3, installed by scripts/setup-vscode.sh) on 127.0.0.1 and
// drives it with Playwright + Debian's chromium. See shared/real-vscode.md for why it is done this way.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ENTRY = path.join(ROOT, '.vscode-test/code-server/node_modules/code-server/out/node/entry.js');
const CHROMIUM = '/usr/bin/chromium';

// User settings for a quiet, deterministic workbench.
const USER_SETTINGS = {
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'workbench.startupEditor': 'none',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.openRepositoryInParentFolders': 'never',
};

/** Resolves with `preferred` if it can be bound on 127.0.0.1, else (or without it) with a free port. */
export function freePort(preferred) {
  const tryListen = (port) =>
    new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => {
        const { port: p } = srv.address();
        srv.close(() => resolve(p));
      });
    });
  return preferred ? tryListen(preferred).catch(() => tryListen(0)) : tryListen(0);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitForHealthz(port, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode)
      throw new Error(`code-server exited (${child.exitCode ?? child.signalCode})`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`code-server did not answer /healthz within ${timeoutMs} ms`);
}

/**
 * Starts code-server in its own process group with fresh HOME/XDG/user-data/extensions folders.
 * options.port: exact port (default: a free one). options.workspace: folder opened by a plain `url`.
 * options.stateDir: keep state there (e.g. .vscode-test/user-data) instead of a temp dir removed on stop.
 * options.lifetimeSeconds: hard limit enforced by `timeout(1)` even if this process is killed (0 = none).
 * Returns { url, port, stateDir, logFile, exited, stop() }: `exited` resolves when code-server ends by
 * itself or is stopped; stop() kills the whole process group.
 */
export async function startServer({ workspace, port, stateDir, lifetimeSeconds = 1800, readyTimeoutMs = 60_000 } = {}) {
  if (!fs.existsSync(ENTRY)) throw new Error(`code-server is not installed: run bash scripts/setup-vscode.sh`);
  if (port && (await freePort(port)) !== port) throw new Error(`port ${port} on 127.0.0.1 is in use`);
  port ??= await freePort();
  const persistent = Boolean(stateDir);
  const dir = persistent ? path.resolve(stateDir) : fs.mkdtempSync(path.join(os.tmpdir(), 'vscode-server-'));
  const d = (name) => {
    const p = path.join(dir, name);
    fs.mkdirSync(p, { recursive: true });
    return p;
  };
  const home = d('home');
  const userData = d('user-data');
  const extensions = d('extensions');
  const settingsFile = path.join(d('user-data/User'), 'settings.json');
  // A persistent state keeps the user's own changes; a fresh one always gets the defaults.
  if (!persistent || !fs.existsSync(settingsFile))
    fs.writeFileSync(settingsFile, JSON.stringify(USER_SETTINGS, null, 2));
  const config = path.join(dir, 'config.yaml');
  fs.writeFileSync(config, 'auth: none\ncert: false\n');
  const logFile = path.join(dir, 'server.log');
  const logFd = fs.openSync(logFile, 'a');

  // VS Code puts its IPC and git sockets in the temp dir; a short private one is removed on stop.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vscode-tmp-'));
  const env = {
    ...process.env,
    TMPDIR: tmp,
    XDG_RUNTIME_DIR: tmp,
    HOME: home,
    XDG_CONFIG_HOME: d('home/.config'),
    XDG_DATA_HOME: d('home/.local/share'),
    XDG_CACHE_HOME: d('home/.cache'),
  };
  // code-server reads these from the environment and they would override our flags.
  for (const k of ['PORT', 'PASSWORD', 'HASHED_PASSWORD', 'GITHUB_TOKEN']) delete env[k];

  const args = [
    ENTRY,
    '--config',
    config,
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--auth',
    'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--ignore-last-opened',
    '--user-data-dir',
    userData,
    '--extensions-dir',
    extensions,
  ];
  const [cmd, cmdArgs] =
    lifetimeSeconds > 0
      ? ['timeout', ['--kill-after=10', String(lifetimeSeconds), process.execPath, ...args]]
      : [process.execPath, args];
  // detached: the child is the leader of a new session/process group (setsid), so stop() can kill
  // code-server together with its extension hosts, file watchers and pty hosts.
  const child = spawn(cmd, cmdArgs, { cwd: home, env, detached: true, stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));

  let stopped = false;
  const killGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const onExit = () => killGroup('SIGKILL'); // last resort when this process exits without stop()
  process.on('exit', onExit);

  async function stop() {
    if (stopped) return;
    stopped = true;
    process.off('exit', onExit);
    killGroup('SIGTERM');
    for (let i = 0; i < 50 && groupAlive(child.pid); i++) await sleep(100);
    killGroup('SIGKILL');
    fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
    if (!persistent) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  }

  try {
    await waitForHealthz(port, child, readyTimeoutMs);
  } catch (err) {
    const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-4000) : '';
    await stop();
    throw new Error(`${err.message}\n--- server log ---\n${log}`);
  }
  const url = workspace
    ? `http://127.0.0.1:${port}/?folder=${encodeURIComponent(path.resolve(workspace))}`
    : `http://127.0.0.1:${port}/`;
  return { url, port, stateDir: dir, logFile, exited, stop };
}

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The workbench URL that opens `folder` with the extension at `extensionDevelopmentPath` loaded as in
 * an Extension Development Host, and, with `extensionTestsPath`, runs that test entry's `run()`.
 */
export function workbenchUrl({ port, folder, extensionDevelopmentPath = ROOT, extensionTestsPath }) {
  const remote = (p) => `vscode-remote://127.0.0.1:${port}${path.resolve(p)}`;
  const payload = [['extensionDevelopmentPath', remote(extensionDevelopmentPath)]];
  if (extensionTestsPath) payload.push(['extensionTestsPath', remote(extensionTestsPath)]);
  return `http://127.0.0.1:${port}/?folder=${encodeURIComponent(path.resolve(folder))}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

/** A headless Playwright chromium (Debian's /usr/bin/chromium; never `playwright install`). */
export async function launchBrowser({ headless = true } = {}) {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless,
    timeout: 30_000,
    // Playwright's own handlers would exit(130) before withCleanup() has stopped the server.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/** Runs `fn` and kills everything it started (via `cleanups`) on return, error, Ctrl+C or SIGTERM. */
export async function withCleanup(fn) {
  const cleanups = [];
  let cleaning; // one shared run, whether a signal or the end of `fn` asks first
  const cleanup = () =>
    (cleaning ??= (async () => {
      while (cleanups.length)
        await cleanups
          .pop()()
          .catch(() => {});
    })());
  const onSignal = (sig) => {
    cleanup().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await fn(cleanups);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}
