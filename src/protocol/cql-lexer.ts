// CQL lexer and query classifier: the one pass the proxy makes over every QUERY and PREPARE
// string (docs/cql-proxy-compat.md §4.1–§4.7). It decides three things:
//   - `USE ks`: the proxy switches the client to a keyspace session instead of forwarding;
//   - SELECT from system.local / peers / peers_v2 / legacy schema tables: answered by the proxy,
//     so drivers see a one-node cluster whose only node is the proxy;
//   - everything else is forwarded, tagged with its statement kind and whether a retry on another
//     node is safe (idempotency, §4.7; the analysis lives in cql-idempotency.ts).
//
// Lexical grammar followed: Cassandra's Lexer.g (the CQL 3 reference), with these choices:
//   - Errors are tokens, never exceptions: an unterminated string, `$$` string, quoted identifier
//     or block comment is ONE 'error' token running to the end of the input; any other character
//     CQL does not know (`@`, `#`, non-ASCII outside strings, ...) is a one-code-point 'error'
//     token and lexing goes on. The classifier then forwards the query and lets the server answer
//     the syntax error; nothing here throws on any input.
//   - `-` directly followed by a digit starts a number (`-1`, `-2.5e3`), as in Cassandra's
//     INTEGER/FLOAT rules; `-=` and `--` (comment) win over it.
//   - A UUID literal (8-4-4-4-12 hex) is one token even where it starts like a number or a name.
//   - Durations in unit form (`1h30m`, `-5d`, `3µs`) are one 'duration' token; ISO 8601 forms
//     (`P1D`, `PT2H`) lex as identifiers, which is what they are until a parser sees the context.
//   - NaN, Infinity, true, false and null are identifiers (keywords are identifiers: compare them
//     case-insensitively).
//   - `:name` / `:"Name"` is a named bind marker unless the `:` separates a map key or UDT field
//     from its value (`{k: v}`, `{'a':true}`): a `:` right after a literal, `)`, `]`, `}`, `?`, or
//     after a name inside `{...}`, or after true/false/null/NaN/Infinity, is the separator.
//
// Speed: the classifier drives CqlScanner directly (charCodeAt, integer kinds, no token objects,
// no substrings on the forward path) and stops as soon as the answer is known: a SELECT of a user
// table is decided at its table name. tokenize() builds Token objects for callers that want them
// (the simulated Cassandra's parser, tests).

import { modificationIsIdempotent } from './cql-idempotency.js';

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

/** The scanner's integer token kinds (what CqlScanner.kind holds). */
export const ScanKind = {
  EOF: 0,
  IDENTIFIER: 1,
  QUOTED_IDENTIFIER: 2,
  STRING: 3,
  INTEGER: 4,
  FLOAT: 5,
  DURATION: 6,
  BLOB: 7,
  UUID: 8,
  BIND_MARKER: 9,
  PUNCT: 10,
  ERROR: 11,
} as const;
export type ScanKind = (typeof ScanKind)[keyof typeof ScanKind];

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

// Character codes.
const TAB = 0x09;
const LF = 0x0a;
const FF = 0x0c;
const CR = 0x0d;
const SPACE = 0x20;
const BANG = 0x21;
const DQUOTE = 0x22;
const DOLLAR = 0x24;
const PERCENT = 0x25;
const SQUOTE = 0x27;
const LPAREN = 0x28;
const RPAREN = 0x29;
const STAR = 0x2a;
const PLUS = 0x2b;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const SLASH = 0x2f;
const COLON = 0x3a;
const SEMI = 0x3b;
const LT = 0x3c;
const EQ = 0x3d;
const GT = 0x3e;
const QMARK = 0x3f;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const MICRO = 0xb5;

/**
 * Punctuation codes in CqlScanner.op: the character code for one-character operators,
 * `(first << 8) | second` for the two-character ones.
 */
export const Op = {
  LPAREN,
  RPAREN,
  COMMA,
  SEMI,
  DOT,
  STAR,
  EQ,
  LT,
  GT,
  PLUS,
  MINUS,
  SLASH,
  PERCENT,
  LBRACKET,
  RBRACKET,
  LBRACE,
  RBRACE,
  COLON,
  QMARK,
  LE: (LT << 8) | EQ,
  GE: (GT << 8) | EQ,
  NE: (BANG << 8) | EQ,
  PLUS_EQ: (PLUS << 8) | EQ,
  MINUS_EQ: (MINUS << 8) | EQ,
} as const;

// Character classes for ASCII, one table lookup per character.
const C_LETTER = 1;
const C_DIGIT = 2;
const C_HEX = 4;
const C_IDENT = 8; // [a-zA-Z0-9_]
const CLASS = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) CLASS[c] = C_DIGIT | C_HEX | C_IDENT;
for (let c = 0x41; c <= 0x5a; c++) {
  const hex = c <= 0x46 ? C_HEX : 0;
  CLASS[c] = C_LETTER | C_IDENT | hex;
  CLASS[c + 0x20] = C_LETTER | C_IDENT | hex;
}
CLASS[0x5f] = C_IDENT;

