// Is an INSERT, UPDATE, DELETE or BATCH safe to send again to another node after its connection
// died? (docs/cql-proxy-compat.md §4.7; retries §4.8.) The rule: a statement is idempotent when
// applying it twice leaves the same data as applying it once. Not idempotent:
//   - lightweight transactions: any `IF` (IF NOT EXISTS, IF EXISTS, IF <conditions>); the second
//     attempt sees the first one's write and answers differently;
//   - any call to a non-deterministic function anywhere, nested too: now(), uuid(),
//     currentTimestamp() and friends (each attempt writes a different value or row);
//   - counter updates and list appends/prepends: `c = c + x`, `c = x + c`, `c = c - x`, `c += x`,
//     `c -= x`; the exception is when x is a `{...}` literal: a set union/difference or a map
//     put/remove-keys ends in the same state however often it runs, while a number (counter), a
//     `[...]` literal (list append) or a bind marker / function / cast (type unknown here) may not;
//   - `DELETE l[i]` where i may be a list index: an integer literal, a bind marker, a function
//     call or a cast (deleting "element 0" twice deletes two elements); a string, uuid or other
//     non-integer literal can only be a map key, and deleting a key twice is harmless;
//   - COUNTER batches; other batches are idempotent iff every child statement is.
// Anything this analysis does not recognise is not idempotent (conservative: a wrong "yes" can
// apply a write twice, a wrong "no" only costs a retry). Unlike cql-proxy's parser, a DELETE of
// a map element still has its WHERE and IF clauses checked (cql-proxy returns early at `m[...]`).
//
// Driven by CqlScanner with one token of lookahead; stops at the first reason to say no. Only the
// scanner's type is imported; punctuation codes are spelled here, in the encoding of Op
// (cql-characters.ts).

import type { CqlScanner } from './cql-scanner.js';

const LPAREN = 0x28;
const RPAREN = 0x29;
const COMMA = 0x2c;
const SEMI = 0x3b;
const DOT = 0x2e;
const EQ = 0x3d;
const LT = 0x3c;
const PLUS = 0x2b;
const MINUS = 0x2d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const PLUS_EQ = (PLUS << 8) | EQ;
const MINUS_EQ = (MINUS << 8) | EQ;

/**
 * Non-deterministic native functions, lower-case (Cassandra's TimeFcts/UuidFcts, with the
 * snake_case names of Cassandra 5). Matched whatever the keyspace qualifier or quoting, which can
 * only err towards "not idempotent".
 */
const NON_DETERMINISTIC = new Set([
  'now',
  'uuid',
  'currenttimestamp',
  'currentdate',
  'currenttime',
  'currenttimeuuid',
  'current_timestamp',
  'current_date',
  'current_time',
  'current_timeuuid',
]);
const LONGEST_NON_DETERMINISTIC = Math.max(...[...NON_DETERMINISTIC].map((n) => n.length));

function isNonDeterministic(src: string, a: number, b: number): boolean {
  if (src.charCodeAt(a) === 0x22) {
    a++;
    b--;
  }
  if (b - a > LONGEST_NON_DETERMINISTIC) return false;
  return NON_DETERMINISTIC.has(src.slice(a, b).toLowerCase());
}

// What a term turned out to be (cql-proxy parse_term.go has the same distinctions).
const T_INVALID = 0;
const T_INTEGER = 1; // may be a list index or a counter delta
const T_CONSTANT = 2; // string, float, uuid, blob, duration, true/false/null/NaN/Infinity
const T_BIND = 3; // ?, :name — type unknown
const T_LIST = 4; // [...]
const T_BRACES = 5; // {...}: set, map or UDT literal
const T_TUPLE = 6;
const T_CAST = 7; // (type) term
const T_FUNCTION = 8;
type TermType = number;

/** Walks tokens, noting on the way every `if` and every non-deterministic call. */
class Walk {
  readonly s: CqlScanner;
  /** An `IF` was seen (IF is reserved, so unquoted it can only open a condition). */
  lwt = false;
  nondeterministic = false;
  inBatch = false;

  constructor(s: CqlScanner) {
    this.s = s;
  }

  next(): void {
    const s = this.s;
    const wasName = s.isName();
    const a = s.start;
    const b = s.end;
    s.next();
    if (s.isPunct(LPAREN)) {
      if (wasName && isNonDeterministic(s.src, a, b)) this.nondeterministic = true;
    } else if (s.isWord('if')) {
      this.lwt = true;
    }
  }

