/**
 * `DenseNet: New Model Spec...`: quick picks for the preset, the data (a folder whose kind, classes and image
 * size are detected, or none for analysis only), the input size, the classes when there is no data, the folder
 * to write in and the file name; then writes a spec that validates (and trains, with data) and opens it.
 * Every question can be answered by an argument (scripts, keybindings, tests); with `preset` given, the
 * questions not answered take their defaults.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import {
  type DetectedData,
  detectTrainingData,
  findPreset,
  formatCount,
  analyze,
  inputFits,
  newSpecText,
  type InputShape,
  PRESETS,
  type Preset,
} from '../core';
import { nodeDataProbe } from './dataProbe';

export interface NewSpecArgs {
  preset?: string;
  /** `HxWxC` or an object. */
  input?: string | InputShape;
  classes?: number;
  /** File name without `.densenet.json`. */
  name?: string;
  /** Folder to write into (default: the data folder's parent, else the first workspace folder). */
  folder?: vscode.Uri | string;
  /** The data folder (its kind, classes and input size are detected), or null for a spec to analyse only. */
  data?: vscode.Uri | string | null;
  /** Fraction of the training data held out for validation when the data has no validation folder (0.1). */
  validationSplit?: number;
}

const COMMON_INPUTS: InputShape[] = [
  { height: 28, width: 28, channels: 1 },
  { height: 32, width: 32, channels: 3 },
  { height: 64, width: 64, channels: 3 },
  { height: 96, width: 96, channels: 3 },
  { height: 128, width: 128, channels: 3 },
  { height: 224, width: 224, channels: 3 },
];

const shapeText = (s: InputShape) => `${s.height}x${s.width}x${s.channels}`;

export function parseInputShape(text: string): InputShape | undefined {
  const m = /^\s*(\d+)\s*x\s*(\d+)\s*x\s*(\d+)\s*$/i.exec(text);
  if (!m) return undefined;
  const s = { height: Number(m[1]), width: Number(m[2]), channels: Number(m[3]) };
  return s.height > 0 && s.width > 0 && s.channels > 0 ? s : undefined;
}

async function pickPreset(): Promise<Preset | undefined> {
  const items = PRESETS.map((p) => ({
    label: p.name,
    description: `${p.title} · ${formatCount(analyze(p.model, p.input, p.classes).totals.trainableParams)} params`,
    detail: p.description,
    preset: p,
  }));
  const picked = await vscode.window.showQuickPick(items, {
    title: 'New DenseNet spec: preset',
    placeHolder: 'Start from a published DenseNet',
    matchOnDetail: true,
    ignoreFocusOut: true,
  });
  return picked?.preset;
}

/** The sizes offered: the data's (or the preset's) first, then common ones; only those the network can take. */
export function offeredInputs(preset: Preset, suggested: InputShape | undefined): InputShape[] {
  const first = suggested ?? preset.input;
  const all = [first, preset.input, ...COMMON_INPUTS].filter(
    (s, i, list) => list.findIndex((o) => shapeText(o) === shapeText(s)) === i,
  );
  return all.filter((s) => inputFits(preset, s));
}

async function pickInput(preset: Preset, detected: DetectedData | undefined): Promise<InputShape | undefined> {
  const suggested = detected?.input;
  const sizes = offeredInputs(preset, suggested);
  const custom = { label: '$(edit) Custom size...', description: 'height x width x channels' };
  const describe = (s: InputShape) =>
    suggested && shapeText(s) === shapeText(suggested)
      ? 'from the data'
      : shapeText(s) === shapeText(preset.input)
        ? 'preset default'
        : s.channels === 1
          ? 'grayscale'
          : 'RGB';
  const items = [
    ...sizes.map((s) => ({ label: shapeText(s), description: describe(s), shape: s as InputShape | undefined })),
    { ...custom, shape: undefined },
  ];
  const picked = await vscode.window.showQuickPick(items, {
    title: 'New DenseNet spec: input size',
    placeHolder:
      suggested && !inputFits(preset, suggested)
        ? `The data's ${shapeText(suggested)} is too small for ${preset.name}; images are resized to the size picked`
        : 'Images are resized to this size',
    ignoreFocusOut: true,
  });
  if (!picked) return undefined;
  if (picked.shape) return picked.shape;
  const text = await vscode.window.showInputBox({
    title: 'New DenseNet spec: input size',
    prompt: 'Height x width x channels, e.g. 48x48x3',
    value: shapeText(preset.input),
    ignoreFocusOut: true,
    validateInput: (v) => {
      const s = parseInputShape(v);
      if (!s) return 'Write HxWxC with positive whole numbers, e.g. 48x48x3';
      return inputFits(preset, s)
        ? undefined
        : `${v} is too small for ${preset.name}: its feature maps would fall under 1 px`;
    },
  });
  return text ? parseInputShape(text) : undefined;
}

