//! Events out: the video context's outbox and its relay, the Rust twin of the TypeScript kit's
//! (packages/service-kit/src/events/outbox.ts, relay.ts, event-size.ts, publish-failure.ts), with
//! the same rules. An event is written to `outbox_events` in the same transaction as the change
//! it announces; the relay publishes committed rows to the `VIDEO` stream in id order with
//! `Nats-Msg-Id` = the event id, so a row published twice (a crash between the publish and its
//! mark) is dropped by JetStream's duplicate window.
//!
//! One row cannot wedge the relay:
//! - an event larger than `EVENT_MAX_BYTES` is refused when it is written ([`EventTooLarge`]):
//!   the change and its event are refused together, rather than a change committed whose event
//!   NATS would never take;
//! - a publish the server refuses (no stream takes the subject, a JetStream refusal) counts in
//!   the row's `attempts` with its `last_error`; the row waits out its [`backoff`] while the rows
//!   behind it go on, and after `EVENT_OUTBOX_MAX_ATTEMPTS` refusals (at once when it is too
//!   large for the server, or cannot be enveloped) it is parked: left unpublished with
//!   `attempts >= max_attempts`, skipped by the relay, listed and re-driven by
//!   `node scripts/events.mjs outbox list|redrive video`. Parking gives up order for that one
//!   event (events behind it are published first), the lesser harm, as in the TypeScript kit;
//! - an outage (NATS not answering) is not the row's fault: nothing is counted, the relay waits
//!   and retries for as long as it lasts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::context::{PublishError, PublishErrorKind};
use async_nats::jetstream::stream::{Config as StreamConfig, DiscardPolicy, StorageType};
use coursegraph_events::{Envelope, Event, EventError, Subject, TraceParent};
use coursegraph_subgraph_kit::{telemetry, ErrorChain};
use deadpool_postgres::{GenericClient, Pool};
use ring::rand::{SecureRandom, SystemRandom};
use time::OffsetDateTime;
use tokio::sync::{watch, Notify};
use uuid::Uuid;

use crate::store::{self, OutboxRow, StoreError};

/// The stream the video context publishes to.
pub const STREAM: &str = "VIDEO";
/// How often the relay looks for rows when nobody wakes it.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// Rows published per round.
pub const BATCH: i64 = 100;
/// How long a context stream keeps an event (`EVENT_STREAM_MAX_AGE_DAYS`'s default).
pub const STREAM_MAX_AGE: Duration = Duration::from_secs(365 * 86_400);
/// How much a context stream may hold (`EVENT_STREAM_MAX_MB`'s default), bytes.
pub const STREAM_MAX_BYTES: i64 = 1024 * 1024 * 1024;
/// NATS's default `max_payload` (1 MiB): payload and headers together.
pub const NATS_DEFAULT_MAX_PAYLOAD: usize = 1024 * 1024;
/// Room kept below `max_payload` for the headers a dead letter adds to an event, so an event that
/// could be published can also be dead-lettered (the TypeScript kit's `DEADLETTER_HEADER_ROOM`).
pub const DEADLETTER_HEADER_ROOM: usize = 8 * 1024;
/// `EVENT_MAX_BYTES`'s default: the largest event [`write`] accepts, payload and headers.
pub const DEFAULT_MAX_EVENT_BYTES: usize = NATS_DEFAULT_MAX_PAYLOAD - DEADLETTER_HEADER_ROOM;
/// `EVENT_OUTBOX_MAX_ATTEMPTS`'s default: refusals after which a row is parked.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;
/// How long one publish waits for its acknowledgement before it counts as an outage.
pub const PUBLISH_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the relay counts the parked rows and, when there are any, logs them (also at start).
pub const PARKED_LOG_INTERVAL: Duration = Duration::from_secs(600);
/// The longest `last_error` kept, in characters.
const MAX_ERROR_CHARS: usize = 2000;

/// `EVENT_MAX_BYTES` of this process: set once at start-up ([`set_max_event_bytes`]), read by
/// every [`write`] (as the TypeScript kit reads its outbox settings once per process).
static MAX_EVENT_BYTES: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_EVENT_BYTES);

