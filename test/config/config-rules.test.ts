// Each rule that ties several client-side settings together is stated once
// (src/client/config-rules.ts) and applied by both layers: the command-line parser, whose line
// names what the user wrote, and the client side's own checks for library users, which name the
// ClientSideConfig fields. Same rule, same sentence, different names.

import { describe, expect, it } from 'vitest';
import { clientSideConfig, validateClientSideConfig } from '../../src/client/config.js';
import { buildTopology } from '../../src/client/topology.js';
import { ProxyError } from '../../src/errors.js';
import { Consistency } from '../../src/protocol/constants.js';
import { fails } from './helpers.js';

const CP = ['--contact-points', '127.0.0.1'];

function libraryError(build: () => unknown): string {
  try {
    build();
  } catch (err) {
    if (ProxyError.isProxyError(err)) return err.message;
    throw err;
  }
  throw new Error('expected a CONFIG_INVALID ProxyError');
}

describe('rules shared by the config parser and the client side', () => {
  it('the override cannot be one of the levels it replaces', () => {
    expect(
      fails([
        ...CP,
        '--unsupported-write-consistencies',
        'ONE',
        '--unsupported-write-consistency-override',
        'one',
      ]),
    ).toBe(
      'the write consistency override ONE (--unsupported-write-consistency-override) is itself listed in --unsupported-write-consistencies',
    );
    expect(
      libraryError(() =>
        validateClientSideConfig(
          clientSideConfig({
            unsupportedWriteConsistencies: new Set([Consistency.ONE]),
            writeConsistencyOverride: Consistency.ONE,
          }),
        ),
      ),
    ).toBe(
      'the write consistency override ONE (writeConsistencyOverride) is itself listed in unsupportedWriteConsistencies',
    );
  });

  it('peers need this proxy to have an address, and each peer one of its own', () => {
    const file = (yaml: string): Record<string, string> => ({ 'p.yaml': yaml });
    expect(
      fails([...CP, '--config', 'p.yaml'], {}, file('peers:\n  - rpc-address: 10.0.0.2\n')),
    ).toBe('peers in p.yaml are configured but --rpc-address is not set');
    expect(
      libraryError(() => buildTopology(clientSideConfig({ peers: [{ rpcAddress: '10.0.0.2' }] }))),
    ).toBe('peers are configured but rpcAddress is not set');
    expect(
      fails(
        [...CP, '--config', 'p.yaml', '--rpc-address', '10.0.0.1'],
        {},
        file('peers:\n  - data-center: dc1\n'),
      ),
    ).toBe("no 'rpc-address' provided for peer #1");
    expect(
      libraryError(() =>
        buildTopology(clientSideConfig({ rpcAddress: '10.0.0.1', peers: [{ rpcAddress: '' }] })),
      ),
    ).toBe('no rpcAddress provided for peer #1');
  });

  it('tokens for this proxy mean tokens for every peer', () => {
    const message =
      'tokens must be provided for all peer proxies if tokens are provided for this proxy';
    expect(
      fails(
        [...CP, '--config', 'p.yaml', '--rpc-address', '10.0.0.1', '--tokens', '1'],
        {},
        { 'p.yaml': 'peers:\n  - rpc-address: 10.0.0.2\n' },
      ),
    ).toBe(message);
    expect(
      libraryError(() =>
        buildTopology(
          clientSideConfig({
            rpcAddress: '10.0.0.1',
            tokens: ['1'],
            peers: [{ rpcAddress: '10.0.0.2' }],
          }),
        ),
      ),
    ).toBe(message);
  });
});
