// Expected classes for classifyQuery tests, and the property every table of cases shares.
import { expect } from 'vitest';
import fc from 'fast-check';
import type { ForwardStatement, QueryClass } from '../../src/protocol/cql-classifier.js';
import type { Selector, SystemTable } from '../../src/protocol/cql-system-select.js';
import { tokenize } from '../../src/protocol/cql-tokens.js';

export type Case = [query: string, keyspace: string | undefined, expected: QueryClass];

export const fwd = (statement: ForwardStatement, idempotent: boolean): QueryClass => ({
  kind: 'forward',
  statement,
  idempotent,
});
export const FWD_SELECT = fwd('select', true);
export const sys = (
  table: SystemTable,
  selectors: '*' | Selector[] = '*',
  whereLocal = false,
): QueryClass => ({
  kind: 'system',
  table,
  selectors,
  whereLocal,
});
export const col = (name: string, alias?: string): Selector =>
  alias === undefined ? { kind: 'column', name } : { kind: 'column', name, alias };

/** Comments and whitespace between tokens never change a classification. */
export function expectSpacingIgnored(
  classify: (query: string, keyspace: string | undefined) => QueryClass,
  cases: readonly Case[],
): void {
  const lexable = cases.filter(([q]) => !tokenize(q).some((t) => t.kind === 'error'));
  fc.assert(
    fc.property(
      fc.constantFrom(...lexable),
      fc.array(fc.constantFrom(' ', '\n\t', ' /* FROM system.local */ ', ' -- x\n'), {
        minLength: 1,
        maxLength: 8,
      }),
      ([query, keyspace], seps) => {
        const spaced = tokenize(query)
          .map((t, i) => t.text + (seps[i % seps.length] ?? ' '))
          .join('');
        expect(classify(spaced, keyspace)).toEqual(classify(query, keyspace));
      },
    ),
    { numRuns: 300 },
  );
}
