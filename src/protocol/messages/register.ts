// REGISTER (opcode 0x0B): the event types a connection wants pushed.
// native_protocol_v4.spec §4.1.8: "The body of the message is a [string list] representing the event
// types to register for. See section 4.2.6 for the list of valid event types."

import { EventType } from '../constants.js';
import { malformed } from '../errors.js';
import { CqlReader } from '../reader.js';
import { CqlWriter } from '../writer.js';

const EVENT_TYPES: ReadonlySet<string> = new Set(Object.values(EventType));

export function isEventType(name: string): name is EventType {
  return EVENT_TYPES.has(name);
}

function checkEventTypes(types: readonly string[]): EventType[] {
  return types.map((t) => {
    // Cassandra answers an unknown name with a protocol error too (Event.Type.valueOf).
    if (!isEventType(t)) throw malformed(`unknown event type in REGISTER: ${JSON.stringify(t)}`);
    return t;
  });
}

// native_protocol_v4.spec §4.1.8 REGISTER: <event_types: [string list]>
export function decodeRegister(body: Buffer): EventType[] {
  const reader = new CqlReader(body);
  const types = reader.readStringList();
  reader.expectEnd('REGISTER');
  return checkEventTypes(types);
}

// native_protocol_v4.spec §4.1.8 REGISTER: <event_types: [string list]>
export function encodeRegister(types: readonly string[]): Buffer {
  checkEventTypes(types);
  if (types.length > 0xffff) throw malformed(`too many event types: ${types.length}`);
  return new CqlWriter(64).writeStringList(types).finish();
}