/// Sets the largest event [`write`] accepts (`EVENT_MAX_BYTES`), at start-up.
pub fn set_max_event_bytes(bytes: usize) {
    MAX_EVENT_BYTES.store(bytes, Ordering::Relaxed);
}

/// The largest event [`write`] accepts, payload and headers, in bytes.
pub fn max_event_bytes() -> usize {
    MAX_EVENT_BYTES.load(Ordering::Relaxed)
}

/// The wait before a refused row is tried again, after `attempt` earlier refusals: 100 ms
/// doubling, at most 5 s (the TypeScript kit's `backoffMs`).
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((100u64 << attempt.min(16)).min(5_000))
}

/// Bytes of `headers` in NATS's wire format (`NATS/1.0\r\n`, `Key: value\r\n` each, `\r\n`),
/// as `max_payload` counts them.
pub fn encoded_headers_size(headers: &[(String, String)]) -> usize {
    "NATS/1.0\r\n".len()
        + 2
        + headers
            .iter()
            .map(|(name, value)| name.len() + 2 + value.len() + 2)
            .sum::<usize>()
}

/// An event larger than `EVENT_MAX_BYTES`, refused when it is written: what makes an event large
/// is what the caller sent (e.g. the text of captions), so the message is for them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("This change is too large to publish: its {subject} event would be {bytes} bytes, and events may be at most {limit} bytes. Make it smaller (e.g. shorter texts) and try again.")]
pub struct EventTooLarge {
    /// The event's subject.
    pub subject: String,
    /// Its size, payload and envelope headers.
    pub bytes: usize,
    /// `EVENT_MAX_BYTES`.
    pub limit: usize,
}

/// A new W3C traceparent (sampled) for work that starts without an incoming trace.
pub fn new_traceparent() -> String {
    let random = SystemRandom::new();
    let mut bytes = [0u8; 24];
    loop {
        if random.fill(&mut bytes).is_ok()
            && bytes[..16].iter().any(|b| *b != 0)
            && bytes[16..].iter().any(|b| *b != 0)
        {
            break;
        }
    }
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    format!("00-{}-{}-01", hex(&bytes[..16]), hex(&bytes[16..]))
}

/// Writes `event` to the outbox in the caller's transaction; returns its id. An event larger than
/// [`max_event_bytes`] (payload and envelope headers) is refused and nothing is written: let the
/// error roll the transaction back.
///
/// # Errors
/// [`StoreError::EventTooLarge`], [`StoreError::Envelope`] (not a valid event), [`StoreError::Sql`].
pub async fn write<E: Event>(db: &impl GenericClient, event: &E) -> Result<Uuid, StoreError> {
    let id = Uuid::now_v7();
    // Traced, the event continues the request (or event) that caused it, so its consumers'
    // spans (search's) join that trace.
    let traceparent = telemetry::current_traceparent().unwrap_or_else(new_traceparent);
    let payload = prost::Message::encode_to_vec(event);
    let headers = envelope_headers(id, E::SUBJECT, OffsetDateTime::now_utc(), &traceparent)?;
    let bytes = payload.len() + encoded_headers_size(&headers);
    let limit = max_event_bytes();
    if bytes > limit {
        return Err(EventTooLarge {
            subject: E::SUBJECT.to_owned(),
            bytes,
            limit,
        }
        .into());
    }
    store::write_event(db, id, E::SUBJECT, &payload, &traceparent).await?;
    Ok(id)
}

/// The envelope headers an event is published with (`Nats-Msg-Id`, `ce-*`, `traceparent`).
fn envelope_headers(
    id: Uuid,
    subject: &str,
    time: OffsetDateTime,
    traceparent: &str,
) -> Result<Vec<(String, String)>, EventError> {
    let envelope = Envelope::from_parts(
        id,
        Subject::parse(subject)?,
        time,
        TraceParent::parse(traceparent)?,
    )?;
    Ok(envelope.to_headers())
}

/// Wakes the relay as soon as a transaction that wrote events has committed.
#[derive(Debug, Clone, Default)]
pub struct RelayWaker(Arc<Notify>);

