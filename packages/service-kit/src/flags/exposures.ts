/**
 * Exposures: which variant subjects saw, counted per flag, variant and UTC day by an OpenFeature hook
 * (after each successful evaluation), and published in batches as `flags.exposure.reported` straight
 * to JetStream (the counts live in memory: no outbox), where the flags subgraph adds them up. A
 * batch that cannot be published is given back and goes with the next one; the number of distinct
 * counts held is bounded, past it new ones are dropped (and logged once per report).
 */
import type { Hook } from '@openfeature/server-sdk';

export interface ExposureCount {
  flagKey: string;
  variant: string;
  /** UTC day, YYYY-MM-DD. */
  day: string;
  count: number;
}

/** Distinct (flag, variant, day) counts held between reports. Flags × variants × a day or two: far below. */
export const MAX_EXPOSURE_COUNTS = 10_000;

export class ExposureCounts {
  private readonly counts = new Map<string, ExposureCount>();
  /** Evaluations not counted since the last take() because the map was full. */
  dropped = 0;

  get size(): number {
    return this.counts.size;
  }

  add(flagKey: string, variant: string, at: Date, count = 1): void {
    const day = at.toISOString().slice(0, 10);
    const id = `${flagKey}\n${variant}\n${day}`;
    const held = this.counts.get(id);
    if (held) held.count += count;
    else if (this.counts.size >= MAX_EXPOSURE_COUNTS) this.dropped += count;
    else this.counts.set(id, { flagKey, variant, day, count });
  }

  /** Everything counted so far; the counts start again from zero. */
  take(): ExposureCount[] {
    const rows = [...this.counts.values()];
    this.counts.clear();
    return rows;
  }

  /** Gives back rows that could not be published, for the next report. */
  restore(rows: ExposureCount[]): void {
    for (const r of rows) this.add(r.flagKey, r.variant, new Date(`${r.day}T00:00:00.000Z`), r.count);
  }
}

/** The hook that counts every evaluation that chose a variant (errors and defaults of unknown flags are not exposures). */
export function exposureHook(counts: ExposureCounts, now: () => Date = () => new Date()): Hook {
  return {
    after(hookContext, details) {
      if (details.errorCode || !details.variant) return;
      counts.add(hookContext.flagKey, details.variant, now());
    },
  };
}