async function pickClasses(preset: Preset): Promise<number | undefined> {
  const text = await vscode.window.showInputBox({
    title: 'New DenseNet spec: classes',
    prompt:
      preset.task === 'segmentation'
        ? "Number of classes, background included: a mask's pixel values are 0 to classes - 1"
        : 'Number of output classes',
    value: String(preset.classes),
    ignoreFocusOut: true,
    validateInput: (v) => (/^\s*\d+\s*$/.test(v) && Number(v) >= 2 ? undefined : 'A whole number of at least 2'),
  });
  return text ? Number(text) : undefined;
}

async function freeName(folder: vscode.Uri, base: string): Promise<vscode.Uri> {
  for (let i = 0; ; i++) {
    const uri = vscode.Uri.joinPath(folder, `${base}${i === 0 ? '' : `-${i}`}.densenet.json`);
    try {
      await vscode.workspace.fs.stat(uri);
    } catch {
      return uri;
    }
  }
}

const asUri = (v: vscode.Uri | string) => (typeof v === 'string' ? vscode.Uri.file(v) : v);

/**
 * The data folder and what it holds; throws with the reason when its kind cannot be told, or when the preset's
 * network cannot learn it (an FC-DenseNet needs masks; a classifier cannot learn masks).
 */
function detect(folder: vscode.Uri, preset: Preset): { folder: vscode.Uri; data: DetectedData } {
  const found = detectTrainingData(nodeDataProbe(folder.fsPath));
  if (!found.ok) throw new Error(`${folder.fsPath}: ${found.reason}`);
  const mismatch = dataMismatch(preset, found);
  if (mismatch) throw new Error(`${folder.fsPath}: ${mismatch}`);
  return { folder, data: found };
}

/** Why `preset` cannot learn `data` (one says segmentation and the other not), or undefined. */
export function dataMismatch(preset: Preset, data: DetectedData): string | undefined {
  const segmentation = preset.task === 'segmentation';
  if (segmentation && data.task !== 'segmentation')
    return `${preset.name} is a segmentation network and this folder holds ${data.description}: choose a folder with images/ and masks/ (a PNG mask of the same name per image), or a classification preset.`;
  if (!segmentation && data.task === 'segmentation')
    return `this folder holds ${data.description}, and ${preset.name} is a classifier: choose an FC-DenseNet preset (fc-densenet56, fc-densenet67, fc-densenet103).`;
  return undefined;
}

type DataChoice = { folder: vscode.Uri; data: DetectedData } | null;

/** Asks for the data: a folder (detected; asked again when nothing usable is in it) or analysis only. */
async function pickData(preset: Preset): Promise<DataChoice | undefined> {
  for (;;) {
    const picked = await vscode.window.showQuickPick(
      [
        {
          label: '$(folder) Choose a folder...',
          detail:
            preset.task === 'segmentation'
              ? 'images/ and masks/ folders (in it, or in its train/, val/, test/)'
              : 'Class folders of images, a multi-label CSV (train.csv), MNIST IDX files (.gz too) or CIFAR-10/100 binary batches',
          folder: true,
        },
        {
          label: '$(graph) Analysis only (no data)',
          detail: 'Shapes, parameters, memory and the architecture; add data later to train',
          folder: false,
        },
      ],
      { title: 'New DenseNet spec: data', ignoreFocusOut: true },
    );
    if (!picked) return undefined;
    if (!picked.folder) return null;
    const chosen = await vscode.window.showOpenDialog({
      title: 'The data folder',
      openLabel: 'Use This Data',
      canSelectFolders: true,
      canSelectFiles: false,
      defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
    });
    if (!chosen?.[0]) continue;
    try {
      const choice = detect(chosen[0], preset);
      void vscode.window.showInformationMessage(`Data: ${choice.data.description}.`);
      return choice;
    } catch (e) {
      void vscode.window.showErrorMessage((e as Error).message);
    }
  }
}

/** Asks where to write: the default folder, or another one. */
async function pickFolder(fallback: vscode.Uri): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showQuickPick(
    [
      {
        label: `$(folder) ${vscode.workspace.asRelativePath(fallback, true)}`,
        description: 'write here',
        uri: fallback,
      },
      { label: '$(folder-opened) Choose a folder...', description: '', uri: undefined },
    ],
    { title: 'New DenseNet spec: where to write it', ignoreFocusOut: true },
  );
  if (!picked) return undefined;
  if (picked.uri) return picked.uri;
  const chosen = await vscode.window.showOpenDialog({
    title: 'Write the spec in',
    openLabel: 'Write Here',
    canSelectFolders: true,
    canSelectFiles: false,
    defaultUri: fallback,
  });
  return chosen?.[0];
}

