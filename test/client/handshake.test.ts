import { afterEach, describe, expect, it } from 'vitest';
import { bodyCompressor } from '../../src/protocol/compression.js';
import {
  ErrorCode,
  EventType,
  HeaderFlag,
  Opcode,
  ResultKind,
} from '../../src/protocol/constants.js';
import { decodeError } from '../../src/protocol/messages/error.js';
import { decodeEvent } from '../../src/protocol/messages/event.js';
import { encodeRegister } from '../../src/protocol/messages/register.js';
import { decodeResult } from '../../src/protocol/messages/result.js';
import { decodeSupported } from '../../src/protocol/messages/supported.js';
import { decodeStringSet, decodeText } from '../../src/protocol/values.js';
import { hex } from '../helpers/chunking.js';
import { FAKE_CQL_VERSION, FAKE_DC } from './fake-backend.js';
import {
  TestConnection,
  type TestProxy,
  queryFrame,
  requestFrame,
  startTestProxy,
  startupFrame,
} from './test-connection.js';

const proxies: TestProxy[] = [];
afterEach(async () => {
  for (const p of proxies.splice(0)) await p.close();
});

async function proxy(...args: Parameters<typeof startTestProxy>): Promise<TestProxy> {
  const p = await startTestProxy(...args);
  proxies.push(p);
  return p;
}

async function open(p: TestProxy): Promise<TestConnection> {
  const c = await TestConnection.open(p.port);
  return c;
}

function body(frame: Buffer): Buffer {
  return frame.subarray(9);
}

function errorOf(frame: Buffer): { code: number; message: string } {
  expect(frame.readUInt8(4)).toBe(Opcode.ERROR);
  return decodeError(body(frame), frame.readUInt8(0) & 0x7f);
}

/** The unsupported-version answer, field by field: what every driver steps down on. */
function versionErrorBytes(header: string, version: number, supported: string): Buffer {
  const message = Buffer.from(
    `Invalid or unsupported protocol version (${version}); supported versions are (${supported})`,
  );
  const len = Buffer.alloc(4);
  len.writeInt32BE(4 + 2 + message.length);
  const strLen = Buffer.alloc(2);
  strLen.writeUInt16BE(message.length);
  return Buffer.concat([
    hex(header), // version | response bit, flags, stream id, opcode ERROR
    len, // body length
    hex('0000000a'), // [int] PROTOCOL_ERROR
    strLen,
    message, // [string] message
  ]);
}

