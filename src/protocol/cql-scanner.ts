// The CQL scanner: one pass over a QUERY or PREPARE string, a token at a time, for the
// classifier (cql-classifier.ts), the idempotency analysis (cql-idempotency.ts) and the system
// table WHERE reader. docs/cql-proxy-compat.md §4.1 says what the proxy needs it for.
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
// Speed: callers read integer kinds and offsets from public fields (charCodeAt, no token
// objects, no substrings) and ask for text only when they need it. tokenize() (cql-tokens.ts)
// builds Token objects for callers that want them.

import * as characters from './cql-characters.js';

// Locals rather than imports, read once: vitest's module runner (under which
// bench/cql-lexer.bench.ts runs) turns every use of an imported binding into a getter call, and
// this file uses them per character; imported, they made the scanner fifteen times slower there.
const {
  BANG,
  C_DIGIT,
  C_HEX,
  C_LETTER,
  COLON,
  COMMA,
  CR,
  DOLLAR,
  DOT,
  DQUOTE,
  EQ,
  FF,
  GT,
  LBRACE,
  LBRACKET,
  LF,
  LPAREN,
  LT,
  MICRO,
  MINUS,
  Op,
  PERCENT,
  PLUS,
  QMARK,
  RBRACE,
  RBRACKET,
  RPAREN,
  SEMI,
  SLASH,
  SPACE,
  SQUOTE,
  STAR,
  TAB,
  cls,
  isDigit,
  isDurationUnit,
  isIdentPart,
  isLiteralWord,
  isUnitChar,
  quotedEnd,
  unquote,
  uuidEnd,
  wordAt,
} = characters;

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

  /** The token's value, as documented on Token (cql-tokens.ts). */
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

/** Is the name token src[a, b) `lower`, as CQL compares names (unquoted case-insensitively, quoted exactly)? */
export function nameIs(src: string, kind: ScanKind, a: number, b: number, lower: string): boolean {
  if (kind === ScanKind.IDENTIFIER) return wordAt(src, a, b, lower);
  if (kind !== ScanKind.QUOTED_IDENTIFIER || b - a !== lower.length + 2) return false;
  return src.startsWith(lower, a + 1);
}

/** At the statement's end, as Cassandra's `query: cqlStatement (';')* EOF` (skips the `;`s). */
export function atStatementEnd(s: CqlScanner): boolean {
  while (s.isPunct(SEMI)) s.next();
  return s.isEof();
}
