/**
 * The feature maps panel (host side): `DenseNet: Visualize Feature Maps` on an image (explorer context menu,
 * image preview title, palette with a file picker) -> pick a run's checkpoint -> a webview showing the input as
 * the model sees it, the top-5 classes, a gallery of every channel of a layer, Grad-CAM, saliency and
 * activation maximisation. All tensor work happens in the inspection engine process (InspectionClient). In an
 * untrusted workspace only a spec's untrained model is offered and loaded, never a run's checkpoint (./trust.ts).
 * Contract with the webview: src/protocol/features.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { RunListing } from '../runs/runFolder';
import { runsWithCheckpoints } from '../runs/checkpointFiles';
import { InspectionClient } from '../editor/inspectionClient';
import type {
  FeaturesHost,
  FeaturesInspections,
  FeaturesState,
  FeaturesView,
  InspectionKind,
  MaximiseProgress,
} from '../protocol/features';
import type { SaveResult } from '../protocol/panel';
import type { HandlerContext } from '../protocol/rpc';
import type { PanelDeps } from './deps';
import { createWebviewPanel, PanelBase, registerPanelCommand, registerPanelSerializer } from './panelBase';
import { checkpointRefusal, isUntrainedModel, UNTRUSTED_CHECKPOINT } from './trust';

export const FEATURES_VIEW_TYPE = 'densenet.features';
const LAST_CHECKPOINT_KEY = 'densenet.features.lastCheckpoint';
const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'gif', 'webp', 'tif', 'tiff'];

/** What the webview persists (vscode.setState) so the panel can be restored after a reload. */
interface PersistedState {
  imagePath?: string;
  checkpointPath?: string;
  checkpointLabel?: string;
}

interface CheckpointChoice {
  path: string;
  label: string;
}

const runLabel = (r: RunListing): string => `${r.specName} / ${r.runId}`;

async function pickCheckpoint(context: vscode.ExtensionContext): Promise<CheckpointChoice | undefined> {
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
      r.bestValAccuracy !== undefined ? `best ${(r.bestValAccuracy * 100).toFixed(1)}%` : undefined,
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
    title: 'Visualize Feature Maps: pick a checkpoint',
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
  return picked.choice;
}