describe('version negotiation', () => {
  it('answers a DSE v2 STARTUP (the Node driver) with a v4 error naming the versions, then closes', async () => {
    const p = await proxy();
    const c = await open(p);
    c.send(startupFrame(0x42, 7));
    await c.waitClosed();
    const expected = hex(`
      84 00 0007 00 // v4 response, no flags, stream 7, ERROR
      00000057 // body: 4 + 2 + 81
      0000000a // PROTOCOL_ERROR
      0051 // message length 81
    `);
    const bytes = c.bytes();
    expect(bytes.subarray(0, expected.length)).toEqual(expected);
    expect(bytes.subarray(expected.length).toString()).toBe(
      'Invalid or unsupported protocol version (66); supported versions are (3/v3, 4/v4)',
    );
  });

  it('steps a Python-style client down 0x42 → 0x41 → v5 → v4, one connection each', async () => {
    const p = await proxy();
    for (const version of [0x42, 0x41, 5]) {
      const c = await open(p);
      c.send(requestFrame(version, 0, Opcode.OPTIONS));
      await c.waitClosed();
      expect(c.bytes()).toEqual(versionErrorBytes('84 00 0000 00', version, '3/v3, 4/v4'));
    }
    const c = await open(p);
    const supported = await c.request(requestFrame(4, 1, Opcode.OPTIONS));
    expect(supported.subarray(0, 5)).toEqual(hex('84 00 0001 06'));
    c.close();
  });

  it('accepts v5 only when the cluster side offers it', async () => {
    const p = await proxy({ clientVersions: [5, 4, 3] });
    const c = await open(p);
    const supported = await c.request(requestFrame(5, 3, Opcode.OPTIONS));
    expect(supported.subarray(0, 5)).toEqual(hex('85 00 0003 06'));
    const options = decodeSupported(body(supported), 5);
    expect(options.get('PROTOCOL_VERSIONS')).toEqual(['3/v3', '4/v4', '5/v5']);
    // Segments compress with LZ4 only.
    expect(options.get('COMPRESSION')).toEqual(['lz4']);
    c.close();
    const refused = await open(p);
    refused.send(requestFrame(0x42, 9, Opcode.STARTUP));
    await refused.waitClosed();
    expect(refused.bytes()).toEqual(versionErrorBytes('85 00 0009 00', 0x42, '3/v3, 4/v4, 5/v5'));
  });

  it.each([
    ['v1', hex('01 00 05 05 00000000'), 1, '0005'], // 8-byte header, one-byte stream id
    ['v2', hex('02 00 fe 05 00000000'), 2, 'fffe'], // stream -2
    ['v6', hex('06 00 0003 05 00000000'), 6, '0003'],
  ])(
    'refuses %s with the same error, on the request stream',
    async (_name, frame, version, stream) => {
      const p = await proxy();
      const c = await open(p);
      c.sendRaw(frame);
      await c.waitClosed();
      expect(c.bytes()).toEqual(versionErrorBytes(`84 00 ${stream} 00`, version, '3/v3, 4/v4'));
    },
  );

  it('serves v3 in v3 frames', async () => {
    const p = await proxy();
    const c = await p.ready(3);
    const rows = await c.request(
      queryFrame(3, 2, 'SELECT native_protocol_version FROM system.local'),
    );
    expect(rows.readUInt8(0)).toBe(0x83);
    const result = decodeResult(body(rows), 3);
    expect(result.kind === ResultKind.ROWS && decodeText(result.rows[0]?.[0] ?? null)).toBe('3');
  });

  it('refuses a frame whose version differs from the connection', async () => {
    const p = await proxy();
    const c = await p.ready(4);
    c.send(queryFrame(3, 4, 'SELECT * FROM system.local'));
    await c.waitClosed();
    const error = errorOf(await c.response(4));
    expect(error.code).toBe(ErrorCode.PROTOCOL_ERROR);
    expect(error.message).toContain(
      'Got v3 but previous messages on this connection had version v4',
    );
  });
});

