import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { HeaderFlag } from '../../../src/protocol/constants.js';
import {
  readBodyExtras,
  writeBodyExtras,
  type BodyExtras,
} from '../../../src/protocol/messages/frame-extras.js';
import { CqlReader } from '../../../src/protocol/reader.js';
import { CqlWriter } from '../../../src/protocol/writer.js';
import { hex } from '../../helpers/chunking.js';
import {
  bytesArb,
  embedded,
  expectEveryTruncationFails,
  expectProtocolError,
  textArb,
} from './request-test-helpers.js';

const { TRACING, WARNING, CUSTOM_PAYLOAD, COMPRESSION } = HeaderFlag;

// Response body, spec v4 §2.2: [<tracing_id>][<warnings>][<custom_payload>]<message>
const RESPONSE_ALL = hex(`
  01 23 45 67 89 ab cd ef 01 23 45 67 89 ab cd ef  // tracing id [uuid]
  00 01                                            // warnings: [string list] n = 1
  00 04 73 6c 6f 77                                //   "slow"
  00 02                                            // custom payload: [bytes map] n = 2
  00 01 61 00 00 00 02 ca fe                       //   "a" => 0xcafe
  00 01 62 ff ff ff ff                             //   "b" => null
  de ad                                            // the message proper
`);
const RESPONSE_ALL_EXTRAS: BodyExtras = {
  tracingId: '01234567-89ab-cdef-0123-456789abcdef',
  warnings: ['slow'],
  customPayload: new Map([
    ['a', Buffer.from([0xca, 0xfe])],
    ['b', null],
  ]),
};

// Request body: only the custom payload is a body field; TRACING asks, it carries nothing.
const REQUEST_PAYLOAD = hex(`
  00 01                    // custom payload: [bytes map] n = 1
  00 01 61 00 00 00 00     //   "a" => empty bytes
  de ad                    // the message proper
`);

function read(body: Buffer, flags: number, response: boolean, version?: number) {
  const reader = new CqlReader(body);
  const extras = readBodyExtras(reader, flags, response, version);
  return { extras, rest: body.subarray(reader.pos) };
}

function write(extras: Parameters<typeof writeBodyExtras>[1], response: boolean, version?: number) {
  const writer = new CqlWriter(16);
  const flags = writeBodyExtras(writer, extras, response, version);
  return { flags, bytes: writer.finish() };
}

