// RESULT (opcode 0x08): native_protocol_v5.spec §4.2.5 <kind: [int]> then a body by kind:
//   0x0001 Void          nothing
//   0x0002 Rows          <metadata><rows_count: [int]><rows_content>           (§4.2.5.2)
//   0x0003 Set_keyspace  <keyspace: [string]>                                  (§4.2.5.3)
//   0x0004 Prepared      <id>[<result_metadata_id>]<metadata><result_metadata> (§4.2.5.4)
//   0x0005 Schema_change <change_type><target><options>                        (§4.2.5.5)
//
// Rows are decoded into arrays of cell views (Buffer | null); values are not decoded by type here
// (values.ts does that for the few cells the proxy reads). Every view aliases the body: copy what
// must outlive it.
//
// Version differences:
// - <new_metadata_id> (METADATA_CHANGED) and the Prepared <result_metadata_id> exist in v5 and DSE
//   v2 (hasResultMetadataId); elsewhere the flag is malformed.
// - The Prepared <metadata> has <pk_count><pk_index_i>... from v4 on (hasPkIndexes); in v3 it is a
//   plain rows <metadata> (native_protocol_v3.spec §4.2.5.4).

import { Opcode, ResultKind, RowsFlag, hasPkIndexes, hasResultMetadataId } from '../constants.js';
import { malformed } from '../errors.js';
import { CqlReader } from '../reader.js';
import { CqlWriter } from '../writer.js';
import { type ColumnType, readColumnType, writeColumnType } from './column-type.js';
import {
  checkInt,
  checkReadCount,
  checkVersion,
  checkStreamId,
  checkShort,
} from './field-checks.js';
import { type SchemaChange, readSchemaChange, writeSchemaChange } from './schema-change.js';

/** <col_spec_i>: (<ksname><tablename>)?<name><type>, with the table spec always filled in. */
export interface ColumnSpec {
  keyspace: string;
  table: string;
  name: string;
  type: ColumnType;
}

/** A rows <metadata> (spec v5 §4.2.5.2), also the Prepared <result_metadata>. */
export interface RowsMetadata {
  /** <columns_count>: also the number of cells in each row, with or without column specs. */
  columnCount: number;
  /** The column specs; absent when the No_metadata flag is set. */
  columns?: ColumnSpec[];
  /** <paging_state> (view), present with Has_more_pages. */
  pagingState?: Buffer;
  /** <new_metadata_id> (view), present with Metadata_changed; v5 and DSE v2 only. */
  newMetadataId?: Buffer;
  /**
   * Whether one <global_table_spec> stands for all columns (Global_tables_spec). Set by the
   * decoder whenever columns are present. When encoding: true requires every column to share one
   * keyspace and table, false writes a table spec per column, absent picks the global form when
   * every column shares one (what Cassandra does).
   */
  globalTableSpec?: boolean;
}

/** The Prepared <metadata>: the bind markers (spec v5 §4.2.5.4). */
export interface PreparedMetadata {
  columns: ColumnSpec[];
  /** <pk_index_i>: bind marker index of each partition key column; always [] in v3. */
  pkIndexes: number[];
  /** As in RowsMetadata. */
  globalTableSpec?: boolean;
}

export interface VoidResult {
  kind: typeof ResultKind.VOID;
}

export interface RowsResult {
  kind: typeof ResultKind.ROWS;
  metadata: RowsMetadata;
  rows: (Buffer | null)[][];
}

export interface SetKeyspaceResult {
  kind: typeof ResultKind.SET_KEYSPACE;
  keyspace: string;
}

export interface PreparedResult {
  kind: typeof ResultKind.PREPARED;
  /** <id>: a view into the body; copy it before caching. */
  id: Buffer;
  /** <result_metadata_id>: present exactly in v5 and DSE v2. */
  resultMetadataId?: Buffer;
  metadata: PreparedMetadata;
  resultMetadata: RowsMetadata;
}

export interface SchemaChangeResult {
  kind: typeof ResultKind.SCHEMA_CHANGE;
  change: SchemaChange;
}

