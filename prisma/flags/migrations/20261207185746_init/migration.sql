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
CREATE TABLE "flags" (
    "key" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "enabled" BOOLEAN NOT NULL,
    "default_variant" TEXT NOT NULL,
    "variants" JSONB NOT NULL,
    "rollout_percent" INTEGER NOT NULL,
    "rules" JSONB NOT NULL,
    "version" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_by" UUID,
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "flags_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "flag_audit" (
    "id" UUID NOT NULL,
    "flag_key" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "actor" UUID NOT NULL,
    "change" JSONB NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "flag_audit_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "flag_exposures" (
    "flag_key" TEXT NOT NULL,
    "variant" TEXT NOT NULL,
    "day" DATE NOT NULL,
    "count" BIGINT NOT NULL,

    CONSTRAINT "flag_exposures_pkey" PRIMARY KEY ("flag_key","day","variant")
);

-- CreateIndex
CREATE INDEX "outbox_events_published_at_id_idx" ON "outbox_events"("published_at", "id");

-- CreateIndex
CREATE INDEX "flag_audit_flag_key_at_idx" ON "flag_audit"("flag_key", "at");


-- By hand: what Prisma's language cannot say.
ALTER TABLE "flags" ADD CONSTRAINT "flags_rollout_percent_range" CHECK ("rollout_percent" BETWEEN 0 AND 100);
ALTER TABLE "flags" ADD CONSTRAINT "flags_version_positive" CHECK ("version" >= 1);
ALTER TABLE "flag_exposures" ADD CONSTRAINT "flag_exposures_count_non_negative" CHECK ("count" >= 0);

-- The flags the code ships with, as the code behaves without them: the tutor on for everyone (its
-- kill switch), and the catalog ranking experiment with every learner on today's sort (newest).
INSERT INTO "flags" ("key", "description", "enabled", "default_variant", "variants", "rollout_percent", "rules", "version", "updated_at")
VALUES
  ('tutor', 'The AI tutor (askTutor). Disable it to refuse every new question at once.', true, 'on',
   '[{"key": "on", "weight": 100}, {"key": "off", "weight": 0}]', 100, '[]', 1, CURRENT_TIMESTAMP),
  ('catalog-ranking', 'The catalog''s order when a client asks for none: newest (first published) or popular (most enrolled).', true, 'newest',
   '[{"key": "newest", "weight": 50}, {"key": "popular", "weight": 50}]', 0, '[]', 1, CURRENT_TIMESTAMP);
