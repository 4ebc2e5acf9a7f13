/**
 * The feature maps panel (host side): `DenseNet: Visualize Feature Maps` on an image (explorer context menu,
 * image preview title, palette with a file picker) -> pick a run's checkpoint -> a webview showing the input as
 * the model sees it, the top-5 classes, a gallery of every channel of a layer, Grad-CAM, saliency and
 * activation maximisation, maps overlaid on the input, and "Compare with…" a second checkpoint side by side (its
 * own engine process, disposed when the comparison closes, so at most two models are in memory). All tensor work
 * happens in the inspection engine processes (InspectionClient). In an
 * untrusted workspace only a spec's untrained model is offered and loaded, never a run's checkpoint (./trust.ts).
 * Contract with the webview: src/protocol/features.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
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
import {
  checkpointDetail,
  type CheckpointChoice,
  IMAGE_EXTENSIONS,
  pickCheckpoint,
  resolveImage,
} from './featuresPick';
import { checkpointRefusal } from './trust';

export const FEATURES_VIEW_TYPE = 'densenet.features';

/** What the webview persists (vscode.setState) so the panel can be restored after a reload. */
interface PersistedState {
  imagePath?: string;
  checkpointPath?: string;
  checkpointLabel?: string;
}

class FeatureMapsPanel extends PanelBase<FeaturesState, FeaturesHost, FeaturesView> {
  /** Aborted when another image or checkpoint loads: the inspections of the previous one stop. */
  private loadAbort = new AbortController();
  private state: FeaturesState = { loading: false };
  private loadToken = 0;
  private commandStartedAt: number | undefined;
  private galleryTimed = false;
  /** The second checkpoint's engine process, while a comparison is open (disposed with it: memory bounded). */
  private compareClient: InspectionClient | undefined;
  private compareToken = 0;

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
    this.channel.handle('compare', () => this.pickCompare());
    this.channel.handle('closeCompare', () => this.closeCompare());
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
    checkpoint = { ...checkpoint, detail: checkpoint.detail ?? checkpointDetail(checkpoint.path) };
    const refusal = checkpointRefusal(checkpoint.path, vscode.workspace.isTrusted);
    if (refusal) {
      // A panel restored after a reload, or asked for another image, in a workspace that is not trusted.
      this.state = { loading: false, image: { path: image, name: path.basename(image) }, checkpoint, error: refusal };
      this.closeCompare();
      this.deps.output.warn(`Feature maps: ${refusal}`);
      this.postState();
      return;
    }
    const compare = this.state.compare;
    this.state = { loading: true, image: { path: image, name: path.basename(image) }, checkpoint, compare };
    this.postState();
    // The comparison follows the image.
    if (compare) void this.loadCompare(compare.checkpoint);
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
        task: predicted.task,
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

  /** "Compare with…": a second checkpoint beside the first, on the same image. */
  private async pickCompare(): Promise<void> {
    if (!this.state.image) throw new Error('Pick an image and a checkpoint first.');
    const checkpoint = await pickCheckpoint(this.deps.context, 'Compare with…: pick a second checkpoint');
    if (checkpoint) await this.loadCompare(checkpoint);
  }

  /** Loads `checkpoint` in the second engine process (started for it) and predicts the panel's image. */
  private async loadCompare(checkpoint: CheckpointChoice): Promise<void> {
    const image = this.state.image?.path;
    if (!image) return;
    const token = ++this.compareToken;
    const refusal = checkpointRefusal(checkpoint.path, vscode.workspace.isTrusted);
    this.state = { ...this.state, compare: { checkpoint, loading: !refusal, error: refusal } };
    this.postState();
    if (refusal) return;
    this.compareClient ??= new InspectionClient(this.deps.context, this.deps.output);
    const client = this.compareClient;
    try {
      const started = Date.now();
      const model = await client.inspect('describe', { checkpoint: checkpoint.path });
      const predicted = await client.inspect('predict', { checkpoint: checkpoint.path, image, k: 5 });
      if (token !== this.compareToken) return;
      const { display, height, width, channels } = predicted.image;
      const input = { display, height, width, channels };
      this.state = {
        ...this.state,
        compare: { checkpoint, loading: false, model, input, predictions: predicted.predictions },
      };
      this.deps.output.info(
        `Feature maps: comparing with ${checkpoint.label}: model and predictions in ${Date.now() - started} ms`,
      );
    } catch (e) {
      if (token !== this.compareToken) return;
      const message = e instanceof Error ? e.message : String(e);
      this.state = { ...this.state, compare: { checkpoint, loading: false, error: message } };
      this.deps.output.error(`Feature maps (compared checkpoint): ${message}`);
    }
    this.postState();
  }

  /** Closes the comparison and stops its engine process (its model's memory goes with it). */
  private closeCompare(): void {
    this.compareToken++;
    this.compareClient?.dispose();
    this.compareClient = undefined;
    if (this.state.compare) {
      this.state = { ...this.state, compare: undefined };
      this.postState();
    }
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
    const side = 'side' in params ? params.side : undefined;
    const checkpoint = side === 'b' ? this.state.compare?.checkpoint.path : this.state.checkpoint?.path;
    const client = side === 'b' ? this.compareClient : this.inspection;
    const image = this.state.image?.path;
    if (!image || !this.state.checkpoint) throw new Error('No image or checkpoint chosen yet.');
    if (!checkpoint || !client) throw new Error('No checkpoint to compare with: click "Compare with…" first.');
    const signal = AbortSignal.any([context.signal, this.loadAbort.signal]);
    const request = { kind, ...params } as WebviewInspection;
    // Only maximisation reports progress.
    const onProgress = (p: MaximiseProgress) => context.progress(p as MaximiseProgressOf<K>);
    const started = Date.now();
    const result = await this.answer(client, request, checkpoint, image, signal, onProgress);
    const what = `${describeInspection(request)}${side === 'b' ? ' (compared checkpoint)' : ''}`;
    this.deps.output.info(`Feature maps: ${what} answered by the engine in ${Date.now() - started} ms`);
    return result as FeaturesInspections[K]['result'];
  }

  /** The engine's answer to one inspection of the webview (on the panel's checkpoint and image). */
  private async answer(
    client: InspectionClient,
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
        const [activation] = await client.inspect('activationCodes', { checkpoint, image, layers }, { signal });
        return activation;
      }
      case 'gradcam': {
        const { layerName, classIndex } = req;
        return client.inspect('gradcam', { checkpoint, image, layerName, classIndex }, { signal });
      }
      case 'saliency': {
        const { classIndex, samples } = req;
        return client.inspect('saliency', { checkpoint, image, classIndex, samples }, { signal });
      }
      case 'maximise': {
        return client.inspect('maximise', { checkpoint, target: req.target, steps: req.steps }, { signal, onProgress });
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
    this.compareToken++;
    this.compareClient?.dispose();
    this.compareClient = undefined;
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
