// One CQL connection's byte stream, in either role: frames in, frames out.
//
// Incoming bytes go through the frame decoder (v3/v4/DSE, and v5 before its handshake ends) or,
// after startSegments(), through the v5 segment decoder and then the frame decoder. Frames are
// handed to onFrame exactly as they arrived: a v4 body may still be compressed, and the caller
// decides whether it needs to look inside.
//
// Outgoing frames are queued and written once per event-loop turn (setImmediate), corked into one
// writev, or packed into v5 segments: many small frames from many clients share one system call
// and, with v5, one segment. A large frame can also be written as it arrives (writeThrough): its
// pieces are queued as views and go out with the same flush, never assembled.
//
// Output accounting: queuedBytes counts the frame bytes queued here or handed to the socket and
// not yet taken by the kernel (one write callback per flush says when they were). It is exact,
// unlike socket.writableLength alone, and it is what the client side bounds per connection and
// across connections (docs/design.md, "Limits").

import type { Socket } from 'node:net';
import { FrameDecoder, type FrameSink } from '../protocol/frame-decoder.js';
import { ProtocolError, ProtocolErrorCode } from '../protocol/errors.js';
import {
  MAX_SEGMENT_PAYLOAD_LENGTH,
  SegmentDecoder,
  encodeSegments,
  pushFramePartSegments,
  type SegmentCompression,
} from '../protocol/segment.js';
import { readSlabOf, releaseSlabs, type ReadArena, type ReadSlab } from './read-arena.js';

/**
 * The callbacks are called as methods of this object (`options.onFrame(frame)`), so a class whose
 * prototype has them can be passed instead of closures made per connection.
 */
export interface FramedSocketOptions {
  /** 'request' on the client-facing side, 'response' on connections to the cluster. */
  incoming: 'request' | 'response';
  maxFrameLength: number;
  onFrame: (frame: Buffer) => void;
  /**
   * Cut-through of large incoming frames (FrameDecoderOptions.onFrameHead), also of the frames
   * carried by v5 segments (the pieces are then views of segment payloads). When the socket closes
   * mid-frame the sink's abort() is called.
   */
  onFrameHead?: (head: Buffer, frameLength: number) => FrameSink | undefined;
  /** A framing error (the stream is lost: no further frames arrive) or a socket error. */
  onError: (err: Error) => void;
  /** The socket closed, for whatever reason; called once. */
  onClose: () => void;
  /** The socket drained after needsDrain was true. */
  onDrain?: () => void;
  /** Queued bytes beyond which needsDrain is true even before the socket says so. */
  highWaterMark?: number;
  /**
   * Told of every change of queuedBytes: +n when a frame is queued, -n when the kernel took it
   * (or the socket closed with it unwritten). Feeds a byte budget shared by many sockets.
   */
  onQueuedBytes?: (delta: number) => void;
  /** Called after the kernel took a flush's bytes (queuedBytes went down). */
  onWritten?: () => void;
  /**
   * The socket reads into this arena (it was made with the arena's `onread`): chunks come from it
   * rather than from 'data' events, and are reused once read, so frames are handed out as copies
   * and pieces cut through only as far as a writer keeps them (src/transport/read-arena.ts).
   */
  readArena?: ReadArena | undefined;
}

/** The FramedSocket wrapping a socket, for the socket listeners shared by all of them. */
const kFramed = Symbol('FramedSocket');
type WrappedSocket = Socket & { [kFramed]?: FramedSocket };

/**
 * The sockets with frames queued this event-loop turn, flushed together by one setImmediate:
 * no Immediate per socket per turn, and no flush closure per socket.
 */
let flushQueue: FramedSocket[] = [];

/**
 * Writes what every socket has queued, now rather than at the end of this event-loop turn: a read
 * arena whose slabs are all still queued for writing calls it (src/transport/read-arena.ts), and
 * what the kernel takes at once frees slabs to read into.
 */
export function flushAllQueued(): void {
  if (flushQueue.length > 0) flushQueued();
}

function flushQueued(): void {
  // A write during these flushes schedules the next turn's, as a setImmediate per socket did.
  const queue = flushQueue;
  flushQueue = [];
  for (let i = 0; i < queue.length; i++) queue[i]!.flush();
}

