// Just enough of the CQL native protocol v4 (native_protocol_v4.spec) for raw, misbehaving clients:
// frame headers, the OPTIONS / STARTUP / AUTH_RESPONSE / QUERY bodies, and a small connection that
// matches responses to requests by stream id. Written here on purpose, without src/protocol, so
// the harness measures any build of the proxy with the same bytes on the wire.

import { connect, type Socket } from 'node:net';

export const V4 = 0x04;
export const HEADER_LENGTH = 9;

/** Opcodes (spec v4 §2.4). */
export const Op = {
  ERROR: 0x00,
  STARTUP: 0x01,
  READY: 0x02,
  AUTHENTICATE: 0x03,
  OPTIONS: 0x05,
  SUPPORTED: 0x06,
  QUERY: 0x07,
  RESULT: 0x08,
  AUTH_RESPONSE: 0x0f,
  AUTH_SUCCESS: 0x10,
} as const;

/** Consistency levels used here (spec v4 §3). */
export const Cl = { ONE: 0x0001, LOCAL_QUORUM: 0x0006 } as const;

/** Error codes worth naming in a report (spec v4 §9). */
export const ERROR_NAMES: Readonly<Record<number, string>> = {
  0x0000: 'SERVER_ERROR',
  0x000a: 'PROTOCOL_ERROR',
  0x0100: 'AUTHENTICATION_ERROR',
  0x1000: 'UNAVAILABLE',
  0x1001: 'OVERLOADED',
  0x1002: 'IS_BOOTSTRAPPING',
  0x1100: 'WRITE_TIMEOUT',
  0x1200: 'READ_TIMEOUT',
  0x2000: 'SYNTAX_ERROR',
  0x2200: 'INVALID',
};

/** A 9-byte v4 request header. */
export function header(opcode: number, stream: number, bodyLength: number): Buffer {
  const h = Buffer.alloc(HEADER_LENGTH);
  h.writeUInt8(V4, 0);
  h.writeUInt8(0, 1);
  h.writeInt16BE(stream, 2);
  h.writeUInt8(opcode, 4);
  h.writeInt32BE(bodyLength, 5);
  return h;
}

export function frame(opcode: number, stream: number, body: Buffer): Buffer {
  return Buffer.concat([header(opcode, stream, body.length), body]);
}

function string(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  const out = Buffer.alloc(2 + bytes.length);
  out.writeUInt16BE(bytes.length, 0);
  bytes.copy(out, 2);
  return out;
}

function longString(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  const out = Buffer.alloc(4 + bytes.length);
  out.writeInt32BE(bytes.length, 0);
  bytes.copy(out, 4);
  return out;
}

function bytes(value: Buffer): Buffer {
  const out = Buffer.alloc(4 + value.length);
  out.writeInt32BE(value.length, 0);
  value.copy(out, 4);
  return out;
}

/** STARTUP body: a [string map] (spec v4 §4.1.1). */
export function startupBody(options: Record<string, string> = { CQL_VERSION: '3.0.0' }): Buffer {
  const entries = Object.entries(options);
  const count = Buffer.alloc(2);
  count.writeUInt16BE(entries.length, 0);
  return Buffer.concat([count, ...entries.flatMap(([k, v]) => [string(k), string(v)])]);
}

/** AUTH_RESPONSE body with a SASL PLAIN token (spec v4 §4.1.2). */
export function plainAuthBody(user: string, password: string): Buffer {
  return bytes(Buffer.from(`\0${user}\0${password}`, 'utf8'));
}

/** QUERY body (spec v4 §4.1.4): the query, a consistency, and optional positional values. */
export function queryBody(
  query: string,
  consistency: number = Cl.LOCAL_QUORUM,
  values?: readonly Buffer[],
): Buffer {
  const params = Buffer.alloc(3);
  params.writeUInt16BE(consistency, 0);
  params.writeUInt8(values === undefined ? 0 : 0x01, 2);
  const parts = [longString(query), params];
  if (values !== undefined) {
    const n = Buffer.alloc(2);
    n.writeUInt16BE(values.length, 0);
    parts.push(n, ...values.map(bytes));
  }
  return Buffer.concat(parts);
}

export function queryFrame(stream: number, query: string, consistency?: number): Buffer {
  return frame(Op.QUERY, stream, queryBody(query, consistency));
}

export function intValue(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n, 0);
  return b;
}

/** One response frame, split. */
export interface Response {
  readonly stream: number;
  readonly opcode: number;
  readonly body: Buffer;
}

/** "RESULT", "ERROR OVERLOADED: <message>", ... */
export function describe(response: Response): string {
  if (response.opcode === Op.ERROR) {
    const code = response.body.readInt32BE(0);
    const length = response.body.readUInt16BE(4);
    const message = response.body.toString('utf8', 6, 6 + length);
    return `ERROR ${ERROR_NAMES[code] ?? `0x${code.toString(16)}`}: ${message}`;
  }
  const name = Object.entries(Op).find(([, v]) => v === response.opcode)?.[0];
  return name ?? `opcode 0x${response.opcode.toString(16)}`;
}

export function errorCode(response: Response): number | undefined {
  return response.opcode === Op.ERROR ? response.body.readInt32BE(0) : undefined;
}

