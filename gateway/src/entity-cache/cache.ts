/**
 * The entity cache's store, in Redis so every gateway process and every caller shares it: one entry
 * per subgraph, `_entities` query (text and other variables) and representation, holding that
 * entity's answer. See index.ts for what it serves and why it is safe.
 *
 * Redis layout:
 *   ec:e:<sha1>         an entity's answer: `{"g": {<type>: <generation>, "*": <epoch>}, "v": <entity>}`,
 *                       expiring after the smallest maxAge of its fields (capped);
 *   ec:t:<Type>:<id>    the entries holding that entity (`<Type>:*`: holding one whose id was not selected);
 *   ec:gen              per type, the id of the last event that changed the type as a whole, and `*`,
 *                       an epoch that drops everything;
 *   ec:alive            refreshed while some gateway process is applying invalidations.
 * A type-wide invalidation is a new generation: an entry whose generations differ from ec:gen (read
 * in the same round trip as the entries) is a miss, in every process at once, including one that
 * starts later. An entity invalidation deletes the entries of its tag sets.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from '@coursegraph/service-kit';
import type { Invalidation } from '../response-cache/cache.js';

const EPOCH = '*';
/** While some process is listening, it refreshes ec:alive this often; it lapses after ALIVE_MS. */
export const HEARTBEAT_MS = 2_000;
const ALIVE_MS = 5_000;
/** How many recent invalidations are remembered to decide whether a finished call may store. */
const INVALIDATION_LOG = 1024;

/** One entity to keep. */
export interface EntityWrite {
  key: string;
  value: unknown;
  tags: ReadonlySet<string>;
  ttlS: number;
}

/** What a read found: the generations now, and each key's entry (undefined: none or unusable). */
export interface EntityRead {
  generations: Record<string, string>;
  entries: Array<{ g: Record<string, string>; v: unknown } | undefined>;
}

// Entity invalidation (KEYS: the generations, then tag sets): every entry of every tag set goes,
// then the sets; then the types' new generations (ARGV: type, generation, ...).
const INVALIDATE_SCRIPT = `
for k = 2, #KEYS do
  local members = redis.call('SMEMBERS', KEYS[k])
  for i = 1, #members, 500 do redis.call('DEL', unpack(members, i, math.min(i + 499, #members))) end
  redis.call('DEL', KEYS[k])
end
for i = 1, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1`;

// A process that starts (or reconnects to NATS) when no process was listening cannot know what
// changed meanwhile: a new epoch. Atomic, so two processes starting at once agree.
// KEYS: ec:alive, the generations.
const SYNC_SCRIPT = `
if redis.call('SET', KEYS[1], '1', 'PX', ARGV[1], 'NX') then redis.call('HSET', KEYS[2], '${EPOCH}', ARGV[2]) end
return 1`;

export class EntityStore {
  /** Invalidations this process applied, newest last (null: everything), by generation. */
  private readonly log: Array<ReadonlySet<string> | null> = [];
  private applied = 0;
  /** Listening to the events (NATS connected and subscribed). */
  private listening = false;
  /** Redis has not taken every invalidation this process received: nothing is read until a new epoch is written. */
  private owesEpoch = false;
  private heartbeat: NodeJS.Timeout | undefined;
  readonly stats = { invalidations: 0 };

  constructor(
    private readonly redis: Redis,
    /** The most seconds any entry is kept (GATEWAY_ENTITY_CACHE_MAX_AGE_S). */
    readonly maxAgeCapS: number,
    private readonly onError: (what: string, err: unknown) => void = () => {},
    /** Of every key (tests use their own). */
    private readonly prefix = 'ec:',
  ) {}

  private get generationsKey() {
    return `${this.prefix}gen`;
  }

  private get aliveKey() {
    return `${this.prefix}alive`;
  }

  private tagKey(tag: string) {
    return `${this.prefix}t:${tag}`;
  }

  /** Serve and keep only while every change is seen and Redis has taken them all. */
  get usable(): boolean {
    return this.listening && !this.owesEpoch;
  }

  /** Increases with every invalidation this process applies; a call notes it when it starts. */
  get generation(): number {
    return this.applied;
  }

  key(subgraph: string, queryHash: string, representation: string): string {
    return `${this.prefix}e:${createHash('sha1').update(`${subgraph}\n${queryHash}\n${representation}`).digest('base64url')}`;
  }

