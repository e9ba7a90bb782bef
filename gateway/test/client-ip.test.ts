/**
 * Which address a request comes from: the socket's peer, unless that peer is a trusted proxy, in
 * which case X-Forwarded-For is read from the right and the first untrusted hop is the client.
 */
import { describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSchema, createYoga } from 'graphql-yoga';
import { verifiedClientIp } from '@coursegraph/service-kit';
import {
  ON_BEHALF_OF,
  clientIp,
  createClientIp,
  forwardClientIp,
  normaliseAddress,
  parseTrustedProxies,
} from '../src/client-ip.js';

describe('parseTrustedProxies', () => {
  it('accepts addresses and CIDR ranges of both families, with spaces and empty entries', () => {
    const trusted = parseTrustedProxies(' 10.0.0.0/8, 192.168.1.7 ,, ::1, 2001:db8::/32 ');
    expect(trusted.trusts('10.20.30.40')).toBe(true);
    expect(trusted.trusts('192.168.1.7')).toBe(true);
    expect(trusted.trusts('192.168.1.8')).toBe(false);
    expect(trusted.trusts('::1')).toBe(true);
    expect(trusted.trusts('2001:db8:1::5')).toBe(true);
    expect(trusted.trusts('2001:db9::5')).toBe(false);
    // Node reports IPv4 peers on a dual-stack socket as IPv4-mapped IPv6.
    expect(trusted.trusts('::ffff:10.1.2.3')).toBe(true);
    expect(trusted.trusts('not an address')).toBe(false);
  });

  it('trusts nobody when empty', () => {
    const none = parseTrustedProxies('');
    expect(none.trusts('127.0.0.1')).toBe(false);
    expect(none.trusts('::1')).toBe(false);
  });

  it('fails on a typo instead of trusting nobody', () => {
    expect(() => parseTrustedProxies('10.0.0.0/33')).toThrow('"10.0.0.0/33" has a bad prefix length');
    expect(() => parseTrustedProxies('10.0.0.0/8/1')).toThrow('is not an IP address or CIDR range');
    expect(() => parseTrustedProxies('proxy.internal')).toThrow('"proxy.internal" is not an IP address or CIDR range');
    expect(() => parseTrustedProxies('10.0.0.0/x')).toThrow('has a bad prefix length');
  });
});

describe('clientIp', () => {
  const proxies = parseTrustedProxies('10.0.0.0/8');

  it('is the peer when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(clientIp('203.0.113.5', '1.2.3.4', parseTrustedProxies(''))).toBe('203.0.113.5');
    expect(clientIp('::ffff:203.0.113.5', undefined, proxies)).toBe('203.0.113.5');
  });

  it('is the peer when the peer is not a trusted proxy', () => {
    expect(clientIp('198.51.100.2', '1.2.3.4', proxies)).toBe('198.51.100.2');
  });

  it('reads a trusted chain from the right and stops at the first untrusted hop', () => {
    // The client forged "6.6.6.6"; the edge proxy appended the address it saw, then an inner proxy its own.
    expect(clientIp('10.0.0.2', '6.6.6.6, 203.0.113.7, 10.0.0.1', proxies)).toBe('203.0.113.7');
    // Several headers are one list, in order.
    expect(clientIp('10.0.0.2', ['6.6.6.6', '203.0.113.7, 10.0.0.1'], proxies)).toBe('203.0.113.7');
  });

  it('is the last trusted hop when every hop is trusted, and the peer without a header', () => {
    expect(clientIp('10.0.0.2', '10.0.0.9, 10.0.0.1', proxies)).toBe('10.0.0.9');
    expect(clientIp('10.0.0.2', undefined, proxies)).toBe('10.0.0.2');
    expect(clientIp('10.0.0.2', '', proxies)).toBe('10.0.0.2');
  });

  it('stops at a malformed entry, believing only what came after it', () => {
    expect(clientIp('10.0.0.2', '203.0.113.7, garbage, 10.0.0.1', proxies)).toBe('10.0.0.1');
    expect(clientIp('10.0.0.2', 'garbage', proxies)).toBe('10.0.0.2');
  });

  it("is 'unknown' without a peer", () => {
    expect(clientIp(undefined, '1.2.3.4', proxies)).toBe('unknown');
  });

  it('normalises IPv4-mapped IPv6 addresses only', () => {
    expect(normaliseAddress(' ::ffff:192.0.2.1 ')).toBe('192.0.2.1');
    expect(normaliseAddress('::ffff:abcd')).toBe('::ffff:abcd');
    expect(normaliseAddress('2001:db8::1')).toBe('2001:db8::1');
  });
});

describe('the client address handed to subgraphs', () => {
  const SECRET = 'client-ip-test-secret-0123456789abcdef';

  /** A yoga whose one field shows what a subgraph would receive and believe. */
  const gatewayWith = (trusted: string) => {
    const resolver = createClientIp({ trustedProxies: parseTrustedProxies(trusted), signingSecret: SECRET });
    const schema = createSchema<Record<string, unknown>>({
      typeDefs: 'type Query { subgraphSees: String }',
      resolvers: {
        Query: {
          subgraphSees: (_: unknown, __: unknown, context: Record<string, unknown> & { request: Request }) => {
            const headers = new Headers({ 'x-request-id': context.request.headers.get('x-request-id') ?? '' });
            forwardClientIp(headers, context);
            return verifiedClientIp(headers, SECRET);
          },
        },
      },
    });
    return createYoga({ schema, plugins: [resolver.plugin] });
  };

  const ask = async (trusted: string, headers: Record<string, string>) => {
    const server = createServer(gatewayWith(trusted));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'req-42', ...headers },
        body: JSON.stringify({ query: '{ subgraphSees }' }),
      });
      return ((await res.json()) as { data: { subgraphSees: string | null } }).data.subgraphSees;
    } finally {
      server.close();
    }
  };

  it("signs the socket's peer, or the address a trusted proxy saw", async () => {
    expect(await ask('', { 'x-forwarded-for': '198.51.100.7' })).toBe('127.0.0.1');
    expect(await ask('127.0.0.1', { 'x-forwarded-for': '198.51.100.7' })).toBe('198.51.100.7');
  });

  it('ignores client-sent x-client-ip headers and signs nothing for in-process calls', async () => {
    expect(await ask('', { 'x-client-ip': '198.51.100.66', 'x-client-ip-signature': 't=1,v1=00' })).toBe('127.0.0.1');
    const res = await gatewayWith('').fetch('http://gateway/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-1' },
      body: JSON.stringify({ query: '{ subgraphSees }' }),
    });
    expect(((await res.json()) as { data: { subgraphSees: string | null } }).data.subgraphSees).toBeNull();
  });

  it("signs the browser's address for an in-process call made on its behalf (the explorer's sign-in)", async () => {
    const gateway = gatewayWith('');
    const init = {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-7' },
      body: JSON.stringify({ query: '{ subgraphSees }' }),
    };
    const res = await gateway.fetch('http://gateway/graphql', init, { [ON_BEHALF_OF]: '203.0.113.9' });
    expect(((await res.json()) as { data: { subgraphSees: string | null } }).data.subgraphSees).toBe('203.0.113.9');
    // Only a string address is taken.
    const odd = await gateway.fetch('http://gateway/graphql', init, { [ON_BEHALF_OF]: 42 });
    expect(((await odd.json()) as { data: { subgraphSees: string | null } }).data.subgraphSees).toBeNull();
  });
});
