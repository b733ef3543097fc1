import { describe, it, expect } from 'vitest';
import { decodeOptions, encodeOptions } from '../../../src/protocol/messages/options.js';
import { hex } from '../../helpers/chunking.js';
import { embedded, expectProtocolError } from './request-test-helpers.js';

// spec v4 §4.1.3 OPTIONS: "The body of an OPTIONS message should be empty".
describe('OPTIONS', () => {
  it('encodes an empty body', () => {
    expect(encodeOptions()).toEqual(Buffer.alloc(0));
  });

  it('decodes an empty body, also as a view into a larger buffer', () => {
    expect(() => decodeOptions(Buffer.alloc(0))).not.toThrow();
    expect(() => decodeOptions(embedded(Buffer.alloc(0)))).not.toThrow();
  });

  it('refuses a body with bytes in it', () => {
    expectProtocolError(() => decodeOptions(hex('00')));
    expectProtocolError(() => decodeOptions(hex('00 00 00 00')));
  });
});
