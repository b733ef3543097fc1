import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BoundedLru } from '../../src/client/bounded-lru.js';
import { PreparedRegistry } from '../../src/client/prepared-registry.js';
import { nameBasedUuid, timeUuid, timeUuidMs } from '../../src/client/uuids.js';

describe('nameBasedUuid', () => {
  it('is the MD5 of the name with version 3 and the RFC 4122 variant', () => {
    const md5 = createHash('md5').update('127.0.0.1').digest('hex');
    const uuid = nameBasedUuid('127.0.0.1');
    expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-3[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const hex = uuid.replace(/-/g, '');
    // Only the version nibble and the two variant bits differ from the digest.
    expect(hex.slice(0, 12)).toBe(md5.slice(0, 12));
    expect(hex.slice(13, 16)).toBe(md5.slice(13, 16));
    expect(parseInt(hex[16] ?? '', 16) & 0x3).toBe(parseInt(md5[16] ?? '', 16) & 0x3);
    expect(hex.slice(17)).toBe(md5.slice(17));
    expect(nameBasedUuid('127.0.0.2')).not.toBe(uuid);
  });
});

describe('timeUuid', () => {
  it('carries its millisecond, version 1, and never repeats within one', () => {
    const ms = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
    const ids = Array.from({ length: 1000 }, () => timeUuid(ms));
    expect(new Set(ids).size).toBe(1000);
    for (const id of ids.slice(0, 5)) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(timeUuidMs(id)).toBe(ms);
    }
    expect(timeUuidMs(timeUuid(0))).toBe(0);
  });
});

describe('BoundedLru and PreparedRegistry', () => {
  it('evicts the least recently used entry', () => {
    const lru = new BoundedLru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1); // a is now the most recent
    lru.set('c', 3);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe(1);
    expect(lru.get('c')).toBe(3);
    expect(lru.size).toBe(2);
    expect(() => new BoundedLru(0)).toThrow(RangeError);
  });

  it('looks prepared ids up by their bytes, whatever buffer holds them', () => {
    const registry = new PreparedRegistry(2);
    const id = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    registry.remember(id, { idempotent: true, select: false });
    const view = Buffer.concat([Buffer.from([9]), id]).subarray(1);
    expect(registry.lookup(view)).toEqual({ idempotent: true, select: false });
    registry.remember(Buffer.from([1]), { idempotent: false, select: true });
    registry.remember(Buffer.from([2]), { idempotent: false, select: true });
    expect(registry.lookup(id)).toBeUndefined();
    expect(registry.size).toBe(2);
  });
});