export class FramedSocket {
  readonly socket: Socket;
  private readonly options: FramedSocketOptions;
  private decoder: FrameDecoder;
  private segmentDecoder: SegmentDecoder | undefined;
  private outgoingSegments: SegmentCompression | undefined;
  /**
   * What the next flush writes, in order: whole frames and the pieces of a frame written through
   * as they came (segmented: the frames still to be packed, after `encoded`).
   */
  private pending: Buffer[] = [];
  /** Frame bytes in pending and encoded (segment overhead not counted). */
  private pendingBytes = 0;
  /** Segmented: segments already made, written before the frames in pending. */
  private encoded: Buffer[] | undefined;
  private flushScheduled = false;
  private insideOnFrame = false;
  private failed = false;
  private closedFlag = false;
  private readonly highWaterMark: number;
  private maxFrameLength: number;
  /**
   * Frame bytes of each flush handed to the socket whose write callback has not come yet, oldest
   * first: the oldest in inSocketFirst, the others (rare: the kernel is slower than the event
   * loop) in inSocketRest, made the first time there are two.
   */
  private inSocketCount = 0;
  private inSocketFirst = 0;
  private inSocketRest: number[] | undefined;
  private inSocketBytes = 0;
  /** Frame bytes the kernel has taken since the socket opened: progress, for write timeouts. */
  private flushed = 0;
  /** The frames the socket's close dropped unwritten, until takeUnwritten() takes them. */
  private droppedAtClose: Buffer[] | undefined;
  /** A frame being written as it arrives (writeThrough), and how many of its bytes are to come. */
  private throughActive = false;
  private throughBytes = 0;
  /** Frames queued while a frame is written through: they follow it (made the first time). */
  private held: Buffer[] | undefined;
  private heldBytes = 0;
  /** end() was called while a frame was being written through: the socket ends after it. */
  private endAfterThrough = false;
  /** The sink of writeThrough, made the first time (an idle connection carries none). */
  private throughSink: ThroughSink | undefined;
  /**
   * Read slabs (src/transport/read-arena.ts) that bytes queued here point into, one reference per
   * piece kept: of pending and encoded (given back when their flush is written), and of each
   * flush left in the socket that had any, with its number.
   */
  private queuedSlabs: ReadSlab[] | undefined;
  private slabFlushes: { flush: number; slabs: ReadSlab[] }[] | undefined;
  /** Flushes handed to the socket, and those whose write callback came. */
  private flushesStarted = 0;
  private flushesWritten = 0;

  constructor(socket: Socket, options: FramedSocketOptions) {
    this.socket = socket;
    this.options = options;
    this.highWaterMark = options.highWaterMark ?? 1024 * 1024;
    this.maxFrameLength = options.maxFrameLength;
    this.decoder = this.newFrameDecoder(options.readArena !== undefined);
    socket.setNoDelay(true);
    // Listeners shared by every FramedSocket, called with the socket as `this`: an idle
    // connection carries no closures for them (thousands of clients, docs/design.md "Limits").
    (socket as WrappedSocket)[kFramed] = this;
    if (options.readArena === undefined) socket.on('data', onSocketData);
    else options.readArena.attach((chunk) => this.onData(chunk));
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
    if (options.onDrain !== undefined) socket.on('drain', () => options.onDrain?.());
  }

  /** The socket's 'error' (through onSocketError). */
  static socketError(socket: WrappedSocket, err: Error): void {
    const framed = socket[kFramed]!;
    if (!framed.failed) framed.options.onError(err);
  }

  /** The socket's 'close' (through onSocketClose). */
  static socketClosed(socket: WrappedSocket): void {
    const framed = socket[kFramed]!;
    if (framed.closedFlag) return;
    framed.closedFlag = true;
    framed.options.readArena?.close();
    framed.dropQueued();
    framed.decoder.abort();
    framed.options.onClose();
  }

  /** The socket's 'data' (through onSocketData). */
  static socketData(socket: WrappedSocket, chunk: Buffer): void {
    socket[kFramed]!.onData(chunk);
  }

  get closed(): boolean {
    return this.closedFlag || this.socket.destroyed;
  }

  /** True when the writer should stop feeding this socket until onDrain. */
  get needsDrain(): boolean {
    return this.socket.writableNeedDrain || this.pendingBytes > this.highWaterMark;
  }

  get segmented(): boolean {
    return this.outgoingSegments !== undefined;
  }

  /** Frame bytes queued here or in the socket that the kernel has not taken yet. */
  get queuedBytes(): number {
    return this.pendingBytes + this.heldBytes + this.inSocketBytes + this.throughBytes;
  }

  /** Frame bytes the kernel has taken so far (grows while the peer reads). */
  get flushedBytes(): number {
    return this.flushed;
  }

