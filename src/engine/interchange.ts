/**
 * `densenet-lab import` and `densenet-lab export`: pretrained weights into a run folder that predict, evaluate,
 * the panels and fine-tuning (`model.weights`) accept; a run's model out as ONNX, safetensors (torchvision's
 * names), Keras .h5 or the tfjs layers format.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { analyze, type Analysis } from '../core/analyze';
import { nodeFileProbe } from '../core/nodeFs';
import { findPreset, PRESET_NAMES } from '../core/presets';
import { validateBuildable } from '../core/specErrors';
import { WEIGHTS_FORMAT_TITLES, type WeightsOrigin } from '../core/weightsOrigin';
import { downloadToCache } from '../interchange/download';
import { loadImagenetClasses } from '../interchange/imagenetClasses';
import { guessPreset, mapSource, type MappedSource, type SourceWeights } from '../interchange/importer';
import { torchvisionStateDict } from '../interchange/layout';
import { writeKerasH5 } from '../interchange/kerasH5';
import { writeOnnxModel } from '../interchange/onnx';
import { parsePretrainedName, type PretrainedEntry } from '../interchange/pretrained';
import { writeSafetensors } from '../interchange/safetensors';
import { UsageError } from '../protocol/cli';
import type { ExportFormat, ExportModelResult, ImportWeightsResult } from '../protocol/engine';
import { jsonFileText } from '../runs/atomic';
import { checkpointDir, locateCheckpoint } from '../runs/checkpointFiles';
import { PREPROCESSING_JSON, type Preprocessing } from '../runs/preprocessing';
import { newRunId, RUN_JSON, runsDirFor, SPEC_SNAPSHOT, type RunInfo } from '../runs/runFolder';
import { initBackend } from './backend';
import { loadCheckpointModel, saveModel } from './checkpoint';
import { buildModel } from './model';
import { looksPretrained } from '../core/pretrainedNames';
import { currentWeightsCacheDir, IMAGENET_NORMALIZATION, readWeightsSource } from './initialWeights';
import { applyLayerWeights, readLayerWeights } from './weights';

type Out = (s: string) => void;

interface ImportTarget {
  analysis: Analysis;
  mapped: MappedSource;
  specName: string;
  specText: string;
  preset?: string;
}

/** The model the weights go into: the spec's, the preset's (with the weights' classes), or the one they fit. */
function importTarget(source: SourceWeights, ref: string, values: { preset?: string; spec?: string }): ImportTarget {
  if (values.spec !== undefined) {
    const specPath = path.resolve(values.spec);
    const text = fs.readFileSync(specPath, 'utf8');
    const spec = validateBuildable(text, {
      specPath,
      fs: nodeFileProbe,
      maxTrainingMemoryBytes: Infinity,
      file: path.basename(specPath),
      purpose: 'before importing into it',
    });
    return {
      analysis: spec.analysis,
      mapped: mapSource(source, spec.analysis, false),
      specName: spec.resolved.name,
      specText: text,
      preset: spec.resolved.preset,
    };
  }
  let preset: string;
  let analysis: Analysis;
  let mapped: MappedSource;
  if (values.preset !== undefined) {
    const p = findPreset(values.preset);
    if (!p) throw new UsageError(`--preset must be one of ${PRESET_NAMES.join(', ')} (got "${values.preset}")`);
    preset = p.name;
    analysis = analyze(p.model, p.input, source.classes);
    mapped = mapSource(source, analysis, false);
  } else ({ preset, analysis, mapped } = guessPreset(source));
  const spec = {
    version: 1,
    name: preset,
    input: analysis.input,
    classes: analysis.classes,
    model: { preset, weights: ref },
  };
  return { analysis, mapped, specName: preset, specText: jsonFileText(spec), preset };
}

/** The weights file `ref` names: itself, or a known pretrained model downloaded into the cache. */
async function weightsFileOf(
  ref: string,
  o: Pick<ImportOptions, 'cacheDir' | 'signal' | 'onDownloadProgress'>,
): Promise<{ file: string; entry?: PretrainedEntry }> {
  if (!looksPretrained(ref)) return { file: path.resolve(ref) };
  const entry = parsePretrainedName(ref);
  const file = await downloadToCache(entry, {
    cacheDir: o.cacheDir ?? currentWeightsCacheDir(),
    signal: o.signal,
    onProgress: o.onDownloadProgress,
  });
  return { file, entry };
}

