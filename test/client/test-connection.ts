// A raw CQL client for client-side tests: it builds request frames by hand, keeps every byte it
// receives (for exact-byte assertions) and splits them into response frames, switching to v5
// segments after READY when told to. Plus a helper that starts the client side over a FakeBackend.

import { once } from 'node:events';
import { type Socket, connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { HEADER_LENGTH, Opcode } from '../../src/protocol/constants.js';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { encodeQuery } from '../../src/protocol/messages/query.js';
import type { QueryParameters } from '../../src/protocol/messages/query-parameters.js';
import { encodeStartup } from '../../src/protocol/messages/startup.js';
import {
  type SegmentCompression,
  SegmentDecoder,
  encodeSegments,
} from '../../src/protocol/segment.js';
import { type ClientSideConfig, clientSideConfig } from '../../src/client/config.js';
import {
  type ClientSide,
  type ClientSideOptions,
  startClientSide,
} from '../../src/client/client-side.js';
import { FakeBackend, type FakeBackendOptions } from './fake-backend.js';

const WAIT_MS = 5_000;

/** A request frame, header written field by field (spec v4 §2): version, flags, stream, opcode, length. */
export function requestFrame(
  version: number,
  streamId: number,
  opcode: number,
  body: Buffer = Buffer.alloc(0),
  flags = 0,
): Buffer {
  const header = Buffer.alloc(HEADER_LENGTH);
  header.writeUInt8(version, 0);
  header.writeUInt8(flags, 1);
  header.writeInt16BE(streamId, 2);
  header.writeUInt8(opcode, 4);
  header.writeInt32BE(body.length, 5);
  return Buffer.concat([header, body]);
}

export function startupFrame(
  version: number,
  streamId = 0,
  options: Record<string, string> = {},
): Buffer {
  return requestFrame(
    version,
    streamId,
    Opcode.STARTUP,
    encodeStartup({ CQL_VERSION: '3.0.0', ...options }),
  );
}

export function queryFrame(
  version: number,
  streamId: number,
  query: string,
  parameters: QueryParameters = { consistency: 0x0001 },
): Buffer {
  return requestFrame(version, streamId, Opcode.QUERY, encodeQuery(version, query, parameters));
}

export class TestConnection {
  readonly socket: Socket;
  /** Every frame received, in order. */
  readonly frames: Buffer[] = [];
  private readonly raw: Buffer[] = [];
  private pending: Buffer = Buffer.alloc(0);
  private segmentDecoder: SegmentDecoder | undefined;
  private segmentsAfterReady: SegmentCompression | undefined;
  private outgoing: SegmentCompression | undefined;
  private readonly taken = new Set<Buffer>();
  private endedFlag = false;
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('end', () => {
      this.endedFlag = true;
    });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async open(port: number, tls?: { ca: string }): Promise<TestConnection> {
    if (tls !== undefined) {
      const socket = tlsConnect({ host: '127.0.0.1', port, ca: tls.ca, servername: 'localhost' });
      await once(socket, 'secureConnect');
      return new TestConnection(socket);
    }
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new TestConnection(socket);
  }

  /** Everything received so far, as bytes. */
  bytes(): Buffer {
    return Buffer.concat(this.raw);
  }

  get ended(): boolean {
    return this.endedFlag;
  }

  /** After the next READY or AUTHENTICATE, both directions switch to v5 segments. */
  segmentsAfterReadyWith(compression: SegmentCompression): void {
    this.segmentsAfterReady = compression;
  }

  send(...frames: Buffer[]): void {
    if (this.outgoing !== undefined) {
      this.socket.write(encodeSegments(frames, this.outgoing));
    } else {
      for (const frame of frames) this.socket.write(frame);
    }
  }

  /** Sends raw bytes, bypassing segment framing. */
  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The first not yet taken frame on `streamId`. */
  async response(streamId: number): Promise<Buffer> {
    return this.take((f) => f.readInt16BE(2) === streamId, `a response on stream ${streamId}`);
  }

  async request(frame: Buffer): Promise<Buffer> {
    this.send(frame);
    return this.response(frame.readInt16BE(2));
  }

  async take(match: (frame: Buffer) => boolean, what: string): Promise<Buffer> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const found = this.frames.find((f) => !this.taken.has(f) && match(f));
      if (found !== undefined) {
        this.taken.add(found);
        return found;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** Waits until the server has closed the connection. */
  async waitClosed(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('connection not closed by the server')), WAIT_MS);
    });
    try {
      await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.raw.push(chunk);
    if (this.segmentDecoder !== undefined) {
      this.segmentDecoder.push(chunk);
      return;
    }
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= HEADER_LENGTH) {
      const end = HEADER_LENGTH + this.pending.readInt32BE(5);
      if (this.pending.length < end) return;
      const frame = this.pending.subarray(0, end);
      this.pending = this.pending.subarray(end);
      this.frames.push(frame);
      const compression = this.segmentsAfterReady;
      // spec v5 §2.3.1: segments start after the STARTUP answer, READY or AUTHENTICATE.
      const opcode = frame.readUInt8(4);
      if (
        compression !== undefined &&
        (opcode === Opcode.READY || opcode === Opcode.AUTHENTICATE)
      ) {
        const segments = this.startSegments(compression);
        const rest = this.pending;
        this.pending = Buffer.alloc(0);
        if (rest.length > 0) segments.push(rest);
        return;
      }
    }
  }

  private startSegments(compression: SegmentCompression): SegmentDecoder {
    this.segmentsAfterReady = undefined;
    this.outgoing = compression;
    const frames = new FrameDecoder({
      direction: 'response',
      onFrame: (frame) => this.frames.push(Buffer.from(frame)),
    });
    this.segmentDecoder = new SegmentDecoder({
      compression,
      onPayload: (payload) => frames.push(payload),
    });
    return this.segmentDecoder;
  }
}

export interface TestProxy {
  side: ClientSide;
  backend: FakeBackend;
  port: number;
  config: ClientSideConfig;
  /** Opens a connection and completes OPTIONS-less STARTUP at `version`. */
  ready(version?: number, options?: Record<string, string>): Promise<TestConnection>;
  close(): Promise<void>;
}

/** The client side on 127.0.0.1, port picked by the system, over a FakeBackend. */
export async function startTestProxy(
  backendOptions: FakeBackendOptions = {},
  overrides: Partial<ClientSideConfig> = {},
  sideOptions: ClientSideOptions = {},
): Promise<TestProxy> {
  const backend = new FakeBackend(backendOptions);
  const config = clientSideConfig({
    bind: { host: '127.0.0.1', port: 0 },
    maxFrameLength: 1 << 20,
    ...overrides,
  });
  const side = await startClientSide(config, backend, sideOptions);
  const connections: TestConnection[] = [];
  return {
    side,
    backend,
    port: side.port,
    config,
    async ready(version = 4, options = {}) {
      const connection = await TestConnection.open(side.port);
      connections.push(connection);
      if (version === 5) {
        connection.segmentsAfterReadyWith(options.COMPRESSION === 'lz4' ? 'lz4' : 'none');
      }
      const ready = await connection.request(startupFrame(version, 0, options));
      if (ready.readUInt8(4) !== Opcode.READY) throw new Error('STARTUP was not answered READY');
      return connection;
    },
    async close() {
      for (const c of connections) c.close();
      await side.close();
    },
  };
}
