// The proxy's forwarding path without sockets: request frames decoded from client chunks, sent
// through a Session (query plan, least-busy connection, stream id allocation and patch, response
// matching, client stream id restored), answered by in-memory connections. This is the per-request
// CPU cost the proxy adds; bench/e2e.ts measures it with real sockets and drivers.
// Run: npm run bench -- bench/forwarding.bench.ts
import { bench, describe } from 'vitest';
import { FrameDecoder } from '../src/protocol/frame-decoder.js';
import { patchStreamId } from '../src/protocol/header.js';
import { chunk, formatThroughput, measure, type Throughput } from './measure.js';
import { InstantConnection, instantSession } from './helpers/instant-connection.js';

const COUNT = 2000;
function executeFrames(count: number): Buffer {
  const one = Buffer.alloc(100, 0x61);
  one.writeUInt8(0x04, 0);
  one.writeUInt8(0x0a, 4);
  one.writeInt32BE(91, 5);
  const all = Buffer.alloc(100 * count);
  for (let i = 0; i < count; i++) {
    one.copy(all, i * 100);
    all.writeInt16BE(i, i * 100 + 2);
  }
  return all;
}
const STREAM = executeFrames(COUNT);
const CHUNKS = chunk(STREAM, 65536);

const connections = [new InstantConnection(), new InstantConnection(), new InstantConnection()];
const session = await instantSession(connections);

let answered = 0;
const notIdempotent = (): boolean => false;
const onResponse = (_frame: Buffer): void => {
  answered++;
};

function forwardAll(): void {
  const decoder = new FrameDecoder({
    direction: 'request',
    onFrame: (frame) => session.send({ frame, idempotent: notIdempotent, onResponse }),
  });
  for (const c of CHUNKS) decoder.push(c);
  for (const c of connections) c.flush();
}

function baseline(): void {
  const decoder = new FrameDecoder({
    direction: 'request',
    onFrame: (frame) => {
      patchStreamId(frame, 1);
      onResponse(frame);
    },
  });
  for (const c of CHUNKS) decoder.push(c);
}

describe('forwarding path (in memory)', () => {
  const rows: Throughput[] = [
    measure('session: decode, route, patch, answer, restore', COUNT, STREAM.length, forwardAll),
    measure('baseline: decode + patch only', COUNT, STREAM.length, baseline),
  ];
  if (answered === 0) throw new Error('nothing was answered');
  console.log(
    `\nForwarding path, 100-byte EXECUTEs over 3 nodes (one core)\n${formatThroughput(rows)}\n`,
  );
  bench('session forwarding', forwardAll);
  bench('baseline decode + patch', baseline);
});
