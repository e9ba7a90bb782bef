//! Keeps the index up to date from two streams, each through a JetStream durable pull
//! consumer: `COURSE` (`search-courses`: courses and lessons) and `VIDEO` (`search-captions`:
//! lessons' captions). Both feed the index's one writer in one task, which applies each event
//! with its stream sequence, commits in batches, and acknowledges a batch's messages only once
//! its commit is durable. One writer, not one per stream: tantivy allows a single writer per
//! index, and a caption's documents are built from the course's (and the other way round), so
//! the two must see each other's changes in one order.
//!
//! Idempotence comes from the index itself: every commit records the last sequence it holds of
//! each stream ([`SearchIndex::last_sequence_of`]), so a message at or below it (a
//! redelivery, or a consumer older than the index) is acknowledged without being applied
//! again, the [`Indexer`] ignores course versions it already holds, and a caption change older
//! than the one it holds.
//!
//! Freshness: a batch is committed as soon as JetStream says nothing more is pending for the
//! consumer (the message's `pending` count is 0), so a publication on a quiet stream is
//! searchable after one commit; under load, batches grow up to [`BATCH_MESSAGES`] or
//! [`BATCH_WAIT`].
//!
//! Every commit also records each stream's identity ([`StreamIdentity`]: its name and creation
//! time), since a sequence only means something in one stream's history. When it starts (and
//! after every reconnection), [`run`] compares, for each stream, the index's with the live
//! stream's:
//!
//! - the same: it resumes after the index's sequence;
//! - different (the stream was deleted and recreated, whether or not it has since grown past
//!   the index's sequence), or the index is ahead of the stream: it empties what that stream
//!   built ([`Indexer::reset_of`]) and applies the stream again from its first message,
//!   logging a warning that says why;
//! - not recorded (an index written before identities were): it adopts the index (records
//!   the live identity, no rebuild) when the durable consumer is still on the stream, and
//!   rebuilds it once otherwise; see [`run`].
//!
//! [`rebuild`] empties what one stream built and applies the whole stream again (the `rebuild`
//! command of the binary), recording the stream's identity.

use std::time::Duration;

use async_nats::jetstream::consumer::pull::Config as PullConfig;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::context::ConsumerInfoErrorKind;
use async_nats::jetstream::stream::{
    Config as StreamConfig, ConsumerErrorKind, DiscardPolicy, RetentionPolicy, StorageType,
};
use async_nats::jetstream::ErrorCode;
use async_nats::jetstream::{AckKind, Message};
use coursegraph_events::nats::MessageHeaders;
use coursegraph_events::Envelope;
use coursegraph_subgraph_kit::telemetry::{self, consumer_span, record_outcome, ConsumedEvent};
use futures_util::StreamExt;
use tokio::sync::watch;
use tracing::Span;

use crate::{
    BoxError, CaptionsEvent, CourseEvent, Indexer, SearchError, SearchIndex, Source, StreamIdentity,
};

/// The stream of the course context.
pub const STREAM: &str = "COURSE";
/// Its subjects.
pub const STREAM_SUBJECTS: &str = "course.>";
/// The durable consumer's name.
pub const CONSUMER: &str = "search-courses";
/// The stream of the video context (`video.captions.changed`).
pub const CAPTIONS_STREAM: &str = "VIDEO";
/// Its subjects.
pub const CAPTIONS_STREAM_SUBJECTS: &str = "video.>";
/// The durable consumer of the video stream.
pub const CAPTIONS_CONSUMER: &str = "search-captions";
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
    /// The streams followed (at most one per [`Source`]).
    pub streams: Vec<FollowedStream>,
}

impl ConsumerConfig {
    /// The production settings, against `nats_url`: the course and video streams.
    pub fn new(nats_url: impl Into<String>) -> Self {
        Self {
            nats_url: nats_url.into(),
            streams: vec![FollowedStream::course(), FollowedStream::captions()],
        }
    }
}

/// A stream the consumer follows, and what its events feed.
#[derive(Debug, Clone)]
pub struct FollowedStream {
    /// Which of the index's positions its sequences are.
    pub source: Source,
    /// The stream: [`STREAM`] or [`CAPTIONS_STREAM`] (tests use their own).
    pub stream: String,
    /// Its subjects, when this consumer creates it. The event's type is read from the
    /// `ce-type` header, not from the NATS subject.
    pub subjects: Vec<String>,
    /// The durable consumer's name: [`CONSUMER`] or [`CAPTIONS_CONSUMER`].
    pub consumer: String,
}

