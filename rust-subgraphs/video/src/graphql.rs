//! The GraphQL side of the subgraph (Federation 2): `Lesson.video` on the course subgraph's
//! `Lesson`, and the mutations instructors manage a video with (cancel its processing, add or
//! remove captions). Uploads themselves go over tus (`/uploads`), playback over signed URLs
//! (`/play`): neither fits a GraphQL request.
//!
//! Who sees what (the rule the course context applies to lesson bodies, from this context's own
//! projections; see [`crate::access`]):
//! - a lesson's READY video, its figures and caption languages: anyone who can see the lesson;
//! - a playback URL: anyone, for a free course or a free-preview lesson; the course's instructor
//!   and admins; learners holding an active entitlement (not an AUDIT of a paid course);
//! - videos still processing, failed or cancelled: the course's instructor and admins.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{
    ComplexObject, Context, EmptySubscription, Enum, ErrorExtensions, Object, SDLExportOptions,
    Schema, SimpleObject, ID,
};
use deadpool_postgres::Pool;
use uuid::Uuid;

use crate::access::{self, Access};
use crate::auth::Viewer;
use crate::captions::{self, CaptionChange};
use crate::playback::Playback;
use crate::store::{self, CaptionRow, RenditionRow, StoreError, VideoRow};

/// The subgraph's schema type.
pub type VideoSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// Backstop for async-graphql's own depth check (the operation limits refuse deep operations first).
pub const MAX_DEPTH: usize = 32;

/// What resolvers reach besides the request's viewer.
#[derive(Clone)]
pub struct Services {
    /// The context's database.
    pub db: Pool,
    /// Issues signed playback URLs.
    pub playback: Arc<Playback>,
    /// Stores caption files and announces them.
    pub captions: Arc<captions::Captions>,
}

fn builder() -> async_graphql::SchemaBuilder<QueryRoot, MutationRoot, EmptySubscription> {
    Schema::build(QueryRoot, MutationRoot, EmptySubscription)
        .enable_federation()
        .limit_depth(MAX_DEPTH)
}

/// The served schema.
pub fn schema(services: Services) -> VideoSchema {
    let loader = DataLoader::new(
        LessonVideoLoader {
            db: services.db.clone(),
        },
        tokio::spawn,
    );
    builder().data(services).data(loader).finish()
}

/// The subgraph's Federation 2 SDL, as composition reads it.
pub fn sdl() -> String {
    builder()
        .finish()
        .sdl_with_options(SDLExportOptions::new().federation().compose_directive())
}

/// The request's viewer, put into each request's data by the HTTP handler (`None`: anonymous).
#[derive(Debug, Clone, Default)]
pub struct RequestViewer(pub Option<Viewer>);

fn viewer<'a>(ctx: &'a Context<'_>) -> Option<&'a Viewer> {
    ctx.data_opt::<RequestViewer>().and_then(|v| v.0.as_ref())
}

/// Error codes of the platform's fixed set.
fn error(code: &'static str, message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message.into()).extend_with(move |_, e| e.set("code", code))
}

fn internal(error: &StoreError) -> async_graphql::Error {
    tracing::error!(error = %error, "video resolver failed");
    self::error("INTERNAL", "Unexpected error.")
}

fn parse_id(field: &str, id: &ID) -> async_graphql::Result<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| {
        error(
            "BAD_USER_INPUT",
            format!("{field} must be a UUID, got {:?}", truncate(id.as_str())),
        )
    })
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// The root query type: only the entity resolver of `Lesson`.
pub struct QueryRoot;

#[Object(name = "Query")]
impl QueryRoot {
    /// The `Lesson` entity, by its id (its other fields come from the course subgraph).
    #[graphql(entity)]
    async fn find_lesson_by_id(&self, id: ID) -> Lesson {
        Lesson { id }
    }
}

/// A lesson (its fields come from the course subgraph); this subgraph adds its video.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Lesson {
    /// The lesson id.
    id: ID,
}

