// A raw CQL client for the node's wire tests: it writes bytes built with the src/protocol encoders
// and reads frames back (bare, compressed or inside v5 segments), so each test states exactly
// what goes on the wire. Every wait is bounded.

import { once } from 'node:events';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ConnectionOptions } from 'node:tls';
import { bodyCompressor } from '../../../src/protocol/compression.js';
import type { BodyCompressionName, BodyCompressor } from '../../../src/protocol/compression.js';
import { HeaderFlag, HEADER_LENGTH, Opcode } from '../../../src/protocol/constants.js';
import { FrameDecoder } from '../../../src/protocol/frame-decoder.js';
import { encodeHeader, readHeader } from '../../../src/protocol/header.js';
import type { FrameHeader } from '../../../src/protocol/header.js';
import {
  encodeAuthResponse,
  encodeSaslPlain,
} from '../../../src/protocol/messages/auth-response.js';
import { decodeError } from '../../../src/protocol/messages/error.js';
import type { CqlErrorMessage } from '../../../src/protocol/messages/error.js';
import { encodeQuery } from '../../../src/protocol/messages/query.js';
import type { QueryParameters } from '../../../src/protocol/messages/query-parameters.js';
import { decodeResult } from '../../../src/protocol/messages/result.js';
import type { ResultMessage } from '../../../src/protocol/messages/result.js';
import { encodeStartup } from '../../../src/protocol/messages/startup.js';
import { SegmentDecoder, encodeSegments } from '../../../src/protocol/segment.js';
import type { SegmentCompression } from '../../../src/protocol/segment.js';

export interface ReceivedFrame {
  header: FrameHeader;
  /** The body, decompressed when the frame was compressed. */
  body: Buffer;
  /** The frame as it arrived (after segment decoding). */
  raw: Buffer;
}

const DEFAULT_TIMEOUT_MS = 3000;

/** A request frame: header + body, as a driver writes it. */
export function requestFrame(
  version: number,
  opcode: number,
  body: Buffer,
  streamId = 0,
  flags = 0,
): Buffer {
  const header = encodeHeader({
    version,
    response: false,
    flags,
    streamId,
    opcode,
    bodyLength: body.length,
  });
  return Buffer.concat([header, body]);
}

