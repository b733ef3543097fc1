// Client authentication on the client side, over a fake cluster: the PasswordAuthenticator flow
// (STARTUP → AUTHENTICATE → AUTH_RESPONSE → AUTH_SUCCESS or AuthenticationError) in v3, v4 and v5
// (segments from AUTHENTICATE on), what is refused before the login, the delay after failures,
// the pre-login frame limit, and pass-through sessions keyed by the client's credentials.

import { afterEach, describe, expect, it } from 'vitest';
import type { ClientAuthConfig } from '../../src/client/auth/client-auth.js';
import { ErrorCode, Opcode } from '../../src/protocol/constants.js';
import { decodeAuthenticate } from '../../src/protocol/messages/auth.js';
import { encodeAuthResponse, encodeSaslPlain } from '../../src/protocol/messages/auth-response.js';
import { decodeError } from '../../src/protocol/messages/error.js';
import type { ClientLog } from '../../src/client/log.js';
import { FAKE_CLUSTER_PASSWORD } from './fake-backend.js';
import {
  TestConnection,
  type TestProxy,
  queryFrame,
  requestFrame,
  startTestProxy,
  startupFrame,
} from './test-connection.js';

const proxies: TestProxy[] = [];
const connections: TestConnection[] = [];
afterEach(async () => {
  for (const c of connections.splice(0)) c.close();
  for (const p of proxies.splice(0)) await p.close();
});

interface Line {
  level: string;
  fields: Record<string, unknown>;
  message: string;
}

async function proxyWith(auth: ClientAuthConfig): Promise<{ p: TestProxy; lines: Line[] }> {
  const lines: Line[] = [];
  const at =
    (level: string) =>
    (fields: object, message: string): void => {
      lines.push({ level, fields: fields as Record<string, unknown>, message });
    };
  const log: ClientLog = { debug: at('debug'), info: at('info'), warn: at('warn') };
  const p = await startTestProxy({ clientVersions: [5, 4, 3] }, { auth }, { log });
  proxies.push(p);
  return { p, lines };
}

const USERS: ClientAuthConfig = {
  mode: 'users',
  users: [{ username: 'app', password: 'app-password' }],
};

/** STARTUP, expecting AUTHENTICATE naming Cassandra's PasswordAuthenticator. */
async function startup(p: TestProxy, version: number): Promise<TestConnection> {
  const c = await TestConnection.open(p.port);
  connections.push(c);
  if (version === 5) c.segmentsAfterReadyWith('none');
  const answer = await c.request(startupFrame(version, 0, {}));
  expect(answer.readUInt8(4)).toBe(Opcode.AUTHENTICATE);
  expect(decodeAuthenticate(answer.subarray(9), version)).toBe(
    'org.apache.cassandra.auth.PasswordAuthenticator',
  );
  return c;
}

function authResponse(version: number, stream: number, user: string, password: string): Buffer {
  return requestFrame(
    version,
    stream,
    Opcode.AUTH_RESPONSE,
    encodeAuthResponse(encodeSaslPlain(user, password)),
  );
}

function errorOf(frame: Buffer): { code: number; message: string } {
  expect(frame.readUInt8(4)).toBe(Opcode.ERROR);
  return decodeError(frame.subarray(9), frame.readUInt8(0) & 0x7f);
}

