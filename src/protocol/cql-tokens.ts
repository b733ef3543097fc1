// CQL tokens as objects: tokenize() runs CqlScanner over a whole string and builds one Token per
// token, with its text and normalised value. The proxy's own hot path never builds them (it reads
// the scanner's fields); the simulated Cassandra's parser (sim/engine) and tests do.

import * as scanner from './cql-scanner.js';

// Locals rather than imports, read once: vitest's module runner (bench/cql-lexer.bench.ts) turns
// every use of an imported binding into a getter call, and these are used per token.
const { CqlScanner, ScanKind } = scanner;

/** Token kinds as exposed by tokenize(). */
export const TokenKind = {
  IDENTIFIER: 'identifier',
  QUOTED_IDENTIFIER: 'quotedIdentifier',
  STRING: 'string',
  INTEGER: 'integer',
  FLOAT: 'float',
  DURATION: 'duration',
  BLOB: 'blob',
  UUID: 'uuid',
  BIND_MARKER: 'bindMarker',
  PUNCT: 'punct',
  ERROR: 'error',
} as const;
export type TokenKind = (typeof TokenKind)[keyof typeof TokenKind];

/**
 * One token. `text` is the raw source slice `query.slice(start, end)` (UTF-16 offsets).
 * `value`: identifier → lower-cased; quoted identifier → content with `""` → `"`;
 * string → content with `''` → `'` (`$$...$$`: content as is); bind marker → its name, normalised
 * like an identifier; uuid and blob → lower-cased text; numbers, durations, punctuation → text;
 * error → why the input does not lex.
 */
export interface Token {
  kind: TokenKind;
  text: string;
  value: string;
  start: number;
  end: number;
}

const KIND_NAMES: readonly TokenKind[] = [
  TokenKind.ERROR, // EOF never becomes a Token
  TokenKind.IDENTIFIER,
  TokenKind.QUOTED_IDENTIFIER,
  TokenKind.STRING,
  TokenKind.INTEGER,
  TokenKind.FLOAT,
  TokenKind.DURATION,
  TokenKind.BLOB,
  TokenKind.UUID,
  TokenKind.BIND_MARKER,
  TokenKind.PUNCT,
  TokenKind.ERROR,
];

/** All tokens of `query`, comments and whitespace dropped; errors included as 'error' tokens. */
export function tokenize(query: string): Token[] {
  const s = new CqlScanner(query);
  const out: Token[] = [];
  while (s.next() !== ScanKind.EOF) {
    out.push({
      kind: KIND_NAMES[s.kind] ?? TokenKind.ERROR,
      text: s.text(),
      value: s.value(),
      start: s.start,
      end: s.end,
    });
  }
  return out;
}
