// EVENT (opcode 0x0C): native_protocol_v4.spec §4.2.6 <type: [string]> then a body by type:
//   TOPOLOGY_CHANGE <change: [string]><address: [inet]>   NEW_NODE | REMOVED_NODE (| MOVED_NODE)
//   STATUS_CHANGE   <change: [string]><address: [inet]>   UP | DOWN
//   SCHEMA_CHANGE   <change_type><target><options>        (schema-change.ts)
// "All EVENT messages have a streamId of -1". MOVED_NODE is listed by native_protocol_v3.spec
// §4.2.6 only, but Cassandra's TopologyChange still carries it for every version, so it is
// accepted everywhere.

import { EventType, Opcode } from '../constants.js';
import { malformed } from '../errors.js';
import type { Inet } from '../reader.js';
import { CqlReader } from '../reader.js';
import { CqlWriter } from '../writer.js';
import { checkInt, checkVersion } from './field-checks.js';
import { type SchemaChange, readSchemaChange, writeSchemaChange } from './schema-change.js';

/** Spec v4 §2.3: the stream id of server-initiated EVENT messages. */
export const EVENT_STREAM_ID = -1;

export const TopologyChangeType = {
  NEW_NODE: 'NEW_NODE',
  REMOVED_NODE: 'REMOVED_NODE',
  MOVED_NODE: 'MOVED_NODE',
} as const;
export type TopologyChangeType = (typeof TopologyChangeType)[keyof typeof TopologyChangeType];

export const StatusChangeType = {
  UP: 'UP',
  DOWN: 'DOWN',
} as const;
export type StatusChangeType = (typeof StatusChangeType)[keyof typeof StatusChangeType];

export interface TopologyChangeEvent {
  type: typeof EventType.TOPOLOGY_CHANGE;
  change: TopologyChangeType;
  address: Inet;
}

export interface StatusChangeEvent {
  type: typeof EventType.STATUS_CHANGE;
  change: StatusChangeType;
  address: Inet;
}

export interface SchemaChangeEvent {
  type: typeof EventType.SCHEMA_CHANGE;
  change: SchemaChange;
}

export type CqlEvent = TopologyChangeEvent | StatusChangeEvent | SchemaChangeEvent;

const TOPOLOGY_CHANGES: ReadonlySet<string> = new Set(Object.values(TopologyChangeType));
const STATUS_CHANGES: ReadonlySet<string> = new Set(Object.values(StatusChangeType));

function isTopologyChange(s: string): s is TopologyChangeType {
  return TOPOLOGY_CHANGES.has(s);
}

function isStatusChange(s: string): s is StatusChangeType {
  return STATUS_CHANGES.has(s);
}

// native_protocol_v4.spec §4.2.6 EVENT: <type: [string]><body by type>
export function decodeEvent(body: Buffer, version: number): CqlEvent {
  checkVersion(version);
  const reader = new CqlReader(body);
  const type = reader.readString();
  let event: CqlEvent;
  switch (type) {
    case EventType.TOPOLOGY_CHANGE: {
      const change = reader.readString();
      if (!isTopologyChange(change)) {
        throw malformed(`unknown TOPOLOGY_CHANGE change ${JSON.stringify(change)}`);
      }
      event = { type, change, address: reader.readInet() };
      break;
    }
    case EventType.STATUS_CHANGE: {
      const change = reader.readString();
      if (!isStatusChange(change)) {
        throw malformed(`unknown STATUS_CHANGE change ${JSON.stringify(change)}`);
      }
      event = { type, change, address: reader.readInet() };
      break;
    }
    case EventType.SCHEMA_CHANGE:
      event = { type, change: readSchemaChange(reader) };
      break;
    default:
      throw malformed(`unknown event type ${JSON.stringify(type)}`);
  }
  reader.expectEnd(`EVENT ${type}`);
  return event;
}

function writeAddressChange(writer: CqlWriter, change: string, address: Inet): void {
  checkInt(address.port, '[inet] port');
  writer.writeString(change).writeInet(address);
}

function writeEvent(writer: CqlWriter, version: number, event: CqlEvent): void {
  checkVersion(version);
  switch (event.type) {
    case EventType.TOPOLOGY_CHANGE:
      if (!isTopologyChange(event.change)) {
        throw malformed(`unknown TOPOLOGY_CHANGE change ${JSON.stringify(event.change)}`);
      }
      writer.writeString(event.type);
      writeAddressChange(writer, event.change, event.address);
      return;
    case EventType.STATUS_CHANGE:
      if (!isStatusChange(event.change)) {
        throw malformed(`unknown STATUS_CHANGE change ${JSON.stringify(event.change)}`);
      }
      writer.writeString(event.type);
      writeAddressChange(writer, event.change, event.address);
      return;
    case EventType.SCHEMA_CHANGE:
      writer.writeString(event.type);
      writeSchemaChange(writer, version, event.change);
      return;
    default: {
      const type: unknown = (event as { type: unknown }).type;
      throw malformed(`unknown event type ${JSON.stringify(type)}`);
    }
  }
}

// native_protocol_v4.spec §4.2.6 EVENT: <type: [string]><body by type>
export function encodeEvent(version: number, event: CqlEvent): Buffer {
  const writer = new CqlWriter(128);
  writeEvent(writer, version, event);
  return writer.finish();
}

/** A whole EVENT frame (header included), on stream id -1 as spec v4 §4.2.6 requires. */
export function eventFrame(version: number, event: CqlEvent): Buffer {
  const writer = new CqlWriter(128, true);
  writeEvent(writer, version, event);
  return writer.finishFrame(version, 0, EVENT_STREAM_ID, Opcode.EVENT, true);
}
