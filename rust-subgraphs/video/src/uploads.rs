//! Uploads: who may send a lesson's video over tus (its course's instructor or an admin, only to
//! a video lesson of that course), and what a completed upload becomes (a QUEUED video whose job
//! is on the `VIDEO_JOBS` queue).
//!
//! A client creates an upload with `Upload-Metadata` holding `lessonId`, `courseId`, `filename`,
//! `filetype` (a `video/*` type) and optionally `perTitle` (`true`: lower bitrates for simple
//! content), and its access token in `Authorization`; only the same user may continue or delete
//! it. When the last byte is acknowledged the upload is recorded and queued by a task fed through
//! a channel. A crash between the two is healed at start-up by [`recover`], which records every
//! complete upload that has no video yet and re-queues the videos still waiting.

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use deadpool_postgres::Pool;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::access;
use crate::auth::{AuthVerifier, Role};
use crate::jobs::JobQueue;
use crate::storage::{LocalStorage, Metadata, Storage, UploadInfo};
use crate::store::{self, NewVideo, StoreError};
use crate::tus::{AuthError, CompletedUpload, UploadAuthorizer};

/// The tus authorizer of lesson videos.
#[derive(Clone)]
pub struct LessonUploads {
    /// Verifies access tokens.
    pub auth: AuthVerifier,
    /// The projections deciding who owns a course.
    pub db: Pool,
}

fn metadata_id(metadata: &Metadata, key: &str) -> Result<Uuid, AuthError> {
    let value = metadata.get(key).ok_or_else(|| {
        AuthError::Forbidden(format!(
            "Upload-Metadata must name the lesson and its course: `{key}` is missing"
        ))
    })?;
    Uuid::parse_str(value)
        .map_err(|_| AuthError::Forbidden(format!("Upload-Metadata `{key}` must be a UUID")))
}

impl UploadAuthorizer for LessonUploads {
    async fn authorize_create(
        &self,
        headers: &HeaderMap,
        metadata: &Metadata,
    ) -> Result<String, AuthError> {
        let viewer = self
            .auth
            .viewer_from_headers(headers)
            .await
            .map_err(|e| AuthError::Unauthenticated(e.to_string()))?
            .ok_or_else(|| AuthError::Unauthenticated("Sign in to upload a video.".into()))?;
        if viewer.role == Role::Learner {
            return Err(AuthError::Forbidden(
                "Only the course's instructor or an admin may upload its videos.".into(),
            ));
        }
        let lesson_id = metadata_id(metadata, "lessonId")?;
        let course_id = metadata_id(metadata, "courseId")?;
        let internal = |e: StoreError| {
            tracing::error!(error = %e, "upload authorization failed");
            AuthError::Forbidden("The upload cannot be authorized right now; try again.".into())
        };
        let client = self.db.get().await.map_err(|e| internal(e.into()))?;
        let facts = store::lesson_access(&client, lesson_id, Some(course_id))
            .await
            .map_err(internal)?;
        if facts
            .course_id
            .is_some_and(|published| published != course_id)
        {
            return Err(AuthError::Forbidden(format!(
                "Lesson {lesson_id} is not a lesson of course {course_id}."
            )));
        }
        if facts.kind.as_deref().is_some_and(|kind| kind != "VIDEO") {
            return Err(AuthError::Forbidden(format!(
                "Lesson {lesson_id} is not a video lesson."
            )));
        }
        if facts.instructor_id.is_none() {
            return Err(AuthError::Forbidden(format!(
                "Course {course_id} is not known (yet): try again in a moment."
            )));
        }
        if !access::manages_course(&client, course_id, &viewer)
            .await
            .map_err(internal)?
        {
            return Err(AuthError::Forbidden(
                "Only the course's instructor or an admin may upload its videos.".into(),
            ));
        }
        Ok(viewer.user_id)
    }

    async fn authorize_access(
        &self,
        headers: &HeaderMap,
        upload: &UploadInfo,
    ) -> Result<(), AuthError> {
        let viewer = self
            .auth
            .viewer_from_headers(headers)
            .await
            .map_err(|e| AuthError::Unauthenticated(e.to_string()))?
            .ok_or_else(|| AuthError::Unauthenticated("Sign in to continue this upload.".into()))?;
        if viewer.user_id == upload.owner {
            Ok(())
        } else {
            Err(AuthError::Forbidden(
                "Only the user who started this upload may continue or delete it.".into(),
            ))
        }
    }
}

