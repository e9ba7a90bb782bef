import { randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'; // no 0/O, 1/I: read aloud and typed by people

/** An unguessable public id such as CG-7KQ2-M9XD-4HTW-PZ3A-8RNE (100 bits of randomness). */
export function newCertificatePublicId(): string {
  const bytes = randomBytes(20);
  const chars = [...bytes].map((b) => ALPHABET[b % 32]).join('');
  return `CG-${chars.match(/.{4}/g)!.join('-')}`;
}

export const isCertificatePublicId = (value: string): boolean => /^CG(-[A-HJ-NP-Z2-9]{4}){5}$/.test(value);
