//! Data access: the video context's tables in its own PostgreSQL schema `video` (migrated by
//! Prisma from `prisma/video/schema.prisma`), reached as the `cg_video` role. Every SQL statement
//! of the subgraph is here, so the rest reads as the domain.

use std::str::FromStr;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use thiserror::Error;
use time::OffsetDateTime;
use tokio_postgres::NoTls;
use uuid::Uuid;

/// Connections the pool keeps at most: GraphQL reads, the consumers, the relay and the workers.
pub const POOL_SIZE: usize = 8;

/// A failure of the database.
#[derive(Debug, Error)]
pub enum StoreError {
    /// `VIDEO_DATABASE_URL` is not a PostgreSQL URL.
    #[error("the database URL cannot be read: {0}")]
    Url(#[source] tokio_postgres::Error),
    /// The pool could not be built.
    #[error("cannot build the connection pool: {0}")]
    Pool(String),
    /// No connection could be had from the pool.
    #[error("no database connection: {0}")]
    Connect(#[from] deadpool_postgres::PoolError),
    /// A statement failed.
    #[error("database statement failed: {0}")]
    Sql(#[from] tokio_postgres::Error),
    /// An event too large to publish was refused; nothing was written.
    #[error(transparent)]
    EventTooLarge(#[from] crate::outbox::EventTooLarge),
    /// An event could not be enveloped (its subject or traceparent is not valid).
    #[error("not a valid event: {0}")]
    Envelope(#[from] coursegraph_events::EventError),
}

/// Opens the pool (connections are made on first use).
///
/// # Errors
/// [`StoreError::Url`] or [`StoreError::Pool`].
pub fn pool(url: &str) -> Result<Pool, StoreError> {
    let config = tokio_postgres::Config::from_str(url).map_err(StoreError::Url)?;
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(POOL_SIZE)
        .build()
        .map_err(|e| StoreError::Pool(e.to_string()))
}

// ---- Projections -------------------------------------------------------------------------------

/// Records `event_id` as handled by `consumer`; false when it already was (a redelivery).
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn first_delivery(
    db: &impl GenericClient,
    consumer: &str,
    event_id: Uuid,
) -> Result<bool, StoreError> {
    let inserted = db
        .execute(
            "insert into processed_events (consumer, event_id) values ($1, $2) on conflict do nothing",
            &[&consumer, &event_id],
        )
        .await?;
    Ok(inserted == 1)
}

/// A course's owner, known before its first publication (`course.course.created`).
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn course_created(
    db: &impl GenericClient,
    course_id: Uuid,
    instructor_id: Uuid,
) -> Result<(), StoreError> {
    db.execute(
        "insert into courses (id, instructor_id) values ($1, $2) on conflict (id) do nothing",
        &[&course_id, &instructor_id],
    )
    .await?;
    Ok(())
}

/// A lesson of a published version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedLesson {
    /// Its id.
    pub lesson_id: Uuid,
    /// `VIDEO`, `ARTICLE` or `QUIZ`.
    pub kind: &'static str,
    /// Open to everyone on a paid course.
    pub free_preview: bool,
}

/// A published version of a course, as its snapshot says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedCourse {
    /// Its id.
    pub course_id: Uuid,
    /// Its version (increases with each publication).
    pub version: i32,
    /// Its instructor.
    pub instructor_id: Uuid,
    /// Zero price.
    pub free: bool,
    /// BCP 47 tag.
    pub language: String,
    /// Its lessons.
    pub lessons: Vec<PublishedLesson>,
}

/// Applies a publication; an older version than the one known changes nothing. Returns whether
/// it applied.
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn course_published(
    db: &impl GenericClient,
    course: &PublishedCourse,
) -> Result<bool, StoreError> {
    let changed = db
        .execute(
            "insert into courses (id, instructor_id, free, language, published_version, updated_at)
             values ($1, $2, $3, $4, $5, now())
             on conflict (id) do update
                set instructor_id = excluded.instructor_id, free = excluded.free,
                    language = excluded.language, published_version = excluded.published_version,
                    updated_at = now()
              where courses.published_version < excluded.published_version",
            &[
                &course.course_id,
                &course.instructor_id,
                &course.free,
                &course.language,
                &course.version,
            ],
        )
        .await?;
    if changed == 0 {
        return Ok(false);
    }
    db.execute(
        "delete from course_lessons where course_id = $1",
        &[&course.course_id],
    )
    .await?;
    for lesson in &course.lessons {
        // A lesson id names one lesson of one course; a snapshot is the authority on it.
        db.execute(
            "insert into course_lessons (lesson_id, course_id, kind, free_preview) values ($1, $2, $3, $4)
             on conflict (lesson_id) do update
                set course_id = excluded.course_id, kind = excluded.kind, free_preview = excluded.free_preview",
            &[&lesson.lesson_id, &course.course_id, &lesson.kind, &lesson.free_preview],
        )
        .await?;
    }
    Ok(true)
}

/// Sets a learner's enrolment as of stream sequence `sequence` (older events change nothing).
/// `mode` `None` keeps the known mode (a revocation does not say it).
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn set_enrolment(
    db: &impl GenericClient,
    user_id: Uuid,
    course_id: Uuid,
    mode: Option<&str>,
    active: bool,
    sequence: i64,
) -> Result<(), StoreError> {
    db.execute(
        "insert into enrolments (user_id, course_id, mode, active, event_sequence, updated_at)
         values ($1, $2, coalesce($3, 'AUDIT'), $4, $5, now())
         on conflict (user_id, course_id) do update
            set mode = coalesce($3, enrolments.mode), active = excluded.active,
                event_sequence = excluded.event_sequence, updated_at = now()
          where enrolments.event_sequence < excluded.event_sequence",
        &[&user_id, &course_id, &mode, &active, &sequence],
    )
    .await?;
    Ok(())
}

// ---- Access ------------------------------------------------------------------------------------

/// What decides who may see a lesson's video, from the projections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LessonAccess {
    /// The course the lesson belongs to (from a publication), if published.
    pub course_id: Option<Uuid>,
    /// `VIDEO`, `ARTICLE`, `QUIZ`, when published.
    pub kind: Option<String>,
    /// The lesson is a free preview.
    pub free_preview: bool,
    /// Its course is free.
    pub free_course: bool,
    /// Its course's instructor (a draft course's too).
    pub instructor_id: Option<Uuid>,
}

/// The published lesson's course and flags; `course_id` may be given for a draft lesson (its
/// instructor is then known from `course.course.created`).
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn lesson_access(
    db: &impl GenericClient,
    lesson_id: Uuid,
    course_id: Option<Uuid>,
) -> Result<LessonAccess, StoreError> {
    let mut facts = lessons_access(db, &[(lesson_id, course_id)]).await?;
    Ok(facts.remove(0))
}

/// [`lesson_access`] for many (lesson, claimed course) pairs at once, in their order: two queries
/// whatever their number.
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn lessons_access(
    db: &impl GenericClient,
    keys: &[(Uuid, Option<Uuid>)],
) -> Result<Vec<LessonAccess>, StoreError> {
    let lesson_ids: Vec<Uuid> = keys.iter().map(|(lesson, _)| *lesson).collect();
    let published: std::collections::HashMap<Uuid, (Uuid, String, bool)> = db
        .query(
            "select lesson_id, course_id, kind, free_preview from course_lessons where lesson_id = any($1)",
            &[&lesson_ids],
        )
        .await?
        .iter()
        .map(|row| (row.get(0), (row.get(1), row.get(2), row.get(3))))
        .collect();
    let course_of = |(lesson, claimed): &(Uuid, Option<Uuid>)| {
        published
            .get(lesson)
            .map(|(course, _, _)| *course)
            .or(*claimed)
    };
    let course_ids: Vec<Uuid> = keys.iter().filter_map(course_of).collect();
    let courses: std::collections::HashMap<Uuid, (bool, Uuid)> = db
        .query(
            "select id, free, instructor_id from courses where id = any($1)",
            &[&course_ids],
        )
        .await?
        .iter()
        .map(|row| (row.get(0), (row.get(1), row.get(2))))
        .collect();
    Ok(keys
        .iter()
        .map(|key| {
            let lesson = published.get(&key.0);
            let course = course_of(key).and_then(|id| courses.get(&id));
            LessonAccess {
                course_id: lesson.map(|(course, _, _)| *course),
                kind: lesson.map(|(_, kind, _)| kind.clone()),
                free_preview: lesson.is_some_and(|(_, _, preview)| *preview),
                free_course: course.is_some_and(|(free, _)| *free),
                instructor_id: course.map(|(_, instructor)| *instructor),
            }
        })
        .collect())
}

/// A course's owner, when known.
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn course_instructor(
    db: &impl GenericClient,
    course_id: Uuid,
) -> Result<Option<Uuid>, StoreError> {
    Ok(db
        .query_opt(
            "select instructor_id from courses where id = $1",
            &[&course_id],
        )
        .await?
        .map(|row| row.get(0)))
}

/// The courses among `course_ids` whose material `user_id` may watch beyond previews: the one
/// rule learning and course apply too, an active enrolment in any mode on a free course, FREE or
/// PAID on a paid one (an AUDIT reaches only the free previews).
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn entitled_courses(
    db: &impl GenericClient,
    user_id: Uuid,
    course_ids: &[Uuid],
) -> Result<Vec<Uuid>, StoreError> {
    Ok(db
        .query(
            "select e.course_id from enrolments e join courses c on c.id = e.course_id
              where e.user_id = $1 and e.course_id = any($2) and e.active and (e.mode <> 'AUDIT' or c.free)",
            &[&user_id, &course_ids],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect())
}

// ---- Videos ------------------------------------------------------------------------------------

/// A video row.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoRow {
    /// Its id (also its media folder).
    pub id: Uuid,
    /// Its lesson.
    pub lesson_id: Uuid,
    /// Its course.
    pub course_id: Uuid,
    /// Who uploaded it.
    pub uploaded_by: Uuid,
    /// Its tus upload.
    pub upload_id: String,
    /// `UPLOADING` … `CANCELLED`.
    pub status: String,
    /// 0..1 while processing.
    pub progress: f64,
    /// Why it failed.
    pub error: Option<String>,
    /// Job deliveries so far.
    pub attempts: i32,
    /// Per-title encoding asked for.
    pub per_title: bool,
    /// What per-title saved, percent.
    pub bitrate_saved_pct: Option<f64>,
    /// Probe: seconds.
    pub duration_seconds: Option<f64>,
    /// Probe: display width.
    pub width: Option<i32>,
    /// Probe: display height.
    pub height: Option<i32>,
    /// Probe: video codec.
    pub video_codec: Option<String>,
    /// Probe: audio codec.
    pub audio_codec: Option<String>,
    /// Probe: overall bitrate, bits per second.
    pub bitrate: Option<i64>,
    /// Probe: frames per second.
    pub frame_rate: Option<f64>,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it became ready.
    pub ready_at: Option<OffsetDateTime>,
}

const VIDEO_COLUMNS: &str = "id, lesson_id, course_id, uploaded_by, upload_id, status::text, progress, error, attempts, \
    per_title, bitrate_saved_pct, duration_seconds, width, height, video_codec, audio_codec, bitrate, frame_rate, \
    created_at, ready_at";

fn video_row(row: &tokio_postgres::Row) -> VideoRow {
    VideoRow {
        id: row.get(0),
        lesson_id: row.get(1),
        course_id: row.get(2),
        uploaded_by: row.get(3),
        upload_id: row.get(4),
        status: row.get(5),
        progress: row.get(6),
        error: row.get(7),
        attempts: row.get(8),
        per_title: row.get(9),
        bitrate_saved_pct: row.get(10),
        duration_seconds: row.get(11),
        width: row.get(12),
        height: row.get(13),
        video_codec: row.get(14),
        audio_codec: row.get(15),
        bitrate: row.get(16),
        frame_rate: row.get(17),
        created_at: row.get(18),
        ready_at: row.get(19),
    }
}

/// What a completed upload becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVideo {
    /// The new video's id (UUID v7).
    pub id: Uuid,
    /// Its lesson.
    pub lesson_id: Uuid,
    /// Its course.
    pub course_id: Uuid,
    /// The uploader.
    pub uploaded_by: Uuid,
    /// The tus upload.
    pub upload_id: String,
    /// Its length in bytes.
    pub upload_length: i64,
    /// The client's file name.
    pub file_name: String,
    /// Per-title encoding asked for.
    pub per_title: bool,
}

/// Records a completed upload as a QUEUED video; the upload's existing video when it was
/// recorded before (a completion seen again after a restart). Returns the video's id and status.
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn queue_upload(
    db: &impl GenericClient,
    video: &NewVideo,
) -> Result<(Uuid, String), StoreError> {
    db.execute(
        "insert into videos (id, lesson_id, course_id, uploaded_by, upload_id, upload_length, file_name, status, per_title)
         values ($1, $2, $3, $4, $5, $6, $7, 'QUEUED', $8)
         on conflict (upload_id) do nothing",
        &[
            &video.id,
            &video.lesson_id,
            &video.course_id,
            &video.uploaded_by,
            &video.upload_id,
            &video.upload_length,
            &video.file_name,
            &video.per_title,
        ],
    )
    .await?;
    let row = db
        .query_one(
            "select id, status::text from videos where upload_id = $1",
            &[&video.upload_id],
        )
        .await?;
    Ok((row.get(0), row.get(1)))
}

/// Upload ids that already have a video (for recovery of completions missed in a crash).
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn recorded_uploads(
    db: &impl GenericClient,
    upload_ids: &[String],
) -> Result<Vec<String>, StoreError> {
    Ok(db
        .query(
            "select upload_id from videos where upload_id = any($1)",
            &[&upload_ids],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect())
}

/// Videos waiting for a worker: QUEUED ones, and PROCESSING ones whose lease ran out (a worker
/// died on the job's last delivery, after which the queue delivers it no more). Oldest first,
/// with their delivery count: re-enqueued at start-up with a dedupe key of both, so a job that
/// never reached the queue or ran out of deliveries gets one more, while a job already waiting
/// is dropped as a duplicate (or skipped by the worker, which takes only a video still waiting).
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn waiting_videos(db: &impl GenericClient) -> Result<Vec<(Uuid, i32)>, StoreError> {
    Ok(db
        .query(
            "select id, attempts from videos
              where status = 'QUEUED' or (status = 'PROCESSING' and lease_until < now())
              order by created_at limit 10000",
            &[],
        )
        .await?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect())
}

/// One video.
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn video(db: &impl GenericClient, id: Uuid) -> Result<Option<VideoRow>, StoreError> {
    Ok(db
        .query_opt(
            &format!("select {VIDEO_COLUMNS} from videos where id = $1"),
            &[&id],
        )
        .await?
        .as_ref()
        .map(video_row))
}

/// Each lesson's newest video (`ready_only`: its newest READY one).
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn lesson_videos(
    db: &impl GenericClient,
    lesson_ids: &[Uuid],
    ready_only: bool,
) -> Result<Vec<VideoRow>, StoreError> {
    Ok(db
        .query(
            &format!(
                "select distinct on (lesson_id) {VIDEO_COLUMNS} from videos
                  where lesson_id = any($1) and (not $2 or status = 'READY')
                  order by lesson_id, created_at desc, id desc"
            ),
            &[&lesson_ids, &ready_only],
        )
        .await?
        .iter()
        .map(video_row)
        .collect())
}

/// A rendition row.
#[derive(Debug, Clone, PartialEq)]
pub struct RenditionRow {
    /// Its video.
    pub video_id: Uuid,
    /// e.g. `720p`.
    pub name: String,
    /// Pixels.
    pub width: i32,
    /// Pixels.
    pub height: i32,
    /// Bits per second, as measured.
    pub bitrate: i64,
    /// HLS CODECS.
    pub codecs: String,
    /// Frames per second.
    pub frame_rate: f64,
}

/// The renditions of these videos, lowest first.
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn renditions(
    db: &impl GenericClient,
    video_ids: &[Uuid],
) -> Result<Vec<RenditionRow>, StoreError> {
    Ok(db
        .query(
            "select video_id, name, width, height, bitrate, codecs, frame_rate from renditions
              where video_id = any($1) order by video_id, height, bitrate",
            &[&video_ids],
        )
        .await?
        .iter()
        .map(|row| RenditionRow {
            video_id: row.get(0),
            name: row.get(1),
            width: row.get(2),
            height: row.get(3),
            bitrate: row.get(4),
            codecs: row.get(5),
            frame_rate: row.get(6),
        })
        .collect())
}

/// A caption row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptionRow {
    /// Its video.
    pub video_id: Uuid,
    /// BCP 47 tag.
    pub language: String,
    /// What players show.
    pub label: String,
    /// How many cues.
    pub cue_count: i32,
}

/// The captions of these videos, by language.
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn captions(
    db: &impl GenericClient,
    video_ids: &[Uuid],
) -> Result<Vec<CaptionRow>, StoreError> {
    Ok(db
        .query(
            "select video_id, language, label, cue_count from captions
              where video_id = any($1) order by video_id, language",
            &[&video_ids],
        )
        .await?
        .iter()
        .map(|row| CaptionRow {
            video_id: row.get(0),
            language: row.get(1),
            label: row.get(2),
            cue_count: row.get(3),
        })
        .collect())
}

/// Adds or replaces a video's captions in one language.
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn put_caption(
    db: &impl GenericClient,
    caption: &CaptionRow,
    uploaded_by: Uuid,
) -> Result<(), StoreError> {
    db.execute(
        "insert into captions (video_id, language, label, cue_count, uploaded_by)
         values ($1, $2, $3, $4, $5)
         on conflict (video_id, language) do update
            set label = excluded.label, cue_count = excluded.cue_count,
                uploaded_by = excluded.uploaded_by, updated_at = now()",
        &[
            &caption.video_id,
            &caption.language,
            &caption.label,
            &caption.cue_count,
            &uploaded_by,
        ],
    )
    .await?;
    Ok(())
}

/// Removes a video's captions in one language; false when it had none.
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn delete_caption(
    db: &impl GenericClient,
    video_id: Uuid,
    language: &str,
) -> Result<bool, StoreError> {
    Ok(db
        .execute(
            "delete from captions where video_id = $1 and language = $2",
            &[&video_id, &language],
        )
        .await?
        == 1)
}

// ---- Jobs --------------------------------------------------------------------------------------

/// Takes the job of a video for `lease` seconds: a QUEUED video, or a PROCESSING one whose
/// lease ran out (its worker died). Counts the delivery. `None`: nothing to do (ready, failed,
/// cancelled, or another worker holds it).
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn take_job(
    db: &impl GenericClient,
    video_id: Uuid,
    lease_seconds: f64,
) -> Result<Option<VideoRow>, StoreError> {
    Ok(db
        .query_opt(
            &format!(
                "update videos set status = 'PROCESSING', attempts = attempts + 1, progress = 0,
                        lease_until = now() + make_interval(secs => $2), updated_at = now()
                  where id = $1
                    and (status = 'QUEUED' or (status = 'PROCESSING' and lease_until < now()))
                  returning {VIDEO_COLUMNS}"
            ),
            &[&video_id, &lease_seconds],
        )
        .await?
        .as_ref()
        .map(video_row))
}

/// Renews a job's lease and records its progress; returns the video's status (CANCELLED tells
/// the worker to stop).
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn renew_job(
    db: &impl GenericClient,
    video_id: Uuid,
    progress: f64,
    lease_seconds: f64,
) -> Result<Option<String>, StoreError> {
    Ok(db
        .query_opt(
            "update videos set progress = greatest(progress, $2),
                    lease_until = case when status = 'PROCESSING' then now() + make_interval(secs => $3) else lease_until end,
                    updated_at = now()
              where id = $1 returning status::text",
            &[&video_id, &progress, &lease_seconds],
        )
        .await?
        .map(|row| row.get(0)))
}

/// Puts a job back to QUEUED (a retryable failure, or its worker stopping), unless it ended.
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn requeue_job(db: &impl GenericClient, video_id: Uuid) -> Result<(), StoreError> {
    db.execute(
        "update videos set status = 'QUEUED', lease_until = null, updated_at = now()
          where id = $1 and status = 'PROCESSING'",
        &[&video_id],
    )
    .await?;
    Ok(())
}

/// The probe figures of a video being processed.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeFigures {
    /// Seconds.
    pub duration_seconds: f64,
    /// Display width, pixels.
    pub width: i32,
    /// Display height, pixels.
    pub height: i32,
    /// FFmpeg's codec name.
    pub video_codec: String,
    /// FFmpeg's codec name; `None` when silent.
    pub audio_codec: Option<String>,
    /// Bits per second.
    pub bitrate: i64,
    /// Frames per second.
    pub frame_rate: f64,
}

