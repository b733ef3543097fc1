// <change_type><target><options>: the body shared by the Schema_change RESULT (spec v5 §4.2.5.5)
// and the SCHEMA_CHANGE EVENT (spec v5 §4.2.6).
//
// Version differences: v3 (native_protocol_v3.spec §4.2.6) knows the targets KEYSPACE, TABLE and
// TYPE; v4 added FUNCTION and AGGREGATE (native_protocol_v4.spec §10). Encoding a function or
// aggregate change for v3 does what Cassandra does (Event.SchemaChange.serialize): it becomes an
// UPDATED change of the keyspace, since a v3 driver cannot read the argument list. Decoding is
// tolerant and reads FUNCTION/AGGREGATE in any version.

import { ProtocolVersion } from '../constants.js';
import { malformed } from '../errors.js';
import type { CqlReader } from '../reader.js';
import type { CqlWriter } from '../writer.js';
import { checkCount } from './field-checks.js';

export const SchemaChangeType = {
  CREATED: 'CREATED',
  UPDATED: 'UPDATED',
  DROPPED: 'DROPPED',
} as const;
export type SchemaChangeType = (typeof SchemaChangeType)[keyof typeof SchemaChangeType];

export const SchemaChangeTarget = {
  KEYSPACE: 'KEYSPACE',
  TABLE: 'TABLE',
  TYPE: 'TYPE',
  FUNCTION: 'FUNCTION',
  AGGREGATE: 'AGGREGATE',
} as const;
export type SchemaChangeTarget = (typeof SchemaChangeTarget)[keyof typeof SchemaChangeTarget];

/** KEYSPACE: <options> is the keyspace [string]. */
export interface KeyspaceSchemaChange {
  changeType: SchemaChangeType;
  target: typeof SchemaChangeTarget.KEYSPACE;
  keyspace: string;
}

/** TABLE / TYPE: <options> is the keyspace [string] then the table or type name [string]. */
export interface TableOrTypeSchemaChange {
  changeType: SchemaChangeType;
  target: typeof SchemaChangeTarget.TABLE | typeof SchemaChangeTarget.TYPE;
  keyspace: string;
  name: string;
}

/** FUNCTION / AGGREGATE: keyspace [string], name [string], argument CQL types [string list]. */
export interface FunctionSchemaChange {
  changeType: SchemaChangeType;
  target: typeof SchemaChangeTarget.FUNCTION | typeof SchemaChangeTarget.AGGREGATE;
  keyspace: string;
  name: string;
  argTypes: string[];
}

export type SchemaChange = KeyspaceSchemaChange | TableOrTypeSchemaChange | FunctionSchemaChange;

const CHANGE_TYPES: ReadonlySet<string> = new Set(Object.values(SchemaChangeType));

function isChangeType(s: string): s is SchemaChangeType {
  return CHANGE_TYPES.has(s);
}

// native_protocol_v4.spec §4.2.6 SCHEMA_CHANGE: <change_type: [string]><target: [string]><options>
export function readSchemaChange(reader: CqlReader): SchemaChange {
  const changeType = reader.readString();
  // The options that follow depend on the target; the change type is checked as strictly so a
  // typo'd or future value is not passed on as if it were understood.
  if (!isChangeType(changeType)) {
    throw malformed(`unknown schema change type ${JSON.stringify(changeType)}`);
  }
  const target = reader.readString();
  switch (target) {
    case SchemaChangeTarget.KEYSPACE:
      return { changeType, target, keyspace: reader.readString() };
    case SchemaChangeTarget.TABLE:
    case SchemaChangeTarget.TYPE: {
      const keyspace = reader.readString();
      return { changeType, target, keyspace, name: reader.readString() };
    }
    case SchemaChangeTarget.FUNCTION:
    case SchemaChangeTarget.AGGREGATE: {
      const keyspace = reader.readString();
      const name = reader.readString();
      return { changeType, target, keyspace, name, argTypes: reader.readStringList() };
    }
    default:
      throw malformed(`unknown schema change target ${JSON.stringify(target)}`);
  }
}

// native_protocol_v4.spec §4.2.6 SCHEMA_CHANGE: <change_type: [string]><target: [string]><options>
export function writeSchemaChange(writer: CqlWriter, version: number, change: SchemaChange): void {
  if (!isChangeType(change.changeType)) {
    throw malformed(`unknown schema change type ${JSON.stringify(change.changeType)}`);
  }
  switch (change.target) {
    case SchemaChangeTarget.KEYSPACE:
      writer.writeString(change.changeType).writeString(change.target);
      writer.writeString(change.keyspace);
      return;
    case SchemaChangeTarget.TABLE:
    case SchemaChangeTarget.TYPE:
      writer.writeString(change.changeType).writeString(change.target);
      writer.writeString(change.keyspace).writeString(change.name);
      return;
    case SchemaChangeTarget.FUNCTION:
    case SchemaChangeTarget.AGGREGATE:
      if (version === ProtocolVersion.V3) {
        // native_protocol_v3.spec §4.2.6 has no FUNCTION/AGGREGATE target (see the file comment).
        writer.writeString(SchemaChangeType.UPDATED).writeString(SchemaChangeTarget.KEYSPACE);
        writer.writeString(change.keyspace);
        return;
      }
      checkCount(change.argTypes.length, 'function argument types');
      writer.writeString(change.changeType).writeString(change.target);
      writer.writeString(change.keyspace).writeString(change.name);
      writer.writeStringList(change.argTypes);
      return;
    default: {
      const target: unknown = (change as { target: unknown }).target;
      throw malformed(`unknown schema change target ${JSON.stringify(target)}`);
    }
  }
}