impl RelayWaker {
    /// Says there is something to publish.
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// Where and how a relay publishes.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// The stream (declared by the relay): [`STREAM`].
    pub stream: String,
    /// The subjects it captures: `video.>`.
    pub subjects: Vec<String>,
    /// Refusals after which a row is parked (`EVENT_OUTBOX_MAX_ATTEMPTS`).
    pub max_attempts: u32,
    /// How long one publish waits for its acknowledgement ([`PUBLISH_TIMEOUT`]).
    pub publish_timeout: Duration,
}

impl RelayConfig {
    /// The video context's: [`STREAM`] capturing `video.>`.
    pub fn video(max_attempts: u32) -> Self {
        Self {
            stream: STREAM.into(),
            subjects: vec!["video.>".into()],
            max_attempts,
            publish_timeout: PUBLISH_TIMEOUT,
        }
    }
}

/// What one round of the relay did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Rows read (at most [`BATCH`]).
    pub rows: usize,
    /// Rows published (acknowledged by JetStream; a de-duplicated re-publish counts too).
    pub published: usize,
    /// Rows the server refused (each counted in its `attempts`), parked ones included.
    pub refused: usize,
    /// Rows parked in this round.
    pub parked: usize,
    /// Rows not published because the server did not answer (nothing counted): an outage.
    pub delayed: usize,
}

/// Why a round did not run: the stream could not be declared, or the database failed. Rows are
/// left as they are; the relay tries again after a backoff.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// NATS refused or did not answer the stream's declaration.
    #[error("cannot declare the stream {stream}: {reason}")]
    Stream {
        /// The stream.
        stream: String,
        /// NATS's error.
        reason: String,
    },
    /// The outbox could not be read or marked.
    #[error("outbox: {0}")]
    Store(#[from] StoreError),
}

/// Publishes committed outbox rows, one [`Relay::round`] at a time.
pub struct Relay {
    client: async_nats::Client,
    jetstream: async_nats::jetstream::Context,
    db: Pool,
    config: RelayConfig,
    /// Refused rows waiting out their backoff (id → not before): rounds skip them meanwhile, so
    /// they never hold back the rows behind them.
    waiting: HashMap<Uuid, Instant>,
    stream_ready: bool,
}

/// Why one row was not published.
struct Failure {
    kind: FailureKind,
    message: String,
}

/// What a failed publish means for its row (publish-failure.ts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FailureKind {
    /// The server was not reached or did not answer: retried, never counted.
    Outage,
    /// The server answered no: counted, parked after `max_attempts`.
    Refused,
    /// The message can never be accepted (too large, not an event): parked at once.
    Permanent,
}

// JetStream API errors about the message's own size: "message size exceeds maximum allowed",
// "header size exceeds maximum allowed".
const TOO_LARGE_API_CODES: [u64; 2] = [10054, 10097];

impl Failure {
    fn permanent(message: String) -> Self {
        Self {
            kind: FailureKind::Permanent,
            message,
        }
    }

    /// Classifies a JetStream publish error for the row of `subject`.
    fn of(error: &PublishError, subject: &str) -> Self {
        let message = ErrorChain(error).to_string();
        let kind = match error.kind() {
            PublishErrorKind::TimedOut
            | PublishErrorKind::BrokenPipe
            | PublishErrorKind::MaxAckPending => FailureKind::Outage,
            PublishErrorKind::StreamNotFound => {
                return Self {
                    kind: FailureKind::Refused,
                    message: format!("no JetStream stream takes {subject} (the server has no responders for it: a missing stream, or JetStream off)"),
                };
            }
            _ => {
                let api_code = std::error::Error::source(error)
                    .and_then(|source| source.downcast_ref::<async_nats::jetstream::Error>())
                    .map(|api| api.error_code().0);
                let lower = message.to_ascii_lowercase();
                if api_code.is_some_and(|code| TOO_LARGE_API_CODES.contains(&code))
                    || lower.contains("max_payload")
                {
                    FailureKind::Permanent
                } else if [
                    "timeout",
                    "timed out",
                    "disconnect",
                    "connection closed",
                    "channel closed",
                    "draining",
                ]
                .iter()
                .any(|word| lower.contains(word))
                {
                    FailureKind::Outage
                } else {
                    FailureKind::Refused
                }
            }
        };
        Self { kind, message }
    }
}

