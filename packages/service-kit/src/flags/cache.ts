/**
 * Every flag a service knows, in memory: loaded whole from the flags subgraph, then kept current by
 * `flags.flag.changed`. The copy with the higher version wins, whatever order copies arrive in (an
 * event may overtake a load that started before it), and deleted flags stay as tombstones so an
 * older copy cannot bring them back.
 */
import type { FlagDefinition } from './definition.js';

export class FlagCache {
  private readonly flags = new Map<string, FlagDefinition>();
  private loadedOnce = false;

  /** True once a full load succeeded: before it, evaluations answer the code's default (reason ERROR). */
  get loaded(): boolean {
    return this.loadedOnce;
  }

  /** Keeps `flag` when it is newer than the copy held; true when it was kept. */
  apply(flag: FlagDefinition): boolean {
    const held = this.flags.get(flag.key);
    if (held && held.version >= flag.version) return false;
    this.flags.set(flag.key, flag);
    return true;
  }

  /**
   * A full load: every flag of the flags subgraph (tombstones included). Flags held but absent from
   * it are kept: they can only be newer than the load (created after it was read).
   */
  applyLoad(flags: FlagDefinition[]): number {
    let changed = 0;
    for (const flag of flags) if (this.apply(flag)) changed++;
    this.loadedOnce = true;
    return changed;
  }

  /** The live flag named `key`, or undefined (unknown or deleted). */
  get(key: string): FlagDefinition | undefined {
    const flag = this.flags.get(key);
    return flag && !flag.deleted ? flag : undefined;
  }

  /** The live flags, for logs and tests. */
  list(): FlagDefinition[] {
    return [...this.flags.values()].filter((f) => !f.deleted);
  }
}