export class RawClient {
  readonly socket: Socket;
  private readonly chunks: Buffer[] = [];
  private readonly frames: ReceivedFrame[] = [];
  private waiter: (() => void) | undefined;
  private frameDecoder: FrameDecoder;
  private segments: SegmentDecoder | undefined;
  private segmentCompression: SegmentCompression = 'none';
  private compressor: BodyCompressor | undefined;
  private failure: Error | undefined;
  private switchAfterStartup: SegmentCompression | undefined;
  private isClosed = false;
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.frameDecoder = this.newFrameDecoder();
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      try {
        if (this.segments !== undefined) {
          this.segments.push(chunk);
        } else {
          const decoder = this.frameDecoder;
          decoder.push(chunk);
          const rest = decoder.takeRemainder();
          if (rest !== undefined) this.pushSegments(rest);
        }
      } catch (error) {
        this.failure = error instanceof Error ? error : new Error(String(error));
      }
      this.wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.isClosed = true;
      this.wake();
    });
  }

  static async connect(host: string, port: number): Promise<RawClient> {
    const socket = connect({ host, port });
    await once(socket, 'connect');
    return new RawClient(socket);
  }

  /** Over TLS (the SNI proxy): resolves once the handshake is done. */
  static async connectTls(options: ConnectionOptions): Promise<RawClient> {
    const socket = tlsConnect(options);
    await once(socket, 'secureConnect');
    return new RawClient(socket);
  }

  /** Every byte received, in order: for byte-exact assertions on the wire format. */
  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  /** From now on frames go out and come in inside v5 segments. */
  useSegments(compression: SegmentCompression): void {
    this.segmentCompression = compression;
    this.frameDecoder = this.newFrameDecoder();
    const frames = this.frameDecoder;
    this.segments = new SegmentDecoder({
      compression,
      onPayload: (payload, selfContained) => {
        if (selfContained) frames.pushSelfContained(payload);
        else frames.push(payload);
      },
    });
  }

  /**
   * Switches to segments as soon as the STARTUP answer (AUTHENTICATE or READY) is decoded, even in
   * the middle of a chunk: for servers that answer what was sent right behind STARTUP.
   */
  useSegmentsAfterStartupAnswer(compression: SegmentCompression): void {
    this.switchAfterStartup = compression;
  }

  /** From now on request bodies are compressed (v3/v4). */
  useCompression(name: BodyCompressionName): void {
    this.compressor = bodyCompressor(name);
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Writes request frames: compressed and/or segmented as negotiated, all in one write. */
  send(...frames: Buffer[]): void {
    const out = frames.map((frame) => this.compress(frame));
    this.write(
      this.segments === undefined
        ? Buffer.concat(out)
        : encodeSegments(out, this.segmentCompression),
    );
  }

  request(version: number, opcode: number, body: Buffer, streamId = 0, flags = 0): void {
    this.send(requestFrame(version, opcode, body, streamId, flags));
  }

  startup(version: number, options: Record<string, string> = {}, streamId = 0): void {
    const body = encodeStartup({ CQL_VERSION: '3.0.0', ...options });
    this.request(version, Opcode.STARTUP, body, streamId);
  }

  authenticate(version: number, username: string, password: string, streamId = 0): void {
    this.request(
      version,
      Opcode.AUTH_RESPONSE,
      encodeAuthResponse(encodeSaslPlain(username, password)),
      streamId,
    );
  }

  query(
    version: number,
    query: string,
    streamId = 0,
    parameters: QueryParameters = { consistency: 0x0006 },
  ): void {
    this.request(version, Opcode.QUERY, encodeQuery(version, query, parameters), streamId);
  }

  /** The next frame, waiting at most `timeoutMs`. */
  async next(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ReceivedFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = this.frames.shift();
      if (frame !== undefined) return frame;
      if (this.failure !== undefined) throw this.failure;
      if (this.isClosed) throw new Error('connection closed before the next frame');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** The next `n` frames. */
  async nextFrames(n: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ReceivedFrame[]> {
    const out: ReceivedFrame[] = [];
    for (let i = 0; i < n; i++) out.push(await this.next(timeoutMs));
    return out;
  }

  /** Frames already received and not yet taken. */
  get pending(): number {
    return this.frames.length;
  }

  /** Waits until the server closes the connection (bounded). */
  async waitClosed(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms`)), timeoutMs);
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

  private compress(frame: Buffer): Buffer {
    if (this.compressor === undefined || this.segments !== undefined) return frame;
    const compressed = this.compressor.compress(frame.subarray(HEADER_LENGTH));
    const header = readHeader(frame);
    return Buffer.concat([
      encodeHeader({
        ...header,
        flags: header.flags | HeaderFlag.COMPRESSION,
        bodyLength: compressed.length,
      }),
      compressed,
    ]);
  }

  private newFrameDecoder(): FrameDecoder {
    const decoder: FrameDecoder = new FrameDecoder({
      direction: 'response',
      onFrame: (frame) => {
        const copy = Buffer.from(frame);
        const header = readHeader(copy);
        let body: Buffer = copy.subarray(HEADER_LENGTH);
        if ((header.flags & HeaderFlag.COMPRESSION) !== 0 && this.segments === undefined) {
          if (this.compressor === undefined) throw new Error('compressed frame, no compression');
          body = this.compressor.decompress(body, 1 << 28);
        }
        this.frames.push({ header, body, raw: copy });
        const startupAnswer =
          header.opcode === Opcode.AUTHENTICATE || header.opcode === Opcode.READY;
        if (startupAnswer && this.switchAfterStartup !== undefined) {
          decoder.detach();
          this.useSegments(this.switchAfterStartup);
          this.switchAfterStartup = undefined;
        }
      },
    });
    return decoder;
  }

  private pushSegments(bytes: Buffer): void {
    if (this.segments === undefined)
      throw new Error('bytes left over without a switch to segments');
    this.segments.push(bytes);
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}

/** Decodes an ERROR frame's body. */
export function errorOf(frame: ReceivedFrame): CqlErrorMessage {
  if (frame.header.opcode !== Opcode.ERROR) {
    throw new Error(`expected ERROR, got opcode 0x${frame.header.opcode.toString(16)}`);
  }
  return decodeError(frame.body, frame.header.version);
}

/** Decodes a RESULT frame's body. */
export function resultOf(frame: ReceivedFrame): ResultMessage {
  if (frame.header.opcode !== Opcode.RESULT) {
    const detail = frame.header.opcode === Opcode.ERROR ? `: ${errorOf(frame).message}` : '';
    throw new Error(`expected RESULT, got opcode 0x${frame.header.opcode.toString(16)}${detail}`);
  }
  return decodeResult(frame.body, frame.header.version);
}