/// Completed uploads waiting to be recorded.
pub type Completions = mpsc::UnboundedSender<CompletedUpload>;

/// The video a completed upload becomes; `None` when its metadata is not a lesson's (an
/// upload made before the authorizer checked it cannot exist, so this is corruption).
fn new_video(info: &UploadInfo) -> Option<NewVideo> {
    let id = |key: &str| info.metadata.get(key).and_then(|v| Uuid::parse_str(v).ok());
    Some(NewVideo {
        id: Uuid::now_v7(),
        lesson_id: id("lessonId")?,
        course_id: id("courseId")?,
        uploaded_by: Uuid::parse_str(&info.owner).ok()?,
        upload_id: info.id.as_str().to_owned(),
        upload_length: i64::try_from(info.length).ok()?,
        file_name: info
            .metadata
            .get("filename")
            .map(|n| n.chars().take(255).collect())
            .unwrap_or_default(),
        per_title: info.metadata.get("perTitle").is_some_and(|v| v == "true"),
    })
}

/// Records one complete upload as a QUEUED video and puts its job on the queue (idempotent:
/// an upload recorded before keeps its video, and a job queued twice is dropped or skipped).
///
/// # Errors
/// The database or the queue failed; the caller retries.
pub async fn record(db: &Pool, queue: &JobQueue, info: &UploadInfo) -> Result<(), String> {
    let Some(video) = new_video(info) else {
        tracing::error!(upload = %info.id, "a complete upload has no lesson metadata; left alone");
        return Ok(());
    };
    let client = db.get().await.map_err(|e| e.to_string())?;
    let (video_id, status) = store::queue_upload(&client, &video)
        .await
        .map_err(|e| e.to_string())?;
    drop(client);
    if status == "QUEUED" {
        queue
            .enqueue(video_id, &video_id.to_string())
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(%video_id, upload = %info.id, lesson_id = %video.lesson_id, "upload queued for transcoding");
    }
    Ok(())
}

/// Records completed uploads as they arrive, retrying each a few times (a failure is healed by
/// [`recover`] at the next start).
pub async fn run_completions(
    db: Pool,
    queue: Arc<JobQueue>,
    mut completed: mpsc::UnboundedReceiver<CompletedUpload>,
) {
    while let Some(upload) = completed.recv().await {
        let mut delay = Duration::from_millis(200);
        for attempt in 1..=5 {
            match record(&db, &queue, &upload.info).await {
                Ok(()) => break,
                Err(error) => {
                    tracing::warn!(upload = %upload.info.id, attempt, error, "cannot record a completed upload yet");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
            }
        }
    }
}

/// At start-up: records complete uploads that have no video (a crash right after their last
/// byte) and re-queues every video still waiting (see [`store::waiting_videos`]). Returns how many of each.
///
/// # Errors
/// The storage, database or queue failed.
pub async fn recover(
    storage: &LocalStorage,
    db: &Pool,
    queue: &JobQueue,
) -> Result<(usize, usize), String> {
    let complete: Vec<UploadInfo> = storage
        .list_uploads()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(UploadInfo::is_complete)
        .collect();
    let ids: Vec<String> = complete.iter().map(|u| u.id.as_str().to_owned()).collect();
    let client = db.get().await.map_err(|e| e.to_string())?;
    let recorded = store::recorded_uploads(&client, &ids)
        .await
        .map_err(|e| e.to_string())?;
    let waiting = store::waiting_videos(&client)
        .await
        .map_err(|e| e.to_string())?;
    drop(client);
    let mut healed = 0;
    for info in complete
        .iter()
        .filter(|u| !recorded.contains(&u.id.as_str().to_owned()))
    {
        // The bytes are all there: make the local file FFmpeg reads, as tus does on completion.
        storage
            .finish_upload(&info.id)
            .await
            .map_err(|e| e.to_string())?;
        record(db, queue, info).await?;
        healed += 1;
    }
    for (video_id, attempts) in &waiting {
        queue
            .enqueue(*video_id, &format!("{video_id}.{attempts}"))
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok((healed, waiting.len()))
}
