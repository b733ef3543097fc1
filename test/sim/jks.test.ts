import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { writeJksTrustStore } from '../../sim/tls/jks.js';
import { hex } from '../helpers/chunking.js';
import { readJks } from './jks-reader.js';

describe('writeJksTrustStore', () => {
  it('writes the golden bytes of a one-entry store', () => {
    const bytes = writeJksTrustStore(
      [{ alias: 'a', certDer: hex('30 00'), createdAt: new Date(0x0102030405) }],
      'pw',
    );
    const body = hex(`
      feedfeed            // magic
      00000002            // version 2
      00000001            // one entry
      00000002            // tag: trusted certificate
      0001 61             // alias "a" (modified UTF: u16 length + bytes)
      0000000102030405    // creation time, ms since the epoch
      0005 582e353039     // certificate type "X.509"
      00000002 3000       // DER length + DER
    `);
    const digest = createHash('sha1')
      .update(hex('0070 0077')) // "pw" as UTF-16BE
      .update(Buffer.from('Mighty Aphrodite'))
      .update(body)
      .digest();
    expect(bytes.toString('hex')).toBe(Buffer.concat([body, digest]).toString('hex'));
  });

  it('writes an empty store (count 0, digest only)', () => {
    const bytes = writeJksTrustStore([], '');
    const body = hex('feedfeed 00000002 00000000');
    const digest = createHash('sha1').update('Mighty Aphrodite').update(body).digest();
    expect(bytes.equals(Buffer.concat([body, digest]))).toBe(true);
  });

  it('encodes aliases as Java modified UTF-8 (NUL as C0 80, astral chars as two 3-byte halves)', () => {
    const bytes = writeJksTrustStore(
      [{ alias: 'é\u0000€\u{1F600}', certDer: hex('30 00'), createdAt: new Date(0) }],
      'pw',
    );
    const aliasField = bytes.subarray(16, 16 + 2 + 13);
    expect(aliasField.toString('hex')).toBe(
      hex(`
        000d          // 13 bytes
        c3a9          // é U+00E9
        c080          // U+0000
        e282ac        // € U+20AC
        eda0bd edb880 // U+1F600 as surrogates D83D DE00
      `).toString('hex'),
    );
    expect(readJks(bytes, 'pw').entries[0]?.alias).toBe('é\u0000€\u{1F600}');
  });

  it('lower-cases aliases, as JavaKeyStore looks them up lower-cased', () => {
    const bytes = writeJksTrustStore([{ alias: 'DataStax-CA', certDer: hex('30 00') }], 'x');
    expect(readJks(bytes, 'x').entries.map((e) => e.alias)).toEqual(['datastax-ca']);
  });

  it('mixes the password into the digest as UTF-16BE code units', () => {
    const password = 'pä\u{1F511}';
    const bytes = writeJksTrustStore([{ alias: 'ca', certDer: hex('30 00') }], password);
    expect(readJks(bytes, password).digestMatches).toBe(true);
    expect(readJks(bytes, 'pa\u{1F511}').digestMatches).toBe(false);
    expect(readJks(bytes, '').digestMatches).toBe(false);
  });

  it('keeps several entries in order with their own timestamps', () => {
    const bytes = writeJksTrustStore(
      [
        { alias: 'one', certDer: hex('30 01 00'), createdAt: new Date(1000) },
        { alias: 'two', certDer: hex('30 02 00 00'), createdAt: new Date(2000) },
      ],
      'secret',
    );
    const file = readJks(bytes, 'secret');
    expect(file.entries.map((e) => [e.alias, e.timestampMs, e.certDer.toString('hex')])).toEqual([
      ['one', 1000n, '300100'],
      ['two', 2000n, '30020000'],
    ]);
    expect(file.trailingBytes).toBe(0);
  });

  it('refuses duplicate aliases (case-insensitively) and aliases over 65535 encoded bytes', () => {
    expect(() =>
      writeJksTrustStore(
        [
          { alias: 'CA', certDer: hex('30 00') },
          { alias: 'ca', certDer: hex('30 00') },
        ],
        'x',
      ),
    ).toThrow(/duplicate/);
    expect(() =>
      writeJksTrustStore([{ alias: 'é'.repeat(32768), certDer: hex('30 00') }], 'x'),
    ).toThrow(/too long/);
    expect(() =>
      writeJksTrustStore([{ alias: 'a'.repeat(65535), certDer: hex('30 00') }], 'x'),
    ).not.toThrow();
  });
});
