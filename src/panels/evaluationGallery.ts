/**
 * The examples gallery: clicking a cell (true i, predicted j) of a saved evaluation's confusion matrix in the
 * dashboard shows the examples of that cell, read from the run's predictions file (src/runs/predictions.ts):
 * thumbnails (image-folder data: the files themselves, through webview URIs of the data root; IDX/CIFAR data:
 * PNG files the engine draws into the run folder), each with its name, classes and probability, and two actions:
 * Open (the image in VS Code) and Visualize Feature Maps (the image with this run). One panel, restored after a
 * window reload from the cell its page kept. Contract: src/protocol/gallery.ts.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import type { InspectionClient } from '../editor/inspectionClient';
import type { ExamplePrediction, SavedPredictions } from '../protocol/evaluation';
import type { GalleryCell, GalleryHost, GalleryItem, GalleryState, GalleryView } from '../protocol/gallery';
import { readEvaluations } from '../runs/evaluations';
import { cellExamples, readPredictions, sourcePath } from '../runs/predictions';
import type { PanelDeps } from './deps';
import { createWebviewPanel, PanelBase, registerPanelSerializer, webviewOptions } from './panelBase';

export const GALLERY_VIEW_TYPE = 'densenet.evaluationExamples';
/** Examples sent at a time. */
const PAGE = 48;

/** The gallery's name of an example: its file name, or `<file> #<record>` for IDX/CIFAR data. */
export const exampleName = (e: Pick<ExamplePrediction, 'source' | 'record'>): string =>
  e.record === undefined ? path.posix.basename(e.source) : `${path.posix.basename(e.source)} #${e.record}`;

/**
 * The folders the webview may load the images of `examples` from: the data root, and the folders of images
 * outside it (a data path given as an absolute path).
 */
function imageRoots(p: SavedPredictions, examples: readonly ExamplePrediction[]): string[] {
  const outside = examples.filter((e) => e.record === undefined && path.isAbsolute(e.source));
  return [...new Set([p.dataRoot, ...outside.map((e) => path.dirname(e.source))])];
}

class GalleryPanel extends PanelBase<GalleryState, GalleryHost, GalleryView> {
  private cell: GalleryCell | undefined;
  private predictions: SavedPredictions | undefined;
  private examples: ExamplePrediction[] = [];
  /** Image file of each example drawn so far, by index. */
  private readonly files = new Map<number, string>();

  constructor(
    panel: vscode.WebviewPanel,
    deps: PanelDeps,
    private readonly engine: InspectionClient,
  ) {
    super(panel, deps, { bundle: 'gallery', title: 'Examples', name: 'Examples gallery' });
    this.channel.handle('more', ({ from }) => this.items(from));
    this.channel.handle('open', ({ index }) => this.openExample(index));
    this.channel.handle('visualize', ({ index }) => {
      const file = this.fileOf(index);
      const runDir = this.cell?.runDir;
      // Not awaited: the command picks nothing more and opens its panel.
      this.channel.background(
        'visualize',
        vscode.commands.executeCommand('densenet.visualizeFeatureMaps', vscode.Uri.file(file), runDir),
      );
    });
  }

  /** Shows `cell`: reads its predictions, allows the webview to load its images, and announces the state. */
  show(cell: GalleryCell): void {
    this.cell = cell;
    this.files.clear();
    try {
      this.predictions = readPredictions(cell.runDir, cell.evaluation);
      this.examples = cellExamples(this.predictions, cell.true, cell.predicted);
    } catch (e) {
      this.predictions = undefined;
      this.examples = [];
      this.deps.output.warn(`Examples gallery: ${(e as Error).message}`);
    }
    const roots = [vscode.Uri.file(cell.runDir)];
    if (this.predictions) roots.push(...imageRoots(this.predictions, this.examples).map((d) => vscode.Uri.file(d)));
    const base = webviewOptions(this.deps.context.extensionUri);
    this.panel.webview.options = { ...base, localResourceRoots: [...(base.localResourceRoots ?? []), ...roots] };
    const p = this.predictions;
    this.panel.title = p
      ? `Examples: ${p.classNames[cell.true]} → ${p.classNames[cell.predicted]}`
      : 'Examples of an evaluation';
    if (this.pageReady)
      this.channel.background(
        'state',
        this.fullState().then((s) => this.channel.notify('state', s)),
      );
  }