describe('readBodyExtras / writeBodyExtras', () => {
  it('reads tracing id, warnings and custom payload of a response in spec order', () => {
    const { extras, rest } = read(RESPONSE_ALL, TRACING | WARNING | CUSTOM_PAYLOAD, true);
    expect(extras).toEqual(RESPONSE_ALL_EXTRAS);
    expect(rest).toEqual(hex('de ad'));
  });

  it('writes the same golden bytes and returns the flags they need', () => {
    const { flags, bytes } = write(RESPONSE_ALL_EXTRAS, true);
    expect(flags).toBe(TRACING | WARNING | CUSTOM_PAYLOAD);
    expect(Buffer.concat([bytes, hex('de ad')])).toEqual(RESPONSE_ALL);
  });

  it('reads warnings first when a response has no tracing flag', () => {
    const body = hex(`
      00 02 00 01 61 00 01 62   // warnings ["a", "b"]
      00 00                     // custom payload: empty map
      ff                        // message
    `);
    const { extras, rest } = read(body, WARNING | CUSTOM_PAYLOAD, true);
    expect(extras).toEqual({ warnings: ['a', 'b'], customPayload: new Map() });
    expect(rest).toEqual(hex('ff'));
    expect(write(extras, true).bytes).toEqual(body.subarray(0, body.length - 1));
  });

  it('reads the custom payload first when neither tracing nor warnings are set', () => {
    const { extras, rest } = read(REQUEST_PAYLOAD, CUSTOM_PAYLOAD, true);
    expect(extras).toEqual({ customPayload: new Map([['a', Buffer.alloc(0)]]) });
    expect(rest).toEqual(hex('de ad'));
  });

  it('ignores TRACING on a request: no tracing id in a request body', () => {
    const { extras, rest } = read(REQUEST_PAYLOAD, TRACING | CUSTOM_PAYLOAD, false);
    expect(extras).toEqual({ customPayload: new Map([['a', Buffer.alloc(0)]]) });
    expect(rest).toEqual(hex('de ad'));
  });

  it('ignores WARNING on a request: warnings exist on responses only', () => {
    const { extras, rest } = read(hex('de ad'), WARNING, false);
    expect(extras).toEqual({});
    expect(rest).toEqual(hex('de ad'));
  });

  it('writes a request custom payload and nothing else', () => {
    const { flags, bytes } = write({ customPayload: new Map([['a', Buffer.alloc(0)]]) }, false);
    expect(flags).toBe(CUSTOM_PAYLOAD);
    expect(bytes).toEqual(REQUEST_PAYLOAD.subarray(0, REQUEST_PAYLOAD.length - 2));
  });

  it('reads nothing without flags, and COMPRESSION adds no field', () => {
    const { extras, rest } = read(hex('de ad'), COMPRESSION, true);
    expect(extras).toEqual({});
    expect(rest).toEqual(hex('de ad'));
    expect(write({}, true)).toEqual({ flags: 0, bytes: Buffer.alloc(0) });
  });

  it('v3 knows only TRACING: the WARNING and CUSTOM_PAYLOAD bits are ignored', () => {
    const body = hex('01 23 45 67 89 ab cd ef 01 23 45 67 89 ab cd ef  de ad');
    const { extras, rest } = read(body, TRACING | WARNING | CUSTOM_PAYLOAD, true, 3);
    expect(extras).toEqual({ tracingId: '01234567-89ab-cdef-0123-456789abcdef' });
    expect(rest).toEqual(hex('de ad'));
    expect(read(hex('de ad'), CUSTOM_PAYLOAD, false, 3).rest).toEqual(hex('de ad'));
  });

  it('refuses to write what a request or v3 cannot carry', () => {
    expectProtocolError(() => write({ tracingId: RESPONSE_ALL_EXTRAS.tracingId ?? '' }, false));
    expectProtocolError(() => write({ warnings: ['w'] }, false));
    expectProtocolError(() => write({ warnings: ['w'] }, true, 3));
    expectProtocolError(() => write({ customPayload: new Map() }, false, 3));
    expectProtocolError(() => write({ tracingId: 'not-a-uuid' }, true));
  });

  it('refuses every truncation of the extras', () => {
    const extrasOnly = RESPONSE_ALL.subarray(0, RESPONSE_ALL.length - 2);
    const n = expectEveryTruncationFails(extrasOnly, (cut) =>
      read(cut, TRACING | WARNING | CUSTOM_PAYLOAD, true),
    );
    expect(n).toBe(extrasOnly.length);
  });

  it('refuses invalid UTF-8 in a warning and a huge payload value length', () => {
    expectProtocolError(() => read(hex('00 01 00 02 c3 28'), WARNING, true));
    expectProtocolError(() => read(hex('00 01 00 01 61 7f ff ff ff 00'), CUSTOM_PAYLOAD, false));
  });

  it('never reads past the end of a body that is a view into a larger buffer', () => {
    const view = embedded(RESPONSE_ALL);
    expect(read(view, TRACING | WARNING | CUSTOM_PAYLOAD, true).extras).toEqual(
      RESPONSE_ALL_EXTRAS,
    );
    // A map that claims one more entry than the view holds must stop at the view's end.
    const short = embedded(hex('00 02 00 01 61 00 00 00 00'), 0x00);
    expectProtocolError(() => read(short, CUSTOM_PAYLOAD, false));
  });

  it('round-trips random extras', () => {
    const uuidArb = fc.uuid({ version: [1, 4] });
    const extrasArb = fc.record(
      {
        tracingId: uuidArb,
        warnings: fc.array(textArb, { maxLength: 4 }),
        customPayload: fc
          .array(fc.tuple(textArb, fc.option(bytesArb, { nil: null })), { maxLength: 4 })
          .map((entries) => new Map(entries)),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(extrasArb, fc.boolean(), (extras, response) => {
        // A request body carries only the custom payload.
        const { customPayload } = extras;
        const input = response ? extras : customPayload === undefined ? {} : { customPayload };
        const { flags, bytes } = write(input, response);
        const body = Buffer.concat([bytes, hex('ee')]);
        const { extras: back, rest } = read(body, flags, response);
        expect(back).toEqual(input);
        expect(rest).toEqual(hex('ee'));
      }),
      { numRuns: 200 },
    );
  });
});
