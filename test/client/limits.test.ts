// The client-side limits (src/client/limits.ts) met from the outside, as a hostile or careless
// client meets them: real sockets on 127.0.0.1, a fake cluster whose answers can be held, and for
// each limit the behaviour, the counter behind its metric, and its log line. Every wait is for the
// event that proves the point, bounded in time.

import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT_LIMITS, type ClientLimits } from '../../src/client/limits.js';
import type { ClientLog } from '../../src/client/log.js';
import { ErrorCode, Opcode, ResultKind } from '../../src/protocol/constants.js';
import { decodeError } from '../../src/protocol/messages/error.js';
import { decodeResult } from '../../src/protocol/messages/result.js';
import type { ClientSideConfig } from '../../src/client/config.js';
import type { FakeSession } from './fake-backend.js';
import {
  type TestConnection,
  type TestProxy,
  queryFrame,
  requestFrame,
  startTestProxy,
} from './test-connection.js';

interface LoggedLine {
  level: 'debug' | 'info' | 'warn';
  fields: Record<string, unknown>;
  message: string;
}

function capturingLog(): ClientLog & { lines: LoggedLine[]; find(message: string): LoggedLine[] } {
  const lines: LoggedLine[] = [];
  const at =
    (level: LoggedLine['level']) =>
    (fields: object, message: string): void => {
      lines.push({ level, fields: fields as Record<string, unknown>, message });
    };
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    find: (message) => lines.filter((l) => l.message === message),
  };
}

const proxies: TestProxy[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const p of proxies.splice(0)) await p.close();
});

async function proxyWith(
  limits: Partial<ClientLimits>,
  extra: Partial<ClientSideConfig> = {},
  descriptorLimit?: number,
): Promise<{ p: TestProxy; log: ReturnType<typeof capturingLog> }> {
  const log = capturingLog();
  const p = await startTestProxy(
    {},
    { limits: { ...DEFAULT_CLIENT_LIMITS, ...limits }, ...extra },
    { log, ...(descriptorLimit === undefined ? {} : { descriptorLimit }) },
  );
  proxies.push(p);
  return { p, log };
}

