/**
 * `densenet-lab stop <run folder>`: stops a training at its next batch boundary, with a checkpoint (status
 * `stopped`). A run trained by the editor's detached engine is asked over its socket; a run trained by
 * `densenet-lab train` (or an engine whose socket does not answer) gets SIGTERM, which both handle as a stop.
 * Waits until run.json says how it ended. No tfjs here.
 */
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';
import { UsageError } from '../protocol/cli';
import { connectRun } from '../runs/runClient';
import { liveEngineOf } from '../runs/runEngine';
import { describeStop, readRunInfo, readRunListing } from '../runs/runFolder';
import { describeHolder, isHolderAlive, readLockHolder } from '../runs/runLock';

const DEFAULT_TIMEOUT_S = 600;

/** Asks the run's engine over its socket; false when it cannot be reached. */
async function askEngine(socket: string, err: (s: string) => void): Promise<boolean> {
  let client;
  try {
    client = await connectRun(socket);
  } catch (e) {
    err(`densenet-lab: ${(e as Error).message}; sending SIGTERM instead`);
    return false;
  }
  try {
    await client.endpoint.request('stop', null);
    return true;
  } catch {
    return false;
  } finally {
    client.close();
  }
}

/** Waits until the run's writer is gone (its status then written); false on timeout. */
async function waitForEnd(runDir: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const holder = readLockHolder(runDir);
    if (!holder || !isHolderAlive(holder)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

export async function stopCommand(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { timeout: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) throw new UsageError('stop takes one run folder');
  const timeout = values.timeout === undefined ? DEFAULT_TIMEOUT_S : Number(values.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw new UsageError(`--timeout must be a number of seconds above 0 (got "${values.timeout}")`);
  const runDir = path.resolve(positionals[0]);
  const run = readRunListing(runDir);
  if (!run) {
    err(`densenet-lab: ${positionals[0]} is not a run folder (no run.json): give the folder of the run to stop`);
    return 1;
  }
  if (run.status !== 'running') {
    err(`densenet-lab: ${run.specName}/${run.runId} is not training (status ${run.status}); nothing to stop`);
    return 1;
  }
  const holder = readLockHolder(runDir);
  const engine = liveEngineOf(run);
  const asked = engine ? await askEngine(engine.socket, err) : false;
  if (!asked) {
    if (!holder || holder.host !== os.hostname()) {
      err(
        `densenet-lab: ${runDir} is trained by ${holder ? describeHolder(holder) : 'a process that left no writer.lock'}: stop it on that machine`,
      );
      return 1;
    }
    process.kill(holder.pid, 'SIGTERM');
  }
  if (!(await waitForEnd(runDir, timeout * 1000))) {
    err(
      `densenet-lab: asked ${runDir} to stop, but it still trains after ${timeout} s (a long batch?); run stop again or wait`,
    );
    return 1;
  }
  const info = readRunInfo(runDir);
  const status = info?.status ?? 'unknown';
  if (values.json)
    out(
      JSON.stringify({
        runDir,
        status,
        stoppedAt: info?.stoppedAt ?? null,
        epochsCompleted: info?.epochsCompleted ?? 0,
      }),
    );
  else if (status === 'stopped')
    out(`${describeStop(info?.stoppedAt, info?.epochsCompleted ?? 0)}; run ${runDir} (train --resume continues it)`);
  else out(`${status}: run ${runDir}`);
  return status === 'failed' || status === 'unknown' ? 1 : 0;
}
