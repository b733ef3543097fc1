// SUPPORTED (opcode 0x06): native_protocol_v5.spec §4.2.4 "The body of a SUPPORTED message is a
// [string multimap]", each STARTUP option with its supported values (CQL_VERSION, COMPRESSION,
// PROTOCOL_VERSIONS in v5, ...). The proxy answers OPTIONS with it itself.

import { Opcode } from '../constants.js';
import { CqlReader } from '../reader.js';
import { CqlWriter } from '../writer.js';
import { checkVersion, checkCount, checkStreamId } from './field-checks.js';

export type SupportedOptions =
  ReadonlyMap<string, readonly string[]> | Readonly<Record<string, readonly string[]>>;

function toMap(options: SupportedOptions): ReadonlyMap<string, readonly string[]> {
  return options instanceof Map
    ? (options as ReadonlyMap<string, readonly string[]>)
    : new Map(Object.entries(options as Readonly<Record<string, readonly string[]>>));
}

// native_protocol_v5.spec §4.2.4 SUPPORTED: <options: [string multimap]>
export function decodeSupported(body: Buffer, version: number): Map<string, string[]> {
  checkVersion(version);
  const reader = new CqlReader(body);
  const options = reader.readStringMultimap();
  reader.expectEnd('SUPPORTED');
  return options;
}

function writeSupported(writer: CqlWriter, version: number, options: SupportedOptions): void {
  checkVersion(version);
  const map = toMap(options);
  checkCount(map.size, 'SUPPORTED options');
  for (const [key, values] of map) checkCount(values.length, `values of ${key}`);
  writer.writeStringMultimap(map);
}

// native_protocol_v5.spec §4.2.4 SUPPORTED: <options: [string multimap]>
export function encodeSupported(version: number, options: SupportedOptions): Buffer {
  const writer = new CqlWriter(128);
  writeSupported(writer, version, options);
  return writer.finish();
}

/** A whole SUPPORTED frame (header included) on `streamId`. */
export function supportedFrame(
  version: number,
  streamId: number,
  options: SupportedOptions,
): Buffer {
  checkStreamId(streamId);
  const writer = new CqlWriter(128, true);
  writeSupported(writer, version, options);
  return writer.finishFrame(version, 0, streamId, Opcode.SUPPORTED, true);
}
