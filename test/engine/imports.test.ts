/**
 * The engine's modules import each other without cycles, type-only imports included: a cycle makes the order
 * in which modules initialise depend on which one is loaded first (the training loop, the data-parallel pool
 * and its workers, the step module were once such a cycle).
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const root = path.resolve(__dirname, '../../..');
const src = path.join(root, 'src');

function tsFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
    );
}

/** The relative imports (and re-exports) of every .ts file under src/, resolved to files. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of tsFiles(src)) {
    const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    const deps = importedFiles
      .filter((i) => i.fileName.startsWith('.'))
      .map((i) => path.resolve(path.dirname(file), i.fileName))
      .map((base) => [`${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(f)))
      .filter((f): f is string => f !== undefined);
    graph.set(file, deps);
  }
  return graph;
}

/** Every cycle found by a depth-first walk, as a list of files (the first repeated at the end). */
function cycles(graph: Map<string, string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const dep of graph.get(file) ?? []) {
      if (state.get(dep) === 'open') found.push([...stack.slice(stack.indexOf(dep)), dep]);
      else if (!state.has(dep)) visit(dep);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

describe('engine: module imports', () => {
  it('no import cycle passes through src/engine (type-only imports included)', () => {
    const graph = importGraph();
    assert.ok(graph.has(path.join(src, 'engine', 'training', 'step.ts')), 'the graph covers the engine');
    const engine = path.join(src, 'engine') + path.sep;
    const found = cycles(graph)
      .filter((c) => c.some((f) => f.startsWith(engine)))
      .map((c) => c.map((f) => path.relative(root, f)).join(' -> '));
    assert.deepStrictEqual(found, []);
  });
});
