-- CreateEnum
CREATE TYPE "LessonKind" AS ENUM ('VIDEO', 'ARTICLE', 'QUIZ');

-- CreateEnum
CREATE TYPE "GradingPolicy" AS ENUM ('BEST', 'LAST', 'AVERAGE');

-- CreateEnum
CREATE TYPE "AttemptStatus" AS ENUM ('IN_PROGRESS', 'SUBMITTED');

-- CreateEnum
CREATE TYPE "NoteKind" AS ENUM ('BASIC', 'CLOZE');

-- CreateEnum
CREATE TYPE "CardSource" AS ENUM ('ITEM', 'NOTE');

-- CreateEnum
CREATE TYPE "CardState" AS ENUM ('NEW', 'LEARNING', 'REVIEW', 'RELEARNING');

-- CreateTable
CREATE TABLE "outbox_events" (
    "id" UUID NOT NULL,
    "subject" TEXT NOT NULL,
    "payload" BYTEA NOT NULL,
    "traceparent" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "published_at" TIMESTAMPTZ(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,

    CONSTRAINT "outbox_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "processed_events" (
    "consumer" TEXT NOT NULL,
    "event_id" UUID NOT NULL,
    "processed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "processed_events_pkey" PRIMARY KEY ("consumer","event_id")
);

-- CreateTable
CREATE TABLE "courses" (
    "id" UUID NOT NULL,
    "instructor_id" UUID NOT NULL,
    "title" TEXT NOT NULL DEFAULT '',
    "free" BOOLEAN NOT NULL DEFAULT false,
    "published_version" INTEGER NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "courses_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "course_lessons" (
    "id" UUID NOT NULL,
    "course_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "kind" "LessonKind" NOT NULL,
    "title" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "required" BOOLEAN NOT NULL,
    "free_preview" BOOLEAN NOT NULL,

    CONSTRAINT "course_lessons_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "enrolments" (
    "user_id" UUID NOT NULL,
    "course_id" UUID NOT NULL,
    "mode" TEXT NOT NULL,
    "active" BOOLEAN NOT NULL,
    "event_sequence" BIGINT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "enrolments_pkey" PRIMARY KEY ("user_id","course_id")
);

-- CreateTable
CREATE TABLE "lesson_completions" (
    "user_id" UUID NOT NULL,
    "lesson_id" UUID NOT NULL,
    "course_id" UUID NOT NULL,
    "completed_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "lesson_completions_pkey" PRIMARY KEY ("user_id","lesson_id")
);

-- CreateTable
CREATE TABLE "due_reminders" (
    "user_id" UUID NOT NULL,
    "day" TEXT NOT NULL,

    CONSTRAINT "due_reminders_pkey" PRIMARY KEY ("user_id","day")
);

-- CreateTable
CREATE TABLE "items" (
    "id" UUID NOT NULL,
    "course_id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "content" JSONB NOT NULL,
    "tags" TEXT[],
    "concept_ids" TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "items_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "published_items" (
    "item_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "course_id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "content" JSONB NOT NULL,
    "tags" TEXT[],
    "concept_ids" TEXT[],

    CONSTRAINT "published_items_pkey" PRIMARY KEY ("item_id","version")
);

-- CreateTable
CREATE TABLE "quizzes" (
    "lesson_id" UUID NOT NULL,
    "course_id" UUID NOT NULL,
    "draw" JSONB NOT NULL,
    "time_limit_seconds" INTEGER,
    "max_attempts" INTEGER,
    "grading_policy" "GradingPolicy" NOT NULL DEFAULT 'BEST',
    "pass_score" INTEGER NOT NULL DEFAULT 60,
    "completion_requires_pass" BOOLEAN NOT NULL DEFAULT true,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "quizzes_pkey" PRIMARY KEY ("lesson_id")
);

-- CreateTable
CREATE TABLE "published_quizzes" (
    "lesson_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "course_id" UUID NOT NULL,
    "draw" JSONB NOT NULL,
    "time_limit_seconds" INTEGER,
    "max_attempts" INTEGER,
    "grading_policy" "GradingPolicy" NOT NULL,
    "pass_score" INTEGER NOT NULL,
    "completion_requires_pass" BOOLEAN NOT NULL,

    CONSTRAINT "published_quizzes_pkey" PRIMARY KEY ("lesson_id","version")
);

-- CreateTable
CREATE TABLE "attempts" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "course_id" UUID NOT NULL,
    "lesson_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "number" INTEGER NOT NULL,
    "item_ids" TEXT[],
    "status" "AttemptStatus" NOT NULL DEFAULT 'IN_PROGRESS',
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "deadline" TIMESTAMPTZ(3),
    "submitted_at" TIMESTAMPTZ(3),
    "score" DOUBLE PRECISION,
    "passed" BOOLEAN,

    CONSTRAINT "attempts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "attempt_answers" (
    "attempt_id" UUID NOT NULL,
    "item_id" UUID NOT NULL,
    "response" JSONB NOT NULL,
    "saved_at" TIMESTAMPTZ(3) NOT NULL,
    "score" DOUBLE PRECISION,

    CONSTRAINT "attempt_answers_pkey" PRIMARY KEY ("attempt_id","item_id")
);

