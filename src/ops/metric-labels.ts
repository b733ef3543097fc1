// How a request's outcome is spelled in metric labels: `ok`, `timeout`, or the CQL error's name
// (`write_timeout` for 0x1100), and who answered (cluster, proxy, timeout).

import { ErrorCode } from '../protocol/constants.js';
import { ErrorOrigin, NO_ERROR, UNREADABLE_ERROR } from '../upstream/request-outcome.js';

const ERROR_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(ErrorCode).map(([name, code]) => [code, name.toLowerCase()]),
);

/** `write_timeout` for 0x1100; the hex code for a code the spec does not name. */
export function errorName(code: number): string {
  if (code === UNREADABLE_ERROR) return 'unreadable';
  return ERROR_NAMES.get(code) ?? errorCodeLabel(code);
}

/** The `code` label: the error code in hex, `none` for a request that got no error. */
export function errorCodeLabel(code: number): string {
  return code < 0 ? 'none' : `0x${code.toString(16).padStart(4, '0')}`;
}

/** The `origin` label. */
export const ORIGIN_NAMES: Readonly<Record<ErrorOrigin, string>> = {
  [ErrorOrigin.CLUSTER]: 'cluster',
  [ErrorOrigin.PROXY]: 'proxy',
  [ErrorOrigin.TIMEOUT]: 'timeout',
};

/** The `outcome` label of a request: ok, timeout, or the error's name. */
export function outcomeName(errorCode: number, origin: ErrorOrigin): string {
  if (origin === ErrorOrigin.TIMEOUT) return 'timeout';
  return errorCode === NO_ERROR ? 'ok' : errorName(errorCode);
}
