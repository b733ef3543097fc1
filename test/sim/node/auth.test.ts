// Authentication as Astra runs it: AUTHENTICATE with the configured class, SASL PLAIN with the
// username `token` and the AstraCS token (docs/astra.md §4), DseAuthenticator's PLAIN-START step.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, Opcode } from '../../../src/protocol/constants.js';
import {
  decodeAuthChallenge,
  decodeAuthenticate,
  decodeAuthSuccess,
} from '../../../src/protocol/messages/auth.js';
import { encodeAuthResponse } from '../../../src/protocol/messages/auth-response.js';
import {
  ASTRA_AUTHENTICATOR,
  DSE_AUTHENTICATOR,
  PASSWORD_AUTHENTICATOR,
} from '../../../sim/node/authenticator.js';
import { ALLOW_ALL_AUTHENTICATOR } from '../../../sim/node/connection.js';
import { errorOf, resultOf } from './raw-client.js';
import { TOKEN, startTestNode } from './fixture.js';
import type { TestNode } from './fixture.js';

let password: TestNode;
let dse: TestNode;
let astra: TestNode;
let allowAll: TestNode;

beforeAll(async () => {
  password = await startTestNode();
  dse = await startTestNode({ authenticatorClass: DSE_AUTHENTICATOR });
  astra = await startTestNode({ authenticatorClass: ASTRA_AUTHENTICATOR });
  allowAll = await startTestNode({ authenticatorClass: ALLOW_ALL_AUTHENTICATOR });
});

afterAll(async () => {
  for (const n of [password, dse, astra, allowAll]) await n.node.stop();
});

describe('SASL PLAIN with the token', () => {
  for (const [name, node, className] of [
    ['PasswordAuthenticator', () => password, PASSWORD_AUTHENTICATOR],
    ['AstraAuthenticator', () => astra, ASTRA_AUTHENTICATOR],
  ] as const) {
    it(`${name}: AUTHENTICATE names the class, the token is accepted, AUTH_SUCCESS has a null token`, async () => {
      const client = await node().connect();
      client.startup(4, {}, 3);
      const authenticate = await client.next();
      expect(authenticate.header).toMatchObject({ streamId: 3, opcode: Opcode.AUTHENTICATE });
      expect(decodeAuthenticate(authenticate.body, 4)).toBe(className);
      client.authenticate(4, 'token', TOKEN, 4);
      const success = await client.next();
      expect(success.header).toMatchObject({ streamId: 4, opcode: Opcode.AUTH_SUCCESS });
      expect(decodeAuthSuccess(success.body, 4)).toBeNull();
      // Ready: a query goes through.
      client.query(4, 'SELECT * FROM system.local', 5);
      expect(resultOf(await client.next()).kind).toBe(2);
      client.close();
    });
  }

  for (const [what, user, pass] of [
    ['a wrong token', 'token', 'AstraCS:wrong'],
    ['a wrong username', 'cassandra', TOKEN],
  ] as const) {
    it(`refuses ${what} with ERROR 0x0100 naming the user`, async () => {
      const client = await password.connect();
      client.startup(4);
      await client.next();
      client.authenticate(4, user, pass, 2);
      const frame = await client.next();
      expect(frame.header.streamId).toBe(2);
      expect(errorOf(frame)).toEqual({
        code: ErrorCode.AUTHENTICATION_ERROR,
        message: `Provided username ${user} and/or password are incorrect`,
      });
      // Not authenticated: a query is refused.
      client.query(4, 'SELECT * FROM system.local', 3);
      expect(errorOf(await client.next()).message).toBe(
        'Unexpected message QUERY, expecting SASL_RESPONSE',
      );
      // A retry with the right token succeeds on the same connection.
      client.authenticate(4, 'token', TOKEN, 4);
      expect((await client.next()).header.opcode).toBe(Opcode.AUTH_SUCCESS);
      client.close();
    });
  }

  it("refuses malformed SASL tokens with Cassandra's texts", async () => {
    const client = await password.connect();
    client.startup(4);
    await client.next();
    const cases: [Buffer | null, string][] = [
      [null, 'Password must not be null'],
      [Buffer.from('\0token\0'), 'Password must not be null'],
      [Buffer.from('nonul'), 'Password must not be null'],
      [Buffer.from('\0\0secret'), 'Authentication ID must not be null'],
      [
        Buffer.from('a\0b\0c\0d'),
        'Credential format error: username or password is empty or contains NUL(\\0) character',
      ],
    ];
    for (const [token, message] of cases) {
      client.request(4, Opcode.AUTH_RESPONSE, encodeAuthResponse(token), 1);
      expect(errorOf(await client.next())).toEqual({
        code: ErrorCode.AUTHENTICATION_ERROR,
        message,
      });
    }
    client.close();
  });
});

describe('DseAuthenticator', () => {
  it('answers PLAIN with the PLAIN-START challenge, then accepts the credentials', async () => {
    const client = await dse.connect();
    client.startup(4);
    expect(decodeAuthenticate((await client.next()).body, 4)).toBe(DSE_AUTHENTICATOR);
    client.request(4, Opcode.AUTH_RESPONSE, encodeAuthResponse(Buffer.from('PLAIN')), 7);
    const challenge = await client.next();
    expect(challenge.header).toMatchObject({ streamId: 7, opcode: Opcode.AUTH_CHALLENGE });
    expect(decodeAuthChallenge(challenge.body, 4)?.toString()).toBe('PLAIN-START');
    client.authenticate(4, 'token', TOKEN, 8);
    expect((await client.next()).header.opcode).toBe(Opcode.AUTH_SUCCESS);
    client.close();
  });

  it("also accepts the credentials straight away, as Node's PlainTextAuthProvider sends them", async () => {
    const client = await dse.connect();
    client.startup(4);
    await client.next();
    client.authenticate(4, 'token', TOKEN, 1);
    expect((await client.next()).header.opcode).toBe(Opcode.AUTH_SUCCESS);
    client.close();
  });

  it('refuses a wrong token after PLAIN-START', async () => {
    const client = await dse.connect();
    client.startup(4);
    await client.next();
    client.request(4, Opcode.AUTH_RESPONSE, encodeAuthResponse(Buffer.from('PLAIN')), 1);
    await client.next();
    client.authenticate(4, 'token', 'nope', 2);
    expect(errorOf(await client.next()).code).toBe(ErrorCode.AUTHENTICATION_ERROR);
    client.close();
  });
});

describe('AllowAllAuthenticator', () => {
  it('answers STARTUP with READY', async () => {
    const client = await allowAll.connect();
    client.startup(4, {}, 2);
    const ready = await client.next();
    expect(ready.header).toMatchObject({ streamId: 2, opcode: Opcode.READY, bodyLength: 0 });
    client.close();
  });
});
