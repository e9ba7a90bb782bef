/**
 * argon2id hashing under a concurrency bound. Each hash costs 19 MiB and tens of milliseconds of a
 * core, so a flood of logIn calls must not run them all at once: at most `concurrency` run, at most
 * `maxQueued` wait, and the next one is refused at once with RATE_LIMITED (reason
 * PASSWORD_HASH_BUSY) instead of queueing without end and starving everything else.
 */
import { hash, verify, Algorithm } from '@node-rs/argon2';
import { appError, ErrorCode } from '@coursegraph/service-kit';

// OWASP's argon2id baseline: 19 MiB, 2 iterations, 1 lane.
const OPTIONS = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** The two argon2 operations; tests wrap the real ones to watch them. */
export interface Argon2 {
  hash(password: string): Promise<string>;
  verify(passwordHash: string, password: string): Promise<boolean>;
}

export const nodeArgon2: Argon2 = {
  hash: (password) => hash(password, OPTIONS),
  verify: (passwordHash, password) => verify(passwordHash, password),
};

export interface PasswordHasherOptions {
  /** argon2 operations running at once. Default 2 (one per core on this machine). */
  concurrency?: number;
  /** Operations waiting for a turn before more are refused. Default 64. */
  maxQueued?: number;
  /** Default: @node-rs/argon2 with the OWASP baseline. */
  argon2?: Argon2;
}

export class PasswordHasher {
  private readonly concurrency: number;
  private readonly maxQueued: number;
  private readonly argon2: Argon2;
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  /** A hash of nothing anyone knows, verified when the email is unknown so timing does not tell. */
  private decoy: Promise<string> | null = null;

  constructor(options: PasswordHasherOptions = {}) {
    this.concurrency = options.concurrency ?? 2;
    this.maxQueued = options.maxQueued ?? 64;
    this.argon2 = options.argon2 ?? nodeArgon2;
  }

  hash(password: string): Promise<string> {
    return this.bounded(() => this.argon2.hash(password));
  }

  /** False for a wrong password, and for `passwordHash` null (no such user), in about the same time. */
  async verify(passwordHash: string | null, password: string): Promise<boolean> {
    if (passwordHash === null) {
      this.decoy ??= this.hash(`decoy-${Math.random()}`);
      const decoy = await this.decoy.catch((err) => {
        this.decoy = null;
        throw err;
      });
      await this.bounded(() => this.argon2.verify(decoy, password).catch(() => false));
      return false;
    }
    return this.bounded(() => this.argon2.verify(passwordHash, password).catch(() => false));
  }

  private async bounded<T>(work: () => Promise<T>): Promise<T> {
    if (this.active < this.concurrency) {
      this.active++;
    } else {
      if (this.waiting.length >= this.maxQueued) {
        throw appError(ErrorCode.RATE_LIMITED, 'The service is busy checking passwords. Try again in a moment.', {
          reason: 'PASSWORD_HASH_BUSY',
          retryAfterSeconds: 1,
        });
      }
      // The finishing operation hands its turn over, so `active` stays counted.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/** One hash, unbounded: for tooling (demo data), not for request paths. */
export const hashPassword = (password: string): Promise<string> => nodeArgon2.hash(password);
