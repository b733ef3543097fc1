// UpstreamConnection against the simulated Astra database (sim/simulator.ts): real CQL nodes
// behind the SNI proxy, reached with the secure connect bundle the simulator writes. The storage
// engine is a stand-in that knows four statements, so these tests see the wire, not an engine.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator } from '../../sim/simulator.js';
import type { Simulator } from '../../sim/simulator.js';
import { CqlRequestError } from '../../sim/engine/contract.js';
import type { Engine, EngineResult, ExecutionContext } from '../../sim/engine/contract.js';
import { makeCertificateAuthority, makeClientCertificate } from '../../sim/tls/certs.js';
import { readSecureConnectBundle } from '../../src/bundle/secure-connect-bundle.js';
import type { SecureConnectBundle } from '../../src/bundle/secure-connect-bundle.js';
import { ProxyError, ProxyErrorCode } from '../../src/errors.js';
import {
  DataType,
  ErrorCode,
  EventType,
  HEADER_LENGTH,
  ProtocolVersion,
  ResultKind,
} from '../../src/protocol/constants.js';
import { nativeType } from '../../src/protocol/messages/column-type.js';
import { decodeEvent } from '../../src/protocol/messages/event.js';
import type { ResultMessage } from '../../src/protocol/messages/result.js';
import type { SchemaChange } from '../../src/protocol/messages/schema-change.js';
import { SchemaChangeTarget, SchemaChangeType } from '../../src/protocol/messages/schema-change.js';
import { encodeText } from '../../src/protocol/values.js';
import { UpstreamConnection } from '../../src/upstream/connection.js';
import type { UpstreamConnectionOptions } from '../../src/upstream/connection.js';
import { CqlSessionError } from '../../src/upstream/contract.js';
import { astraEndpoint, contactPointEndpoint } from '../../src/upstream/endpoint.js';
import type { Endpoint } from '../../src/upstream/endpoint.js';

const DSE_AUTHENTICATOR = 'com.datastax.bdp.cassandra.auth.DseAuthenticator';

/**
 *   CREATE KEYSPACE [IF NOT EXISTS] <name> ...   remembered
 *   USE <name> | USE "<name>"                    SET_KEYSPACE, or Invalid "Keyspace '<name>' does not exist"
 *   SELECT node                                  one row: the coordinator's host id, as text
 *   anything else                                VOID
 */
function standInEngine(): Engine {
  const keyspaces = new Set<string>();
  const execute = (query: string, _o: unknown, context: ExecutionContext): EngineResult => {
    const create = /^CREATE KEYSPACE (?:IF NOT EXISTS )?(\w+)/i.exec(query);
    if (create !== null) {
      keyspaces.add(create[1]!);
      return { kind: 'void' };
    }
    const use = /^USE (?:"((?:[^"]|"")+)"|(\w+))$/i.exec(query);
    if (use !== null) {
      const name = use[1]?.replace(/""/g, '"') ?? use[2]!.toLowerCase();
      if (!keyspaces.has(name)) {
        throw new CqlRequestError({
          code: ErrorCode.INVALID,
          message: `Keyspace '${name}' does not exist`,
        });
      }
      return { kind: 'set_keyspace', keyspace: name };
    }
    if (query === 'SELECT node') {
      return {
        kind: 'rows',
        columns: [
          { keyspace: 'sim', table: 'node', name: 'host_id', type: nativeType(DataType.VARCHAR) },
        ],
        rows: [[encodeText(context.node.hostId)]],
      };
    }
    return { kind: 'void' };
  };
  const unsupported = (): never => {
    throw new CqlRequestError({ code: ErrorCode.INVALID, message: 'not in the stand-in engine' });
  };
  return {
    execute,
    prepare: unsupported,
    preparedInfo: () => undefined,
    executePrepared: unsupported,
    batch: unsupported,
    onSchemaChange: (_listener: (change: SchemaChange) => void) => () => undefined,
  };
}

function hostIdOf(result: ResultMessage): string {
  if (result.kind !== ResultKind.ROWS) throw new Error(`expected rows, got kind ${result.kind}`);
  return result.rows[0]![0]!.toString('utf8');
}

function sniAddress(sim: Simulator): { host: string; port: number } {
  const [host, port] = sim.info.sniProxy.split(':');
  return { host: host!, port: Number(port) };
}

function options(
  sim: Simulator,
  endpoint: Endpoint,
  overrides: Partial<UpstreamConnectionOptions> = {},
): UpstreamConnectionOptions {
  return {
    endpoint,
    version: ProtocolVersion.V4,
    credentials: { username: 'token', password: sim.info.token },
    connectTimeoutMs: 5000,
    heartbeatIntervalMs: 0,
    idleTimeoutMs: 0,
    maxFrameLength: 1 << 24,
    ...overrides,
  };
}

async function withConnection(
  connectOptions: UpstreamConnectionOptions,
  body: (connection: UpstreamConnection) => Promise<void>,
): Promise<void> {
  const connection = await UpstreamConnection.connect(connectOptions);
  try {
    await body(connection);
  } finally {
    connection.close();
  }
}

