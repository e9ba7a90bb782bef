-- AlterTable
ALTER TABLE "recipients" ADD COLUMN     "email_verified_at" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "digest_entries" ADD COLUMN     "dedupe_key" TEXT;

-- CreateTable
CREATE TABLE "course_update_fanouts" (
    "id" UUID NOT NULL,
    "course_id" UUID NOT NULL,
    "source_event_id" UUID NOT NULL,
    "title" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "window_starts_at" TIMESTAMPTZ(3) NOT NULL,
    "window_ends_at" TIMESTAMPTZ(3) NOT NULL,
    "folded_updates" INTEGER NOT NULL DEFAULT 0,
    "cursor" UUID,
    "notified" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "course_update_fanouts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "course_update_fanouts_course_id_window_starts_at_idx" ON "course_update_fanouts"("course_id", "window_starts_at");

-- CreateIndex
CREATE INDEX "course_update_fanouts_finished_at_created_at_idx" ON "course_update_fanouts"("finished_at", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "course_update_fanouts_course_id_source_event_id_key" ON "course_update_fanouts"("course_id", "source_event_id");

-- CreateIndex
CREATE UNIQUE INDEX "digest_entries_user_id_dedupe_key_key" ON "digest_entries"("user_id", "dedupe_key");

