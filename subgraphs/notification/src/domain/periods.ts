/** Digest periods in UTC: a day `2026-11-26`, or an ISO week `2026-W48` (Monday to Sunday). */
import type { NotificationFrequency } from '../generated/prisma/client.js';

export type DigestFrequency = Extract<NotificationFrequency, 'DAILY_DIGEST' | 'WEEKLY_DIGEST'>;

const DAY_MS = 86_400_000;

function isoWeek(at: Date): string {
  // The ISO week belongs to the year of its Thursday.
  const day = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  const thursday = new Date(day.getTime() + (4 - weekday) * DAY_MS);
  const yearStart = Date.UTC(thursday.getUTCFullYear(), 0, 1);
  const week = Math.floor((thursday.getTime() - yearStart) / DAY_MS / 7) + 1;
  return `${thursday.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

/** The period of `frequency` that contains `at`. Periods of one frequency sort in time order as strings. */
export function periodOf(frequency: DigestFrequency, at: Date): string {
  return frequency === 'DAILY_DIGEST' ? at.toISOString().slice(0, 10) : isoWeek(at);
}

/** How a digest's subject names its period. */
export function describePeriod(frequency: DigestFrequency, period: string): string {
  return frequency === 'DAILY_DIGEST' ? `on ${period}` : `in week ${period.slice(6)} of ${period.slice(0, 4)}`;
}
