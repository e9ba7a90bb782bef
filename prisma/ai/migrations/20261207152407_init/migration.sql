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
    "subject" TEXT NOT NULL DEFAULT '',
    "language" TEXT NOT NULL DEFAULT 'en',
    "free" BOOLEAN NOT NULL DEFAULT false,
    "published_version" INTEGER NOT NULL DEFAULT 0,
    "passages_version" INTEGER NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "courses_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "course_lessons" (
    "id" UUID NOT NULL,
    "course_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "kind" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "free_preview" BOOLEAN NOT NULL,
    "text_hash" TEXT NOT NULL DEFAULT '',

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
CREATE TABLE "open_attempts" (
    "attempt_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "course_id" UUID NOT NULL,
    "lesson_id" UUID NOT NULL,
    "protected_answers" TEXT[],
    "closes_at" TIMESTAMPTZ(3),
    "opened_at" TIMESTAMPTZ(3) NOT NULL,
    "closed_at" TIMESTAMPTZ(3),

    CONSTRAINT "open_attempts_pkey" PRIMARY KEY ("attempt_id")
);

-- CreateTable
CREATE TABLE "passages" (
    "id" TEXT NOT NULL,
    "course_id" UUID NOT NULL,
    "lesson_id" UUID NOT NULL,
    "source" TEXT NOT NULL,
    "ordinal" INTEGER NOT NULL,
    "text" TEXT NOT NULL,
    "starts_at_seconds" DOUBLE PRECISION,
    "embedding" BYTEA NOT NULL,
    "embedding_model" TEXT NOT NULL,

    CONSTRAINT "passages_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "model_calls" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "course_id" UUID,
    "task" TEXT NOT NULL,
    "tier" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "input_tokens" INTEGER NOT NULL,
    "output_tokens" INTEGER NOT NULL,
    "cost_micro_usd" BIGINT NOT NULL,
    "latency_ms" INTEGER NOT NULL,
    "outcome" TEXT NOT NULL,
    "escalated_from" TEXT,
    "request_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "model_calls_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "generation_runs" (
    "id" UUID NOT NULL,
    "course_id" UUID NOT NULL,
    "lesson_id" UUID NOT NULL,
    "trigger" TEXT NOT NULL,
    "requested_by" UUID NOT NULL,
    "source_hash" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'RUNNING',
    "candidates" INTEGER NOT NULL,
    "accepted" INTEGER NOT NULL,
    "rejections" JSONB NOT NULL,
    "cost_micro_usd" BIGINT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "generation_runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "generated_items" (
    "id" UUID NOT NULL,
    "run_id" UUID NOT NULL,
    "course_id" UUID NOT NULL,
    "lesson_id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "content" JSONB NOT NULL,
    "passage_id" TEXT NOT NULL,
    "quote" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "tier" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'PENDING_REVIEW',
    "reviewed_by" UUID,
    "reviewed_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "generated_items_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "conversations" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "course_id" UUID NOT NULL,
    "lesson_id" UUID NOT NULL,
    "hints_given" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "conversations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "tutor_turns" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "conversation_id" UUID NOT NULL,
    "role" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'DONE',
    "intent" TEXT,
    "tier" TEXT,
    "fallback_reason" TEXT,
    "citations" TEXT[],
    "client_turn_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "tutor_turns_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "outbox_events_published_at_id_idx" ON "outbox_events"("published_at", "id");

-- CreateIndex
CREATE INDEX "course_lessons_course_id_position_idx" ON "course_lessons"("course_id", "position");

-- CreateIndex
CREATE INDEX "open_attempts_user_id_course_id_idx" ON "open_attempts"("user_id", "course_id");

-- CreateIndex
CREATE INDEX "passages_course_id_idx" ON "passages"("course_id");

-- CreateIndex
CREATE INDEX "passages_lesson_id_source_idx" ON "passages"("lesson_id", "source");

-- CreateIndex
CREATE INDEX "model_calls_created_at_idx" ON "model_calls"("created_at");

-- CreateIndex
CREATE INDEX "model_calls_user_id_created_at_idx" ON "model_calls"("user_id", "created_at");

-- CreateIndex
CREATE INDEX "generation_runs_course_id_created_at_idx" ON "generation_runs"("course_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "generation_runs_lesson_id_source_hash_key" ON "generation_runs"("lesson_id", "source_hash");

-- CreateIndex
CREATE INDEX "generated_items_course_id_status_created_at_idx" ON "generated_items"("course_id", "status", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "generated_items_course_id_fingerprint_key" ON "generated_items"("course_id", "fingerprint");

-- CreateIndex
CREATE UNIQUE INDEX "conversations_user_id_lesson_id_key" ON "conversations"("user_id", "lesson_id");

-- CreateIndex
CREATE INDEX "tutor_turns_conversation_id_created_at_idx" ON "tutor_turns"("conversation_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "tutor_turns_user_id_client_turn_id_key" ON "tutor_turns"("user_id", "client_turn_id");