impl Relay {
    /// A relay of `db`'s outbox to `config.stream` over `client`; contacts nothing yet.
    pub fn new(client: async_nats::Client, db: Pool, config: RelayConfig) -> Self {
        let mut jetstream = async_nats::jetstream::new(client.clone());
        jetstream.set_timeout(config.publish_timeout);
        Self {
            client,
            jetstream,
            db,
            config,
            waiting: HashMap::new(),
            stream_ready: false,
        }
    }

    fn max_attempts(&self) -> i32 {
        i32::try_from(self.config.max_attempts).unwrap_or(i32::MAX)
    }

    /// One round: declares the stream when it is not yet, then publishes up to [`BATCH`] rows in
    /// id order, in one transaction that locks them (`skip locked`: several relays of the context
    /// share the rows). A refused row is counted (parked at its last attempt) and the round goes
    /// on with the rows behind it; at the first outage the round stops, counting nothing.
    ///
    /// # Errors
    /// [`RelayError`]: nothing was published or marked.
    pub async fn round(&mut self) -> Result<Round, RelayError> {
        if !self.stream_ready {
            ensure_stream(&self.jetstream, &self.config).await?;
            self.stream_ready = true;
        }
        let mut client = self.db.get().await.map_err(StoreError::from)?;
        let tx = client.transaction().await.map_err(StoreError::from)?;
        let now = Instant::now();
        self.waiting.retain(|_, at| *at > now);
        let waiting: Vec<Uuid> = self.waiting.keys().copied().collect();
        let rows = store::unpublished_events(&tx, BATCH, self.max_attempts(), &waiting).await?;
        let max_payload = self.client.server_info().max_payload;
        let mut round = Round {
            rows: rows.len(),
            ..Round::default()
        };
        let mut published = Vec::new();
        for row in &rows {
            let failure = match self.publish(row, max_payload).await {
                Ok(()) => {
                    published.push(row.id);
                    continue;
                }
                Err(failure) => failure,
            };
            let error: String = failure.message.chars().take(MAX_ERROR_CHARS).collect();
            if failure.kind == FailureKind::Outage {
                // The server is away: the rest of the batch waits for it too.
                store::mark_publish_delayed(&tx, &[row.id], &error).await?;
                tracing::warn!(event_id = %row.id, subject = row.subject, error, "outbox relay: publish failed, will retry");
                round.delayed = rows.len() - published.len() - round.refused;
                break;
            }
            let max = self.max_attempts();
            let attempts = if failure.kind == FailureKind::Permanent {
                (row.attempts + 1).max(max)
            } else {
                row.attempts + 1
            };
            store::mark_publish_refused(&tx, row.id, attempts, &error).await?;
            round.refused += 1;
            if attempts >= max {
                round.parked += 1;
                tracing::error!(event_id = %row.id, subject = row.subject, attempts, error, kind = ?failure.kind,
                    "outbox relay: event parked; the events behind it go on (node scripts/events.mjs outbox list / redrive)");
            } else {
                let wait = backoff(u32::try_from(row.attempts).unwrap_or(0));
                self.waiting.insert(row.id, now + wait);
                tracing::warn!(event_id = %row.id, subject = row.subject, attempts, max_attempts = max, error,
                    "outbox relay: publish refused, will retry");
            }
        }
        if !published.is_empty() {
            store::mark_published(&tx, &published).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        round.published = published.len();
        // A refusal may mean the stream was deleted: declare it again before the next round.
        if round.refused > 0 || round.delayed > 0 {
            self.stream_ready = false;
        }
        Ok(round)
    }

    /// Publishes one row and waits for its acknowledgement.
    async fn publish(&self, row: &OutboxRow, max_payload: usize) -> Result<(), Failure> {
        let headers = envelope_headers(row.id, &row.subject, row.created_at, &row.traceparent)
            .map_err(|e| Failure::permanent(format!("cannot be published as an event: {e}")))?;
        // The server would close the connection on a message over max_payload; this error names
        // both sizes (a row written under a larger EVENT_MAX_BYTES, or a server's lowered limit).
        let size = row.payload.len() + encoded_headers_size(&headers);
        if size > max_payload {
            return Err(Failure::permanent(format!(
                "event is {size} bytes with its headers; the NATS server accepts at most {max_payload} (max_payload)"
            )));
        }
        let mut map = async_nats::HeaderMap::new();
        for (name, value) in &headers {
            map.insert(name.as_str(), value.as_str());
        }
        let ack = self
            .jetstream
            .publish_with_headers(row.subject.clone(), map, row.payload.clone().into())
            .await
            .map_err(|e| Failure::of(&e, &row.subject))?;
        ack.await.map_err(|e| Failure::of(&e, &row.subject))?;
        tracing::debug!(event_id = %row.id, subject = row.subject, "event published");
        Ok(())
    }

    /// Logs the parked rows (at start, then every [`PARKED_LOG_INTERVAL`]) when there are any.
    async fn log_parked(&self, first: bool) {
        let counted = match self.db.get().await {
            Ok(client) => store::count_parked(&client, self.max_attempts()).await,
            Err(error) => Err(StoreError::from(error)),
        };
        match counted {
            Ok((parked, oldest)) if parked > 0 => {
                tracing::warn!(parked, oldest = ?oldest, max_attempts = self.config.max_attempts,
                    "outbox relay: parked events wait for an operator (node scripts/events.mjs outbox list)");
            }
            Ok(_) if first => tracing::info!(parked = 0, "outbox relay: no parked events"),
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(error = %error, "outbox relay: cannot count parked events")
            }
        }
    }

