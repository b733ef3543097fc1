// An upstream connection without a socket for the in-memory benchmarks (forwarding, routing):
// it takes stream ids as a real connection does and answers everything it was sent, with one
// shared RESULT Void frame, when flush() is called.
import { ResultKind } from '../../src/protocol/constants.js';
import { patchStreamId } from '../../src/protocol/header.js';
import { resultFrame } from '../../src/protocol/messages/result.js';
import type { PooledConnection, ResponseHandler } from '../../src/upstream/pooled-connection.js';

export class InstantConnection implements PooledConnection {
  closed = false;
  congested = false;
  private handlers: (ResponseHandler | undefined)[] = new Array<ResponseHandler | undefined>(32768);
  private readonly free: number[] = Array.from({ length: 32768 }, (_, i) => 32767 - i);
  private readonly pending: number[] = [];
  private readonly response = resultFrame(4, 0, { kind: ResultKind.VOID });
  get inFlight(): number {
    return this.pending.length;
  }
  send(frame: Buffer, handler: ResponseHandler): boolean {
    const id = this.free.pop();
    if (id === undefined) return false;
    patchStreamId(frame, id);
    this.handlers[id] = handler;
    this.pending.push(id);
    return true;
  }
  flush(): void {
    for (const id of this.pending.splice(0)) {
      const h = this.handlers[id];
      this.handlers[id] = undefined;
      this.free.push(id);
      patchStreamId(this.response, id);
      h?.onResponse(this.response);
    }
  }
  close(): void {
    this.closed = true;
  }
}