/** Writes the imported model as a run folder (run.json, the spec, preprocessing.json, checkpoints/best). */
async function writeImportedRun(outDir: string, t: ImportTarget, origin: WeightsOrigin): Promise<void> {
  const model = buildModel(t.analysis, { batchNormEpsilon: t.mapped.batchNormEpsilon });
  const temp = `${outDir}.importing-${process.pid}`;
  try {
    applyLayerWeights(model, t.mapped.weights);
    fs.rmSync(temp, { recursive: true, force: true });
    fs.mkdirSync(temp, { recursive: true });
    await saveModel(model, checkpointDir(temp, 'best'));
    const classNames =
      t.analysis.classes === 1000 && t.analysis.input.channels === 3
        ? [...loadImagenetClasses()]
        : Array.from({ length: t.analysis.classes }, (_, i) => String(i));
    const pre: Preprocessing = {
      input: t.analysis.input,
      classNames,
      normalization: t.analysis.input.channels === 3 ? IMAGENET_NORMALIZATION : null,
    };
    const time = new Date().toISOString();
    const info: RunInfo & { initialWeights: WeightsOrigin } = {
      runId: path.basename(outDir),
      specName: t.specName,
      status: 'completed',
      startedAt: time,
      updatedAt: time,
      endedAt: time,
      epochs: 0,
      epochsCompleted: 0,
      initialWeights: origin,
    };
    fs.writeFileSync(path.join(temp, PREPROCESSING_JSON), jsonFileText(pre));
    fs.writeFileSync(path.join(temp, SPEC_SNAPSHOT), t.specText);
    fs.writeFileSync(path.join(temp, RUN_JSON), jsonFileText(info));
    fs.mkdirSync(path.dirname(outDir), { recursive: true });
    fs.renameSync(temp, outDir);
  } catch (e) {
    fs.rmSync(temp, { recursive: true, force: true });
    throw e;
  } finally {
    model.dispose();
  }
}

export interface ImportOptions {
  /** A weights file, or a known name such as `torchvision:densenet121`. */
  ref: string;
  preset?: string;
  spec?: string;
  /** The run folder to write (must not exist or be empty); default `<workspace>/.densenet/runs/<name>/<run id>`. */
  outDir?: string;
  workspace: string;
  /** Where known models are downloaded (default: the user's cache folder). */
  cacheDir?: string;
  signal?: AbortSignal;
  onDownloadProgress?(receivedBytes: number, totalBytes: number | undefined): void;
}

export type ImportResult = ImportWeightsResult;

/** Imports weights into a new run folder; throws (writing nothing) when they do not fit. The backend must be up. */
export async function importWeights(o: ImportOptions): Promise<ImportResult> {
  const { file, entry } = await weightsFileOf(o.ref, o);
  const { source, sha256 } = await readWeightsSource(o.ref, file);
  const target = importTarget(source, entry ? o.ref : file, { preset: o.preset ?? entry?.preset, spec: o.spec });
  const outDir = o.outDir ?? path.join(runsDirFor(o.workspace, target.specName), newRunId());
  if (fs.existsSync(outDir) && fs.readdirSync(outDir).length > 0)
    throw new Error(`${outDir} exists and is not empty: choose another folder`);
  if (fs.existsSync(outDir)) fs.rmdirSync(outDir);
  const origin: WeightsOrigin = {
    ref: o.ref,
    format: source.format,
    path: file,
    sha256,
    pretrained: entry?.name,
    batchNormEpsilon: target.mapped.batchNormEpsilon,
  };
  await writeImportedRun(outDir, target, origin);
  return {
    runDir: outDir,
    format: source.format,
    preset: target.preset ?? null,
    classes: target.analysis.classes,
    input: target.analysis.input,
    batchNormEpsilon: target.mapped.batchNormEpsilon,
    parameters: target.analysis.totals.params,
    sha256,
    file,
  };
}

export async function importCommand(argv: string[], out: Out, err: Out): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      preset: { type: 'string' },
      spec: { type: 'string' },
      out: { type: 'string' },
      workspace: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1)
    throw new UsageError('import takes one weights file (or a name like torchvision:densenet121)');
  if (values.preset !== undefined && values.spec !== undefined)
    throw new UsageError('give --preset or --spec, not both');
  if (values.preset !== undefined && !findPreset(values.preset))
    throw new UsageError(`--preset must be one of ${PRESET_NAMES.join(', ')} (got "${values.preset}")`);
  await initBackend('wasm', { wasmDir: __dirname });
  let shown = -1;
  const r = await importWeights({
    ref: positionals[0],
    preset: values.preset,
    spec: values.spec,
    outDir: values.out === undefined ? undefined : path.resolve(values.out),
    workspace: path.resolve(values.workspace ?? '.'),
    onDownloadProgress: (received, total) => {
      const percent = total ? Math.floor((received / total) * 100) : -1;
      if (percent !== shown && percent % 10 === 0) err(`downloading ${positionals[0]}: ${percent}%`);
      shown = percent;
    },
  });
  if (values.json) out(JSON.stringify(r));
  else
    out(
      `imported ${path.basename(r.file)} (${WEIGHTS_FORMAT_TITLES[r.format]}) as ${r.preset ?? "the spec's model"}: ${r.classes} classes, ${r.input.height}x${r.input.width}x${r.input.channels}, ${r.parameters.toLocaleString('en-US')} parameters\nrun ${r.runDir}`,
    );
  return 0;
}

