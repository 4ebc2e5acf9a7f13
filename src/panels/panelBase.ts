/**
 * What every DenseNet Lab webview panel shares (architecture, training dashboard, feature maps):
 *
 * - the HTML shell: a strict Content-Security-Policy (scripts only with a fresh nonce, styles, fonts and images
 *   from the extension, no remote content), the panel's bundle from dist/webview, the theme CSS of media/;
 * - the webview options (scripts on, local resources only from dist/ and media/);
 * - the channel to the page (src/panels/panelChannel.ts) with the handshake: the page asks for its full state
 *   each time it (re)loads, and the panel answers with `fullState()`;
 * - owned disposables: every subscription a panel makes is disposed with it, and its channel closed;
 * - the serializer registration that brings a panel back after a window reload, from the state its page kept;
 * - `reportError`: the one place where a failure of a panel (a handler, a listener, a command, a restore) is
 *   logged to the extension's output channel and shown to the user.
 */
import { randomBytes } from 'crypto';
import * as vscode from 'vscode';
import type { PanelHostContract } from '../protocol/panel';
import type { Contract } from '../protocol/rpc';
import type { PanelDeps } from './deps';
import { PanelChannel, webviewPipe } from './panelChannel';

export interface PanelPage {
  /** Bundle name under dist/webview/, e.g. `architecture` (dist/webview/architecture.js). */
  bundle: string;
  /** The document title of the page. */
  title: string;
  /** How errors and log lines name the panel, e.g. `Feature maps`. */
  name: string;
}

function nonce(): string {
  return randomBytes(16).toString('base64');
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/** Webview options: scripts on, resources only from dist/ and media/. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return {
    enableScripts: true,
    retainContextWhenHidden: false,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}

export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, page: Omit<PanelPage, 'name'>): string {
  const n = nonce();
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', `${page.bundle}.js`));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'webview.css'));
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data: blob:`,
    `style-src ${webview.cspSource} 'unsafe-inline'`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${n}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">
<title>${escapeHtml(page.title)}</title>
</head>
<body>
<div id="app"></div>
<script nonce="${n}" src="${script}"></script>
</body>
</html>`;
}

export interface ReportOptions {
  /** What was being done (a request of the page, restoring the panel): named in the log only. */
  during?: string;
  /** False when the page shows the failure where it happened: the log keeps it, as a warning. */
  show?: boolean;
}

/**
 * The one place a panel's failure goes: logged to the output channel (with its stack), and shown as
 * `where: message`.
 */
export function reportError(
  output: vscode.LogOutputChannel,
  where: string,
  error: unknown,
  { during, show = true }: ReportOptions = {},
): void {
  const message = error instanceof Error ? error.message : String(error);
  const context = during ? `${where} (${during})` : where;
  if (!show) {
    output.warn(`${context}: ${message}`);
    return;
  }
  output.error(`${context}: ${error instanceof Error ? (error.stack ?? message) : message}`);
  void vscode.window.showErrorMessage(`${where}: ${message}`);
}

/** A new panel of `viewType` with the webview options of every panel. */
export function createWebviewPanel(
  deps: PanelDeps,
  viewType: string,
  title: string,
  show: { viewColumn: vscode.ViewColumn; preserveFocus: boolean },
): vscode.WebviewPanel {
  return vscode.window.createWebviewPanel(viewType, title, show, webviewOptions(deps.context.extensionUri));
}

/**
 * Registers the serializer of `viewType`: after a window reload VS Code hands back the panel with the state its
 * page kept (vscode.setState), or undefined. A `restore` that fails is reported and its panel closed.
 */
export function registerPanelSerializer(
  deps: PanelDeps,
  viewType: string,
  name: string,
  restore: (panel: vscode.WebviewPanel, state: Record<string, unknown> | undefined) => void | Promise<void>,
): vscode.Disposable {
  return vscode.window.registerWebviewPanelSerializer(viewType, {
    async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
      try {
        const kept = typeof state === 'object' && state !== null ? (state as Record<string, unknown>) : undefined;
        await restore(panel, kept);
      } catch (e) {
        reportError(deps.output, name, e, { during: 'restoring the panel' });
        panel.dispose();
      }
    },
  });
}

/** A command whose failure is reported as `where`'s; it resolves to what `run` returns (undefined on failure). */
export function registerPanelCommand(
  deps: PanelDeps,
  command: string,
  where: string,
  run: (...args: unknown[]) => unknown,
): vscode.Disposable {
  return vscode.commands.registerCommand(command, async (...args: unknown[]) => {
    try {
      return await run(...args);
    } catch (e) {
      reportError(deps.output, where, e);
      return undefined;
    }
  });
}

/**
 * A webview panel and its page. `S` is the full state the page asks for when it (re)loads, `Host` the contract
 * the panel answers and announces, `View` the page's.
 */
export abstract class PanelBase<S, Host extends PanelHostContract<S>, View extends Contract>
  implements vscode.Disposable
{
  protected readonly channel: PanelChannel<Host, View>;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly disposeEmitter = new vscode.EventEmitter<void>();
  /** Fires once, when the panel is closed (by the user or `dispose()`). */
  readonly onDidDispose = this.disposeEmitter.event;
  private isDisposed = false;
  /** The page has asked for its state at least once: it is listening to what the panel announces. */
  protected pageReady = false;

  constructor(
    readonly panel: vscode.WebviewPanel,
    protected readonly deps: PanelDeps,
    page: PanelPage,
  ) {
    const { extensionUri } = deps.context;
    panel.webview.options = webviewOptions(extensionUri);
    panel.webview.html = webviewHtml(panel.webview, extensionUri, page);
    this.channel = new PanelChannel<Host, View>(webviewPipe(panel.webview), (what, error, shownByWebview) =>
      reportError(deps.output, page.name, error, { during: what, show: !shownByWebview }),
    );
    this.own(
      panel.onDidDispose(() => this.dispose()),
      this.disposeEmitter,
    );
    this.channel.handle('state', () => {
      this.pageReady = true;
      return this.fullState();
    });
  }

  /** The full state of the page, answered each time it (re)loads. */
  protected abstract fullState(): S | Promise<S>;

  /** Disposes `disposables` with the panel. */
  protected own(...disposables: vscode.Disposable[]): void {
    if (this.isDisposed) disposables.forEach((d) => d.dispose());
    else this.disposables.push(...disposables);
  }

  get disposed(): boolean {
    return this.isDisposed;
  }

  /** Called once when the panel closes, before its subscriptions are disposed (timers, running work). */
  protected onDisposed(): void {}

  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    this.channel.close();
    this.onDisposed();
    this.disposeEmitter.fire();
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}
