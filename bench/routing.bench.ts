// The token-aware routing decision (src/upstream/routing.ts) per request: find the prepared id,
// read the partition key from the bound values, Murmur3 it, binary search the ring (3 nodes x 8
// vnodes) and take the replicas, for single and composite keys; then the whole forwarding path
// (bench/forwarding.bench.ts's Session over bench/helpers/instant-connection.ts) with and without routing, on
// EXECUTEs that carry real keys. Figures are printed in ns per request, never asserted.
// Run: npm run bench -- bench/routing.bench.ts
import { randomBytes, randomInt } from 'node:crypto';
import { bench, describe } from 'vitest';
import { Opcode, ProtocolVersion } from '../src/protocol/constants.js';
import { FrameDecoder } from '../src/protocol/frame-decoder.js';
import { encodeHeader } from '../src/protocol/header.js';
import { encodeExecute } from '../src/protocol/messages/execute.js';
import { murmur3TokenInto } from '../src/protocol/murmur3.js';
import { Router } from '../src/upstream/routing.js';
import { chunk, measure } from './measure.js';
import { InstantConnection, instantSession } from './helpers/instant-connection.js';

const VERSION = ProtocolVersion.V4;
const COUNT = 2000;
const NODES = 3;
const VNODES = 8;
const IDS = Array.from({ length: 100 }, () => randomBytes(16));

function tokens(index: number): string[] {
  const span = 2n ** 64n / BigInt(NODES * VNODES);
  return Array.from({ length: VNODES }, (_, v) =>
    (-(2n ** 63n) + span * BigInt(v * NODES + index)).toString(),
  );
}

function replicationRow(rf: number): Record<string, Buffer> {
  const entries: [string, string][] = [
    ['class', 'org.apache.cassandra.locator.SimpleStrategy'],
    ['replication_factor', String(rf)],
  ];
  const parts: Buffer[] = [Buffer.alloc(4)];
  parts[0]!.writeInt32BE(entries.length);
  for (const pair of entries) {
    for (const s of pair) {
      const b = Buffer.from(s);
      const len = Buffer.alloc(4);
      len.writeInt32BE(b.length);
      parts.push(len, b);
    }
  }
  return { keyspace_name: Buffer.from(`ks_rf${rf}`), replication: Buffer.concat(parts) };
}

function newRouter(): Router {
  const router = new Router();
  router.setRing(
    Array.from({ length: NODES }, (_, i) => ({
      key: `node${i}`,
      dataCenter: 'dc1',
      rack: 'r1',
      tokens: tokens(i),
    })),
  );
  router.setReplication([replicationRow(1), replicationRow(3)]);
  IDS.forEach((id, i) => {
    // Half single-column keys (marker 0), half composite (markers 0 and 1), RF 1 and RF 3.
    router.notePrepared(id, i % 4 < 2 ? 'ks_rf1' : 'ks_rf3', i % 2 === 0 ? [0] : [0, 1]);
  });
  return router;
}

function executeFrame(streamId: number, id: Buffer, composite: boolean): Buffer {
  const k = Buffer.alloc(4);
  k.writeInt32BE(randomInt(2 ** 31));
  const values = composite
    ? [k, Buffer.from(`c${streamId}`), Buffer.from('value')]
    : [k, Buffer.from('value')];
  const body = encodeExecute(VERSION, { id, parameters: { consistency: 1, values } });
  const header = encodeHeader({
    version: VERSION,
    response: false,
    flags: 0,
    streamId,
    opcode: Opcode.EXECUTE,
    bodyLength: body.length,
  });
  return Buffer.concat([header, body]);
}

const FRAMES = Array.from({ length: COUNT }, (_, i) =>
  executeFrame(i, IDS[i % IDS.length]!, i % 2 === 1),
);
const SINGLE = FRAMES.filter((_, i) => i % 2 === 0);
const COMPOSITE = FRAMES.filter((_, i) => i % 2 === 1);
const UNKNOWN = Array.from({ length: COUNT }, (_, i) => executeFrame(i, randomBytes(16), false));
const router = newRouter();

let sink = 0;
function decideAll(frames: readonly Buffer[]): () => void {
  return () => {
    for (const f of frames) sink += router.replicasOf(f, VERSION)?.length ?? 0;
  };
}

const hashOut = new Int32Array(2);
function hashOnly(): void {
  for (const f of SINGLE) {
    murmur3TokenInto(f, 40, 44, hashOut);
    sink += hashOut[0]!;
  }
}

async function forwarder(withRouter: Router | undefined): Promise<() => void> {
  const connections = Array.from({ length: NODES }, () => new InstantConnection());
  const session = await instantSession(connections, withRouter);
  const stream = Buffer.concat(FRAMES);
  const chunks = chunk(stream, 65536);
  const notIdempotent = (): boolean => false;
  const onResponse = (): void => {
    sink++;
  };
  return () => {
    const decoder = new FrameDecoder({
      direction: 'request',
      onFrame: (frame) => session.send({ frame, idempotent: notIdempotent, onResponse }),
    });
    for (const c of chunks) decoder.push(c);
    for (const c of connections) c.flush();
  };
}

const forwardRouted = await forwarder(router);
const forwardRoundRobin = await forwarder(undefined);

function ns(label: string, frames: number, op: () => void): string {
  const t = measure(label, frames, 0, op, { budgetMs: 700 });
  return `${label.padEnd(52)} ${(1e9 / t.framesPerSecond).toFixed(0).padStart(6)} ns/request`;
}

describe('token-aware routing decision', () => {
  const lines = [
    ns('murmur3 of a 4-byte key', SINGLE.length, hashOnly),
    ns('route EXECUTE, single-column key', SINGLE.length, decideAll(SINGLE)),
    ns('route EXECUTE, composite key (int, text)', COMPOSITE.length, decideAll(COMPOSITE)),
    ns('EXECUTE of an unknown id (not routed)', UNKNOWN.length, decideAll(UNKNOWN)),
    ns('session forwarding, round robin', COUNT, forwardRoundRobin),
    ns('session forwarding, token-aware', COUNT, forwardRouted),
  ];
  if (sink === 0) throw new Error('nothing was routed');
  console.log(
    `\nRouting (3 nodes x ${VNODES} vnodes, RF 1 and 3; one core)\n${lines.join('\n')}\n`,
  );
  bench('route single-column keys', decideAll(SINGLE));
  bench('route composite keys', decideAll(COMPOSITE));
  bench('session forwarding, token-aware', forwardRouted);
  bench('session forwarding, round robin', forwardRoundRobin);
});