async function failure(connectOptions: UpstreamConnectionOptions): Promise<Error> {
  try {
    const connection = await UpstreamConnection.connect(connectOptions);
    connection.close();
  } catch (err) {
    return err as Error;
  }
  throw new Error('connect() resolved');
}

describe('UpstreamConnection against the simulator (v3/v4 nodes, PasswordAuthenticator)', () => {
  let sim: Simulator;
  let bundle: SecureConnectBundle;

  beforeAll(async () => {
    sim = await startSimulator({ nodes: 2, engine: standInEngine(), keyspace: 'store' });
    bundle = readSecureConnectBundle(sim.bundle.zip, 'simulator bundle');
  });
  afterAll(async () => {
    await sim.close();
  });

  it('reaches each node by host id through the SNI proxy, with the bundle', async () => {
    for (const node of sim.info.nodes) {
      const endpoint = astraEndpoint(bundle, sniAddress(sim), node.hostId);
      await withConnection(options(sim, endpoint), async (connection) => {
        expect(connection.version).toBe(4);
        expect(connection.supported.get('PRODUCT_TYPE')).toEqual(['DATASTAX_APOLLO']);
        expect(hostIdOf(await connection.query('SELECT node'))).toBe(node.hostId);
      });
    }
  });

  it.each([
    ['DSE_V2', ProtocolVersion.DSE_V2],
    ['v5', ProtocolVersion.V5],
  ])('negotiates down from %s to v4', async (_name, version) => {
    const endpoint = astraEndpoint(bundle, sniAddress(sim), sim.info.nodes[0]!.hostId);
    await withConnection(options(sim, endpoint, { version, negotiate: true }), async (c) => {
      expect(c.version).toBe(4);
      expect(hostIdOf(await c.query('SELECT node'))).toBe(sim.info.nodes[0]!.hostId);
    });
  });

  it('connects with v3', async () => {
    const endpoint = astraEndpoint(bundle, sniAddress(sim), sim.info.nodes[1]!.hostId);
    await withConnection(options(sim, endpoint, { version: 3 }), async (c) => {
      expect(hostIdOf(await c.query('SELECT node'))).toBe(sim.info.nodes[1]!.hostId);
    });
  });

  it.each(['lz4', 'snappy'] as const)('compresses with %s', async (compression) => {
    const endpoint = astraEndpoint(bundle, sniAddress(sim), sim.info.nodes[0]!.hostId);
    await withConnection(options(sim, endpoint, { compression }), async (c) => {
      expect(hostIdOf(await c.query('SELECT node'))).toBe(sim.info.nodes[0]!.hostId);
    });
  });

  it('refuses v5 without negotiation', async () => {
    const endpoint = astraEndpoint(bundle, sniAddress(sim), sim.info.nodes[0]!.hostId);
    const error = await failure(options(sim, endpoint, { version: 5 }));
    expect(ProxyError.isProxyError(error) && error.code).toBe(
      ProxyErrorCode.PROTOCOL_VERSION_REFUSED,
    );
    expect(error.message).toContain('Invalid or unsupported protocol version (5)');
  });

  it('a wrong token: AUTHENTICATION_FAILED without the token in the message', async () => {
    const endpoint = astraEndpoint(bundle, sniAddress(sim), sim.info.nodes[0]!.hostId);
    const wrong = 'AstraCS:not-the-token';
    const error = await failure(
      options(sim, endpoint, { credentials: { username: 'token', password: wrong } }),
    );
    expect(ProxyError.isProxyError(error) && error.code).toBe(ProxyErrorCode.AUTHENTICATION_FAILED);
    expect(error.message).toContain(`authentication to ${endpoint.key} failed: `);
    expect(error.message).not.toContain(wrong);
  });

  it('no credentials: says the cluster requires authentication', async () => {
    const endpoint = astraEndpoint(bundle, sniAddress(sim), sim.info.nodes[0]!.hostId);
    const { credentials: _dropped, ...anonymous } = options(sim, endpoint);
    const error = await failure(anonymous);
    expect(ProxyError.isProxyError(error) && error.code).toBe(ProxyErrorCode.AUTHENTICATION_FAILED);
    expect(error.message).toContain(
      'requires authentication (org.apache.cassandra.auth.PasswordAuthenticator)',
    );
  });

  it('a bundle from another CA is refused', async () => {
    const otherCa = makeCertificateAuthority('ca.other.test');
    const stranger = makeClientCertificate(otherCa, 'client');
    const foreign = { host: bundle.host, ca: otherCa.certPem, ...pem(stranger) };
    const endpoint = astraEndpoint(foreign, sniAddress(sim), sim.info.nodes[0]!.hostId);
    const error = await failure(options(sim, endpoint));
    expect(ProxyError.isProxyError(error) && error.code).toBe(ProxyErrorCode.CONNECTION_FAILED);
  });

  it('USE: the bundle keyspace works, a missing one fails with the node code and message', async () => {
    const endpoint = astraEndpoint(bundle, sniAddress(sim), sim.info.nodes[0]!.hostId);
    await withConnection(options(sim, endpoint, { keyspace: 'store' }), async (c) => {
      expect(hostIdOf(await c.query('SELECT node'))).toBe(sim.info.nodes[0]!.hostId);
    });
    const error = await failure(options(sim, endpoint, { keyspace: 'missing' }));
    expect(CqlSessionError.isCqlSessionError(error)).toBe(true);
    expect((error as CqlSessionError).code).toBe(ErrorCode.INVALID);
    expect(error.message).toBe("Keyspace 'missing' does not exist");
  });

  it('connects to a node directly by contact point (plain TCP)', async () => {
    const [address] = sim.info.contactPoints;
    const endpoint = contactPointEndpoint(address!, sim.info.port);
    await withConnection(options(sim, endpoint), async (c) => {
      expect(hostIdOf(await c.query('SELECT node'))).toBe(sim.info.nodes[0]!.hostId);
    });
  });

  it('receives events it registered for', async () => {
    const events: Buffer[] = [];
    const endpoint = astraEndpoint(bundle, sniAddress(sim), sim.info.nodes[1]!.hostId);
    await withConnection(
      options(sim, endpoint, {
        compression: 'lz4',
        onEvent: (frame) => events.push(Buffer.from(frame)),
      }),
      async (c) => {
        await c.register([EventType.SCHEMA_CHANGE]);
        const change = {
          changeType: SchemaChangeType.CREATED,
          target: SchemaChangeTarget.KEYSPACE,
          keyspace: 'fresh',
        } as const;
        sim.nodes[1]!.sendEvent({ type: EventType.SCHEMA_CHANGE, change });
        for (let i = 0; i < 200 && events.length === 0; i++) {
          await new Promise((r) => setTimeout(r, 10));
        }
        expect(events).toHaveLength(1);
        expect(decodeEvent(events[0]!.subarray(HEADER_LENGTH), 4)).toEqual({
          type: EventType.SCHEMA_CHANGE,
          change,
        });
      },
    );
  });

  it('closes the connection when the node stops reading (idle timeout)', async () => {
    const endpoint = astraEndpoint(bundle, sniAddress(sim), sim.info.nodes[0]!.hostId);
    const closed: (Error | undefined)[] = [];
    const connection = await UpstreamConnection.connect(
      options(sim, endpoint, {
        heartbeatIntervalMs: 30,
        idleTimeoutMs: 150,
        onClose: (_c, error) => closed.push(error),
      }),
    );
    sim.nodes[0]!.pauseReading();
    try {
      for (let i = 0; i < 300 && closed.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      sim.nodes[0]!.resumeReading();
      connection.close();
    }
    expect(closed).toHaveLength(1);
    expect(closed[0]!.message).toBe(`no response from ${endpoint.key} within 150 ms`);
  });
});

describe('UpstreamConnection against the simulator (v5 nodes, DseAuthenticator)', () => {
  let sim: Simulator;
  let bundle: SecureConnectBundle;

  beforeAll(async () => {
    sim = await startSimulator({
      nodes: 1,
      engine: standInEngine(),
      protocolVersions: [3, 4, 5],
      authenticatorClass: DSE_AUTHENTICATOR,
    });
    bundle = readSecureConnectBundle(sim.bundle.zip, 'simulator bundle');
  });
  afterAll(async () => {
    await sim.close();
  });

  it.each([undefined, 'lz4'] as const)(
    'negotiates v5 from DSE_V2 (segments, compression %s) and authenticates with PLAIN-START',
    async (compression) => {
      const endpoint = astraEndpoint(bundle, sniAddress(sim), sim.info.nodes[0]!.hostId);
      const connectOptions = options(sim, endpoint, {
        version: ProtocolVersion.DSE_V2,
        negotiate: true,
        ...(compression === undefined ? {} : { compression }),
      });
      await withConnection(connectOptions, async (c) => {
        expect(c.version).toBe(5);
        expect(hostIdOf(await c.query('SELECT node'))).toBe(sim.info.nodes[0]!.hostId);
        // A second round trip after the switch to segments.
        expect((await c.query('INSERT whatever')).kind).toBe(ResultKind.VOID);
      });
    },
  );

  it('authenticates v4 with DseAuthenticator and snappy', async () => {
    const endpoint = astraEndpoint(bundle, sniAddress(sim), sim.info.nodes[0]!.hostId);
    await withConnection(options(sim, endpoint, { compression: 'snappy' }), async (c) => {
      expect(hostIdOf(await c.query('SELECT node'))).toBe(sim.info.nodes[0]!.hostId);
    });
  });
});

function pem(pair: { certPem: string; keyPem: string }): { cert: string; key: string } {
  return { cert: pair.certPem, key: pair.keyPem };
}