function cls(c: number): number {
  return c < 128 ? (CLASS[c] ?? 0) : 0;
}
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
function isIdentPart(c: number): boolean {
  return (cls(c) & C_IDENT) !== 0;
}

/** End of a UUID literal starting at p, or -1. Cassandra's UUID: HEX{8}-HEX{4}-HEX{4}-HEX{4}-HEX{12}. */
function uuidEnd(src: string, p: number): number {
  // The dash at offset 8 rules out nearly every name and number with one comparison.
  if (src.charCodeAt(p + 8) !== MINUS || p + 36 > src.length) return -1;
  for (let i = 0; i < 36; i++) {
    const c = src.charCodeAt(p + i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== MINUS) return -1;
    } else if ((cls(c) & C_HEX) === 0) {
      return -1;
    }
  }
  return isIdentPart(src.charCodeAt(p + 36)) ? -1 : p + 36;
}

/**
 * End of a `"..."` quoted name starting at p (the opening quote): the index after the closing
 * quote, -1 if unterminated, -2 if empty (Lexer.g QUOTED_NAME needs at least one character).
 */
function quotedEnd(src: string, p: number): number {
  let q = p + 1;
  for (;;) {
    const close = src.indexOf('"', q);
    if (close < 0) return -1;
    if (src.charCodeAt(close + 1) === DQUOTE) {
      q = close + 2;
      continue;
    }
    return close === p + 1 ? -2 : close + 1;
  }
}

/** Duration units (Lexer.g DURATION_UNIT), case-insensitive: y mo w d h m s ms us µs ns. */
function isDurationUnit(src: string, a: number, b: number): boolean {
  const c0 = src.charCodeAt(a) | 0x20;
  if (b - a === 1) {
    return c0 === 0x79 || c0 === 0x77 || c0 === 0x64 || c0 === 0x68 || c0 === 0x6d || c0 === 0x73;
  }
  if (b - a !== 2) return false;
  const c1 = src.charCodeAt(a + 1) | 0x20;
  if (c0 === 0x6d) return c1 === 0x6f || c1 === 0x73; // mo, ms
  if (src.charCodeAt(a) === MICRO) return c1 === 0x73; // µs
  return (c0 === 0x75 || c0 === 0x6e) && c1 === 0x73; // us, ns
}

function isUnitChar(c: number): boolean {
  return (cls(c) & C_LETTER) !== 0 || c === MICRO;
}

/** Lower-case ASCII word match of src[a, b) against `lower` (which must be lower-case). */
function wordAt(src: string, a: number, b: number, lower: string): boolean {
  if (b - a !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    // Both sides hold [a-zA-Z0-9_] only: `| 0x20` folds A-Z onto a-z, keeps digits, and sends
    // `_` to 0x7f, which no other character of a name reaches.
    if ((src.charCodeAt(a + i) | 0x20) !== (lower.charCodeAt(i) | 0x20)) return false;
  }
  return true;
}

/** Names that are literals, not column or field names (for the `:` rule and term parsing). */
function isLiteralWord(src: string, a: number, b: number): boolean {
  switch (b - a) {
    case 3:
      return wordAt(src, a, b, 'nan');
    case 4:
      return wordAt(src, a, b, 'true') || wordAt(src, a, b, 'null');
    case 5:
      return wordAt(src, a, b, 'false');
    case 8:
      return wordAt(src, a, b, 'infinity');
    default:
      return false;
  }
}

function unquote(src: string, a: number, b: number, quote: string): string {
  const inner = src.slice(a + 1, b - 1);
  return inner.includes(quote + quote) ? inner.replaceAll(quote + quote, quote) : inner;
}

/**
 * A pull scanner over one query string. `next()` moves to the next token and leaves its kind,
 * bounds and (for punctuation) operator code in public fields; nothing is allocated until a
 * caller asks for text or a value. One token of lookahead: `mark()` then `rewind()`.
 */
export class CqlScanner {
  src = '';
  /** Where the next token starts being searched. */
  pos = 0;
  kind: ScanKind = ScanKind.EOF;
  start = 0;
  end = 0;
  /** For PUNCT: see Op. */
  op = 0;
  /** For ERROR: why the input does not lex. */
  error = '';
  /** `{` nesting, for telling a map/UDT `:` separator from a named bind marker. */
  private braces = 0;
  private mPos = 0;
  private mKind: ScanKind = ScanKind.EOF;
  private mStart = 0;
  private mEnd = 0;
  private mOp = 0;
  private mBraces = 0;

  constructor(src = '') {
    this.src = src;
  }

