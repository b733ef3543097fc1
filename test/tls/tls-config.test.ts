// The client TLS options as the parser reads them: --proxy-ca-file and --proxy-tls-min-version
// need the proxy's own certificate, and a bad version is one line with exit code 2.

import { describe, expect, it } from 'vitest';
import { fails, ok } from '../config/helpers.js';

const CP = ['--contact-points', '10.0.0.1'];
const TLS = [...CP, '--proxy-cert-file', 'proxy.pem', '--proxy-key-file', 'proxy.key'];

describe('client TLS options', () => {
  it('default to no client certificates and TLS 1.2 at least', () => {
    const c = ok(TLS);
    expect([c.proxyCaFile, c.proxyTlsMinVersion]).toEqual([undefined, 'TLSv1.2']);
  });

  it('read the CA file and the version from flags, environment and file', () => {
    const c = ok(TLS, { PROXY_CA_FILE: 'ca.pem', PROXY_TLS_MIN_VERSION: 'TLSv1.3' });
    expect([c.proxyCaFile, c.proxyTlsMinVersion]).toEqual(['ca.pem', 'TLSv1.3']);
    expect(ok([...TLS, '--proxy-tls-min-version', '1.2']).proxyTlsMinVersion).toBe('TLSv1.2');
  });

  it('refuse a CA file without the proxy certificate and key', () => {
    expect(fails([...CP, '--proxy-ca-file', 'ca.pem'])).toBe(
      '--proxy-ca-file needs TLS for clients: add --proxy-cert-file and --proxy-key-file',
    );
    expect(fails(CP, { PROXY_CA_FILE: 'ca.pem' })).toBe(
      'PROXY_CA_FILE needs TLS for clients: add --proxy-cert-file and --proxy-key-file',
    );
    // The certificate alone is the existing error, which comes first.
    expect(fails([...CP, '--proxy-cert-file', 'p.pem', '--proxy-ca-file', 'ca.pem'])).toBe(
      'both --proxy-cert-file and --proxy-key-file are required for TLS',
    );
  });

  it('refuse a minimum version without TLS, or one that is not TLSv1.2 or TLSv1.3', () => {
    expect(fails([...CP, '--proxy-tls-min-version', 'TLSv1.3'])).toBe(
      '--proxy-tls-min-version needs TLS for clients: add --proxy-cert-file and --proxy-key-file',
    );
    expect(fails([...TLS, '--proxy-tls-min-version', 'TLSv1.1'])).toBe(
      "invalid value 'TLSv1.1' for --proxy-tls-min-version: expected TLSv1.2 or TLSv1.3",
    );
    expect(fails(TLS, { PROXY_TLS_MIN_VERSION: 'ssl3' })).toBe(
      "invalid value 'ssl3' for PROXY_TLS_MIN_VERSION: expected TLSv1.2 or TLSv1.3",
    );
  });
});
