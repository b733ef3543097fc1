// The limits of one client connection (client-session.ts, limits.ts): the holds that pause
// reading and keep frames already read in order, the sweep's timeouts, closing for a limit.

import { ErrorCode } from '../protocol/constants.js';
import { CloseReason } from './limit-stats.js';
import { OUTPUT_CEILING_FACTOR } from './limits.js';
import {
  PAUSE_BLOCKED,
  PAUSE_REQUESTS,
  PAUSE_REQUEST_BYTES,
  PAUSE_OUTPUT,
  PAUSE_MEMORY,
  HOLD,
  COUNTED_HOLDS,
  PAUSE_REASON_BITS,
  plainAddress,
} from './session-shared.js';
import type { ClientSession } from './client-session.js';

/**
 * Recomputes the holds that follow from this connection's own counters (limits.ts): requests
 * and request bytes in flight, and output: what is queued, plus what the requests in flight
 * are expected to bring back, must fit in maxOutputBytes. With nothing in flight and nothing
 * queued a request is always admitted, however large its answer turns out to be.
 */
export function updateHolds(s: ClientSession): void {
  const limits = s.limits;
  const queued = s.framed.queuedBytes;
  let holds = 0;
  if (s.inFlight >= limits.maxRequestsInFlight) holds |= PAUSE_REQUESTS;
  if (s.requestBytes >= limits.maxRequestBytesInFlight) holds |= PAUSE_REQUEST_BYTES;
  if (queued + s.inFlight * s.responseEstimate > limits.maxOutputBytes && queued + s.inFlight > 0) {
    holds |= PAUSE_OUTPUT;
  }
  const next = (s.pausedFor & ~COUNTED_HOLDS) | holds;
  if (next !== s.pausedFor) setPaused(s, next);
}

/**
 * After a frame was queued for the client: the ceiling, then the holds. The ceiling counts what
 * was queued before this frame, so one answer larger than the ceiling (a page of very wide
 * rows, up to the cluster's frame limit) still reaches a client that reads it.
 */
export function afterOutput(s: ClientSession, frameLength: number): void {
  const queued = s.framed.queuedBytes;
  if (queued - frameLength > s.limits.maxOutputBytes * OUTPUT_CEILING_FACTOR) {
    closeFor(s, CloseReason.OUTPUT_OVERFLOW, { queuedBytes: queued });
    return;
  }
  updateHolds(s);
}

export function holdForMemory(s: ClientSession): void {
  if ((s.pausedFor & PAUSE_MEMORY) !== 0) return;
  setPaused(s, s.pausedFor | PAUSE_MEMORY);
  s.budget.whenAvailable((s.onMemoryAvailable ??= () => unpause(s, PAUSE_MEMORY)));
}

/** A request on a stream id whose earlier request is still in flight: refused, not forwarded. */
export function refuseDuplicateStream(s: ClientSession, streamId: number): void {
  s.guards.stats.duplicateStreamIds++;
  s.log.debug({ streamId }, 'client request refused: its stream id is already in flight');
  s.error(
    streamId,
    ErrorCode.PROTOCOL_ERROR,
    `Stream id ${streamId} is already in use by a request in flight on this connection`,
  );
}

/**
 * Run by the client side's sweep a few times a second: closes a connection that never
 * completed STARTUP, that has been silent too long, or that has taken none of its queued
 * answers for the write timeout. No timer per connection.
 */
