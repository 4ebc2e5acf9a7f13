/**
 * `DenseNet: Import Pretrained Weights…` and `DenseNet: Export Model…`: the engine process reads and writes the
 * files (src/engine/interchange.ts); the host asks what and where, shows progress (a download can be
 * cancelled and resumes later), and reports the result.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { PRESETS } from '../core/presets';
import { PRETRAINED } from '../interchange/pretrained';
import type { ExportFormat, ExportModelResult, ImportWeightsResult } from '../protocol/engine';
import type { InspectionClient } from './inspectionClient';
import { pickRunWithCheckpoint } from './runPick';

const FORMATS: { format: ExportFormat; label: string; detail: string; extension: string }[] = [
  {
    format: 'onnx',
    label: 'ONNX',
    detail: 'opset 13, NCHW input, outputs logits and probabilities: ONNX Runtime, TensorRT, OpenVINO…',
    extension: 'onnx',
  },
  {
    format: 'safetensors',
    label: 'safetensors (torchvision names)',
    detail: "loads into torchvision's DenseNet with load_state_dict(strict=True)",
    extension: 'safetensors',
  },
  { format: 'h5', label: 'Keras .h5', detail: "Keras' weights layout (model.load_weights)", extension: 'h5' },
  {
    format: 'tfjs',
    label: 'TensorFlow.js layers model',
    detail: 'a folder with model.json + weights.bin',
    extension: '',
  },
];

function workspaceFolder(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error('Open a folder first: imported weights become a run under its .densenet/runs');
  return folder.uri.fsPath;
}

/** Asks for a weights file or a known pretrained model; undefined when the user cancels. */
async function pickWeights(): Promise<string | undefined> {
  const fileItem = {
    label: '$(file) From a file…',
    detail: 'PyTorch .pth/.pt, .safetensors, Keras .h5 or .onnx',
    ref: '',
  };
  const known = PRETRAINED.map((p) => ({
    label: p.name,
    description: p.fileName,
    detail: `ImageNet, ${p.classes} classes, from ${new URL(p.url).host}: downloaded once, checksum-verified`,
    ref: p.name,
  }));
  const choice = await vscode.window.showQuickPick([fileItem, ...known], {
    title: 'Import pretrained DenseNet weights',
    placeHolder: 'A weights file, or a known pretrained model (downloaded once)',
  });
  if (!choice) return undefined;
  if (choice.ref) return choice.ref;
  const files = await vscode.window.showOpenDialog({
    title: 'Weights file to import',
    canSelectMany: false,
    filters: { 'DenseNet weights': ['pth', 'pt', 'bin', 'safetensors', 'h5', 'hdf5', 'onnx'] },
  });
  return files?.[0]?.fsPath;
}

/** What a caller (a keybinding, another extension, a test) may give instead of being asked. */
export interface ImportWeightsArgs {
  /** A weights file or a known name. */
  ref?: string;
  /** The preset; `null`: detect it from the weights. */
  preset?: string | null;
}

