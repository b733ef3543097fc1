// What to do when a node answers an error or the connection carrying a request closes.
// cql-proxy's default policy (docs/cql-proxy-compat.md §4.8), with its idempotency rules (§4.7):
// a request that may already have been applied is only sent again when it is idempotent.

import { ErrorCode } from '../protocol/constants.js';
import type { CqlErrorMessage } from '../protocol/messages/error.js';

export type RetryDecision = 'same-node' | 'next-node' | 'give-up';

export interface RetryState {
  /** Retries already made on the same node for this request. */
  sameNodeRetries: number;
  /** Whether an UNAVAILABLE was already retried on the next node. */
  unavailableRetried: boolean;
  idempotent: () => boolean;
}

/** The decision for an ERROR answer. */
export function decideOnError(error: CqlErrorMessage, state: RetryState): RetryDecision {
  switch (error.code) {
    case ErrorCode.READ_TIMEOUT:
      // Enough replicas answered but the data was not among them: one more try is cheap.
      if (!('received' in error) || !('dataPresent' in error)) return 'give-up';
      return state.sameNodeRetries === 0 && error.received >= error.blockFor && !error.dataPresent
        ? 'same-node'
        : 'give-up';
    case ErrorCode.WRITE_TIMEOUT:
      if (!('writeType' in error)) return 'give-up';
      return state.sameNodeRetries === 0 && error.writeType === 'BATCH_LOG' && state.idempotent()
        ? 'same-node'
        : 'give-up';
    case ErrorCode.UNAVAILABLE:
      return state.unavailableRetried ? 'give-up' : 'next-node';
    case ErrorCode.IS_BOOTSTRAPPING:
      return 'next-node';
    case ErrorCode.SERVER_ERROR:
    case ErrorCode.OVERLOADED:
    case ErrorCode.TRUNCATE_ERROR:
      return state.idempotent() ? 'next-node' : 'give-up';
    default:
      return 'give-up';
  }
}

/** The decision when the connection closed with the request in flight. */
export function decideOnConnectionClosed(state: RetryState): RetryDecision {
  return state.idempotent() ? 'next-node' : 'give-up';
}
