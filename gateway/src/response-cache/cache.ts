/**
 * The response cache's store: results of anonymous query operations by key, each with the tags of
 * what it holds, kept until they expire, are evicted (least recently used first) or are
 * invalidated. Tags are of three kinds:
 *   `Course`       the result holds Course data (from the operation's selections, so an empty
 *                  list or a null course still carries it);
 *   `Course:<id>`  the result holds the Course with this id;
 *   `Course:*`     the result holds a Course whose id was not selected, so any Course change touches it.
 * An invalidation names entities (`Course` X) or whole types. An execution that started before an
 * invalidation touching its tags does not store its result: it may have read the old state.
 */
import type { ExecutionResult } from 'graphql';
import { jsonOf } from '../document-text.js';

export interface Invalidation {
  /** Entities that changed, by type and id. */
  entities?: ReadonlyArray<readonly [type: string, id: string]>;
  /** Types of which any object, or the set of objects (lists, counts), may have changed. */
  types?: readonly string[];
}

export interface ResponseCacheOptions {
  ttlMs: number;
  maxEntries: number;
  /** All entries together stay under this many characters of JSON (least recently used go first). */
  maxTotalChars: number;
  /** Larger results are not kept (characters of their JSON). */
  maxEntryChars?: number;
}

interface Entry {
  result: ExecutionResult;
  tags: ReadonlySet<string>;
  expiresAt: number;
  chars: number;
}

/** How many recent invalidations are remembered to decide whether a finished execution may store. */
const INVALIDATION_LOG = 1024;

export class ResponseCache {
  private readonly entries = new Map<string, Entry>();
  private readonly byTag = new Map<string, Set<string>>();
  /** The tags each of the last INVALIDATION_LOG invalidations hit, by generation. */
  private readonly log: Array<ReadonlySet<string> | null> = [];
  private generationCount = 0;
  private totalChars = 0;
  private enabled = true;
  readonly stats = { hits: 0, misses: 0, stored: 0, skippedStale: 0, invalidated: 0 };

  constructor(private readonly options: ResponseCacheOptions) {}

  /** Increases with every invalidation; an execution notes it when it starts. */
  get generation(): number {
    return this.generationCount;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string, now = Date.now()): ExecutionResult | undefined {
    if (!this.enabled) return undefined;
    const entry = this.entries.get(key);
    if (!entry || entry.expiresAt <= now) {
      if (entry) this.delete(key);
      this.stats.misses++;
      return undefined;
    }
    // Most recently used last: eviction takes from the front.
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.stats.hits++;
    return entry.result;
  }

  /**
   * Keeps `result` under `key` unless an invalidation since `startedAt` (a `generation` read when
   * its execution began) touched one of its tags. Returns whether it was kept.
   */
  set(key: string, result: ExecutionResult, tags: ReadonlySet<string>, startedAt: number, now = Date.now()): boolean {
    if (!this.enabled || this.invalidatedSince(startedAt, tags)) {
      this.stats.skippedStale++;
      return false;
    }
    const chars = jsonOf(result).length;
    if (chars > Math.min(this.options.maxEntryChars ?? Infinity, this.options.maxTotalChars)) return false;
    this.delete(key);
    this.entries.set(key, { result, tags, expiresAt: now + this.options.ttlMs, chars });
    this.totalChars += chars;
    for (const tag of tags) {
      let keys = this.byTag.get(tag);
      if (!keys) this.byTag.set(tag, (keys = new Set()));
      keys.add(key);
    }
    while (this.entries.size > this.options.maxEntries || this.totalChars > this.options.maxTotalChars)
      this.delete(this.entries.keys().next().value!);
    this.stats.stored++;
    return true;
  }

  /** Drops every result the change touches; returns how many. */
  invalidate(change: Invalidation): number {
    const tags = new Set<string>();
    for (const [type, id] of change.entities ?? []) tags.add(`${type}:${id}`).add(`${type}:*`);
    for (const type of change.types ?? []) tags.add(type);
    this.remember(tags);
    let dropped = 0;
    for (const tag of tags) {
      for (const key of this.byTag.get(tag) ?? []) {
        this.delete(key);
        dropped++;
      }
    }
    this.stats.invalidated += dropped;
    return dropped;
  }

  /** Drops everything (and every execution in flight stores nothing). */
  clear(): void {
    this.remember(null);
    this.entries.clear();
    this.byTag.clear();
    this.totalChars = 0;
  }

  /** Characters of JSON held by all entries. */
  get chars(): number {
    return this.totalChars;
  }

  /** While disabled (e.g. the invalidation feed is down) nothing is served or kept. */
  setEnabled(enabled: boolean): void {
    if (this.enabled !== enabled) this.clear();
    this.enabled = enabled;
  }

  /** Records an invalidation; null stands for "everything". */
  private remember(tags: ReadonlySet<string> | null): void {
    this.generationCount++;
    this.log.push(tags);
    if (this.log.length > INVALIDATION_LOG) this.log.shift();
  }

  private invalidatedSince(startedAt: number, tags: ReadonlySet<string>): boolean {
    const missed = this.generationCount - startedAt;
    if (missed === 0) return false;
    if (missed > this.log.length) return true;
    for (let i = this.log.length - missed; i < this.log.length; i++) {
      const hit = this.log[i];
      if (hit === null || hit === undefined) return true;
      for (const tag of hit) if (tags.has(tag)) return true;
    }
    return false;
  }

  private delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.totalChars -= entry.chars;
    for (const tag of entry.tags) {
      const keys = this.byTag.get(tag);
      keys?.delete(key);
      if (keys?.size === 0) this.byTag.delete(tag);
    }
  }
}
