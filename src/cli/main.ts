/**
 * `densenet-lab` command line. `analyze` uses the same parsing, validation and analysis as the editor.
 */
import * as fs from 'fs';
import * as path from 'path';
import { applyEdits, modify } from 'jsonc-parser';
import { parseArgs } from 'util';
import {
  checkBuildable,
  findPreset,
  formatDiagnostic,
  type JsonPath,
  PRESET_NAMES,
  summaryTable,
  validateSpec,
} from '../core';
import { nodeFileProbe } from '../core/nodeFs';
import { UsageError } from '../protocol/cli';
import { runsCommand } from './runs';
import { stopCommand } from './stop';

const USAGE = `Usage:
  densenet-lab analyze <spec.densenet.json | --preset NAME> [--input HxWxC] [--classes N] [--batch N] [--json]
  densenet-lab train <spec.densenet.json> [--epochs N] [--backend auto|tensorflow|wasm|cpu] [--threads N] [--inference I] [--resume RUN_DIR] [--workspace DIR] [--json]
  densenet-lab evaluate <checkpoint | run folder> [--split validation|test] [--batch N] [--backend B] [--inference auto|onnxruntime|tfjs] [--json]
  densenet-lab predict <checkpoint | run folder> <image...> [--top K] [--backend B] [--inference I] [--json]
  densenet-lab import <weights file | torchvision:densenet121 | keras:densenet121> [--preset NAME | --spec FILE] [--out DIR] [--workspace DIR] [--json]
  densenet-lab export <checkpoint | run folder> --format onnx|safetensors|h5|tfjs --out FILE [--naming keras2|keras3] [--json]
  densenet-lab runs [run folder | spec's runs folder | workspace] [--json]
  densenet-lab stop <run folder> [--timeout SECONDS] [--json]

Prints the per-layer table (Keras layer names, output shapes, parameters, multiply-adds) and totals.
  --preset NAME   analyse a preset: ${PRESET_NAMES.join(', ')}
  --input HxWxC   override the input size, e.g. 32x32x3
  --classes N     override the number of classes
  --batch N       batch size of the memory estimate (default: the spec's training.batchSize, else 32)
  --json          print {"layers":[...],"totals":{...}} instead of the table
A spec with errors prints its diagnostics and exits with status 1.
train writes the run under .densenet/runs/<spec name>/<run id>/ (checkpoints, metrics.jsonl, TensorBoard
files); Ctrl+C stops at the next batch and saves a checkpoint that --resume continues. A run has one writer at a
time: a second train --resume of it is refused, naming the process that trains it.
  --threads N     data-parallel training threads (default 0: one per core; 1: single-threaded): each
                  thread's replica computes a share of every batch (batch norm per share); ignored by the
                  native tensorflow backend, which uses every core itself
evaluate scores a checkpoint (a run folder: its best, else latest) on the examples its run validated on (the
split the run recorded), or on data.test with --split test (the default when the run has no validation data),
and says which split and how many examples. It saves the result in the run (evaluations.jsonl) and each
example's prediction (predictions/<id>.json), as DenseNet: Evaluate does; it scores on ONNX Runtime (all cores,
or --threads N), or on one thread on tfjs.
  --inference I   the engine of evaluate, predict and train's validation: auto (default: ONNX Runtime, else
                  tfjs, saying why), onnxruntime (an error when it cannot run), tfjs
import reads PyTorch .pth (without running any code in it), .safetensors, Keras .h5 or .onnx weights of a
DenseNet (or downloads a known pretrained one into the user's cache) and writes a run folder (default
.densenet/runs/<preset>/<run id>) that predict, evaluate, the panels and "model.weights" accept; a mismatch
names the first layer that differs and writes nothing. export writes a run's model: ONNX (opset 13, outputs
logits and probabilities), safetensors with torchvision's names, Keras .h5 (legacy weights layout), or tfjs.
runs lists runs with their status: interrupted is a run whose training process died (--resume continues it).
stop stops a run's training (the editor's or a train command's) at its next batch: a checkpoint is saved, the
run reads stopped, and train --resume (or Resume in the editor) continues it.`;

