/**
 * Payment's projection of course prices, written only by the course-event consumer. Upserts apply
 * only a newer version, so redelivered or reordered events never roll a price back.
 */
import type { Tx } from './db.js';

export interface PriceSnapshot {
  courseId: string;
  version: number;
  title: string;
  priceMinor: number;
  currency: string;
  /** When the producer committed the event (ce-time): a publication after an archive lifts it. */
  eventTime: Date;
}

export async function upsertPublishedPrice(tx: Tx, s: PriceSnapshot): Promise<void> {
  await tx.$executeRaw`
    insert into course_prices (course_id, price_minor, currency, status, title, version, updated_at)
    values (${s.courseId}::uuid, ${s.priceMinor}, ${s.currency}, 'PUBLISHED', ${s.title}, ${s.version}, now())
    on conflict (course_id) do update set
      price_minor = excluded.price_minor,
      currency = excluded.currency,
      title = excluded.title,
      version = excluded.version,
      status = case when course_prices.archived_at is not null and course_prices.archived_at >= ${s.eventTime} then 'ARCHIVED' else 'PUBLISHED' end,
      archived_at = case when course_prices.archived_at is not null and course_prices.archived_at >= ${s.eventTime} then course_prices.archived_at else null end,
      updated_at = now()
    where course_prices.version < excluded.version`;
}

/** Marks a course archived; an archive that arrives before any publication leaves a placeholder row. */
export async function archivePrice(tx: Tx, courseId: string, archivedAt: Date): Promise<void> {
  await tx.$executeRaw`
    insert into course_prices (course_id, price_minor, currency, status, title, version, archived_at, updated_at)
    values (${courseId}::uuid, 0, '', 'ARCHIVED', '', 0, ${archivedAt}, now())
    on conflict (course_id) do update set
      status = 'ARCHIVED',
      archived_at = greatest(coalesce(course_prices.archived_at, excluded.archived_at), excluded.archived_at),
      updated_at = now()`;
}

export const findCoursePrice = (db: Pick<Tx, 'coursePrice'>, courseId: string) =>
  db.coursePrice.findUnique({ where: { courseId } });