describe('OPTIONS and STARTUP', () => {
  it('answers OPTIONS with SUPPORTED, before and after STARTUP (heartbeats)', async () => {
    const p = await proxy({ productType: 'DATASTAX_APOLLO' });
    const c = await open(p);
    const before = await c.request(requestFrame(4, 1, Opcode.OPTIONS));
    const options = decodeSupported(body(before), 4);
    expect(Object.fromEntries(options)).toEqual({
      CQL_VERSION: [FAKE_CQL_VERSION],
      COMPRESSION: ['lz4', 'snappy'],
      PROTOCOL_VERSIONS: ['3/v3', '4/v4'],
      PRODUCT_TYPE: ['DATASTAX_APOLLO'],
    });
    const ready = await c.request(startupFrame(4, 2));
    expect(ready).toEqual(hex('84 00 0002 02 00000000'));
    const heartbeat = await c.request(requestFrame(4, 3, Opcode.OPTIONS));
    expect(heartbeat.readUInt8(4)).toBe(Opcode.SUPPORTED);
    expect(p.backend.received).toHaveLength(0);
    c.close();
  });

  it('leaves PRODUCT_TYPE out when the cluster sent none', async () => {
    const p = await proxy();
    const c = await open(p);
    const supported = await c.request(requestFrame(4, 1, Opcode.OPTIONS));
    expect(decodeSupported(body(supported), 4).has('PRODUCT_TYPE')).toBe(false);
    c.close();
  });

  it('refuses an unknown compression without READY, and the connection stays unstarted', async () => {
    const p = await proxy();
    const c = await open(p);
    const error = errorOf(await c.request(startupFrame(4, 1, { COMPRESSION: 'zstd' })));
    expect(error).toEqual({
      code: ErrorCode.PROTOCOL_ERROR,
      message: 'Unsupported compression type: zstd (supported compression types: lz4, snappy)',
    });
    const refused = errorOf(await c.request(queryFrame(4, 2, 'SELECT * FROM system.local')));
    expect(refused.message).toBe('Unexpected message QUERY, expecting STARTUP or OPTIONS');
    expect(c.frames.some((f) => f.readUInt8(4) === Opcode.READY)).toBe(false);
    const ready = await c.request(startupFrame(4, 3));
    expect(ready.readUInt8(4)).toBe(Opcode.READY);
    c.close();
  });

  it('refuses snappy with v5', async () => {
    const p = await proxy({ clientVersions: [5, 4, 3] });
    const c = await open(p);
    const error = errorOf(await c.request(startupFrame(5, 1, { COMPRESSION: 'snappy' })));
    expect(error.message).toBe(
      'Unsupported compression type: snappy (supported compression types with protocol v5: lz4)',
    );
    c.close();
  });

  it('refuses requests before STARTUP and unsolicited AUTH_RESPONSE', async () => {
    const p = await proxy();
    const c = await open(p);
    const register = errorOf(
      await c.request(requestFrame(4, 1, Opcode.REGISTER, encodeRegister(['SCHEMA_CHANGE']))),
    );
    expect(register).toEqual({
      code: ErrorCode.PROTOCOL_ERROR,
      message: 'Unexpected message REGISTER, expecting STARTUP or OPTIONS',
    });
    await c.request(startupFrame(4, 2));
    const auth = errorOf(
      await c.request(requestFrame(4, 3, Opcode.AUTH_RESPONSE, hex('00000002 0000'))),
    );
    expect(auth.code).toBe(ErrorCode.PROTOCOL_ERROR);
    const again = errorOf(await c.request(startupFrame(4, 4)));
    expect(again.message).toBe('STARTUP was already received');
    c.close();
  });

  it('ignores client credentials: STARTUP with anything gets READY, never AUTHENTICATE', async () => {
    const p = await proxy();
    const c = await open(p);
    const ready = await c.request(startupFrame(4, 1, { DRIVER_NAME: 'x', APPLICATION_NAME: 'y' }));
    expect(ready.readUInt8(4)).toBe(Opcode.READY);
    c.close();
  });
});

describe('body compression (v4)', () => {
  it.each(['lz4', 'snappy'] as const)(
    '%s: answers a compressed system query and forwards a compressed query as is',
    async (name) => {
      const p = await proxy();
      const c = await p.ready(4, { COMPRESSION: name });
      const compressor = bodyCompressor(name);
      const compressedQuery = (stream: number, query: string): Buffer => {
        const plain = queryFrame(4, stream, query);
        return requestFrame(
          4,
          stream,
          Opcode.QUERY,
          compressor.compress(body(plain)),
          HeaderFlag.COMPRESSION,
        );
      };
      const local = await c.request(
        compressedQuery(1, 'SELECT data_center, tokens FROM system.local'),
      );
      // Proxy-made answers go uncompressed: the flag is per frame.
      expect(local.readUInt8(1) & HeaderFlag.COMPRESSION).toBe(0);
      const rows = decodeResult(body(local), 4);
      expect(rows.kind).toBe(ResultKind.ROWS);
      if (rows.kind !== ResultKind.ROWS) return;
      expect(decodeText(rows.rows[0]?.[0] ?? null)).toBe(FAKE_DC);
      expect(decodeStringSet(rows.rows[0]?.[1] ?? null)).toEqual(['-9223372036854775808']);

      const sent = compressedQuery(2, 'SELECT k FROM ks.t');
      const answer = await c.request(sent);
      expect(p.backend.sessionCalls).toEqual([
        { version: 4, keyspace: undefined, compression: name },
      ]);
      const received = p.backend.received[0];
      expect(received?.frame).toEqual(sent);
      expect(received?.flags).toBe(HeaderFlag.COMPRESSION);
      // The node's compressed answer reaches the client untouched.
      expect(answer.readUInt8(1) & HeaderFlag.COMPRESSION).toBe(HeaderFlag.COMPRESSION);
      const result = decodeResult(compressor.decompress(body(answer), 1 << 20), 4);
      expect(result.kind === ResultKind.ROWS && decodeText(result.rows[0]?.[0] ?? null)).toBe(
        'fake-row',
      );
    },
  );

  it('closes a connection whose compressed body does not decompress', async () => {
    const p = await proxy();
    const c = await p.ready(4, { COMPRESSION: 'lz4' });
    c.send(requestFrame(4, 5, Opcode.QUERY, hex('000000ff 01020304'), HeaderFlag.COMPRESSION));
    await c.waitClosed();
    const error = errorOf(await c.response(5));
    expect(error.code).toBe(ErrorCode.PROTOCOL_ERROR);
  });

  it('closes a connection sending compressed frames without having negotiated compression', async () => {
    const p = await proxy();
    const c = await p.ready(4);
    c.send(requestFrame(4, 6, Opcode.QUERY, hex('00000000'), HeaderFlag.COMPRESSION));
    await c.waitClosed();
    expect(errorOf(await c.response(6)).message).toContain('no compression was negotiated');
  });
});

