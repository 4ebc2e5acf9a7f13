/**
 * Mocha inside the real VS Code extension host (code-server), the entry `extensionTestsPath` names.
 * Prints `RESULTS {"passed":N,"failed":N,"skipped":N}` for scripts/run-integration.mjs to count.
 */
import * as fs from 'fs';
import Mocha from 'mocha';
import * as path from 'path';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60_000, reporter: 'spec' });
  const grep = process.env.DENSENET_TEST_GREP;
  if (grep) mocha.grep(grep);
  for (const f of fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.test.js'))
    .sort())
    mocha.addFile(path.join(__dirname, f));
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      const stats = runner.stats ?? { passes: 0, failures, pending: 0 };
      console.log(
        `RESULTS ${JSON.stringify({ passed: stats.passes, failed: stats.failures, skipped: stats.pending })}`,
      );
      if (failures > 0) reject(new Error(`${failures} integration test(s) failed`));
      else resolve();
    });
  });
}