  /** The limit for frames whose header has not arrived yet (small until a handshake is done). */
  setMaxFrameLength(maxFrameLength: number): void {
    this.maxFrameLength = maxFrameLength;
    this.decoder.setMaxFrameLength(maxFrameLength);
  }

  /**
   * Queues a whole frame; it is written at the end of this event-loop turn. A whole frame is never
   * a view of reused read memory (a decoder fed from a read arena hands out copies); only the
   * pieces of writeThrough may be (keep()).
   */
  write(frame: Buffer): void {
    if (this.closed) return;
    const n = frame.length;
    this.options.onQueuedBytes?.(n);
    if (this.throughActive) {
      // Frames never interleave: this one goes after the frame being written through.
      (this.held ??= []).push(frame);
      this.heldBytes += n;
      return;
    }
    this.pending.push(frame);
    this.pendingBytes += n;
    this.scheduleFlush();
  }

  /**
   * A piece to queue: as it is, holding a reference on the read slab it may point into
   * (src/transport/read-arena.ts), or a copy when this socket is behind (bytes handed to it wait
   * for the kernel), so that a slow peer never keeps shared read memory beyond its last flush.
   */
  private keep(bytes: Buffer): Buffer {
    const slab = readSlabOf(bytes);
    if (slab === undefined) return bytes;
    if (this.socket.writableLength > 0) return Buffer.from(bytes);
    slab.refs++;
    (this.queuedSlabs ??= []).push(slab);
    return bytes;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    if (flushQueue.push(this) === 1) setImmediate(flushQueued);
  }

  /**
   * Cut-through: queues a frame of `frameLength` bytes as it arrives, `head` (its first bytes) now,
   * after whatever is queued, and the rest through the sink returned, each piece as it comes. The
   * pieces are views, never copied, and are written with this turn's flush like any frame (with
   * v5, each in non-self-contained segments of its own: spec v5 §2.1). Frames queued meanwhile
   * wait for its end, so frames never interleave; a socket that is not writable just holds the
   * pieces. The whole frame counts in queuedBytes from the start. undefined when another frame is
   * being written through (the caller assembles this one) or the socket is closed. If the sink is
   * aborted the peer has half a frame, and the socket is destroyed.
   */
  writeThrough(head: Buffer, frameLength: number): FrameSink | undefined {
    if (this.closed || this.throughActive) return undefined;
    this.throughActive = true;
    this.throughBytes = frameLength;
    this.options.onQueuedBytes?.(frameLength);
    if (this.outgoingSegments !== undefined) this.packPending();
    this.queuePiece(head);
    return (this.throughSink ??= new ThroughSink(this));
  }

  /** The next bytes of the frame being written through (ThroughSink). */
  queuePiece(bytes: Buffer): void {
    // Once closed, the frame's bytes were given back (dropQueued, destroy).
    if (this.closed || !this.throughActive) return;
    const n = bytes.length;
    if (n === 0) return;
    this.throughBytes -= n;
    this.pendingBytes += n;
    const kept = this.keep(bytes);
    const compression = this.outgoingSegments;
    if (compression === undefined) this.pending.push(kept);
    else pushFramePartSegments(kept, compression, (this.encoded ??= []));
    this.scheduleFlush();
  }

  /** The frame being written through is complete (ThroughSink): what waited for it goes next. */
  endThrough(): void {
    if (!this.throughActive) return;
    this.throughActive = false;
    if (this.throughBytes !== 0) {
      // Not expected (the decoder counts exactly); keep the accounting honest regardless.
      if (!this.closed) this.options.onQueuedBytes?.(-this.throughBytes);
      this.throughBytes = 0;
    }
    const held = this.held;
    if (held !== undefined) {
      this.held = undefined;
      for (let i = 0; i < held.length; i++) this.pending.push(held[i]!);
      this.pendingBytes += this.heldBytes;
      this.heldBytes = 0;
    }
    if (this.endAfterThrough) this.end();
  }

  /** The frame being written through was cut short (ThroughSink): the peer cannot use the stream. */
  abortThrough(): void {
    if (!this.throughActive) return;
    this.throughActive = false;
    this.destroy(new Error('the frame being written through was cut short'));
  }

  /** Segmented: packs the frames queued so far into segments, ahead of what is queued next. */
  private packPending(): void {
    if (this.pending.length === 0) return;
    (this.encoded ??= []).push(encodeSegments(this.pending, this.outgoingSegments!));
    this.pending = [];
  }

