/** Activation: wires the editor features together, nothing else. */
import * as vscode from 'vscode';
import { SpecCodeActionProvider } from './editor/codeActions';
import { SpecCodeLensProvider } from './editor/codeLens';
import { SpecDiagnostics } from './editor/diagnostics';
import { SpecHoverProvider } from './editor/hover';
import { installNativeEngine } from './editor/nativeEngine';
import { newSpec, type NewSpecArgs } from './editor/newSpec';
import { SPEC_SELECTOR, SpecService } from './editor/specService';
import { SpecStatusBar } from './editor/statusBar';
import { TrainingController } from './editor/trainingController';
import { InspectionClient } from './editor/inspectionClient';
import { evaluateCommand, type EvaluateArgs } from './editor/evaluateCommand';
import {
  exportModelCommand,
  type ExportModelArgs,
  importWeightsCommand,
  type ImportWeightsArgs,
} from './editor/weightsCommands';
import { registerPanels } from './panels';
import { showEvaluatedRun } from './panels/dashboard';
import { registerExamplesGallery } from './panels/evaluationGallery';

/** What activate returns: for other extensions and the integration tests. */
export interface DenseNetLabApi {
  training: TrainingController;
}

export function activate(context: vscode.ExtensionContext): DenseNetLabApi {
  const output = vscode.window.createOutputChannel('DenseNet Lab', { log: true });
  context.subscriptions.push(output);
  try {
    const specs = new SpecService();
    const codeLenses = new SpecCodeLensProvider(specs);
    const training = new TrainingController(context, specs, output);
    // The engine process that imports and exports weights (started on first use).
    const interchange = new InspectionClient(context, output);
    context.subscriptions.push(
      interchange,
      vscode.commands.registerCommand('densenet.importWeights', (args?: ImportWeightsArgs) =>
        reportErrors(output, 'Import Pretrained Weights', () =>
          importWeightsCommand(context, interchange, output, typeof args === 'object' && args ? args : {}),
        ),
      ),
      vscode.commands.registerCommand('densenet.exportModel', (arg?: unknown, args?: ExportModelArgs) =>
        reportErrors(output, 'Export Model', () =>
          exportModelCommand(interchange, output, arg, typeof args === 'object' && args ? args : {}),
        ),
      ),
      specs,
      new SpecDiagnostics(specs),
      codeLenses,
      new SpecStatusBar(specs),
      training,
      vscode.commands.registerCommand('densenet.installNativeEngine', () =>
        reportErrors(output, 'Install Native Engine', () => installNativeEngine(context, output)),
      ),
      vscode.languages.registerHoverProvider(SPEC_SELECTOR, new SpecHoverProvider(specs)),
      vscode.languages.registerCodeLensProvider(SPEC_SELECTOR, codeLenses),
      vscode.languages.registerCodeActionsProvider(SPEC_SELECTOR, new SpecCodeActionProvider(specs), {
        providedCodeActionKinds: SpecCodeActionProvider.kinds,
      }),
      vscode.commands.registerCommand('densenet.newSpec', (args?: NewSpecArgs) =>
        reportErrors(output, 'New Model Spec', () => newSpec(args)),
      ),
    );
    context.subscriptions.push(...registerPanels({ context, specs, training, output }));
    // DenseNet: Evaluate (palette, a run folder's context menu, the dashboard) and the gallery of its examples,
    // in the same engine process as the weights commands.
    context.subscriptions.push(
      ...registerExamplesGallery({ context, specs, training, output }, interchange),
      vscode.commands.registerCommand('densenet.evaluate', (arg?: unknown) =>
        reportErrors(output, 'Evaluate', () =>
          evaluateCommand(interchange, output, evaluateArgs(arg), (runDir) => showEvaluatedRun(runDir)),
        ),
      ),
    );
    context.subscriptions.push(vscode.workspace.onDidGrantWorkspaceTrust(() => codeLenses.refresh()));
    output.info(`DenseNet Lab ${context.extension.packageJSON.version} activated`);
    return { training };
  } catch (e) {
    const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
    output.error(`Activation failed: ${message}`);
    void vscode.window
      .showErrorMessage(
        `DenseNet Lab failed to start: ${e instanceof Error ? e.message : String(e)}. See the "DenseNet Lab" output for details.`,
        'Show Output',
      )
      .then((choice) => choice && output.show());
    throw e;
  }
}

/** The arguments of densenet.evaluate: `{ runDir, split }`, or a run folder (the explorer's context menu). */
function evaluateArgs(arg: unknown): EvaluateArgs {
  if (arg instanceof vscode.Uri) return { runDir: arg.fsPath };
  if (typeof arg !== 'object' || arg === null) return {};
  const { runDir, split } = arg as Record<string, unknown>;
  return {
    ...(typeof runDir === 'string' ? { runDir } : {}),
    // Checked by the command, which says what a wrong one should be.
    ...(typeof split === 'string' ? { split: split as EvaluateArgs['split'] } : {}),
  };
}

/** Runs a command; a failure is logged and shown, never silent. */
async function reportErrors<T>(
  output: vscode.LogOutputChannel,
  what: string,
  run: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await run();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    output.error(`${what}: ${e instanceof Error ? (e.stack ?? message) : message}`);
    void vscode.window.showErrorMessage(`${what} failed: ${message}`);
    return undefined;
  }
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