  /** Starts over on `src` at `pos`, with no previous token. */
  reset(src: string, pos = 0): this {
    this.src = src;
    this.pos = pos;
    this.kind = ScanKind.EOF;
    this.start = pos;
    this.end = pos;
    this.op = 0;
    this.error = '';
    this.braces = 0;
    return this;
  }

  mark(): void {
    this.mPos = this.pos;
    this.mKind = this.kind;
    this.mStart = this.start;
    this.mEnd = this.end;
    this.mOp = this.op;
    this.mBraces = this.braces;
  }

  rewind(): void {
    this.pos = this.mPos;
    this.kind = this.mKind;
    this.start = this.mStart;
    this.end = this.mEnd;
    this.op = this.mOp;
    this.braces = this.mBraces;
  }

  // ---- questions about the current token (no allocation) ----

  isEof(): boolean {
    return this.kind === ScanKind.EOF;
  }
  isError(): boolean {
    return this.kind === ScanKind.ERROR;
  }
  /** An unquoted or quoted identifier. */
  isName(): boolean {
    return this.kind === ScanKind.IDENTIFIER || this.kind === ScanKind.QUOTED_IDENTIFIER;
  }
  /** The unquoted identifier `lower`, compared case-insensitively (how keywords match). */
  isWord(lower: string): boolean {
    return this.kind === ScanKind.IDENTIFIER && wordAt(this.src, this.start, this.end, lower);
  }
  /** The name `lower` as CQL compares identifiers: unquoted case-insensitively, quoted exactly. */
  isNameOf(lower: string): boolean {
    return nameIs(this.src, this.kind, this.start, this.end, lower);
  }
  isPunct(op: number): boolean {
    return this.kind === ScanKind.PUNCT && this.op === op;
  }
  isInteger(): boolean {
    return this.kind === ScanKind.INTEGER;
  }
  /** A string, float, duration, blob or uuid literal (integers are asked for separately). */
  isConstant(): boolean {
    const k = this.kind;
    return (
      k === ScanKind.STRING ||
      k === ScanKind.FLOAT ||
      k === ScanKind.DURATION ||
      k === ScanKind.BLOB ||
      k === ScanKind.UUID
    );
  }
  /** true, false, null, NaN or Infinity (unquoted). */
  isLiteralWord(): boolean {
    return this.kind === ScanKind.IDENTIFIER && isLiteralWord(this.src, this.start, this.end);
  }
  /** `?` or `:name`. */
  isBindMarker(): boolean {
    return this.kind === ScanKind.BIND_MARKER || this.isPunct(QMARK);
  }

  text(): string {
    return this.src.slice(this.start, this.end);
  }

  /** The token's value, as documented on Token. */
  value(): string {
    const src = this.src;
    switch (this.kind) {
      case ScanKind.IDENTIFIER:
        return src.slice(this.start, this.end).toLowerCase();
      case ScanKind.QUOTED_IDENTIFIER:
        return unquote(src, this.start, this.end, '"');
      case ScanKind.STRING:
        return src.charCodeAt(this.start) === SQUOTE
          ? unquote(src, this.start, this.end, "'")
          : src.slice(this.start + 2, this.end - 2);
      case ScanKind.BIND_MARKER:
        return src.charCodeAt(this.start + 1) === DQUOTE
          ? unquote(src, this.start + 1, this.end, '"')
          : src.slice(this.start + 1, this.end).toLowerCase();
      case ScanKind.UUID:
      case ScanKind.BLOB:
        return src.slice(this.start, this.end).toLowerCase();
      case ScanKind.ERROR:
        return this.error;
      case ScanKind.INTEGER:
      case ScanKind.FLOAT:
      case ScanKind.DURATION:
      case ScanKind.PUNCT:
      case ScanKind.EOF:
        return src.slice(this.start, this.end);
    }
  }

  // ---- scanning ----

  private tok(kind: ScanKind, start: number, end: number): ScanKind {
    this.kind = kind;
    this.start = start;
    this.end = end;
    this.pos = end;
    return kind;
  }

  private punct(op: number, start: number, len: number): ScanKind {
    this.op = op;
    return this.tok(ScanKind.PUNCT, start, start + len);
  }

  private fail(start: number, end: number, why: string): ScanKind {
    this.error = why;
    return this.tok(ScanKind.ERROR, start, end);
  }

