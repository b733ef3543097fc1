// Response frames for the forwarding tests: a v4 RESULT header (spec v4 §2) over a body whose
// bytes the test chooses, so that a byte out of place shows.

/**
 * A v4 RESULT response on `streamId` with a body of `bodyLength` bytes: every byte `fill`, or
 * byte j of the body `fill(j)`.
 */
export function v4ResultFrame(
  streamId: number,
  bodyLength: number,
  fill: number | ((j: number) => number) = 0,
): Buffer {
  const f = Buffer.alloc(9 + bodyLength, typeof fill === 'number' ? fill & 0xff : 0);
  f.writeUInt8(0x84, 0);
  f.writeInt16BE(streamId, 2);
  f.writeUInt8(0x08, 4);
  f.writeInt32BE(bodyLength, 5);
  if (typeof fill === 'function') for (let j = 0; j < bodyLength; j++) f[9 + j] = fill(j) & 0xff;
  return f;
}
