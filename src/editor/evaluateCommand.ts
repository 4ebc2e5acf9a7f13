/**
 * `DenseNet: Evaluate` (densenet.evaluate): scores a run's checkpoint (its best, else latest) on the spec's test
 * data or the run's validation examples, in the engine process (the `evaluate` request: progress in a cancellable
 * notification), which saves the result in the run (evaluations.jsonl) with each example's prediction
 * (predictions/<id>.json). From the palette it asks for the run (runs with a checkpoint, newest first) and the
 * split (when the spec has both); the dashboard and the integration tests pass `{ runDir, split }`.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import type { EvaluationSplit, SavedEvaluation } from '../protocol/evaluation';
import { bestFigureText } from '../metrics/bestFigure';
import { runEvaluationSplits } from '../runs/evaluations';
import { readRunListing } from '../runs/runFolder';
import type { InspectionClient } from './inspectionClient';
import { pickRunWithCheckpoint } from './runPick';

export interface EvaluateArgs {
  /** The run folder to evaluate (its best checkpoint, else latest). */
  runDir?: string;
  split?: EvaluationSplit;
}

const SPLIT_LABELS: Record<EvaluationSplit, string> = {
  test: "Test data (the spec's data.test)",
  validation: "Validation examples (the run's validation split or data.validation)",
};

function pickRun(): Promise<string | undefined> {
  return pickRunWithCheckpoint({
    noRuns:
      'No run with a checkpoint in this workspace: train a spec for at least one epoch (DenseNet: Train Model), then evaluate it.',
    describe: (r) => ({
      description: [
        r.status,
        r.epochsCompleted !== undefined ? `${r.epochsCompleted}/${r.epochs} epochs` : undefined,
        bestFigureText(r, 1) || undefined,
      ]
        .filter((s) => s !== undefined)
        .join(' · '),
      detail: vscode.workspace.asRelativePath(r.runDir),
    }),
    options: {
      title: 'Evaluate: pick a run',
      placeHolder: 'Its best checkpoint (else latest) is evaluated',
      matchOnDetail: true,
    },
  });
}

async function pickSplit(runDir: string, requested: EvaluationSplit | undefined): Promise<EvaluationSplit | undefined> {
  const splits = runEvaluationSplits(runDir);
  if (requested !== undefined) {
    if (!splits.includes(requested))
      throw new Error(
        `the run's spec has no data.${requested}: evaluate ${splits.length ? `on ${splits.join(' or ')}` : 'after adding data.test to the spec and training a new run'}`,
      );
    return requested;
  }
  if (splits.length === 0)
    throw new Error(
      `the run's spec has no data.test or data.validation to evaluate on: add "test": "<folder>" to its data section and train a new run`,
    );
  if (splits.length === 1) return splits[0];
  const picked = await vscode.window.showQuickPick(
    splits.map((s) => ({ label: s, description: SPLIT_LABELS[s], split: s })),
    { title: `Evaluate ${path.basename(runDir)}: on which data?` },
  );
  return picked?.split;
}

/**
 * Runs the command: picks what is not given, evaluates with progress, announces the result. Returns the saved
 * evaluation (undefined when the user cancels a pick or the evaluation).
 */
export async function evaluateCommand(
  engine: InspectionClient,
  output: vscode.LogOutputChannel,
  args: EvaluateArgs,
  onEvaluated: (runDir: string, evaluation: SavedEvaluation) => void,
): Promise<SavedEvaluation | undefined> {
  if (!vscode.workspace.isTrusted)
    throw new Error("a run's checkpoint loads only in a trusted workspace: manage Workspace Trust to evaluate it");
  if (args.split !== undefined && args.split !== 'test' && args.split !== 'validation')
    throw new Error(`split must be "test" or "validation" (got ${JSON.stringify(args.split)})`);
  engine.warm(); // the engine starts while the user picks
  const runDir = args.runDir ?? (await pickRun());
  if (!runDir) return undefined;
  if (!readRunListing(runDir)) throw new Error(`${runDir} is not a run folder (no readable run.json)`);
  const split = await pickSplit(runDir, args.split);
  if (!split) return undefined;
  const name = path.basename(runDir);
  const started = Date.now();
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Evaluating ${name} on ${split}`, cancellable: true },
    async (progress, token) => {
      const abort = new AbortController();
      const sub = token.onCancellationRequested(() => abort.abort());
      let last = 0;
      try {
        return await engine.inspect(
          'evaluate',
          { checkpoint: runDir, split },
          {
            signal: abort.signal,
            onProgress: ({ examples, total }) => {
              const percent = total > 0 ? (examples / total) * 100 : 0;
              progress.report({ message: `${examples} of ${total} images`, increment: percent - last });
              last = percent;
            },
          },
        );
      } catch (e) {
        if (token.isCancellationRequested) return undefined;
        throw e;
      } finally {
        sub.dispose();
      }
    },
  );
  if (!result) {
    output.info(`Evaluate ${name} on ${split}: cancelled, nothing saved`);
    return undefined;
  }
  const e = result.evaluation;
  const figure = e.multilabel
    ? `mean AUROC ${e.multilabel.meanAuroc?.toFixed(3) ?? '–'}`
    : e.segmentation
      ? `mean IoU ${e.segmentation.meanIou === null ? '–' : `${(e.segmentation.meanIou * 100).toFixed(2)}%`}`
      : `accuracy ${(e.accuracy * 100).toFixed(2)}%`;
  const summary = `${result.label}: ${figure}, loss ${e.loss.toFixed(4)} on ${e.examples} images`;
  output.info(
    `Evaluated ${runDir} (${e.checkpoint ?? 'checkpoint'}) in ${Date.now() - started} ms${result.inference ? ` on ${result.inference === 'onnxruntime' ? 'ONNX Runtime' : 'TensorFlow.js'}` : ''} — ${summary}${result.skipped ? `; ${result.skipped} unreadable image(s) skipped` : ''}; saved in evaluations.jsonl${result.predictionsFile ? ` and ${result.predictionsFile}` : ''}`,
  );
  onEvaluated(runDir, e);
  const specFile = readRunListing(runDir)?.specFile;
  const show = 'Show in Dashboard';
  void vscode.window
    .showInformationMessage(`Evaluated ${name} — ${summary}.`, ...(typeof specFile === 'string' ? [show] : []))
    .then(async (choice) => {
      if (choice !== show || typeof specFile !== 'string') return;
      await vscode.commands.executeCommand('densenet.openDashboard', vscode.Uri.file(specFile));
      onEvaluated(runDir, e);
    });
  return e;
}
