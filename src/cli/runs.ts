/**
 * `densenet-lab runs <folder>`: the runs under a folder with the status a reader should trust (`interrupted`
 * for a run whose writer died), from the run store alone (no tfjs).
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { UsageError } from '../protocol/cli';
import { bestFigureText } from '../metrics/bestFigure';
import { isResumable } from '../runs/checkpointFiles';
import {
  epochsTrained,
  listRuns,
  newestFirst,
  readRunListing,
  RUN_JSON,
  type RunListing,
  runsRoot,
} from '../runs/runFolder';
import { describeHolder, readLockHolder } from '../runs/runLock';

/** The runs a folder designates: itself (a run folder), its runs (a spec's runs folder), or a workspace's. */
function runsUnder(folder: string): RunListing[] {
  if (fs.existsSync(path.join(folder, RUN_JSON))) {
    const run = readRunListing(folder);
    return run ? [run] : [];
  }
  const root = runsRoot(folder);
  if (!fs.existsSync(root)) return listRuns(folder);
  const runs: RunListing[] = [];
  for (const d of fs.readdirSync(root, { withFileTypes: true }))
    if (d.isDirectory()) runs.push(...listRuns(path.join(root, d.name)));
  return runs.sort(newestFirst);
}

const best = (r: RunListing): string => {
  const text = bestFigureText(r);
  return text ? ` · ${text}` : '';
};

function line(r: RunListing): string {
  const holder = r.status === 'running' ? readLockHolder(r.runDir) : undefined;
  const note =
    r.status === 'interrupted'
      ? ' · its writer died: train --resume continues from the last checkpoint'
      : holder
        ? ` · written by ${describeHolder(holder)}`
        : '';
  const trained = epochsTrained(r) ?? 0;
  const epochs = Number.isInteger(trained) ? String(trained) : trained.toFixed(2);
  return `${r.specName}/${r.runId}  ${r.status} · ${epochs}/${r.epochs} epochs${best(r)}${note}`;
}

export function runsCommand(argv: string[], out: (s: string) => void, err: (s: string) => void): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false } },
  });
  if (positionals.length > 1) throw new UsageError('runs takes one folder');
  const folder = path.resolve(positionals[0] ?? '.');
  if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory()) {
    err(`densenet-lab: ${positionals[0]} is not a folder: give a run folder, a spec's runs folder or a workspace`);
    return 1;
  }
  const runs = runsUnder(folder);
  if (values.json) {
    out(
      JSON.stringify(
        runs.map((r) => ({
          runDir: r.runDir,
          runId: r.runId,
          specName: r.specName,
          status: r.status,
          epochs: r.epochs,
          epochsCompleted: r.epochsCompleted ?? 0,
          epochsTrained: epochsTrained(r) ?? 0,
          bestValAccuracy: r.bestValAccuracy ?? null,
          bestMonitor: r.bestMonitor ?? null,
          bestValue: r.bestValue ?? null,
          resumable: isResumable(r),
          writer: r.status === 'running' ? (readLockHolder(r.runDir) ?? null) : null,
        })),
      ),
    );
  } else if (runs.length === 0) out(`no runs under ${folder}`);
  else for (const r of runs) out(line(r));
  return 0;
}
