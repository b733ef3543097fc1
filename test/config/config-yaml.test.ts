// The YAML the configuration file is read with (the `yaml` package, failsafe schema, plus our
// strictness): what it accepts, as plain data, and errors that never quote the file.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseYaml, type YamlNode } from '../../src/config/yaml.js';

/** Maps to plain objects, for readable expectations. */
function plain(node: YamlNode): unknown {
  if (node instanceof Map) return Object.fromEntries([...node].map(([k, v]) => [k, plain(v)]));
  if (Array.isArray(node)) return node.map(plain);
  return node;
}

const yaml = (text: string): unknown => plain(parseYaml(text));

describe('YAML configuration reader', () => {
  it('reads block mappings with every scalar as text (failsafe schema)', () => {
    expect(yaml('a: 1\nb: true\nc: -9223372036854775808\nd: 1.50\ne: 0x10\n')).toStrictEqual({
      a: '1',
      b: 'true',
      c: '-9223372036854775808',
      d: '1.50',
      e: '0x10',
    });
  });

  it('reads null, ~ and empty values as null', () => {
    expect(yaml('a:\nb: ~\nc: null\nd: NULL\n')).toStrictEqual({
      a: null,
      b: null,
      c: null,
      d: null,
    });
  });

  it('reads nested mappings and lists, indented or at the key column', () => {
    const text = [
      'top:',
      '  inner: x',
      '  list:',
      '    - 1',
      '    - 2',
      'same-column:',
      '- a',
      '- b',
      'after: y',
    ].join('\n');
    expect(yaml(text)).toStrictEqual({
      top: { inner: 'x', list: ['1', '2'] },
      'same-column': ['a', 'b'],
      after: 'y',
    });
  });

  it('reads list items that are mappings, and nested lists', () => {
    const text = [
      'peers:',
      '  - rpc-address: 10.0.0.2',
      '    data-center: dc2',
      '    tokens:',
      '      - "1"',
      '  -   rpc-address: 10.0.0.3',
      '  -',
      '    rpc-address: 10.0.0.4',
      '  - - nested',
      '    - list',
      '  -',
    ].join('\n');
    expect(yaml(text)).toStrictEqual({
      peers: [
        { 'rpc-address': '10.0.0.2', 'data-center': 'dc2', tokens: ['1'] },
        { 'rpc-address': '10.0.0.3' },
        { 'rpc-address': '10.0.0.4' },
        ['nested', 'list'],
        null,
      ],
    });
  });

  it('reads one-line flow lists and mappings', () => {
    expect(
      yaml(
        'a: [1, "two", \'three\', [4], {k: v}]\nb: {x: 1, "y": [2, 3], z: }\nc: []\nd: {}\ne: [a, b,]\n',
      ),
    ).toStrictEqual({
      a: ['1', 'two', 'three', ['4'], { k: 'v' }],
      b: { x: '1', y: ['2', '3'], z: null },
      c: [],
      d: {},
      e: ['a', 'b'],
    });
  });

  it('reads quoted scalars with their escapes', () => {
    expect(
      yaml(
        'a: "x: y # not a comment"\nb: \'it\'\'s\'\nc: "tab\\tnl\\nq\\"bs\\\\u\\u00e9x\\x41U\\U0001F600"\n',
      ),
    ).toStrictEqual({
      a: 'x: y # not a comment',
      b: "it's",
      c: 'tab\tnl\nq"bs\\u\u00e9xAU\u{1F600}',
    });
    expect(yaml('"quoted key": 1\n\'single\': 2\n')).toStrictEqual({
      'quoted key': '1',
      single: '2',
    });
  });

  it('drops comments but keeps # inside values', () => {
    const text =
      '# header\na: x # trailing\nb: x#y\nc: it\'s # comment\n  # indented comment\nd: "#"\n';
    expect(yaml(text)).toStrictEqual({ a: 'x', b: 'x#y', c: "it's", d: '#' });
  });

  it('keeps URLs and host:port values as plain text', () => {
    expect(
      yaml('u: https://api.astra.datastax.com:443/v2\nb: :9042\nc: "[::1]:9042"\n'),
    ).toStrictEqual({
      u: 'https://api.astra.datastax.com:443/v2',
      b: ':9042',
      c: '[::1]:9042',
    });
  });

  it('accepts one --- document start, a ... end and CRLF line ends', () => {
    expect(yaml('---\r\na: 1\r\n...\r\n')).toStrictEqual({ a: '1' });
  });

  it('reads an empty document as null', () => {
    expect(yaml('')).toBeNull();
    expect(yaml('# only a comment\n\n')).toBeNull();
  });

  it('keeps keys such as __proto__ as data', () => {
    const node = parseYaml('__proto__: x\nconstructor: y\n');
    expect(node instanceof Map && [...node.keys()]).toStrictEqual(['__proto__', 'constructor']);
  });

  it('reads flow lists and plain values that span lines, and explicit ? keys', () => {
    expect(yaml('tokens: [1,\n  2]\ndc: a\n  b\n? key\n: value\n')).toStrictEqual({
      tokens: ['1', '2'],
      dc: 'a b',
      key: 'value',
    });
  });

  it('keeps quoted null words and empty quotes as text', () => {
    expect(yaml('a: "null"\nb: \'~\'\nc: ""\nnull: x\n')).toStrictEqual({
      a: 'null',
      b: '~',
      c: '',
      null: 'x',
    });
  });
});

describe('YAML errors', () => {
  // Contains ':' so it is never taken for an option name that may be quoted back.
  const MARKER = 'AstraCS:QwErTyUiOp:0123abcd';
  const FRAGMENTS = [
    ...['a', 'b', ':', ': ', ' ', '\n', '  ', '- ', '"', "'", '[', ']', '{', '}', ', ', '#'],
    ...['&x', '*x', '!t', '|', '>', '\\', '\\q', '\t', '---', '...', '%Y', '? ', MARKER],
  ];

  it('are one line, `line N: ...`, and never quote the text', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 30 }), (parts) => {
        let message: string | undefined;
        try {
          parseYaml(parts.join(''));
        } catch (err) {
          expect(err).toBeInstanceOf(Error);
          expect((err as Error).name).toBe('YamlError');
          message = (err as Error).message;
        }
        if (message !== undefined) {
          expect(message).toMatch(/^line \d+: [^\n]+$/);
          expect(message).not.toContain('AstraCS');
        }
      }),
      { numRuns: 400 },
    );
  });

  it('name the line where an unterminated quote opens, with CRLF line ends', () => {
    expect(() => parseYaml("a: 1\r\nb: 2\r\nc: 'x\r\nd: 4\r\n")).toThrow(
      /^line 3: unterminated single-quoted value$/,
    );
  });
});
