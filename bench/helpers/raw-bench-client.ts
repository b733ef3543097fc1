// One raw CQL v4 connection for the load benchmarks (proxy-overhead.ts, large-results.ts):
// request/response by stream id for the set-up (STARTUP, login, schema, PREPARE), then a
// pipelined loop that keeps a fixed number of copies of one frame in flight, counting answers and
// bytes, with no allocation per answer.

import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { Consistency, Opcode, ResultKind } from '../../src/protocol/constants.js';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { encodeAuthResponse, encodeSaslPlain } from '../../src/protocol/messages/auth-response.js';
import { encodeExecute } from '../../src/protocol/messages/execute.js';
import { encodePrepare } from '../../src/protocol/messages/prepare.js';
import { encodeQuery } from '../../src/protocol/messages/query.js';
import { decodeResult } from '../../src/protocol/messages/result.js';
import { encodeStartup } from '../../src/protocol/messages/startup.js';

export class RawBenchClient {
  private readonly socket: Socket;
  private readonly waiters = new Map<number, (frame: Buffer) => void>();
  private nextStream = 1;
  /** Answers and their bytes counted by run(), over every run. */
  answered = 0;
  bytes = 0;
  private pump: ((frame: Buffer) => void) | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    const decoder = new FrameDecoder({
      direction: 'response',
      onFrame: (frame) => {
        if (this.pump !== undefined) {
          this.pump(frame);
          return;
        }
        const stream = frame.readInt16BE(2);
        const w = this.waiters.get(stream);
        this.waiters.delete(stream);
        w?.(Buffer.from(frame));
      },
    });
    socket.setNoDelay(true);
    socket.on('data', (c: Buffer) => decoder.push(c));
  }

  /** Connects and completes STARTUP (and the `token` login when asked for). */
  static async open(
    host: string,
    port: number,
    token: string | undefined,
  ): Promise<RawBenchClient> {
    const socket = connect(port, host);
    await once(socket, 'connect');
    const client = new RawBenchClient(socket);
    let answer = await client.request(
      Opcode.STARTUP,
      encodeStartup(new Map([['CQL_VERSION', '3.0.0']])),
    );
    if (answer.readUInt8(4) === Opcode.AUTHENTICATE) {
      if (token === undefined) throw new Error('authentication asked for');
      answer = await client.request(
        Opcode.AUTH_RESPONSE,
        encodeAuthResponse(encodeSaslPlain('token', token)),
      );
    }
    if (answer.readUInt8(4) === Opcode.ERROR) throw new Error('handshake refused');
    return client;
  }

  request(opcode: number, body: Buffer): Promise<Buffer> {
    const stream = this.nextStream++;
    const header = Buffer.alloc(9);
    header.writeUInt8(4, 0);
    header.writeInt16BE(stream, 2);
    header.writeUInt8(opcode, 4);
    header.writeInt32BE(body.length, 5);
    this.socket.write(Buffer.concat([header, body]));
    return new Promise((resolve) => this.waiters.set(stream, resolve));
  }

  /** A QUERY at LOCAL_QUORUM; throws with the server's text on an ERROR. */
  async query(cql: string): Promise<void> {
    const answer = await this.request(
      Opcode.QUERY,
      encodeQuery(4, cql, { consistency: Consistency.LOCAL_QUORUM }),
    );
    if (answer.readUInt8(4) === Opcode.ERROR) {
      throw new Error(`${cql.slice(0, 60)} failed: ${answer.subarray(15).toString()}`);
    }
  }

  /**
   * PREPAREs `query` and gives the EXECUTE frame (stream 0, LOCAL_QUORUM) of it with `values`,
   * for run(). With `skipMetadata` the answers carry no column specifications (spec v4 §4.1.4).
   */
  async prepareExecute(query: string, values: Buffer[], skipMetadata = false): Promise<Buffer> {
    const answer = await this.request(Opcode.PREPARE, encodePrepare(4, { query }));
    const prepared = decodeResult(answer.subarray(9), 4);
    if (prepared.kind !== ResultKind.PREPARED) throw new Error(`PREPARE ${query} failed`);
    const body = encodeExecute(4, {
      id: Buffer.from(prepared.id),
      parameters: { consistency: Consistency.LOCAL_QUORUM, values, skipMetadata },
    });
    const header = Buffer.alloc(9);
    header.writeUInt8(4, 0);
    header.writeUInt8(Opcode.EXECUTE, 4);
    header.writeInt32BE(body.length, 5);
    return Buffer.concat([header, body]);
  }

  /**
   * Keeps `inFlight` copies of `frame` going until `until` (a Date.now() value); resolves with
   * the answers counted so far once the last one is in. Every answer must be a RESULT.
   */
  run(frame: Buffer, until: number, inFlight: number): Promise<number> {
    return new Promise((resolve) => {
      const frames = Array.from({ length: inFlight }, (_, i) => {
        const f = Buffer.from(frame);
        f.writeInt16BE(1000 + i, 2);
        return f;
      });
      let pending = 0;
      this.pump = (response) => {
        if (response.readUInt8(4) !== Opcode.RESULT) throw new Error('not a RESULT');
        this.answered++;
        this.bytes += response.length;
        pending--;
        if (Date.now() < until) {
          const f = frames[response.readInt16BE(2) - 1000];
          if (f !== undefined) {
            this.socket.write(f);
            pending++;
          }
        } else if (pending === 0) {
          this.pump = undefined;
          resolve(this.answered);
        }
      };
      for (const f of frames) {
        this.socket.write(f);
        pending++;
      }
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
