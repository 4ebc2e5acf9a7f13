// "Start the product": a real VS Code (code-server) on 127.0.0.1 with a copy of examples/ open and this
// extension loaded as in an Extension Development Host. Runs in the foreground until Ctrl+C, then stops everything.
// Normally run through scripts/start.sh (npm start), which installs and builds first.
//
// The folder opened is a copy of examples/ outside the repository ($DENSENET_LAB_EXAMPLES, else
// ~/.densenet-lab-examples), made again when examples/ changes, so edits and runs never touch tracked files.
//
// Usage: node scripts/start.mjs [--folder <dir, opened as is>] [--extension <dir, default: repo>]
//        node scripts/start.mjs --prepare-only   (makes the copy, prints its folder, exits)
// Port: $PORT if set, else 8080 if free, else any free port. User data persists in .vscode-test/user-data.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { defaultExamplesCopy, freshExamples } from './lib/examples-copy.mjs';
import { ROOT, freePort, startServer, workbenchUrl, withCleanup } from './lib/vscode-server.mjs';

const { values: opts } = parseArgs({
  options: {
    folder: { type: 'string' },
    extension: { type: 'string', default: ROOT },
    'prepare-only': { type: 'boolean', default: false },
  },
});

if (opts.folder === undefined) {
  const copy = defaultExamplesCopy();
  try {
    const copied = freshExamples(path.join(ROOT, 'examples'), copy);
    console.log(
      copied ? `Copied examples/ to ${copy}` : `Reusing ${copy} (examples/ has not changed since it was copied)`,
    );
  } catch (err) {
    console.error(`start: ${err.message}`);
    process.exit(1);
  }
  opts.folder = copy;
}
if (opts['prepare-only']) {
  console.log(`Folder: ${path.resolve(opts.folder)}`);
  process.exit(0);
}

const code = await withCleanup(async (cleanups) => {
  const port = process.env.PORT ? Number(process.env.PORT) : await freePort(8080);
  const server = await startServer({ port, stateDir: path.join(ROOT, '.vscode-test/user-data'), lifetimeSeconds: 0 });
  cleanups.push(server.stop);
  const url = workbenchUrl({ port, folder: opts.folder, extensionDevelopmentPath: opts.extension });
  console.log(`
DenseNet Lab is running in VS Code (code-server) at:

  ${url}

Folder: ${path.resolve(opts.folder)}
Server log: ${server.logFile}
Press Ctrl+C to stop.
`);
  const exit = await server.exited; // only returns if code-server dies on its own; Ctrl+C exits from withCleanup
  console.error(`code-server exited unexpectedly (${exit}); see ${server.logFile}`);
  return 1;
}).catch((err) => {
  console.error(`start: ${err.message}`);
  return 1;
});
process.exit(code);