describe('--client-auth users', () => {
  for (const version of [3, 4, 5]) {
    it(`logs a client in with SASL PLAIN in v${version}, and only then serves requests`, async () => {
      const { p, lines } = await proxyWith(USERS);
      const c = await startup(p, version);
      // Nothing but OPTIONS and AUTH_RESPONSE before the login.
      expect(errorOf(await c.request(queryFrame(version, 1, 'SELECT k FROM ks.t')))).toEqual({
        code: ErrorCode.PROTOCOL_ERROR,
        message: 'Unexpected message QUERY, expecting AUTH_RESPONSE',
      });
      expect(
        (await c.request(requestFrame(version, 2, Opcode.OPTIONS, Buffer.alloc(0)))).readUInt8(4),
      ).toBe(Opcode.SUPPORTED);
      const success = await c.request(authResponse(version, 3, 'app', 'app-password'));
      expect(success.readUInt8(4)).toBe(Opcode.AUTH_SUCCESS);
      expect((await c.request(queryFrame(version, 4, 'SELECT k FROM ks.t'))).readUInt8(4)).toBe(
        Opcode.RESULT,
      );
      expect(p.backend.received).toHaveLength(1);
      expect(p.side.limitsReport().auth).toEqual({ mode: 'users', successes: 1, failures: 0 });
      expect(
        lines.some((l) => l.message === 'client authenticated' && l.fields.user === 'app'),
      ).toBe(true);
    });
  }

  it('answers wrong credentials with Cassandra’s AuthenticationError after a growing delay, and logs no password', async () => {
    const { p, lines } = await proxyWith(USERS);
    const c = await startup(p, 4);
    expect(errorOf(await c.request(authResponse(4, 1, 'app', 'guess-1')))).toEqual({
      code: ErrorCode.AUTHENTICATION_ERROR,
      message: 'Provided username app and/or password are incorrect',
    });
    expect(errorOf(await c.request(authResponse(4, 2, 'nobody', 'guess-2')))).toEqual({
      code: ErrorCode.AUTHENTICATION_ERROR,
      message: 'Provided username nobody and/or password are incorrect',
    });
    // The right password still works on the same connection, and resets the delay.
    expect((await c.request(authResponse(4, 3, 'app', 'app-password'))).readUInt8(4)).toBe(
      Opcode.AUTH_SUCCESS,
    );
    expect(p.side.limitsReport().auth).toEqual({ mode: 'users', successes: 1, failures: 2 });
    const failures = lines.filter((l) => l.message === 'client authentication failed');
    // Each refusal waited out a longer delay (the throttle's, per client address).
    expect(failures.map((l) => [l.level, l.fields.user, l.fields.delayMs])).toEqual([
      ['info', 'app', 100],
      ['info', 'nobody', 200],
    ]);
    expect(JSON.stringify(lines)).not.toMatch(/guess-1|guess-2|app-password/);
  });

  it('refuses a token it cannot split as Cassandra does', async () => {
    const { p } = await proxyWith(USERS);
    const c = await startup(p, 4);
    const garbage = requestFrame(
      4,
      1,
      Opcode.AUTH_RESPONSE,
      encodeAuthResponse(Buffer.from('no-nul-here')),
    );
    expect(errorOf(await c.request(garbage))).toEqual({
      code: ErrorCode.AUTHENTICATION_ERROR,
      message: 'Authentication ID must not be null',
    });
  });

  it('keeps the 64 KiB frame limit until the login succeeds', async () => {
    const { p } = await proxyWith(USERS);
    const c = await startup(p, 4);
    const big = requestFrame(4, 1, Opcode.AUTH_RESPONSE, Buffer.alloc(70_000));
    c.send(big);
    // The framing is lost with the header: the error goes out on stream 0, then the close.
    const error = await c.take((f) => f.readUInt8(4) === Opcode.ERROR, 'the error');
    expect(errorOf(error).message).toContain('exceeds the limit of 65536');
    await c.waitClosed();
  });

  it('refuses AUTH_RESPONSE before STARTUP', async () => {
    const { p } = await proxyWith(USERS);
    const c = await TestConnection.open(p.port);
    connections.push(c);
    expect(errorOf(await c.request(authResponse(4, 1, 'app', 'app-password'))).message).toBe(
      'Unexpected AUTH_RESPONSE: no authentication is in progress',
    );
  });
});

describe('--client-auth passthrough', () => {
  it('opens the client’s own cluster session with its credentials, and passes the cluster’s refusal on', async () => {
    const { p } = await proxyWith({ mode: 'passthrough' });
    const refused = await startup(p, 4);
    expect(errorOf(await refused.request(authResponse(4, 1, 'bob', 'not-it')))).toEqual({
      code: ErrorCode.AUTHENTICATION_ERROR,
      message: 'Provided username bob and/or password are incorrect',
    });
    const c = await startup(p, 4);
    expect((await c.request(authResponse(4, 1, 'bob', FAKE_CLUSTER_PASSWORD))).readUInt8(4)).toBe(
      Opcode.AUTH_SUCCESS,
    );
    await c.request(queryFrame(4, 2, 'USE ks'));
    await c.request(queryFrame(4, 3, 'SELECT k FROM t'));
    // Every session this client used was opened with its own user.
    expect(p.backend.sessionCalls.map((s) => [s.keyspace, s.username])).toEqual([
      [undefined, 'bob'],
      [undefined, 'bob'],
      ['ks', 'bob'],
    ]);
    expect(p.side.limitsReport().auth).toEqual({ mode: 'passthrough', successes: 1, failures: 1 });
  });
});

describe('--client-auth none', () => {
  it('answers STARTUP with READY, and refuses AUTH_RESPONSE', async () => {
    const { p } = await proxyWith({ mode: 'none' });
    const c = await p.ready(4);
    expect(errorOf(await c.request(authResponse(4, 1, 'a', 'b'))).message).toBe(
      'Unexpected AUTH_RESPONSE: the proxy does not ask for authentication',
    );
  });
});
