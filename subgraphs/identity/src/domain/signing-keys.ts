/**
 * ES256 signing keys for access tokens, kept in the identity schema so every identity instance
 * signs with the same current key. The JWKS publishes every key that is not yet retired, so after a
 * rotation the tokens signed with the previous key stay valid until they expire: nobody is logged out.
 */
import { randomUUID } from 'node:crypto';
import {
  exportJWK,
  generateKeyPair,
  importJWK,
  errors as joseErrors,
  type JWK,
  type JWTVerifyGetKey,
  type CryptoKey,
} from 'jose';
import type { PrismaClient, SigningKey } from '../generated/prisma/client.js';

export const ALGORITHM = 'ES256';

interface LoadedKey {
  row: SigningKey;
  publicKey: CryptoKey;
  privateKey: CryptoKey;
}

export class SigningKeyStore {
  private keys = new Map<string, LoadedKey>();
  private current: LoadedKey | null = null;
  private lastReload = 0;

  constructor(
    private readonly db: PrismaClient,
    /** Access-token lifetime: how long a replaced key must stay published. */
    private readonly accessTtlSeconds: number,
  ) {}

  /** Loads the published keys, creating the first key on a fresh database. */
  async init(): Promise<void> {
    await this.reload();
    if (!this.current) {
      await this.create();
      await this.reload();
    }
  }

  private async create(): Promise<SigningKey> {
    const { publicKey, privateKey } = await generateKeyPair(ALGORITHM, { extractable: true });
    const kid = randomUUID();
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: ALGORITHM, use: 'sig' };
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: ALGORITHM };
    return this.db.signingKey.create({ data: { kid, publicJwk, privateJwk } });
  }

  async reload(): Promise<void> {
    this.lastReload = Date.now();
    const rows = await this.db.signingKey.findMany({
      where: { OR: [{ retiresAt: null }, { retiresAt: { gt: new Date() } }] },
      orderBy: { createdAt: 'desc' },
    });
    const next = new Map<string, LoadedKey>();
    for (const row of rows) {
      const known = this.keys.get(row.kid);
      next.set(row.kid, {
        row,
        publicKey: known?.publicKey ?? ((await importJWK(row.publicJwk as JWK, ALGORITHM)) as CryptoKey),
        privateKey: known?.privateKey ?? ((await importJWK(row.privateJwk as JWK, ALGORITHM)) as CryptoKey),
      });
    }
    this.keys = next;
    // The newest key without a retirement date signs; older ones only verify.
    this.current = [...next.values()].find((k) => k.row.retiresAt === null) ?? null;
  }

  /** The key new tokens are signed with. */
  signingKey(): { kid: string; privateKey: CryptoKey } {
    if (!this.current) throw new Error('signing keys not loaded');
    return { kid: this.current.row.kid, privateKey: this.current.privateKey };
  }

  /** Starts signing with a new key; the previous one stays published for one access-token lifetime. */
  async rotate(): Promise<SigningKey> {
    const retiresAt = new Date(Date.now() + (this.accessTtlSeconds + 60) * 1000);
    const created = await this.db.$transaction(async (tx) => {
      await tx.signingKey.updateMany({ where: { retiresAt: null }, data: { retiresAt } });
      const { publicKey, privateKey } = await generateKeyPair(ALGORITHM, { extractable: true });
      const kid = randomUUID();
      return tx.signingKey.create({
        data: {
          kid,
          publicJwk: { ...(await exportJWK(publicKey)), kid, alg: ALGORITHM, use: 'sig' },
          privateJwk: { ...(await exportJWK(privateKey)), kid, alg: ALGORITHM },
        },
      });
    });
    await this.reload();
    return created;
  }

  published(): SigningKey[] {
    return [...this.keys.values()].map((k) => k.row);
  }

  /** The JWKS document: public keys only. */
  jwks(): { keys: JWK[] } {
    return { keys: this.published().map((row) => row.publicJwk as JWK) };
  }

  /**
   * Key resolver for verifying tokens in this service. An unknown kid triggers one reload (another
   * instance may have rotated), at most once a second so random kids cannot flood the database.
   */
  getKey: JWTVerifyGetKey = async (header) => {
    let key = header.kid ? this.keys.get(header.kid) : undefined;
    if (!key && header.kid && Date.now() - this.lastReload > 1000) {
      await this.reload();
      key = this.keys.get(header.kid);
    }
    if (!key) throw new joseErrors.JWKSNoMatchingKey();
    return key.publicKey;
  };
}
