// Cut-through from one FramedSocket to another, as the proxy relays a node's answers to a client:
// every large frame that straddles chunks goes to the other socket as it arrives (writeThrough),
// the rest whole (write). Whatever way the incoming stream is cut (every chunk size up to a few
// hundred bytes, the sizes around the cut-through threshold and socket reads, random cuts), with
// plain frames or v5 segments on either side, with or without LZ4, and with frames of other origins
// written to the client meanwhile, the client receives exactly the frames sent, whole and never
// interleaved, and the output accounting returns to zero.

import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { CUT_THROUGH_MIN_LENGTH, FrameDecoder } from '../../src/protocol/frame-decoder.js';
import {
  MAX_SEGMENT_PAYLOAD_LENGTH,
  SegmentDecoder,
  encodeSegment,
  type SegmentCompression,
} from '../../src/protocol/segment.js';
import { FramedSocket } from '../../src/transport/framed-socket.js';
import { v4ResultFrame } from '../helpers/frames.js';

/** What FramedSocket uses of a net.Socket, in memory: writes are kept, callbacks come later. */
class MemorySocket extends EventEmitter {
  readonly written: Buffer[] = [];
  writableNeedDrain = false;
  destroyed = false;
  bytesRead = 0;
  bytesWritten = 0;
  private corked = 0;
  private callbacks: (() => void)[] = [];

  setNoDelay(): this {
    return this;
  }

  write(chunk: Buffer, callback?: () => void): boolean {
    // A copy: the proxy never reuses a buffer, and this proves the bytes were right when written.
    this.written.push(Buffer.from(chunk));
    this.bytesWritten += chunk.length;
    if (callback !== undefined) this.callbacks.push(callback);
    if (this.corked === 0) this.scheduleCallbacks();
    return true;
  }

  cork(): void {
    this.corked++;
  }

  uncork(): void {
    if (--this.corked === 0) this.scheduleCallbacks();
  }

  pause(): void {}
  resume(): void {}
  end(): void {}

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    setImmediate(() => this.emit('close'));
  }

  private scheduleCallbacks(): void {
    const callbacks = this.callbacks;
    this.callbacks = [];
    if (callbacks.length > 0) setImmediate(() => callbacks.forEach((c) => c()));
  }
}

/** Deterministic bytes (a linear congruential generator), so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function frame(streamId: number, bodyLength: number, seed: number): Buffer {
  const next = random(seed);
  return v4ResultFrame(streamId, bodyLength, () => (next() * 256) | 0);
}

/** Answers from a node: small ones and large ones (one larger than a segment payload). */
const ANSWERS = [
  frame(1, 40, 1),
  frame(2, CUT_THROUGH_MIN_LENGTH + 500, 2),
  frame(3, 0, 3),
  frame(4, 70_000, 4),
  frame(5, 300, 5),
  frame(6, CUT_THROUGH_MIN_LENGTH - 9, 6), // exactly the threshold
  frame(7, MAX_SEGMENT_PAYLOAD_LENGTH + 20_000, 7),
  frame(8, 12, 8),
];
/** A smaller set for the exhaustive chunk sizes. */
const SHORT_ANSWERS = [ANSWERS[0]!, ANSWERS[1]!, ANSWERS[2]!, ANSWERS[5]!, ANSWERS[7]!];
/** Frames of other origins (the proxy's own answers) written to the client during the relay. */
const OTHERS = Array.from({ length: 40 }, (_, i) => frame(100 + i, 10 + i, 100 + i));

/**
 * The node's byte stream: plain frames, or v5 segments with small frames self-contained and large
 * frames cut into non-self-contained segments of `partLength` bytes (spec v5 §2.1 allows any cut;
 * Cassandra cuts at the largest payload).
 */
