-- CreateTable
CREATE TABLE "quiz_failures" (
    "attempt_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "course_id" UUID NOT NULL,
    "lesson_id" UUID NOT NULL,
    "failed_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "quiz_failures_pkey" PRIMARY KEY ("attempt_id")
);

-- CreateIndex
CREATE INDEX "quiz_failures_user_id_course_id_failed_at_idx" ON "quiz_failures"("user_id", "course_id", "failed_at");