  /** Writes whatever is queued, now. */
  flush(): void {
    this.flushScheduled = false;
    if ((this.pending.length === 0 && this.encoded === undefined) || this.closed) return;
    let buffers = this.pending;
    if (this.outgoingSegments !== undefined) {
      this.packPending();
      buffers = this.encoded ?? [];
      this.encoded = undefined;
    } else {
      this.pending = [];
    }
    if (buffers.length === 0) return;
    const bytes = this.pendingBytes;
    this.pendingBytes = 0;
    this.flushesStarted++;
    if (this.inSocketCount++ === 0) this.inSocketFirst = bytes;
    else (this.inSocketRest ??= []).push(bytes);
    this.inSocketBytes += bytes;
    if (buffers.length === 1) {
      this.socket.write(buffers[0]!, this.writtenCallback);
    } else {
      // Callbacks come in write order, so the last write's callback covers the whole flush.
      this.socket.cork();
      const last = buffers.length - 1;
      for (let i = 0; i < last; i++) this.socket.write(buffers[i]!);
      this.socket.write(buffers[last]!, this.writtenCallback);
      this.socket.uncork();
    }
    const slabs = this.queuedSlabs;
    if (slabs !== undefined) {
      this.queuedSlabs = undefined;
      // Nothing left in the socket: the kernel took every byte during write(), and the read slabs
      // may be read into again now. Otherwise they wait for this flush's write callback.
      if (this.socket.writableLength === 0) releaseSlabs(slabs);
      else (this.slabFlushes ??= []).push({ flush: this.flushesStarted, slabs });
    }
  }

  /** One flush reached the kernel (or failed with the socket, which 'close' accounts for). */
  private readonly writtenCallback = (): void => {
    if (this.closedFlag) return;
    const written = ++this.flushesWritten;
    const slabFlushes = this.slabFlushes;
    // The kernel has the bytes: the read slabs they were views of may be read into again.
    while (
      slabFlushes !== undefined &&
      slabFlushes.length > 0 &&
      slabFlushes[0]!.flush <= written
    ) {
      releaseSlabs(slabFlushes.shift()!.slabs);
    }
    let bytes = 0;
    if (this.inSocketCount > 0) {
      bytes = this.inSocketFirst;
      this.inSocketFirst = --this.inSocketCount > 0 ? this.inSocketRest!.shift()! : 0;
    }
    this.inSocketBytes -= bytes;
    this.flushed += bytes;
    this.options.onQueuedBytes?.(-bytes);
    this.options.onWritten?.();
  };

  /**
   * The frames queued and never handed to the socket, taken out of the queue (their bytes given
   * back); after the socket closed, the ones its close dropped. A connection that is lost can so
   * tell which requests never left the process: they are safe to send elsewhere. (Frames already
   * handed to the socket may have reached the peer in part, so they are not counted.)
   */
  takeUnwritten(): Buffer[] {
    if (this.pending.length === 0) {
      const dropped = this.droppedAtClose ?? [];
      this.droppedAtClose = undefined;
      return dropped;
    }
    const frames = this.pending;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    if (bytes > 0) this.options.onQueuedBytes?.(-bytes);
    this.ownFrames(frames);
    return frames;
  }

  /**
   * Frames taken out of the queue to be kept by the caller: those that are views of read slabs are
   * replaced by copies, and the queue's slab references given back.
   */
  private ownFrames(frames: Buffer[]): void {
    const slabs = this.queuedSlabs;
    if (slabs === undefined) return;
    this.queuedSlabs = undefined;
    for (let i = 0; i < frames.length; i++) {
      const frame = frames[i]!;
      if (slabs.some((slab) => slab.memory === frame.buffer)) frames[i] = Buffer.from(frame);
    }
    releaseSlabs(slabs);
  }

  /** Forgets what was queued and never written, giving its bytes back. */
  private dropQueued(): void {
    const bytes = this.pendingBytes + this.heldBytes + this.inSocketBytes + this.throughBytes;
    this.throughBytes = 0;
    this.ownFrames(this.pending);
    this.droppedAtClose = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    this.encoded = undefined;
    this.held = undefined;
    this.heldBytes = 0;
    this.inSocketCount = 0;
    this.inSocketFirst = 0;
    this.inSocketRest = undefined;
    this.inSocketBytes = 0;
    if (bytes > 0) this.options.onQueuedBytes?.(-bytes);
    // The socket is closed: nothing reads the slabs' memory for it any more.
    this.releaseQueuedSlabs();
    const slabFlushes = this.slabFlushes;
    this.slabFlushes = undefined;
    if (slabFlushes !== undefined) for (const f of slabFlushes) releaseSlabs(f.slabs);
  }

