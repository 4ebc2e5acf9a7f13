/** Registers the webview panels: architecture, training dashboard, feature maps, model summary, Compare Runs. */
import type * as vscode from 'vscode';
import { registerArchitecturePanel } from './architecture';
import { registerDashboardPanel } from './dashboard';
import type { PanelDeps } from './deps';
import { registerExperimentsPanel } from './experiments';
import { registerFeatureMapsPanel } from './features';
import { registerSummaryPanel } from './summary';

export function registerPanels(deps: PanelDeps): vscode.Disposable[] {
  return [
    ...registerArchitecturePanel(deps),
    ...registerDashboardPanel(deps),
    ...registerFeatureMapsPanel(deps),
    ...registerSummaryPanel(deps),
    ...registerExperimentsPanel(deps),
  ];
}