  /** Advances to the next token; at the end of input, stays on EOF. */
  next(): ScanKind {
    const src = this.src;
    const len = src.length;
    let p = this.pos;
    // Whitespace and comments (Lexer.g WS, COMMENT, MULTILINE_COMMENT; block comments do not nest).
    for (;;) {
      if (p >= len) return this.tok(ScanKind.EOF, len, len);
      const c = src.charCodeAt(p);
      if (c === SPACE || c === LF || c === CR || c === TAB || c === FF) {
        p++;
        continue;
      }
      if (c === MINUS || c === SLASH) {
        const d = src.charCodeAt(p + 1);
        if (d === c) {
          p += 2;
          while (p < len) {
            const e = src.charCodeAt(p);
            if (e === LF || e === CR) break;
            p++;
          }
          continue;
        }
        if (c === SLASH && d === STAR) {
          const close = src.indexOf('*/', p + 2);
          if (close < 0) return this.fail(p, len, 'unterminated block comment');
          p = close + 2;
          continue;
        }
      }
      break;
    }

    const c = src.charCodeAt(p);
    const k = cls(c);
    if ((k & C_LETTER) !== 0) {
      if ((k & C_HEX) !== 0) {
        const u = uuidEnd(src, p);
        if (u > 0) return this.tok(ScanKind.UUID, p, u);
      }
      let q = p + 1;
      while (isIdentPart(src.charCodeAt(q))) q++;
      return this.tok(ScanKind.IDENTIFIER, p, q);
    }
    if ((k & C_DIGIT) !== 0) {
      const u = uuidEnd(src, p);
      if (u > 0) return this.tok(ScanKind.UUID, p, u);
      const x = src.charCodeAt(p + 1) | 0x20;
      if (c === 0x30 && x === 0x78) {
        let q = p + 2;
        while ((cls(src.charCodeAt(q)) & C_HEX) !== 0) q++;
        if (isIdentPart(src.charCodeAt(q))) return this.malformed(p, q, 'malformed blob literal');
        return this.tok(ScanKind.BLOB, p, q);
      }
      return this.number(p, p);
    }

    switch (c) {
      case SQUOTE: {
        let q = p + 1;
        for (;;) {
          const close = src.indexOf("'", q);
          if (close < 0) return this.fail(p, len, 'unterminated string literal');
          if (src.charCodeAt(close + 1) === SQUOTE) {
            q = close + 2;
            continue;
          }
          return this.tok(ScanKind.STRING, p, close + 1);
        }
      }
      case DQUOTE: {
        const q = quotedEnd(src, p);
        if (q === -1) return this.fail(p, len, 'unterminated quoted identifier');
        if (q === -2) return this.fail(p, p + 2, 'empty quoted identifier');
        return this.tok(ScanKind.QUOTED_IDENTIFIER, p, q);
      }
      case DOLLAR: {
        if (src.charCodeAt(p + 1) !== DOLLAR)
          return this.fail(p, p + 1, "unexpected character '$'");
        const close = src.indexOf('$$', p + 2);
        if (close < 0) return this.fail(p, len, 'unterminated $$ string literal');
        return this.tok(ScanKind.STRING, p, close + 2);
      }
      case MINUS: {
        const d = src.charCodeAt(p + 1);
        if (isDigit(d)) return this.number(p, p + 1);
        return d === EQ ? this.punct(Op.MINUS_EQ, p, 2) : this.punct(MINUS, p, 1);
      }
      case PLUS:
        return src.charCodeAt(p + 1) === EQ ? this.punct(Op.PLUS_EQ, p, 2) : this.punct(PLUS, p, 1);
      case LT:
        return src.charCodeAt(p + 1) === EQ ? this.punct(Op.LE, p, 2) : this.punct(LT, p, 1);
      case GT:
        return src.charCodeAt(p + 1) === EQ ? this.punct(Op.GE, p, 2) : this.punct(GT, p, 1);
      case BANG:
        return src.charCodeAt(p + 1) === EQ
          ? this.punct(Op.NE, p, 2)
          : this.fail(p, p + 1, "unexpected character '!'");
      case COLON:
        return this.colon(p);
      case LBRACE:
        this.braces++;
        return this.punct(c, p, 1);
      case RBRACE:
        if (this.braces > 0) this.braces--;
        return this.punct(c, p, 1);
      case LPAREN:
      case RPAREN:
      case COMMA:
      case SEMI:
      case DOT:
      case STAR:
      case EQ:
      case SLASH:
      case PERCENT:
      case LBRACKET:
      case RBRACKET:
      case QMARK:
        return this.punct(c, p, 1);
      default: {
        // One whole code point, so an emoji is one error token, not two halves.
        const wide = c >= 0xd800 && c <= 0xdbff && p + 1 < len;
        const end = wide ? p + 2 : p + 1;
        return this.fail(p, end, `unexpected character '${src.slice(p, end)}'`);
      }
    }
  }

  /** Consumes the identifier characters glued to a bad literal so the error covers all of it. */
  private malformed(start: number, p: number, why: string): ScanKind {
    let q = p;
    while (isIdentPart(this.src.charCodeAt(q)) || this.src.charCodeAt(q) === MICRO) q++;
    return this.fail(start, q, why);
  }