  /** Gives back the read slab references of what is queued and never handed to the socket. */
  private releaseQueuedSlabs(): void {
    const queued = this.queuedSlabs;
    this.queuedSlabs = undefined;
    if (queued !== undefined) releaseSlabs(queued);
  }

  /**
   * Switches both directions to v5 segments (spec v5 §2.3.1): what is queued now (the READY or
   * AUTHENTICATE that ends the handshake) still goes out as plain frames; everything after is
   * segmented, and incoming bytes after the current frame are read as segments.
   */
  startSegments(compression: SegmentCompression): void {
    if (this.outgoingSegments !== undefined) return;
    this.flush();
    this.outgoingSegments = compression;
    // Frames in compressed segments are in buffers of their own already; in plain ones, views.
    const framesInSegments = this.newFrameDecoder(
      this.options.readArena !== undefined && compression === 'none',
    );
    this.segmentDecoder = new SegmentDecoder({
      compression,
      maxPayloadLength: MAX_SEGMENT_PAYLOAD_LENGTH,
      onPayload: (payload, selfContained) => {
        if (selfContained) framesInSegments.pushSelfContained(payload);
        else framesInSegments.push(payload);
      },
    });
    if (this.insideOnFrame) {
      // The rest of the current chunk, if any, is already segment bytes.
      this.decoder.detach();
    } else if (this.decoder.midFrame) {
      this.fail(
        new ProtocolError(ProtocolErrorCode.MALFORMED, 'frame cut by the switch to segments'),
      );
    }
    this.decoder = framesInSegments;
  }

  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    if (!this.closed) this.socket.resume();
  }

  /** Flushes, then closes the write side. */
  end(): void {
    this.flush();
    if (this.throughActive) {
      this.endAfterThrough = true;
      return;
    }
    this.socket.end();
  }

  destroy(err?: Error): void {
    // What was never handed to the socket is forgotten now; the rest when 'close' comes.
    const unwritten = this.pendingBytes + this.heldBytes + this.throughBytes;
    this.throughBytes = 0;
    this.pending = [];
    this.pendingBytes = 0;
    this.encoded = undefined;
    this.held = undefined;
    this.heldBytes = 0;
    if (unwritten > 0) this.options.onQueuedBytes?.(-unwritten);
    this.releaseQueuedSlabs();
    this.socket.destroy(err);
  }

  /** copyFrames: the chunks are reused once read (FrameDecoderOptions.copyFrames). */
  private newFrameDecoder(copyFrames: boolean): FrameDecoder {
    const onFrameHead = this.options.onFrameHead;
    return new FrameDecoder({
      direction: this.options.incoming,
      maxFrameLength: this.maxFrameLength,
      copyFrames,
      ...(onFrameHead === undefined ? {} : { onFrameHead }),
      onFrame: (frame) => {
        this.insideOnFrame = true;
        try {
          this.options.onFrame(frame);
        } finally {
          this.insideOnFrame = false;
        }
      },
    });
  }

  private onData(chunk: Buffer): void {
    if (this.failed) return;
    try {
      if (this.segmentDecoder !== undefined) {
        this.segmentDecoder.push(chunk);
        return;
      }
      const before = this.decoder;
      before.push(chunk);
      if (this.decoder !== before) {
        // startSegments() ran inside onFrame: the rest of this chunk is segment bytes.
        const rest = before.takeRemainder();
        // (TypeScript cannot see that onFrame may have set segmentDecoder during push.)
        const segments = this.segmentDecoder as SegmentDecoder | undefined;
        if (rest !== undefined) segments?.push(rest);
      }
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.socket.pause();
    this.options.onError(err);
  }
}

// Socket listeners shared by every FramedSocket: Node calls them with the socket as `this`.
function onSocketData(this: WrappedSocket, chunk: Buffer): void {
  FramedSocket.socketData(this, chunk);
}

function onSocketError(this: WrappedSocket, err: Error): void {
  FramedSocket.socketError(this, err);
}

function onSocketClose(this: WrappedSocket): void {
  FramedSocket.socketClosed(this);
}

/** The sink of FramedSocket.writeThrough: one per socket, made the first time it is needed. */
class ThroughSink implements FrameSink {
  private readonly framed: FramedSocket;

  constructor(framed: FramedSocket) {
    this.framed = framed;
  }

  piece(bytes: Buffer, last: boolean): void {
    this.framed.queuePiece(bytes);
    if (last) this.framed.endThrough();
  }

  abort(): void {
    this.framed.abortThrough();
  }
}
