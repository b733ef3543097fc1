// A bare protocol v4 client over one socket: no driver between the test and the proxy, so the test
// chooses every stream id, puts several requests in one write, and sees each response frame as
// the proxy sent it. Requests are built with src/protocol's encoders.

import { once } from 'node:events';
import { type Socket, connect } from 'node:net';
import { Opcode, ProtocolVersion } from '../../../src/protocol/constants.js';
import { FrameDecoder } from '../../../src/protocol/frame-decoder.js';
import {
  encodeHeader,
  frameBody,
  frameOpcode,
  frameStreamId,
} from '../../../src/protocol/header.js';
import { decodeError } from '../../../src/protocol/messages/error.js';
import { encodeExecute } from '../../../src/protocol/messages/execute.js';
import { encodePrepare } from '../../../src/protocol/messages/prepare.js';
import { encodeQuery } from '../../../src/protocol/messages/query.js';
import type { QueryParameters } from '../../../src/protocol/messages/query-parameters.js';
import { decodeResult, type ResultMessage } from '../../../src/protocol/messages/result.js';
import { encodeStartup } from '../../../src/protocol/messages/startup.js';

const VERSION = ProtocolVersion.V4;

export interface RawResponse {
  streamId: number;
  opcode: number;
  body: Buffer;
}

/** native_protocol_v4.spec §2: <version><flags><stream><opcode><length><body>. */
export function requestFrame(streamId: number, opcode: number, body: Buffer): Buffer {
  const header = encodeHeader({
    version: VERSION,
    response: false,
    flags: 0,
    streamId,
    opcode,
    bodyLength: body.length,
  });
  return Buffer.concat([header, body]);
}

export function queryFrame(streamId: number, query: string, parameters: QueryParameters): Buffer {
  return requestFrame(streamId, Opcode.QUERY, encodeQuery(VERSION, query, parameters));
}

export function prepareFrame(streamId: number, query: string): Buffer {
  return requestFrame(streamId, Opcode.PREPARE, encodePrepare(VERSION, { query }));
}

export function executeFrame(
  streamId: number,
  id: Uint8Array,
  parameters: QueryParameters,
): Buffer {
  return requestFrame(streamId, Opcode.EXECUTE, encodeExecute(VERSION, { id, parameters }));
}

/** The RESULT in a response, or an Error carrying the server's ERROR message. */
export function resultOf(response: RawResponse): ResultMessage {
  if (response.opcode === Opcode.ERROR) {
    const error = decodeError(response.body, VERSION);
    throw new Error(
      `ERROR 0x${error.code.toString(16)} on stream ${response.streamId}: ${error.message}`,
    );
  }
  if (response.opcode !== Opcode.RESULT) {
    throw new Error(`opcode 0x${response.opcode.toString(16)} on stream ${response.streamId}`);
  }
  return decodeResult(response.body, VERSION);
}

export class RawClient {
  private readonly socket: Socket;
  private readonly waiting = new Map<number, (response: RawResponse) => void>();
  /** Responses for a stream nobody waits for (a wrong stream id shows up here). */
  readonly strays: RawResponse[] = [];
  private failure: Error | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    const decoder = new FrameDecoder({
      direction: 'response',
      onFrame: (frame) => {
        // The decoder hands out views into socket chunks: keep a copy.
        const response = {
          streamId: frameStreamId(frame),
          opcode: frameOpcode(frame),
          body: Buffer.from(frameBody(frame)),
        };
        const resolve = this.waiting.get(response.streamId);
        if (resolve === undefined) {
          this.strays.push(response);
          return;
        }
        this.waiting.delete(response.streamId);
        resolve(response);
      },
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', (err) => {
      this.failure = err;
    });
  }

  /** Connects and completes STARTUP → READY. */
  static async connect(port: number): Promise<RawClient> {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setNoDelay(true);
    await once(socket, 'connect');
    const client = new RawClient(socket);
    const [ready] = await client.send([
      requestFrame(0, Opcode.STARTUP, encodeStartup({ CQL_VERSION: '3.0.0' })),
    ]);
    if (ready?.opcode !== Opcode.READY) throw new Error(`STARTUP got opcode ${ready?.opcode}`);
    return client;
  }

  /** Writes every frame in one write and resolves with their responses, in request order. */
  send(frames: readonly Buffer[]): Promise<RawResponse[]> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const answers = frames.map((frame) => {
      const streamId = frame.readInt16BE(2);
      if (this.waiting.has(streamId)) throw new Error(`stream ${streamId} already in flight`);
      return new Promise<RawResponse>((resolve) => this.waiting.set(streamId, resolve));
    });
    this.socket.write(Buffer.concat(frames));
    return Promise.all(answers);
  }

  get inFlight(): number {
    return this.waiting.size;
  }

  close(): void {
    this.socket.destroy();
  }
}
