// A cursor over tokenize()'s tokens for the recursive-descent parser, and the syntax errors it
// raises, worded like Cassandra's ANTLR ErrorCollector: `line 1:9 mismatched input 'FROMM'
// expecting K_FROM (SELECT * [FROMM]...)`, `line 1:13 no viable alternative at input '<EOF>'`.
// Column numbers count UTF-16 code units from the start of the line, from 0, as ANTLR does.

import { type Token, TokenKind, tokenize } from '../../src/protocol/cql-tokens.js';
import { syntaxError } from './errors.js';

/**
 * CQL's reserved keywords (the CQL reference, appendix A): they cannot name a keyspace, table or
 * column unless double-quoted. Unreserved keywords (key, type, ttl, count...) are plain names.
 */
const RESERVED = new Set([
  'add',
  'allow',
  'alter',
  'and',
  'apply',
  'asc',
  'authorize',
  'batch',
  'begin',
  'by',
  'columnfamily',
  'create',
  'delete',
  'desc',
  'describe',
  'drop',
  'entries',
  'execute',
  'from',
  'full',
  'grant',
  'if',
  'in',
  'index',
  'infinity',
  'insert',
  'into',
  'keyspace',
  'limit',
  'modify',
  'nan',
  'norecursive',
  'not',
  'null',
  'of',
  'on',
  'or',
  'order',
  'primary',
  'rename',
  'replace',
  'revoke',
  'schema',
  'select',
  'set',
  'table',
  'to',
  'token',
  'truncate',
  'unlogged',
  'update',
  'use',
  'using',
  'view',
  'where',
  'with',
]);

const EOF = '<EOF>';

export class TokenCursor {
  readonly query: string;
  readonly tokens: readonly Token[];
  private index = 0;
  /** Bind marker names in order of appearance (undefined for `?`). */
  readonly markers: (string | undefined)[] = [];

  constructor(query: string) {
    this.query = query;
    this.tokens = tokenize(query);
    const bad = this.tokens.find((t) => t.kind === TokenKind.ERROR);
    if (bad !== undefined) {
      throw syntaxError(
        `line ${this.lineCol(bad.start)} no viable alternative at character '${bad.text.slice(0, 20)}'`,
      );
    }
  }

  get position(): number {
    return this.index;
  }

  /** Moves back to an earlier token (only to point an error at it). */
  rewind(position: number): void {
    this.index = position;
  }

  peek(offset = 0): Token | undefined {
    return this.tokens[this.index + offset];
  }

  atEnd(): boolean {
    return this.index >= this.tokens.length;
  }

  next(): Token {
    const t = this.tokens[this.index];
    if (t === undefined) this.fail();
    this.index++;
    return t;
  }

  /** An unquoted word, compared case-insensitively. */
  isKeyword(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t !== undefined && t.kind === TokenKind.IDENTIFIER && t.value === word;
  }

  acceptKeyword(word: string): boolean {
    if (!this.isKeyword(word)) return false;
    this.index++;
    return true;
  }

  expectKeyword(word: string): void {
    if (!this.acceptKeyword(word)) this.mismatch(`K_${word.toUpperCase()}`);
  }

  isPunct(p: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t !== undefined && t.kind === TokenKind.PUNCT && t.text === p;
  }

  acceptPunct(p: string): boolean {
    if (!this.isPunct(p)) return false;
    this.index++;
    return true;
  }

  expectPunct(p: string): void {
    if (!this.acceptPunct(p)) this.mismatch(`'${p}'`);
  }

  /** Whether the next token can be a name: an unreserved word or a quoted identifier. */
  isName(offset = 0): boolean {
    const t = this.peek(offset);
    if (t === undefined) return false;
    if (t.kind === TokenKind.QUOTED_IDENTIFIER) return true;
    return t.kind === TokenKind.IDENTIFIER && !RESERVED.has(t.value);
  }

  /** A keyspace, table, column or alias name: lower-cased unless quoted. */
  name(): string {
    const t = this.peek();
    if (t === undefined || !this.isName()) this.fail();
    this.index++;
    return t.value;
  }

  /** `:name` or `?`: records the marker and returns its index. */
  marker(): { index: number; name: string | undefined } {
    const t = this.next();
    const name = t.kind === TokenKind.BIND_MARKER ? t.value : undefined;
    this.markers.push(name);
    return { index: this.markers.length - 1, name };
  }

  isMarker(): boolean {
    const t = this.peek();
    return t !== undefined && (t.kind === TokenKind.BIND_MARKER || this.isPunct('?'));
  }

  /** Ends the statement: an optional `;`, then nothing. */
  expectEnd(): void {
    this.acceptPunct(';');
    if (!this.atEnd()) this.fail();
  }

  /** `no viable alternative at input 'X'`: nothing the grammar allows starts with this token. */
  fail(): never {
    const t = this.peek();
    throw syntaxError(
      `line ${this.lineCol(this.offsetOf(t))} no viable alternative at input '${t?.text ?? EOF}'${this.snippet()}`,
    );
  }

  /** `mismatched input 'X' expecting Y`: the grammar needed one specific token here. */
  mismatch(expecting: string): never {
    const t = this.peek();
    throw syntaxError(
      `line ${this.lineCol(this.offsetOf(t))} mismatched input '${t?.text ?? EOF}' expecting ${expecting}${this.snippet()}`,
    );
  }

  /** A syntax error about a token already consumed (e.g. an unknown type name). */
  failAt(token: Token, message: string): never {
    throw syntaxError(`line ${this.lineCol(token.start)} ${message}`);
  }

  private offsetOf(t: Token | undefined): number {
    return t === undefined ? this.query.trimEnd().length : t.start;
  }

  private lineCol(offset: number): string {
    const before = this.query.slice(0, offset);
    const line = before.split('\n').length;
    const col = offset - (before.lastIndexOf('\n') + 1);
    return `${line}:${col}`;
  }

  /** ` (SELECT * [FROMM]...)`: two tokens of context, the offending one in brackets. */
  private snippet(): string {
    const from = Math.max(0, this.index - 2);
    const before = this.tokens.slice(from, this.index).map((t) => t.text);
    const t = this.peek();
    if (t === undefined) return before.length > 0 ? ` (${before.join(' ')})` : '';
    const more = this.index + 1 < this.tokens.length ? '...' : '';
    return ` (${[...before, `[${t.text}]`].join(' ')}${more})`;
  }
}
