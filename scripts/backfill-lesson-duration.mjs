#!/usr/bin/env node
// The "migrate" step of lessons.duration_seconds → estimated_duration_seconds (docs/versioning.md):
// copies the old column into the new one, `batch` rows per statement (each its own short
// transaction, so no lock is held for long), walking the table by id and printing progress.
// Idempotent: a row whose two columns already agree is left alone, so it can be re-run after a crash.
// Run it once every course process is at the expand release (which writes both columns), before the
// migration *_lesson_duration_backfill (which makes the new column NOT NULL).
//
//   node scripts/backfill-lesson-duration.mjs [batch]    (POSTGRES_DB picks the database; default batch 1000)
import { contextDatabaseUrl } from './lib/env.mjs';

/**
 * Backfills course.lessons on `databaseUrl` (course's role). Returns the rows it read and changed.
 * `log` gets one progress line per batch.
 */
export async function backfillLessonDuration({ databaseUrl, batch = 1000, log = console.log }) {
  if (!Number.isInteger(batch) || batch < 1 || batch > 100_000) throw new Error('batch: an integer from 1 to 100000');
  const { default: pg } = await import('pg');
  const db = new pg.Client({ connectionString: databaseUrl, application_name: 'backfill-lesson-duration' });
  await db.connect();
  try {
    const { rows: total } = await db.query('select count(*)::int as n from lessons');
    let after = '00000000-0000-0000-0000-000000000000';
    let read = 0;
    let changed = 0;
    for (;;) {
      // One statement per batch: the next `batch` ids after the last one, updated where they differ.
      const { rows } = await db.query(
        `with next as (select id from lessons where id > $1 order by id limit $2),
              done as (
                update lessons l set estimated_duration_seconds = l.duration_seconds
                from next where l.id = next.id and l.estimated_duration_seconds is distinct from l.duration_seconds
                returning 1)
         select (select count(*)::int from next) as read, (select count(*)::int from done) as changed,
                (select id::text from next order by id desc limit 1) as last`,
        [after, batch],
      );
      const step = rows[0];
      if (step.read === 0) break;
      read += step.read;
      changed += step.changed;
      after = step.last;
      log(`backfill: ${read}/${total[0].n} lessons read, ${changed} changed`);
    }
    const { rows: left } = await db.query(
      'select count(*)::int as n from lessons where estimated_duration_seconds is distinct from duration_seconds',
    );
    log(`backfill: done, ${read} lessons read, ${changed} changed, ${left[0].n} differ`);
    return { read, changed, left: left[0].n };
  } finally {
    await db.end();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const batch = process.argv[2] === undefined ? 1000 : Number(process.argv[2]);
  backfillLessonDuration({ databaseUrl: contextDatabaseUrl('course'), batch }).catch((err) => {
    console.error(`backfill: ${err.message}`);
    process.exit(1);
  });
}
