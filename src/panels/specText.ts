/** What the spec panels (architecture, summary) take from a spec's file and text. */
import type * as vscode from 'vscode';
import type { GroupInfo } from '../core/analyze';
import { specPathsOf } from '../core/diagram';
import { nodeAt, type ParsedSpec } from '../core/parse';

/** The range of the spec text that defines a part: the first of its paths that exists in the document. */
export function definingRange(
  parsed: ParsedSpec,
  g: Pick<GroupInfo, 'kind' | 'index' | 'path'>,
): { offset: number; length: number } | undefined {
  for (const path of specPathsOf(g.kind, g.index, g.path)) {
    const node = nodeAt(parsed, path);
    if (!node) continue;
    // Select the whole `"key": value` for object fields, the entry itself for array items.
    const target = node.parent?.type === 'property' ? node.parent : node;
    return { offset: target.offset, length: target.length };
  }
  return undefined;
}

/** The spec's file name without `.densenet.json`. */
export function specName(uri: vscode.Uri): string {
  return (uri.path.split('/').pop() ?? 'spec').replace(/\.densenet\.json$/, '');
}
