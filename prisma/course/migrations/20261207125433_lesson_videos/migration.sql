-- CreateTable
CREATE TABLE "lesson_videos" (
    "course_id" UUID NOT NULL,
    "lesson_id" UUID NOT NULL,
    "video_id" UUID NOT NULL,
    "ready_at" TIMESTAMPTZ(3) NOT NULL,
    "event_sequence" BIGINT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "lesson_videos_pkey" PRIMARY KEY ("course_id","lesson_id")
);

-- CreateTable
CREATE TABLE "video_captions" (
    "course_id" UUID NOT NULL,
    "video_id" UUID NOT NULL,
    "lesson_id" UUID NOT NULL,
    "languages" TEXT[],
    "changed_at" TIMESTAMPTZ(3) NOT NULL,
    "event_sequence" BIGINT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "video_captions_pkey" PRIMARY KEY ("course_id","video_id")
);