/** Splits a byte stream into response frames. */
export class ResponseReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private need = HEADER_LENGTH;
  private readonly onResponse: (response: Response) => void;

  constructor(onResponse: (response: Response) => void) {
    this.onResponse = onResponse;
  }

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered < this.need) return;
    let data = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks, this.buffered);
    let offset = 0;
    for (;;) {
      const left = data.length - offset;
      if (left < HEADER_LENGTH) break;
      const length = data.readInt32BE(offset + 5);
      if (left < HEADER_LENGTH + length) {
        this.need = HEADER_LENGTH + length;
        break;
      }
      this.need = HEADER_LENGTH;
      this.onResponse({
        stream: data.readInt16BE(offset + 2),
        opcode: data.readUInt8(offset + 4),
        body: data.subarray(offset + HEADER_LENGTH, offset + HEADER_LENGTH + length),
      });
      offset += HEADER_LENGTH + length;
    }
    data = data.subarray(offset);
    this.chunks = data.length === 0 ? [] : [data];
    this.buffered = data.length;
  }
}

export class RequestTimeout extends Error {}
export class ConnectionClosed extends Error {}

/** Opens a TCP connection to 127.0.0.1:port; rejects after `timeoutMs`. */
export function openSocket(port: number, timeoutMs = 5_000): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new RequestTimeout(`connect: no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/**
 * A raw v4 connection: request() sends a frame on a free stream id and resolves with its answer.
 * It records when and how the other side closed it.
 */
export class CqlConnection {
  /** ms timestamp (Date.now()) of the first end / error / close, if any. */
  closedAt: number | undefined;
  closeReason: string | undefined;
  private selfClosed = false;
  private readonly waiters = new Map<
    number,
    { resolve: (r: Response) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  private nextStream = 0;
  /** Responses nobody waited for (pipelined fire-and-forget requests). */
  unmatched = 0;
  onUnmatched: ((response: Response) => void) | undefined;

  readonly socket: Socket;

  constructor(socket: Socket) {
    this.socket = socket;
    const reader = new ResponseReader((r) => this.dispatch(r));
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('end', () => this.closed('end (FIN from the proxy)'));
    socket.on('error', (err: NodeJS.ErrnoException) => this.closed(err.code ?? err.message));
    socket.on('close', () => this.closed('close'));
  }

  static async open(port: number, timeoutMs = 5_000): Promise<CqlConnection> {
    return new CqlConnection(await openSocket(port, timeoutMs));
  }

  get isClosed(): boolean {
    return this.closedAt !== undefined;
  }

  private closed(reason: string): void {
    // A close this side asked for is not the proxy's doing: closedAt stays as it was.
    if (this.closedAt === undefined && !this.selfClosed) {
      this.closedAt = Date.now();
      this.closeReason = reason;
    }
    for (const [, w] of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new ConnectionClosed(`connection closed (${reason})`));
    }
    this.waiters.clear();
  }

  private dispatch(response: Response): void {
    const w = this.waiters.get(response.stream);
    if (w === undefined) {
      this.unmatched++;
      this.onUnmatched?.(response);
      return;
    }
    this.waiters.delete(response.stream);
    clearTimeout(w.timer);
    w.resolve(response);
  }

  private freeStream(): number {
    for (let i = 0; i < 0x8000; i++) {
      const s = (this.nextStream + i) & 0x7fff;
      if (!this.waiters.has(s)) {
        this.nextStream = (s + 1) & 0x7fff;
        return s;
      }
    }
    throw new Error('no free stream id');
  }

  request(opcode: number, body: Buffer, timeoutMs = 5_000): Promise<Response> {
    if (this.closedAt !== undefined) {
      return Promise.reject(new ConnectionClosed(`connection closed (${this.closeReason})`));
    }
    const stream = this.freeStream();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(stream);
        reject(new RequestTimeout(`no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(stream, { resolve, reject, timer });
      this.socket.write(frame(opcode, stream, body));
    });
  }

  query(cql: string, timeoutMs = 5_000, values?: readonly Buffer[]): Promise<Response> {
    return this.request(Op.QUERY, queryBody(cql, Cl.LOCAL_QUORUM, values), timeoutMs);
  }

  /** OPTIONS, STARTUP, and SASL PLAIN if the server asks for it. Throws unless READY / AUTH_SUCCESS. */
  async handshake(
    credentials?: { user: string; password: string },
    timeoutMs = 5_000,
  ): Promise<void> {
    const supported = await this.request(Op.OPTIONS, Buffer.alloc(0), timeoutMs);
    if (supported.opcode !== Op.SUPPORTED) throw new Error(`OPTIONS: ${describe(supported)}`);
    let answer = await this.request(Op.STARTUP, startupBody(), timeoutMs);
    if (answer.opcode === Op.AUTHENTICATE) {
      if (credentials === undefined) throw new Error('the server asks for credentials');
      answer = await this.request(
        Op.AUTH_RESPONSE,
        plainAuthBody(credentials.user, credentials.password),
        timeoutMs,
      );
      if (answer.opcode !== Op.AUTH_SUCCESS) throw new Error(`AUTH: ${describe(answer)}`);
      return;
    }
    if (answer.opcode !== Op.READY) throw new Error(`STARTUP: ${describe(answer)}`);
  }

  /** Hangs up; closedAt and closeReason keep recording only what the proxy did before. */
  destroy(): void {
    this.selfClosed = true;
    this.socket.destroy();
  }
}