/// Stores a video's probe figures.
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn set_probe(
    db: &impl GenericClient,
    video_id: Uuid,
    probe: &ProbeFigures,
) -> Result<(), StoreError> {
    db.execute(
        "update videos set duration_seconds = $2, width = $3, height = $4, video_codec = $5,
                audio_codec = $6, bitrate = $7, frame_rate = $8, updated_at = now()
          where id = $1",
        &[
            &video_id,
            &probe.duration_seconds,
            &probe.width,
            &probe.height,
            &probe.video_codec,
            &probe.audio_codec,
            &probe.bitrate,
            &probe.frame_rate,
        ],
    )
    .await?;
    Ok(())
}

/// Marks a PROCESSING video READY with its renditions; false when it is no longer PROCESSING
/// (cancelled meanwhile).
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn mark_ready(
    db: &impl GenericClient,
    video_id: Uuid,
    renditions: &[RenditionRow],
    bitrate_saved_pct: Option<f64>,
    x_realtime: f64,
) -> Result<bool, StoreError> {
    let changed = db
        .execute(
            "update videos set status = 'READY', progress = 1, error = null, lease_until = null,
                    bitrate_saved_pct = $2, transcode_x_realtime = $3, ready_at = now(), updated_at = now()
              where id = $1 and status = 'PROCESSING'",
            &[&video_id, &bitrate_saved_pct, &x_realtime],
        )
        .await?;
    if changed == 0 {
        return Ok(false);
    }
    db.execute("delete from renditions where video_id = $1", &[&video_id])
        .await?;
    for r in renditions {
        db.execute(
            "insert into renditions (video_id, name, width, height, bitrate, codecs, frame_rate)
             values ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &video_id,
                &r.name,
                &r.width,
                &r.height,
                &r.bitrate,
                &r.codecs,
                &r.frame_rate,
            ],
        )
        .await?;
    }
    Ok(true)
}