impl FollowedStream {
    /// `COURSE`, by `search-courses`.
    pub fn course() -> Self {
        Self {
            source: Source::Course,
            stream: STREAM.into(),
            subjects: vec![STREAM_SUBJECTS.into()],
            consumer: CONSUMER.into(),
        }
    }

    /// `VIDEO`, by `search-captions`.
    pub fn captions() -> Self {
        Self {
            source: Source::Captions,
            stream: CAPTIONS_STREAM.into(),
            subjects: vec![CAPTIONS_STREAM_SUBJECTS.into()],
            consumer: CAPTIONS_CONSUMER.into(),
        }
    }
}

/// A [`SearchError::Stream`] while doing `what`, keeping the client's error (or a message) as its
/// source: `.map_err(stream_error("pull"))`.
fn stream_error<E: Into<BoxError>>(what: &'static str) -> impl FnOnce(E) -> SearchError {
    move |source| SearchError::Stream {
        what,
        source: source.into(),
    }
}

/// Runs the consumer until `shutdown` turns true, reconnecting after failures (with a capped
/// backoff). Owns the index's only writer, which every followed stream feeds.
///
/// Before following a stream, it checks that the index follows this stream's history (see
/// the [module docs](self)): an index of another history (a stream deleted and recreated,
/// even one that has grown past the index's sequence since) has what that stream built
/// emptied and rebuilt from the stream, as the `rebuild` command would; searches see it fill
/// up again as batches commit.
///
/// An index written by the previous version records its sequence but not its stream. It is
/// adopted without a rebuild when the durable consumer ([`ConsumerConfig::consumer`]) is still
/// on the stream: JetStream deletes consumers with their stream, so the stream is the one the
/// index followed. Otherwise it is rebuilt once, since a recreated stream that grew past the
/// index could not be told from the old one afterwards.
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
        match consume(&config, &mut indexer, &mut shutdown).await {
            Ok(()) => return Ok(()),
            Err(error) => {
                if indexer.has_uncommitted() {
                    // Not acknowledged either: JetStream redelivers it.
                    indexer.rollback()?;
                }
                let delay = Duration::from_millis(250 * 2u64.pow(attempt.min(5)));
                attempt += 1;
                tracing::warn!(error = %error.chain(), retry_in_ms = delay.as_millis() as u64, "search consumer stopped");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }
}

/// Connects to NATS with the credentials `url` carries: [`coursegraph_events::nats::connect`],
/// the one connection every Rust service uses (it names the user's inbox `_INBOX_<user>`).
///
/// # Errors
/// [`SearchError::Stream`] when the URL names no valid server or the connection fails
/// (refused credentials included).
pub async fn connect_nats(url: &str) -> Result<async_nats::Client, SearchError> {
    coursegraph_events::nats::connect(url)
        .await
        .map_err(stream_error("connect"))
}

/// The messages of every followed stream, merged: each with the source it feeds. Each stream
/// ends with an error item, so that one stream ending stops the consumer (to reconnect) rather
/// than going unnoticed while the others go on.
type Feed = std::pin::Pin<
    Box<dyn futures_util::Stream<Item = (Source, Result<Message, SearchError>)> + Send>,
>;

/// Connects, makes sure the streams and consumers exist, and applies messages until shutdown
/// (`Ok`) or a failure (`Err`; uncommitted work is rolled back and will be redelivered).
async fn consume(
    config: &ConsumerConfig,
    indexer: &mut Indexer,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(), SearchError> {
    let client = connect_nats(&config.nats_url).await?;
    let jetstream = async_nats::jetstream::new(client);
    let mut feeds: Vec<Feed> = Vec::with_capacity(config.streams.len());
    for followed in &config.streams {
        let source = followed.source;
        let messages = follow(&jetstream, followed, indexer).await?;
        let ended = futures_util::stream::once(async move {
            (
                source,
                Err(stream_error("pull")(format!(
                    "the {} message stream ended",
                    source.as_str()
                ))),
            )
        });
        feeds.push(Box::pin(
            messages
                .map(move |item| (source, item.map_err(stream_error("pull"))))
                .chain(ended),
        ));
    }
    let mut messages = futures_util::stream::select_all(feeds);

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
                return Err(stream_error("pull")("the message streams ended"));
            }
            Some(Some((_, Err(error)))) => {
                flush(indexer, &mut batch).await?;
                return Err(error);
            }
            Some(Some((source, Ok(message)))) => {
                if batch.is_empty() {
                    deadline = tokio::time::Instant::now() + BATCH_WAIT;
                }
                let consumer = config
                    .streams
                    .iter()
                    .find(|f| f.source == source)
                    .map_or("", |f| f.consumer.as_str());
                let (ack, pending) = handle(indexer, source, consumer, &message)?;
                batch.push((message, ack));
                // Nothing else waiting: waiting longer would only delay this event's visibility.
                if pending == 0 || batch.len() >= BATCH_MESSAGES {
                    flush(indexer, &mut batch).await?;
                }
            }
        }
    }
}