function nodeStream(
  frames: Buffer[],
  segments: SegmentCompression | undefined,
  partLength: number,
): Buffer {
  if (segments === undefined) return Buffer.concat(frames);
  const out: Buffer[] = [];
  for (const f of frames) {
    if (f.length < CUT_THROUGH_MIN_LENGTH) {
      out.push(encodeSegment(f, true, segments));
      continue;
    }
    for (let at = 0; at < f.length; at += partLength) {
      out.push(encodeSegment(f.subarray(at, at + partLength), false, segments));
    }
  }
  return Buffer.concat(out);
}

/** The frames in what the client received (read as a driver would). */
function clientFrames(bytes: Buffer, segments: SegmentCompression | undefined): Buffer[] {
  const frames: Buffer[] = [];
  const decoder = new FrameDecoder({
    direction: 'response',
    onFrame: (f) => frames.push(Buffer.from(f)),
  });
  if (segments === undefined) {
    decoder.push(bytes);
  } else {
    new SegmentDecoder({
      compression: segments,
      onPayload: (payload, selfContained) => {
        if (selfContained) decoder.pushSelfContained(payload);
        else decoder.push(payload);
      },
    }).push(bytes);
  }
  expect(decoder.midFrame).toBe(false);
  return frames;
}

interface Relay {
  /** Bytes from the node, in these chunks; frames of other origins are written every few chunks. */
  run(chunks: Buffer[], othersEvery: number, turnEvery: number): Promise<void>;
  /** Frames cut through / bytes written to the client / queued output now. */
  readonly cutThrough: number;
  readonly output: Buffer;
  readonly queuedBytes: number;
  readonly accounted: number;
}

function relay(
  upstreamSegments: SegmentCompression | undefined,
  clientSegments: SegmentCompression | undefined,
): Relay {
  const nodeSide = new MemorySocket();
  const clientSide = new MemorySocket();
  let cutThrough = 0;
  let accounted = 0;
  const fail = (err: Error): never => {
    throw err;
  };
  const client = new FramedSocket(clientSide as unknown as Socket, {
    incoming: 'request',
    maxFrameLength: 1 << 24,
    onFrame: () => undefined,
    onError: fail,
    onClose: () => undefined,
    onQueuedBytes: (delta) => (accounted += delta),
  });
  const upstream = new FramedSocket(nodeSide as unknown as Socket, {
    incoming: 'response',
    maxFrameLength: 1 << 24,
    onFrame: (f) => client.write(f),
    onFrameHead: (head, frameLength) => {
      const sink = client.writeThrough(head, frameLength);
      if (sink !== undefined) cutThrough++;
      return sink;
    },
    onError: fail,
    onClose: () => undefined,
  });
  if (upstreamSegments !== undefined) upstream.startSegments(upstreamSegments);
  if (clientSegments !== undefined) client.startSegments(clientSegments);
  return {
    async run(chunks, othersEvery, turnEvery) {
      let others = 0;
      for (let i = 0; i < chunks.length; i++) {
        nodeSide.emit('data', chunks[i]);
        if (othersEvery > 0 && i % othersEvery === 0 && others < OTHERS.length) {
          client.write(OTHERS[others++]!);
        }
        if (turnEvery > 0 && i % turnEvery === turnEvery - 1) {
          await new Promise((r) => setImmediate(r));
        }
      }
      while (others < OTHERS.length && othersEvery > 0) client.write(OTHERS[others++]!);
      // The flush, then the write callbacks.
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
    },
    get cutThrough() {
      return cutThrough;
    },
    get output() {
      return Buffer.concat(clientSide.written);
    },
    get queuedBytes() {
      return client.queuedBytes;
    },
    get accounted() {
      return accounted;
    },
  };
}

function chunked(stream: Buffer, size: number, first = size): Buffer[] {
  const chunks = [stream.subarray(0, first)];
  for (let at = first; at < stream.length; at += size) chunks.push(stream.subarray(at, at + size));
  return chunks.filter((c) => c.length > 0);
}

function randomCuts(stream: Buffer, seed: number, largest: number): Buffer[] {
  const next = random(seed);
  const chunks: Buffer[] = [];
  for (let at = 0; at < stream.length;) {
    const n = 1 + Math.floor(next() * largest);
    chunks.push(stream.subarray(at, at + n));
    at += n;
  }
  return chunks;
}

