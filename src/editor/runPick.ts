/**
 * Asks for one of the workspace's runs that have a checkpoint (newest first), as Evaluate and Export Model do
 * when no run folder is given; warns with `noRuns` when there is none.
 */
import * as vscode from 'vscode';
import { runsWithCheckpoints } from '../runs/checkpointFiles';
import type { RunListing } from '../runs/runFolder';

export interface RunPick {
  /** The warning when the workspace has no run with a checkpoint: what to do first. */
  noRuns: string;
  /** The items' description and detail. */
  describe(run: RunListing): { description: string; detail: string };
  options: vscode.QuickPickOptions;
}

/** The run folder picked, or undefined (none, or the pick was dismissed). */
export async function pickRunWithCheckpoint(p: RunPick): Promise<string | undefined> {
  const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
  const runs = runsWithCheckpoints(folders);
  if (runs.length === 0) {
    void vscode.window.showWarningMessage(p.noRuns);
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    runs.map((r) => ({ label: `${r.specName} / ${r.runId}`, ...p.describe(r), runDir: r.runDir })),
    p.options,
  );
  return picked?.runDir;
}
