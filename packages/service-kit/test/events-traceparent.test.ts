import { describe, expect, it } from 'vitest';
import { childTraceparent, isTraceparent, newTraceparent } from '../src/events/traceparent.js';

describe('traceparent', () => {
  it('makes valid, distinct, sampled traces', () => {
    const a = newTraceparent();
    const b = newTraceparent();
    expect(a).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(isTraceparent(a)).toBe(true);
    expect(a.slice(3, 35)).not.toBe(b.slice(3, 35));
  });

  it('continues a trace with a new parent id and the same flags', () => {
    const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00';
    const child = childTraceparent(parent);
    expect(isTraceparent(child)).toBe(true);
    expect(child.slice(0, 36)).toBe(parent.slice(0, 36));
    expect(child.slice(36, 52)).not.toBe('00f067aa0ba902b7');
    expect(child.endsWith('-00')).toBe(true);
    expect(() => childTraceparent('nope')).toThrow(/invalid traceparent/);
  });

  it('rejects what W3C trace-context forbids', () => {
    for (const bad of [
      '',
      'nope',
      '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', // unknown version
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01', // uppercase
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01', // zero trace id
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', // zero parent id
      '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01', // short trace id
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
    ])
      expect(isTraceparent(bad), bad).toBe(false);
    expect(isTraceparent(42)).toBe(false);
  });
});
