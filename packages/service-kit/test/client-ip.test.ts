/**
 * The client address the gateway signs for subgraphs: believed only with a fresh signature made
 * with the shared secret for this very address and request id.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, commonSettings, readConfig } from '../src/config.js';
import {
  CLIENT_IP_HEADER,
  CLIENT_IP_MAX_AGE_SECONDS,
  CLIENT_IP_SIGNATURE_HEADER,
  signClientIp,
  verifiedClientIp,
} from '../src/client-ip.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);

const headersOf = (signed: Record<string, string>, requestId = 'req-1', extra: Record<string, string> = {}) =>
  new Headers({ ...signed, 'x-request-id': requestId, ...extra });

describe('signed client IP', () => {
  it('verifies an address signed for this request id, IPv4 and IPv6', () => {
    expect(verifiedClientIp(headersOf(signClientIp(SECRET, '203.0.113.9', 'req-1', NOW)), SECRET, { nowMs: NOW })).toBe(
      '203.0.113.9',
    );
    expect(
      verifiedClientIp(headersOf(signClientIp(SECRET, '2001:db8::7', 'req-1', NOW)), SECRET, { nowMs: NOW + 5_000 }),
    ).toBe('2001:db8::7');
  });

  it('gives null when the headers are missing: a direct caller', () => {
    expect(verifiedClientIp(new Headers({ 'x-request-id': 'req-1' }), SECRET, { nowMs: NOW })).toBeNull();
    expect(
      verifiedClientIp(new Headers({ [CLIENT_IP_HEADER]: '203.0.113.9', 'x-request-id': 'req-1' }), SECRET, {
        nowMs: NOW,
      }),
    ).toBeNull();
  });

  it('refuses a tampered address, request id, time or signature, and another secret', () => {
    const signed = signClientIp(SECRET, '203.0.113.9', 'req-1', NOW);
    expect(
      verifiedClientIp(headersOf({ ...signed, [CLIENT_IP_HEADER]: '198.51.100.1' }), SECRET, { nowMs: NOW }),
    ).toBeNull();
    expect(verifiedClientIp(headersOf(signed, 'req-2'), SECRET, { nowMs: NOW })).toBeNull();
    const [, mac] = /v1=(\w+)/.exec(signed[CLIENT_IP_SIGNATURE_HEADER]!)!;
    const otherTime = `t=${Math.floor(NOW / 1000) - 1},v1=${mac}`;
    expect(
      verifiedClientIp(headersOf({ ...signed, [CLIENT_IP_SIGNATURE_HEADER]: otherTime }), SECRET, { nowMs: NOW }),
    ).toBeNull();
    const flipped = signed[CLIENT_IP_SIGNATURE_HEADER]!.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    expect(
      verifiedClientIp(headersOf({ ...signed, [CLIENT_IP_SIGNATURE_HEADER]: flipped }), SECRET, { nowMs: NOW }),
    ).toBeNull();
    expect(verifiedClientIp(headersOf(signed), `${SECRET}-other`, { nowMs: NOW })).toBeNull();
  });

  it('refuses malformed values without throwing', () => {
    for (const signature of [
      '',
      'garbage',
      't=abc,v1=00',
      `t=1,v1=${'z'.repeat(64)}`,
      `t=${Math.floor(NOW / 1000)},v1=${'0'.repeat(63)}`,
    ]) {
      expect(
        verifiedClientIp(
          headersOf({ [CLIENT_IP_HEADER]: '203.0.113.9', [CLIENT_IP_SIGNATURE_HEADER]: signature }),
          SECRET,
          { nowMs: NOW },
        ),
      ).toBeNull();
    }
    // Not an address at all, even when correctly signed.
    expect(
      verifiedClientIp(headersOf(signClientIp(SECRET, 'not-an-ip', 'req-1', NOW)), SECRET, { nowMs: NOW }),
    ).toBeNull();
  });

  it('bounds replay: a signature is good for the replay window, then refused', () => {
    const signed = headersOf(signClientIp(SECRET, '203.0.113.9', 'req-1', NOW));
    expect(verifiedClientIp(signed, SECRET, { nowMs: NOW + CLIENT_IP_MAX_AGE_SECONDS * 1000 })).toBe('203.0.113.9');
    expect(verifiedClientIp(signed, SECRET, { nowMs: NOW + (CLIENT_IP_MAX_AGE_SECONDS + 1) * 1000 })).toBeNull();
    // A time far in the future (a forged clock) is refused too.
    expect(verifiedClientIp(signed, SECRET, { nowMs: NOW - (CLIENT_IP_MAX_AGE_SECONDS + 1) * 1000 })).toBeNull();
    expect(verifiedClientIp(signed, SECRET, { nowMs: NOW, maxAgeSeconds: 10 })).toBe('203.0.113.9');
  });
});

describe('INTERNAL_SIGNING_SECRET', () => {
  const problems = (env: Record<string, string>) => {
    try {
      readConfig(commonSettings, env);
      return [];
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).problems;
    }
  };

  it('works out of the box in development and test', () => {
    expect(readConfig(commonSettings, {}).internalSigningSecret).toBe(commonSettings.internalSigningSecret.default);
    expect(problems({ COURSEGRAPH_MODE: 'test' })).toEqual([]);
  });

  it('refuses the development default in production, unset or written out, and a short secret', () => {
    // Redis and NATS with credentials, so that the secret is production's only problem here (production-profile.test.ts has the rest).
    const production = {
      COURSEGRAPH_MODE: 'production',
      REDIS_URL: 'redis://:redis-pw@redis.internal:6379',
      NATS_URL: 'nats://svc:nats-pw@nats.internal:4222',
    };
    expect(problems(production)).toEqual([
      expect.stringMatching(/^INTERNAL_SIGNING_SECRET must be set to a secret of your own in production/),
    ]);
    expect(
      problems({ ...production, INTERNAL_SIGNING_SECRET: commonSettings.internalSigningSecret.default }),
    ).toHaveLength(1);
    expect(problems({ INTERNAL_SIGNING_SECRET: 'short' })).toEqual([
      expect.stringMatching(/INTERNAL_SIGNING_SECRET="short": expected at least 32 characters/),
    ]);
    expect(readConfig(commonSettings, { ...production, INTERNAL_SIGNING_SECRET: SECRET }).internalSigningSecret).toBe(
      SECRET,
    );
  });
});
