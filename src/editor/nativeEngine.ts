/**
 * `DenseNet: Install Native Engine`: installs @tensorflow/tfjs-node (native TensorFlow) with npm into the
 * extension's global storage, with progress and a log. Its install script downloads libtensorflow; where
 * that cannot be reached the install fails, the user is told why, and training stays on WASM.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';

export const TFJS_NODE_VERSION = '4.22.0';

export async function installNativeEngine(
  context: vscode.ExtensionContext,
  output: vscode.LogOutputChannel,
): Promise<boolean> {
  const dir = path.join(context.globalStorageUri.fsPath, 'native');
  fs.mkdirSync(dir, { recursive: true });
  if (!fs.existsSync(path.join(dir, 'package.json'))) {
    fs.writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({ name: 'densenet-lab-native-engine', private: true }, null, 2),
    );
  }
  output.show(true);
  output.info(`Installing @tensorflow/tfjs-node@${TFJS_NODE_VERSION} into ${dir}`);
  const tail: string[] = [];
  const code = await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: 'Installing the native TensorFlow engine',
      cancellable: true,
    },
    (progress, token) =>
      new Promise<number | null>((resolve) => {
        progress.report({ message: 'npm install @tensorflow/tfjs-node (downloads libtensorflow)' });
        const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
        const child = spawn(npm, ['install', '--no-audit', '--no-fund', `@tensorflow/tfjs-node@${TFJS_NODE_VERSION}`], {
          cwd: dir,
          env: process.env,
        });
        const log = (d: Buffer) => {
          for (const line of d
            .toString()
            .split('\n')
            .filter((l) => l.trim())) {
            output.info(`[npm] ${line}`);
            tail.push(line);
            if (tail.length > 20) tail.shift();
            progress.report({ message: line.slice(0, 120) });
          }
        };
        child.stdout.on('data', log);
        child.stderr.on('data', log);
        child.on('error', (e) => {
          tail.push(`could not run npm: ${e.message}`);
          resolve(null);
        });
        child.on('exit', (c) => resolve(c));
        token.onCancellationRequested(() => child.kill());
      }),
  );
  if (code === 0) {
    void vscode.window.showInformationMessage(
      'The native TensorFlow engine is installed: training with densenet.engine.backend "auto" or "tensorflow" now uses it.',
    );
    return true;
  }
  const why =
    tail.find((l) => /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|404|EACCES|gyp ERR|Error/i.test(l)) ??
    tail[tail.length - 1] ??
    'npm failed';
  output.error(`Installing @tensorflow/tfjs-node failed (exit ${code}): ${why}`);
  void vscode.window
    .showErrorMessage(
      `The native engine could not be installed (${why.trim()}). Training stays on the WASM engine, which needs no install.`,
      'Show Log',
    )
    .then((c) => c && output.show());
  return false;
}