export type ResultMessage =
  VoidResult | RowsResult | SetKeyspaceResult | PreparedResult | SchemaChangeResult;

/** What the rows encoder accepts: RowsMetadata, or the same with any Uint8Array for the bytes. */
interface RowsMetadataInput {
  columnCount: number;
  columns?: readonly ColumnSpec[] | undefined;
  pagingState?: Uint8Array | undefined;
  newMetadataId?: Uint8Array | undefined;
  globalTableSpec?: boolean | undefined;
}

/** Input of encodeRows(): a synthetic result such as the proxy's own system.local row. */
export interface RowsInput {
  columns: readonly ColumnSpec[];
  rows: readonly (readonly (Uint8Array | null)[])[];
  pagingState?: Uint8Array;
}

/**
 * A row with no columns costs no bytes, so a rows_count cannot be checked against the body size:
 * cap it instead (Cassandra never sends column-less rows; this only bounds the allocation).
 */
export const MAX_EMPTY_ROWS = 0x10000;

const KNOWN_ROWS_FLAGS =
  RowsFlag.GLOBAL_TABLES_SPEC |
  RowsFlag.HAS_MORE_PAGES |
  RowsFlag.NO_METADATA |
  RowsFlag.METADATA_CHANGED;

// --- decoding ---------------------------------------------------------------------------------

// Each spec reads at least 4 bytes, so a hostile count ends as a truncation after at most
// body/4 iterations: no up-front check is needed.
function readColumnSpecs(reader: CqlReader, count: number, global: boolean): ColumnSpec[] {
  let keyspace = '';
  let table = '';
  if (global) {
    keyspace = reader.readString();
    table = reader.readString();
  }
  const columns: ColumnSpec[] = [];
  for (let i = 0; i < count; i++) {
    if (!global) {
      keyspace = reader.readString();
      table = reader.readString();
    }
    const name = reader.readString();
    columns.push({ keyspace, table, name, type: readColumnType(reader) });
  }
  return columns;
}

// native_protocol_v5.spec §4.2.5.2 <metadata>:
//   <flags: [int]><columns_count: [int]>[<paging_state: [bytes]>][<new_metadata_id: [short bytes]>]
//   [<global_table_spec>?<col_spec_1>...<col_spec_n>]
function readRowsMetadata(reader: CqlReader, version: number): RowsMetadata {
  const flags = reader.readInt();
  const columnCount = checkReadCount(reader.readInt(), 'rows metadata <columns_count>');
  const metadata: RowsMetadata = { columnCount };
  if ((flags & RowsFlag.HAS_MORE_PAGES) !== 0) {
    const pagingState = reader.readBytes();
    if (pagingState === null) throw malformed('Has_more_pages with a null <paging_state>');
    metadata.pagingState = pagingState;
  }
  const noMetadata = (flags & RowsFlag.NO_METADATA) !== 0;
  if ((flags & RowsFlag.METADATA_CHANGED) !== 0) {
    if (!hasResultMetadataId(version)) {
      throw malformed(`Metadata_changed flag in rows metadata of protocol version ${version}`);
    }
    // spec v5 §4.2.5.2: "if set, the No_metadata flag has to be unset".
    if (noMetadata) throw malformed('Metadata_changed and No_metadata flags both set');
    metadata.newMetadataId = reader.readShortBytes();
  }
  if (noMetadata) return metadata;
  const global = (flags & RowsFlag.GLOBAL_TABLES_SPEC) !== 0;
  metadata.columns = readColumnSpecs(reader, columnCount, global);
  // A global table spec with no column to apply to carries nothing; it is not kept.
  metadata.globalTableSpec = global && columnCount > 0;
  return metadata;
}