  /**
   * Lexer.g INTEGER: '-'? DIGIT+ ; FLOAT: INTEGER EXPONENT | INTEGER '.' DIGIT* EXPONENT? ;
   * DURATION (unit form): '-'? (DIGIT+ DURATION_UNIT)+. `p` is at the first digit.
   */
  private number(start: number, p: number): ScanKind {
    const src = this.src;
    while (isDigit(src.charCodeAt(p))) p++;
    let kind: ScanKind = ScanKind.INTEGER;
    let c = src.charCodeAt(p);
    if (c === DOT) {
      p++;
      while (isDigit(src.charCodeAt(p))) p++;
      kind = ScanKind.FLOAT;
      c = src.charCodeAt(p);
    }
    if ((c | 0x20) === 0x65) {
      let q = p + 1;
      const s = src.charCodeAt(q);
      if (s === PLUS || s === MINUS) q++;
      if (isDigit(src.charCodeAt(q))) {
        p = q;
        while (isDigit(src.charCodeAt(p))) p++;
        kind = ScanKind.FLOAT;
      }
    } else if (kind === ScanKind.INTEGER && isUnitChar(c)) {
      return this.duration(start, p);
    }
    if (isIdentPart(src.charCodeAt(p))) return this.malformed(start, p, 'malformed number');
    return this.tok(kind, start, p);
  }

  /** `p` is at the first unit character after the first run of digits. */
  private duration(start: number, p: number): ScanKind {
    const src = this.src;
    for (;;) {
      let q = p;
      while (isUnitChar(src.charCodeAt(q))) q++;
      if (!isDurationUnit(src, p, q)) return this.malformed(start, q, 'malformed duration');
      p = q;
      if (!isDigit(src.charCodeAt(p))) break;
      while (isDigit(src.charCodeAt(p))) p++;
      if (!isUnitChar(src.charCodeAt(p))) return this.malformed(start, p, 'malformed duration');
    }
    if (isIdentPart(src.charCodeAt(p))) return this.malformed(start, p, 'malformed duration');
    return this.tok(ScanKind.DURATION, start, p);
  }

  /**
   * `:name` / `:"Name"` (named bind marker) or a bare `:`. The current fields still describe
   * the previous token here, which is what decides (see the header comment).
   */
  private colon(p: number): ScanKind {
    const src = this.src;
    const d = src.charCodeAt(p + 1);
    const named = (cls(d) & C_LETTER) !== 0 || d === DQUOTE;
    if (!named || this.previousEndsKey()) return this.punct(COLON, p, 1);
    if (d === DQUOTE) {
      const q = quotedEnd(src, p + 1);
      if (q === -1) return this.fail(p, src.length, 'unterminated quoted identifier');
      if (q === -2) return this.fail(p, p + 3, 'empty quoted identifier');
      return this.tok(ScanKind.BIND_MARKER, p, q);
    }
    let q = p + 2;
    while (isIdentPart(src.charCodeAt(q))) q++;
    return this.tok(ScanKind.BIND_MARKER, p, q);
  }

  private previousEndsKey(): boolean {
    switch (this.kind) {
      case ScanKind.STRING:
      case ScanKind.INTEGER:
      case ScanKind.FLOAT:
      case ScanKind.DURATION:
      case ScanKind.BLOB:
      case ScanKind.UUID:
      case ScanKind.QUOTED_IDENTIFIER:
      case ScanKind.BIND_MARKER:
        return true;
      case ScanKind.PUNCT:
        return (
          this.op === RPAREN || this.op === RBRACKET || this.op === RBRACE || this.op === QMARK
        );
      case ScanKind.IDENTIFIER:
        return this.braces > 0 || isLiteralWord(this.src, this.start, this.end);
      case ScanKind.EOF:
      case ScanKind.ERROR:
        return false;
    }
  }
}

function nameIs(src: string, kind: ScanKind, a: number, b: number, lower: string): boolean {
  if (kind === ScanKind.IDENTIFIER) return wordAt(src, a, b, lower);
  if (kind !== ScanKind.QUOTED_IDENTIFIER || b - a !== lower.length + 2) return false;
  return src.startsWith(lower, a + 1);
}

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

// ---------------------------------------------------------------------------------------------
// Classification

export type SystemTable =
  | 'local'
  | 'peers'
  | 'peers_v2'
  | 'schema_keyspaces'
  | 'schema_columnfamilies'
  | 'schema_columns'
  | 'schema_usertypes';

const SYSTEM_TABLES: readonly SystemTable[] = [
  'local',
  'peers',
  'peers_v2',
  'schema_keyspaces',
  'schema_columnfamilies',
  'schema_columns',
  'schema_usertypes',
];

/**
 * One selector of a SELECT on a system table. Names and aliases are normalised as CQL does
 * (unquoted → lower-case, quoted → exact). `count` carries `column` only for `count(col)`
 * (Cassandra names that result column `system.count(col)`, and `count(*)`/`count(1)` `count`).
 */
