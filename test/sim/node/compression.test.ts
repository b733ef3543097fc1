// v3/v4 frame-body compression (spec v4 §5): negotiated by STARTUP, applied to everything after
// the STARTUP response in both directions, flag 0x01 on each compressed frame.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeaderFlag, Opcode, ResultKind } from '../../../src/protocol/constants.js';
import { decodeAuthenticate } from '../../../src/protocol/messages/auth.js';
import { decodeText } from '../../../src/protocol/values.js';
import { errorOf, resultOf } from './raw-client.js';
import { TOKEN, startTestNode } from './fixture.js';
import type { TestNode } from './fixture.js';

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode();
});

afterAll(async () => {
  await node.node.stop();
});

describe.each(['lz4', 'snappy'] as const)('%s', (compression) => {
  for (const version of [3, 4]) {
    it(`v${version}: STARTUP and AUTHENTICATE plain, then compressed both ways`, async () => {
      const client = await node.connect();
      client.startup(version, { COMPRESSION: compression });
      const authenticate = await client.next();
      // The STARTUP answer is not compressed: the client may not have installed a decompressor.
      expect(authenticate.header.flags & HeaderFlag.COMPRESSION).toBe(0);
      expect(decodeAuthenticate(authenticate.body, version)).toContain('PasswordAuthenticator');

      client.useCompression(compression);
      client.authenticate(version, 'token', TOKEN, 1);
      const success = await client.next();
      expect(success.header.opcode).toBe(Opcode.AUTH_SUCCESS);
      expect(success.header.flags & HeaderFlag.COMPRESSION).toBe(HeaderFlag.COMPRESSION);

      // A large, compressible result: compressed on the wire, intact once decompressed.
      client.query(version, 'SELECT big 100000', 2);
      const rows = await client.next();
      expect(rows.header.flags & HeaderFlag.COMPRESSION).toBe(HeaderFlag.COMPRESSION);
      expect(rows.raw.length).toBeLessThan(10_000);
      const result = resultOf(rows);
      expect(result.kind).toBe(ResultKind.ROWS);
      if (result.kind !== ResultKind.ROWS) return;
      expect(decodeText(result.rows[0]![0]!)).toBe('x'.repeat(100_000));

      // Errors are compressed too.
      client.query(version, 'FAIL', 3);
      const error = await client.next();
      expect(error.header.flags & HeaderFlag.COMPRESSION).toBe(HeaderFlag.COMPRESSION);
      expect(errorOf(error).message).toBe('stub failure');
      client.close();
    });
  }

  it('accepts uncompressed requests after compression was negotiated (flag clear)', async () => {
    const client = await node.connect();
    client.startup(4, { COMPRESSION: compression });
    await client.next();
    // Written without useCompression: the frames carry no 0x01 flag.
    client.authenticate(4, 'token', TOKEN, 1);
    client.useCompression(compression);
    expect((await client.next()).header.opcode).toBe(Opcode.AUTH_SUCCESS);
    client.close();
  });
});

it('refuses a compressed frame when no compression was negotiated, and closes', async () => {
  const client = await node.connect();
  client.startup(4);
  await client.next();
  client.useCompression('lz4');
  client.authenticate(4, 'token', TOKEN, 5);
  const frame = await client.next();
  expect(frame.header.streamId).toBe(5);
  expect(errorOf(frame).message).toBe(
    'compressed frame received but no compression was negotiated in STARTUP',
  );
  await client.waitClosed();
});

it('refuses a corrupt compressed body with ERROR 0x000A and closes', async () => {
  const client = await node.connect();
  client.startup(4, { COMPRESSION: 'lz4' });
  await client.next();
  // LZ4 body claiming 100 bytes but holding garbage.
  client.write(
    Buffer.concat([
      Buffer.from([0x04, HeaderFlag.COMPRESSION, 0x00, 0x09, Opcode.AUTH_RESPONSE, 0, 0, 0, 8]),
      Buffer.from([0, 0, 0, 100, 0xff, 0xff, 0xff, 0xff]),
    ]),
  );
  client.useCompression('lz4');
  const frame = await client.next();
  expect(frame.header.streamId).toBe(9);
  expect(errorOf(frame).message).toMatch(/LZ4/);
  await client.waitClosed();
});