/// Marks a video FAILED with `reason` (shown to its instructor), unless it already ended.
/// Returns whether it changed.
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn mark_failed(
    db: &impl GenericClient,
    video_id: Uuid,
    reason: &str,
) -> Result<bool, StoreError> {
    Ok(db
        .execute(
            "update videos set status = 'FAILED', error = $2, lease_until = null, updated_at = now()
              where id = $1 and status in ('QUEUED', 'PROCESSING')",
            &[&video_id, &reason],
        )
        .await?
        == 1)
}

/// Cancels a video that is not ready yet; false when it already ended.
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn cancel(db: &impl GenericClient, video_id: Uuid) -> Result<bool, StoreError> {
    Ok(db
        .execute(
            "update videos set status = 'CANCELLED', lease_until = null, updated_at = now()
              where id = $1 and status in ('UPLOADING', 'QUEUED', 'PROCESSING')",
            &[&video_id],
        )
        .await?
        == 1)
}

// ---- Outbox ------------------------------------------------------------------------------------

/// Writes an event to the outbox, in the caller's transaction (see [`crate::outbox::write`],
/// which checks its size first).
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn write_event(
    db: &impl GenericClient,
    id: Uuid,
    subject: &str,
    payload: &[u8],
    traceparent: &str,
) -> Result<(), StoreError> {
    db.execute(
        "insert into outbox_events (id, subject, payload, traceparent) values ($1, $2, $3, $4)",
        &[&id, &subject, &payload, &traceparent],
    )
    .await?;
    Ok(())
}

