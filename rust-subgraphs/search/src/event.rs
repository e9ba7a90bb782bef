//! The course events the index reacts to.

use coursegraph_events::contracts::course::v1::{
    CourseArchived, CoursePublished, CourseSnapshot, CourseUpdated,
};
use coursegraph_events::{decode_event, Event, Subject};

use crate::SearchError;

/// A course event the index reacts to, decoded from its subject and protobuf payload.
#[derive(Debug, Clone, PartialEq)]
pub enum CourseEvent {
    /// `course.course.published`: the course's first publication.
    Published(CourseSnapshot),
    /// `course.course.updated`: a newer version of a published course.
    Updated(CourseSnapshot),
    /// `course.course.archived`: the course is no longer offered and leaves the index.
    Archived {
        /// The archived course.
        course_id: String,
    },
}

impl CourseEvent {
    /// Reads the event of a message that arrived on `subject`.
    ///
    /// Returns `Ok(None)` for subjects the index does not react to (e.g.
    /// `course.lesson.changed`: every publication carries the complete snapshot anyway); the
    /// consumer still records their sequence with [`Indexer::skip`](crate::Indexer::skip).
    ///
    /// # Errors
    /// [`SearchError::Event`] when the payload is not a valid message of its subject;
    /// [`SearchError::InvalidEvent`] when a publication carries no snapshot.
    pub fn decode(subject: &Subject, payload: &[u8]) -> Result<Option<Self>, SearchError> {
        let snapshot = |course: Option<CourseSnapshot>, subject: &'static str| {
            course.ok_or_else(|| SearchError::InvalidEvent {
                subject,
                reason: "it carries no course snapshot".into(),
            })
        };
        let event = match subject.as_str() {
            s if s == CoursePublished::SUBJECT => {
                let event: CoursePublished = decode_event(subject, payload)?;
                Self::Published(snapshot(event.course, CoursePublished::SUBJECT)?)
            }
            s if s == CourseUpdated::SUBJECT => {
                let event: CourseUpdated = decode_event(subject, payload)?;
                Self::Updated(snapshot(event.course, CourseUpdated::SUBJECT)?)
            }
            s if s == CourseArchived::SUBJECT => {
                let event: CourseArchived = decode_event(subject, payload)?;
                Self::Archived {
                    course_id: event.course_id,
                }
            }
            _ => return Ok(None),
        };
        Ok(Some(event))
    }

    /// The subject of the event.
    pub fn subject(&self) -> &'static str {
        match self {
            Self::Published(_) => CoursePublished::SUBJECT,
            Self::Updated(_) => CourseUpdated::SUBJECT,
            Self::Archived { .. } => CourseArchived::SUBJECT,
        }
    }

    /// The course the event is about.
    pub fn course_id(&self) -> &str {
        match self {
            Self::Published(course) | Self::Updated(course) => &course.course_id,
            Self::Archived { course_id } => course_id,
        }
    }
}
