// The file is read by the `yaml` package in its failsafe schema: every scalar stays text (like
// cql-proxy's yaml.v2 decoding into string fields), so a token such as -9223372036854775808 never
// goes through a float. On top of it we keep a configuration file strict: one document, no
// directives, anchors, aliases, tags or block scalars, no duplicate keys, and a plain `~`, `null`
// or empty value means "unset". Error messages are our own, one line naming the line number:
// yaml's messages quote the source line, and that line may hold a token.

import {
  Composer,
  LineCounter,
  Parser,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type ErrorCode,
  type ParsedNode,
  type YAMLError,
} from 'yaml';
import { quoteName } from './names.js';

export type YamlNode = string | null | YamlNode[] | Map<string, YamlNode>;

export class YamlError extends Error {
  override name = 'YamlError';
}

const UNSUPPORTED = 'anchors, aliases, tags and block scalars (| and >) are not supported';
const NULL_WORDS: ReadonlySet<string> = new Set(['', '~', 'null', 'Null', 'NULL']);

/** Throws `line N: message` for a character offset in the text. */
type FailAt = (offset: number, message: string) => never;

export function parseYaml(text: string): YamlNode {
  const lines = new LineCounter();
  const failAt: FailAt = (offset, message) => {
    throw new YamlError(`line ${lines.linePos(offset).line}: ${message}`);
  };
  const tokens = [...new Parser(lines.addNewLine).parse(text)];
  const directive = tokens.find((t) => t.type === 'directive');
  if (directive !== undefined) failAt(directive.offset, 'YAML directives are not supported');
  const second = tokens.filter((t) => t.type === 'document')[1];
  if (second !== undefined) failAt(second.offset, 'only one YAML document is allowed');

  // uniqueKeys is off so that a duplicate is reported by toYamlNode, with the key's name.
  const documents = [
    ...new Composer({ schema: 'failsafe', uniqueKeys: false }).compose(tokens, true),
  ];
  const errors = documents.flatMap((d) => d.errors);
  const doc = documents[0];
  if (errors.length > 0) syntaxError(errors, doc?.contents ?? null, text, failAt);
  return toYamlNode(doc?.contents ?? null, failAt);
}