async function resolveImage(arg: unknown): Promise<vscode.Uri | undefined> {
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

class FeatureMapsPanel extends PanelBase<FeaturesState, FeaturesHost, FeaturesView> {
  /** Aborted when another image or checkpoint loads: the inspections of the previous one stop. */
  private loadAbort = new AbortController();
  private state: FeaturesState = { loading: false };
  private loadToken = 0;
  private commandStartedAt: number | undefined;
  private galleryTimed = false;

  constructor(
    panel: vscode.WebviewPanel,
    deps: PanelDeps,
    private readonly inspection: InspectionClient,
  ) {
    super(panel, deps, { bundle: 'features', title: 'Feature Maps', name: 'Feature maps' });
    // The webview shows an inspection's failure in its own status line.
    const shown = { shownByWebview: true };
    this.channel.handle('activations', (params, context) => this.inspect('activations', params, context), shown);
    this.channel.handle('gradcam', (params, context) => this.inspect('gradcam', params, context), shown);
    this.channel.handle('saliency', (params, context) => this.inspect('saliency', params, context), shown);
    this.channel.handle('maximise', (params, context) => this.inspect('maximise', params, context), shown);
    this.channel.handle('export', ({ name, dataUrl }) => this.export(name, dataUrl));
    this.channel.handle('pickCheckpoint', () => this.pickCheckpoint());
    this.channel.handle('pickImage', () => this.pickImage());
    this.channel.on('rendered', (m) => {
      if (this.commandStartedAt !== undefined && !this.galleryTimed) {
        this.galleryTimed = true;
        this.deps.output.info(
          `Feature maps: gallery of ${m.layer} (${m.channels} channels) ${Date.now() - this.commandStartedAt} ms after the checkpoint was picked`,
        );
      }
    });
  }

  protected fullState(): FeaturesState {
    return { ...this.state, commandStartedAt: this.commandStartedAt };
  }

  private postState(): void {
    this.channel.notify('state', this.fullState());
  }

  /** Inspect `image` with `checkpoint`: describe the model and predict (the webview asks for the rest). */
  async load(image: string, checkpoint: CheckpointChoice, commandStartedAt?: number): Promise<void> {
    const token = ++this.loadToken;
    this.commandStartedAt = commandStartedAt;
    this.galleryTimed = false;
    this.loadAbort.abort();
    this.loadAbort = new AbortController();
    this.panel.title = `Feature Maps: ${path.basename(image)}`;
    const refusal = checkpointRefusal(checkpoint.path, vscode.workspace.isTrusted);
    if (refusal) {
      // A panel restored after a reload, or asked for another image, in a workspace that is not trusted.
      this.state = { loading: false, image: { path: image, name: path.basename(image) }, checkpoint, error: refusal };
      this.deps.output.warn(`Feature maps: ${refusal}`);
      this.postState();
      return;
    }
    this.state = { loading: true, image: { path: image, name: path.basename(image) }, checkpoint };
    this.postState();
    try {
      const started = Date.now();
      // describe first: it loads (and caches) the checkpoint in the engine; predict then reuses it.
      const model = await this.inspection.inspect('describe', { checkpoint: checkpoint.path });
      const predicted = await this.inspection.inspect('predict', { checkpoint: checkpoint.path, image, k: 5 });
      if (token !== this.loadToken) return;
      const { display, height, width, channels } = predicted.image;
      this.state = {
        ...this.state,
        loading: false,
        model,
        input: { display, height, width, channels },
        predictions: predicted.predictions,
      };
      this.deps.output.info(
        `Feature maps: ${path.basename(image)} with ${checkpoint.label}: model and predictions in ${Date.now() - started} ms`,
      );
    } catch (e) {
      if (token !== this.loadToken) return;
      const message = e instanceof Error ? e.message : String(e);
      this.state = { ...this.state, loading: false, error: message };
      this.deps.output.error(`Feature maps: ${message}`);
    }
    this.postState();
  }

  private async pickCheckpoint(): Promise<void> {
    const image = this.state.image?.path;
    const checkpoint = await pickCheckpoint(this.deps.context);
    if (image && checkpoint) await this.load(image, checkpoint);
  }

  private async pickImage(): Promise<void> {
    const uri = await vscode.window.showOpenDialog({
      canSelectMany: false,
      filters: { Images: IMAGE_EXTENSIONS },
      defaultUri: this.state.image ? vscode.Uri.file(path.dirname(this.state.image.path)) : undefined,
    });
    if (uri?.[0] && this.state.checkpoint) await this.load(uri[0].fsPath, this.state.checkpoint);
  }

  /**
   * One of the webview's inspections of the current image and checkpoint, run by the inspection engine. It stops
   * when the webview aborts the request, the panel closes, or another image or checkpoint loads.
   */
  private async inspect<K extends InspectionKind>(
    kind: K,
    params: FeaturesInspections[K]['params'],
    context: HandlerContext<MaximiseProgressOf<K>>,
  ): Promise<FeaturesInspections[K]['result']> {
    const checkpoint = this.state.checkpoint?.path;
    const image = this.state.image?.path;
    if (!checkpoint || !image) throw new Error('No image or checkpoint chosen yet.');
    const signal = AbortSignal.any([context.signal, this.loadAbort.signal]);
    const request = { kind, ...params } as WebviewInspection;
    // Only maximisation reports progress.
    const onProgress = (p: MaximiseProgress) => context.progress(p as MaximiseProgressOf<K>);
    const started = Date.now();
    const result = await this.answer(request, checkpoint, image, signal, onProgress);
    const what = describeInspection(request);
    this.deps.output.info(`Feature maps: ${what} answered by the engine in ${Date.now() - started} ms`);
    return result as FeaturesInspections[K]['result'];
  }

  /** The engine's answer to one inspection of the webview (on the panel's checkpoint and image). */
  private async answer(
    req: WebviewInspection,
    checkpoint: string,
    image: string,
    signal: AbortSignal,
    onProgress: (progress: MaximiseProgress) => void,
  ): Promise<FeaturesInspections[InspectionKind]['result']> {
    switch (req.kind) {
      case 'activations': {
        // The engine answers the activations of a list of layers: the webview asks for one, as 8-bit codes.
        const layers = [req.layer];
        const [activation] = await this.inspection.inspect(
          'activationCodes',
          { checkpoint, image, layers },
          { signal },
        );
        return activation;
      }
      case 'gradcam': {
        const { layerName, classIndex } = req;
        return this.inspection.inspect('gradcam', { checkpoint, image, layerName, classIndex }, { signal });
      }
      case 'saliency': {
        const { classIndex, samples } = req;
        return this.inspection.inspect('saliency', { checkpoint, image, classIndex, samples }, { signal });
      }
      case 'maximise': {
        return this.inspection.inspect(
          'maximise',
          { checkpoint, target: req.target, steps: req.steps },
          { signal, onProgress },
        );
      }
    }
  }

  private async export(name: string, dataUrl: string): Promise<SaveResult> {
    const match = /^data:image\/png;base64,(.*)$/.exec(dataUrl);
    if (!match) throw new Error('Export failed: the view did not produce a PNG.');
    const base = this.state.image ? path.parse(this.state.image.path).name : 'features';
    const safe = `${base}-${name}`.replace(/[^\w.-]+/g, '_');
    const folder =
      vscode.workspace.workspaceFolders?.[0]?.uri ??
      (this.state.image ? vscode.Uri.file(path.dirname(this.state.image.path)) : undefined);
    const target = await vscode.window.showSaveDialog({
      title: 'Export view as PNG',
      defaultUri: folder ? vscode.Uri.joinPath(folder, `${safe}.png`) : undefined,
      filters: { 'PNG image': ['png'] },
    });
    if (!target) return { saved: false };
    await vscode.workspace.fs.writeFile(target, Buffer.from(match[1], 'base64'));
    void vscode.window.showInformationMessage(`Saved ${vscode.workspace.asRelativePath(target)}`);
    return { saved: true, path: target.fsPath };
  }

  protected onDisposed(): void {
    // The channel closing aborts the running inspections' requests; a load in flight is dropped.
    this.loadToken++;
    this.loadAbort.abort();
  }
}

type MaximiseProgressOf<K extends InspectionKind> = K extends 'maximise'
  ? FeaturesInspections['maximise']['progress']
  : never;

/** One inspection as the log names it. */
function describeInspection(r: WebviewInspection): string {
  switch (r.kind) {
    case 'activations':
      return `activations of ${r.layer}`;
    case 'maximise':
      return 'maximisation';
    default:
      return `${r.kind} of class ${r.classIndex ?? 'predicted'}`;
  }
}

/** One of the webview's inspections with its parameters, tagged by its kind. */
type WebviewInspection = {
  [T in InspectionKind]: { kind: T } & FeaturesInspections[T]['params'];
}[InspectionKind];

export function registerFeatureMapsPanel(deps: PanelDeps): vscode.Disposable[] {
  const inspection = new InspectionClient(deps.context, deps.output);
  let current: FeatureMapsPanel | undefined;

  const adopt = (panel: vscode.WebviewPanel): FeatureMapsPanel => {
    const p = new FeatureMapsPanel(panel, deps, inspection);
    current = p;
    p.onDidDispose(() => {
      if (current === p) current = undefined;
    });
    return p;
  };

  const command = registerPanelCommand(
    deps,
    'densenet.visualizeFeatureMaps',
    'Visualize Feature Maps',
    async (arg, run) => {
      const image = await resolveImage(arg);
      if (!image) return;
      inspection.warm(); // the engine starts while the user picks a checkpoint
      // A run folder given (the examples gallery of an evaluation): no pick.
      const given = typeof run === 'string' && vscode.workspace.isTrusted ? run : undefined;
      const checkpoint = given ? { path: given, label: path.basename(given) } : await pickCheckpoint(deps.context);
      if (!checkpoint) return;
      const startedAt = Date.now();
      let panel = current;
      if (panel) panel.panel.reveal(undefined, false);
      else {
        panel = adopt(
          createWebviewPanel(deps, FEATURES_VIEW_TYPE, `Feature Maps: ${path.basename(image.fsPath)}`, {
            viewColumn: vscode.ViewColumn.Active,
            preserveFocus: false,
          }),
        );
      }
      await panel.load(image.fsPath, checkpoint, startedAt);
    },
  );

  const serializer = registerPanelSerializer(deps, FEATURES_VIEW_TYPE, 'Feature maps', async (panel, state) => {
    // Kept by the page (vscode.setState): checked, as anything read back.
    const s: { [K in keyof PersistedState]?: unknown } = state ?? {};
    const text = (v: unknown): v is string => typeof v === 'string' && v !== '';
    if (text(s.imagePath) && text(s.checkpointPath) && fs.existsSync(s.imagePath) && fs.existsSync(s.checkpointPath)) {
      const p = adopt(panel);
      await p.load(s.imagePath, {
        path: s.checkpointPath,
        label: text(s.checkpointLabel) ? s.checkpointLabel : path.basename(s.checkpointPath),
      });
    } else {
      panel.dispose();
    }
  });

  return [command, serializer, { dispose: () => current?.dispose() }, inspection];
}