-- CreateTable
CREATE TABLE "grades" (
    "user_id" UUID NOT NULL,
    "lesson_id" UUID NOT NULL,
    "course_id" UUID NOT NULL,
    "grade" DOUBLE PRECISION NOT NULL,
    "attempts" INTEGER NOT NULL,
    "passed" BOOLEAN NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "grades_pkey" PRIMARY KEY ("user_id","lesson_id")
);

-- CreateTable
CREATE TABLE "concepts" (
    "id" UUID NOT NULL,
    "course_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "concepts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "concept_edges" (
    "prerequisite_id" UUID NOT NULL,
    "concept_id" UUID NOT NULL,
    "course_id" UUID NOT NULL,

    CONSTRAINT "concept_edges_pkey" PRIMARY KEY ("prerequisite_id","concept_id")
);

-- CreateTable
CREATE TABLE "lesson_concepts" (
    "lesson_id" UUID NOT NULL,
    "concept_id" UUID NOT NULL,
    "course_id" UUID NOT NULL,

    CONSTRAINT "lesson_concepts_pkey" PRIMARY KEY ("lesson_id","concept_id")
);

-- CreateTable
CREATE TABLE "concept_models" (
    "concept_id" UUID NOT NULL,
    "p_init" DOUBLE PRECISION NOT NULL,
    "p_learn" DOUBLE PRECISION NOT NULL,
    "p_slip" DOUBLE PRECISION NOT NULL,
    "p_guess" DOUBLE PRECISION NOT NULL,
    "fitted" BOOLEAN NOT NULL DEFAULT false,
    "observations" INTEGER NOT NULL DEFAULT 0,
    "fitted_at" TIMESTAMPTZ(3),

    CONSTRAINT "concept_models_pkey" PRIMARY KEY ("concept_id")
);

-- CreateTable
CREATE TABLE "mastery" (
    "user_id" UUID NOT NULL,
    "concept_id" UUID NOT NULL,
    "course_id" UUID NOT NULL,
    "p_known" DOUBLE PRECISION NOT NULL,
    "mastered" BOOLEAN NOT NULL,
    "observations" INTEGER NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "mastery_pkey" PRIMARY KEY ("user_id","concept_id")
);

-- CreateTable
CREATE TABLE "mastery_observations" (
    "id" BIGSERIAL NOT NULL,
    "user_id" UUID NOT NULL,
    "concept_id" UUID NOT NULL,
    "correct" BOOLEAN NOT NULL,
    "observed_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "mastery_observations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "notes" (
    "id" UUID NOT NULL,
    "course_id" UUID NOT NULL,
    "kind" "NoteKind" NOT NULL,
    "front" TEXT NOT NULL DEFAULT '',
    "back" TEXT NOT NULL DEFAULT '',
    "text" TEXT NOT NULL DEFAULT '',
    "concept_ids" TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "notes_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "published_notes" (
    "note_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "course_id" UUID NOT NULL,
    "kind" "NoteKind" NOT NULL,
    "front" TEXT NOT NULL,
    "back" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "concept_ids" TEXT[],

    CONSTRAINT "published_notes_pkey" PRIMARY KEY ("note_id","version")
);

-- CreateTable
CREATE TABLE "cards" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "course_id" UUID NOT NULL,
    "source" "CardSource" NOT NULL,
    "source_id" UUID NOT NULL,
    "ordinal" INTEGER NOT NULL DEFAULT 0,
    "position" INTEGER NOT NULL,
    "state" "CardState" NOT NULL DEFAULT 'NEW',
    "due" TIMESTAMPTZ(3) NOT NULL,
    "stability" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "difficulty" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "elapsed_days" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "scheduled_days" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "learning_steps" INTEGER NOT NULL DEFAULT 0,
    "reps" INTEGER NOT NULL DEFAULT 0,
    "lapses" INTEGER NOT NULL DEFAULT 0,
    "last_review" TIMESTAMPTZ(3),
    "suspended" BOOLEAN NOT NULL DEFAULT false,
    "leech" BOOLEAN NOT NULL DEFAULT false,
    "buried_until" TIMESTAMPTZ(3),
    "version" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "cards_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "review_logs" (
    "id" UUID NOT NULL,
    "card_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "rating" INTEGER NOT NULL,
    "state_before" "CardState" NOT NULL,
    "reviewed_at" TIMESTAMPTZ(3) NOT NULL,
    "elapsed_days" DOUBLE PRECISION NOT NULL,
    "scheduled_days" DOUBLE PRECISION NOT NULL,
    "retrievability" DOUBLE PRECISION,
    "previous" JSONB NOT NULL,
    "undone_at" TIMESTAMPTZ(3),

    CONSTRAINT "review_logs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "learner_settings" (
    "user_id" UUID NOT NULL,
    "new_per_day" INTEGER NOT NULL DEFAULT 20,
    "reviews_per_day" INTEGER NOT NULL DEFAULT 200,
    "desired_retention" DOUBLE PRECISION NOT NULL DEFAULT 0.9,
    "leech_threshold" INTEGER NOT NULL DEFAULT 8,
    "params" DOUBLE PRECISION[],
    "optimized_at" TIMESTAMPTZ(3),
    "optimized_review_count" INTEGER NOT NULL DEFAULT 0,
    "calibration" JSONB,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "learner_settings_pkey" PRIMARY KEY ("user_id")
);

-- CreateIndex
CREATE INDEX "outbox_events_published_at_id_idx" ON "outbox_events"("published_at", "id");

-- CreateIndex
CREATE INDEX "course_lessons_course_id_position_idx" ON "course_lessons"("course_id", "position");

-- CreateIndex
CREATE INDEX "enrolments_course_id_active_idx" ON "enrolments"("course_id", "active");

-- CreateIndex
CREATE INDEX "lesson_completions_user_id_course_id_idx" ON "lesson_completions"("user_id", "course_id");

-- CreateIndex
CREATE INDEX "items_course_id_idx" ON "items"("course_id");

-- CreateIndex
CREATE INDEX "published_items_course_id_version_idx" ON "published_items"("course_id", "version");

-- CreateIndex
CREATE INDEX "quizzes_course_id_idx" ON "quizzes"("course_id");

-- CreateIndex
CREATE INDEX "published_quizzes_course_id_version_idx" ON "published_quizzes"("course_id", "version");

-- CreateIndex
CREATE INDEX "attempts_lesson_id_status_idx" ON "attempts"("lesson_id", "status");

-- CreateIndex
CREATE UNIQUE INDEX "attempts_user_id_lesson_id_number_key" ON "attempts"("user_id", "lesson_id", "number");

-- CreateIndex
CREATE INDEX "grades_course_id_user_id_idx" ON "grades"("course_id", "user_id");

-- CreateIndex
CREATE UNIQUE INDEX "concepts_course_id_name_key" ON "concepts"("course_id", "name");

-- CreateIndex
CREATE INDEX "concept_edges_course_id_idx" ON "concept_edges"("course_id");

-- CreateIndex
CREATE INDEX "lesson_concepts_course_id_idx" ON "lesson_concepts"("course_id");

-- CreateIndex
CREATE INDEX "mastery_user_id_course_id_idx" ON "mastery"("user_id", "course_id");

-- CreateIndex
CREATE INDEX "mastery_observations_concept_id_user_id_id_idx" ON "mastery_observations"("concept_id", "user_id", "id");

-- CreateIndex
CREATE INDEX "notes_course_id_idx" ON "notes"("course_id");

-- CreateIndex
CREATE INDEX "published_notes_course_id_version_idx" ON "published_notes"("course_id", "version");

-- CreateIndex
CREATE INDEX "cards_user_id_state_due_idx" ON "cards"("user_id", "state", "due");

-- CreateIndex
CREATE INDEX "cards_user_id_state_position_idx" ON "cards"("user_id", "state", "position");

-- CreateIndex
CREATE INDEX "cards_user_id_course_id_idx" ON "cards"("user_id", "course_id");

-- CreateIndex
CREATE UNIQUE INDEX "cards_user_id_source_source_id_ordinal_key" ON "cards"("user_id", "source", "source_id", "ordinal");

-- CreateIndex
CREATE INDEX "review_logs_user_id_reviewed_at_idx" ON "review_logs"("user_id", "reviewed_at");

-- CreateIndex
CREATE INDEX "review_logs_card_id_reviewed_at_idx" ON "review_logs"("card_id", "reviewed_at");


-- What Prisma's language cannot say: the ranges the domain keeps, enforced by the database too.
ALTER TABLE "learning"."review_logs" ADD CONSTRAINT "review_logs_rating_range" CHECK ("rating" BETWEEN 1 AND 4);
ALTER TABLE "learning"."quizzes" ADD CONSTRAINT "quizzes_pass_score_range" CHECK ("pass_score" BETWEEN 0 AND 100);
ALTER TABLE "learning"."published_quizzes" ADD CONSTRAINT "published_quizzes_pass_score_range" CHECK ("pass_score" BETWEEN 0 AND 100);
ALTER TABLE "learning"."grades" ADD CONSTRAINT "grades_grade_range" CHECK ("grade" BETWEEN 0 AND 100);
ALTER TABLE "learning"."attempts" ADD CONSTRAINT "attempts_score_range" CHECK ("score" IS NULL OR "score" BETWEEN 0 AND 100);
ALTER TABLE "learning"."mastery" ADD CONSTRAINT "mastery_p_known_range" CHECK ("p_known" BETWEEN 0 AND 1);
ALTER TABLE "learning"."concept_edges" ADD CONSTRAINT "concept_edges_no_self_edge" CHECK ("prerequisite_id" <> "concept_id");
-- At most one attempt in progress per learner and quiz.
CREATE UNIQUE INDEX "attempts_one_in_progress" ON "learning"."attempts" ("user_id", "lesson_id") WHERE "status" = 'IN_PROGRESS';
