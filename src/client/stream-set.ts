// The stream ids of one client connection's requests in flight, to refuse a second request on an
// id that is still in use (its answer could not be told apart from the first one's). A bitset
// indexed by the id's 16 bits, grown to the highest id seen: drivers number their streams from 0,
// so a connection costs a few hundred bytes, and at most 8 KiB for the whole id space. The words
// are allocated with the first request: a connection that never forwards one holds none.

/** Every set starts with this one, empty and shared: an idle connection holds no words. */
const NO_BITS = new Uint32Array(0);

export class StreamSet {
  private bits = NO_BITS;

  /** Whether `streamId` is in flight. */
  has(streamId: number): boolean {
    const index = streamId & 0xffff;
    const word = index >>> 5;
    return word < this.bits.length && (this.bits[word]! & (1 << (index & 31))) !== 0;
  }

  add(streamId: number): void {
    const index = streamId & 0xffff;
    const word = index >>> 5;
    if (word >= this.bits.length) this.grow(word);
    this.bits[word]! |= 1 << (index & 31);
  }

  delete(streamId: number): void {
    const index = streamId & 0xffff;
    const word = index >>> 5;
    if (word < this.bits.length) this.bits[word]! &= ~(1 << (index & 31));
  }

  private grow(word: number): void {
    let length = Math.max(this.bits.length, 8);
    while (length <= word) length *= 2;
    const grown = new Uint32Array(Math.min(length, 2048));
    grown.set(this.bits);
    this.bits = grown;
  }
}