#[ComplexObject]
impl Lesson {
    /// The lesson's video: its newest ready one. The course's instructors and admins see the
    /// newest upload whatever its status (processing, failed). Null when there is none to show.
    async fn video(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Video>> {
        let Ok(lesson_id) = Uuid::parse_str(self.id.as_str()) else {
            return Ok(None);
        };
        let services = ctx.data::<Services>()?;
        let viewer = viewer(ctx);
        let loaded = ctx
            .data::<DataLoader<LessonVideoLoader>>()?
            .load_one(lesson_id)
            .await
            .map_err(|e| internal(&e))?;
        let Some(videos) = loaded else {
            return Ok(None);
        };
        let claimed = videos.newest.as_ref().map(|v| v.row.course_id);
        let access = match ctx.data_opt::<DataLoader<AccessLoader>>() {
            Some(loader) => loader.load_one((lesson_id, claimed)).await,
            // A request that did not come through the HTTP handler (none here): decide alone.
            None => AccessLoader {
                db: services.db.clone(),
                viewer: viewer.cloned(),
            }
            .load(&[(lesson_id, claimed)])
            .await
            .map(|mut found| found.remove(&(lesson_id, claimed))),
        }
        .map_err(|e| internal(&e))?
        .ok_or_else(|| error("INTERNAL", "Unexpected error."))?;
        let chosen = if access.manages {
            videos.newest
        } else {
            videos.newest_ready
        };
        let Some(video) = chosen else {
            return Ok(None);
        };
        // A learner sees only what a publication confirms: the video of a lesson of the course
        // the lesson was published in (not a draft's, not one uploaded under another course).
        if !access.manages && access.course_id != Some(video.row.course_id) {
            return Ok(None);
        }
        Ok(Some(Video {
            row: video.row,
            renditions: video.renditions,
            captions: video.captions,
            access,
        }))
    }
}

/// A lesson's videos as one query loads them.
#[derive(Debug, Clone)]
pub struct LessonVideos {
    newest: Option<LoadedVideo>,
    newest_ready: Option<LoadedVideo>,
}

#[derive(Debug, Clone)]
struct LoadedVideo {
    row: VideoRow,
    renditions: Vec<RenditionRow>,
    captions: Vec<CaptionRow>,
}

/// Loads the videos of many lessons at once (a list of N lessons costs three queries).
pub struct LessonVideoLoader {
    db: Pool,
}

impl Loader<Uuid> for LessonVideoLoader {
    type Value = LessonVideos;
    type Error = Arc<StoreError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, LessonVideos>, Arc<StoreError>> {
        self.load_videos(keys).await.map_err(Arc::new)
    }
}

impl LessonVideoLoader {
    async fn load_videos(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, LessonVideos>, StoreError> {
        let client = self.db.get().await?;
        let newest = store::lesson_videos(&client, keys, false).await?;
        let ready = store::lesson_videos(&client, keys, true).await?;
        let ids: Vec<Uuid> = newest.iter().chain(&ready).map(|v| v.id).collect();
        let renditions = store::renditions(&client, &ids).await?;
        let captions = store::captions(&client, &ids).await?;
        let load = |row: VideoRow| LoadedVideo {
            renditions: renditions
                .iter()
                .filter(|r| r.video_id == row.id)
                .cloned()
                .collect(),
            captions: captions
                .iter()
                .filter(|c| c.video_id == row.id)
                .cloned()
                .collect(),
            row,
        };
        let mut out: HashMap<Uuid, LessonVideos> = HashMap::new();
        for row in newest {
            let lesson = row.lesson_id;
            out.entry(lesson)
                .or_insert(LessonVideos {
                    newest: None,
                    newest_ready: None,
                })
                .newest = Some(load(row));
        }
        for row in ready {
            let lesson = row.lesson_id;
            out.entry(lesson)
                .or_insert(LessonVideos {
                    newest: None,
                    newest_ready: None,
                })
                .newest_ready = Some(load(row));
        }
        Ok(out)
    }
}

/// Decides the viewer's access to many lessons' videos at once (three queries per request,
/// whatever the number of lessons). One per request: access depends on the viewer.
pub struct AccessLoader {
    /// The context's database.
    pub db: Pool,
    /// The request's viewer.
    pub viewer: Option<Viewer>,
}

impl Loader<(Uuid, Option<Uuid>)> for AccessLoader {
    type Value = Access;
    type Error = Arc<StoreError>;

