// Version negotiation and the pre-STARTUP state, byte for byte as Cassandra answers them
// (docs/astra.md §6.1, docs/drivers.md §4): drivers step down on these exact texts.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, Opcode, ProtocolVersion } from '../../../src/protocol/constants.js';
import { encodeOptions } from '../../../src/protocol/messages/options.js';
import { encodeRegister } from '../../../src/protocol/messages/register.js';
import { decodeSupported } from '../../../src/protocol/messages/supported.js';
import { hex } from '../../helpers/chunking.js';
import { errorOf, requestFrame } from './raw-client.js';
import { startTestNode } from './fixture.js';
import type { TestNode } from './fixture.js';

const V4_LIST = '3/v3, 4/v4';

let v4: TestNode;
let v5: TestNode;

beforeAll(async () => {
  v4 = await startTestNode();
  v5 = await startTestNode({ protocolVersions: [3, 4, 5] });
});

afterAll(async () => {
  await v4.node.stop();
  await v5.node.stop();
});

describe('unsupported protocol versions', () => {
  it('answers OPTIONS at DSE v2 with the exact refusal bytes, in a v4 frame, then closes', async () => {
    const client = await v4.connect();
    client.write(hex('42 00 00 05 05 00000000 // OPTIONS, version 0x42, stream 5'));
    await client.waitClosed();
    const text = `Invalid or unsupported protocol version (66); supported versions are (${V4_LIST})`;
    expect(client.received).toEqual(
      Buffer.concat([
        hex(`
          84          // version 4, response
          00          // flags
          00 05       // the request's stream id
          00          // ERROR
          00 00 00 57 // body length: 4 + 2 + 81
          00 00 00 0a // PROTOCOL_ERROR
          00 51       // [string] length 81
        `),
        Buffer.from(text, 'utf8'),
      ]),
    );
  });

  // Every version a driver may try, plus garbage (an HTTP request reads as version 0x47).
  const cases: { name: string; bytes: Buffer; version: number; stream: number }[] = [
    { name: 'v1 (8-byte header)', bytes: hex('01 00 07 05 00000000'), version: 1, stream: 7 },
    { name: 'v2 (8-byte header)', bytes: hex('02 00 07 05 00000000'), version: 2, stream: 7 },
    { name: 'v5 when not offered', bytes: hex('05 00 00 03 01 00000000'), version: 5, stream: 3 },
    { name: 'v6', bytes: hex('06 00 00 03 05 00000000'), version: 6, stream: 3 },
    { name: 'DSE v1 (0x41)', bytes: hex('41 00 00 09 01 00000000'), version: 65, stream: 9 },
    { name: 'DSE v2 (0x42)', bytes: hex('42 00 7f ff 01 00000000'), version: 66, stream: 0x7fff },
    // Below 3 the header is the 8-byte v1/v2 one, with a 1-byte stream id.
    { name: 'version 0', bytes: hex('00 00 01 05 00000000'), version: 0, stream: 1 },
    {
      name: 'garbage (HTTP)',
      bytes: Buffer.from('GET / HTTP/1.1\r\n\r\n'),
      version: 0x47,
      stream: 0x5420,
    },
  ];
  for (const c of cases) {
    it(`refuses ${c.name} with ERROR 0x000A in a 0x84 frame on the request's stream`, async () => {
      const client = await v4.connect();
      client.write(c.bytes);
      const frame = await client.next();
      expect(frame.header).toMatchObject({
        version: 4,
        response: true,
        streamId: c.stream,
        opcode: Opcode.ERROR,
      });
      expect(errorOf(frame)).toEqual({
        code: ErrorCode.PROTOCOL_ERROR,
        message: `Invalid or unsupported protocol version (${c.version}); supported versions are (${V4_LIST})`,
      });
      await client.waitClosed();
    });
  }

  it('waits for the stream id when the first bytes arrive one at a time', async () => {
    const client = await v4.connect();
    const bytes = hex('42 00 01 02 05 00000000');
    for (const b of bytes) {
      client.write(Buffer.from([b]));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const frame = await client.next();
    expect(frame.header.streamId).toBe(0x0102);
    expect(errorOf(frame).message).toContain('(66)');
  });

  it('lists v5 and answers in a 0x85 frame when v5 is offered', async () => {
    const client = await v5.connect();
    client.write(hex('42 00 00 00 01 00000000'));
    const frame = await client.next();
    expect(frame.header.version).toBe(5);
    expect(errorOf(frame).message).toBe(
      'Invalid or unsupported protocol version (66); supported versions are (3/v3, 4/v4, 5/v5)',
    );
    await client.waitClosed();
  });

  it('refuses a frame whose version differs from the connection version, then closes', async () => {
    const client = await v4.connect();
    client.request(4, Opcode.OPTIONS, encodeOptions(), 1);
    expect((await client.next()).header.opcode).toBe(Opcode.SUPPORTED);
    client.request(3, Opcode.OPTIONS, encodeOptions(), 2);
    const frame = await client.next();
    expect(frame.header).toMatchObject({ version: 4, streamId: 2 });
    expect(errorOf(frame)).toEqual({
      code: ErrorCode.PROTOCOL_ERROR,
      message:
        'Invalid message version. Got 3 but previous messages on this connection had version 4',
    });
    await client.waitClosed();
  });
});

describe('before STARTUP', () => {
  for (const version of [3, 4, 5]) {
    it(`answers OPTIONS at v${version} with SUPPORTED, unframed`, async () => {
      const client = await v5.connect();
      client.request(version, Opcode.OPTIONS, encodeOptions(), 11);
      const frame = await client.next();
      expect(frame.header).toMatchObject({ version, streamId: 11, opcode: Opcode.SUPPORTED });
      expect(decodeSupported(frame.body, version)).toEqual(
        new Map([
          ['CQL_VERSION', ['3.4.5']],
          ['COMPRESSION', ['lz4', 'snappy']],
          ['PROTOCOL_VERSIONS', ['3/v3', '4/v4', '5/v5']],
          ['PRODUCT_TYPE', ['DATASTAX_APOLLO']],
        ]),
      );
      client.close();
    });
  }

  it('answers a QUERY before STARTUP with "Unexpected message QUERY" and keeps the connection', async () => {
    const client = await v4.connect();
    client.query(4, 'SELECT * FROM system.local', 4);
    const frame = await client.next();
    expect(frame.header).toMatchObject({ version: 4, streamId: 4 });
    expect(errorOf(frame)).toEqual({
      code: ErrorCode.PROTOCOL_ERROR,
      message: 'Unexpected message QUERY, expecting STARTUP or OPTIONS',
    });
    client.request(4, Opcode.OPTIONS, encodeOptions(), 5);
    expect((await client.next()).header.opcode).toBe(Opcode.SUPPORTED);
    client.close();
  });

  it('answers REGISTER before STARTUP the same way', async () => {
    const client = await v4.connect();
    client.request(4, Opcode.REGISTER, encodeRegister(['SCHEMA_CHANGE']), 2);
    expect(errorOf(await client.next()).message).toBe(
      'Unexpected message REGISTER, expecting STARTUP or OPTIONS',
    );
    client.close();
  });

  it('refuses STARTUP without CQL_VERSION and with an unknown compression', async () => {
    const client = await v4.connect();
    client.request(4, Opcode.STARTUP, hex('0000 // empty [string map]'), 1);
    expect(errorOf(await client.next())).toEqual({
      code: ErrorCode.PROTOCOL_ERROR,
      message: 'Missing value CQL_VERSION in STARTUP message',
    });
    client.startup(4, { COMPRESSION: 'zstd' }, 2);
    expect(errorOf(await client.next())).toEqual({
      code: ErrorCode.PROTOCOL_ERROR,
      message: 'Unknown compression algorithm: zstd',
    });
    // Still in the initial state: a good STARTUP goes through.
    client.startup(4, {}, 3);
    expect((await client.next()).header.opcode).toBe(Opcode.AUTHENTICATE);
    client.close();
  });

  it('refuses snappy with v5', async () => {
    const client = await v5.connect();
    client.startup(ProtocolVersion.V5, { COMPRESSION: 'snappy' }, 1);
    const error = errorOf(await client.next());
    expect(error.code).toBe(ErrorCode.PROTOCOL_ERROR);
    expect(error.message).toContain('snappy');
    client.close();
  });
});

describe('malformed input', () => {
  it('answers a truncated STARTUP body with ERROR 0x000A and closes', async () => {
    const client = await v4.connect();
    client.request(4, Opcode.STARTUP, hex('0001 0003 414243 // one entry, value missing'), 6);
    const frame = await client.next();
    expect(frame.header.streamId).toBe(6);
    const error = errorOf(frame);
    expect(error.code).toBe(ErrorCode.PROTOCOL_ERROR);
    expect(error.message).not.toBe('');
    await client.waitClosed();
  });

  it('answers a response frame sent by a client with ERROR 0x000A and closes', async () => {
    const client = await v4.connect();
    client.write(hex('04 00 00 01 05 00000000  84 00 00 02 06 00000000'));
    expect((await client.next()).header.opcode).toBe(Opcode.SUPPORTED);
    expect(errorOf(await client.next()).message).toBe(
      'received a response frame where a request was expected',
    );
    await client.waitClosed();
  });

  it('answers an unknown opcode and a response opcode with ERROR 0x000A and closes', async () => {
    for (const [opcode, message] of [
      [0x33, 'Unknown opcode 51'],
      [
        Opcode.RESULT,
        'Wrong protocol direction (expected REQUEST, got RESPONSE) for opcode 8 (RESULT)',
      ],
    ] as const) {
      const client = await v4.connect();
      client.write(requestFrame(4, opcode, Buffer.alloc(0), 3));
      const frame = await client.next();
      expect(frame.header.streamId).toBe(3);
      expect(errorOf(frame)).toEqual({ code: ErrorCode.PROTOCOL_ERROR, message });
      await client.waitClosed();
    }
  });

  it('answers a negative body length with ERROR 0x000A on stream 0 and closes', async () => {
    const client = await v4.connect();
    client.write(hex('04 00 00 05 05 ffffffff'));
    const frame = await client.next();
    expect(frame.header.streamId).toBe(0);
    expect(errorOf(frame).message).toBe('negative frame body length -1');
    await client.waitClosed();
  });

  it('closes only the offending connection', async () => {
    const good = await v4.connect();
    const bad = await v4.connect();
    bad.write(hex('04 00 00 05 05 ffffffff'));
    await bad.waitClosed();
    good.request(4, Opcode.OPTIONS, encodeOptions(), 1);
    expect((await good.next()).header.opcode).toBe(Opcode.SUPPORTED);
    expect(good.isOpen).toBe(true);
    good.close();
  });
});
