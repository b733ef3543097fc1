// Fault injection for the simulated cluster: rules that make a node answer a request with an
// error, late, or not at all (the connection is closed), before the engine sees it. Tests and the
// admin API add rules to one node or to the whole cluster; each rule may fire a limited number of
// times. The errors carry the extra fields a real coordinator sends (spec v4 §9), so the drivers'
// retry policies take the same decisions as against Cassandra.

import { Consistency, ErrorCode, consistencyName } from '../src/protocol/constants.js';
import type { CqlErrorMessage } from '../src/protocol/messages/error.js';

export const FAULT_ERRORS = [
  'overloaded',
  'unavailable',
  'read_timeout',
  'write_timeout',
  'server_error',
] as const;
export type FaultError = (typeof FAULT_ERRORS)[number];

/** One rule, as the admin API takes it in JSON (`POST /faults`). */
export interface FaultRule {
  /** Substring of the query text; for EXECUTE the prepared query text, for BATCH any child's. */
  readonly match?: string;
  readonly error?: FaultError;
  /** Answer this much later (responses of other requests overtake it). */
  readonly delayMs?: number;
  /** Close the connection instead of answering. */
  readonly closeConnection?: boolean;
  /** Fire this many times, then disappear; forever when absent. */
  readonly times?: number;
}

/** A rule that was refused, with the reason the admin API sends back. */
export class FaultRuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FaultRuleError';
  }
}

/** The largest delay a rule may ask for: a fault must not outlive the test that set it. */
export const MAX_FAULT_DELAY_MS = 600_000;
const RULE_KEYS: ReadonlySet<string> = new Set([
  'match',
  'error',
  'delayMs',
  'closeConnection',
  'times',
]);

function isFaultError(value: unknown): value is FaultError {
  return typeof value === 'string' && (FAULT_ERRORS as readonly string[]).includes(value);
}

function isCount(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max;
}

/**
 * Checks untrusted JSON (the admin API body) and returns it as a rule. Unknown keys are refused so
 * a typo (`"delay": 100`) is not silently a rule that does nothing. `extraKeys` are accepted and
 * left to the caller (e.g. `node`).
 */
export function parseFaultRule(value: unknown, extraKeys: readonly string[] = []): FaultRule {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FaultRuleError('a fault rule is a JSON object');
  }
  const fields = value as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!RULE_KEYS.has(key) && !extraKeys.includes(key)) {
      throw new FaultRuleError(`unknown fault rule field ${JSON.stringify(key)}`);
    }
  }
  const rule: {
    match?: string;
    error?: FaultError;
    delayMs?: number;
    closeConnection?: boolean;
    times?: number;
  } = {};
  const { match, error, delayMs, closeConnection, times } = fields;
  if (match !== undefined) {
    if (typeof match !== 'string') throw new FaultRuleError('"match" must be a string');
    rule.match = match;
  }
  if (error !== undefined) {
    if (!isFaultError(error)) {
      throw new FaultRuleError(`"error" must be one of ${FAULT_ERRORS.join(', ')}`);
    }
    rule.error = error;
  }
  if (delayMs !== undefined) {
    if (!isCount(delayMs, MAX_FAULT_DELAY_MS)) {
      throw new FaultRuleError(`"delayMs" must be an integer in [0, ${MAX_FAULT_DELAY_MS}]`);
    }
    rule.delayMs = delayMs;
  }
  if (closeConnection !== undefined) {
    if (typeof closeConnection !== 'boolean') {
      throw new FaultRuleError('"closeConnection" must be a boolean');
    }
    rule.closeConnection = closeConnection;
  }
  if (times !== undefined) {
    if (!isCount(times, Number.MAX_SAFE_INTEGER) || times === 0) {
      throw new FaultRuleError('"times" must be a positive integer');
    }
    rule.times = times;
  }
  if (rule.error === undefined && rule.delayMs === undefined && rule.closeConnection !== true) {
    throw new FaultRuleError('a fault rule needs "error", "delayMs" or "closeConnection": true');
  }
  return rule;
}