    async fn load(
        &self,
        keys: &[(Uuid, Option<Uuid>)],
    ) -> Result<HashMap<(Uuid, Option<Uuid>), Access>, Arc<StoreError>> {
        let client = self.db.get().await.map_err(|e| Arc::new(e.into()))?;
        let access = access::lessons(&client, keys, self.viewer.as_ref())
            .await
            .map_err(Arc::new)?;
        Ok(keys.iter().copied().zip(access).collect())
    }
}

/// Where a video is in its processing.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoStatus {
    /// Its upload has not finished.
    Uploading,
    /// Uploaded, waiting for a worker.
    Queued,
    /// Being probed and transcoded (see `progress`).
    Processing,
    /// Playable.
    Ready,
    /// Could not be made playable (see `error`).
    Failed,
    /// Cancelled by an instructor before it was ready.
    Cancelled,
}

impl VideoStatus {
    fn from_db(status: &str) -> Self {
        match status {
            "UPLOADING" => Self::Uploading,
            "QUEUED" => Self::Queued,
            "PROCESSING" => Self::Processing,
            "READY" => Self::Ready,
            "CANCELLED" => Self::Cancelled,
            _ => Self::Failed,
        }
    }
}

/// A lesson's video: what FFmpeg's probe found, its HLS renditions, captions, and (for those
/// entitled) where to play it.
pub struct Video {
    row: VideoRow,
    renditions: Vec<RenditionRow>,
    captions: Vec<CaptionRow>,
    access: Access,
}

fn int(value: Option<i32>) -> Option<i32> {
    value
}

#[Object]
impl Video {
    /// The video id.
    async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }
    /// Where it is in its processing.
    async fn status(&self) -> VideoStatus {
        VideoStatus::from_db(&self.row.status)
    }
    /// While processing: the fraction done, 0 to 1.
    async fn progress(&self) -> Option<f64> {
        (self.row.status == "PROCESSING").then_some(self.row.progress)
    }
    /// Why it failed, for its instructor (null otherwise).
    async fn error(&self) -> Option<&str> {
        (self.row.status == "FAILED")
            .then_some(self.row.error.as_deref())
            .flatten()
    }
    /// Duration in seconds, as probed.
    async fn duration_seconds(&self) -> Option<f64> {
        self.row.duration_seconds
    }
    /// Width as shown (after rotation), pixels.
    async fn width(&self) -> Option<i32> {
        int(self.row.width)
    }
    /// Height as shown (after rotation), pixels.
    async fn height(&self) -> Option<i32> {
        int(self.row.height)
    }
    /// The uploaded file's video codec, FFmpeg's name (e.g. `h264`).
    async fn video_codec(&self) -> Option<&str> {
        self.row.video_codec.as_deref()
    }
    /// The uploaded file's audio codec (null when silent).
    async fn audio_codec(&self) -> Option<&str> {
        self.row.audio_codec.as_deref()
    }
    /// The uploaded file's overall bitrate, bits per second.
    async fn bitrate(&self) -> Option<f64> {
        self.row.bitrate.map(|b| b as f64)
    }
    /// Frames per second of the uploaded file.
    async fn frame_rate(&self) -> Option<f64> {
        self.row.frame_rate
    }
    /// Whether bitrates were lowered for simple content (per-title encoding).
    async fn per_title(&self) -> bool {
        self.row.per_title
    }
    /// What per-title encoding saved against the standard ladder, percent of video bits.
    async fn bitrate_saved_percent(&self) -> Option<f64> {
        self.row.bitrate_saved_pct
    }
    /// The HLS renditions, lowest first.
    async fn renditions(&self) -> Vec<VideoRendition> {
        self.renditions
            .iter()
            .map(|r| VideoRendition {
                name: r.name.clone(),
                width: r.width,
                height: r.height,
                bitrate: r.bitrate as f64,
                codecs: r.codecs.clone(),
                frame_rate: r.frame_rate,
            })
            .collect()
    }
    /// Its captions, one per language.
    async fn captions(&self) -> Vec<VideoCaption> {
        self.captions
            .iter()
            .map(|c| VideoCaption {
                language: c.language.clone(),
                label: c.label.clone(),
                cue_count: c.cue_count,
            })
            .collect()
    }
    /// When it was uploaded (RFC 3339 UTC).
    async fn created_at(&self) -> String {
        crate::access::rfc3339(self.row.created_at)
    }
    /// Signed, expiring URLs to play it, for the caller alone: null unless the video is ready
    /// and the caller may watch the lesson.
    async fn playback(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<VideoPlayback>> {
        if self.row.status != "READY" || !self.access.may_watch {
            return Ok(None);
        }
        let services = ctx.data::<Services>()?;
        let viewer_id = viewer(ctx).map_or_else(|| "anonymous".to_owned(), |v| v.user_id.clone());
        let languages: Vec<(String, String)> = self
            .captions
            .iter()
            .map(|c| (c.language.clone(), c.label.clone()))
            .collect();
        let urls = services
            .playback
            .issue(self.row.id, &viewer_id, &languages)
            .map_err(|e| {
                tracing::error!(error = %e, "cannot sign a playback URL");
                error("INTERNAL", "Unexpected error.")
            })?;
        Ok(Some(urls))
    }
}

/// One rendition of the HLS ladder.
#[derive(SimpleObject)]
pub struct VideoRendition {
    /// Its name, e.g. `720p`.
    name: String,
    /// Pixels.
    width: i32,
    /// Pixels.
    height: i32,
    /// Average bitrate as encoded (video and audio), bits per second.
    bitrate: f64,
    /// HLS `CODECS`, e.g. `avc1.64001f,mp4a.40.2`.
    codecs: String,
    /// Frames per second.
    frame_rate: f64,
}

/// A caption track.
#[derive(SimpleObject)]
pub struct VideoCaption {
    /// BCP 47 language tag, e.g. `en`.
    language: String,
    /// What players show for it.
    label: String,
    /// How many cues it has.
    cue_count: i32,
}

/// Where to play a video: URLs signed for one viewer, valid until `expiresAt`.
#[derive(SimpleObject)]
pub struct VideoPlayback {
    /// The HLS master playlist.
    pub url: String,
    /// The poster (JPEG).
    pub poster_url: String,
    /// The storyboard's WebVTT map of thumbnails (for scrubbing previews).
    pub storyboard_url: String,
    /// Caption tracks (WebVTT).
    pub captions: Vec<CaptionTrack>,
    /// When the URLs stop working (RFC 3339 UTC); ask again after.
    pub expires_at: String,
}

/// A playable caption track.
#[derive(SimpleObject)]
pub struct CaptionTrack {
    /// BCP 47 language tag.
    pub language: String,
    /// What players show for it.
    pub label: String,
    /// The WebVTT file.
    pub url: String,
}

/// The root mutation type.
pub struct MutationRoot;

#[Object(name = "Mutation")]
impl MutationRoot {
    /// Stops a video's processing (or its queued job); its course's instructor or an admin only.
    /// A video that is already ready, failed or cancelled is left as it is.
    async fn cancel_video(
        &self,
        ctx: &Context<'_>,
        video_id: ID,
    ) -> async_graphql::Result<VideoStatus> {
        let id = parse_id("videoId", &video_id)?;
        let services = ctx.data::<Services>()?;
        let client = services.db.get().await.map_err(|e| internal(&e.into()))?;
        let video = manageable(&client, ctx, id).await?;
        store::cancel(&client, video.id)
            .await
            .map_err(|e| internal(&e))?;
        let now = store::video(&client, video.id)
            .await
            .map_err(|e| internal(&e))?;
        Ok(VideoStatus::from_db(
            &now.map_or(video.status, |v| v.status),
        ))
    }