// native_protocol_v4.spec §4.2.5.4 Prepared <metadata>:
//   <flags: [int]><columns_count: [int]><pk_count: [int]>[<pk_index_1>...<pk_index_n>]
//   [<global_table_spec>?<col_spec_1>...<col_spec_n>]
// native_protocol_v3.spec §4.2.5.4: the same without <pk_count> and the pk indexes.
function readPreparedMetadata(reader: CqlReader, version: number): PreparedMetadata {
  const flags = reader.readInt();
  // Only Global_tables_spec means something here: v3 says to assume Has_more_pages is off, and a
  // paging state, a new metadata id or missing column specs would leave the bind markers unknown.
  if ((flags & (KNOWN_ROWS_FLAGS & ~RowsFlag.GLOBAL_TABLES_SPEC)) !== 0) {
    throw malformed(`unexpected flags 0x${flags.toString(16)} in prepared metadata`);
  }
  const columnCount = checkReadCount(reader.readInt(), 'prepared metadata <columns_count>');
  const pkIndexes: number[] = [];
  if (hasPkIndexes(version)) {
    const pkCount = checkReadCount(reader.readInt(), 'prepared metadata <pk_count>');
    for (let i = 0; i < pkCount; i++) pkIndexes.push(reader.readShort());
  }
  const global = (flags & RowsFlag.GLOBAL_TABLES_SPEC) !== 0;
  const columns = readColumnSpecs(reader, columnCount, global);
  return { columns, pkIndexes, globalTableSpec: global && columnCount > 0 };
}

// native_protocol_v5.spec §4.2.5.2 Rows: <metadata><rows_count: [int]><rows_content>, where
// <rows_content> is rows_count * columns_count [bytes].
function readRows(reader: CqlReader, version: number): RowsResult {
  const metadata = readRowsMetadata(reader, version);
  const columnCount = metadata.columnCount;
  const rowsCount = checkReadCount(reader.readInt(), '<rows_count>');
  // Every cell takes at least its [int] length: refuse a count the body cannot hold before
  // allocating rows for it.
  if (
    columnCount === 0
      ? rowsCount > MAX_EMPTY_ROWS
      : rowsCount > reader.remaining / (4 * columnCount)
  ) {
    throw malformed(
      `<rows_count> ${rowsCount} x ${columnCount} columns does not fit in ${reader.remaining} bytes`,
    );
  }
  const rows: (Buffer | null)[][] = new Array<(Buffer | null)[]>(rowsCount);
  for (let r = 0; r < rowsCount; r++) {
    const row = new Array<Buffer | null>(columnCount);
    for (let c = 0; c < columnCount; c++) row[c] = reader.readBytes();
    rows[r] = row;
  }
  return { kind: ResultKind.ROWS, metadata, rows };
}

// native_protocol_v5.spec §4.2.5.4 Prepared: <id: [short bytes]>[<result_metadata_id: [short
// bytes]>]<metadata><result_metadata>
function readPrepared(reader: CqlReader, version: number): PreparedResult {
  const id = reader.readShortBytes();
  let resultMetadataId: Buffer | undefined;
  if (hasResultMetadataId(version)) resultMetadataId = reader.readShortBytes();
  const metadata = readPreparedMetadata(reader, version);
  const resultMetadata = readRowsMetadata(reader, version);
  const result: PreparedResult = { kind: ResultKind.PREPARED, id, metadata, resultMetadata };
  if (resultMetadataId !== undefined) result.resultMetadataId = resultMetadataId;
  return result;
}

// native_protocol_v5.spec §4.2.5 RESULT: <kind: [int]><body by kind>
export function decodeResult(body: Buffer, version: number): ResultMessage {
  checkVersion(version);
  const reader = new CqlReader(body);
  const kind = reader.readInt();
  let result: ResultMessage;
  switch (kind) {
    case ResultKind.VOID:
      result = { kind };
      break;
    case ResultKind.ROWS:
      result = readRows(reader, version);
      break;
    case ResultKind.SET_KEYSPACE:
      result = { kind, keyspace: reader.readString() };
      break;
    case ResultKind.PREPARED:
      result = readPrepared(reader, version);
      break;
    case ResultKind.SCHEMA_CHANGE:
      result = { kind, change: readSchemaChange(reader) };
      break;
    default:
      throw malformed(`unknown RESULT kind 0x${kind.toString(16)}`);
  }
  reader.expectEnd(`RESULT kind ${kind}`);
  return result;
}

