//! Events in: the video context's projections of course and enrollment, from which it decides
//! who may upload a lesson's video (its course's instructor) and who may watch it (the rule the
//! course context applies to lesson bodies). Never a synchronous call to either context.
//!
//! Two durable pull consumers, [`COURSES`] on `COURSE` and [`ENROLMENTS`] on `ENROLLMENT`. Each
//! message is applied in one transaction that also records its event id (`processed_events`),
//! and acknowledged only after the commit: a redelivery changes nothing, a crash loses nothing.
//! A message that is not a valid event is terminated with a warning, never retried forever.

use std::time::Duration;

use async_nats::jetstream::consumer::pull::Config as PullConfig;
use async_nats::jetstream::consumer::{AckPolicy, PullConsumer};
use async_nats::jetstream::stream::{Config as StreamConfig, DiscardPolicy, StorageType};
use async_nats::jetstream::{AckKind, Message};
use coursegraph_events::contracts::course::v1::{
    CourseCreated, CoursePublished, CourseSnapshot, CourseUpdated, LessonKind,
};
use coursegraph_events::contracts::enrollment::v1::{
    EnrollmentCreated, EnrollmentMode, EnrollmentRevoked,
};
use coursegraph_events::nats::MessageHeaders;
use coursegraph_events::{decode_event, Envelope};
use coursegraph_subgraph_kit::telemetry::{self, consumer_span, record_outcome, ConsumedEvent};
use deadpool_postgres::Pool;
use futures_util::StreamExt;
use thiserror::Error;
use tokio::sync::watch;
use tracing::{Instrument, Span};
use uuid::Uuid;

use crate::store::{self, PublishedCourse, PublishedLesson, StoreError};

/// The durable consumer on `COURSE`.
pub const COURSES: &str = "video-courses";
/// The durable consumer on `ENROLLMENT`.
pub const ENROLMENTS: &str = "video-enrolments";

/// Why an event could not be applied.
#[derive(Debug, Error)]
pub enum ProjectionError {
    /// Not a valid event (headers, payload, ids): terminated, never retried.
    #[error("invalid event: {0}")]
    Invalid(String),
    /// The database failed: not acknowledged, so JetStream redelivers it.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// NATS failed.
    #[error("{what}: {source}")]
    Stream {
        /// What was being done.
        what: &'static str,
        /// The client's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

fn stream_error<E: Into<Box<dyn std::error::Error + Send + Sync>>>(
    what: &'static str,
) -> impl FnOnce(E) -> ProjectionError {
    move |source| ProjectionError::Stream {
        what,
        source: source.into(),
    }
}

/// Which stream a consumer follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `COURSE`, by [`COURSES`].
    Courses,
    /// `ENROLLMENT`, by [`ENROLMENTS`].
    Enrolments,
}

impl Source {
    fn stream(self) -> &'static str {
        match self {
            Self::Courses => "COURSE",
            Self::Enrolments => "ENROLLMENT",
        }
    }

    fn subjects(self) -> &'static str {
        match self {
            Self::Courses => "course.>",
            Self::Enrolments => "enrollment.>",
        }
    }

    /// The durable consumer's name.
    pub fn consumer(self) -> &'static str {
        match self {
            Self::Courses => COURSES,
            Self::Enrolments => ENROLMENTS,
        }
    }
}

