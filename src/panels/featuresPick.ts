/**
 * What the feature maps panel asks the user for: a checkpoint (a run's best, else latest, or a spec's untrained
 * model; the runs' checkpoints only in a trusted workspace) and an image; and how it names a checkpoint's epoch.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import type { RunListing } from '../runs/runFolder';
import { locateCheckpoint, readTrainingState, runsWithCheckpoints } from '../runs/checkpointFiles';
import type { CheckpointRef } from '../protocol/features';
import { bestFigureText } from '../metrics/bestFigure';
import { isUntrainedModel, UNTRUSTED_CHECKPOINT } from './trust';

const LAST_CHECKPOINT_KEY = 'densenet.features.lastCheckpoint';
export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'gif', 'webp', 'tif', 'tiff'];

export type CheckpointChoice = CheckpointRef;

/**
 * Which checkpoint of `p` the engine loads and at which epoch (`epoch 3 (best)`), `random weights` for a spec;
 * undefined when the checkpoint has no readable training state.
 */
export function checkpointDetail(p: string): string | undefined {
  if (isUntrainedModel(p)) return 'random weights';
  try {
    const { modelPath } = locateCheckpoint(p);
    const dir = modelPath.endsWith('.json') ? path.dirname(modelPath) : modelPath;
    const kind = path.basename(dir).replace(/\.old$/, '');
    const state = readTrainingState(dir);
    return state ? `epoch ${state.epoch} (${kind})` : undefined;
  } catch {
    return undefined;
  }
}

const runLabel = (r: RunListing): string => `${r.specName} / ${r.runId}`;

/** Asks for a checkpoint (`title`: what for); remembers the last one picked first in the list. */
export async function pickCheckpoint(
  context: vscode.ExtensionContext,
  title = 'Visualize Feature Maps: pick a checkpoint',
): Promise<CheckpointChoice | undefined> {
  const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
  // In an untrusted workspace no checkpoint is loaded: only the specs' untrained models are offered.
  const trusted = vscode.workspace.isTrusted;
  const runs = trusted ? runsWithCheckpoints(folders) : [];
  const specs = await vscode.workspace.findFiles('**/*.densenet.json', '**/{node_modules,.densenet}/**', 200);
  if (!trusted && specs.length === 0) {
    void vscode.window.showWarningMessage(UNTRUSTED_CHECKPOINT);
    return undefined;
  }
  if (runs.length === 0 && specs.length === 0) {
    const choice = await vscode.window.showWarningMessage(
      'No run with a checkpoint and no *.densenet.json spec in this workspace: create a spec (DenseNet: New Model Spec...) and train it.',
      'New Model Spec',
    );
    if (choice) void vscode.commands.executeCommand('densenet.newSpec');
    return undefined;
  }
  const last = context.workspaceState.get<string>(LAST_CHECKPOINT_KEY);
  const ordered = [...runs.filter((r) => r.runDir === last), ...runs.filter((r) => r.runDir !== last)];
  type Item = vscode.QuickPickItem & { choice?: CheckpointChoice };
  const items: Item[] = ordered.map((r) => ({
    label: runLabel(r),
    description: [
      r.status,
      r.epochsCompleted !== undefined ? `${r.epochsCompleted}/${r.epochs} epochs` : undefined,
      bestFigureText(r, 1) || undefined,
      r.runDir === last ? 'last used' : undefined,
    ]
      .filter((s) => s !== undefined)
      .join(' · '),
    detail: vscode.workspace.asRelativePath(r.runDir),
    choice: { path: r.runDir, label: runLabel(r) },
  }));
  if (!trusted) {
    items.push({
      label: '$(shield) Trained runs',
      description: 'their checkpoints load only in a trusted workspace',
      detail: 'Manage Workspace Trust to inspect them',
    });
  }
  if (specs.length > 0) {
    items.push({ label: 'Untrained models', kind: vscode.QuickPickItemKind.Separator });
    for (const uri of specs) {
      const name = path.basename(uri.fsPath).replace(/\.densenet\.json$/, '');
      items.push({
        label: `$(circle-outline) ${name} (untrained)`,
        description: 'random weights',
        detail: vscode.workspace.asRelativePath(uri),
        choice: { path: uri.fsPath, label: `${name} (untrained)` },
      });
    }
  }
  const picked = await vscode.window.showQuickPick(items, {
    title,
    placeHolder: "Run (its best checkpoint, else latest), or a spec's untrained model",
    matchOnDetail: true,
  });
  if (picked && !picked.choice && !trusted) void vscode.window.showWarningMessage(UNTRUSTED_CHECKPOINT);
  if (!picked?.choice) return undefined;
  void context.workspaceState.update(LAST_CHECKPOINT_KEY, picked.choice.path);
  if (isUntrainedModel(picked.choice.path)) {
    void vscode.window.showInformationMessage(
      `${picked.choice.label}: the weights are random, so the maps show what the architecture does before any training and the predictions mean nothing yet.`,
    );
  }
  return { ...picked.choice, detail: checkpointDetail(picked.choice.path) };
}

export async function resolveImage(arg: unknown): Promise<vscode.Uri | undefined> {
  if (arg instanceof vscode.Uri) return arg;
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input instanceof vscode.TabInputCustom || input instanceof vscode.TabInputText) {
    const ext = path.extname(input.uri.fsPath).slice(1).toLowerCase();
    if (IMAGE_EXTENSIONS.includes(ext)) return input.uri;
  }
  const picked = await vscode.window.showOpenDialog({
    title: 'Visualize Feature Maps: pick an image',
    canSelectMany: false,
    filters: { Images: IMAGE_EXTENSIONS },
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
  });
  return picked?.[0];
}