/** The <kind> of a RESULT body, read without decoding the rest. */
export function peekResultKind(body: Buffer): number {
  if (body.length < 4) throw malformed(`truncated RESULT: ${body.length} bytes, need 4 for <kind>`);
  return body.readInt32BE(0);
}

// --- encoding ---------------------------------------------------------------------------------

function sharesOneTable(columns: readonly ColumnSpec[]): boolean {
  const first = columns[0];
  if (first === undefined) return false;
  return columns.every((c) => c.keyspace === first.keyspace && c.table === first.table);
}

function useGlobalSpec(columns: readonly ColumnSpec[], hint: boolean | undefined): boolean {
  if (hint === false) return false;
  const shared = sharesOneTable(columns);
  if (hint === true && !shared) {
    throw malformed('globalTableSpec needs at least one column and all in one keyspace and table');
  }
  return shared;
}

function writeColumnSpecs(
  writer: CqlWriter,
  columns: readonly ColumnSpec[],
  global: boolean,
): void {
  const first = columns[0];
  if (global && first !== undefined) writer.writeString(first.keyspace).writeString(first.table);
  for (const c of columns) {
    if (!global) writer.writeString(c.keyspace).writeString(c.table);
    writer.writeString(c.name);
    writeColumnType(writer, c.type);
  }
}

// native_protocol_v5.spec §4.2.5.2 <metadata> (see readRowsMetadata)
function writeRowsMetadata(writer: CqlWriter, version: number, metadata: RowsMetadataInput): void {
  const { columnCount, columns, pagingState, newMetadataId } = metadata;
  checkInt(columnCount, '<columns_count>');
  if (columnCount < 0) throw malformed(`negative <columns_count> ${columnCount}`);
  if (columns !== undefined && columns.length !== columnCount) {
    throw malformed(`<columns_count> ${columnCount} but ${columns.length} column specs`);
  }
  let flags = 0;
  if (pagingState !== undefined) flags |= RowsFlag.HAS_MORE_PAGES;
  if (newMetadataId !== undefined) {
    if (!hasResultMetadataId(version)) {
      throw malformed(`<new_metadata_id> does not exist in protocol version ${version}`);
    }
    if (columns === undefined) throw malformed('<new_metadata_id> needs the column specs');
    flags |= RowsFlag.METADATA_CHANGED;
  }
  const global = columns !== undefined && useGlobalSpec(columns, metadata.globalTableSpec);
  if (columns === undefined) flags |= RowsFlag.NO_METADATA;
  if (global) flags |= RowsFlag.GLOBAL_TABLES_SPEC;
  writer.writeInt(flags).writeInt(columnCount);
  if (pagingState !== undefined) writer.writeBytes(pagingState);
  if (newMetadataId !== undefined) writer.writeShortBytes(newMetadataId);
  if (columns !== undefined) writeColumnSpecs(writer, columns, global);
}

// native_protocol_v4.spec §4.2.5.4 Prepared <metadata> (see readPreparedMetadata)
function writePreparedMetadata(
  writer: CqlWriter,
  version: number,
  metadata: PreparedMetadata,
): void {
  const { columns, pkIndexes } = metadata;
  const global = useGlobalSpec(columns, metadata.globalTableSpec);
  writer.writeInt(global ? RowsFlag.GLOBAL_TABLES_SPEC : 0).writeInt(columns.length);
  if (hasPkIndexes(version)) {
    writer.writeInt(pkIndexes.length);
    for (const i of pkIndexes) {
      checkShort(i, '<pk_index>');
      writer.writeShort(i);
    }
  } else if (pkIndexes.length > 0) {
    throw malformed('partition key indexes do not exist in protocol version 3');
  }
  writeColumnSpecs(writer, columns, global);
}