async function waitFor(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function rawSocket(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

function closed(socket: Socket): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

async function session(p: TestProxy, c: TestConnection): Promise<FakeSession> {
  await c.request(queryFrame(4, 0, 'SELECT k FROM ks.t'));
  const s = [...p.backend.sessions.values()][0];
  if (s === undefined) throw new Error('no session');
  return s;
}

function errorOf(frame: Buffer): { code: number; message: string } {
  expect(frame.readUInt8(4)).toBe(Opcode.ERROR);
  return decodeError(frame.subarray(9), frame.readUInt8(0) & 0x7f);
}

describe('frames before STARTUP', () => {
  it('refuses a frame over 64 KiB before STARTUP at its header, then closes', async () => {
    const { p, log } = await proxyWith({}, { maxFrameLength: 16 << 20 });
    const socket = await rawSocket(p.port);
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    // A v4 QUERY header declaring 250 MB, and a few body bytes.
    const header = requestFrame(4, 7, Opcode.QUERY, Buffer.alloc(0));
    header.writeInt32BE(250_000_000, 5);
    socket.write(Buffer.concat([header, Buffer.alloc(10)]));
    await closed(socket);
    const error = errorOf(Buffer.concat(received));
    expect(error.code).toBe(ErrorCode.PROTOCOL_ERROR);
    expect(error.message).toContain('exceeds the limit of 65536');
    expect(p.side.limitsReport().closed.frame_too_large).toBe(1);
    expect(log.find('client connection closed: frame too large')).toHaveLength(1);
  });

  it('accepts frames up to --max-frame-size once STARTUP is answered', async () => {
    const { p } = await proxyWith({}, { maxFrameLength: 1 << 20 });
    const c = await p.ready(4);
    const padded = queryFrame(4, 1, `SELECT k FROM ks.t /* ${'x'.repeat(200_000)} */`);
    const answer = await c.request(padded);
    expect(answer.readUInt8(4)).toBe(Opcode.RESULT);
    expect(p.backend.received.at(-1)?.frame.length).toBe(padded.length);
  });
});

describe('requests in flight per connection', () => {
  it('reads no more than --max-client-requests, and reads on as answers go out', async () => {
    const { p, log } = await proxyWith({ maxRequestsInFlight: 10 });
    const c = await p.ready(4);
    const s = await session(p, c);
    s.holding = true;
    for (let i = 1; i <= 50; i++) c.send(queryFrame(4, i, 'SELECT k FROM ks.t'));
    await waitFor(() => p.side.limitsReport().pausedNow.requests === 1, 'the requests pause');
    expect(s.held).toHaveLength(10);
    expect(p.side.limitsReport().requestsInFlight).toBe(10);
    // Three answered: exactly three more are read.
    s.releaseSome(3);
    await waitFor(() => s.held.length === 10 && p.backend.received.length === 1 + 13, '13 sent');
    s.release();
    for (let i = 1; i <= 50; i++) expect((await c.response(i)).readUInt8(4)).toBe(Opcode.RESULT);
    expect(p.backend.received).toHaveLength(51);
    expect(p.side.limitsReport().pauses.requests).toBeGreaterThanOrEqual(1);
    expect(
      log
        .find('client connection paused: a limit is reached')
        .some((l) => l.fields.reason === 'requests'),
    ).toBe(true);
  });

  it('reads no more than --max-client-request-bytes of requests in flight', async () => {
    const { p } = await proxyWith({ maxRequestBytesInFlight: 1000 });
    const c = await p.ready(4);
    const s = await session(p, c);
    s.holding = true;
    const frame = (i: number): Buffer =>
      queryFrame(4, i, `SELECT k FROM ks.t -- ${'y'.repeat(150)}`);
    const size = frame(1).length;
    for (let i = 1; i <= 30; i++) c.send(frame(i));
    await waitFor(() => p.side.limitsReport().pausedNow.request_bytes === 1, 'the bytes pause');
    // Requests are read until their bytes reach the limit: the last one may cross it.
    expect(s.held).toHaveLength(Math.ceil(1000 / size));
    expect(p.side.limitsReport().requestBytesInFlight).toBe(s.held.length * size);
    s.release();
    for (let i = 1; i <= 30; i++) await c.response(i);
    expect(p.side.limitsReport().requestBytesInFlight).toBe(0);
  });

  it('answers a second request on a stream id still in flight with a protocol error', async () => {
    const { p } = await proxyWith({});
    const c = await p.ready(4);
    const s = await session(p, c);
    s.holding = true;
    c.send(queryFrame(4, 7, 'SELECT k FROM ks.t'));
    await waitFor(() => s.held.length === 1, 'the first request');
    c.send(queryFrame(4, 7, 'SELECT k FROM ks.t WHERE k = 2'));
    const refusal = errorOf(await c.response(7));
    expect(refusal).toEqual({
      code: ErrorCode.PROTOCOL_ERROR,
      message: 'Stream id 7 is already in use by a request in flight on this connection',
    });
    expect(p.side.limitsReport().duplicateStreamIds).toBe(1);
    s.release();
    const first = await c.response(7);
    expect(decodeResult(first.subarray(9), 4).kind).toBe(ResultKind.ROWS);
    // The id is free again, and the connection was never closed.
    expect((await c.request(queryFrame(4, 7, 'SELECT k FROM ks.t'))).readUInt8(4)).toBe(
      Opcode.RESULT,
    );
    expect(p.backend.received).toHaveLength(3);
  });
});

describe('answers a client does not read', () => {
  it('stops reading locally answered requests once their answers pile up', async () => {
    const { p } = await proxyWith({ maxOutputBytes: 256 * 1024 });
    const c = await p.ready(4);
    c.socket.pause();
    // Each answer is a system.local row of a few hundred bytes: 20,000 of them are megabytes.
    const count = 20_000;
    const frames: Buffer[] = [];
    for (let i = 0; i < count; i++)
      frames.push(queryFrame(4, i % 30_000, 'SELECT * FROM system.local'));
    c.sendRaw(Buffer.concat(frames));
    await waitFor(() => p.side.limitsReport().pausedNow.output === 1, 'the output pause');
    // Bounded: the kernel's buffers, plus at most the limit and one chunk's worth of answers.
    const queued = p.side.limitsReport().queuedOutputBytes;
    expect(queued).toBeLessThan(256 * 1024 + 512 * 1024);
    c.socket.resume();
    await waitFor(() => c.frames.length === count + 1, 'every answer', 20_000);
    expect(c.frames.slice(1).every((f) => f.readUInt8(4) === Opcode.RESULT)).toBe(true);
  });

  it('closes a client whose queued answers reach 8x --max-client-output', async () => {
    const { p, log } = await proxyWith({ maxOutputBytes: 64 * 1024 });
    const c = await p.ready(4);
    const s = await session(p, c);
    s.holding = true;
    c.socket.pause();
    // Before answers are known, 2 KiB is expected of each: 32 requests go out.
    for (let i = 1; i <= 32; i++) c.send(queryFrame(4, i, 'SELECT BIG FROM ks.t'));
    await waitFor(() => s.held.length === 32, '32 requests held');
    // 32 x 64 KiB = 2 MiB, past 8 x 64 KiB whatever the kernel takes.
    s.release();
    await c.waitClosed();
    expect(p.side.limitsReport().closed.output_overflow).toBe(1);
    expect(
      log.find('client connection closed: too many answers queued that it does not read'),
    ).toEqual([expect.objectContaining({ level: 'warn' })]);
    expect(p.side.limitsReport().queuedOutputBytes).toBe(0);
  });

  it('still delivers one answer larger than the ceiling to a client that reads it', async () => {
    const { p } = await proxyWith({ maxOutputBytes: 64 * 1024 });
    const c = await p.ready(4);
    // 32 rows of 64 KiB: a 2 MiB answer, four times the 512 KiB ceiling.
    const answer = await c.request(queryFrame(4, 1, 'SELECT BIG x32 FROM ks.t'));
    expect(answer.length).toBeGreaterThan(2 * 1024 * 1024);
    expect(p.side.limitsReport().closed.output_overflow).toBe(0);
    expect((await c.request(queryFrame(4, 2, 'SELECT k FROM ks.t'))).readUInt8(4)).toBe(
      Opcode.RESULT,
    );
  });

  it('closes a client that takes none of its answers for --client-write-timeout', async () => {
    const { p, log } = await proxyWith({ writeTimeoutMs: 300, maxOutputBytes: 256 << 20 });
    const c = await p.ready(4);
    await session(p, c);
    c.socket.pause();
    // Answers of 64 KiB until the kernel's socket buffers (tens of MiB on loopback) are full and
    // some stay queued in the proxy: at most 1,500 (96 MiB).
    let sent = 0;
    while (p.side.limitsReport().queuedOutputBytes < 1 << 20 && sent < 1500) {
      for (let i = 0; i < 100; i++) c.send(queryFrame(4, ++sent, 'SELECT BIG FROM ks.t'));
      await waitFor(
        () =>
          p.backend.received.length === 1 + sent && p.side.limitsReport().requestsInFlight === 0,
        'the answers',
      );
    }
    expect(p.side.limitsReport().queuedOutputBytes).toBeGreaterThanOrEqual(1 << 20);
    await waitFor(() => p.side.limitsReport().closed.write_timeout === 1, 'the write timeout');
    await waitFor(() => p.side.connections === 0, 'the connection to be gone');
    // The client sees its connection end once it reads what the kernel still holds for it.
    c.socket.resume();
    await c.waitClosed();
    const [line] = log.find(
      'client connection closed: it took none of its answers for the write timeout',
    );
    expect(line?.fields).toEqual(expect.objectContaining({ timeoutMs: 300, count: 1 }));
  });
});

describe('the memory budget shared by all clients', () => {
  it('pauses every client while it is spent, and resumes them when it drains', async () => {
    const { p, log } = await proxyWith({ maxOutputBytes: 64 << 20 }, { memoryBudget: 1 << 20 });
    const hog = await p.ready(4);
    await session(p, hog);
    hog.socket.pause();
    for (let i = 1; i <= 200; i++) hog.send(queryFrame(4, i, 'SELECT BIG FROM ks.t'));
    await waitFor(() => p.side.limitsReport().memory.exhausted, 'the budget to be spent');
    const healthy = await p.ready(4);
    healthy.send(queryFrame(4, 1, 'SELECT k FROM ks.t'));
    await waitFor(() => p.side.limitsReport().pausedNow.memory >= 1, 'the healthy client to wait');
    expect(healthy.frames).toHaveLength(1); // READY only
    expect(
      log.find('memory budget exhausted: reading paused on every client until it drains'),
    ).toHaveLength(1);
    // The hog goes away: its queued answers are given back, and the healthy client is answered.
    hog.close();
    expect((await healthy.response(1)).readUInt8(4)).toBe(Opcode.RESULT);
    await waitFor(() => !p.side.limitsReport().memory.exhausted, 'the budget back');
    const report = p.side.limitsReport();
    expect(report.memory.exhaustions).toBeGreaterThanOrEqual(1);
    expect(report.memory.used).toBeLessThan(report.memory.limit);
    // The budget may have run out and recovered more than once; the log says it once each way.
    expect(log.find('memory budget available again: reading resumed')).toHaveLength(1);
  });
});

describe('connections that do not get going', () => {
  it('closes connections that send nothing, or part of a header, after --handshake-timeout', async () => {
    const { p, log } = await proxyWith({ handshakeTimeoutMs: 300 });
    const good = await p.ready(4);
    const silent = await Promise.all(Array.from({ length: 50 }, () => rawSocket(p.port)));
    const partial = await Promise.all(Array.from({ length: 50 }, () => rawSocket(p.port)));
    for (const s of partial) s.write(Buffer.from([0x04, 0x00, 0x00]));
    await Promise.all([...silent, ...partial].map(closed));
    expect(p.side.limitsReport().closed.handshake_timeout).toBe(100);
    // One line for the burst, not a hundred.
    const lines = log.find(
      'client connection closed: no STARTUP or login within the handshake timeout',
    );
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.length).toBeLessThanOrEqual(2);
    // A connection that did its STARTUP is not touched.
    expect((await good.request(queryFrame(4, 1, 'SELECT k FROM ks.t'))).readUInt8(4)).toBe(
      Opcode.RESULT,
    );
    expect(p.side.connections).toBe(1);
  });

  it('closes connections idle for --client-idle-timeout, and only those', async () => {
    const { p, log } = await proxyWith({ idleTimeoutMs: 400 });
    const idle = await p.ready(4);
    const busy = await p.ready(4);
    let stream = 1;
    const heartbeat = setInterval(
      () => busy.send(requestFrame(4, stream++, Opcode.OPTIONS, Buffer.alloc(0))),
      100,
    );
    try {
      await idle.waitClosed();
    } finally {
      clearInterval(heartbeat);
    }
    expect(busy.ended).toBe(false);
    expect(p.side.limitsReport().closed.idle_timeout).toBe(1);
    expect(log.find('client connection closed: idle for the client idle timeout')).toHaveLength(1);
  });
});

describe('file descriptors', () => {
  it('keeps a reserve: refuses clients beyond the descriptor limit less the reserve, and says why', async () => {
    // 140 descriptors, 128 kept back: 12 clients.
    const { p, log } = await proxyWith({}, { maxClientConnections: 4096 }, 140);
    expect(p.side.limitsReport().maxConnections).toBe(12);
    const open = await Promise.all(Array.from({ length: 15 }, () => rawSocket(p.port)));
    await waitFor(() => p.side.limitsReport().refused.descriptors === 3, '3 refusals');
    expect(p.side.connections).toBe(12);
    const [limited] = log.find('client connections limited by the file descriptor limit');
    expect(limited?.fields).toEqual(
      expect.objectContaining({ descriptorLimit: 140, reserved: 128, maxClientConnections: 12 }),
    );
    expect(log.find('client connection refused: file descriptors are running out')).toHaveLength(1);
    for (const s of open) s.destroy();
  });
});
