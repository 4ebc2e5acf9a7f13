/** JSONC parsing with source ranges (jsonc-parser), and the diagnostic type every spec check reports. */
import {
  findNodeAtLocation,
  getNodeValue,
  type Node,
  type ParseError,
  parseTree,
  printParseErrorCode,
} from 'jsonc-parser';

export type JsonPath = (string | number)[];

export interface TextEdit {
  offset: number;
  length: number;
  newText: string;
}

export interface SpecFix {
  title: string;
  edits: TextEdit[];
}

export type Severity = 'error' | 'warning' | 'information';

export interface SpecDiagnostic {
  offset: number;
  length: number;
  severity: Severity;
  /** Says what is wrong and what to change. */
  message: string;
  /** A stable identifier, e.g. `compression-range`. */
  code: string;
  fixes?: SpecFix[];
}

export interface ParsedSpec {
  text: string;
  root: Node | undefined;
  /** The parsed value (best effort for broken JSON). */
  value: unknown;
  syntaxErrors: SpecDiagnostic[];
}

const syntaxHelp: Partial<Record<string, string>> = {
  PropertyNameExpected: 'write a property name in double quotes',
  ValueExpected: 'write a value (a number, string, object or array)',
  ColonExpected: 'add a ":" between the name and the value',
  CommaExpected: 'add a "," between the entries',
  CloseBraceExpected: 'close the object with "}"',
  CloseBracketExpected: 'close the array with "]"',
  EndOfFileExpected: 'remove the text after the closing "}"',
  InvalidSymbol: 'remove the stray character',
  UnexpectedEndOfString: 'close the string with a double quote',
  UnexpectedEndOfComment: 'close the comment with "*/"',
};

/** Deepest nesting of objects and arrays a spec may have (a spec needs 5; the parser recurses). */
export const MAX_NESTING = 64;
/** Most values (and keys) a spec may have: a spec needs about a hundred; parsing stays within milliseconds. */
export const MAX_VALUES = 5000;

/** Most escape sequences (`\\n`, `\\u00e9`...) the strings of a spec may hold: the parser decodes each apart. */
export const MAX_ESCAPES = 10_000;

/** Most blanks (spaces, tabs, line breaks, comments) a spec may hold outside its strings (the parser scans each apart). */
export const MAX_BLANKS = 50_000;

const LIMIT_MESSAGES = {
  blanks: `The spec holds more than ${MAX_BLANKS} spaces, tabs, line breaks and comments (outside strings) by here: remove the padding.`,
  nesting: `Objects and lists are nested more than ${MAX_NESTING} deep here: a spec needs at most 5 levels; remove the extra nesting.`,
  escapes: `The strings of this spec hold more than ${MAX_ESCAPES} escape sequences by here: shorten the text.`,
  values: `The spec holds more than ${MAX_VALUES} values by here: a DenseNet spec needs about a hundred; remove the long lists or repeated fields.`,
};

/**
 * Where a text first nests objects and arrays deeper than MAX_NESTING, or first holds more than MAX_VALUES
 * values (counted by their separators and brackets, outside strings and comments), MAX_ESCAPES escape sequences or
 * MAX_BLANKS blanks; undefined when it does none of these.
 * One pass, no allocation: the guard that keeps the parser from recursing too deep or building a huge tree.
 */
export function structureLimit(text: string): { offset: number; what: keyof typeof LIMIT_MESSAGES } | undefined {
  let depth = 0;
  let values = 0;
  let escapes = 0;
  let blanks = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22) {
      // a string: skip to its closing quote (or the end of the line, where the parser stops it)
      for (i++; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c === 0x5c) {
          if (++escapes > MAX_ESCAPES) return { offset: i, what: 'escapes' };
          i++;
        } else if (c === 0x22 || c === 0x0a) break;
      }
    } else if (ch === 0x2f && text.charCodeAt(i + 1) === 0x2f) {
      if (++blanks > MAX_BLANKS) return { offset: i, what: 'blanks' };
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end;
    } else if (ch === 0x2f && text.charCodeAt(i + 1) === 0x2a) {
      if (++blanks > MAX_BLANKS) return { offset: i, what: 'blanks' };
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
    } else if (ch === 0x7b || ch === 0x5b) {
      if (++depth > MAX_NESTING) return { offset: i, what: 'nesting' };
      if (++values > MAX_VALUES) return { offset: i, what: 'values' };
    } else if (ch === 0x7d || ch === 0x5d) {
      depth = Math.max(0, depth - 1);
    } else if (ch === 0x2c || ch === 0x3a) {
      if (++values > MAX_VALUES) return { offset: i, what: 'values' };
    } else if (ch === 0x20 || ch === 0x09 || ch === 0x0a || ch === 0x0d) {
      if (++blanks > MAX_BLANKS) return { offset: i, what: 'blanks' };
    }
  }
  return undefined;
}

export function parseSpec(text: string): ParsedSpec {
  const limit = structureLimit(text);
  if (limit) {
    const offset = limit.offset;
    const code = {
      nesting: 'nesting-too-deep',
      values: 'too-many-values',
      escapes: 'too-many-escapes',
      blanks: 'too-many-blanks',
    }[limit.what];
    return {
      text,
      root: undefined,
      value: undefined,
      syntaxErrors: [{ offset, length: 1, severity: 'error', message: LIMIT_MESSAGES[limit.what], code }],
    };
  }
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false, allowEmptyContent: true });
  const syntaxErrors = errors.map((e): SpecDiagnostic => {
    const name = printParseErrorCode(e.error);
    // Inside the document: an error at its very end gets an empty range there.
    const offset = Math.min(e.offset, text.length);
    return {
      offset,
      length: Math.min(Math.max(e.length, 1), text.length - offset),
      severity: 'error',
      message: `Syntax error (${name}): ${syntaxHelp[name] ?? 'fix the JSON here'}.`,
      code: 'syntax',
    };
  });
  return { text, root, value: root ? getNodeValue(root) : undefined, syntaxErrors };
}

export function nodeAt(parsed: ParsedSpec, path: JsonPath): Node | undefined {
  return parsed.root ? findNodeAtLocation(parsed.root, path) : undefined;
}

/** The property node (`"key": value`) that holds the value at `path`. */
export function propertyAt(parsed: ParsedSpec, path: JsonPath): Node | undefined {
  const value = nodeAt(parsed, path);
  return value?.parent?.type === 'property' ? value.parent : undefined;
}

/** The range of the value at `path`, falling back to the closest existing ancestor (never throws). */
export function rangeAt(parsed: ParsedSpec, path: JsonPath): { offset: number; length: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = nodeAt(parsed, path.slice(0, n));
    if (node) {
      // For an ancestor that is an object, point at its key rather than the whole object.
      if (n < path.length && node.parent?.type === 'property' && node.parent.children?.[0]) {
        const key = node.parent.children[0];
        return { offset: key.offset, length: key.length };
      }
      return { offset: node.offset, length: node.length };
    }
  }
  return { offset: 0, length: Math.min(1, parsed.text.length) };
}

/** Line and column (both 0-based) of an offset: for the CLI. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 0;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart };
}