/// Makes sure `followed`'s stream and durable consumer exist, with the index on the live
/// stream's history (adopting or rebuilding what that stream built, see [`run`]), and returns
/// its messages from the index's position on.
async fn follow(
    jetstream: &async_nats::jetstream::Context,
    followed: &FollowedStream,
    indexer: &mut Indexer,
) -> Result<async_nats::jetstream::consumer::pull::Stream, SearchError> {
    let source = followed.source;
    let mut stream = jetstream
        .get_or_create_stream(StreamConfig {
            name: followed.stream.clone(),
            subjects: followed.subjects.clone(),
            retention: RetentionPolicy::Limits,
            storage: StorageType::File,
            discard: DiscardPolicy::Old,
            num_replicas: 1,
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        })
        .await
        .map_err(stream_error("create stream"))?;

    let info = stream
        .info()
        .await
        .map_err(stream_error("read stream info"))?;
    let live = StreamIdentity {
        name: info.config.name.clone(),
        created: info.created,
    };
    let stream_last = info.state.last_sequence;
    let durable = durable_info(&stream, &followed.consumer).await?;
    let mut last = indexer.last_sequence_of(source);
    match history(
        indexer.stream_of(source),
        &live,
        last,
        stream_last,
        durable.is_some(),
    ) {
        History::Same => {}
        History::Adopt => {
            tracing::info!(
                source = source.as_str(),
                stream = %live,
                index_sequence = last,
                durable_consumer = durable.is_some(),
                "recording the stream the index follows"
            );
            indexer.set_stream_of(source, live);
            indexer.commit()?;
        }
        History::Rebuild(reason) => {
            tracing::warn!(
                source = source.as_str(),
                reason = reason.as_str(),
                index_stream = indexer.stream_of(source).map(ToString::to_string),
                live_stream = %live,
                index_sequence = last,
                stream_last_sequence = stream_last,
                "{}; rebuilding the index from the stream",
                reason.explain()
            );
            indexer.set_stream_of(source, live);
            indexer.reset_of(source)?;
            last = 0;
        }
    }
    // A consumer that acknowledged past what the index holds (the index folder was rebuilt,
    // reset or lost) would never redeliver the gap: start it again from the index.
    if let Some(info) = durable {
        if info.ack_floor.stream_sequence > last || info.delivered.stream_sequence > last {
            tracing::warn!(
                consumer = %followed.consumer,
                consumer_ack_floor = info.ack_floor.stream_sequence,
                index_sequence = last,
                "consumer is ahead of the index; recreating it"
            );
            stream
                .delete_consumer(&followed.consumer)
                .await
                .map_err(stream_error("delete consumer"))?;
        }
    }
    let consumer: PullConsumer = stream
        .get_or_create_consumer(
            &followed.consumer,
            PullConfig {
                durable_name: Some(followed.consumer.clone()),
                deliver_policy: DeliverPolicy::ByStartSequence {
                    start_sequence: last + 1,
                },
                ack_policy: AckPolicy::Explicit,
                ..Default::default()
            },
        )
        .await
        .map_err(stream_error("create consumer"))?;
    let messages = consumer.messages().await.map_err(stream_error("pull"))?;
    tracing::info!(stream = %followed.stream, consumer = %followed.consumer, from_sequence = last + 1, "consuming {} events", source.as_str());
    Ok(messages)
}

/// Why the index is rebuilt from the stream when the consumer starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RebuildReason {
    /// The index records another stream history than the live stream's.
    Recreated,
    /// The index is further than the stream's last sequence.
    AheadOfStream,
    /// The index records no stream history, and nothing shows it followed this stream.
    Unrecorded,
}