    /// Adds or replaces a video's captions in one language (WebVTT, at most 1 MiB): a malformed
    /// file, overlapping cues, or cues past the video's end are refused with the line named.
    /// Its course's instructor or an admin only; the video's duration must be known (probed).
    async fn put_video_captions(
        &self,
        ctx: &Context<'_>,
        video_id: ID,
        #[graphql(desc = "BCP 47 language tag, e.g. `en` or `pt-BR`.")] language: String,
        #[graphql(desc = "What players show; default: the language tag.")] label: Option<String>,
        #[graphql(desc = "The WebVTT file's text.")] webvtt: String,
    ) -> async_graphql::Result<VideoCaption> {
        let id = parse_id("videoId", &video_id)?;
        let services = ctx.data::<Services>()?;
        let video = {
            let client = services.db.get().await.map_err(|e| internal(&e.into()))?;
            manageable(&client, ctx, id).await?
        };
        let uploader = viewer(ctx).map(|v| v.user_id.clone()).unwrap_or_default();
        let stored = services
            .captions
            .put(
                &video,
                &language,
                label.as_deref(),
                webvtt.as_bytes(),
                &uploader,
            )
            .await
            .map_err(caption_error)?;
        Ok(VideoCaption {
            language: stored.language,
            label: stored.label,
            cue_count: stored.cue_count,
        })
    }

