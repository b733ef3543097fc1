// Signal handling and the order of a graceful close, with stand-ins: the first SIGTERM/SIGINT
// drains and exits 0, a second exits at once with 128 + its number, a failed close exits 1 with
// one line, a hung close is cut off by the watchdog; closeGracefully takes things apart in order.

import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  closeGracefully,
  handleShutdownSignals,
  interruptedExitCode,
  type DrainableParts,
} from '../../src/ops/shutdown.js';
import { captureLog } from './helpers.js';

afterEach(() => {
  vi.useRealTimers();
});

function setUp(close: (drainTimeoutMs: number) => Promise<void>, drainTimeoutMs = 1_000) {
  const source = new EventEmitter();
  const exits: number[] = [];
  const errors: unknown[] = [];
  const log = captureLog('info');
  handleShutdownSignals(close, {
    drainTimeoutMs,
    logger: log.logger,
    exit: (code) => exits.push(code),
    reportError: (err) => errors.push(err),
    source: source,
  });
  return { source, exits, errors, log };
}

describe('interruptedExitCode', () => {
  it('is 128 + the signal number', () => {
    expect(interruptedExitCode('SIGINT')).toBe(130);
    expect(interruptedExitCode('SIGTERM')).toBe(143);
  });
});

describe('handleShutdownSignals', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal}: drains with the drain timeout, then exits 0`, async () => {
      const calls: number[] = [];
      const { source, exits, log } = setUp((ms) => {
        calls.push(ms);
        return Promise.resolve();
      }, 2_500);
      source.emit(signal, signal);
      await vi.waitFor(() => expect(exits).toStrictEqual([0]));
      expect(calls).toStrictEqual([2_500]);
      expect(log.lines().map((l) => [l.msg, l.signal])).toStrictEqual([
        ['shutting down: draining client connections', signal],
        ['stopped', undefined],
      ]);
    });
  }

  it('a second signal exits at once with 128 + its number', () => {
    const { source, exits, log } = setUp(() => new Promise<void>(() => undefined));
    source.emit('SIGTERM', 'SIGTERM');
    expect(exits).toStrictEqual([]);
    source.emit('SIGINT', 'SIGINT');
    expect(exits).toStrictEqual([130]);
    source.emit('SIGTERM', 'SIGTERM');
    expect(exits).toStrictEqual([130, 143]);
    expect(log.find('second signal: exiting without finishing the shutdown')).toHaveLength(2);
  });

  it('a close that fails is reported and exits 1', async () => {
    const failure = new Error('cannot close');
    const { source, exits, errors } = setUp(() => Promise.reject(failure));
    source.emit('SIGTERM', 'SIGTERM');
    await vi.waitFor(() => expect(exits).toStrictEqual([1]));
    expect(errors).toStrictEqual([failure]);
  });

  it('a close that hangs is cut off by the watchdog a little after the drain timeout', async () => {
    vi.useFakeTimers();
    const { source, exits, log } = setUp(() => new Promise<void>(() => undefined), 1_000);
    source.emit('SIGTERM', 'SIGTERM');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(exits).toStrictEqual([]);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(exits).toStrictEqual([1]);
    expect(log.find('shutdown did not finish in time; exiting')).toHaveLength(1);
  });
});

describe('closeGracefully', () => {
  function parts(unanswered: number, events: string[]): DrainableParts {
    return {
      operations: {
        draining: () => events.push('readiness fails'),
        close: () => {
          events.push('http closed');
          return Promise.resolve();
        },
      },
      clientSide: {
        drain: (ms) => {
          events.push(`drain ${ms}`);
          return Promise.resolve({ pending: 3, unanswered });
        },
        close: () => {
          events.push('clients closed at once');
          return Promise.resolve();
        },
      },
      cluster: { close: () => events.push('cluster closed') },
    };
  }

  it('fails readiness, drains the clients, then closes the cluster and the HTTP server', async () => {
    const events: string[] = [];
    const log = captureLog('info');
    await closeGracefully(parts(0, events), 700, log.logger);
    expect(events).toStrictEqual(['readiness fails', 'drain 700', 'cluster closed', 'http closed']);
    expect(log.find('drained: every request read was answered')).toStrictEqual([
      expect.objectContaining({ answered: 3 }),
    ]);
  });

  it('warns with the count when the drain timeout cut requests off', async () => {
    const log = captureLog('info');
    await closeGracefully(parts(2, []), 700, log.logger);
    expect(
      log.find('drain timeout: closing client connections with requests unanswered'),
    ).toStrictEqual([
      expect.objectContaining({ pending: 3, unanswered: 2, drainTimeoutMs: 700, level: 40 }),
    ]);
  });

  it('with a drain timeout of 0 closes the clients at once, as cql-proxy', async () => {
    const events: string[] = [];
    await closeGracefully(parts(0, events), 0, captureLog('info').logger);
    expect(events).toStrictEqual([
      'readiness fails',
      'clients closed at once',
      'cluster closed',
      'http closed',
    ]);
  });
});
