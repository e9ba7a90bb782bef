-- Contract (docs/versioning.md): the code reads and writes only estimated_duration_seconds now.
-- AlterTable
ALTER TABLE "lessons" DROP COLUMN "duration_seconds";
