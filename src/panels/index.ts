/** Registers the webview panels: architecture, training dashboard, feature maps, model summary. */
import type * as vscode from 'vscode';
import { registerArchitecturePanel } from './architecture';
import { registerDashboardPanel } from './dashboard';
import type { PanelDeps } from './deps';
import { registerFeatureMapsPanel } from './features';
import { registerSummaryPanel } from './summary';

export function registerPanels(deps: PanelDeps): vscode.Disposable[] {
  return [
    ...registerArchitecturePanel(deps),
    ...registerDashboardPanel(deps),
    ...registerFeatureMapsPanel(deps),
    ...registerSummaryPanel(deps),
  ];
}
