/**
 * Engine process entry. Forked by the extension host with an ipc channel, it answers the requests of the
 * contract of src/protocol/engine.ts through an `RpcEndpoint` (inspections, weight interchange); runs one
 * training at a time; a cancelled training stops at a batch boundary.
 * Started with `--run <launch file>` it is a detached training engine instead (./detached.ts): its own process
 * group, reached over the run's socket, outliving the window that started it.
 */
import * as path from 'path';
import type { EngineContract, HostContract } from '../protocol/engine';
import { ipcPipe, RpcEndpoint } from '../protocol/rpc';
import { initBackend } from './backend';
import { evaluateRun, exampleImages } from './evaluation';
import { InspectionService } from './inspection/service';
import { setWeightsCacheDir } from './initialWeights';
import { setInferencePreference } from './onnxRuntime';
import { exportModel, importWeights } from './interchange';
import { train, type TrainControl } from './training/train';
import { runDetached } from './detached';

function serveHost(): void {
  const host = new RpcEndpoint<EngineContract, HostContract>(ipcPipe(process));
  const inspection = new InspectionService((message) => host.notify('log', { level: 'info', message }));
  /** The running training's control (cancelled by its request's signal, or by shutdown). */
  let control: TrainControl | undefined;

  host.handle('init', async (config) => {
    if (config.weightsCacheDir) setWeightsCacheDir(config.weightsCacheDir);
    setInferencePreference(config.inference ?? 'auto');
    const choice = await initBackend(config.backend, {
      nativeSearchPaths: config.nativeSearchPaths,
      wasmDir: config.wasmDir ?? __dirname,
    });
    return { backend: choice.backend, reason: choice.reason, warnings: choice.warnings, note: choice.note };
  });

  host.handle('train', async (request, { signal }) => {
    if (control) throw new Error('This engine is already training.');
    const running: TrainControl = { cancelled: signal.aborted };
    control = running;
    const cancel = () => (running.cancelled = true);
    signal.addEventListener('abort', cancel);
    try {
      return await train(
        request,
        {
          started: (info) => host.notify('training/started', info),
          batch: (metrics) => host.notify('training/batch', metrics),
          epochEnd: (metrics) => host.notify('training/epochEnd', metrics),
          skipped: (file, reason, total) => host.notify('training/skipped', { file, reason, total }),
          log: (level, message) => host.notify('log', { level, message }),
        },
        running,
      );
    } finally {
      signal.removeEventListener('abort', cancel);
      control = undefined;
    }
  });

  host.handle('describe', (p) => inspection.describe(p));
  host.handle('predict', (p) => inspection.predict(p));
  host.handle('activations', (p) => inspection.activations(p));
  host.handle('activationCodes', (p) => inspection.activationCodes(p));
  host.handle('gradcam', (p) => inspection.gradcam(p));
  host.handle('saliency', (p) => inspection.saliency(p));
  host.handle('maximise', (p, context) => inspection.maximise(p, context));
  host.handle('importWeights', (p, { signal, progress }) =>
    importWeights({
      ...p,
      signal,
      onDownloadProgress: (receivedBytes, totalBytes) => progress({ receivedBytes, totalBytes }),
    }),
  );
  host.handle('exportModel', (p) => exportModel(p));
  host.handle('evaluate', async (p, { signal, progress }) => {
    const control = { cancelled: signal.aborted };
    const cancel = () => (control.cancelled = true);
    signal.addEventListener('abort', cancel);
    try {
      return await evaluateRun(p, {
        control,
        onProgress: progress,
        log: (message) => host.notify('log', { level: 'warn', message }),
      });
    } finally {
      signal.removeEventListener('abort', cancel);
    }
  });
  host.handle('exampleImages', (p) => exampleImages(p, (message) => host.notify('log', { level: 'warn', message })));

  host.handle('shutdown', async () => {
    if (control) control.cancelled = true;
    // Give a running step the chance to reach its batch boundary and save.
    const started = Date.now();
    while (control && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 50));
    process.exit(0);
  });

  // The host went away (window closed, extension host crashed): stop, as a child must.
  process.on('disconnect', () => process.exit(0));
  process.title = `densenet-engine ${path.basename(process.argv[1] ?? '')}`;
}

const launchAt = process.argv.indexOf('--run');
if (launchAt >= 0) {
  process.title = 'densenet-engine (training)';
  void runDetached(process.argv[launchAt + 1] ?? '').then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
} else serveHost();