export function sweep(s: ClientSession, now: number): void {
  if (s.closing) return;
  const limits = s.limits;
  if (!s.ready) {
    if (limits.handshakeTimeoutMs > 0 && now - s.connectedAt >= limits.handshakeTimeoutMs) {
      closeFor(s, CloseReason.HANDSHAKE_TIMEOUT, { timeoutMs: limits.handshakeTimeoutMs });
      return;
    }
  }
  const read = s.framed.socket.bytesRead;
  const flushed = s.framed.flushedBytes;
  if (read !== s.seenRead || flushed !== s.seenFlushed) {
    s.seenRead = read;
    s.lastActivity = now;
  }
  if (
    limits.idleTimeoutMs > 0 &&
    s.inFlight === 0 &&
    now - s.lastActivity >= limits.idleTimeoutMs
  ) {
    closeFor(s, CloseReason.IDLE_TIMEOUT, { timeoutMs: limits.idleTimeoutMs });
    return;
  }
  if (s.framed.queuedBytes === 0 || flushed !== s.seenFlushed) {
    s.stalledSince = now;
  } else if (limits.writeTimeoutMs > 0 && now - s.stalledSince >= limits.writeTimeoutMs) {
    closeFor(s, CloseReason.WRITE_TIMEOUT, {
      timeoutMs: limits.writeTimeoutMs,
      queuedBytes: s.framed.queuedBytes,
    });
    return;
  }
  s.seenFlushed = flushed;
}

/** Closes the connection at once for a limit, counted and logged (rate-limited). */
export function closeFor(s: ClientSession, reason: CloseReason, fields: object): void {
  if (s.closing) return;
  s.guards.stats.closed[reason]++;
  s.guards.closeLogs[reason].note({ remote: remote(s), ...fields });
  s.closing = true;
  dropWaiting(s);
  s.framed.destroy();
}

export function remote(s: ClientSession): string {
  const socket = s.framed.socket;
  return `${plainAddress(socket.remoteAddress)}:${socket.remotePort ?? 0}`;
}

export function block(s: ClientSession): void {
  s.blocked = true;
  pause(s, PAUSE_BLOCKED);
}

export function unblock(s: ClientSession): void {
  s.blocked = false;
  unpause(s, PAUSE_BLOCKED);
}

export function pause(s: ClientSession, reason: number): void {
  setPaused(s, s.pausedFor | reason);
}

export function unpause(s: ClientSession, reason: number): void {
  if ((s.pausedFor & reason) === 0) return;
  setPaused(s, s.pausedFor & ~reason);
}

/**
 * The one place the pause state changes: the socket pauses when the first reason appears and
 * resumes when the last one goes; held frames are processed once no HOLD reason is left.
 */
export function setPaused(s: ClientSession, next: number): void {
  const before = s.pausedFor;
  s.pausedFor = next;
  const added = next & ~before;
  if (added !== 0) notePauses(s, added);
  if (before === 0 && next !== 0) s.framed.pauseReading();
  if ((next & HOLD) === 0 && (before & HOLD) !== 0) releaseWaiting(s);
  if (s.pausedFor === 0 && before !== 0 && !s.closing) s.framed.resumeReading();
}

export function notePauses(s: ClientSession, added: number): void {
  for (const [bit, reason] of PAUSE_REASON_BITS) {
    if ((added & bit) === 0) continue;
    s.guards.stats.pauses[reason]++;
    s.log.debug(
      {
        reason,
        remote: remote(s),
        requestsInFlight: s.inFlight,
        requestBytesInFlight: s.requestBytes,
        queuedBytes: s.framed.queuedBytes,
      },
      'client connection paused: a limit is reached',
    );
  }
}

/** Processes held frames in order while nothing holds them (re-entrant calls return at once). */
export function releaseWaiting(s: ClientSession): void {
  if (s.releasing) return;
  s.releasing = true;
  try {
    while ((s.pausedFor & HOLD) === 0 && !s.closing) {
      if (s.waitingHead >= s.waiting.length) break;
      if (s.budget.exhausted && s.ready) {
        holdForMemory(s);
        break;
      }
      const next = s.waiting[s.waitingHead]!;
      s.waiting[s.waitingHead++] = undefined;
      s.process(next);
    }
    if (s.waitingHead >= s.waiting.length) {
      s.waiting = [];
      s.waitingHead = 0;
    }
  } finally {
    s.releasing = false;
  }
}

export function dropWaiting(s: ClientSession): void {
  s.waiting = [];
  s.waitingHead = 0;
}
