// Protocol v5: STARTUP and what precedes it travel as bare frames; once the STARTUP answer is out
// both directions carry CRC-protected segments (spec v5 §2.3.1), LZ4-compressed when STARTUP asked
// for lz4 (spec v5 §2.2). Responses written in one turn share segments.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, Opcode, ResultKind } from '../../../src/protocol/constants.js';
import { decodeAuthenticate } from '../../../src/protocol/messages/auth.js';
import {
  encodeAuthResponse,
  encodeSaslPlain,
} from '../../../src/protocol/messages/auth-response.js';
import { encodeOptions } from '../../../src/protocol/messages/options.js';
import { encodeQuery } from '../../../src/protocol/messages/query.js';
import { encodeStartup } from '../../../src/protocol/messages/startup.js';
import {
  SegmentDecoder,
  encodeSegment,
  encodeSegments,
  readLz4SegmentHeader,
  readSegmentHeader,
} from '../../../src/protocol/segment.js';
import { decodeText } from '../../../src/protocol/values.js';
import { errorOf, requestFrame, resultOf } from './raw-client.js';
import { TOKEN, handshake, startTestNode } from './fixture.js';
import type { TestNode } from './fixture.js';

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode({ protocolVersions: [3, 4, 5] });
});

afterAll(async () => {
  await node.node.stop();
});

describe.each(['none', 'lz4'] as const)('v5 segments, compression %s', (compression) => {
  const startupOptions: Record<string, string> =
    compression === 'lz4' ? { COMPRESSION: 'lz4' } : {};

  it('OPTIONS and STARTUP unframed, then AUTH_RESPONSE and AUTH_SUCCESS in segments', async () => {
    const client = await node.connect();
    client.request(5, Opcode.OPTIONS, encodeOptions(), 1);
    client.request(
      5,
      Opcode.STARTUP,
      encodeStartup({ CQL_VERSION: '3.4.5', ...startupOptions }),
      2,
    );
    const [supported, authenticate] = await client.nextFrames(2);
    expect(supported!.header).toMatchObject({ version: 5, opcode: Opcode.SUPPORTED, streamId: 1 });
    expect(authenticate!.header).toMatchObject({ version: 5, opcode: Opcode.AUTHENTICATE });
    // Both came as bare frames: the bytes received are exactly the two frames.
    expect(client.received).toEqual(Buffer.concat([supported!.raw, authenticate!.raw]));
    expect(decodeAuthenticate(authenticate!.body, 5)).toContain('PasswordAuthenticator');

    const before = client.received.length;
    client.useSegments(compression);
    client.authenticate(5, 'token', TOKEN, 3);
    const success = await client.next();
    expect(success.header).toMatchObject({ version: 5, opcode: Opcode.AUTH_SUCCESS, streamId: 3 });
    // The answer came inside one self-contained segment.
    const wire = client.received.subarray(before);
    const header =
      compression === 'lz4' ? readLz4SegmentHeader(wire, 0) : readSegmentHeader(wire, 0);
    expect(header.selfContained).toBe(true);
    client.close();
  });

  it('answers many requests sent in one segment with frames packed in one segment', async () => {
    const client = await node.connect();
    await handshake(client, 5, startupOptions);
    const before = client.received.length;
    const frames = Array.from({ length: 20 }, (_, i) =>
      requestFrame(5, Opcode.QUERY, encodeQuery(5, 'SELECT keyspace', { consistency: 1 }), 100 + i),
    );
    client.write(encodeSegment(Buffer.concat(frames), true, compression));
    const answers = await client.nextFrames(20);
    expect(answers.map((a) => a.header.streamId)).toEqual(frames.map((_, i) => 100 + i));
    for (const a of answers) expect(resultOf(a).kind).toBe(ResultKind.ROWS);
    // One segment held them all.
    const payloads: boolean[] = [];
    const decoder = new SegmentDecoder({
      compression,
      onPayload: (_payload, selfContained) => payloads.push(selfContained),
    });
    decoder.push(client.received.subarray(before));
    expect(payloads).toEqual([true]);
    client.close();
  });

  it('splits a frame larger than a segment payload over non-self-contained segments', async () => {
    const client = await node.connect();
    await handshake(client, 5, startupOptions);
    const before = client.received.length;
    client.query(5, 'SELECT big 300000', 4);
    const frame = await client.next();
    const result = resultOf(frame);
    expect(result.kind).toBe(ResultKind.ROWS);
    if (result.kind === ResultKind.ROWS) {
      expect(decodeText(result.rows[0]![0]!)).toBe('x'.repeat(300_000));
    }
    const flags: boolean[] = [];
    new SegmentDecoder({
      compression,
      onPayload: (_payload, selfContained) => flags.push(selfContained),
    }).push(client.received.subarray(before));
    expect(flags.length).toBeGreaterThanOrEqual(3);
    expect(flags.every((f) => !f)).toBe(true);
    client.close();
  });

  it('takes a large request split over several segments', async () => {
    const client = await node.connect();
    await handshake(client, 5, startupOptions);
    const big = 'INSERT ' + 'y'.repeat(200_000);
    client.query(5, big, 9);
    const frame = await client.next();
    expect(frame.header.streamId).toBe(9);
    expect(resultOf(frame).kind).toBe(ResultKind.VOID);
    client.close();
  });

  it('answers a segment with a bad CRC with ERROR 0x000A and closes', async () => {
    const client = await node.connect();
    await handshake(client, 5, startupOptions);
    const segment = encodeSegments(
      [requestFrame(5, Opcode.OPTIONS, encodeOptions(), 1)],
      compression,
    );
    const corrupt = Buffer.from(segment);
    corrupt[corrupt.length - 1]! ^= 0xff;
    client.write(corrupt);
    const frame = await client.next();
    expect(errorOf(frame).code).toBe(ErrorCode.PROTOCOL_ERROR);
    expect(errorOf(frame).message).toMatch(/CRC32 mismatch/);
    await client.waitClosed();
  });
});

it('takes the first segment in the same chunk as STARTUP (a client that does not wait)', async () => {
  const client = await node.connect();
  const startup = requestFrame(5, Opcode.STARTUP, encodeStartup({ CQL_VERSION: '3.4.5' }), 0);
  const auth = encodeSegments(
    [requestFrame(5, Opcode.AUTH_RESPONSE, encodeAuthResponse(encodeSaslPlain('token', TOKEN)), 1)],
    'none',
  );
  client.useSegmentsAfterStartupAnswer('none');
  client.write(Buffer.concat([startup, auth]));
  expect((await client.next()).header.opcode).toBe(Opcode.AUTHENTICATE);
  expect((await client.next()).header.opcode).toBe(Opcode.AUTH_SUCCESS);
  client.close();
});
