// Cut-through on an upstream connection (ResponseHandler.onResponseHead): a large answer from a
// node reaches a handler that takes it as a head and pieces, the stream id is free at once, a
// handler that declines gets the whole frame, and a connection lost mid-frame aborts the sink.

import { afterEach, describe, expect, it } from 'vitest';
import { HEADER_LENGTH, Opcode } from '../../src/protocol/constants.js';
import type { FrameSink } from '../../src/protocol/frame-decoder.js';
import { encodeQuery } from '../../src/protocol/messages/query.js';
import type { UpstreamConnection } from '../../src/upstream/connection.js';
import type { ResponseHandler } from '../../src/upstream/connection.js';
import { connectTo, rawQueryFrame, startFakeNode } from './fake-node.js';
import type { FakeNode } from './fake-node.js';
import { until } from '../helpers/wait.js';

const nodes: FakeNode[] = [];
const connections: UpstreamConnection[] = [];
afterEach(async () => {
  for (const c of connections.splice(0)) c.close();
  for (const n of nodes.splice(0)) await n.close();
});

async function setup(): Promise<{ node: FakeNode; connection: UpstreamConnection }> {
  const node = await startFakeNode();
  nodes.push(node);
  const connection = await connectTo(node, { maxFrameLength: 1 << 24 });
  connections.push(connection);
  return { node, connection };
}

/** A QUERY whose answer (one row holding the query text) is about `size` bytes. */
function largeQuery(size: number, tag: string): Buffer {
  return rawQueryFrame(4, encodeQuery(4, `SELECT ${tag} ${'x'.repeat(size)}`, { consistency: 1 }));
}

class Handler implements ResponseHandler {
  whole: Buffer[] = [];
  streamed: Buffer[] = [];
  aborted = 0;
  closed = 0;
  private parts: Buffer[] = [];
  private readonly take: boolean;

  constructor(take: boolean) {
    this.take = take;
  }

  onResponse(frame: Buffer): void {
    this.whole.push(Buffer.from(frame));
  }

  onResponseHead(head: Buffer, frameLength: number): FrameSink | undefined {
    expect(head[4]).toBe(Opcode.RESULT);
    expect(head.readInt32BE(5) + HEADER_LENGTH).toBe(frameLength);
    if (!this.take) return undefined;
    this.parts = [Buffer.from(head)];
    return {
      piece: (bytes, last) => {
        this.parts.push(Buffer.from(bytes));
        if (last) this.streamed.push(Buffer.concat(this.parts));
      },
      abort: () => this.aborted++,
    };
  }

  onClosed(): void {
    this.closed++;
  }
}

describe('cut-through on an upstream connection', () => {
  it('hands a large answer over as it arrives and frees its stream id at once', async () => {
    const { connection } = await setup();
    const taking = new Handler(true);
    const declining = new Handler(false);
    expect(connection.send(largeQuery(300_000, 'a'), taking)).toBe(true);
    expect(connection.send(largeQuery(300_000, 'b'), declining)).toBe(true);
    await until(() => taking.streamed.length === 1 && declining.whole.length === 1, 'answers');
    const streamed = taking.streamed[0]!;
    const whole = declining.whole[0]!;
    expect(streamed.length).toBe(streamed.readInt32BE(5) + HEADER_LENGTH);
    expect(streamed.includes('SELECT a xxxx')).toBe(true);
    expect(whole.includes('SELECT b xxxx')).toBe(true);
    expect(taking.whole).toHaveLength(0);
    expect(declining.streamed).toHaveLength(0);
    expect(connection.inFlight).toBe(0);
  });

  it('aborts the sink when the connection is lost mid-frame', async () => {
    const { node, connection } = await setup();
    const taking = new Handler(true);
    // The node's side is closed as soon as the first bytes of the answer left it.
    const socket = node.connections[0]!.socket;
    const write = socket.write.bind(socket);
    socket.write = (chunk: Buffer) => {
      if (chunk.length > 100_000) {
        write(chunk.subarray(0, 70_000));
        setTimeout(() => socket.destroy(), 20);
        return true;
      }
      return write(chunk);
    };
    expect(connection.send(largeQuery(300_000, 'c'), taking)).toBe(true);
    await until(() => taking.aborted === 1, 'the abort');
    expect(taking.streamed).toHaveLength(0);
    expect(taking.closed).toBe(0);
  });
});
