/**
 * Engine process entry (forked by the extension host with an ipc channel). Speaks the typed protocol of
 * src/protocol/engine.ts; runs one training at a time; cancel stops at a batch boundary.
 */
import * as path from 'path';
import type { FromEngine, ToEngine } from '../protocol/engine';
import { initBackend } from './backend';
import { Inspector } from './inspector';
import { train, type TrainControl } from './training/train';

function send(msg: FromEngine): void {
  process.send?.(msg);
}

let control: TrainControl | undefined;
let busy = false;
const inspector = new Inspector();
const cancelledInspections = new Set<number>();

async function handle(msg: ToEngine): Promise<void> {
  switch (msg.type) {
    case 'init': {
      const choice = await initBackend(msg.config.backend, {
        nativeSearchPaths: msg.config.nativeSearchPaths,
        wasmDir: msg.config.wasmDir ?? __dirname,
      });
      send({ type: 'ready', backend: choice.backend, reason: choice.reason, warnings: choice.warnings });
      return;
    }
    case 'train': {
      if (busy) {
        send({ type: 'response', inReplyTo: msg.id, ok: false, error: 'This engine is already training.' });
        return;
      }
      busy = true;
      control = { cancelled: false };
      try {
        const result = await train(
          msg.request,
          {
            started: (info) => send({ type: 'training/started', info }),
            batch: (metrics) => send({ type: 'training/batch', metrics }),
            epochEnd: (metrics) => send({ type: 'training/epochEnd', metrics }),
            skipped: (file, reason, total) => send({ type: 'training/skipped', file, reason, total }),
            log: (level, message) => send({ type: 'log', level, message }),
          },
          control,
        );
        send({ type: 'response', inReplyTo: msg.id, ok: true, result });
      } catch (e) {
        send({ type: 'response', inReplyTo: msg.id, ok: false, error: e instanceof Error ? e.message : String(e) });
      } finally {
        busy = false;
        control = undefined;
      }
      return;
    }
    case 'inspect': {
      try {
        const result = await inspector.run(msg.request, {
          progress: (progress) => send({ type: 'inspect/progress', inReplyTo: msg.id, progress }),
          cancelled: () => cancelledInspections.has(msg.id),
        });
        send({ type: 'response', inReplyTo: msg.id, ok: true, result });
      } catch (e) {
        send({ type: 'response', inReplyTo: msg.id, ok: false, error: e instanceof Error ? e.message : String(e) });
      } finally {
        cancelledInspections.delete(msg.id);
      }
      return;
    }
    case 'cancelInspect':
      cancelledInspections.add(msg.id);
      return;
    case 'cancel':
      if (control) control.cancelled = true;
      return;
    case 'shutdown': {
      if (control) control.cancelled = true;
      // Give a running step the chance to reach its batch boundary and save.
      const started = Date.now();
      while (busy && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 50));
      process.exit(0);
    }
  }
}

process.on('message', (msg: ToEngine) => {
  handle(msg).catch((e) => {
    send({ type: 'log', level: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    process.exitCode = 1;
  });
});
// The host went away (window closed, extension host crashed): stop, as a child must.
process.on('disconnect', () => process.exit(0));
process.title = `densenet-engine ${path.basename(process.argv[1] ?? '')}`;
