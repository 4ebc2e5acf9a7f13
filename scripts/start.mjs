// "Start the product": a real VS Code (code-server) on 127.0.0.1 with examples/ open and this extension
// loaded as in an Extension Development Host. Runs in the foreground until Ctrl+C, then stops everything.
// Normally run through scripts/start.sh (npm start), which installs and builds first.
//
// Usage: node scripts/start.mjs [--folder examples] [--extension <dir, default: repo>]
// Port: $PORT if set, else 8080 if free, else any free port. User data persists in .vscode-test/user-data.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, freePort, startServer, workbenchUrl, withCleanup } from './lib/vscode-server.mjs';

const { values: opts } = parseArgs({
  options: {
    folder: { type: 'string', default: path.join(ROOT, 'examples') },
    extension: { type: 'string', default: ROOT },
  },
});

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
