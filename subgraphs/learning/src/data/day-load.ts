/**
 * Due review cards per review day, for load balancing. The scheduler asks for the days of one fuzz
 * range; the range is found by asking once with an empty load (the scheduler is deterministic),
 * then the counts of that range are read in one query.
 */
import type { Tx } from './db.js';
import { DAY_START_HOUR_UTC_DEFAULT, type DayLoad } from '../domain/scheduling/load-balance.js';

export async function dayLoadFor(
  tx: Tx,
  userId: string,
  probe: (load: DayLoad) => void,
  dayStartHourUtc = DAY_START_HOUR_UTC_DEFAULT,
): Promise<DayLoad | undefined> {
  let range: [number, number] | null = null;
  probe((first, last) => {
    range = [first, last];
    return new Array<number>(last - first + 1).fill(0);
  });
  if (!range) return undefined;
  const [first, last] = range as [number, number];
  const offset = dayStartHourUtc * 3600;
  const rows = await tx.$queryRaw<{ day: number; n: number }[]>`
    select floor((extract(epoch from due) - ${offset}) / 86400)::int as day, count(*)::int as n
      from cards
     where user_id = ${userId}::uuid and state = 'REVIEW' and not suspended
       and due >= to_timestamp(${first * 86400 + offset}) and due < to_timestamp(${(last + 1) * 86400 + offset})
     group by 1`;
  const counts = new Map(rows.map((r) => [r.day, r.n]));
  return (a, b) => Array.from({ length: b - a + 1 }, (_, i) => counts.get(a + i) ?? 0);
}
