/**
 * Size limits and module structure, checked on the TypeScript sources of src/ and webview/ with the TypeScript
 * compiler API: no file over 600 lines, no function over 120 lines, and no import cycle among the modules of
 * src/. The sources are kept Prettier-formatted (`npm run format:check`), so their lines are Prettier's.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const root = path.resolve(__dirname, '../..');
const MAX_FILE_LINES = 600;
const MAX_FUNCTION_LINES = 120;

/** Absolute paths of the .ts files under `dir` (relative to the repository root), sorted. */
function sources(dir: string): string[] {
  const abs = path.join(root, dir);
  if (!fs.existsSync(abs)) return [];
  return fs
    .readdirSync(abs, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

const rel = (file: string) => path.relative(root, file).split(path.sep).join('/');

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
}

function lineCount(sf: ts.SourceFile): number {
  const text = sf.text;
  return text.length === 0 ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

/** A readable name for a function-like node: its own name, or that of the variable, property or class member holding it. */
function functionName(node: ts.FunctionLikeDeclaration): string {
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  if (node.name) return node.name.getText();
  const parent = node.parent;
  if (
    (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) &&
    parent.name
  ) {
    return parent.name.getText();
  }
  return '(anonymous)';
}

interface LongFunction {
  name: string;
  line: number;
  lines: number;
}

/** Every function-like node with a body (declarations, methods, accessors, constructors, function expressions, arrows). */
function longFunctions(sf: ts.SourceFile, limit: number): LongFunction[] {
  const found: LongFunction[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const fn = node as ts.FunctionLikeDeclaration;
      const start = sf.getLineAndCharacterOfPosition(fn.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(fn.getEnd()).line;
      const lines = end - start + 1;
      if (lines > limit) found.push({ name: functionName(fn), line: start + 1, lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** The relative module specifiers a file imports: import and export declarations (type-only too), import types, import() and require(). */
function relativeImports(sf: ts.SourceFile): string[] {
  const specs: string[] = [];
  const add = (e: ts.Node | undefined) => {
    if (e && ts.isStringLiteral(e) && e.text.startsWith('.')) specs.push(e.text);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal);
    else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === 'require'))
    ) {
      add(node.arguments[0]);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return specs;
}

/** The .ts file a relative specifier of `from` names (`./x` -> x.ts or x/index.ts), if it exists. */
function resolveModule(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec);
  return [base, `${base}.ts`, path.join(base, 'index.ts')].find((f) => f.endsWith('.ts') && fs.existsSync(f));
}

/** The import graph of `files`: each file's imported files among them. */
function importGraph(files: string[]): Map<string, string[]> {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const targets = relativeImports(parse(f))
      .map((s) => resolveModule(f, s))
      .filter((t): t is string => t !== undefined && known.has(t));
    graph.set(f, [...new Set(targets)]);
  }
  return graph;
}

/** Strongly connected components (Tarjan) with more than one module, or a module importing itself. */
function cyclicComponents(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) connect(v);
  return components;
}

/** A shortest import path from `start` back to itself within `members` (breadth-first). */
function cycleThrough(start: string, members: Set<string>, graph: Map<string, string[]>): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const cycle = [start];
        for (let u = v; u !== start; u = previous.get(u)!) cycle.splice(1, 0, u);
        return [...cycle, start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}

/**
 * Import cycles to report: in each strongly connected component, a shortest cycle through each module that no
 * cycle listed before passes through, so that every module of a cycle is named at least once.
 */
function importCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  for (const component of cyclicComponents(graph)) {
    const members = new Set(component);
    const covered = new Set<string>();
    for (const start of component) {
      if (covered.has(start)) continue;
      const cycle = cycleThrough(start, members, graph);
      cycle.forEach((m) => covered.add(m));
      cycles.push(cycle);
    }
  }
  return cycles;
}

describe('source structure', () => {
  const files = [...sources('src'), ...sources('webview')];

  it(`no source file in src/ or webview/ is over ${MAX_FILE_LINES} lines`, () => {
    assert.ok(files.length > 20, `only ${files.length} sources found`);
    const offenders = files
      .map((f) => ({ file: rel(f), lines: lineCount(parse(f)) }))
      .filter((f) => f.lines > MAX_FILE_LINES)
      .map((f) => `${f.file}: ${f.lines} lines`);
    assert.deepStrictEqual(offenders, [], `files over ${MAX_FILE_LINES} lines:\n  ${offenders.join('\n  ')}`);
  });

  it(`no function in src/ or webview/ is over ${MAX_FUNCTION_LINES} lines`, () => {
    const offenders = files.flatMap((f) =>
      longFunctions(parse(f), MAX_FUNCTION_LINES).map((fn) => `${rel(f)}:${fn.line} ${fn.name}: ${fn.lines} lines`),
    );
    assert.deepStrictEqual(offenders, [], `functions over ${MAX_FUNCTION_LINES} lines:\n  ${offenders.join('\n  ')}`);
  });

  it('the modules of src/ import each other without cycles (type-only imports included)', () => {
    const cycles = importCycles(importGraph(sources('src'))).map((cycle) => cycle.map(rel).join(' -> '));
    assert.deepStrictEqual(cycles, [], `import cycles:\n  ${cycles.join('\n  ')}`);
  });
});

describe('source structure checks themselves', () => {
  const source = (text: string) => ts.createSourceFile('x.ts', text, ts.ScriptTarget.Latest, true);

  it('measure a function from its first line to its last, whatever its kind', () => {
    const body = (n: number) => Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const sf = source(
      [
        `/** doc */\nfunction f() {\n${body(3)}\n}`,
        `const g = () => {\n${body(4)}\n};`,
        `class C {\n  m() {\n${body(2)}\n  }\n}`,
      ].join('\n'),
    );
    // f: 5 lines (its doc comment not counted), g: 6, C.m: 4.
    assert.deepStrictEqual(
      longFunctions(sf, 3).map((f) => [f.name, f.lines]),
      [
        ['f', 5],
        ['g', 6],
        ['m', 4],
      ],
    );
    assert.deepStrictEqual(longFunctions(sf, 6), []);
  });

  it('find relative imports of every form and a cycle through them', () => {
    const sf = source(
      "import type { A } from './a';\nimport { b } from '../b';\nexport * from './c';\nimport * as fs from 'fs';\n" +
        "type T = typeof import('./d');\nconst e = require('./e');\nvoid import('./f');",
    );
    assert.deepStrictEqual(relativeImports(sf), ['./a', '../b', './c', './d', './e', './f']);
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c', 'd']],
      ['c', ['a']],
      ['d', []],
      ['e', ['e']],
    ]);
    const components = cyclicComponents(graph);
    assert.deepStrictEqual(components, [['a', 'b', 'c'], ['e']]);
    assert.deepStrictEqual(cycleThrough('a', new Set(components[0]), graph), ['a', 'b', 'c', 'a']);
    assert.deepStrictEqual(cycleThrough('e', new Set(['e']), graph), ['e', 'e']);
    // Two cycles sharing a module: both are named.
    graph.set('d', ['b']);
    assert.deepStrictEqual(importCycles(graph), [
      ['a', 'b', 'c', 'a'],
      ['d', 'b', 'd'],
      ['e', 'e'],
    ]);
  });
});
