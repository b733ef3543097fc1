// Literals in the WHERE clause of a SELECT on a proxy-answered table, turned into cells of the
// column's type as Cassandra converts them, and the refusals with Cassandra's messages.

import { DataType } from '../../protocol/constants.js';
import { type CqlScanner, ScanKind } from '../../protocol/cql-scanner.js';
import { type ColumnType, columnTypeToCql } from '../../protocol/messages/column-type.js';
import {
  encodeBigint,
  encodeBoolean,
  encodeInet,
  encodeInt,
  encodeText,
  encodeUuid,
} from '../../protocol/values.js';

const KIND_NAMES: Partial<Record<number, string>> = {
  [ScanKind.STRING]: 'STRING',
  [ScanKind.INTEGER]: 'INTEGER',
  [ScanKind.FLOAT]: 'FLOAT',
  [ScanKind.DURATION]: 'DURATION',
  [ScanKind.BLOB]: 'HEX',
  [ScanKind.UUID]: 'UUID',
  [ScanKind.IDENTIFIER]: 'BOOLEAN',
};

/** A refusal with Cassandra's message, thrown inside the parser and turned into an answer. */
export class Fail extends Error {}

export function fail(message: string): never {
  throw new Fail(message);
}

/** The literal the scanner sits on as a cell of `column`'s type (Cassandra's conversions). */
export function literalCell(s: CqlScanner, name: string, type: ColumnType): Buffer {
  const text = s.text();
  const value = s.value();
  if (s.isWord('null')) fail(`Invalid null value in condition for column ${name}`);
  const mismatch = (): never =>
    fail(
      `Invalid ${KIND_NAMES[s.kind] ?? 'literal'} constant (${text}) for "${name}" of type ` +
        columnTypeToCql(type),
    );
  const id = type.id;
  if (id === DataType.VARCHAR || id === DataType.ASCII) {
    return s.kind === ScanKind.STRING ? encodeText(value) : mismatch();
  }
  if (id === DataType.INET) {
    if (s.kind !== ScanKind.STRING) return mismatch();
    try {
      return encodeInet(value);
    } catch {
      return fail(`Unable to make inet address from '${value}'`);
    }
  }
  if (id === DataType.INT) {
    if (!s.isInteger()) return mismatch();
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < -0x80000000 || n > 0x7fffffff) {
      return fail(`Unable to make int from '${value}'`);
    }
    return encodeInt(n);
  }
  if (id === DataType.BIGINT) {
    if (!s.isInteger()) return mismatch();
    const n = BigInt(value);
    if (n < -(1n << 63n) || n >= 1n << 63n) return fail(`Unable to make long from '${value}'`);
    return encodeBigint(n);
  }
  if (id === DataType.UUID || id === DataType.TIMEUUID) {
    return s.kind === ScanKind.UUID ? encodeUuid(value) : mismatch();
  }
  if (id === DataType.BLOB) {
    return s.kind === ScanKind.BLOB ? Buffer.from(value.slice(2), 'hex') : mismatch();
  }
  if (id === DataType.BOOLEAN && (s.isWord('true') || s.isWord('false'))) {
    return encodeBoolean(s.isWord('true'));
  }
  return mismatch();
}

export function isLiteral(s: CqlScanner): boolean {
  return s.isInteger() || s.isConstant() || s.isLiteralWord();
}