export type Selector =
  | { kind: 'column'; name: string; alias?: string }
  | { kind: 'count'; column?: string; alias?: string }
  | { kind: 'now'; alias?: string }
  | { kind: 'uuid'; alias?: string }
  | { kind: 'toTimestamp'; arg: 'now'; alias?: string }
  | { kind: 'toUnixTimestamp'; arg: 'now'; alias?: string };

export type ForwardStatement =
  'select' | 'insert' | 'update' | 'delete' | 'batch' | 'ddl' | 'use' | 'other';

export type QueryClass =
  /** `USE ks`: answered by the proxy; `keyspace` normalised (unquoted → lower-case). */
  | { kind: 'use'; keyspace: string }
  /** A SELECT the proxy answers itself. `whereLocal`: the WHERE clause has `key = 'local'`. */
  | { kind: 'system'; table: SystemTable; selectors: '*' | Selector[]; whereLocal: boolean }
  /** A query on a system table the proxy cannot answer: reply INVALID with `message`. */
  | { kind: 'invalid'; message: string }
  /** Everything else: send it on. `idempotent`: safe to retry on another node (§4.7). */
  | { kind: 'forward'; statement: ForwardStatement; idempotent: boolean };

export type ForwardClass = Extract<QueryClass, { kind: 'forward' }>;

function forwardClass(statement: ForwardStatement, idempotent: boolean): ForwardClass {
  return Object.freeze({ kind: 'forward', statement, idempotent });
}

// Shared, frozen results: the forward path allocates nothing per query.
const FORWARD_SELECT = forwardClass('select', true);
const FORWARD_USE = forwardClass('use', false);
const FORWARD_DDL = forwardClass('ddl', false);
const FORWARD_OTHER = forwardClass('other', false);
const FORWARD_DML: Record<'insert' | 'update' | 'delete' | 'batch' | 'other', ForwardClass[]> = {
  insert: [forwardClass('insert', false), forwardClass('insert', true)],
  update: [forwardClass('update', false), forwardClass('update', true)],
  delete: [forwardClass('delete', false), forwardClass('delete', true)],
  batch: [forwardClass('batch', false), forwardClass('batch', true)],
  other: [FORWARD_OTHER, FORWARD_OTHER],
};

function dml(statement: 'insert' | 'update' | 'delete' | 'batch' | 'other', idempotent: boolean) {
  const pair = FORWARD_DML[statement];
  return (idempotent ? pair[1] : pair[0]) ?? FORWARD_OTHER;
}

// The classifier runs synchronously to completion, so one scanner can serve every call.
const SCANNER = new CqlScanner();

/**
 * Classifies one CQL statement (a QUERY or PREPARE string). `currentKeyspace` is the client's
 * keyspace as normalised by a previous `use` result (so only exactly `system` makes a bare
 * `local` mean `system.local`). Never throws.
 */
export function classifyQuery(query: string, currentKeyspace: string | undefined): QueryClass {
  const s = SCANNER.reset(query);
  s.next();
  if (s.kind !== ScanKind.IDENTIFIER) return FORWARD_OTHER;
  const src = s.src;
  const a = s.start;
  switch (s.end - a) {
    case 3:
      if (wordAt(src, a, s.end, 'use')) return classifyUse(s);
      break;
    case 4:
      if (wordAt(src, a, s.end, 'drop')) return FORWARD_DDL;
      break;
    case 5:
      if (wordAt(src, a, s.end, 'alter')) return FORWARD_DDL;
      if (wordAt(src, a, s.end, 'begin')) {
        return dml(beginsBatch(s) ? 'batch' : 'other', modificationIsIdempotent(s));
      }
      break;
    case 6:
      if (wordAt(src, a, s.end, 'select')) return classifySelect(s, currentKeyspace);
      if (wordAt(src, a, s.end, 'insert')) return dml('insert', modificationIsIdempotent(s));
      if (wordAt(src, a, s.end, 'update')) return dml('update', modificationIsIdempotent(s));
      if (wordAt(src, a, s.end, 'delete')) return dml('delete', modificationIsIdempotent(s));
      if (wordAt(src, a, s.end, 'create')) return FORWARD_DDL;
      break;
  }
  return FORWARD_OTHER;
}

/** At BEGIN: is it `BEGIN [UNLOGGED | LOGGED | COUNTER] BATCH` (and not, say, a transaction)? */
function beginsBatch(s: CqlScanner): boolean {
  s.mark();
  s.next();
  if (s.isWord('unlogged') || s.isWord('logged') || s.isWord('counter')) s.next();
  const batch = s.isWord('batch');
  s.rewind();
  return batch;
}

/** Statement end as Cassandra's `query: cqlStatement (';')* EOF`. */
function atStatementEnd(s: CqlScanner): boolean {
  while (s.isPunct(SEMI)) s.next();
  return s.isEof();
}