/// An outbox row waiting to be published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// The event id (Nats-Msg-Id).
    pub id: Uuid,
    /// Its subject.
    pub subject: String,
    /// Protobuf bytes.
    pub payload: Vec<u8>,
    /// W3C traceparent.
    pub traceparent: String,
    /// When it was written.
    pub created_at: OffsetDateTime,
    /// Publishes the server refused so far (outages do not count).
    pub attempts: i32,
}

/// The oldest unpublished events the relay may publish, at most `limit`, locked for the caller's
/// transaction: not parked (`attempts < max_attempts`), not in `waiting` (rows waiting out their
/// backoff), and not locked by another relay of the context (`skip locked`).
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn unpublished_events(
    db: &impl GenericClient,
    limit: i64,
    max_attempts: i32,
    waiting: &[Uuid],
) -> Result<Vec<OutboxRow>, StoreError> {
    Ok(db
        .query(
            "select id, subject, payload, traceparent, created_at, attempts from outbox_events
              where published_at is null and attempts < $2 and id <> all($3::uuid[])
              order by id limit $1 for update skip locked",
            &[&limit, &max_attempts, &waiting],
        )
        .await?
        .iter()
        .map(|row| OutboxRow {
            id: row.get(0),
            subject: row.get(1),
            payload: row.get(2),
            traceparent: row.get(3),
            created_at: row.get(4),
            attempts: row.get(5),
        })
        .collect())
}

