// What an assignment does to one cell, given its current value: set it, increment a counter,
// append/prepend to a list, add to or remove from a set, merge into or remove keys from a map.
// Non-frozen (multi-cell) collections that end up empty are no value at all, as in Cassandra.

import { UNSET } from '../../src/protocol/reader.js';
import { compareValues, readCollectionItems, readCollectionMapItems } from './compare.js';
import { invalid } from './errors.js';
import type { Operation } from './modification-plan.js';
import type { ColumnDef } from './schema.js';
import { isMultiCell } from './types.js';
import { encodeList, encodeMap, encodeSet } from './validate.js';
import { type EvalContext, type ValueExpr, evaluate } from './values.js';

/** New cell value from the current one: a value, null to delete, undefined to leave as is. */
export type CellUpdate = (current: Buffer | undefined) => Buffer | null | undefined;

export interface ResolvedOperation {
  column: ColumnDef;
  /** Plain assignments obey last-write-wins by timestamp; read-modify-write ops always apply. */
  overwrite: boolean;
  update: CellUpdate;
}

function items(value: Buffer | undefined): Buffer[] {
  if (value === undefined || value.length === 0) return [];
  return readCollectionItems(value).filter((v): v is Buffer => v !== null);
}

function entries(value: Buffer | undefined): [Buffer, Buffer][] {
  if (value === undefined || value.length === 0) return [];
  const flat = readCollectionMapItems(value);
  const out: [Buffer, Buffer][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const k = flat[i];
    const v = flat[i + 1];
    if (k != null && v != null) out.push([k, v]);
  }
  return out;
}

/** An empty multi-cell collection is no value. */
function collectionResult(column: ColumnDef, value: Buffer): Buffer | null {
  if (isMultiCell(column.type) && (value.length === 0 || value.readInt32BE(0) === 0)) return null;
  return value;
}

function counterDelta(value: Buffer, negate: boolean): bigint {
  if (value.length !== 8) throw invalid(`Expected 8 or 0 byte long (${value.length})`);
  const v = value.readBigInt64BE(0);
  return negate ? -v : v;
}

function long(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt.asIntN(64, v), 0);
  return b;
}

function readDefined(expr: ValueExpr, ctx: EvalContext): Buffer | null | undefined {
  const v = evaluate(expr, ctx);
  return v === UNSET ? undefined : v;
}

function addOrRemove(
  op: Operation & { kind: 'add' | 'prepend' | 'subtract' },
  value: Buffer,
): CellUpdate {
  const { column } = op;
  const t = column.type;
  if (t.kind === 'native') {
    const delta = counterDelta(value, op.kind === 'subtract');
    return (current) =>
      long(
        (current !== undefined && current.length === 8 ? current.readBigInt64BE(0) : 0n) + delta,
      );
  }
  if (t.kind === 'list') {
    const added = items(value);
    return (current) =>
      collectionResult(
        column,
        encodeList(
          op.kind === 'prepend' ? [...added, ...items(current)] : [...items(current), ...added],
        ),
      );
  }
  if (t.kind === 'set') {
    const given = items(value);
    if (op.kind === 'subtract') {
      return (current) =>
        collectionResult(
          column,
          encodeSet(
            t.element,
            items(current).filter((e) => !given.some((g) => compareValues(t.element, g, e) === 0)),
          ),
        );
    }
    return (current) =>
      collectionResult(column, encodeSet(t.element, [...items(current), ...given]));
  }
  if (t.kind === 'map') {
    if (op.kind === 'subtract') {
      const keys = items(value);
      return (current) =>
        collectionResult(
          column,
          encodeMap(
            t.key,
            entries(current).filter(([k]) => !keys.some((g) => compareValues(t.key, g, k) === 0)),
          ),
        );
    }
    const added = entries(value);
    return (current) => collectionResult(column, encodeMap(t.key, [...entries(current), ...added]));
  }
  throw invalid(`Invalid operation for column ${column.name}`);
}

function removeKey(column: ColumnDef, key: Buffer): CellUpdate {
  const t = column.type;
  return (current) => {
    if (t.kind === 'map') {
      return collectionResult(
        column,
        encodeMap(
          t.key,
          entries(current).filter(([k]) => compareValues(t.key, k, key) !== 0),
        ),
      );
    }
    if (t.kind === 'set') {
      return collectionResult(
        column,
        encodeSet(
          t.element,
          items(current).filter((e) => compareValues(t.element, e, key) !== 0),
        ),
      );
    }
    return current;
  };
}

/** Evaluates an operation's values; undefined when it does nothing (unset values). */
export function resolveOperation(op: Operation, ctx: EvalContext): ResolvedOperation | undefined {
  const { column } = op;
  switch (op.kind) {
    case 'set': {
      const v = readDefined(op.value, ctx);
      if (v === undefined) return undefined;
      const value = v === null ? null : collectionResult(column, v);
      return { column, overwrite: true, update: () => value };
    }
    case 'add':
    case 'prepend':
    case 'subtract': {
      const v = readDefined(op.value, ctx);
      if (v === undefined) return undefined;
      if (v === null) {
        if (column.type.kind === 'native')
          throw invalid(`Invalid null value for counter increment`);
        return op.kind === 'subtract' ? undefined : { column, overwrite: false, update: (c) => c };
      }
      return { column, overwrite: false, update: addOrRemove(op, v) };
    }
    case 'setEntry': {
      const key = evaluate(op.key, ctx);
      if (key === UNSET) throw invalid('Invalid unset map key');
      if (key === null) throw invalid('Invalid null map key');
      const value = evaluate(op.value, ctx);
      if (value === UNSET) return undefined;
      const t = column.type;
      if (t.kind !== 'map') return undefined;
      if (value === null) return { column, overwrite: false, update: removeKey(column, key) };
      return {
        column,
        overwrite: false,
        update: (current) => encodeMap(t.key, [...entries(current), [key, value]]),
      };
    }
    case 'delete':
      return { column, overwrite: true, update: () => null };
    case 'deleteEntry': {
      const key = evaluate(op.key, ctx);
      if (key === UNSET) throw invalid('Invalid unset map key');
      if (key === null) throw invalid('Invalid null map key');
      return { column, overwrite: false, update: removeKey(column, key) };
    }
  }
}
