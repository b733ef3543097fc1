// The CQL errors the engine throws, worded as Cassandra 4.0 words them (drivers and tests match on
// the text). Each helper returns the error so callers write `throw invalid(...)`.

import { ErrorCode } from '../../src/protocol/constants.js';
import { CqlRequestError } from './contract.js';

/** 0x2200 Invalid: InvalidRequestException. */
export function invalid(message: string): CqlRequestError {
  return new CqlRequestError({ code: ErrorCode.INVALID, message });
}

/** 0x2000 Syntax error: SyntaxException. */
export function syntaxError(message: string): CqlRequestError {
  return new CqlRequestError({ code: ErrorCode.SYNTAX_ERROR, message });
}

/** 0x2300 Config error: ConfigurationException (bad replication options). */
export function configError(message: string): CqlRequestError {
  return new CqlRequestError({ code: ErrorCode.CONFIG_ERROR, message });
}

/** 0x2100 Unauthorized: what Cassandra answers to writes into its own keyspaces. */
export function unauthorized(message: string): CqlRequestError {
  return new CqlRequestError({ code: ErrorCode.UNAUTHORIZED, message });
}

/** 0x000A Protocol error: a paging state the engine did not write. */
export function protocolError(message: string): CqlRequestError {
  return new CqlRequestError({ code: ErrorCode.PROTOCOL_ERROR, message });
}

/** 0x2400 AlreadyExists, as Cassandra's AlreadyExistsException words it; table '' for a keyspace. */
export function alreadyExists(keyspace: string, table?: string): CqlRequestError {
  const message =
    table === undefined
      ? `Cannot add existing keyspace "${keyspace}"`
      : `Cannot add already existing table "${table}" to keyspace "${keyspace}"`;
  return new CqlRequestError({
    code: ErrorCode.ALREADY_EXISTS,
    message,
    keyspace,
    table: table ?? '',
  });
}

/** 0x2500 Unprepared, with the id the client sent (spec v4 §9). */
export function unprepared(id: Buffer): CqlRequestError {
  return new CqlRequestError({
    code: ErrorCode.UNPREPARED,
    message: `Prepared query with ID ${id.toString('hex')} not found (either the query was not prepared on this host (maybe the host has been restarted?) or you have prepared too many queries and it has been evicted from the internal cache)`,
    id: Buffer.from(id),
  });
}

export function keyspaceDoesNotExist(keyspace: string): CqlRequestError {
  return invalid(`Keyspace '${keyspace}' does not exist`);
}

export function unconfiguredTable(table: string): CqlRequestError {
  return invalid(`unconfigured table ${table}`);
}

export function noKeyspace(): CqlRequestError {
  return invalid(
    'No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename',
  );
}

export function undefinedColumn(name: string): CqlRequestError {
  return invalid(`Undefined column name ${name}`);
}
