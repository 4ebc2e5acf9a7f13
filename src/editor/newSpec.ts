/**
 * `DenseNet: New Model Spec...`: quick picks for the preset, the input size and the classes, then writes a
 * valid spec into the workspace and opens it. Arguments skip the prompts (for scripts and tests).
 */
import * as vscode from 'vscode';
import {
  findPreset,
  formatCount,
  analyze,
  inputFits,
  newSpecText,
  type InputShape,
  PRESETS,
  type Preset,
} from '../core';

export interface NewSpecArgs {
  preset?: string;
  /** `HxWxC` or an object. */
  input?: string | InputShape;
  classes?: number;
  /** File name without `.densenet.json`. */
  name?: string;
  /** Folder to write into (default: the first workspace folder). */
  folder?: vscode.Uri | string;
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
    title: 'New DenseNet spec (1/3): preset',
    placeHolder: 'Start from a published DenseNet',
    matchOnDetail: true,
    ignoreFocusOut: true,
  });
  return picked?.preset;
}

async function pickInput(preset: Preset): Promise<InputShape | undefined> {
  const sizes = [preset.input, ...COMMON_INPUTS.filter((s) => shapeText(s) !== shapeText(preset.input))].filter((s) =>
    inputFits(preset, s),
  );
  const custom = { label: '$(edit) Custom size...', description: 'height x width x channels' };
  const items = [
    ...sizes.map((s, i) => ({
      label: shapeText(s),
      description: i === 0 ? 'preset default' : s.channels === 1 ? 'grayscale' : 'RGB',
      shape: s as InputShape | undefined,
    })),
    { ...custom, shape: undefined },
  ];
  const picked = await vscode.window.showQuickPick(items, {
    title: 'New DenseNet spec (2/3): input size',
    ignoreFocusOut: true,
  });
  if (!picked) return undefined;
  if (picked.shape) return picked.shape;
  const text = await vscode.window.showInputBox({
    title: 'New DenseNet spec (2/3): input size',
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
    title: 'New DenseNet spec (3/3): classes',
    prompt: 'Number of output classes',
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

export async function newSpec(args: NewSpecArgs = {}): Promise<vscode.Uri | undefined> {
  const preset = args.preset !== undefined ? findPreset(args.preset) : await pickPreset();
  if (!preset) {
    if (args.preset !== undefined) throw new Error(`Unknown preset "${args.preset}"`);
    return undefined;
  }
  const input =
    typeof args.input === 'string'
      ? parseInputShape(args.input)
      : (args.input ?? (args.preset !== undefined ? preset.input : await pickInput(preset)));
  if (!input) {
    if (args.input !== undefined) throw new Error(`Invalid input size "${String(args.input)}": write HxWxC`);
    return undefined;
  }
  if (!inputFits(preset, input)) throw new Error(`The input ${shapeText(input)} is too small for ${preset.name}`);
  const classes = args.classes ?? (args.preset !== undefined ? preset.classes : await pickClasses(preset));
  if (classes === undefined) return undefined;
  const folder =
    typeof args.folder === 'string'
      ? vscode.Uri.file(args.folder)
      : (args.folder ?? vscode.workspace.workspaceFolders?.[0]?.uri);
  if (!folder) {
    // No folder open: an untitled spec the user saves where they like.
    const doc = await vscode.workspace.openTextDocument({
      language: 'jsonc',
      content: newSpecText(preset, input, classes, args.name ?? preset.name),
    });
    await vscode.window.showTextDocument(doc);
    return doc.uri;
  }
  const uri = await freeName(folder, args.name ?? preset.name);
  const name = uri.path
    .split('/')
    .pop()!
    .replace(/\.densenet\.json$/, '');
  await vscode.workspace.fs.writeFile(uri, Buffer.from(newSpecText(preset, input, classes, name), 'utf8'));
  await vscode.window.showTextDocument(uri);
  return uri;
}