    /// Removes a video's captions in one language; false when it had none. Its course's
    /// instructor or an admin only.
    async fn delete_video_captions(
        &self,
        ctx: &Context<'_>,
        video_id: ID,
        language: String,
    ) -> async_graphql::Result<bool> {
        let id = parse_id("videoId", &video_id)?;
        let services = ctx.data::<Services>()?;
        let video = {
            let client = services.db.get().await.map_err(|e| internal(&e.into()))?;
            manageable(&client, ctx, id).await?
        };
        services
            .captions
            .delete(&video, &language)
            .await
            .map_err(caption_error)
    }
}

fn caption_error(error: CaptionChange) -> async_graphql::Error {
    match error {
        CaptionChange::Invalid(message) => self::error("BAD_USER_INPUT", message),
        CaptionChange::Store(e) => internal(&e),
        CaptionChange::Storage(e) => {
            tracing::error!(error = %e, "cannot store captions");
            self::error("INTERNAL", "Unexpected error.")
        }
    }
}

/// The video, when the viewer manages its course (instructor or admin); the right error otherwise.
async fn manageable(
    db: &impl deadpool_postgres::GenericClient,
    ctx: &Context<'_>,
    id: Uuid,
) -> async_graphql::Result<VideoRow> {
    let Some(viewer) = viewer(ctx) else {
        return Err(error("UNAUTHENTICATED", "Sign in to manage videos."));
    };
    let video = store::video(db, id)
        .await
        .map_err(|e| internal(&e))?
        .ok_or_else(|| error("NOT_FOUND", format!("No video {id}.")))?;
    let manages = access::manages_course(db, video.course_id, viewer)
        .await
        .map_err(|e| internal(&e))?;
    if !manages {
        // Not NOT_FOUND: the caller named an id it could only have been given.
        return Err(error(
            "FORBIDDEN",
            "Only the course's instructor or an admin may manage its videos.",
        ));
    }
    Ok(video)
}
