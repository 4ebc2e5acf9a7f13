/** What the panels get from the extension: the spec service, the training controller, the output channel. */
import type * as vscode from 'vscode';
import type { SpecService } from '../editor/specService';
import type { TrainingController } from '../editor/trainingController';

export interface PanelDeps {
  context: vscode.ExtensionContext;
  specs: SpecService;
  training: TrainingController;
  output: vscode.LogOutputChannel;
}
