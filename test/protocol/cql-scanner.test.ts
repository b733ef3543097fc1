import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Op } from '../../src/protocol/cql-characters.js';
import { CqlScanner, ScanKind } from '../../src/protocol/cql-scanner.js';
import { tokenize, type Token } from '../../src/protocol/cql-tokens.js';
import { anyText } from './cql-arbitraries.js';

/** [kind, text, value] triples: the golden form of a token list. */
function triples(query: string): [string, string, string][] {
  return tokenize(query).map((t) => [t.kind, t.text, t.value]);
}

describe('tokenize: golden token lists', () => {
  it('identifiers: unquoted keep raw text and lower-case value; quoted keep exact value', () => {
    expect(triples('SeLeCt foo_1 x "Quoted ""x""" "a b"')).toEqual([
      ['identifier', 'SeLeCt', 'select'],
      ['identifier', 'foo_1', 'foo_1'],
      ['identifier', 'x', 'x'],
      ['quotedIdentifier', '"Quoted ""x"""', 'Quoted "x"'],
      ['quotedIdentifier', '"a b"', 'a b'],
    ]);
  });

  it('string literals: quote doubling, empty strings, $$ strings taken as they are', () => {
    expect(triples(`'it''s' '' '''' $$a'b"c$d$$ $$$$ 'é😀'`)).toEqual([
      ['string', `'it''s'`, `it's`],
      ['string', `''`, ''],
      ['string', `''''`, `'`],
      ['string', `$$a'b"c$d$$`, `a'b"c$d`],
      ['string', '$$$$', ''],
      ['string', `'é😀'`, 'é😀'],
    ]);
  });

  it('numbers: integers, negative numbers, floats, exponents; NaN and Infinity are identifiers', () => {
    expect(triples('0 42 -7 1.5 1. 1e10 1E-3 -2.5e+3 NaN Infinity - Infinity')).toEqual([
      ['integer', '0', '0'],
      ['integer', '42', '42'],
      ['integer', '-7', '-7'],
      ['float', '1.5', '1.5'],
      ['float', '1.', '1.'],
      ['float', '1e10', '1e10'],
      ['float', '1E-3', '1E-3'],
      ['float', '-2.5e+3', '-2.5e+3'],
      ['identifier', 'NaN', 'nan'],
      ['identifier', 'Infinity', 'infinity'],
      ['punct', '-', '-'],
      ['identifier', 'Infinity', 'infinity'],
    ]);
  });

  it('hex blobs, lower-cased value', () => {
    expect(triples('0x 0xDEADbeef 0X00')).toEqual([
      ['blob', '0x', '0x'],
      ['blob', '0xDEADbeef', '0xdeadbeef'],
      ['blob', '0X00', '0x00'],
    ]);
  });

  it('uuids are one token whether they start like a number or a name', () => {
    expect(
      triples(
        '123e4567-e89b-12d3-a456-426614174000 DEADBEEF-0000-4000-8000-00000000000A ' +
          'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      ),
    ).toEqual([
      ['uuid', '123e4567-e89b-12d3-a456-426614174000', '123e4567-e89b-12d3-a456-426614174000'],
      ['uuid', 'DEADBEEF-0000-4000-8000-00000000000A', 'deadbeef-0000-4000-8000-00000000000a'],
      ['uuid', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'],
    ]);
  });

  it('an almost-uuid is not a uuid', () => {
    // One hex digit short in the last group: a name, a minus, numbers...
    expect(tokenize('deadbeef-0000-4000-8000-00000000000')[0]).toMatchObject({
      kind: 'identifier',
      text: 'deadbeef',
    });
    // Glued to more name characters: not a uuid either.
    expect(tokenize('deadbeef-0000-4000-8000-00000000000Ax')[0]?.kind).not.toBe('uuid');
  });

  it('durations in unit form are one token; ISO forms are identifiers', () => {
    expect(triples('1h30m 12mo 3µs -5d 1ns 2MS 1y2w P1D')).toEqual([
      ['duration', '1h30m', '1h30m'],
      ['duration', '12mo', '12mo'],
      ['duration', '3µs', '3µs'],
      ['duration', '-5d', '-5d'],
      ['duration', '1ns', '1ns'],
      ['duration', '2MS', '2MS'],
      ['duration', '1y2w', '1y2w'],
      ['identifier', 'P1D', 'p1d'],
    ]);
  });

  it('malformed numbers, durations and blobs are single error tokens', () => {
    expect(triples('12abc 1h30 0xZZ 1.5x')).toEqual([
      ['error', '12abc', 'malformed duration'],
      ['error', '1h30', 'malformed duration'],
      ['error', '0xZZ', 'malformed blob literal'],
      ['error', '1.5x', 'malformed number'],
    ]);
  });

  it('punctuation and operators, longest match first', () => {
    const all = '( ) , ; . * = < > <= >= != + - [ ] { } : ? += -= / %';
    expect(tokenize(all).map((t) => [t.kind, t.text])).toEqual(
      all.split(' ').map((p) => ['punct', p]),
    );
    expect(triples('a<=b')).toEqual([
      ['identifier', 'a', 'a'],
      ['punct', '<=', '<='],
      ['identifier', 'b', 'b'],
    ]);
  });

  it('minus: operator, compound assignment, negative number, comment', () => {
    expect(triples('c - 1 c -= 1 c -1 c --1\nx')).toEqual([
      ['identifier', 'c', 'c'],
      ['punct', '-', '-'],
      ['integer', '1', '1'],
      ['identifier', 'c', 'c'],
      ['punct', '-=', '-='],
      ['integer', '1', '1'],
      ['identifier', 'c', 'c'],
      ['integer', '-1', '-1'],
      ['identifier', 'c', 'c'],
      ['identifier', 'x', 'x'],
    ]);
  });

  it('bind markers: ?, :name (lower-cased), :"Name" (exact)', () => {
    expect(triples('a = ? AND b = :Name AND c IN :"My ids" LIMIT :lim')).toEqual([
      ['identifier', 'a', 'a'],
      ['punct', '=', '='],
      ['punct', '?', '?'],
      ['identifier', 'AND', 'and'],
      ['identifier', 'b', 'b'],
      ['punct', '=', '='],
      ['bindMarker', ':Name', 'name'],
      ['identifier', 'AND', 'and'],
      ['identifier', 'c', 'c'],
      ['identifier', 'IN', 'in'],
      ['bindMarker', ':"My ids"', 'My ids'],
      ['identifier', 'LIMIT', 'limit'],
      ['bindMarker', ':lim', 'lim'],
    ]);
  });

  it('a colon after a map key or UDT field name is a separator, not a bind marker', () => {
    expect(triples(`{'a':true, 1:x, k:v, f: :p, "Q":w}`)).toEqual([
      ['punct', '{', '{'],
      ['string', `'a'`, 'a'],
      ['punct', ':', ':'],
      ['identifier', 'true', 'true'],
      ['punct', ',', ','],
      ['integer', '1', '1'],
      ['punct', ':', ':'],
      ['identifier', 'x', 'x'],
      ['punct', ',', ','],
      ['identifier', 'k', 'k'],
      ['punct', ':', ':'],
      ['identifier', 'v', 'v'],
      ['punct', ',', ','],
      ['identifier', 'f', 'f'],
      ['punct', ':', ':'],
      ['bindMarker', ':p', 'p'],
      ['punct', ',', ','],
      ['quotedIdentifier', '"Q"', 'Q'],
      ['punct', ':', ':'],
      ['identifier', 'w', 'w'],
      ['punct', '}', '}'],
    ]);
    // Outside braces, after a keyword: a bind marker; after `]`: a separator.
    expect(triples('m[:k] = {[1]:y}').map((t) => t[0])).toEqual([
      'identifier',
      'punct',
      'bindMarker',
      'punct',
      'punct',
      'punct',
      'punct',
      'integer',
      'punct',
      'punct',
      'identifier',
      'punct',
    ]);
  });

  it('comments are skipped: --, // to end of line, /* */ without nesting', () => {
    expect(triples('a -- one\nb // two\r\nc /* three * / **/ d /* /* */ e */ f --last')).toEqual([
      ['identifier', 'a', 'a'],
      ['identifier', 'b', 'b'],
      ['identifier', 'c', 'c'],
      ['identifier', 'd', 'd'],
      ['identifier', 'e', 'e'],
      ['punct', '*', '*'],
      ['punct', '/', '/'],
      ['identifier', 'f', 'f'],
    ]);
  });

  it('offsets: start/end are UTF-16 indexes and text is the slice', () => {
    const q = "  SELECT 'é' , x--c\n;";
    const tokens = tokenize(q);
    expect(tokens.map((t) => [t.start, t.end])).toEqual([
      [2, 8],
      [9, 12],
      [13, 14],
      [15, 16],
      [20, 21],
    ]);
    for (const t of tokens) expect(q.slice(t.start, t.end)).toBe(t.text);
  });

  it('unterminated string, $$ string, quoted identifier, comment: one error token to the end', () => {
    expect(triples("a 'abc")).toEqual([
      ['identifier', 'a', 'a'],
      ['error', "'abc", 'unterminated string literal'],
    ]);
    expect(triples("'it''s")).toEqual([['error', "'it''s", 'unterminated string literal']]);
    expect(triples('$$abc$')).toEqual([['error', '$$abc$', 'unterminated $$ string literal']]);
    expect(triples('"Abc')).toEqual([['error', '"Abc', 'unterminated quoted identifier']]);
    expect(triples('x /* never closed')).toEqual([
      ['identifier', 'x', 'x'],
      ['error', '/* never closed', 'unterminated block comment'],
    ]);
    expect(triples('= :"abc')).toEqual([
      ['punct', '=', '='],
      ['error', ':"abc', 'unterminated quoted identifier'],
    ]);
  });

  it('empty quoted names and unknown characters are error tokens, and lexing goes on', () => {
    expect(triples('"" x')).toEqual([
      ['error', '""', 'empty quoted identifier'],
      ['identifier', 'x', 'x'],
    ]);
    expect(triples('= :"" x')).toEqual([
      ['punct', '=', '='],
      ['error', ':""', 'empty quoted identifier'],
      ['identifier', 'x', 'x'],
    ]);
    expect(triples('a @ é 😀 $ ! _x b')).toEqual([
      ['identifier', 'a', 'a'],
      ['error', '@', "unexpected character '@'"],
      ['error', 'é', "unexpected character 'é'"],
      ['error', '😀', "unexpected character '😀'"],
      ['error', '$', "unexpected character '$'"],
      ['error', '!', "unexpected character '!'"],
      ['error', '_', "unexpected character '_'"],
      ['identifier', 'x', 'x'],
      ['identifier', 'b', 'b'],
    ]);
  });

  it('empty input, whitespace and comments only: no tokens', () => {
    expect(tokenize('')).toEqual([]);
    expect(tokenize(' \t\r\n\f')).toEqual([]);
    expect(tokenize('-- x\n/* y */ // z')).toEqual([]);
  });
});

describe('CqlScanner', () => {
  it('exposes integer kinds and operator codes without building tokens', () => {
    const s = new CqlScanner('c += 1');
    expect(s.next()).toBe(ScanKind.IDENTIFIER);
    expect(s.next()).toBe(ScanKind.PUNCT);
    expect(s.op).toBe(Op.PLUS_EQ);
    expect(s.next()).toBe(ScanKind.INTEGER);
    expect(s.next()).toBe(ScanKind.EOF);
    expect(s.next()).toBe(ScanKind.EOF);
  });

  it('mark/rewind gives one token of lookahead', () => {
    const s = new CqlScanner('a b c');
    s.next();
    s.mark();
    s.next();
    s.next();
    expect(s.text()).toBe('c');
    s.rewind();
    expect(s.text()).toBe('a');
    s.next();
    expect(s.text()).toBe('b');
  });

  it('isNameOf compares as CQL does: unquoted case-insensitively, quoted exactly', () => {
    const s = new CqlScanner('SYSTEM "system" "System"');
    s.next();
    expect(s.isNameOf('system')).toBe(true);
    s.next();
    expect(s.isNameOf('system')).toBe(true);
    s.next();
    expect(s.isNameOf('system')).toBe(false);
  });
});

function checkTokens(query: string, tokens: Token[]): void {
  let last = 0;
  for (const t of tokens) {
    expect(t.start).toBeGreaterThanOrEqual(last);
    expect(t.end).toBeGreaterThan(t.start);
    expect(t.end).toBeLessThanOrEqual(query.length);
    expect(query.slice(t.start, t.end)).toBe(t.text);
    last = t.end;
  }
}

describe('properties', () => {
  it('tokenize never throws; tokens are ordered, non-empty slices of the input', () => {
    fc.assert(
      fc.property(anyText, (query) => {
        checkTokens(query, tokenize(query));
      }),
      { numRuns: 500 },
    );
  });

  // Generated tokens with known values, joined by whitespace, lex back to exactly themselves.
  // Names have no `-`, so none can grow into a uuid.
  const unreserved = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_]{0,8}$/);
  const known = fc.oneof(
    unreserved.map((s) => ({ kind: 'identifier', text: s, value: s.toLowerCase() })),
    fc
      .string({ minLength: 1, maxLength: 8 })
      .map((s) => ({ kind: 'quotedIdentifier', text: `"${s.replaceAll('"', '""')}"`, value: s })),
    fc
      .string({ maxLength: 8 })
      .map((s) => ({ kind: 'string', text: `'${s.replaceAll("'", "''")}'`, value: s })),
    fc.integer().map((n) => ({ kind: 'integer', text: String(n), value: String(n) })),
    fc
      .constantFrom('(', ')', ',', ';', '.', '*', '=', '<=', '>=', '!=', '+=', '[', ']', '?', '/')
      .map((p) => ({ kind: 'punct', text: p, value: p })),
  );
  it('round trip: known tokens joined by whitespace or comments lex back unchanged', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(known, fc.constantFrom(' ', '\n', ' /* c */ ', ' -- c\n')), {
          maxLength: 20,
        }),
        (parts) => {
          const query = parts.map(([t, sep]) => t.text + sep).join('');
          const got = tokenize(query).map((t) => ({ kind: t.kind, text: t.text, value: t.value }));
          expect(got).toEqual(parts.map(([t]) => t));
        },
      ),
      { numRuns: 300 },
    );
  });
});