function parseInput(s: string): { height: number; width: number; channels: number } {
  const m = /^(\d+)x(\d+)x(\d+)$/i.exec(s.trim());
  if (!m) throw new UsageError(`--input must look like HxWxC, e.g. 224x224x3 (got "${s}")`);
  return { height: Number(m[1]), width: Number(m[2]), channels: Number(m[3]) };
}

function positiveInt(flag: string, s: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive whole number (got "${s}")`);
  return n;
}

export function analyzeCommand(argv: string[], out: (s: string) => void, err: (s: string) => void): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      preset: { type: 'string' },
      input: { type: 'string' },
      classes: { type: 'string' },
      batch: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if ((positionals.length === 0) === (values.preset === undefined) || positionals.length > 1) {
    throw new UsageError('give either one spec file or --preset NAME');
  }
  let file: string;
  let text: string;
  if (values.preset !== undefined) {
    if (!findPreset(values.preset))
      throw new UsageError(`unknown preset "${values.preset}"; presets: ${PRESET_NAMES.join(', ')}`);
    file = `<preset ${values.preset}>`;
    text = JSON.stringify({ version: 1, name: values.preset, model: { preset: values.preset } }, null, 2);
  } else {
    file = positionals[0];
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      err(`densenet-lab: cannot read ${file}: ${(e as Error).message}`);
      return 1;
    }
  }
  // Overrides are edits of the document (formatting kept), so they are validated like the spec's own fields.
  const overrides: [JsonPath, unknown][] = [];
  if (values.input) overrides.push([['input'], parseInput(values.input)]);
  if (values.classes) overrides.push([['classes'], positiveInt('--classes', values.classes)]);
  if (values.batch) overrides.push([['training', 'batchSize'], positiveInt('--batch', values.batch)]);
  for (const [at, value] of overrides) {
    text = applyEdits(text, modify(text, at, value, { formattingOptions: { insertSpaces: true, tabSize: 2 } }));
  }
  const specPath = values.preset === undefined ? path.resolve(file) : undefined;
  const result = validateSpec(text, { specPath, fs: nodeFileProbe, maxTrainingMemoryBytes: Infinity });
  for (const d of result.diagnostics) err(formatDiagnostic(file, text, d, true));
  const check = checkBuildable(result, file);
  if (!check.ok) {
    err(`densenet-lab: ${check.summary}; fix them and run again.`);
    return 1;
  }
  const a = check.spec.analysis;
  if (values.json) {
    out(
      JSON.stringify({
        task: a.task,
        layers: a.layers.map((l) => ({
          name: l.name,
          type: l.type,
          outputShape: l.outputShape,
          params: l.params,
          trainableParams: l.trainableParams,
          macs: l.macs,
        })),
        totals: {
          params: a.totals.params,
          trainableParams: a.totals.trainableParams,
          nonTrainableParams: a.totals.nonTrainableParams,
          macs: a.totals.macs,
        },
      }),
    );
  } else {
    out(summaryTable(a, check.spec.resolved).trimEnd());
  }
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const out = (s: string) => process.stdout.write(s + '\n');
  const err = (s: string) => process.stderr.write(s + '\n');
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'analyze':
        return analyzeCommand(rest, out, err);
      case 'train':
        return await (await import('../engine/cli')).trainCommand(rest, out, err);
      case 'evaluate':
        return await (await import('../engine/cli')).evaluateCommand(rest, out, err);
      case 'predict':
        return await (await import('../engine/cli')).predictCommand(rest, out, err);
      case 'import':
        return await (await import('../engine/interchange')).importCommand(rest, out, err);
      case 'export':
        return await (await import('../engine/interchange')).exportCommand(rest, out, err);
      case 'runs':
        return runsCommand(rest, out, err);
      case 'stop':
        return await stopCommand(rest, out, err);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err(`densenet-lab: ${(e as Error).message}\n\n${USAGE}`);
      return 2;
    }
    err(`densenet-lab: ${(e as Error).message}`);
    return 1;
  }
}