const EXPORT_FORMATS: readonly ExportFormat[] = ['onnx', 'safetensors', 'h5', 'tfjs'];

/** The analysis of the run's spec snapshot (export and ONNX Runtime need it to name the model's layers). */
export function runAnalysis(runDir: string, purpose = 'before exporting'): Analysis {
  const file = path.join(runDir, SPEC_SNAPSHOT);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new Error(`${runDir} has no ${SPEC_SNAPSHOT}: the run's spec names the model's layers`);
  }
  return validateBuildable(text, { file, purpose, maxTrainingMemoryBytes: Infinity }).analysis;
}

/** Writes `bytes` to `file` through a temporary file, so that a failure leaves nothing half-written. */
async function writeFileWhole(file: string, write: (temp: string) => Promise<void> | void): Promise<void> {
  const temp = `${file}.exporting-${process.pid}`;
  try {
    await write(temp);
    fs.renameSync(temp, file);
  } catch (e) {
    fs.rmSync(temp, { recursive: true, force: true });
    throw e;
  }
}

export interface ExportOptions {
  /** A run folder (its best, else latest checkpoint), a checkpoint folder or its model.json. */
  from: string;
  format: ExportFormat;
  outFile: string;
  /** Keras layer names of an .h5: `keras3` (conv1_conv) or `keras2` (conv1/conv). */
  naming?: 'keras2' | 'keras3';
}

export type ExportResult = ExportModelResult;

/** Writes the model of a run or checkpoint in `format`; nothing is left at `outFile` on failure. The backend must be up. */
export async function exportModel(o: ExportOptions): Promise<ExportResult> {
  const { modelPath, runDir } = locateCheckpoint(o.from);
  const analysis = runAnalysis(runDir);
  const model = await loadCheckpointModel(modelPath);
  try {
    const weights = readLayerWeights(model);
    const units = weights.get('predictions')?.[1]?.shape[0];
    if (units !== analysis.classes)
      throw new Error(
        `The checkpoint has ${units} classes, its run's spec ${analysis.classes}: the run folder is inconsistent`,
      );
    const bn = model.layers.find((l) => l.getClassName() === 'BatchNormalization');
    const epsilon = bn ? Number(bn.getConfig().epsilon) : 1.001e-5;
    fs.mkdirSync(path.dirname(o.outFile), { recursive: true });
    await writeFileWhole(o.outFile, async (temp) => {
      if (o.format === 'safetensors')
        fs.writeFileSync(temp, writeSafetensors(torchvisionStateDict(weights, analysis), { format: 'pt' }));
      else if (o.format === 'onnx') fs.writeFileSync(temp, writeOnnxModel(analysis, weights, { epsilon }));
      else if (o.format === 'h5') await writeKerasH5(temp, weights, analysis, { naming: o.naming ?? 'keras3' });
      else {
        fs.mkdirSync(temp);
        const dir = modelPath.endsWith('.json') ? path.dirname(modelPath) : modelPath;
        for (const f of ['model.json', 'weights.bin']) fs.copyFileSync(path.join(dir, f), path.join(temp, f));
      }
    });
  } finally {
    model.dispose();
  }
  return { file: o.outFile, format: o.format, classes: analysis.classes, bytes: fs.statSync(o.outFile).size };
}

export async function exportCommand(argv: string[], out: Out, err: Out): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      format: { type: 'string' },
      out: { type: 'string' },
      naming: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) throw new UsageError('export takes one run folder or checkpoint');
  const format = values.format as ExportFormat | undefined;
  if (format === undefined || !EXPORT_FORMATS.includes(format))
    throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}`);
  if (values.out === undefined) throw new UsageError('--out FILE is required');
  const naming = values.naming ?? 'keras3';
  if (naming !== 'keras2' && naming !== 'keras3') throw new UsageError('--naming must be keras2 or keras3');
  await initBackend('wasm', { wasmDir: __dirname });
  const r = await exportModel({ from: positionals[0], format, outFile: path.resolve(values.out), naming });
  if (values.json) out(JSON.stringify(r));
  else err(`exported ${positionals[0]} as ${format} to ${r.file} (${r.bytes.toLocaleString('en-US')} bytes)`);
  return 0;
}