impl RebuildReason {
    fn as_str(self) -> &'static str {
        match self {
            Self::Recreated => "recreated",
            Self::AheadOfStream => "ahead-of-stream",
            Self::Unrecorded => "unrecorded",
        }
    }

    fn explain(self) -> &'static str {
        match self {
            Self::Recreated => {
                "the stream was deleted and recreated since the index last followed it (its creation time differs)"
            }
            Self::AheadOfStream => "the index is ahead of the stream (a recreated stream)",
            Self::Unrecorded => {
                "the index does not record which stream it follows and the durable consumer is gone (the stream may have been recreated)"
            }
        }
    }
}

/// What the consumer does with the index before following the live stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum History {
    /// The index follows this stream: resume after its sequence.
    Same,
    /// The index follows this stream but does not say so yet: record the live identity, then
    /// resume after its sequence.
    Adopt,
    /// The index holds another history: empty it and apply the stream from its first message.
    Rebuild(RebuildReason),
}

/// Compares what the index records (`recorded` stream, `index_last` sequence) with the live
/// stream (`live`, `stream_last`); `durable_exists` says whether the durable consumer is on the
/// live stream.
fn history(
    recorded: Option<&StreamIdentity>,
    live: &StreamIdentity,
    index_last: u64,
    stream_last: u64,
    durable_exists: bool,
) -> History {
    match recorded {
        Some(recorded) if recorded != live => History::Rebuild(RebuildReason::Recreated),
        // Same identity: a stream's sequences never go back, so this should not happen; kept
        // as a guard (the stream's state was restored from an older backup).
        Some(_) if stream_last < index_last => History::Rebuild(RebuildReason::AheadOfStream),
        Some(_) => History::Same,
        // Nothing applied yet (a new index, or one just emptied by a version that did not
        // record identities): there is no history to mix up.
        None if index_last == 0 => History::Adopt,
        None if stream_last < index_last => History::Rebuild(RebuildReason::AheadOfStream),
        // An index of the previous version, which recorded only the sequence. Adopting it
        // blindly would be unsafe: if the stream was recreated and grew past the index while
        // the subgraph was down for the upgrade, that is the very mix-up identities prevent,
        // and once the live identity is recorded nothing would ever notice it. The durable
        // consumer tells the two apart: JetStream deletes a stream's consumers with it, and the
        // previous version kept `search-courses` on the stream while following it (only a
        // `rebuild` deletes it, right before the consumer creates it again). So the durable
        // consumer still being there means the stream is the one this index followed: adopt
        // it, no rebuild. Without it, the stream may be another: rebuild once, which is always
        // correct and costs one replay of the stream.
        None if durable_exists => History::Adopt,
        None => History::Rebuild(RebuildReason::Unrecorded),
    }
}

/// The durable consumer's info, `None` when the stream does not have it. Other failures are
/// errors (a consumer that cannot be read is not a missing one).
async fn durable_info(
    stream: &async_nats::jetstream::stream::Stream,
    name: &str,
) -> Result<Option<async_nats::jetstream::consumer::Info>, SearchError> {
    match stream.consumer_info(name).await {
        Ok(info) => Ok(Some(info)),
        Err(error) if matches!(error.kind(), ConsumerInfoErrorKind::NotFound) => Ok(None),
        Err(error) => Err(stream_error("read consumer info")(error)),
    }
}

/// Applies one message of `source`'s stream to the index (uncommitted), in its CONSUMER span
/// when tracing is on; returns how to acknowledge it after the commit, and how many messages
/// JetStream still has pending for the consumer. A message that is not a valid event is
/// skipped and terminated (never redelivered); a failure of the index itself is an error.
fn handle(
    indexer: &mut Indexer,
    source: Source,
    consumer: &str,
    message: &Message,
) -> Result<(AckKind, u64), SearchError> {
    let info = message.info().map_err(stream_error("read message info"))?;
    let (sequence, pending) = (info.stream_sequence, info.pending);
    let span = event_span(consumer, message, info.delivered);
    let _entered = span.enter();
    let applied = apply_message(indexer, source, message, sequence);
    record_outcome(&span, applied.as_ref().map_or("failed", |a| a.outcome()));
    applied.map(|applied| (applied.ack(), pending))
}

/// The CONSUMER span of a message, continuing its event's `traceparent`; none when tracing is
/// off, or when its envelope is not valid (it is then terminated, with a warning).
fn event_span(consumer: &str, message: &Message, delivered: i64) -> Span {
    if !telemetry::enabled() {
        return Span::none();
    }
    match Envelope::from_headers(&MessageHeaders(message.headers.as_ref())) {
        Ok(envelope) => consumer_span(&ConsumedEvent {
            context: "search",
            consumer,
            subject: envelope.event_type().as_str(),
            id: &envelope.id().to_string(),
            traceparent: envelope.traceparent().as_str(),
            delivery_count: delivered,
        }),
        Err(_) => Span::none(),
    }
}

