/**
 * Lists of addresses and CIDR ranges (METRICS_ALLOWED_CIDRS), checked against a socket's peer.
 */
import { BlockList, isIP } from 'node:net';

/** A list of addresses and CIDR ranges, checked against a peer's address. */
export interface AddressList {
  /** True when `address` (an IPv4-mapped IPv6 address counts as its IPv4 one) is in the list. */
  has(address: string | undefined): boolean;
  /** The list as written, normalised (for the README and logs). */
  readonly text: string;
}

/** Strips the IPv4-mapped IPv6 prefix Node reports for IPv4 peers on a dual-stack socket. */
const unmapped = (address: string) =>
  address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;

/**
 * Parses `10.0.0.0/8, ::1, 192.168.1.7`. Throws naming the entry that is neither an address nor a
 * CIDR range, so a typo fails start-up instead of letting nobody (or everybody) in.
 */
export function parseAddressList(raw: string): AddressList {
  const list = new BlockList();
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const entry of entries) {
    const [address = '', bits, ...rest] = entry.split('/');
    const family = isIP(address);
    if (!family || rest.length > 0) throw new Error(`"${entry}" is not an IP address or CIDR range`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) {
      list.addAddress(address, type);
      continue;
    }
    if (!/^\d{1,3}$/.test(bits) || Number(bits) > (family === 4 ? 32 : 128))
      throw new Error(`"${entry}" has a bad prefix length`);
    list.addSubnet(address, Number(bits), type);
  }
  return {
    has(address) {
      if (!address) return false;
      const plain = unmapped(address.trim());
      const family = isIP(plain);
      return family !== 0 && list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
    },
    text: entries.join(','),
  };
}