  /** One round trip: the generations and the entries. Throws when Redis does not answer. */
  async read(keys: readonly string[]): Promise<EntityRead> {
    const results = await this.redis
      .pipeline()
      .hgetall(this.generationsKey)
      .mget(...keys)
      .exec();
    if (!results) throw new Error('Redis pipeline discarded');
    const [[genError, generations], [getError, values]] = results as [
      [Error | null, Record<string, string>],
      [Error | null, Array<string | null>],
    ];
    if (genError || getError) throw genError ?? getError;
    const unreadable: string[] = [];
    const entries = values.map((raw, i) => {
      if (raw === null) return undefined;
      try {
        const entry = JSON.parse(raw) as { g?: unknown; v?: unknown };
        if (entry && typeof entry.g === 'object' && entry.g !== null && 'v' in entry)
          return entry as { g: Record<string, string>; v: unknown };
      } catch {
        // Falls through: not ours, or cut short.
      }
      unreadable.push(keys[i]!);
      return undefined;
    });
    // An entry that is not valid is a miss, and goes.
    if (unreadable.length) this.redis.del(...unreadable).catch((err) => this.onError('delete', err));
    return { generations, entries };
  }

  /**
   * Keeps what a call fetched, unless an invalidation this process applied since `startedAt` (the
   * `generation` when the call began) touched one of the entries' tags (it may have read the old state).
   * `generations` are those read when it began: a type-wide change since makes the entries misses.
   */
  write(writes: readonly EntityWrite[], generations: Record<string, string>, startedAt: number): number {
    if (!this.usable) return 0;
    const pipeline = this.redis.pipeline();
    let kept = 0;
    for (const write of writes) {
      if (this.invalidatedSince(startedAt, write.tags)) continue;
      const ttl = Math.min(write.ttlS, this.maxAgeCapS);
      if (ttl <= 0) continue;
      pipeline.set(write.key, JSON.stringify({ g: generations, v: write.value }), 'EX', ttl);
      for (const tag of write.tags) {
        if (!tag.includes(':')) continue;
        pipeline.sadd(this.tagKey(tag), write.key).expire(this.tagKey(tag), this.maxAgeCapS);
      }
      kept++;
    }
    if (kept) pipeline.exec().catch((err) => this.onError('write', err));
    return kept;
  }

  /** Applies one change (an event's, by its id) here and in Redis. */
  async invalidate(change: Invalidation, eventId: string): Promise<void> {
    const tags = new Set<string>();
    const sets: string[] = [];
    for (const [type, id] of change.entities ?? []) {
      tags.add(`${type}:${id}`).add(`${type}:*`);
      sets.push(this.tagKey(`${type}:${id}`), this.tagKey(`${type}:*`));
    }
    const generations: string[] = [];
    for (const type of change.types ?? []) {
      tags.add(type);
      generations.push(type, eventId);
    }
    this.remember(tags);
    this.stats.invalidations++;
    try {
      await this.redis.eval(INVALIDATE_SCRIPT, sets.length + 1, this.generationsKey, ...sets, ...generations);
    } catch (err) {
      // Entries this change should have dropped may still be there: nothing is read until a new epoch.
      this.owesEpoch = true;
      this.onError('invalidate', err);
    }
  }

  /** Drops everything (a change that could not be read could be any change). */
  clear(): void {
    this.remember(null);
    this.owesEpoch = true;
    void this.tick();
  }

  /** Whether this process hears every change (its NATS subscriptions are up). */
  async setEnabled(listening: boolean): Promise<void> {
    if (!listening) {
      this.listening = false;
      this.remember(null);
      return;
    }
    try {
      await this.redis.eval(SYNC_SCRIPT, 2, this.aliveKey, this.generationsKey, String(ALIVE_MS), randomUUID());
    } catch (err) {
      // Redis is down: nothing could be read anyway; the next heartbeat writes a new epoch.
      this.owesEpoch = true;
      this.onError('sync', err);
    }
    this.listening = true;
  }

  /** Starts the heartbeat (ec:alive, and a new epoch when one is owed). */
  start(): void {
    this.heartbeat = setInterval(() => void this.tick(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  stop(): void {
    clearInterval(this.heartbeat);
    this.listening = false;
  }

  private async tick(): Promise<void> {
    if (!this.listening) return;
    try {
      if (this.owesEpoch) {
        // Cleared first: a failure while the new epoch is on its way owes another.
        this.owesEpoch = false;
        await this.redis.hset(this.generationsKey, EPOCH, randomUUID()).catch((err: unknown) => {
          this.owesEpoch = true;
          throw err;
        });
      }
      await this.redis.set(this.aliveKey, '1', 'PX', ALIVE_MS);
    } catch (err) {
      this.onError('heartbeat', err);
    }
  }

  private remember(tags: ReadonlySet<string> | null): void {
    this.applied++;
    this.log.push(tags);
    if (this.log.length > INVALIDATION_LOG) this.log.shift();
  }

  private invalidatedSince(startedAt: number, tags: ReadonlySet<string>): boolean {
    const missed = this.applied - startedAt;
    if (missed === 0) return false;
    if (missed > this.log.length) return true;
    for (let i = this.log.length - missed; i < this.log.length; i++) {
      const hit = this.log[i];
      if (!hit) return true;
      for (const tag of hit) if (tags.has(tag)) return true;
    }
    return false;
  }
}
