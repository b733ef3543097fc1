// STARTUP (opcode 0x01): the client's first message, options for the connection.
// native_protocol_v4.spec §4.1.1 / native_protocol_v5.spec §4.1.1: "The body is a [string map] of
// options." Whether CQL_VERSION is present (it is mandatory) is for the session to judge: it answers
// with an ERROR, and that needs the rest of the map.

import { CqlReader } from '../reader.js';
import { CqlWriter } from '../writer.js';
import { malformed } from '../errors.js';

/** Option keys of spec v4/v5 §4.1.1, plus the client-identification keys of dse_protocol_v2 §4.1.1. */
export const StartupOption = {
  CQL_VERSION: 'CQL_VERSION',
  COMPRESSION: 'COMPRESSION',
  /** v5 and DSE; older servers ignore it. */
  DRIVER_NAME: 'DRIVER_NAME',
  DRIVER_VERSION: 'DRIVER_VERSION',
  /** v4 only: removed in v5 (spec v5 §9). */
  NO_COMPACT: 'NO_COMPACT',
  /** v4 and v5. */
  THROW_ON_OVERLOAD: 'THROW_ON_OVERLOAD',
  CLIENT_ID: 'CLIENT_ID',
  APPLICATION_NAME: 'APPLICATION_NAME',
  APPLICATION_VERSION: 'APPLICATION_VERSION',
} as const;
export type StartupOption = (typeof StartupOption)[keyof typeof StartupOption];

// native_protocol_v4.spec §4.1.1 STARTUP: <options: [string map]>
export function decodeStartup(body: Buffer): Map<string, string> {
  const reader = new CqlReader(body);
  const options = reader.readStringMap();
  reader.expectEnd('STARTUP');
  return options;
}

// native_protocol_v4.spec §4.1.1 STARTUP: <options: [string map]>
export function encodeStartup(
  options: ReadonlyMap<string, string> | Readonly<Record<string, string>>,
): Buffer {
  const map: ReadonlyMap<string, string> =
    options instanceof Map ? options : new Map(Object.entries(options));
  if (map.size > 0xffff) throw malformed(`too many STARTUP options: ${map.size}`);
  return new CqlWriter(64).writeStringMap(map).finish();
}
