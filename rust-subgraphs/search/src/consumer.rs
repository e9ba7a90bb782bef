//! Keeps the index up to date from the `COURSE` stream: a JetStream durable pull consumer
//! (`search-courses`) that applies each course event with its stream sequence, commits in
//! batches, and acknowledges a batch's messages only once its commit is durable.
//!
//! Idempotence comes from the index itself: every commit records the last stream sequence it
//! holds ([`SearchIndex::last_sequence`]), so a message at or below it (a redelivery, or a
//! consumer older than the index) is acknowledged without being applied again, and the
//! [`Indexer`] ignores versions it already holds.
//!
//! Freshness: a batch is committed as soon as JetStream says nothing more is pending for the
//! consumer (the message's `pending` count is 0), so a publication on a quiet stream is
//! searchable after one commit; under load, batches grow up to [`BATCH_MESSAGES`] or
//! [`BATCH_WAIT`].
//!
//! [`rebuild`] empties the index and applies the whole stream again (the `rebuild` command of
//! the binary); [`run`] does the same by itself when it finds the index ahead of the stream
//! (the stream was deleted and recreated).

use std::time::Duration;

use async_nats::jetstream::consumer::pull::Config as PullConfig;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::stream::{
    Config as StreamConfig, ConsumerErrorKind, DiscardPolicy, RetentionPolicy, StorageType,
};
use async_nats::jetstream::ErrorCode;
use async_nats::jetstream::{AckKind, Message};
use coursegraph_events::{Envelope, HeaderLookup};
use futures_util::StreamExt;
use tokio::sync::watch;

use crate::{CourseEvent, Indexer, SearchError, SearchIndex};

/// The stream of the course context.
pub const STREAM: &str = "COURSE";
/// Its subjects.
pub const STREAM_SUBJECTS: &str = "course.>";
/// The durable consumer's name.
pub const CONSUMER: &str = "search-courses";
/// JetStream de-duplication window (same as the TypeScript service kit).
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// Commit after this many messages...
pub const BATCH_MESSAGES: usize = 100;
/// ...or this long after the first uncommitted one, or as soon as nothing more is pending.
pub const BATCH_WAIT: Duration = Duration::from_millis(200);
/// A [`rebuild`] commits every this many messages (each commit records its sequence, so an
/// interrupted rebuild is a consistent prefix of the stream that [`run`] resumes from).
pub const REBUILD_BATCH_MESSAGES: usize = 10_000;

/// Consumer settings.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// NATS server URL (`NATS_URL`; default `nats://127.0.0.1:4222`).
    pub nats_url: String,
    /// The stream: [`STREAM`] (tests use their own).
    pub stream: String,
    /// Its subjects, when this consumer creates it: [`STREAM_SUBJECTS`]. The event's type is
    /// read from the `ce-type` header, not from the NATS subject.
    pub subjects: Vec<String>,
    /// The durable consumer's name: [`CONSUMER`].
    pub consumer: String,
}

impl ConsumerConfig {
    /// The production settings, against `nats_url`.
    pub fn new(nats_url: impl Into<String>) -> Self {
        Self {
            nats_url: nats_url.into(),
            stream: STREAM.into(),
            subjects: vec![STREAM_SUBJECTS.into()],
            consumer: CONSUMER.into(),
        }
    }
}

/// Adapts NATS message headers to the envelope's [`HeaderLookup`].
struct NatsHeaders<'a>(Option<&'a async_nats::HeaderMap>);

impl HeaderLookup for NatsHeaders<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        let headers = self.0?;
        headers.get(name).map(|v| v.as_str()).or_else(|| {
            headers
                .iter()
                .find(|(key, _)| AsRef::<str>::as_ref(*key).eq_ignore_ascii_case(name))
                .and_then(|(_, values)| values.first())
                .map(|v| v.as_str())
        })
    }
}

fn stream_error(what: &'static str) -> impl FnOnce(String) -> SearchError {
    move |reason| SearchError::Stream { what, reason }
}