interface ActiveRule {
  readonly rule: FaultRule;
  /** Firings left; Infinity without `times`. */
  remaining: number;
}

/** What a request should suffer: the rule that fired. */
export type FaultAction = FaultRule;

/** An ordered list of rules; the first one that matches a request fires. */
export class FaultSet {
  private active: ActiveRule[] = [];

  add(rule: FaultRule): void {
    this.active.push({ rule, remaining: rule.times ?? Number.POSITIVE_INFINITY });
  }

  clear(): void {
    this.active = [];
  }

  /** The rules still armed, with their remaining firings (`times`). */
  get rules(): FaultRule[] {
    return this.active.map(({ rule, remaining }) =>
      Number.isFinite(remaining) ? { ...rule, times: remaining } : { ...rule },
    );
  }

  get size(): number {
    return this.active.length;
  }

  /**
   * The first rule matching any of `queries` (a request's query texts), counted as fired. A rule
   * without `match` matches every request.
   */
  take(queries: readonly string[]): FaultAction | undefined {
    for (let i = 0; i < this.active.length; i++) {
      const entry = this.active[i]!;
      const { match } = entry.rule;
      if (match !== undefined && !queries.some((q) => q.includes(match))) continue;
      entry.remaining -= 1;
      if (entry.remaining <= 0) this.active.splice(i, 1);
      return entry.rule;
    }
    return undefined;
  }
}

/** How the faulted request writes, for the WRITE_TIMEOUT <writeType> (spec v4 §9). */
export type FaultWriteType = 'SIMPLE' | 'BATCH' | 'UNLOGGED_BATCH' | 'COUNTER';

/**
 * Replicas a coordinator waits for at `consistency`, with a replication factor of 3 in one DC
 * (what the simulated Astra region looks like).
 */
export function blockFor(consistency: number): number {
  switch (consistency) {
    case Consistency.ANY:
    case Consistency.ONE:
    case Consistency.LOCAL_ONE:
      return 1;
    case Consistency.TWO:
      return 2;
    case Consistency.THREE:
    case Consistency.ALL:
      return 3;
    default:
      // QUORUM, LOCAL_QUORUM, EACH_QUORUM, SERIAL, LOCAL_SERIAL of 3 replicas.
      return 2;
  }
}

/**
 * The ERROR a coordinator sends for `error` at `consistency`. Messages are Cassandra 4.0's:
 * UnavailableException "Cannot achieve consistency level %s", Read/WriteTimeoutException
 * "Operation timed out - received only %d responses.", OverloadedException (THROW_ON_OVERLOAD).
 */
export function faultErrorMessage(
  error: FaultError,
  consistency: number,
  writeType: FaultWriteType = 'SIMPLE',
): CqlErrorMessage {
  const required = blockFor(consistency);
  // One replica short: the usual shape of a real timeout or unavailable.
  const received = required - 1;
  switch (error) {
    case 'overloaded':
      return {
        code: ErrorCode.OVERLOADED,
        message: 'Server is in overloaded state. Cannot accept more requests at this point',
      };
    case 'unavailable':
      return {
        code: ErrorCode.UNAVAILABLE,
        message: `Cannot achieve consistency level ${consistencyName(consistency)}`,
        consistency,
        required,
        alive: received,
      };
    case 'read_timeout':
      return {
        code: ErrorCode.READ_TIMEOUT,
        message: `Operation timed out - received only ${received} responses.`,
        consistency,
        received,
        blockFor: required,
        dataPresent: false,
      };
    case 'write_timeout':
      return {
        code: ErrorCode.WRITE_TIMEOUT,
        message: `Operation timed out - received only ${received} responses.`,
        consistency,
        received,
        blockFor: required,
        writeType,
      };
    case 'server_error':
      return {
        code: ErrorCode.SERVER_ERROR,
        message: 'java.lang.RuntimeException: fault injected by the simulator',
      };
  }
}