function toYamlNode(node: ParsedNode | null, failAt: FailAt): YamlNode {
  if (node === null) return null;
  const start = node.range[0];
  if (isAlias(node) || node.anchor !== undefined || node.tag !== undefined) {
    failAt(start, UNSUPPORTED);
  }
  if (isScalar(node)) {
    if (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') failAt(start, UNSUPPORTED);
    const value = String(node.value);
    return node.type === 'PLAIN' && NULL_WORDS.has(value) ? null : value;
  }
  if (isSeq(node)) return node.items.map((item) => toYamlNode(item, failAt));
  const map = new Map<string, YamlNode>();
  for (const { key, value } of node.items) {
    // A key is a name: `[a]: b`, `{a: 1}: b` or `: b` cannot be an option.
    if (!isScalar(key) || key.anchor !== undefined || key.tag !== undefined) {
      failAt(key.range[0], "expected 'key: value' with a name as the key");
    }
    const name = String(key.value);
    if (name === '') failAt(key.range[0], "expected 'key: value'");
    if (map.has(name)) failAt(key.range[0], `duplicate key ${quoteName(name)}`);
    map.set(name, toYamlNode(value, failAt));
  }
  return map;
}

/** Every node under `node`, the node itself first. */
function* eachNode(node: ParsedNode | null): Generator<ParsedNode> {
  if (node === null) return;
  yield node;
  if (isSeq(node)) for (const item of node.items) yield* eachNode(item);
  if (isMap(node)) {
    for (const { key, value } of node.items) {
      yield* eachNode(key);
      yield* eachNode(value);
    }
  }
}

/**
 * yaml reports an unterminated quote or bracket where the text ends; the user needs the line
 * where it was opened: the start of the innermost matching node that reaches `offset`.
 */
function openedAt(
  root: ParsedNode | null,
  offset: number,
  matches: (node: ParsedNode) => boolean,
): number {
  let best = offset;
  let bestStart = -1;
  for (const node of eachNode(root)) {
    const [start, , end] = node.range;
    if (matches(node) && start <= offset && offset <= end && start > bestStart) {
      best = start;
      bestStart = start;
    }
  }
  return best;
}

/** The line holding `offset`, trimmed: looked at, never shown. */
function lineAt(text: string, offset: number): string {
  const begin = text.lastIndexOf('\n', offset - 1) + 1;
  const end = text.indexOf('\n', offset);
  return text.slice(begin, end === -1 ? text.length : end).trim();
}

const isDoubleQuoted = (n: ParsedNode): boolean => isScalar(n) && n.type === 'QUOTE_DOUBLE';
const isSingleQuoted = (n: ParsedNode): boolean => isScalar(n) && n.type === 'QUOTE_SINGLE';
const isFlowList = (n: ParsedNode): boolean => isSeq(n) && n.flow === true;
const isFlowMapping = (n: ParsedNode): boolean => isMap(n) && n.flow === true;

interface YamlErrorRule {
  code?: ErrorCode;
  /** yaml's own message (English, fixed for a version): matched, never printed. */
  text?: RegExp;
  message: string;
  /** For errors yaml reports where the text ends: the node whose start names the line. */
  openedBy?: (node: ParsedNode) => boolean;
}

/** yaml's error codes are coarse, so some cases are told apart by its message; first match wins. */
const YAML_ERROR_RULES: readonly YamlErrorRule[] = [
  { code: 'TAB_AS_INDENT', message: 'tabs are not allowed for indentation' },
  { code: 'BAD_DQ_ESCAPE', message: 'invalid escape in a double-quoted value' },
  { code: 'BLOCK_AS_IMPLICIT_KEY', message: "a value containing ': ' must be quoted" },
  { code: 'RESOURCE_EXHAUSTION', message: 'values are nested too deeply' },
  ...(
    [
      'BAD_ALIAS',
      'ALIAS_PROPS',
      'MULTIPLE_ANCHORS',
      'MULTIPLE_TAGS',
      'BAD_PROP_ORDER',
      'TAG_RESOLVE_FAILED',
      'BAD_COLLECTION_TYPE',
    ] as const
  ).map((code) => ({ code, message: UNSUPPORTED })),
  { text: /^Block scalar/, message: UNSUPPORTED },
  {
    text: /^Missing closing "quote$/,
    message: 'unterminated double-quoted value',
    openedBy: isDoubleQuoted,
  },
  {
    text: /^Missing closing 'quote$/,
    message: 'unterminated single-quoted value',
    openedBy: isSingleQuoted,
  },
  {
    text: /^Flow sequence .*end with a \]$/,
    message: "missing ']' to close the list opened on this line",
    openedBy: isFlowList,
  },
  {
    text: /^Flow map .*end with a \}$/,
    message: "missing '}' to close the mapping opened on this line",
    openedBy: isFlowMapping,
  },
  {
    text: /^Unexpected block-seq-ind on same line with key/,
    message: 'a list must start on its own line',
  },
  { text: /^Unexpected \S+ at node end$/, message: 'unexpected text after a value' },
  {
    text: /^Implicit map keys need to be followed by map values$/,
    message: "expected 'key: value'",
  },
  {
    text: /^Block collection cannot start on same line with directives-end/,
    message: 'put values on the lines after ---',
  },
  { text: /^Unexpected , in flow/, message: "unexpected ',' in a list or mapping" },
  { text: /^Missing , /, message: "missing ',' between the items of a list or mapping" },
  { code: 'BAD_INDENT', message: 'unexpected indentation' },
];

/** Our one-line message for yaml's first error. */
function syntaxError(
  errors: readonly YAMLError[],
  root: ParsedNode | null,
  text: string,
  failAt: FailAt,
): never {
  const [first] = errors;
  if (first === undefined) throw new Error('syntaxError needs an error');
  const [offset] = first.pos;
  // A key running onto the next line (yaml may first see a nested mapping at the same offset):
  // that next line is indented too deep, or is a list item among keys.
  const multiline = errors.find((e) => e.code === 'MULTILINE_IMPLICIT_KEY');
  if (
    multiline !== undefined &&
    (first === multiline || (first.code === 'BLOCK_AS_IMPLICIT_KEY' && multiline.pos[0] === offset))
  ) {
    const end = multiline.pos[1];
    const line = lineAt(text, end);
    failAt(
      end,
      line === '-' || line.startsWith('- ')
        ? "expected 'key: value', not a list item"
        : 'unexpected indentation',
    );
  }
  const rule = YAML_ERROR_RULES.find(
    (r) =>
      (r.code === undefined || r.code === first.code) &&
      (r.text === undefined || r.text.test(first.message)),
  );
  if (rule === undefined) failAt(offset, 'not valid YAML (look at the indentation and the quotes)');
  failAt(
    rule.openedBy === undefined ? offset : openedAt(root, offset, rule.openedBy),
    rule.message,
  );
}