/** Checks what the client got: the relayed frames in order, the others all there, nothing more. */
function expectDelivered(
  received: Buffer[],
  relayed: Buffer[],
  othersWritten: boolean,
  what: string,
): void {
  const fromNode = received.filter((f) => f.readInt16BE(2) < 100);
  const others = received.filter((f) => f.readInt16BE(2) >= 100);
  expect(fromNode.length, what).toBe(relayed.length);
  for (let i = 0; i < relayed.length; i++) {
    expect(fromNode[i]!.equals(relayed[i]!), `${what}: frame ${i}`).toBe(true);
  }
  expect(others.length, what).toBe(othersWritten ? OTHERS.length : 0);
  others.sort((a, b) => a.readInt16BE(2) - b.readInt16BE(2));
  for (let i = 0; i < others.length; i++) expect(others[i]!.equals(OTHERS[i]!)).toBe(true);
}

const SIDES: [SegmentCompression | undefined, SegmentCompression | undefined, string][] = [
  [undefined, undefined, 'v4 both sides'],
  ['none', 'none', 'v5 both sides'],
  ['none', 'lz4', 'v5, LZ4 segments to the client'],
  ['lz4', 'none', 'v5, LZ4 segments from the node'],
  ['lz4', 'lz4', 'v5, LZ4 segments both sides'],
];

describe('cut-through between two FramedSockets', () => {
  it('v4: every chunk size from 1 to 400 bytes', async () => {
    const stream = nodeStream(SHORT_ANSWERS, undefined, 0);
    for (let size = 1; size <= 400; size++) {
      const r = relay(undefined, undefined);
      await r.run(chunked(stream, size), 0, 0);
      expectDelivered(clientFrames(r.output, undefined), SHORT_ANSWERS, false, `size ${size}`);
      expect(r.cutThrough, `size ${size}`).toBe(2);
      expect(r.queuedBytes).toBe(0);
      expect(r.accounted).toBe(0);
    }
  });

  it('v5: every segment part length from 1 to 120 bytes, in chunks of 1000', async () => {
    for (let part = 1; part <= 120; part++) {
      const stream = nodeStream(SHORT_ANSWERS, 'none', part);
      const r = relay('none', 'none');
      await r.run(chunked(stream, 1000), 0, 3);
      expectDelivered(clientFrames(r.output, 'none'), SHORT_ANSWERS, false, `part ${part}`);
      expect(r.cutThrough, `part ${part}`).toBe(2);
      expect(r.accounted).toBe(0);
    }
  });

  for (const [up, down, name] of SIDES) {
    it(`${name}: chunk sizes around the thresholds, every first-chunk offset, random cuts, other frames meanwhile`, async () => {
      const stream = nodeStream(ANSWERS, up, 9_000);
      const cases: { chunks: Buffer[]; what: string }[] = [];
      for (const size of [1_000, 4_095, 4_096, 16_383, 16_384, 16_385, 65_536, 131_072]) {
        cases.push({ chunks: chunked(stream, size), what: `size ${size}` });
      }
      for (let first = 1; first <= 60; first++) {
        cases.push({ chunks: chunked(stream, 8_192, first), what: `first chunk ${first}` });
      }
      for (let seed = 1; seed <= 25; seed++) {
        cases.push({ chunks: randomCuts(stream, seed, 30_000), what: `random cuts ${seed}` });
      }
      cases.push({ chunks: [stream], what: 'one chunk' });
      for (const [i, { chunks, what }] of cases.entries()) {
        const r = relay(up, down);
        await r.run(chunks, 1 + (i % 5), i % 4);
        expectDelivered(clientFrames(r.output, down), ANSWERS, true, what);
        expect(r.queuedBytes, what).toBe(0);
        expect(r.accounted, what).toBe(0);
        if (chunks.length > 1) expect(r.cutThrough, what).toBeGreaterThan(0);
      }
    });
  }
});
