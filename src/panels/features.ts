/**
 * The feature maps panel (host side): `DenseNet: Visualize Feature Maps` on an image (explorer context menu,
 * image preview title, palette with a file picker) -> pick a run's checkpoint -> a webview showing the input as
 * the model sees it, the top-5 classes, a gallery of every channel of a layer, Grad-CAM, saliency and
 * activation maximisation. All tensor work happens in the inspection engine process (InspectionClient).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { RunListing } from '../runs/runFolder';
import { runsWithCheckpoints } from '../runs/checkpointFiles';
import { InspectionClient } from '../editor/inspectionClient';
import type {
  FeaturesRequest,
  FeaturesResultMap,
  FeaturesState,
  FromFeaturesWebview,
  MaximiseProgress,
  ToFeaturesWebview,
} from '../protocol/features';
import type { PanelDeps } from './deps';
import { webviewHtml, webviewOptions } from './webviewHtml';

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
  const runs = runsWithCheckpoints(folders);
  const specs = await vscode.workspace.findFiles('**/*.densenet.json', '**/{node_modules,.densenet}/**', 200);
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
  if (!picked?.choice) return undefined;
  void context.workspaceState.update(LAST_CHECKPOINT_KEY, picked.choice.path);
  if (picked.choice.path.endsWith('.densenet.json')) {
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

class FeatureMapsPanel implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  /** The webview's requests still running, by their id: aborting one cancels it. */
  private readonly jobs = new Map<number, AbortController>();
  private state: FeaturesState = { loading: false };
  private loadToken = 0;
  private commandStartedAt: number | undefined;
  private galleryTimed = false;
  readonly onDidDispose: vscode.Event<void>;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly deps: PanelDeps,
    private readonly inspection: InspectionClient,
  ) {
    const extensionUri = deps.context.extensionUri;
    panel.webview.options = webviewOptions(extensionUri);
    panel.webview.html = webviewHtml(panel.webview, extensionUri, { bundle: 'features', title: 'Feature Maps' });
    this.onDidDispose = panel.onDidDispose;
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: FromFeaturesWebview) => void this.onMessage(m)),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  private post(message: ToFeaturesWebview): void {
    void this.panel.webview.postMessage(message);
  }

  private postState(): void {
    this.post({ type: 'state', state: { ...this.state, commandStartedAt: this.commandStartedAt } });
  }

  /** Inspect `image` with `checkpoint`: describe the model and predict (the webview asks for the rest). */
  async load(image: string, checkpoint: CheckpointChoice, commandStartedAt?: number): Promise<void> {
    const token = ++this.loadToken;
    this.commandStartedAt = commandStartedAt;
    this.galleryTimed = false;
    this.cancelJobs();
    this.panel.title = `Feature Maps: ${path.basename(image)}`;
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

  private async onMessage(m: FromFeaturesWebview): Promise<void> {
    switch (m.type) {
      case 'ready':
        this.postState();
        return;
      case 'request':
        return this.request(m.id, m.request);
      case 'cancel':
        this.jobs.get(m.id)?.abort();
        return;
      case 'export':
        return this.export(m.name, m.dataUrl);
      case 'pickCheckpoint': {
        const image = this.state.image?.path;
        const checkpoint = await pickCheckpoint(this.deps.context);
        if (image && checkpoint) await this.load(image, checkpoint);
        return;
      }
      case 'pickImage': {
        const uri = await vscode.window.showOpenDialog({
          canSelectMany: false,
          filters: { Images: IMAGE_EXTENSIONS },
          defaultUri: this.state.image ? vscode.Uri.file(path.dirname(this.state.image.path)) : undefined,
        });
        if (uri?.[0] && this.state.checkpoint) await this.load(uri[0].fsPath, this.state.checkpoint);
        return;
      }
      case 'rendered':
        if (this.commandStartedAt !== undefined && !this.galleryTimed) {
          this.galleryTimed = true;
          this.deps.output.info(
            `Feature maps: gallery of ${m.layer} (${m.channels} channels) ${Date.now() - this.commandStartedAt} ms after the checkpoint was picked`,
          );
        }
        return;
    }
  }

  private async request(id: number, req: Extract<FromFeaturesWebview, { type: 'request' }>['request']): Promise<void> {
    const checkpoint = this.state.checkpoint?.path;
    const image = this.state.image?.path;
    if (!checkpoint || !image) {
      this.post({ type: 'response', inReplyTo: id, ok: false, error: 'No image or checkpoint chosen yet.' });
      return;
    }
    const job = new AbortController();
    this.jobs.set(id, job);
    try {
      const result = await this.answer(checkpoint, image, req, job.signal, (progress) =>
        this.post({ type: 'progress', inReplyTo: id, progress }),
      );
      this.post({ type: 'response', inReplyTo: id, ok: true, result });
    } catch (e) {
      this.post({ type: 'response', inReplyTo: id, ok: false, error: e instanceof Error ? e.message : String(e) });
    } finally {
      this.jobs.delete(id);
    }
  }

  /** The engine's answer to one request of the webview (on the panel's checkpoint and image). */
  private async answer(
    checkpoint: string,
    image: string,
    req: FeaturesRequest,
    signal: AbortSignal,
    onProgress: (progress: MaximiseProgress) => void,
  ): Promise<FeaturesResultMap[keyof FeaturesResultMap]> {
    switch (req.kind) {
      case 'activations': {
        const [activation] = await this.inspection.inspect(
          'activations',
          { checkpoint, image, layers: [req.layer] },
          { signal },
        );
        return activation;
      }
      case 'gradcam':
        return this.inspection.inspect(
          'gradcam',
          { checkpoint, image, layerName: req.layerName, classIndex: req.classIndex },
          { signal },
        );
      case 'saliency':
        return this.inspection.inspect(
          'saliency',
          { checkpoint, image, classIndex: req.classIndex, samples: req.samples },
          { signal },
        );
      case 'maximise':
        return this.inspection.inspect(
          'maximise',
          { checkpoint, target: req.target, steps: req.steps },
          { signal, onProgress },
        );
    }
  }

  private async export(name: string, dataUrl: string): Promise<void> {
    const match = /^data:image\/png;base64,(.*)$/.exec(dataUrl);
    if (!match) {
      void vscode.window.showErrorMessage('Export failed: the view did not produce a PNG.');
      return;
    }
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
    if (!target) return;
    await vscode.workspace.fs.writeFile(target, Buffer.from(match[1], 'base64'));
    void vscode.window.showInformationMessage(`Saved ${vscode.workspace.asRelativePath(target)}`);
  }

  private cancelJobs(): void {
    for (const job of this.jobs.values()) job.abort();
    this.jobs.clear();
  }

  dispose(): void {
    this.loadToken++;
    this.cancelJobs();
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}

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

  const command = vscode.commands.registerCommand('densenet.visualizeFeatureMaps', async (arg?: unknown) => {
    try {
      const image = await resolveImage(arg);
      if (!image) return;
      inspection.warm(); // the engine starts while the user picks a checkpoint
      const checkpoint = await pickCheckpoint(deps.context);
      if (!checkpoint) return;
      const startedAt = Date.now();
      let panel = current;
      if (panel) panel.panel.reveal(undefined, false);
      else {
        panel = adopt(
          vscode.window.createWebviewPanel(
            FEATURES_VIEW_TYPE,
            `Feature Maps: ${path.basename(image.fsPath)}`,
            { viewColumn: vscode.ViewColumn.Active, preserveFocus: false },
            webviewOptions(deps.context.extensionUri),
          ),
        );
      }
      await panel.load(image.fsPath, checkpoint, startedAt);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      deps.output.error(`Visualize Feature Maps: ${message}`);
      void vscode.window.showErrorMessage(`Visualize Feature Maps: ${message}`);
    }
  });

  const serializer = vscode.window.registerWebviewPanelSerializer(FEATURES_VIEW_TYPE, {
    async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
      const p = adopt(panel);
      const s = (state ?? {}) as PersistedState;
      if (s.imagePath && s.checkpointPath && fs.existsSync(s.imagePath) && fs.existsSync(s.checkpointPath)) {
        await p.load(s.imagePath, {
          path: s.checkpointPath,
          label: s.checkpointLabel ?? path.basename(s.checkpointPath),
        });
      } else {
        panel.dispose();
      }
    },
  });

  return [command, serializer, { dispose: () => current?.dispose() }, inspection];
}