async function pickName(base: string): Promise<string | undefined> {
  return vscode.window.showInputBox({
    title: 'New DenseNet spec: file name',
    prompt: 'The spec is saved as <name>.densenet.json',
    value: base,
    ignoreFocusOut: true,
    validateInput: (v) => (/^[\w.-]+$/.test(v.trim()) ? undefined : 'Letters, digits, ".", "-" and "_" only'),
  });
}

/** The spec's data section: the detected paths relative to the spec's folder, and a validation split. */
export function dataSection(
  dataFolder: string,
  specFolder: string,
  data: DetectedData,
  split = 0.1,
): Record<string, unknown> {
  const rel = (p: string) => {
    const abs = path.resolve(dataFolder, p);
    const r = path.relative(specFolder, abs);
    return r === '' ? '.' : path.isAbsolute(r) ? abs : r.split(path.sep).join('/');
  };
  const m = data.masks;
  if (m) {
    const pair = (images: string, masks: string) => ({ images: rel(images), masks: rel(masks) });
    return {
      train: pair(data.train, m.train),
      validation: data.validation && m.validation ? pair(data.validation, m.validation) : { split },
      ...(data.test && m.test ? { test: pair(data.test, m.test) } : {}),
      normalize: 'auto',
    };
  }
  return {
    train: rel(data.train),
    validation: data.validation ? rel(data.validation) : { split },
    ...(data.test ? { test: rel(data.test) } : {}),
    normalize: 'auto',
  };
}

/** The input: the argument, else (without prompts) the data's size if the network takes it, else the preset's. */
function defaultInput(preset: Preset, data: DetectedData | undefined): InputShape {
  const fitting = offeredInputs(preset, data?.input);
  const sameChannels = fitting.find((s) => !data?.input || s.channels === data.input.channels);
  return sameChannels ?? preset.input;
}

export async function newSpec(args: NewSpecArgs = {}): Promise<vscode.Uri | undefined> {
  const ask = args.preset === undefined;
  const preset = args.preset !== undefined ? findPreset(args.preset) : await pickPreset();
  if (!preset) {
    if (args.preset !== undefined) throw new Error(`Unknown preset "${args.preset}"`);
    return undefined;
  }
  const choice: DataChoice | undefined =
    args.data === null
      ? null
      : args.data !== undefined
        ? detect(asUri(args.data), preset)
        : ask
          ? await pickData(preset)
          : null;
  if (choice === undefined) return undefined;
  const detected = choice?.data;
  const input =
    typeof args.input === 'string'
      ? parseInputShape(args.input)
      : (args.input ?? (ask ? await pickInput(preset, detected) : defaultInput(preset, detected)));
  if (!input) {
    if (args.input !== undefined) throw new Error(`Invalid input size "${String(args.input)}": write HxWxC`);
    return undefined;
  }
  if (!inputFits(preset, input)) throw new Error(`The input ${shapeText(input)} is too small for ${preset.name}`);
  const classes = args.classes ?? detected?.classes ?? (ask ? await pickClasses(preset) : preset.classes);
  if (classes === undefined) return undefined;
  const fallback = choice ? vscode.Uri.joinPath(choice.folder, '..') : vscode.workspace.workspaceFolders?.[0]?.uri;
  const folder =
    args.folder !== undefined ? asUri(args.folder) : ask && fallback ? await pickFolder(fallback) : fallback;
  if (ask && fallback && !folder) return undefined;
  const base = args.name ?? (ask && folder ? await pickName(preset.name) : preset.name)?.trim();
  if (!base) return undefined;
  const data = choice
    ? dataSection(choice.folder.fsPath, (folder ?? choice.folder).fsPath, choice.data, args.validationSplit)
    : undefined;
  if (!folder) {
    // No folder open: an untitled spec the user saves where they like.
    const doc = await vscode.workspace.openTextDocument({
      language: 'jsonc',
      content: newSpecText(preset, input, classes, base, data, detected?.task ?? preset.task),
    });
    await vscode.window.showTextDocument(doc);
    return doc.uri;
  }
  await vscode.workspace.fs.createDirectory(folder);
  const uri = await freeName(folder, base);
  const name = uri.path
    .split('/')
    .pop()!
    .replace(/\.densenet\.json$/, '');
  await vscode.workspace.fs.writeFile(
    uri,
    Buffer.from(newSpecText(preset, input, classes, name, data, detected?.task ?? preset.task), 'utf8'),
  );
  await vscode.window.showTextDocument(uri);
  return uri;
}