  /** Where one statement ends: `;`, end of input, or (inside a batch) the next child / APPLY. */
  atTerminator(): boolean {
    const s = this.s;
    if (s.isEof() || s.isError() || s.isPunct(SEMI)) return true;
    return (
      this.inBatch &&
      (s.isWord('apply') || s.isWord('insert') || s.isWord('update') || s.isWord('delete'))
    );
  }

  /** Skips to the statement's end; false if the input stops lexing on the way. */
  skipToTerminator(): boolean {
    while (!this.atTerminator()) this.next();
    return !this.s.isError();
  }

  /** At `(`, `[` or `{`: skips past the matching close; false if the statement ends first. */
  skipBalanced(): boolean {
    const s = this.s;
    let depth = 0;
    do {
      if (s.isPunct(LPAREN) || s.isPunct(LBRACKET) || s.isPunct(LBRACE)) depth++;
      else if (s.isPunct(RPAREN) || s.isPunct(RBRACKET) || s.isPunct(RBRACE)) depth--;
      else if (this.atTerminator()) return false;
      this.next();
    } while (depth > 0);
    return true;
  }

  /**
   * Parses one term (cql-proxy `term`; Cassandra `term`) and says what it was, leaving the
   * scanner on the token after it.
   */
  term(): TermType {
    const s = this.s;
    if (s.isInteger()) {
      this.next();
      return T_INTEGER;
    }
    if (s.isConstant()) {
      this.next();
      return T_CONSTANT;
    }
    if (s.isBindMarker()) {
      this.next();
      return T_BIND;
    }
    if (s.isPunct(LBRACKET)) return this.skipBalanced() ? T_LIST : T_INVALID;
    if (s.isPunct(LBRACE)) return this.skipBalanced() ? T_BRACES : T_INVALID;
    if (s.isPunct(LPAREN)) return this.parenthesised();
    if (s.isPunct(MINUS)) {
      // Negative numbers are single tokens; only -NaN and -Infinity come apart.
      this.next();
      if (!s.isWord('nan') && !s.isWord('infinity')) return T_INVALID;
      this.next();
      return T_CONSTANT;
    }
    if (s.isName()) {
      const literal = s.isLiteralWord();
      this.next();
      if (s.isPunct(DOT)) {
        this.next();
        if (!s.isName()) return T_INVALID;
        this.next();
        return s.isPunct(LPAREN) && this.skipBalanced() ? T_FUNCTION : T_INVALID;
      }
      if (s.isPunct(LPAREN)) return this.skipBalanced() ? T_FUNCTION : T_INVALID;
      return literal ? T_CONSTANT : T_INVALID;
    }
    return T_INVALID;
  }

  /** At `(`: a cast `(type) term` or a tuple literal `(t1, t2, ...)`. */
  private parenthesised(): TermType {
    const s = this.s;
    s.mark();
    this.next();
    if (s.isName() && !s.isLiteralWord()) {
      // A type: name, or name<...> such as frozen<list<int>>; then the cast operand.
      this.next();
      if (s.isPunct(LT)) {
        while (!s.isPunct(RPAREN)) {
          if (this.atTerminator()) return T_INVALID;
          this.next();
        }
      }
      if (!s.isPunct(RPAREN)) return T_INVALID;
      this.next();
      return this.term() === T_INVALID ? T_INVALID : T_CAST;
    }
    s.rewind();
    return this.skipBalanced() ? T_TUPLE : T_INVALID;
  }

  // insertStatement: INSERT INTO table ( '(' names ')' VALUES '(' terms ')' | JSON term
  //   (DEFAULT (NULL | UNSET))? ) (IF NOT EXISTS)? (USING options)?
  // Nothing but IF and non-deterministic calls can make an INSERT unsafe: it overwrites whole
  // values, even of lists (counter tables cannot be inserted into).
  insert(): boolean {
    const s = this.s;
    this.next();
    if (!s.isWord('into')) return false;
    this.next();
    if (!s.isName()) return false;
    // Step past the table name with the raw scanner: a table named `now` followed by its column
    // list is not a call to now().
    s.next();
    if (s.isPunct(DOT)) {
      s.next();
      if (!s.isName()) return false;
      s.next();
    }
    if (s.isWord('if')) this.lwt = true;
    return this.skipToTerminator();
  }