/// Runs the consumer until `shutdown` turns true, reconnecting after failures (with a capped
/// backoff). Owns the index's only writer.
///
/// # Errors
/// [`SearchError::Index`] when the writer cannot be opened (another one holds the index).
pub async fn run(
    config: ConsumerConfig,
    index: SearchIndex,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), SearchError> {
    let mut indexer = index.indexer()?;
    let mut attempt: u32 = 0;
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        match consume(&config, &index, &mut indexer, &mut shutdown).await {
            Ok(()) => return Ok(()),
            Err(error) => {
                if indexer.has_uncommitted() {
                    // Not acknowledged either: JetStream redelivers it.
                    indexer.rollback()?;
                }
                let delay = Duration::from_millis(250 * 2u64.pow(attempt.min(5)));
                attempt += 1;
                tracing::warn!(error = %error, retry_in_ms = delay.as_millis() as u64, "course consumer stopped");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }
}

/// Connects, makes sure the stream and consumer exist, and applies messages until shutdown
/// (`Ok`) or a failure (`Err`; uncommitted work is rolled back and will be redelivered).
async fn consume(
    config: &ConsumerConfig,
    index: &SearchIndex,
    indexer: &mut Indexer,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(), SearchError> {
    let client = async_nats::connect(&config.nats_url)
        .await
        .map_err(|e| stream_error("connect")(e.to_string()))?;
    let jetstream = async_nats::jetstream::new(client);
    let mut stream = jetstream
        .get_or_create_stream(StreamConfig {
            name: config.stream.clone(),
            subjects: config.subjects.clone(),
            retention: RetentionPolicy::Limits,
            storage: StorageType::File,
            discard: DiscardPolicy::Old,
            num_replicas: 1,
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        })
        .await
        .map_err(|e| stream_error("create stream")(e.to_string()))?;

    let mut last = index.last_sequence()?;
    // An index ahead of its stream belongs to another stream (it was deleted and recreated,
    // e.g. a reset development stack): nothing at or below `last` would be applied, and the
    // index would keep courses the stream no longer has. Rebuild it from this stream.
    let stream_last = stream
        .info()
        .await
        .map_err(|e| stream_error("read stream info")(e.to_string()))?
        .state
        .last_sequence;
    if stream_last < last {
        tracing::warn!(
            stream_last_sequence = stream_last,
            index_sequence = last,
            "the index is ahead of the stream (a recreated stream); rebuilding it from the stream"
        );
        indexer.reset()?;
        last = 0;
    }
    // A consumer that acknowledged past what the index holds (the index folder was rebuilt,
    // reset or lost) would never redeliver the gap: start it again from the index.
    if let Ok(info) = stream.consumer_info(&config.consumer).await {
        if info.ack_floor.stream_sequence > last || info.delivered.stream_sequence > last {
            tracing::warn!(
                consumer_ack_floor = info.ack_floor.stream_sequence,
                index_sequence = last,
                "consumer is ahead of the index; recreating it"
            );
            stream
                .delete_consumer(&config.consumer)
                .await
                .map_err(|e| stream_error("delete consumer")(e.to_string()))?;
        }
    }
    let consumer: PullConsumer = stream
        .get_or_create_consumer(
            &config.consumer,
            PullConfig {
                durable_name: Some(config.consumer.clone()),
                deliver_policy: DeliverPolicy::ByStartSequence {
                    start_sequence: last + 1,
                },
                ack_policy: AckPolicy::Explicit,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| stream_error("create consumer")(e.to_string()))?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| stream_error("pull")(e.to_string()))?;
    tracing::info!(stream = %config.stream, consumer = %config.consumer, from_sequence = last + 1, "consuming course events");

    let mut batch: Vec<(Message, AckKind)> = Vec::new();
    let mut deadline = tokio::time::Instant::now();
    loop {
        let wait = (!batch.is_empty()).then_some(deadline);
        let next = tokio::select! {
            _ = shutdown.changed() => {
                flush(indexer, &mut batch).await?;
                return Ok(());
            }
            next = async {
                match wait {
                    None => Some(messages.next().await),
                    Some(deadline) => tokio::time::timeout_at(deadline, messages.next()).await.ok(),
                }
            } => next,
        };
        match next {
            // Batch deadline.
            None => flush(indexer, &mut batch).await?,
            Some(None) => {
                flush(indexer, &mut batch).await?;
                return Err(stream_error("pull")("the message stream ended".into()));
            }
            Some(Some(Err(error))) => {
                flush(indexer, &mut batch).await?;
                return Err(stream_error("pull")(error.to_string()));
            }
            Some(Some(Ok(message))) => {
                if batch.is_empty() {
                    deadline = tokio::time::Instant::now() + BATCH_WAIT;
                }
                let (ack, pending) = handle(indexer, &message)?;
                batch.push((message, ack));
                // Nothing else waiting: waiting longer would only delay this event's visibility.
                if pending == 0 || batch.len() >= BATCH_MESSAGES {
                    flush(indexer, &mut batch).await?;
                }
            }
        }
    }
}

/// Applies one message to the index (uncommitted); returns how to acknowledge it after the
/// commit, and how many messages JetStream still has pending for the consumer. A message that
/// is not a valid course event is skipped and terminated (never redelivered); a failure of the
/// index itself is an error.
fn handle(indexer: &mut Indexer, message: &Message) -> Result<(AckKind, u64), SearchError> {
    let info = message
        .info()
        .map_err(|e| stream_error("read message info")(e.to_string()))?;
    let (sequence, pending) = (info.stream_sequence, info.pending);
    apply_message(indexer, message, sequence).map(|ack| (ack, pending))
}

fn apply_message(
    indexer: &mut Indexer,
    message: &Message,
    sequence: u64,
) -> Result<AckKind, SearchError> {
    if sequence <= indexer.last_sequence() {
        // Already applied (a redelivery).
        return Ok(AckKind::Ack);
    }
    let decoded = Envelope::from_headers(&NatsHeaders(message.headers.as_ref()))
        .map_err(SearchError::from)
        .and_then(|envelope| {
            CourseEvent::decode(envelope.event_type(), &message.payload)
                .map(|event| (envelope, event))
        });
    match decoded {
        Ok((_, None)) => {
            indexer.skip(sequence);
            Ok(AckKind::Ack)
        }
        Ok((envelope, Some(event))) => match indexer.apply(sequence, &event) {
            Ok(applied) => {
                tracing::debug!(sequence, event_id = %envelope.id(), subject = event.subject(), course_id = event.course_id(), ?applied, "applied");
                Ok(AckKind::Ack)
            }
            Err(error @ SearchError::InvalidEvent { .. }) => {
                tracing::warn!(sequence, event_id = %envelope.id(), error = %error, "course event rejected");
                indexer.skip(sequence);
                Ok(AckKind::Term)
            }
            Err(error) => Err(error),
        },
        Err(error) => {
            tracing::warn!(sequence, subject = %message.subject, error = %error, "message is not a valid course event; terminated");
            indexer.skip(sequence);
            Ok(AckKind::Term)
        }
    }
}

/// Commits the index, then acknowledges the batch's messages in order.
async fn flush(
    indexer: &mut Indexer,
    batch: &mut Vec<(Message, AckKind)>,
) -> Result<(), SearchError> {
    if batch.is_empty() {
        return Ok(());
    }
    // A commit fsyncs every new segment file and meta.json: 40 to 230 ms on this project's
    // shared machines (measured by `npm run bench:search`), so it must not hold up the
    // runtime's worker that serves searches.
    let started = std::time::Instant::now();
    match blocking(|| indexer.commit()) {
        Ok(sequence) => tracing::debug!(
            sequence,
            messages = batch.len(),
            commit_ms = started.elapsed().as_secs_f64() * 1000.0,
            "committed"
        ),
        Err(error) => {
            // The batch is not acknowledged: JetStream redelivers it after its ack wait.
            batch.clear();
            indexer.rollback()?;
            return Err(error);
        }
    }
    for (message, ack) in batch.drain(..) {
        message
            .ack_with(ack)
            .await
            .map_err(|e| stream_error("ack")(e.to_string()))?;
    }
    Ok(())
}

/// Runs `work` (blocking I/O) without stalling the runtime's other tasks: on a multi-threaded
/// runtime the worker hands its tasks to another thread first; on a current-thread runtime
/// (which cannot) it just runs.
fn blocking<T>(work: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|handle| handle.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

/// What a [`rebuild`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebuilt {
    /// Messages read from the stream (applied, skipped or rejected).
    pub messages: u64,
    /// The stream sequence the index now holds: the stream's last one when the rebuild began.
    pub last_sequence: u64,
}

/// Rebuilds the index from the stream: empties it, applies every message from the stream's
/// first up to its last when the rebuild begins (read by an ephemeral consumer, committing
/// every [`REBUILD_BATCH_MESSAGES`]), then deletes the durable consumer, so that [`run`]
/// creates it again right after the rebuilt position. `progress` is called after each commit
/// with the messages read so far and the sequence reached.
///
/// The `indexer` is the index's only writer, so the search subgraph serving this index folder
/// must be stopped first (opening the writer fails while it runs).
///
/// # Errors
/// [`SearchError::Stream`] when the stream cannot be reached or does not exist;
/// [`SearchError::Index`] when tantivy fails (the index then holds a committed prefix of the
/// stream, which [`run`] resumes from).
pub async fn rebuild(
    config: &ConsumerConfig,
    indexer: &mut Indexer,
    mut progress: impl FnMut(u64, u64),
) -> Result<Rebuilt, SearchError> {
    let client = async_nats::connect(&config.nats_url)
        .await
        .map_err(|e| stream_error("connect")(e.to_string()))?;
    let jetstream = async_nats::jetstream::new(client);
    let mut stream = jetstream
        .get_stream(&config.stream)
        .await
        .map_err(|e| stream_error("open stream")(e.to_string()))?;
    let state = stream
        .info()
        .await
        .map_err(|e| stream_error("read stream info")(e.to_string()))?
        .state
        .clone();
    indexer.reset()?;
    let mut messages_read = 0u64;
    if state.messages > 0 {
        let reader: PullConsumer = stream
            .create_consumer(PullConfig {
                deliver_policy: DeliverPolicy::All,
                ack_policy: AckPolicy::None,
                inactive_threshold: Duration::from_secs(60),
                ..Default::default()
            })
            .await
            .map_err(|e| stream_error("create consumer")(e.to_string()))?;
        let mut messages = reader
            .messages()
            .await
            .map_err(|e| stream_error("pull")(e.to_string()))?;
        let mut uncommitted = 0usize;
        while indexer.last_sequence() < state.last_sequence {
            let message = match messages.next().await {
                Some(Ok(message)) => message,
                Some(Err(error)) => return Err(stream_error("pull")(error.to_string())),
                None => return Err(stream_error("pull")("the message stream ended".into())),
            };
            let info = message
                .info()
                .map_err(|e| stream_error("read message info")(e.to_string()))?;
            let (sequence, pending) = (info.stream_sequence, info.pending);
            // Nothing to acknowledge (an ephemeral reader without acks); rejected messages
            // are logged by `apply_message`.
            apply_message(indexer, &message, sequence)?;
            messages_read += 1;
            uncommitted += 1;
            if uncommitted >= REBUILD_BATCH_MESSAGES {
                indexer.commit()?;
                uncommitted = 0;
                progress(messages_read, indexer.last_sequence());
            }
            // The stream's last message was removed (its sequence stays the stream's last):
            // nothing more will come.
            if pending == 0 {
                break;
            }
        }
    }
    indexer.skip(state.last_sequence);
    indexer.commit()?;
    progress(messages_read, indexer.last_sequence());
    match stream.delete_consumer(&config.consumer).await {
        Ok(_) => {}
        // Never created: nothing to start again.
        Err(error)
            if matches!(error.kind(), ConsumerErrorKind::JetStream(e)
                if e.error_code() == ErrorCode::CONSUMER_NOT_FOUND) => {}
        Err(error) => return Err(stream_error("delete consumer")(error.to_string())),
    }
    Ok(Rebuilt {
        messages: messages_read,
        last_sequence: indexer.last_sequence(),
    })
}
