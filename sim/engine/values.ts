// Terms bound to the column they are assigned to or compared with (their "receiver"): literals
// become bytes at planning time, bind markers become variables with that receiver's name and
// type (what prepared metadata shows, spec v4 §4.2.5.4), collection literals holding markers or
// function calls are assembled at execution. Receiver names follow Cassandra's: the column, or
// `value(c)` / `key(c)` for collection elements, `c[0]` for tuple components, `in(c)` for a
// marker standing for a whole IN list, `[limit]`, `[ttl]`, `[timestamp]`.

import { UNSET, type Unset } from '../../src/protocol/reader.js';
import type { ColumnSpec } from '../../src/protocol/messages/result.js';
import type { Term } from './ast.js';
import type { BoundValue } from './contract.js';
import { invalid } from './errors.js';
import { callFunction } from './functions.js';
import { type ConstantTerm, encodeConstant } from './literals.js';
import { type SimType, typeToCql } from './types.js';
import { encodeList, encodeMap, encodeSet, encodeTuple, validateValue } from './validate.js';

export interface Receiver {
  keyspace: string;
  table: string;
  name: string;
  type: SimType;
}

export type ValueExpr =
  | { kind: 'const'; value: Buffer | null }
  | { kind: 'bind'; index: number; type: SimType }
  | { kind: 'list' | 'set'; type: SimType & { kind: 'list' | 'set' }; items: ValueExpr[] }
  | { kind: 'map'; type: SimType & { kind: 'map' }; entries: [ValueExpr, ValueExpr][] }
  | { kind: 'tuple'; items: ValueExpr[] }
  | { kind: 'call'; term: Term & { kind: 'function' }; type: SimType };

/** The bind variables of a statement, filled in as its terms are planned. */
export class Bindings {
  readonly markers: readonly (string | undefined)[];
  private readonly specs: (ColumnSpec | undefined)[];

  constructor(markers: readonly (string | undefined)[]) {
    this.markers = markers;
    this.specs = markers.map(() => undefined);
  }

  declare(index: number, receiver: Receiver): void {
    this.specs[index] = {
      keyspace: receiver.keyspace,
      table: receiver.table,
      name: this.markers[index] ?? receiver.name,
      type: receiver.type.ct,
    };
  }

  /** The variables in marker order. Every marker is declared once planning succeeded. */
  variables(): ColumnSpec[] {
    return this.specs.map((s) => {
      if (s === undefined) throw invalid('Bind marker in an unsupported position');
      return s;
    });
  }
}

export interface EvalContext {
  /** Bound values by marker index (named values already put in marker order). */
  values: readonly BoundValue[];
  nowMs: number;
}

function sub(receiver: Receiver, name: string, type: SimType): Receiver {
  return { keyspace: receiver.keyspace, table: receiver.table, name, type };
}

function constantText(t: ConstantTerm): string {
  return t.kind === 'string' ? t.value : t.text;
}

const KIND_WORD: Readonly<Record<string, string>> = {
  list: 'list',
  set: 'set',
  map: 'map',
  tuple: 'tuple',
};

function literalMismatch(kind: string, receiver: Receiver): never {
  throw invalid(
    `Invalid ${KIND_WORD[kind] ?? kind} literal for ${receiver.name} of type ${typeToCql(receiver.type)}`,
  );
}

/** A collection or tuple literal made only of constants is encoded once, at planning. */
function fold(expr: ValueExpr & { kind: 'list' | 'set' | 'map' | 'tuple' }): ValueExpr {
  const items = expr.kind === 'map' ? expr.entries.flat() : expr.items;
  if (!items.every((i) => i.kind === 'const')) return expr;
  const v = evaluate(expr, { values: [], nowMs: 0 });
  return { kind: 'const', value: v === UNSET ? null : v };
}

