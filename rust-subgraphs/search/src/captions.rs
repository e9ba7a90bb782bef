//! The video events the index reacts to: a lesson's captions in one language changed.

use coursegraph_events::contracts::video::v1::CaptionsChanged;
use coursegraph_events::{decode_event, Event, Subject};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::SearchError;

/// Most segments one event may carry (a 3-hour video captioned every second is 10,800).
pub const MAX_SEGMENTS: usize = 20_000;

/// `video.captions.changed`, checked: the segments of one lesson's captions in one language,
/// as of `changed_at`. An event with no segments removes that language.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptionsEvent {
    /// The lesson whose video has the captions.
    pub lesson_id: String,
    /// The caption's BCP 47 tag, trimmed and lowercased (`en-gb`): each tag is a track of its own.
    pub language: String,
    /// In order of the event; empty when the language was removed.
    pub segments: Vec<CaptionSegment>,
    /// When the captions changed: of two events for a lesson and language, the later wins.
    pub changed_at: OffsetDateTime,
}

/// One stretch of caption text and when it is said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptionSegment {
    /// Milliseconds from the start of the video.
    pub start_ms: u64,
    /// Milliseconds from the start of the video, at or after `start_ms`.
    pub end_ms: u64,
    /// The words said, trimmed (never empty).
    pub text: String,
}

impl CaptionsEvent {
    /// Reads the event of a message that arrived on `subject`: `Ok(None)` for the video
    /// stream's other subjects (the consumer records their sequence without applying them).
    ///
    /// The event's `course_id` is not read: which course a lesson belongs to is what the
    /// course events say, so a caption can never land in another course's results.
    ///
    /// # Errors
    /// [`SearchError::Event`] when the payload is not a valid message of its subject;
    /// [`SearchError::InvalidEvent`] when it lacks a lesson, a language or a valid time, has
    /// more than [`MAX_SEGMENTS`] segments, or a segment ends before it starts.
    pub fn decode(subject: &Subject, payload: &[u8]) -> Result<Option<Self>, SearchError> {
        if subject.as_str() != CaptionsChanged::SUBJECT {
            return Ok(None);
        }
        let event: CaptionsChanged = decode_event(subject, payload)?;
        let invalid = |reason: String| SearchError::InvalidEvent {
            subject: CaptionsChanged::SUBJECT,
            reason,
        };
        let lesson_id = event.lesson_id.trim();
        if lesson_id.is_empty() {
            return Err(invalid("the lesson id is empty".into()));
        }
        let language = event.language.trim().to_ascii_lowercase();
        if language.is_empty() || language.len() > 35 || language.chars().any(char::is_control) {
            return Err(invalid(format!(
                "language {:?} is not a language tag",
                event.language
            )));
        }
        let changed_at =
            OffsetDateTime::parse(event.changed_at.trim(), &Rfc3339).map_err(|_| {
                invalid(format!(
                    "changed_at {:?} is not an RFC 3339 time",
                    event.changed_at
                ))
            })?;
        if event.segments.len() > MAX_SEGMENTS {
            return Err(invalid(format!(
                "{} segments; at most {MAX_SEGMENTS} are indexed",
                event.segments.len()
            )));
        }
        let mut segments = Vec::with_capacity(event.segments.len());
        for (position, segment) in event.segments.iter().enumerate() {
            let (Ok(start_ms), Ok(end_ms)) = (
                u64::try_from(segment.start_ms),
                u64::try_from(segment.end_ms),
            ) else {
                return Err(invalid(format!("segment {position} has a negative time")));
            };
            if end_ms < start_ms {
                return Err(invalid(format!(
                    "segment {position} ends ({end_ms} ms) before it starts ({start_ms} ms)"
                )));
            }
            let text = segment.text.trim();
            // A cue with no words (a music note line stripped to nothing) finds nothing.
            if !text.is_empty() {
                segments.push(CaptionSegment {
                    start_ms,
                    end_ms,
                    text: text.to_owned(),
                });
            }
        }
        Ok(Some(Self {
            lesson_id: lesson_id.to_owned(),
            language,
            segments,
            changed_at,
        }))
    }

    /// The subject of the event.
    pub fn subject(&self) -> &'static str {
        CaptionsChanged::SUBJECT
    }
}