// USE <keyspace> (docs/cql-proxy-compat.md §4.5: the name normalised as Identifier.ID()).
function classifyUse(s: CqlScanner): QueryClass {
  s.next();
  if (!s.isName()) return FORWARD_USE;
  const keyspace = s.value();
  s.next();
  return atStatementEnd(s) ? { kind: 'use', keyspace } : FORWARD_USE;
}

/** After SELECT JSON / DISTINCT: does a selection follow (so the word was the keyword)? */
function startsSelection(s: CqlScanner): boolean {
  if (s.isPunct(STAR) || s.kind === ScanKind.QUOTED_IDENTIFIER) return true;
  return s.kind === ScanKind.IDENTIFIER && !s.isWord('from') && !s.isWord('as');
}

function systemTableAt(src: string, kind: ScanKind, a: number, b: number): SystemTable | undefined {
  for (const t of SYSTEM_TABLES) if (nameIs(src, kind, a, b, t)) return t;
  return undefined;
}

// selectStatement: SELECT JSON? DISTINCT? selectors FROM (ks '.')? table whereClause? ...
// Only the table decides whether the proxy answers; a user table is forwarded at that point.
function classifySelect(s: CqlScanner, currentKeyspace: string | undefined): QueryClass {
  s.next();
  let json = false;
  let distinct = false;
  // JSON and DISTINCT are not reserved: `SELECT json FROM t` selects a column named json.
  for (let i = 0; i < 2 && (s.isWord('json') || s.isWord('distinct')); i++) {
    const isJson = s.isWord('json');
    s.mark();
    s.next();
    if (!startsSelection(s)) {
      s.rewind();
      break;
    }
    if (isJson) json = true;
    else distinct = true;
  }
  const selection = s.start;
  // FROM is reserved, so the first unquoted `from` ends the selectors.
  while (!s.isWord('from')) {
    if (s.isEof() || s.isError()) return FORWARD_SELECT;
    s.next();
  }
  s.next();
  if (!s.isName()) return FORWARD_SELECT;
  const src = s.src;
  const k1 = s.kind;
  const a1 = s.start;
  const b1 = s.end;
  s.next();
  let table: SystemTable | undefined;
  if (s.isPunct(DOT)) {
    if (!nameIs(src, k1, a1, b1, 'system')) return FORWARD_SELECT;
    s.next();
    if (!s.isName()) return FORWARD_SELECT;
    table = systemTableAt(src, s.kind, s.start, s.end);
    s.next();
  } else {
    if (currentKeyspace !== 'system') return FORWARD_SELECT;
    table = systemTableAt(src, k1, a1, b1);
  }
  if (table === undefined) return FORWARD_SELECT;
  return classifySystemSelect(s, table, selection, json, distinct);
}

function lexesCleanly(query: string): boolean {
  const s = new CqlScanner(query);
  for (;;) {
    const k = s.next();
    if (k === ScanKind.EOF) return true;
    if (k === ScanKind.ERROR) return false;
  }
}

const SELECTOR_HELP =
  'columns, count(*), count(1), count(col), now(), uuid(), toTimestamp(now()) and toUnixTimestamp(now())';

type InvalidClass = Extract<QueryClass, { kind: 'invalid' }>;

function invalid(message: string): InvalidClass {
  return { kind: 'invalid', message };
}

// The scanner sits on the token after the table name.
function classifySystemSelect(
  s: CqlScanner,
  table: SystemTable,
  selection: number,
  json: boolean,
  distinct: boolean,
): QueryClass {
  // A query that does not lex goes to the server, which answers the syntax error.
  if (!lexesCleanly(s.src)) return FORWARD_SELECT;
  const where = `system.${table}`;
  const tail = parseSystemTail(s, where);
  if (json || distinct) {
    const word = json ? 'JSON' : 'DISTINCT';
    return invalid(
      `SELECT ${word} is not supported on ${where}: the proxy answers queries on this table itself`,
    );
  }
  const selectors = parseSelectors(s.reset(s.src, selection), where);
  if (selectors !== '*' && !Array.isArray(selectors)) return selectors;
  if (typeof tail === 'string') return invalid(tail);
  return { kind: 'system', table, selectors, whereLocal: tail };
}

/**
 * [WHERE relations] [LIMIT n] [ALLOW FILTERING] [;]: returns whereLocal, or an error message.
 * whereLocal is true when one relation is `key = 'local'`; other relations are accepted and
 * ignored, like cql-proxy does.
 */