export async function importWeightsCommand(
  context: vscode.ExtensionContext,
  engine: InspectionClient,
  output: vscode.LogOutputChannel,
  args: ImportWeightsArgs = {},
): Promise<ImportWeightsResult | undefined> {
  const ref = args.ref ?? (await pickWeights());
  if (!ref) return undefined;
  const presetChoice =
    args.preset !== undefined
      ? { preset: args.preset ?? undefined }
      : await vscode.window.showQuickPick(
          [
            {
              label: 'Detect from the weights',
              description: 'the ImageNet preset whose layers they fit',
              preset: undefined,
            },
            ...PRESETS.map((p) => ({ label: p.name, description: p.title, preset: p.name })),
          ],
          { title: 'Which DenseNet are these weights for?' },
        );
  if (!presetChoice) return undefined;
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Importing ${path.basename(ref)}`, cancellable: true },
    async (progress, token) => {
      const abort = new AbortController();
      const sub = token.onCancellationRequested(() => abort.abort());
      let last = 0;
      try {
        return await engine.inspect(
          'importWeights',
          {
            ref,
            preset: presetChoice.preset,
            workspace: workspaceFolder(),
            cacheDir: path.join(context.globalStorageUri.fsPath, 'weights'),
          },
          {
            signal: abort.signal,
            onProgress: ({ receivedBytes, totalBytes }) => {
              if (!totalBytes) return;
              const percent = (receivedBytes / totalBytes) * 100;
              progress.report({
                message: `downloading: ${Math.floor(percent)}% of ${Math.round(totalBytes / 2 ** 20)} MB`,
                increment: percent - last,
              });
              last = percent;
            },
          },
        );
      } finally {
        sub.dispose();
      }
    },
  );
  output.info(
    `Imported ${result.file} (${result.format}${result.sha256 ? `, sha256 ${result.sha256}` : ''}) as ${result.preset ?? 'a DenseNet'} into ${result.runDir}`,
  );
  const reveal = 'Reveal Run Folder';
  void vscode.window
    .showInformationMessage(
      `Imported ${path.basename(result.file)} as ${result.preset ?? 'a DenseNet'}: ${result.classes} classes, ${result.parameters.toLocaleString('en-US')} parameters. Right-click an image → Visualize Feature Maps to look inside it; set "model.weights" in a spec to fine-tune from it.`,
      reveal,
    )
    .then((choice) =>
      choice === reveal
        ? vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(result.runDir))
        : undefined,
    );
  return result;
}

/** The run to export: the argument (a run folder from the explorer), else one picked from the workspace's runs. */
async function pickRun(arg: unknown): Promise<string | undefined> {
  if (arg instanceof vscode.Uri) return arg.fsPath;
  if (typeof arg === 'string') return arg;
  return pickRunWithCheckpoint({
    noRuns: 'No run with a checkpoint in this workspace: train a model or import weights first.',
    describe: (r) => ({ description: r.status, detail: r.runDir }),
    options: { title: 'Export which model?' },
  });
}

/** What a caller may give instead of being asked: the format and the file. */
export interface ExportModelArgs {
  format?: ExportFormat;
  outFile?: string;
}

export async function exportModelCommand(
  engine: InspectionClient,
  output: vscode.LogOutputChannel,
  arg?: unknown,
  args: ExportModelArgs = {},
): Promise<ExportModelResult | undefined> {
  const runDir = await pickRun(arg);
  if (!runDir) return undefined;
  const format =
    FORMATS.find((f) => f.format === args.format) ??
    (await vscode.window.showQuickPick(
      FORMATS.map((f) => ({ ...f, label: f.label, detail: f.detail })),
      { title: `Export ${path.basename(runDir)} as` },
    ));
  if (!format) return undefined;
  const base = `${path.basename(path.dirname(runDir))}-${path.basename(runDir)}`;
  const target =
    args.outFile !== undefined
      ? vscode.Uri.file(args.outFile)
      : await vscode.window.showSaveDialog({
          title: `Export as ${format.label}`,
          defaultUri: vscode.Uri.file(
            path.join(
              path.dirname(path.dirname(path.dirname(path.dirname(runDir)))),
              format.extension ? `${base}.${format.extension}` : base,
            ),
          ),
          filters: format.extension ? { [format.label]: [format.extension] } : undefined,
        });
  if (!target) return undefined;
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Exporting ${base} as ${format.label}` },
    () => engine.inspect('exportModel', { from: runDir, format: format.format, outFile: target.fsPath }),
  );
  output.info(`Exported ${runDir} as ${result.format} to ${result.file} (${result.bytes} bytes)`);
  const reveal = 'Reveal in Explorer';
  void vscode.window
    .showInformationMessage(
      `Exported ${result.classes}-class model as ${format.label}: ${path.basename(result.file)} (${(result.bytes / 2 ** 20).toFixed(1)} MB).`,
      reveal,
    )
    .then((choice) => (choice === reveal ? vscode.commands.executeCommand('revealInExplorer', target) : undefined));
  return result;
}
