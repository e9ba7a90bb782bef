import { describe, expect, it } from 'vitest';
import { isUuid, newId } from '../src/ids.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newId', () => {
  it('is a lower-case UUID version 7 with the RFC 9562 variant', () => {
    const id = newId();
    expect(id).toMatch(V7);
    expect(isUuid(id)).toBe(true);
  });

  it('carries the creation time in its first 48 bits', () => {
    const before = Date.now();
    const id = newId();
    const after = Date.now();
    const ms = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(after);
  });

  it('never goes backwards and never repeats over 1000 consecutive ids', () => {
    const ids = Array.from({ length: 1000 }, () => newId());
    for (const id of ids) expect(id).toMatch(V7);
    for (let i = 1; i < ids.length; i++) {
      expect(ids[i]! >= ids[i - 1]!, `${ids[i - 1]} then ${ids[i]}`).toBe(true);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('isUuid', () => {
  it('accepts UUIDs in either case and rejects anything else', () => {
    expect(isUuid('0190f5d2-7a3b-7c4d-8e5f-0123456789ab')).toBe(true);
    expect(isUuid('0190F5D2-7A3B-7C4D-8E5F-0123456789AB')).toBe(true);
    for (const bad of [
      '',
      'not-a-uuid',
      '0190f5d27a3b7c4d8e5f0123456789ab',
      '0190f5d2-7a3b-7c4d-8e5f-0123456789ab ',
      '{0190f5d2-7a3b-7c4d-8e5f-0123456789ab}',
    ]) {
      expect(isUuid(bad), bad).toBe(false);
    }
  });
});