/// What applying one message came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handled {
    /// Applied to the index.
    Applied,
    /// At or below the sequence the index holds: a redelivery.
    Duplicate,
    /// An event the index does not follow.
    Ignored,
    /// Not a valid event, or one the index refuses: terminated, never redelivered.
    Rejected,
}

impl Handled {
    fn ack(self) -> AckKind {
        match self {
            Self::Rejected => AckKind::Term,
            Self::Applied | Self::Duplicate | Self::Ignored => AckKind::Ack,
        }
    }

    /// The span's `coursegraph.event.outcome`, as the TypeScript consumers name it.
    fn outcome(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Duplicate => "duplicate",
            Self::Ignored => "ignored",
            Self::Rejected => "malformed",
        }
    }
}

/// An event of either stream, decoded (a course snapshot is large: boxed).
enum Decoded {
    Course(Box<CourseEvent>),
    Captions(CaptionsEvent),
}

fn apply_message(
    indexer: &mut Indexer,
    source: Source,
    message: &Message,
    sequence: u64,
) -> Result<Handled, SearchError> {
    if sequence <= indexer.last_sequence_of(source) {
        // Already applied (a redelivery).
        return Ok(Handled::Duplicate);
    }
    let decoded = Envelope::from_headers(&MessageHeaders(message.headers.as_ref()))
        .map_err(SearchError::from)
        .and_then(|envelope| {
            let (subject, payload) = (envelope.event_type(), &message.payload);
            let event = match source {
                Source::Course => {
                    CourseEvent::decode(subject, payload)?.map(|e| Decoded::Course(Box::new(e)))
                }
                Source::Captions => CaptionsEvent::decode(subject, payload)?.map(Decoded::Captions),
            };
            Ok((envelope, event))
        });
    let (envelope, event) = match decoded {
        Ok((_, None)) => {
            indexer.skip_of(source, sequence);
            return Ok(Handled::Ignored);
        }
        Ok((envelope, Some(event))) => (envelope, event),
        Err(error) => {
            tracing::warn!(source = source.as_str(), sequence, subject = %message.subject, error = %error.chain(), "message is not a valid event; terminated");
            indexer.skip_of(source, sequence);
            return Ok(Handled::Rejected);
        }
    };
    let applied = match &event {
        Decoded::Course(event) => indexer.apply(sequence, event).map(|applied| {
            tracing::debug!(sequence, event_id = %envelope.id(), subject = event.subject(), course_id = event.course_id(), ?applied, "applied");
        }),
        Decoded::Captions(event) => indexer.apply_captions(sequence, event).map(|applied| {
            tracing::debug!(sequence, event_id = %envelope.id(), subject = event.subject(), lesson_id = %event.lesson_id, language = %event.language, ?applied, "applied");
        }),
    };
    match applied {
        Ok(()) => Ok(Handled::Applied),
        Err(error @ SearchError::InvalidEvent { .. }) => {
            tracing::warn!(source = source.as_str(), sequence, event_id = %envelope.id(), error = %error.chain(), "event rejected");
            indexer.skip_of(source, sequence);
            Ok(Handled::Rejected)
        }
        Err(error) => Err(error),
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
        message.ack_with(ack).await.map_err(stream_error("ack"))?;
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

/// Rebuilds what `followed`'s stream built in the index: empties it ([`Indexer::reset_of`]),
/// applies every message from the stream's first up to its last when the rebuild begins (read
/// by an ephemeral consumer, committing every [`REBUILD_BATCH_MESSAGES`]), then deletes the
/// durable consumer, so that [`run`] creates it again right after the rebuilt position.
/// `progress` is called after each commit with the messages read so far and the sequence
/// reached.
///
/// The `indexer` is the index's only writer, so the search subgraph serving this index folder
/// must be stopped first (opening the writer fails while it runs).
///
/// # Errors
/// [`SearchError::Stream`] when the stream cannot be reached or does not exist;
/// [`SearchError::Index`] when tantivy fails (the index then holds a committed prefix of the
/// stream, which [`run`] resumes from).
pub async fn rebuild(
    nats_url: &str,
    followed: &FollowedStream,
    indexer: &mut Indexer,
    mut progress: impl FnMut(u64, u64),
) -> Result<Rebuilt, SearchError> {
    let source = followed.source;
    let client = connect_nats(nats_url).await?;
    let jetstream = async_nats::jetstream::new(client);
    let mut stream = jetstream
        .get_stream(&followed.stream)
        .await
        .map_err(stream_error("open stream"))?;
    let info = stream
        .info()
        .await
        .map_err(stream_error("read stream info"))?;
    let state = info.state.clone();
    // The rebuilt index follows this stream: the consumer resumes it without rebuilding again.
    indexer.set_stream_of(
        source,
        StreamIdentity {
            name: info.config.name.clone(),
            created: info.created,
        },
    );
    indexer.reset_of(source)?;
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
            .map_err(stream_error("create consumer"))?;
        let mut messages = reader.messages().await.map_err(stream_error("pull"))?;
        let mut uncommitted = 0usize;
        while indexer.last_sequence_of(source) < state.last_sequence {
            let message = match messages.next().await {
                Some(Ok(message)) => message,
                Some(Err(error)) => return Err(stream_error("pull")(error)),
                None => return Err(stream_error("pull")("the message stream ended")),
            };
            let info = message.info().map_err(stream_error("read message info"))?;
            let (sequence, pending) = (info.stream_sequence, info.pending);
            // Nothing to acknowledge (an ephemeral reader without acks); rejected messages
            // are logged by `apply_message`.
            apply_message(indexer, source, &message, sequence)?;
            messages_read += 1;
            uncommitted += 1;
            if uncommitted >= REBUILD_BATCH_MESSAGES {
                indexer.commit()?;
                uncommitted = 0;
                progress(messages_read, indexer.last_sequence_of(source));
            }
            // The stream's last message was removed (its sequence stays the stream's last):
            // nothing more will come.
            if pending == 0 {
                break;
            }
        }
    }
    indexer.skip_of(source, state.last_sequence);
    indexer.commit()?;
    progress(messages_read, indexer.last_sequence_of(source));
    match stream.delete_consumer(&followed.consumer).await {
        Ok(_) => {}
        // Never created: nothing to start again.
        Err(error)
            if matches!(error.kind(), ConsumerErrorKind::JetStream(e)
                if e.error_code() == ErrorCode::CONSUMER_NOT_FOUND) => {}
        Err(error) => return Err(stream_error("delete consumer")(error)),
    }
    Ok(Rebuilt {
        messages: messages_read,
        last_sequence: indexer.last_sequence_of(source),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(created_nanos: i128) -> StreamIdentity {
        StreamIdentity {
            name: STREAM.into(),
            created: time::OffsetDateTime::from_unix_timestamp_nanos(created_nanos).unwrap(),
        }
    }

    #[test]
    fn the_index_is_rebuilt_exactly_when_its_history_is_not_the_streams() {
        let (old, live) = (identity(1_000), identity(2_000));
        let rebuild = History::Rebuild;
        // (recorded, index sequence, stream's last sequence, durable consumer on the stream)
        let cases = [
            // The stream the index follows, behind or level with it.
            ((Some(&live), 5, 9, true), History::Same),
            ((Some(&live), 5, 5, false), History::Same),
            // A recreated stream: behind the index, level with it or past it, with or
            // without a durable consumer (a new one on the new stream).
            ((Some(&old), 5, 2, false), rebuild(RebuildReason::Recreated)),
            ((Some(&old), 5, 5, true), rebuild(RebuildReason::Recreated)),
            ((Some(&old), 5, 9, true), rebuild(RebuildReason::Recreated)),
            ((Some(&old), 0, 0, false), rebuild(RebuildReason::Recreated)),
            // Same identity, yet ahead of it.
            (
                (Some(&live), 5, 2, true),
                rebuild(RebuildReason::AheadOfStream),
            ),
            // The previous version's index.
            ((None, 0, 9, false), History::Adopt),
            ((None, 5, 9, true), History::Adopt),
            ((None, 5, 5, true), History::Adopt),
            ((None, 5, 2, true), rebuild(RebuildReason::AheadOfStream)),
            ((None, 5, 9, false), rebuild(RebuildReason::Unrecorded)),
        ];
        for ((recorded, index_last, stream_last, durable), expected) in cases {
            assert_eq!(
                history(recorded, &live, index_last, stream_last, durable),
                expected,
                "recorded {recorded:?}, index at {index_last}, stream at {stream_last}, durable {durable}"
            );
        }
    }
}
