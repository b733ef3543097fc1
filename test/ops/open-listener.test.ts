// The start-up warning for a listener anyone can reach with nobody authenticated: when it is
// said, and the ways to make it go away (README "Security"). Checked as a function: tests only
// listen on loopback, where the warning is never due.

import { describe, expect, it } from 'vitest';
import { openListenerWarning } from '../../src/proxy.js';

const NONE = { clientAuth: { mode: 'none' as const, explicit: false }, proxyCaFile: undefined };

describe('openListenerWarning', () => {
  it('warns for every interface or a routable address when no client is authenticated', () => {
    for (const host of ['0.0.0.0', '::', '10.1.2.3', 'fd00::1', '::ffff:192.168.1.9']) {
      expect(openListenerWarning(NONE, host), host).toContain(
        'anyone who can reach this address uses the proxy\u2019s credentials',
      );
    }
  });

  it('says nothing on loopback', () => {
    for (const host of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1', 'localhost']) {
      expect(openListenerWarning(NONE, host), host).toBeUndefined();
    }
  });

  it('says nothing with client authentication, client certificates, or --client-auth none on purpose', () => {
    expect(
      openListenerWarning(
        { ...NONE, clientAuth: { mode: 'passthrough', explicit: true } },
        '0.0.0.0',
      ),
    ).toBeUndefined();
    expect(
      openListenerWarning(
        {
          ...NONE,
          clientAuth: { mode: 'users', users: [{ username: 'a', password: 'b' }], explicit: false },
        },
        '0.0.0.0',
      ),
    ).toBeUndefined();
    expect(openListenerWarning({ ...NONE, proxyCaFile: 'ca.pem' }, '0.0.0.0')).toBeUndefined();
    expect(
      openListenerWarning({ ...NONE, clientAuth: { mode: 'none', explicit: true } }, '0.0.0.0'),
    ).toBeUndefined();
  });
});