function writeRows(
  writer: CqlWriter,
  version: number,
  metadata: RowsMetadataInput,
  rows: readonly (readonly (Uint8Array | null)[])[],
): void {
  writeRowsMetadata(writer, version, metadata);
  checkInt(rows.length, '<rows_count>');
  writer.writeInt(rows.length);
  for (const row of rows) {
    if (row.length !== metadata.columnCount) {
      throw malformed(
        `a row has ${row.length} cells, the metadata ${metadata.columnCount} columns`,
      );
    }
    for (const cell of row) writer.writeBytes(cell);
  }
}

function writeResult(writer: CqlWriter, version: number, result: ResultMessage): void {
  checkVersion(version);
  writer.writeInt(result.kind);
  switch (result.kind) {
    case ResultKind.VOID:
      return;
    case ResultKind.ROWS:
      writeRows(writer, version, result.metadata, result.rows);
      return;
    case ResultKind.SET_KEYSPACE:
      writer.writeString(result.keyspace);
      return;
    case ResultKind.PREPARED:
      writer.writeShortBytes(result.id);
      if (hasResultMetadataId(version) !== (result.resultMetadataId !== undefined)) {
        throw malformed(
          `<result_metadata_id> is ${hasResultMetadataId(version) ? 'required' : 'not allowed'} in protocol version ${version}`,
        );
      }
      if (result.resultMetadataId !== undefined) writer.writeShortBytes(result.resultMetadataId);
      writePreparedMetadata(writer, version, result.metadata);
      writeRowsMetadata(writer, version, result.resultMetadata);
      return;
    case ResultKind.SCHEMA_CHANGE:
      writeSchemaChange(writer, version, result.change);
      return;
    default: {
      const kind: unknown = (result as { kind: unknown }).kind;
      throw malformed(`unknown RESULT kind ${String(kind)}`);
    }
  }
}

/** A rough size so the usual synthetic result is written without growing the buffer. */
function rowsSizeHint(
  columns: readonly ColumnSpec[] | undefined,
  rows: readonly (readonly (Uint8Array | null)[])[],
): number {
  let n = 256 + (columns?.length ?? 0) * 64;
  for (const row of rows) for (const cell of row) n += 4 + (cell?.length ?? 0);
  return n;
}

function sizeHint(result: ResultMessage): number {
  return result.kind === ResultKind.ROWS ? rowsSizeHint(result.metadata.columns, result.rows) : 256;
}

// native_protocol_v5.spec §4.2.5 RESULT: <kind: [int]><body by kind>
export function encodeResult(version: number, result: ResultMessage): Buffer {
  const writer = new CqlWriter(sizeHint(result));
  writeResult(writer, version, result);
  return writer.finish();
}

/** A whole RESULT frame (header included) on `streamId`. */
export function resultFrame(version: number, streamId: number, result: ResultMessage): Buffer {
  checkStreamId(streamId);
  const writer = new CqlWriter(sizeHint(result), true);
  writeResult(writer, version, result);
  return writer.finishFrame(version, 0, streamId, Opcode.RESULT, true);
}

function writeRowsInput(writer: CqlWriter, version: number, input: RowsInput): void {
  checkVersion(version);
  writer.writeInt(ResultKind.ROWS);
  const metadata: RowsMetadataInput = {
    columnCount: input.columns.length,
    columns: input.columns,
    pagingState: input.pagingState,
  };
  writeRows(writer, version, metadata, input.rows);
}

// native_protocol_v5.spec §4.2.5.2 Rows: <kind = 0x0002><metadata><rows_count><rows_content>
/** A Rows RESULT body built from column specs and cells (the proxy's synthetic system rows). */
export function encodeRows(version: number, input: RowsInput): Buffer {
  const writer = new CqlWriter(rowsSizeHint(input.columns, input.rows));
  writeRowsInput(writer, version, input);
  return writer.finish();
}

/** A whole Rows RESULT frame (header included) on `streamId`. */
export function rowsFrame(version: number, streamId: number, input: RowsInput): Buffer {
  checkStreamId(streamId);
  const writer = new CqlWriter(rowsSizeHint(input.columns, input.rows), true);
  writeRowsInput(writer, version, input);
  return writer.finishFrame(version, 0, streamId, Opcode.RESULT, true);
}
