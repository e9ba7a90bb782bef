/**
 * Signed internal requests (the gateway asking identity about a partner key): answered only with a
 * fresh signature made with the shared secret for this very path.
 */
import { describe, expect, it } from 'vitest';
import {
  INTERNAL_SIGNATURE_HEADER,
  INTERNAL_SIGNATURE_MAX_AGE_SECONDS,
  signInternalRequest,
  verifyInternalRequest,
} from '../src/internal-signature.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);
const PATH = `/internal/partner-access/${'ab'.repeat(32)}`;

describe('signed internal requests', () => {
  it('verifies a signature for this path, made now or within the allowed age either side', () => {
    const headers = new Headers(signInternalRequest(SECRET, PATH, NOW));
    expect(verifyInternalRequest(headers, PATH, SECRET, { nowMs: NOW })).toBe(true);
    expect(
      verifyInternalRequest(headers, PATH, SECRET, { nowMs: NOW + INTERNAL_SIGNATURE_MAX_AGE_SECONDS * 1000 }),
    ).toBe(true);
    expect(verifyInternalRequest(headers, PATH, SECRET, { nowMs: NOW - 30_000 })).toBe(true);
  });

  it('refuses a missing, malformed or stale signature, another path and another secret', () => {
    const signed = signInternalRequest(SECRET, PATH, NOW);
    expect(verifyInternalRequest(new Headers(), PATH, SECRET, { nowMs: NOW })).toBe(false);
    expect(verifyInternalRequest(new Headers({ [INTERNAL_SIGNATURE_HEADER]: 'nonsense' }), PATH, SECRET)).toBe(false);
    const stale = NOW + (INTERNAL_SIGNATURE_MAX_AGE_SECONDS + 1) * 1000;
    expect(verifyInternalRequest(new Headers(signed), PATH, SECRET, { nowMs: stale })).toBe(false);
    expect(verifyInternalRequest(new Headers(signed), `${PATH}0`, SECRET, { nowMs: NOW })).toBe(false);
    expect(verifyInternalRequest(new Headers(signed), PATH, `${SECRET}x`, { nowMs: NOW })).toBe(false);
  });

  it('refuses a signature whose time was changed', () => {
    const value = signInternalRequest(SECRET, PATH, NOW)[INTERNAL_SIGNATURE_HEADER]!;
    const moved = value.replace(/^t=(\d+)/, (_m, t: string) => `t=${Number(t) + 1}`);
    expect(
      verifyInternalRequest(new Headers({ [INTERNAL_SIGNATURE_HEADER]: moved }), PATH, SECRET, { nowMs: NOW }),
    ).toBe(false);
  });
});
