// Shared set-up for the node wire tests: a node on 127.0.0.1 (port picked by the system) over the
// stub engine, and the handshake every test that is not about the handshake goes through.

import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { Opcode } from '../../../src/protocol/constants.js';
import { startCqlNode } from '../../../sim/node/cql-node.js';
import type { CqlNode, CqlNodeOptions } from '../../../sim/node/cql-node.js';
import { RawClient } from './raw-client.js';
import { createStubEngine } from './stub-engine.js';
import type { StubEngine } from './stub-engine.js';

export const TOKEN = `AstraCS:${'a'.repeat(24)}:${'0123456789abcdef'.repeat(4)}`;

export interface TestNode {
  node: CqlNode;
  engine: StubEngine;
  connect(): Promise<RawClient>;
}

export async function startTestNode(
  overrides: Partial<CqlNodeOptions> = {},
  host = '127.0.0.1',
): Promise<TestNode> {
  const engine = createStubEngine();
  const node = await startCqlNode({
    identity: {
      hostId: randomUUID(),
      address: host,
      port: 0,
      dataCenter: 'dc1',
      rack: 'rack1',
      token: '0',
    },
    host,
    port: 0,
    engine,
    token: TOKEN,
    ...overrides,
  });
  return {
    node,
    engine: (overrides.engine as StubEngine | undefined) ?? engine,
    connect: () => RawClient.connect(host, node.identity.port),
  };
}

/** STARTUP (with `options`) and the SASL PLAIN exchange; leaves the client ready. */
export async function handshake(
  client: RawClient,
  version: number,
  options: Record<string, string> = {},
): Promise<void> {
  client.startup(version, options);
  const authenticate = await client.next();
  expect(authenticate.header.opcode).toBe(Opcode.AUTHENTICATE);
  if (version === 5) client.useSegments(options.COMPRESSION === 'lz4' ? 'lz4' : 'none');
  else if (options.COMPRESSION === 'lz4' || options.COMPRESSION === 'snappy') {
    client.useCompression(options.COMPRESSION);
  }
  client.authenticate(version, 'token', TOKEN, 1);
  const success = await client.next();
  expect(success.header.opcode).toBe(Opcode.AUTH_SUCCESS);
}
