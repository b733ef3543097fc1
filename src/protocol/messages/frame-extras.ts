// The optional fields in front of a message body, driven by the header flags.
//
// native_protocol_v4.spec §2.2 and native_protocol_v5.spec §2.4.1.2 (the authority; §4's summary
// line says "request" for tracing and warnings, which §2.2 contradicts):
//   response body: [<tracing_id: [uuid]>][<warnings: [string list]>][<custom_payload: [bytes map]>]<message>
//   request body:  [<custom_payload: [bytes map]>]<message>
// - TRACING (0x02) on a request only asks for tracing; it puts nothing in the body. On a response the
//   tracing id "is the first thing in the frame body".
// - WARNING (0x08) exists on responses only: warnings are "the first value in the frame body if the
//   tracing flag is not set, or directly after the tracing ID if it is".
// - CUSTOM_PAYLOAD (0x04) "will follow those indicated elements ... If neither are set, the custom
//   payload will be the first value in the frame body".
// native_protocol_v3.spec §2.2 knows only COMPRESSION and TRACING: "The rest of the flags is
// currently unused and ignored", so with version 3 the WARNING and CUSTOM_PAYLOAD bits are ignored.

import { HeaderFlag, ProtocolVersion } from '../constants.js';
import { malformed } from '../errors.js';
import type { CqlReader } from '../reader.js';
import type { CqlWriter } from '../writer.js';

export interface BodyExtras {
  tracingId?: string;
  warnings?: string[];
  customPayload?: Map<string, Buffer | null>;
}

export interface BodyExtrasInput {
  tracingId?: string;
  warnings?: readonly string[];
  customPayload?: ReadonlyMap<string, Uint8Array | null>;
}

/** v3 has no custom payload and no warnings; an absent version means v4 or later. */
function hasPayloadAndWarnings(version: number | undefined): boolean {
  return version !== ProtocolVersion.V3;
}

/**
 * Reads the extras the header flags announce and leaves the reader at the message proper.
 * Pass `version` to have v3's unused flag bits ignored as its spec says.
 */
export function readBodyExtras(
  reader: CqlReader,
  flags: number,
  response: boolean,
  version?: number,
): BodyExtras {
  const extras: BodyExtras = {};
  const v4Extras = hasPayloadAndWarnings(version);
  if (response) {
    if ((flags & HeaderFlag.TRACING) !== 0) extras.tracingId = reader.readUuid();
    if (v4Extras && (flags & HeaderFlag.WARNING) !== 0) extras.warnings = reader.readStringList();
  }
  if (v4Extras && (flags & HeaderFlag.CUSTOM_PAYLOAD) !== 0) {
    extras.customPayload = reader.readBytesMap();
  }
  return extras;
}

/**
 * Writes the extras in spec order and returns the header flag bits they need (TRACING, WARNING,
 * CUSTOM_PAYLOAD), for the caller to OR into the frame flags. A request that wants tracing sets
 * TRACING itself: it has no body field.
 */
export function writeBodyExtras(
  writer: CqlWriter,
  extras: BodyExtrasInput,
  response: boolean,
  version?: number,
): number {
  let flags = 0;
  const v4Extras = hasPayloadAndWarnings(version);
  if (!response && (extras.tracingId !== undefined || extras.warnings !== undefined)) {
    throw malformed('a request body carries neither a tracing id nor warnings');
  }
  if (!v4Extras && (extras.warnings !== undefined || extras.customPayload !== undefined)) {
    throw malformed('protocol v3 has no warnings and no custom payload');
  }
  if (extras.tracingId !== undefined) {
    writer.writeUuid(extras.tracingId);
    flags |= HeaderFlag.TRACING;
  }
  if (extras.warnings !== undefined) {
    if (extras.warnings.length > 0xffff) throw malformed('too many warnings');
    writer.writeStringList(extras.warnings);
    flags |= HeaderFlag.WARNING;
  }
  if (extras.customPayload !== undefined) {
    if (extras.customPayload.size > 0xffff) throw malformed('too many custom payload entries');
    writer.writeBytesMap(extras.customPayload);
    flags |= HeaderFlag.CUSTOM_PAYLOAD;
  }
  return flags;
}
