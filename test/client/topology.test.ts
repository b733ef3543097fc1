import { describe, expect, it } from 'vitest';
import { ProxyError, ProxyErrorCode } from '../../src/errors.js';
import { Consistency } from '../../src/protocol/constants.js';
import {
  type ClientSideConfig,
  clientSideConfig,
  validateClientSideConfig,
} from '../../src/client/config.js';
import { SINGLE_NODE_TOKEN, buildTopology } from '../../src/client/topology.js';

function configError(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(ProxyError.isProxyError(err) && err.code).toBe(ProxyErrorCode.CONFIG_INVALID);
    return (err as Error).message;
  }
  throw new Error('expected a CONFIG_INVALID error');
}

function topology(overrides: Partial<ClientSideConfig>) {
  return buildTopology(clientSideConfig(overrides));
}

describe('buildTopology', () => {
  it('is one node owning the whole ring by default, its address left to each connection', () => {
    expect(topology({})).toEqual({
      rpcAddress: undefined,
      dataCenter: undefined,
      tokens: [SINGLE_NODE_TOKEN],
      peers: [],
    });
  });

  it('splits the ring evenly over the distinct nodes, sorted by address bytes', () => {
    // Self listed among the peers, as a shared YAML does: three nodes, not four.
    const t = topology({
      rpcAddress: '10.0.0.2',
      peers: [{ rpcAddress: '10.0.0.10' }, { rpcAddress: '10.0.0.2' }, { rpcAddress: '10.0.0.1' }],
    });
    expect(t.tokens).toEqual(['-3074457345618258602']);
    expect(t.peers.map((p) => [p.rpcAddress, p.tokens])).toEqual([
      ['10.0.0.10', ['3074457345618258604']],
      ['10.0.0.1', ['-9223372036854775808']],
    ]);
  });

  it('splits in two halves for two proxies (cql-proxy would count the self entry twice)', () => {
    const t = topology({
      rpcAddress: '127.0.0.1',
      peers: [{ rpcAddress: '127.0.0.1' }, { rpcAddress: '127.0.0.2' }],
    });
    expect(t.tokens).toEqual(['-9223372036854775808']);
    expect(t.peers.map((p) => p.tokens)).toEqual([['0']]);
  });

  it('takes configured tokens as they are', () => {
    const t = topology({
      rpcAddress: '10.0.0.1',
      tokens: ['5'],
      peers: [{ rpcAddress: '10.0.0.2', tokens: ['7', '9'], dataCenter: 'b' }],
    });
    expect(t.tokens).toEqual(['5']);
    expect(t.peers).toEqual([{ rpcAddress: '10.0.0.2', dataCenter: 'b', tokens: ['7', '9'] }]);
  });

  it('refuses inconsistent peer settings with one clear line each', () => {
    expect(configError(() => topology({ peers: [{ rpcAddress: '10.0.0.2' }] }))).toBe(
      'peers are configured but rpcAddress is not set',
    );
    expect(
      configError(() => topology({ rpcAddress: '10.0.0.1', peers: [{ rpcAddress: '' }] })),
    ).toBe('no rpcAddress provided for peer #1');
    expect(
      configError(() => topology({ rpcAddress: '10.0.0.1', peers: [{ rpcAddress: 'nope' }] })),
    ).toBe("invalid rpc address 'nope' for peer #1");
    expect(
      configError(() =>
        topology({ rpcAddress: '10.0.0.1', tokens: ['1'], peers: [{ rpcAddress: '10.0.0.2' }] }),
      ),
    ).toBe('tokens must be provided for all peer proxies if tokens are provided for this proxy');
    expect(
      configError(() =>
        topology({ rpcAddress: '10.0.0.1', peers: [{ rpcAddress: '10.0.0.2', tokens: ['1'] }] }),
      ),
    ).toContain('tokens are given for peer proxies but not for this proxy');
    expect(
      configError(() =>
        topology({
          rpcAddress: '10.0.0.1',
          peers: [{ rpcAddress: '10.0.0.2' }, { rpcAddress: '10.0.0.2' }],
        }),
      ),
    ).toBe('peer 10.0.0.2 is listed twice');
  });
});

describe('validateClientSideConfig', () => {
  it('accepts the defaults: loopback, 9042, rewrite to LOCAL_QUORUM when asked', () => {
    const config = clientSideConfig();
    expect(config.bind).toEqual({ host: '127.0.0.1', port: 9042 });
    expect(config.writeConsistencyOverride).toBe(Consistency.LOCAL_QUORUM);
    expect(() => validateClientSideConfig(config)).not.toThrow();
  });

  it('refuses bad values', () => {
    const check = (overrides: Partial<ClientSideConfig>): string =>
      configError(() => validateClientSideConfig(clientSideConfig(overrides)));
    expect(check({ bind: { host: '127.0.0.1', port: 70000 } })).toBe(
      'invalid bind port 70000: expected 0-65535',
    );
    expect(check({ rpcAddress: 'proxy.local' })).toBe(
      "invalid rpc address 'proxy.local': expected an IP address",
    );
    expect(check({ maxClientConnections: 0 })).toContain('invalid max client connections 0');
    expect(check({ maxFrameLength: 10 })).toContain('invalid max frame length 10');
    expect(check({ tokens: [] })).toBe('tokens must not be empty when given');
    expect(
      check({
        unsupportedWriteConsistencies: new Set([Consistency.ONE, Consistency.LOCAL_QUORUM]),
      }),
    ).toBe(
      'the write consistency override LOCAL_QUORUM (writeConsistencyOverride) is itself listed in unsupportedWriteConsistencies',
    );
    expect(check({ writeConsistencyOverride: 99 })).toBe('unknown consistency level 99');
  });
});
