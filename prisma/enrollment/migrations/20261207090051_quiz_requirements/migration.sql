-- CreateTable
CREATE TABLE "quiz_requirements" (
    "lesson_id" UUID NOT NULL,
    "course_id" UUID NOT NULL,
    "course_version" INTEGER NOT NULL,
    "pass_score" INTEGER NOT NULL,
    "completion_requires_pass" BOOLEAN NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "quiz_requirements_pkey" PRIMARY KEY ("lesson_id")
);


-- AddCheck, written by hand since Prisma cannot express it: a passing score is a percent. The handler
-- already skips events outside that range, this is the backstop.
ALTER TABLE "quiz_requirements" ADD CONSTRAINT "quiz_requirements_pass_score_check" CHECK ("pass_score" BETWEEN 0 AND 100);
