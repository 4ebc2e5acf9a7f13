/** The engine's backend line in the output channel; the backend's note (e.g. "native engine not installed") once per session. */
import type * as vscode from 'vscode';
import type { EngineReady } from '../protocol/engine';

const notesSaid = new Set<string>();

/** Logs `<prefix>: <backend> — <reason>`, and the note only the first time this session. */
export function logEngineReady(output: vscode.LogOutputChannel, prefix: string, ready: EngineReady): void {
  output.info(`${prefix}: ${ready.backend} — ${ready.reason}`);
  if (ready.note && !notesSaid.has(ready.note)) {
    notesSaid.add(ready.note);
    output.info(ready.note);
  }
}
