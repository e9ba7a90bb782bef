//! Caption files: validated WebVTT per language, stored beside the video's media (so playback
//! serves them under the same signed scope) and announced as `video.captions.changed`, which
//! course follows (a course does not publish while a video lesson lacks captions in its
//! language) and search indexes by time (a learner finds the moment a word is said).

use std::sync::Arc;

use bytes::Bytes;
use coursegraph_events::contracts::video::v1::{CaptionSegment, CaptionsChanged};
use deadpool_postgres::Pool;
use thiserror::Error;

use crate::outbox::{self, RelayWaker};
use crate::pipeline::now_rfc3339;
use crate::playback::caption_path;
use crate::storage::{LocalStorage, ObjectKey, Storage, StorageError, VideoId};
use crate::store::{self, CaptionRow, StoreError, VideoRow};
use crate::webvtt;

/// Longest caption label, in characters.
pub const MAX_LABEL_CHARS: usize = 100;

/// Why captions were not changed.
#[derive(Debug, Error)]
pub enum CaptionChange {
    /// The caller's input is refused; the message says why (and names the line).
    #[error("{0}")]
    Invalid(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The file could not be stored.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Stores and announces caption changes.
#[derive(Clone)]
pub struct Captions {
    /// The context's database.
    pub db: Pool,
    /// Where the files go.
    pub storage: Arc<LocalStorage>,
    /// Wakes the outbox relay after a commit.
    pub relay: RelayWaker,
}

impl Captions {
    /// Adds or replaces `video`'s captions in `language` with the WebVTT `file`.
    ///
    /// # Errors
    /// [`CaptionChange::Invalid`] for a bad tag, label or file (nothing changes), else a
    /// storage or database failure.
    pub async fn put(
        &self,
        video: &VideoRow,
        language: &str,
        label: Option<&str>,
        file: &[u8],
        uploaded_by: &str,
    ) -> Result<CaptionRow, CaptionChange> {
        let language = webvtt::language_tag(language.trim())
            .map_err(|e| CaptionChange::Invalid(format!("language: {e}")))?;
        let label = label
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .unwrap_or(&language);
        if label.chars().count() > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
            return Err(CaptionChange::Invalid(format!(
                "label must be at most {MAX_LABEL_CHARS} characters, without control characters"
            )));
        }
        let Some(duration) = video.duration_seconds else {
            return Err(CaptionChange::Invalid(
                "The video has not been probed yet: add captions once its processing has started."
                    .into(),
            ));
        };
        let parsed = webvtt::parse(file).map_err(|e| CaptionChange::Invalid(e.to_string()))?;
        webvtt::validate(&parsed, (duration * 1000.0).round() as u64)
            .map_err(|e| CaptionChange::Invalid(e.to_string()))?;
        let segments: Vec<CaptionSegment> = webvtt::search_segments(&parsed)
            .into_iter()
            .map(|s| CaptionSegment {
                start_ms: i64::try_from(s.start_ms).unwrap_or(i64::MAX),
                end_ms: i64::try_from(s.end_ms).unwrap_or(i64::MAX),
                text: s.text,
            })
            .collect();
        let uploader = uuid::Uuid::parse_str(uploaded_by)
            .map_err(|_| CaptionChange::Invalid("the uploader is not a user".into()))?;
        let row = CaptionRow {
            video_id: video.id,
            language: language.clone(),
            label: label.to_owned(),
            cue_count: i32::try_from(parsed.cues.len()).unwrap_or(i32::MAX),
        };
        let mut client = self.db.get().await.map_err(StoreError::from)?;
        let tx = client.transaction().await.map_err(StoreError::from)?;
        store::put_caption(&tx, &row, uploader).await?;
        let event = self.event(&tx, video, &language, segments).await?;
        // The outbox refuses an event over EVENT_MAX_BYTES (the captions' text): the caller's to fix.
        outbox::write(&tx, &event).await.map_err(|e| match e {
            StoreError::EventTooLarge(too_large) => CaptionChange::Invalid(too_large.to_string()),
            e => e.into(),
        })?;
        // The file before the commit: a failure leaves the old captions whole, in the table and
        // on disk (a file written but not committed is replaced by the next upload).
        let key = ObjectKey::new(
            VideoId::parse(&video.id.to_string())?,
            &caption_path(&language),
        )?;
        self.storage
            .put_object_bytes(&key, Bytes::copy_from_slice(file))
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        self.relay.wake();
        Ok(row)
    }

    /// Removes `video`'s captions in `language`; false when it had none.
    ///
    /// # Errors
    /// [`CaptionChange::Invalid`] for a bad tag, else a database failure.
    pub async fn delete(&self, video: &VideoRow, language: &str) -> Result<bool, CaptionChange> {
        let language = webvtt::language_tag(language.trim())
            .map_err(|e| CaptionChange::Invalid(format!("language: {e}")))?;
        let mut client = self.db.get().await.map_err(StoreError::from)?;
        let tx = client.transaction().await.map_err(StoreError::from)?;
        if !store::delete_caption(&tx, video.id, &language).await? {
            return Ok(false);
        }
        let event = self.event(&tx, video, &language, Vec::new()).await?;
        outbox::write(&tx, &event).await?;
        tx.commit().await.map_err(StoreError::from)?;
        self.relay.wake();
        Ok(true)
    }

    async fn event(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        video: &VideoRow,
        language: &str,
        segments: Vec<CaptionSegment>,
    ) -> Result<CaptionsChanged, StoreError> {
        let languages = store::captions(tx, &[video.id])
            .await?
            .into_iter()
            .map(|c| c.language)
            .collect();
        Ok(CaptionsChanged {
            video_id: video.id.to_string(),
            lesson_id: video.lesson_id.to_string(),
            course_id: video.course_id.to_string(),
            languages,
            language: language.to_owned(),
            segments,
            changed_at: now_rfc3339(),
        })
    }
}
