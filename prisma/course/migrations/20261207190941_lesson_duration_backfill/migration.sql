-- Migrate (docs/versioning.md). In a deployment the batched backfill
-- (node scripts/backfill-lesson-duration.mjs) has copied every row by now, with the expand release
-- writing both columns, so this update finds nothing left. On a database that skipped it (a fresh
-- clone, a demo database migrated in one go) it is the backfill.
UPDATE "lessons" SET "estimated_duration_seconds" = "duration_seconds"
WHERE "estimated_duration_seconds" IS DISTINCT FROM "duration_seconds";

-- Every row has it: tighten it.
ALTER TABLE "lessons" VALIDATE CONSTRAINT "lessons_estimated_duration_seconds_range";

-- AlterTable
ALTER TABLE "lessons" ALTER COLUMN "estimated_duration_seconds" SET NOT NULL,
ALTER COLUMN "estimated_duration_seconds" SET DEFAULT 0;
