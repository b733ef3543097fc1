// The program's two kinds of expected error (src/errors.ts, src/protocol/errors.ts) are one shape,
// CodedError: a stable code from one CQLP_ namespace, the cause kept, and a brand check that
// tells the two apart.

import { describe, expect, it } from 'vitest';
import { ProxyError, ProxyErrorCode } from '../src/errors.js';
import { CodedError } from '../src/protocol/coded-error.js';
import { ProtocolError, ProtocolErrorCode, malformed } from '../src/protocol/errors.js';

describe('CodedError', () => {
  it('is what both kinds are, each with its name, code and cause', () => {
    const cause = new Error('ECONNREFUSED');
    const proxy = new ProxyError(ProxyErrorCode.CONNECTION_FAILED, 'cannot connect', { cause });
    const protocol = new ProtocolError(ProtocolErrorCode.UNSUPPORTED_VERSION, 'v9', {
      version: 9,
    });
    expect(proxy).toBeInstanceOf(CodedError);
    expect(protocol).toBeInstanceOf(CodedError);
    expect([proxy.name, proxy.code, proxy.message, proxy.cause]).toEqual([
      'ProxyError',
      'CQLP_CONNECTION_FAILED',
      'cannot connect',
      cause,
    ]);
    expect([protocol.name, protocol.code, protocol.version]).toEqual([
      'ProtocolError',
      'CQLP_UNSUPPORTED_VERSION',
      9,
    ]);
    expect('cause' in malformed('short frame')).toBe(false);
  });

  it('tells the two kinds apart by their brands', () => {
    const proxy = new ProxyError(ProxyErrorCode.CONFIG_INVALID, 'bad');
    const protocol = malformed('bad');
    expect([ProxyError.isProxyError(proxy), ProxyError.isProxyError(protocol)]).toEqual([
      true,
      false,
    ]);
    expect([ProtocolError.isProtocolError(protocol), ProtocolError.isProtocolError(proxy)]).toEqual(
      [true, false],
    );
    expect(ProxyError.isProxyError(new Error('plain'))).toBe(false);
  });

  it('draws codes from one namespace, no code in both', () => {
    const proxyCodes: string[] = Object.values(ProxyErrorCode);
    const protocolCodes: string[] = Object.values(ProtocolErrorCode);
    for (const code of [...proxyCodes, ...protocolCodes]) expect(code).toMatch(/^CQLP_[A-Z_]+$/);
    expect(proxyCodes.filter((c) => protocolCodes.includes(c))).toEqual([]);
  });
});