describe('v5 segments', () => {
  it.each(['none', 'lz4'] as const)(
    'compression %s: READY unframed, then everything in segments',
    async (compression) => {
      const p = await proxy({ clientVersions: [5, 4, 3] });
      const c = await p.ready(5, compression === 'lz4' ? { COMPRESSION: 'lz4' } : {});
      expect(c.bytes().subarray(0, 9)).toEqual(hex('85 00 0000 02 00000000'));
      const local = await c.request(
        queryFrame(5, 1, 'SELECT native_protocol_version FROM system.local'),
      );
      const rows = decodeResult(body(local), 5);
      expect(rows.kind === ResultKind.ROWS && decodeText(rows.rows[0]?.[0] ?? null)).toBe('5');
      // The bytes after READY are not a plain frame: the first is a segment header.
      expect(c.bytes().readUInt8(9)).not.toBe(0x85);

      const answer = await c.request(queryFrame(5, 2, 'INSERT INTO ks.t (k) VALUES (1)'));
      expect(decodeResult(body(answer), 5).kind).toBe(ResultKind.VOID);
      // v5 sessions carry no body compression whatever the segments use.
      expect(p.backend.sessionCalls).toEqual([
        { version: 5, keyspace: undefined, compression: undefined },
      ]);
      expect(p.backend.queries()).toEqual(['INSERT INTO ks.t (k) VALUES (1)']);
    },
  );
});

describe('REGISTER and events', () => {
  const change = {
    changeType: 'CREATED',
    target: 'TABLE',
    keyspace: 'ks',
    name: 't',
  } as const;

  it('passes schema changes to connections registered for them only, in their version', async () => {
    const p = await proxy({ clientVersions: [5, 4, 3] });
    const v4 = await p.ready(4);
    const v3 = await p.ready(3);
    const v5 = await p.ready(5, { COMPRESSION: 'lz4' });
    const topologyOnly = await p.ready(4);
    for (const [c, version] of [
      [v4, 4],
      [v3, 3],
      [v5, 5],
    ] as const) {
      const ready = await c.request(
        requestFrame(
          version,
          1,
          Opcode.REGISTER,
          encodeRegister(['SCHEMA_CHANGE', 'STATUS_CHANGE']),
        ),
      );
      expect(ready.readUInt8(4)).toBe(Opcode.READY);
    }
    await topologyOnly.request(
      requestFrame(4, 1, Opcode.REGISTER, encodeRegister(['TOPOLOGY_CHANGE'])),
    );
    expect(p.backend.schemaListenerCount).toBe(3);

    p.backend.emitSchemaChange(change);
    for (const [c, version] of [
      [v4, 4],
      [v3, 3],
      [v5, 5],
    ] as const) {
      const event = await c.response(-1);
      expect(event.subarray(0, 5)).toEqual(Buffer.from([0x80 | version, 0, 0xff, 0xff, 0x0c]));
      expect(decodeEvent(body(event), version)).toEqual({ type: EventType.SCHEMA_CHANGE, change });
    }
    // A round trip later, the connection registered for topology only has seen nothing.
    await topologyOnly.request(requestFrame(4, 2, Opcode.OPTIONS));
    expect(topologyOnly.frames.some((f) => f.readInt16BE(2) === -1)).toBe(false);

    v4.close();
    await v4.closed;
    await waitFor(() => p.backend.schemaListenerCount === 2);
  });
});

async function waitFor(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