  protected async fullState(): Promise<GalleryState> {
    const cell = this.cell;
    if (!cell) return { title: '', trueClass: '', predictedClass: '', total: 0, items: [], error: 'No cell chosen.' };
    const p = this.predictions;
    const record = readEvaluations(cell.runDir).records.find((r) => r.id === cell.evaluation);
    const of = [record?.checkpoint, record?.epoch !== undefined ? `epoch ${record.epoch}` : undefined]
      .filter(Boolean)
      .join(', ');
    const base: GalleryState = {
      cell,
      title: `${path.basename(cell.runDir)} on ${p?.split ?? record?.split ?? '?'}${of ? ` (${of})` : ''}`,
      trueClass: p?.classNames[cell.true] ?? String(cell.true),
      predictedClass: p?.classNames[cell.predicted] ?? String(cell.predicted),
      total: this.examples.length,
      items: [],
    };
    if (!p)
      return {
        ...base,
        error: `The examples of this evaluation are not saved (predictions/${cell.evaluation}.json): evaluate the run again.`,
      };
    try {
      return { ...base, items: await this.items(0) };
    } catch (e) {
      return { ...base, error: (e as Error).message };
    }
  }

  /** Examples `from` to `from + PAGE` of the cell with their images (the engine draws IDX/CIFAR ones). */
  private async items(from: number): Promise<GalleryItem[]> {
    const cell = this.cell;
    const page = this.examples.slice(from, from + PAGE);
    if (!cell || page.length === 0) return [];
    // Image files are shown as they are; only IDX/CIFAR records need the engine to draw them.
    for (const e of page) if (e.record === undefined) this.files.set(e.index, sourcePath(this.predictions!, e));
    const need = page.filter((e) => !this.files.has(e.index)).map((e) => e.index);
    if (need.length > 0) {
      const files = await this.engine.inspect('exampleImages', {
        runDir: cell.runDir,
        evaluation: cell.evaluation,
        indices: need,
      });
      need.forEach((index, k) => this.files.set(index, files[k]));
    }
    return page.map((e) => ({
      index: e.index,
      name: exampleName(e),
      src: this.panel.webview.asWebviewUri(vscode.Uri.file(this.files.get(e.index)!)).toString(),
      probability: e.probability,
    }));
  }

  private fileOf(index: number): string {
    const file = this.files.get(index);
    if (!file) throw new Error(`example ${index} is not shown in the gallery`);
    return file;
  }

  private async openExample(index: number): Promise<void> {
    await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(this.fileOf(index)), {
      viewColumn: vscode.ViewColumn.Beside,
    });
  }
}

let current: GalleryPanel | undefined;
let engineOf: InspectionClient | undefined;

function adopt(panel: vscode.WebviewPanel, deps: PanelDeps, engine: InspectionClient): GalleryPanel {
  const p = new GalleryPanel(panel, deps, engine);
  current = p;
  p.onDidDispose(() => {
    if (current === p) current = undefined;
  });
  return p;
}

/** Opens (or reuses) the gallery on a cell of a saved evaluation. */
export function openExamplesGallery(deps: PanelDeps, cell: GalleryCell): void {
  if (!engineOf) throw new Error('The examples gallery is not registered.');
  let p = current;
  if (p) p.panel.reveal(undefined, false);
  else
    p = adopt(
      createWebviewPanel(deps, GALLERY_VIEW_TYPE, 'Examples', {
        viewColumn: vscode.ViewColumn.Active,
        preserveFocus: false,
      }),
      deps,
      engineOf,
    );
  p.show(cell);
}

const isCell = (v: unknown): v is GalleryCell => {
  const c = v as Partial<GalleryCell> | undefined;
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.runDir === 'string' &&
    typeof c.evaluation === 'string' &&
    Number.isInteger(c.true) &&
    Number.isInteger(c.predicted)
  );
};

/** The gallery's serializer and the engine it asks for IDX/CIFAR images. */
export function registerExamplesGallery(deps: PanelDeps, engine: InspectionClient): vscode.Disposable[] {
  engineOf = engine;
  return [
    registerPanelSerializer(deps, GALLERY_VIEW_TYPE, 'Examples gallery', (panel, state) => {
      const cell = state?.cell;
      if (!isCell(cell) || current || !vscode.workspace.isTrusted) {
        panel.dispose();
        return;
      }
      adopt(panel, deps, engine).show(cell);
    }),
    { dispose: () => current?.dispose() },
  ];
}
