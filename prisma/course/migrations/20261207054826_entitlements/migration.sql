-- AlterTable
ALTER TABLE "lessons" ADD COLUMN     "free_preview" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "entitlements" (
    "user_id" UUID NOT NULL,
    "course_id" UUID NOT NULL,
    "enrollment_id" UUID NOT NULL,
    "basis" TEXT NOT NULL,
    "active" BOOLEAN NOT NULL,
    "event_sequence" BIGINT NOT NULL,
    "decided_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "entitlements_pkey" PRIMARY KEY ("user_id","course_id")
);

-- CreateIndex
CREATE INDEX "entitlements_course_id_idx" ON "entitlements"("course_id");

