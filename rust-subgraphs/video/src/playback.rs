//! Issues playback URLs: signed for one video and one viewer, expiring after the configured
//! time, scoped to the video's folder under `/play/` (served by [`crate::serve`], which checks
//! the signature on every request and signs the playlists' URIs with the same grant).

use std::time::Duration;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::access::rfc3339;
use crate::graphql::{CaptionTrack, VideoPlayback};
use crate::signing::{self, Keyring, SignError};
use crate::transcode::{MASTER_PLAYLIST, POSTER, STORYBOARD_VTT};

/// Where playback is mounted on the subgraph's HTTP server.
pub const MOUNT: &str = "/play/";

/// The path of a video's captions in one language, under its folder.
pub fn caption_path(language: &str) -> String {
    format!("captions/{language}.vtt")
}

/// Signs playback URLs.
#[derive(Debug, Clone)]
pub struct Playback {
    keys: Keyring,
    public_url: String,
    ttl: Duration,
}

impl Playback {
    /// URLs under `public_url` (no trailing slash), valid for `ttl`.
    pub fn new(keys: Keyring, public_url: &str, ttl: Duration) -> Self {
        Self {
            keys,
            public_url: public_url.trim_end_matches('/').to_owned(),
            ttl,
        }
    }

    /// The URLs of a ready video for `viewer_id`, with its caption tracks (language, label).
    ///
    /// # Errors
    /// [`SignError`] when an id is outside the signing rules (a bug: ids are UUIDs).
    pub fn issue(
        &self,
        video_id: Uuid,
        viewer_id: &str,
        captions: &[(String, String)],
    ) -> Result<VideoPlayback, SignError> {
        self.issue_at(video_id, viewer_id, captions, OffsetDateTime::now_utc())
    }

    /// [`Playback::issue`] at time `now`.
    ///
    /// # Errors
    /// As [`Playback::issue`].
    pub fn issue_at(
        &self,
        video_id: Uuid,
        viewer_id: &str,
        captions: &[(String, String)],
        now: OffsetDateTime,
    ) -> Result<VideoPlayback, SignError> {
        let scope = format!("{MOUNT}{video_id}/");
        let expires_at = now + self.ttl;
        let query = signing::sign(
            &self.keys,
            &video_id.to_string(),
            viewer_id,
            expires_at,
            &scope,
        )?;
        let url = |file: &str| format!("{}{scope}{file}?{query}", self.public_url);
        Ok(VideoPlayback {
            url: url(MASTER_PLAYLIST),
            poster_url: url(POSTER),
            storyboard_url: url(STORYBOARD_VTT),
            captions: captions
                .iter()
                .map(|(language, label)| CaptionTrack {
                    language: language.clone(),
                    label: label.clone(),
                    url: url(&caption_path(language)),
                })
                .collect(),
            expires_at: rfc3339(expires_at),
        })
    }
}
