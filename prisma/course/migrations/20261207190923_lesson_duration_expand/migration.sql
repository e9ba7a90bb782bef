-- AlterTable
ALTER TABLE "lessons" ADD COLUMN     "estimated_duration_seconds" INTEGER;


-- Expand (docs/versioning.md): lessons.duration_seconds becomes estimated_duration_seconds, with the
-- range the service already validates (0 to 24 h) held by the database too. The column is nullable
-- (null: not backfilled yet, the code falls back to duration_seconds) and the check is NOT VALID,
-- so neither scans the table under its lock. The next migration validates it.
ALTER TABLE "lessons" ADD CONSTRAINT "lessons_estimated_duration_seconds_range"
    CHECK ("estimated_duration_seconds" BETWEEN 0 AND 86400) NOT VALID;
