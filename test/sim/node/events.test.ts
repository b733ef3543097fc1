// EVENTs (spec v4 §4.2.6): pushed on stream -1, in the connection's version and framing, only to
// connections that registered for the type; and the node's own lifecycle (stop refuses, start
// listens again on the same port).

import { connect } from 'node:net';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventType, Opcode, ResultKind } from '../../../src/protocol/constants.js';
import { decodeEvent } from '../../../src/protocol/messages/event.js';
import { encodeRegister } from '../../../src/protocol/messages/register.js';
import type { RawClient } from './raw-client.js';
import { errorOf, resultOf } from './raw-client.js';
import { handshake, startTestNode } from './fixture.js';
import type { TestNode } from './fixture.js';
import { createStubEngine } from './stub-engine.js';

const engine = createStubEngine();
let a: TestNode;
let b: TestNode;

beforeAll(async () => {
  a = await startTestNode({ engine, protocolVersions: [3, 4, 5] });
  b = await startTestNode({ engine, protocolVersions: [3, 4, 5] });
});

afterAll(async () => {
  await a.node.stop();
  await b.node.stop();
});

async function registered(
  node: TestNode,
  version: number,
  types: string[],
  options: Record<string, string> = {},
): Promise<RawClient> {
  const client = await node.connect();
  await handshake(client, version, options);
  client.request(version, Opcode.REGISTER, encodeRegister(types), 1);
  const ready = await client.next();
  expect(ready.header).toMatchObject({ opcode: Opcode.READY, streamId: 1 });
  return client;
}

describe('SCHEMA_CHANGE', () => {
  it('reaches every registered connection of every node, in its own version and framing', async () => {
    const onA4 = await registered(a, 4, ['SCHEMA_CHANGE']);
    const onB3 = await registered(b, 3, ['SCHEMA_CHANGE', 'STATUS_CHANGE']);
    const onB5 = await registered(b, 5, ['SCHEMA_CHANGE'], { COMPRESSION: 'lz4' });
    const statusOnly = await registered(a, 4, ['STATUS_CHANGE']);

    onA4.query(4, 'CREATE KEYSPACE ks_events WITH replication = {}', 5);
    const frames = await onA4.nextFrames(2);
    const event = frames.find((f) => f.header.opcode === Opcode.EVENT)!;
    const result = frames.find((f) => f.header.opcode === Opcode.RESULT)!;
    expect(result.header.streamId).toBe(5);
    expect(resultOf(result).kind).toBe(ResultKind.SCHEMA_CHANGE);
    const expected = {
      type: EventType.SCHEMA_CHANGE,
      change: { changeType: 'CREATED', target: 'KEYSPACE', keyspace: 'ks_events' },
    };
    expect(event.header).toMatchObject({ version: 4, streamId: -1 });
    expect(decodeEvent(event.body, 4)).toEqual(expected);

    for (const [client, version] of [
      [onB3, 3],
      [onB5, 5],
    ] as const) {
      const pushed = await client.next();
      expect(pushed.header).toMatchObject({ version, streamId: -1, opcode: Opcode.EVENT });
      expect(decodeEvent(pushed.body, version)).toEqual(expected);
    }
    // Not registered for SCHEMA_CHANGE: nothing (an OPTIONS answer arrives first).
    statusOnly.request(4, Opcode.OPTIONS, Buffer.alloc(0), 9);
    expect((await statusOnly.next()).header.opcode).toBe(Opcode.SUPPORTED);
    for (const c of [onA4, onB3, onB5, statusOnly]) c.close();
  });

  it('sends nothing to a connection that did not register', async () => {
    const client = await a.connect();
    await handshake(client, 4);
    client.query(4, 'CREATE KEYSPACE ks_quiet WITH replication = {}', 2);
    const frame = await client.next();
    expect(frame.header.opcode).toBe(Opcode.RESULT);
    client.query(4, 'SELECT keyspace', 3);
    expect((await client.next()).header.streamId).toBe(3);
    client.close();
  });

  it('refuses REGISTER for an unknown event type as malformed', async () => {
    const client = await a.connect();
    await handshake(client, 4);
    client.request(4, Opcode.REGISTER, Buffer.from([0, 1, 0, 3, 0x46, 0x4f, 0x4f]), 2);
    expect(errorOf(await client.next()).message).toContain('unknown event type');
    await client.waitClosed();
  });
});

describe('STATUS_CHANGE and TOPOLOGY_CHANGE', () => {
  it('sendEvent pushes to connections registered for that type only', async () => {
    const status = await registered(a, 4, ['STATUS_CHANGE']);
    const topology = await registered(a, 4, ['TOPOLOGY_CHANGE']);
    a.node.sendEvent({
      type: EventType.STATUS_CHANGE,
      change: 'DOWN',
      address: { address: '127.0.0.2', port: 9042 },
    });
    a.node.sendEvent({
      type: EventType.TOPOLOGY_CHANGE,
      change: 'NEW_NODE',
      address: { address: '127.0.0.3', port: 9042 },
    });
    const s = await status.next();
    expect(s.header.streamId).toBe(-1);
    expect(decodeEvent(s.body, 4)).toEqual({
      type: 'STATUS_CHANGE',
      change: 'DOWN',
      address: { address: '127.0.0.2', port: 9042 },
    });
    const t = await topology.next();
    expect(decodeEvent(t.body, 4)).toMatchObject({ type: 'TOPOLOGY_CHANGE', change: 'NEW_NODE' });
    expect(status.pending + topology.pending).toBe(0);
    status.close();
    topology.close();
  });
});

describe('stop and start', () => {
  it('closes connections, refuses new ones, then listens again on the same port', async () => {
    const node = await startTestNode();
    const client = await node.connect();
    await handshake(client, 4);
    const port = node.node.identity.port;
    await node.node.stop();
    expect(node.node.up).toBe(false);
    await client.waitClosed();
    const refused = connect({ host: '127.0.0.1', port });
    const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');

    await node.node.start();
    expect(node.node.up).toBe(true);
    expect(node.node.identity.port).toBe(port);
    const again = await node.connect();
    await handshake(again, 4);
    again.close();
    await node.node.stop();
  });
});