  // updateStatement: UPDATE table (USING options)? SET assignment (',' assignment)*
  //   WHERE relations (IF (EXISTS | conditions))?
  update(): boolean {
    const s = this.s;
    this.next();
    while (!s.isWord('set')) {
      if (this.atTerminator()) return false;
      this.next();
    }
    this.next();
    for (;;) {
      if (!this.assignment()) return false;
      if (!s.isPunct(COMMA)) break;
      this.next();
    }
    if (!s.isWord('where') && !this.atTerminator()) return false;
    return this.skipToTerminator();
  }

  // assignment:
  //     name '=' term                          plain set: idempotent
  //   | name '=' name ('+' | '-') term          counter / list / set / map update
  //   | name '=' term '+' name                  prepend
  //   | name ('+=' | '-=') term
  //   | name '[' term ']' '=' term              list index or map key set: idempotent
  //   | name '.' name '=' term                  UDT field set: idempotent
  private assignment(): boolean {
    const s = this.s;
    if (!s.isName()) return false;
    this.next();
    if (s.isPunct(LBRACKET)) {
      this.next();
      if (this.term() === T_INVALID || !s.isPunct(RBRACKET)) return false;
      this.next();
      return this.plainValue();
    }
    if (s.isPunct(DOT)) {
      this.next();
      if (!s.isName()) return false;
      this.next();
      return this.plainValue();
    }
    if (s.isPunct(PLUS_EQ) || s.isPunct(MINUS_EQ)) {
      this.next();
      return this.term() === T_BRACES;
    }
    if (!s.isPunct(EQ)) return false;
    this.next();
    if (s.isName()) {
      s.mark();
      this.next();
      if (s.isPunct(PLUS) || s.isPunct(MINUS)) {
        this.next();
        return this.term() === T_BRACES;
      }
      s.rewind();
    }
    const type = this.term();
    if (type === T_INVALID) return false;
    if (!s.isPunct(PLUS)) return true;
    this.next();
    if (!s.isName()) return false;
    this.next();
    return type === T_BRACES;
  }

  private plainValue(): boolean {
    if (!this.s.isPunct(EQ)) return false;
    this.next();
    return this.term() !== T_INVALID;
  }

  // deleteStatement: DELETE (deletion (',' deletion)*)? FROM table (USING TIMESTAMP n)?
  //   WHERE relations (IF (EXISTS | conditions))?
  // deletion: name | name '[' term ']' | name '.' name
  delete(): boolean {
    const s = this.s;
    this.next();
    while (!s.isWord('from')) {
      if (this.atTerminator()) return false;
      if (s.isPunct(LBRACKET)) {
        this.next();
        const type = this.term();
        if (type !== T_CONSTANT || !s.isPunct(RBRACKET)) return false;
      }
      this.next();
    }
    return this.skipToTerminator();
  }

  // batchStatement: BEGIN (UNLOGGED | COUNTER | LOGGED)? BATCH (USING TIMESTAMP n)?
  //   (child ';'?)* APPLY BATCH
  batch(): boolean {
    const s = this.s;
    this.next();
    if (s.isWord('counter')) return false;
    if (s.isWord('unlogged') || s.isWord('logged')) this.next();
    if (!s.isWord('batch')) return false;
    this.inBatch = true;
    this.next();
    if (s.isWord('using')) {
      while (!this.atTerminator()) this.next();
    }
    for (;;) {
      while (s.isPunct(SEMI)) this.next();
      let ok: boolean;
      if (s.isWord('insert')) ok = this.insert();
      else if (s.isWord('update')) ok = this.update();
      else if (s.isWord('delete')) ok = this.delete();
      else break;
      if (!ok) return false;
    }
    if (!s.isWord('apply')) return false;
    this.next();
    if (!s.isWord('batch')) return false;
    this.next();
    this.inBatch = false;
    return true;
  }
}

/**
 * With the scanner on the statement's first word (INSERT, UPDATE, DELETE or BEGIN): is the whole
 * statement idempotent? Consumes the scanner.
 */
export function modificationIsIdempotent(s: CqlScanner): boolean {
  const w = new Walk(s);
  let ok: boolean;
  if (s.isWord('insert')) ok = w.insert();
  else if (s.isWord('update')) ok = w.update();
  else if (s.isWord('delete')) ok = w.delete();
  else if (s.isWord('begin')) ok = w.batch();
  else return false;
  if (!ok || w.lwt || w.nondeterministic) return false;
  // cqlStatement (';')* EOF: a second statement or trailing garbage is not ours to vouch for.
  while (s.isPunct(SEMI)) s.next();
  return s.isEof();
}