    /// Runs rounds until `stop` turns true: at once while a round fills its batch, otherwise
    /// when `waker` is woken or after [`POLL_INTERVAL`]; after a backoff when NATS or the
    /// database is away.
    pub async fn run(mut self, waker: RelayWaker, mut stop: watch::Receiver<bool>) {
        let mut failures: u32 = 0;
        let mut parked_logged: Option<Instant> = None;
        loop {
            if *stop.borrow() {
                return;
            }
            if parked_logged.is_none_or(|at| at.elapsed() >= PARKED_LOG_INTERVAL) {
                self.log_parked(parked_logged.is_none()).await;
                parked_logged = Some(Instant::now());
            }
            let wait = match self.round().await {
                Ok(round) if round.delayed > 0 => {
                    failures += 1;
                    backoff(failures)
                }
                Ok(round) => {
                    failures = 0;
                    if i64::try_from(round.rows).unwrap_or(i64::MAX) >= BATCH {
                        continue;
                    }
                    tokio::select! {
                        () = tokio::time::sleep(POLL_INTERVAL) => {}
                        () = waker.0.notified() => {}
                        _ = stop.changed() => {}
                    }
                    continue;
                }
                Err(error) => {
                    failures += 1;
                    tracing::warn!(error = %ErrorChain(&error), "outbox relay: round failed; retrying");
                    backoff(failures)
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// Publishes the video outbox until `stop` turns true, parking a row after `max_attempts`
/// refusals (`EVENT_OUTBOX_MAX_ATTEMPTS`).
pub async fn relay(
    client: async_nats::Client,
    db: Pool,
    waker: RelayWaker,
    max_attempts: u32,
    stop: watch::Receiver<bool>,
) {
    Relay::new(client, db, RelayConfig::video(max_attempts))
        .run(waker, stop)
        .await;
}

/// Declares the stream (creates it, or updates its limits).
async fn ensure_stream(
    jetstream: &async_nats::jetstream::Context,
    relay: &RelayConfig,
) -> Result<(), RelayError> {
    let config = StreamConfig {
        name: relay.stream.clone(),
        subjects: relay.subjects.clone(),
        storage: StorageType::File,
        discard: DiscardPolicy::Old,
        max_age: STREAM_MAX_AGE,
        max_bytes: STREAM_MAX_BYTES,
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    };
    let result = match jetstream.get_stream(&relay.stream).await {
        Ok(_) => jetstream
            .update_stream(config)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Err(_) => jetstream
            .create_stream(config)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
    };
    result.map_err(|reason| RelayError::Stream {
        stream: relay.stream.clone(),
        reason,
    })
}