/// Marks events published.
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn mark_published(db: &impl GenericClient, ids: &[Uuid]) -> Result<(), StoreError> {
    db.execute(
        "update outbox_events set published_at = now() where id = any($1::uuid[])",
        &[&ids],
    )
    .await?;
    Ok(())
}

/// Records a refused publication of an event: its `attempts` (at `max_attempts` or more, the
/// row is parked) and why.
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn mark_publish_refused(
    db: &impl GenericClient,
    id: Uuid,
    attempts: i32,
    error: &str,
) -> Result<(), StoreError> {
    db.execute(
        "update outbox_events set attempts = $2, last_error = $3 where id = $1",
        &[&id, &attempts, &error],
    )
    .await?;
    Ok(())
}

/// Notes an outage on events that could not be published: `last_error` only, nothing counted
/// toward parking (it is not the rows' fault).
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn mark_publish_delayed(
    db: &impl GenericClient,
    ids: &[Uuid],
    error: &str,
) -> Result<(), StoreError> {
    db.execute(
        "update outbox_events set last_error = $2 where id = any($1::uuid[])",
        &[&ids, &error],
    )
    .await?;
    Ok(())
}

/// The parked events (unpublished, `attempts >= max_attempts`): how many, and when the oldest
/// was written.
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn count_parked(
    db: &impl GenericClient,
    max_attempts: i32,
) -> Result<(i64, Option<OffsetDateTime>), StoreError> {
    let row = db
        .query_one(
            "select count(*), min(created_at) from outbox_events
              where published_at is null and attempts >= $1",
            &[&max_attempts],
        )
        .await?;
    Ok((row.get(0), row.get(1)))
}