/** Plans `term` for `receiver`: type-checks it and declares the markers it holds. */
export function planTerm(term: Term, receiver: Receiver, bindings: Bindings): ValueExpr {
  const type = receiver.type;
  switch (term.kind) {
    case 'bind':
      bindings.declare(term.index, receiver);
      return { kind: 'bind', index: term.index, type };
    case 'null':
      return { kind: 'const', value: null };
    case 'function':
      return { kind: 'call', term, type };
    case 'list':
      if (type.kind !== 'list') literalMismatch('list', receiver);
      return fold({
        kind: 'list',
        type,
        items: term.items.map((i) =>
          planTerm(i, sub(receiver, `value(${receiver.name})`, type.element), bindings),
        ),
      });
    case 'set':
      if (type.kind !== 'set') literalMismatch('set', receiver);
      return fold({
        kind: 'set',
        type,
        items: term.items.map((i) =>
          planTerm(i, sub(receiver, `value(${receiver.name})`, type.element), bindings),
        ),
      });
    case 'map':
      // `{}` is an empty set as much as an empty map.
      if (type.kind === 'set' && term.entries.length === 0) {
        return { kind: 'const', value: encodeSet(type.element, []) };
      }
      if (type.kind !== 'map') literalMismatch('map', receiver);
      return fold({
        kind: 'map',
        type,
        entries: term.entries.map(([k, v]) => [
          planTerm(k, sub(receiver, `key(${receiver.name})`, type.key), bindings),
          planTerm(v, sub(receiver, `value(${receiver.name})`, type.value), bindings),
        ]),
      });
    case 'tuple': {
      if (type.kind !== 'tuple') literalMismatch('tuple', receiver);
      if (term.items.length > type.elements.length) {
        throw invalid(
          `Invalid tuple literal for ${receiver.name}: too many elements. Type ${typeToCql(type)} expects ${type.elements.length} but got ${term.items.length}`,
        );
      }
      return fold({
        kind: 'tuple',
        items: term.items.map((item, i) => {
          const element = type.elements[i];
          if (element === undefined) return literalMismatch('tuple', receiver);
          return planTerm(item, sub(receiver, `${receiver.name}[${i}]`, element), bindings);
        }),
      });
    }
    case 'string':
    case 'integer':
    case 'float':
    case 'boolean':
    case 'uuid':
    case 'blob':
    case 'duration': {
      if (type.kind !== 'native') {
        const kind = term.kind === 'blob' ? 'HEX' : term.kind.toUpperCase();
        throw invalid(
          `Invalid ${kind} constant (${constantText(term)}) for "${receiver.name}" of type ${typeToCql(type)}`,
        );
      }
      return { kind: 'const', value: encodeConstant(term, type, receiver.name) };
    }
  }
}

function callValue(term: Term & { kind: 'function' }, type: SimType, nowMs: number): Buffer {
  const r = callFunction(term, nowMs);
  const ok =
    type.kind === 'native' &&
    (type.name === r.returns || (type.name === 'uuid' && r.returns === 'timeuuid'));
  if (!ok) {
    throw invalid(
      `Type error: cannot assign result of function system.${term.name} (type ${r.returns}) to a value of type ${typeToCql(type)}`,
    );
  }
  return r.value;
}

function element(expr: ValueExpr, ctx: EvalContext): Buffer {
  const v = evaluate(expr, ctx);
  if (v === UNSET) throw invalid('Invalid unset value in collection');
  if (v === null) throw invalid('null is not supported inside collections');
  return v;
}

/** The value of an expression with the statement's bound values. */
export function evaluate(expr: ValueExpr, ctx: EvalContext): Buffer | null | Unset {
  switch (expr.kind) {
    case 'const':
      return expr.value;
    case 'bind': {
      const v = ctx.values[expr.index];
      if (v === undefined || v === null || v === UNSET) return v ?? null;
      return validateValue(expr.type, v);
    }
    case 'call':
      return callValue(expr.term, expr.type, ctx.nowMs);
    case 'list':
      return encodeList(expr.items.map((i) => element(i, ctx)));
    case 'set':
      return encodeSet(
        expr.type.element,
        expr.items.map((i) => element(i, ctx)),
      );
    case 'map':
      return encodeMap(
        expr.type.key,
        expr.entries.map(([k, v]) => [element(k, ctx), element(v, ctx)]),
      );
    case 'tuple':
      return encodeTuple(
        expr.items.map((i) => {
          const v = evaluate(i, ctx);
          return v === UNSET ? null : v;
        }),
      );
  }
}