function parseSystemTail(s: CqlScanner, where: string): boolean | string {
  let whereLocal = false;
  if (s.isWord('where')) {
    s.next();
    let relationStart = true;
    let relations = 0;
    while (
      !s.isEof() &&
      !s.isPunct(SEMI) &&
      !s.isWord('limit') &&
      !s.isWord('allow') &&
      !s.isWord('order') &&
      !s.isWord('group')
    ) {
      relations++;
      if (relationStart && s.isNameOf('key')) {
        s.next();
        if (s.isPunct(EQ)) {
          s.next();
          if (s.kind === ScanKind.STRING && s.value() === 'local') whereLocal = true;
        }
        relationStart = false;
        continue;
      }
      relationStart = s.isWord('and');
      s.next();
    }
    if (relations === 0) return `Incomplete WHERE clause in a query on ${where}`;
  }
  if (s.isWord('limit')) {
    s.next();
    if (!s.isInteger() && !s.isBindMarker()) {
      return `LIMIT needs a number or a bind marker in a query on ${where}`;
    }
    s.next();
  }
  if (s.isWord('allow')) {
    s.next();
    if (!s.isWord('filtering')) return `Expected FILTERING after ALLOW in a query on ${where}`;
    s.next();
  }
  if (atStatementEnd(s)) return whereLocal;
  return (
    `Unsupported '${s.text()}' in a query on ${where}: the proxy answers this table itself and ` +
    'accepts only WHERE, LIMIT and ALLOW FILTERING'
  );
}

/** The selectors, from the token after SELECT [JSON] [DISTINCT] up to FROM; or a message. */
function parseSelectors(s: CqlScanner, where: string): '*' | Selector[] | InvalidClass {
  s.next();
  if (s.isPunct(STAR)) {
    s.next();
    return s.isWord('from')
      ? '*'
      : invalid(`Unsupported selector '${s.text()}' after * on ${where}`);
  }
  if (s.isWord('from')) return invalid(`Missing selectors before FROM in a query on ${where}`);
  const out: Selector[] = [];
  for (;;) {
    const selector = parseSelector(s, where);
    if (selector.kind === 'invalid') return selector;
    if (s.isWord('as')) {
      s.next();
      if (!s.isName()) return invalid(`Expected an alias after AS in a query on ${where}`);
      selector.alias = s.value();
      s.next();
    }
    out.push(selector);
    if (s.isWord('from')) return out;
    if (!s.isPunct(COMMA))
      return invalid(`Unsupported selector '${s.text()}' in a query on ${where}`);
    s.next();
  }
}

function parseSelector(s: CqlScanner, where: string): Selector | InvalidClass {
  if (!s.isName()) {
    return invalid(
      `Unsupported selector '${s.text()}' in a query on ${where}; supported: ${SELECTOR_HELP}`,
    );
  }
  let name = s.value();
  let raw = s.text();
  s.next();
  if (s.isPunct(DOT)) {
    // A qualified function: only the native ones, i.e. `system.now()`.
    if (name !== 'system') return invalid(`Unsupported selector '${raw}.' in a query on ${where}`);
    s.next();
    if (!s.isName())
      return invalid(`Unsupported selector 'system.${s.text()}' in a query on ${where}`);
    name = s.value();
    raw = s.text();
    s.next();
    if (!s.isPunct(LPAREN))
      return invalid(`Unsupported selector 'system.${raw}' in a query on ${where}`);
  }
  if (!s.isPunct(LPAREN)) return { kind: 'column', name };
  s.next();
  let selector: Selector;
  switch (name) {
    case 'count':
      if (s.isPunct(STAR)) {
        selector = { kind: 'count' };
      } else if (s.isInteger()) {
        // Cassandra's grammar: "Only COUNT(1) is supported, got COUNT(n)".
        if (s.text() !== '1') return invalid(`Only COUNT(1) is supported, got COUNT(${s.text()})`);
        selector = { kind: 'count' };
      } else if (s.isName()) {
        selector = { kind: 'count', column: s.value() };
      } else {
        return invalid(`Unsupported argument '${s.text()}' to count in a query on ${where}`);
      }
      s.next();
      break;
    case 'now':
      selector = { kind: 'now' };
      break;
    case 'uuid':
      selector = { kind: 'uuid' };
      break;
    case 'totimestamp':
    case 'tounixtimestamp': {
      const fn = name === 'totimestamp' ? 'toTimestamp' : 'toUnixTimestamp';
      if (!parseNowCall(s)) {
        return invalid(
          `Unsupported argument to ${fn} in a query on ${where}: only now() is supported`,
        );
      }
      selector = { kind: fn, arg: 'now' };
      break;
    }
    default:
      return invalid(
        `Unsupported function '${raw}' in a query on ${where}; supported: ${SELECTOR_HELP}`,
      );
  }
  if (!s.isPunct(RPAREN)) return invalid(`Expected ')' after ${raw}( in a query on ${where}`);
  s.next();
  return selector;
}

/** `now()` or `system.now()`, leaving the scanner after its `)`. */
function parseNowCall(s: CqlScanner): boolean {
  if (s.isNameOf('system')) {
    s.next();
    if (!s.isPunct(DOT)) return false;
    s.next();
  }
  if (!s.isNameOf('now')) return false;
  s.next();
  if (!s.isPunct(LPAREN)) return false;
  s.next();
  if (!s.isPunct(RPAREN)) return false;
  s.next();
  return true;
}