/// Follows `source` until `stop` turns true, reconnecting after failures with a capped backoff.
pub async fn run(
    client: async_nats::Client,
    db: Pool,
    source: Source,
    mut stop: watch::Receiver<bool>,
) {
    let mut failures: u32 = 0;
    loop {
        if *stop.borrow() {
            return;
        }
        match follow(&client, &db, source, &mut stop).await {
            Ok(()) => return,
            Err(error) => {
                let delay = Duration::from_millis(250 * 2u64.pow(failures.min(6)));
                failures += 1;
                tracing::warn!(consumer = source.consumer(), error = %error, retry_in_ms = delay.as_millis() as u64, "projection consumer stopped; retrying");
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
}

async fn follow(
    client: &async_nats::Client,
    db: &Pool,
    source: Source,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), ProjectionError> {
    let jetstream = async_nats::jetstream::new(client.clone());
    // The producer owns the stream's limits; a consumer that starts first creates it with
    // defaults the producer then updates (as the TypeScript kit does).
    let stream = jetstream
        .get_or_create_stream(StreamConfig {
            name: source.stream().into(),
            subjects: vec![source.subjects().into()],
            storage: StorageType::File,
            discard: DiscardPolicy::Old,
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        })
        .await
        .map_err(stream_error("open stream"))?;
    let consumer: PullConsumer = stream
        .get_or_create_consumer(
            source.consumer(),
            PullConfig {
                durable_name: Some(source.consumer().into()),
                ack_policy: AckPolicy::Explicit,
                ack_wait: Duration::from_secs(30),
                ..Default::default()
            },
        )
        .await
        .map_err(stream_error("create consumer"))?;
    let mut messages = consumer.messages().await.map_err(stream_error("pull"))?;
    tracing::info!(
        stream = source.stream(),
        consumer = source.consumer(),
        "following events"
    );
    loop {
        let next = tokio::select! {
            _ = stop.changed() => return Ok(()),
            next = messages.next() => next,
        };
        let message = match next {
            None => return Err(stream_error("pull")("the message stream ended")),
            Some(Err(error)) => return Err(stream_error("pull")(error)),
            Some(Ok(message)) => message,
        };
        let span = event_span(source, &message);
        let applied = apply(db, source, &message).instrument(span.clone()).await;
        record_outcome(
            &span,
            match &applied {
                Ok(outcome) => outcome,
                Err(ProjectionError::Invalid(_)) => "malformed",
                Err(_) => "failed",
            },
        );
        let ack = match applied {
            Ok(_) => AckKind::Ack,
            Err(ProjectionError::Invalid(reason)) => {
                tracing::warn!(consumer = source.consumer(), subject = %message.subject, reason, "event rejected; terminated");
                AckKind::Term
            }
            // Not acknowledged: redelivered after the ack wait, once the database is back.
            Err(error) => return Err(error),
        };
        message.ack_with(ack).await.map_err(stream_error("ack"))?;
    }
}

/// The CONSUMER span of a message, continuing its event's `traceparent`; none when tracing is
/// off, or when its envelope is not valid (it is then terminated, with a warning).
fn event_span(source: Source, message: &Message) -> Span {
    if !telemetry::enabled() {
        return Span::none();
    }
    let envelope = Envelope::from_headers(&MessageHeaders(message.headers.as_ref()));
    match (envelope, message.info()) {
        (Ok(envelope), Ok(info)) => consumer_span(&ConsumedEvent {
            context: "video",
            consumer: source.consumer(),
            subject: envelope.event_type().as_str(),
            id: &envelope.id().to_string(),
            traceparent: envelope.traceparent().as_str(),
            delivery_count: info.delivered,
        }),
        _ => Span::none(),
    }
}

/// Applies one message in its own transaction (with its processed-event record); says what it
/// came to: `applied`, `duplicate` (a redelivery) or `ignored` (an event not followed here).
async fn apply(
    db: &Pool,
    source: Source,
    message: &Message,
) -> Result<&'static str, ProjectionError> {
    let envelope = Envelope::from_headers(&MessageHeaders(message.headers.as_ref()))
        .map_err(|e| ProjectionError::Invalid(e.to_string()))?;
    let sequence = message
        .info()
        .map(|info| info.stream_sequence)
        .map_err(|e| ProjectionError::Invalid(e.to_string()))?;
    let change = decode(source, &envelope, &message.payload, sequence)?;
    let Some(change) = change else {
        return Ok("ignored");
    };
    let mut client = db.get().await.map_err(StoreError::from)?;
    let tx = client.transaction().await.map_err(StoreError::from)?;
    let first = store::first_delivery(&tx, source.consumer(), envelope.id()).await?;
    if first {
        match &change {
            Change::CourseCreated {
                course_id,
                instructor_id,
            } => store::course_created(&tx, *course_id, *instructor_id).await?,
            Change::Published(course) => {
                store::course_published(&tx, course).await?;
            }
            Change::Enrolment {
                user_id,
                course_id,
                mode,
                active,
                sequence,
            } => {
                store::set_enrolment(&tx, *user_id, *course_id, *mode, *active, *sequence).await?;
            }
        }
    }
    tx.commit().await.map_err(StoreError::from)?;
    tracing::debug!(consumer = source.consumer(), event_id = %envelope.id(), subject = envelope.event_type().as_str(), first, "applied");
    Ok(if first { "applied" } else { "duplicate" })
}

/// What an event changes in the projections.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Change {
    CourseCreated {
        course_id: Uuid,
        instructor_id: Uuid,
    },
    Published(PublishedCourse),
    Enrolment {
        user_id: Uuid,
        course_id: Uuid,
        mode: Option<&'static str>,
        active: bool,
        sequence: i64,
    },
}

fn id(field: &str, value: &str) -> Result<Uuid, ProjectionError> {
    Uuid::parse_str(value)
        .map_err(|_| ProjectionError::Invalid(format!("{field} is not a UUID: {value:?}")))
}

/// The change an event makes; `None` for events this context does not follow.
fn decode(
    source: Source,
    envelope: &Envelope,
    payload: &[u8],
    sequence: u64,
) -> Result<Option<Change>, ProjectionError> {
    let subject = envelope.event_type();
    let invalid = |e: coursegraph_events::EventError| ProjectionError::Invalid(e.to_string());
    let sequence = i64::try_from(sequence)
        .map_err(|_| ProjectionError::Invalid("stream sequence out of range".into()))?;
    Ok(Some(match (source, subject.as_str()) {
        (Source::Courses, "course.course.created") => {
            let e: CourseCreated = decode_event(subject, payload).map_err(invalid)?;
            Change::CourseCreated {
                course_id: id("course_id", &e.course_id)?,
                instructor_id: id("instructor_id", &e.instructor_id)?,
            }
        }
        (Source::Courses, "course.course.published") => {
            let e: CoursePublished = decode_event(subject, payload).map_err(invalid)?;
            Change::Published(published(e.course)?)
        }
        (Source::Courses, "course.course.updated") => {
            let e: CourseUpdated = decode_event(subject, payload).map_err(invalid)?;
            Change::Published(published(e.course)?)
        }
        (Source::Enrolments, "enrollment.enrollment.created") => {
            let e: EnrollmentCreated = decode_event(subject, payload).map_err(invalid)?;
            let mode = match EnrollmentMode::try_from(e.mode) {
                Ok(EnrollmentMode::Free) => "FREE",
                Ok(EnrollmentMode::Audit) => "AUDIT",
                Ok(EnrollmentMode::Paid) => "PAID",
                _ => return Err(ProjectionError::Invalid(format!("unknown mode {}", e.mode))),
            };
            Change::Enrolment {
                user_id: id("user_id", &e.user_id)?,
                course_id: id("course_id", &e.course_id)?,
                mode: Some(mode),
                active: true,
                sequence,
            }
        }
        (Source::Enrolments, "enrollment.enrollment.revoked") => {
            let e: EnrollmentRevoked = decode_event(subject, payload).map_err(invalid)?;
            Change::Enrolment {
                user_id: id("user_id", &e.user_id)?,
                course_id: id("course_id", &e.course_id)?,
                mode: None,
                active: false,
                sequence,
            }
        }
        _ => return Ok(None),
    }))
}

fn published(snapshot: Option<CourseSnapshot>) -> Result<PublishedCourse, ProjectionError> {
    let course =
        snapshot.ok_or_else(|| ProjectionError::Invalid("the snapshot is missing".into()))?;
    let lessons = course
        .lessons
        .iter()
        .map(|lesson| {
            Ok(PublishedLesson {
                lesson_id: id("lesson_id", &lesson.lesson_id)?,
                kind: match LessonKind::try_from(lesson.kind) {
                    Ok(LessonKind::Video) => "VIDEO",
                    Ok(LessonKind::Article) => "ARTICLE",
                    Ok(LessonKind::Quiz) => "QUIZ",
                    _ => {
                        return Err(ProjectionError::Invalid(format!(
                            "lesson {} has no kind",
                            lesson.lesson_id
                        )))
                    }
                },
                free_preview: lesson.free_preview,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if course.version < 1 {
        return Err(ProjectionError::Invalid(format!(
            "version {} is not a publication",
            course.version
        )));
    }
    Ok(PublishedCourse {
        course_id: id("course_id", &course.course_id)?,
        version: course.version,
        instructor_id: id("instructor_id", &course.instructor_id)?,
        free: course.price.as_ref().is_none_or(|p| p.amount_minor == 0),
        language: course.language.clone(),
        lessons,
    })
}
