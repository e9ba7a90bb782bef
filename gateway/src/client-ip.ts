/**
 * Which address a request comes from. The socket's peer is the client unless it is one of the
 * configured trusted proxies; then the proxies' `X-Forwarded-For` is read from the right, skipping
 * trusted hops, and the first untrusted address is the client. A client can put anything in that
 * header, so only what trusted proxies appended is believed.
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import type { Plugin } from 'graphql-yoga';
import { signClientIp } from '@coursegraph/service-kit';

export interface TrustedProxies {
  /** True when `address` is a proxy whose `X-Forwarded-For` is believed. */
  trusts(address: string): boolean;
}

/** Strips the IPv4-mapped IPv6 prefix Node reports for IPv4 peers on a dual-stack socket. */
export function normaliseAddress(address: string): string {
  const trimmed = address.trim();
  return trimmed.startsWith('::ffff:') && isIP(trimmed.slice(7)) === 4 ? trimmed.slice(7) : trimmed;
}

/**
 * Parses a comma-separated list of addresses and CIDR ranges (`10.0.0.0/8, ::1, 192.168.1.7`).
 * Throws on an entry that is neither, so a typo fails start-up instead of trusting nobody.
 */
export function parseTrustedProxies(raw: string): TrustedProxies {
  const list = new BlockList();
  for (const entry of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [address, bits, ...rest] = entry.split('/');
    const family = isIP(address ?? '');
    if (!family || rest.length > 0) throw new Error(`"${entry}" is not an IP address or CIDR range`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) {
      list.addAddress(address!, type);
      continue;
    }
    const prefix = Number(bits);
    if (!/^\d+$/.test(bits) || prefix > (family === 4 ? 32 : 128))
      throw new Error(`"${entry}" has a bad prefix length`);
    list.addSubnet(address!, prefix, type);
  }
  return {
    trusts(address) {
      const normalised = normaliseAddress(address);
      const family = isIP(normalised);
      return family !== 0 && list.check(normalised, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

/**
 * The client's address, from the socket peer and the `X-Forwarded-For` header (as received; several
 * headers joined with commas). Returns 'unknown' when the peer is not known (an in-process call).
 */
export function clientIp(
  peer: string | undefined,
  forwardedFor: string | string[] | null | undefined,
  trusted: TrustedProxies,
): string {
  if (!peer) return 'unknown';
  let client = normaliseAddress(peer);
  if (!trusted.trusts(client) || !forwardedFor) return client;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((s) => normaliseAddress(s));
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (isIP(hop) === 0) return client; // a malformed entry: stop at the last address we could believe
    client = hop;
    if (!trusted.trusts(hop)) return hop;
  }
  return client;
}

/** The gateway context's field holding the signed client-IP headers for subgraph calls. */
const SIGNED_HEADERS = 'clientIpHeaders';

/**
 * Server-context key of an in-process request made for a client (`yoga.fetch(url, init, {
 * [ON_BEHALF_OF]: ip })`): its subgraph calls carry that client's signed address. Only the gateway's
 * own code can set it; a request from the network has a socket and its own address.
 */
export const ON_BEHALF_OF = Symbol.for('coursegraph.client-ip.on-behalf-of');

export interface ClientIpOptions {
  /** Proxies whose `X-Forwarded-For` is believed (GATEWAY_TRUSTED_PROXIES). Default: none. */
  trustedProxies?: TrustedProxies;
  /** Key of the signature subgraphs verify (INTERNAL_SIGNING_SECRET). */
  signingSecret: string;
}

/**
 * Decides each request's client address once, from its socket (see clientIp), and signs it for the
 * subgraphs. A request without a socket is the gateway calling itself in-process (subscription
 * entity fields, the explorer's sign-in): it has no client address, and no client can make its
 * request look like one, since every request from the network arrives on a socket.
 */
export function createClientIp({ trustedProxies = parseTrustedProxies(''), signingSecret }: ClientIpOptions) {
  const addresses = new WeakMap<Request, string>();
  // In-process calls made for a client (the explorer's sign-in): signed for the subgraphs, but not
  // the request's own address, so the rate limits (which counted the outer request) skip them.
  const onBehalfOf = new WeakMap<Request, string>();
  const plugin: Plugin = {
    onRequest({ request, serverContext }) {
      const req = (serverContext as { req?: IncomingMessage } | undefined)?.req;
      if (!req?.socket) {
        const forClient = (serverContext as Record<symbol, unknown> | undefined)?.[ON_BEHALF_OF];
        if (typeof forClient === 'string') onBehalfOf.set(request, forClient);
        return;
      }
      addresses.set(
        request,
        clientIp(req.socket.remoteAddress ?? 'unknown', req.headers['x-forwarded-for'], trustedProxies),
      );
    },
    onContextBuilding({ context, extendContext }) {
      const request = (context as { request?: Request }).request;
      const ip = request && (addresses.get(request) ?? onBehalfOf.get(request));
      if (!ip || isIP(ip) === 0) return;
      extendContext({
        [SIGNED_HEADERS]: signClientIp(signingSecret, ip, request.headers.get('x-request-id') ?? ''),
      } as never);
    },
  };
  return {
    /** Put it first among the plugins: the others read `of(request)`. */
    plugin,
    /** The request's client address, or null for the gateway's own in-process calls. */
    of: (request: Request): string | null => addresses.get(request) ?? null,
  };
}

export type ClientIpResolver = ReturnType<typeof createClientIp>;

/** Adds the signed client address of the request behind `context` to a subgraph call's headers. */
export function forwardClientIp(
  headers: { set(name: string, value: string): unknown },
  context: Record<string, unknown>,
): void {
  const signed = context[SIGNED_HEADERS] as Record<string, string> | undefined;
  if (!signed) return;
  for (const [name, value] of Object.entries(signed)) headers.set(name, value);
}
