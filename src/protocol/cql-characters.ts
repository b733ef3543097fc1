// The characters of CQL's lexical grammar (Cassandra's Lexer.g), for the scanner
// (cql-scanner.ts) and the code that reads its tokens: character codes, the punctuation codes
// CqlScanner.op holds, one table lookup per character for its class, and the recognisers of the
// lexical pieces that are decided by looking at characters alone (UUIDs, quoted names, duration
// units, keywords compared case-insensitively). Nothing here allocates.

// Character codes.
export const TAB = 0x09;
export const LF = 0x0a;
export const FF = 0x0c;
export const CR = 0x0d;
export const SPACE = 0x20;
export const BANG = 0x21;
export const DQUOTE = 0x22;
export const DOLLAR = 0x24;
export const PERCENT = 0x25;
export const SQUOTE = 0x27;
export const LPAREN = 0x28;
export const RPAREN = 0x29;
export const STAR = 0x2a;
export const PLUS = 0x2b;
export const COMMA = 0x2c;
export const MINUS = 0x2d;
export const DOT = 0x2e;
export const SLASH = 0x2f;
export const COLON = 0x3a;
export const SEMI = 0x3b;
export const LT = 0x3c;
export const EQ = 0x3d;
export const GT = 0x3e;
export const QMARK = 0x3f;
export const LBRACKET = 0x5b;
export const RBRACKET = 0x5d;
export const LBRACE = 0x7b;
export const RBRACE = 0x7d;
export const MICRO = 0xb5;

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
export const C_LETTER = 1;
export const C_DIGIT = 2;
export const C_HEX = 4;
export const C_IDENT = 8; // [a-zA-Z0-9_]
const CLASS = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) CLASS[c] = C_DIGIT | C_HEX | C_IDENT;
for (let c = 0x41; c <= 0x5a; c++) {
  const hex = c <= 0x46 ? C_HEX : 0;
  CLASS[c] = C_LETTER | C_IDENT | hex;
  CLASS[c + 0x20] = C_LETTER | C_IDENT | hex;
}
CLASS[0x5f] = C_IDENT;

export function cls(c: number): number {
  return c < 128 ? (CLASS[c] ?? 0) : 0;
}
export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
export function isIdentPart(c: number): boolean {
  return (cls(c) & C_IDENT) !== 0;
}

/** End of a UUID literal starting at p, or -1. Cassandra's UUID: HEX{8}-HEX{4}-HEX{4}-HEX{4}-HEX{12}. */
export function uuidEnd(src: string, p: number): number {
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
export function quotedEnd(src: string, p: number): number {
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
export function isDurationUnit(src: string, a: number, b: number): boolean {
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

export function isUnitChar(c: number): boolean {
  return (cls(c) & C_LETTER) !== 0 || c === MICRO;
}

/** Lower-case ASCII word match of src[a, b) against `lower` (which must be lower-case). */
export function wordAt(src: string, a: number, b: number, lower: string): boolean {
  if (b - a !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    // Both sides hold [a-zA-Z0-9_] only: `| 0x20` folds A-Z onto a-z, keeps digits, and sends
    // `_` to 0x7f, which no other character of a name reaches.
    if ((src.charCodeAt(a + i) | 0x20) !== (lower.charCodeAt(i) | 0x20)) return false;
  }
  return true;
}

/** Names that are literals, not column or field names (for the `:` rule and term parsing). */
export function isLiteralWord(src: string, a: number, b: number): boolean {
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

export function unquote(src: string, a: number, b: number, quote: string): string {
  const inner = src.slice(a + 1, b - 1);
  return inner.includes(quote + quote) ? inner.replaceAll(quote + quote, quote) : inner;
}
