//! The transcoding work queue: a JetStream stream with work-queue retention ([`STREAM`]) and
//! one durable pull consumer ([`CONSUMER`]) that every worker, on any machine, pulls from.
//!
//! - [`JobQueue::enqueue`] stores a job (`{"videoId": "…"}` on `<prefix>.transcode`) and
//!   returns once JetStream has it; a second enqueue with the same dedupe key within the
//!   stream's duplicate window ([`DUPLICATE_WINDOW`]) is dropped by JetStream.
//! - [`run_worker`] runs a [`JobHandler`] on at most `concurrency` jobs at a time. It pulls
//!   only as many messages as it has free slots, so jobs it could not start stay in the
//!   stream for other workers.
//! - An outcome decides the message's fate: `Ok` acknowledges it (confirmed by the server);
//!   a retryable [`HandlerError`] with attempts left NAKs it with the configured backoff
//!   delay; anything else terminates it (JetStream removes it from a work queue).
//!
//! # Crash recovery
//!
//! While a handler runs, the worker sends JetStream "in progress" acknowledgements every
//! third of the ack wait, so a long transcode is never redelivered while its worker lives.
//! When the worker's process dies those stop, and JetStream redelivers the job to another
//! worker after [`QueueConfig::ack_wait`]: that is the whole crash recovery, so handlers must
//! be idempotent (delivery is at least once).
//!
//! # Why no consumer `BackOff`
//!
//! JetStream's consumer-level `BackOff` list also replaces the ack wait of redeliveries after
//! a timeout, which would tie crash detection to the retry schedule. The backoff between
//! attempts is therefore a NAK delay chosen by the worker ([`QueueConfig::backoff`]), and
//! [`QueueConfig::ack_wait`] stays the one crash-detection delay.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::pull::Config as PullConfig;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{
    Config as StreamConfig, DiscardPolicy, RetentionPolicy, StorageType,
};
use async_nats::jetstream::{AckKind, Context, Message};
use futures_util::{FutureExt as _, StreamExt as _};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use uuid::Uuid;

use crate::transcode::CancelToken;

/// The stream's name.
pub const STREAM: &str = "VIDEO_JOBS";
/// Its subjects are `<prefix>.>`; jobs go to `<prefix>.transcode`.
pub const SUBJECT_PREFIX: &str = "video-jobs";
/// The durable pull consumer every worker shares.
pub const CONSUMER: &str = "video-transcoder";
/// The last subject token of a transcoding job.
pub const TRANSCODE_SUBJECT: &str = "transcode";
/// JetStream drops a second job with the same dedupe key (`Nats-Msg-Id`) within this window.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// Default [`QueueConfig::ack_wait`]: 60 s.
pub const DEFAULT_ACK_WAIT: Duration = Duration::from_secs(60);
/// Default [`QueueConfig::max_attempts`]: 3.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Default [`QueueConfig::backoff`]: 10 s before the second attempt, 60 s before the third.
pub const DEFAULT_BACKOFF: [Duration; 2] = [Duration::from_secs(10), Duration::from_secs(60)];
/// Default [`QueueConfig::pull_wait`]: 5 s.
pub const DEFAULT_PULL_WAIT: Duration = Duration::from_secs(5);
/// Jobs delivered and not yet acknowledged, across all workers, before JetStream stops
/// delivering (its default, 1,000, would cap the fleet's total concurrency).
pub const MAX_ACK_PENDING: i64 = 10_000;
/// The longest dedupe key, in bytes.
pub const MAX_DEDUPE_KEY_LEN: usize = 256;
/// A pull that failed is retried after 250 ms, doubling up to this.
const MAX_PULL_RETRY: Duration = Duration::from_secs(10);

/// Boxed error of the NATS client, kept as a source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Queue settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    /// The stream's name. Default [`STREAM`]; tests use their own.
    pub stream: String,
    /// Its subjects are `<subject_prefix>.>`. Default [`SUBJECT_PREFIX`].
    pub subject_prefix: String,
    /// The durable consumer's name. Default [`CONSUMER`].
    pub consumer: String,
    /// How long JetStream waits for an acknowledgement (or an "in progress" heartbeat) before
    /// redelivering a job: how long a crashed worker's job waits. Default 60 s.
    pub ack_wait: Duration,
    /// Deliveries of one job, the first included (the consumer's `max_deliver`). Default 3.
    pub max_attempts: u32,
    /// The delay before attempt `n + 1` after attempt `n` failed with a retryable error is
    /// `backoff[n - 1]` (the last entry when the list is shorter; none when it is empty).
    /// Default 10 s, 60 s.
    pub backoff: Vec<Duration>,
    /// How long one pull request waits for jobs before the worker asks again; also the longest
    /// a stop waits for a pull in flight. Default 5 s.
    pub pull_wait: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            stream: STREAM.into(),
            subject_prefix: SUBJECT_PREFIX.into(),
            consumer: CONSUMER.into(),
            ack_wait: DEFAULT_ACK_WAIT,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            backoff: DEFAULT_BACKOFF.to_vec(),
            pull_wait: DEFAULT_PULL_WAIT,
        }
    }
}

impl QueueConfig {
    /// The subject transcoding jobs are published on: `<subject_prefix>.transcode`.
    pub fn transcode_subject(&self) -> String {
        format!("{}.{TRANSCODE_SUBJECT}", self.subject_prefix)
    }

    /// The NAK delay after attempt `attempt` (1-based) failed; `None` for no delay.
    pub fn retry_delay(&self, attempt: u32) -> Option<Duration> {
        let index = usize::try_from(attempt.saturating_sub(1)).unwrap_or(usize::MAX);
        self.backoff
            .get(index)
            .or(self.backoff.last())
            .copied()
            .filter(|delay| !delay.is_zero())
    }

    /// Checks names and durations before anything is sent to the server.
    ///
    /// # Errors
    /// [`JobError::InvalidConfig`] saying which setting is wrong.
    pub fn validate(&self) -> Result<(), JobError> {
        let invalid = |reason: String| Err(JobError::InvalidConfig(reason));
        for (what, name) in [("stream", &self.stream), ("consumer", &self.consumer)] {
            if !is_name(name) {
                return invalid(format!(
                    "{what} name `{name}` must be 1 to 64 characters of letters, digits, `-` and `_`"
                ));
            }
        }
        if !self.subject_prefix.split('.').all(is_name) {
            return invalid(format!(
                "subject prefix `{}` must be `.`-separated tokens of letters, digits, `-` and `_`",
                self.subject_prefix
            ));
        }
        if self.ack_wait < Duration::from_millis(300) {
            return invalid("ack_wait must be at least 300 ms".into());
        }
        if self.max_attempts == 0 {
            return invalid("max_attempts must be at least 1".into());
        }
        if self.pull_wait < Duration::from_millis(100) {
            return invalid("pull_wait must be at least 100 ms".into());
        }
        Ok(())
    }

    fn stream_config(&self) -> StreamConfig {
        StreamConfig {
            name: self.stream.clone(),
            subjects: vec![format!("{}.>", self.subject_prefix)],
            retention: RetentionPolicy::WorkQueue,
            storage: StorageType::File,
            discard: DiscardPolicy::Old,
            num_replicas: 1,
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        }
    }

    fn consumer_config(&self) -> PullConfig {
        PullConfig {
            durable_name: Some(self.consumer.clone()),
            description: Some("Coursegraph video transcoding workers".into()),
            deliver_policy: DeliverPolicy::All,
            ack_policy: AckPolicy::Explicit,
            ack_wait: self.ack_wait,
            max_deliver: i64::from(self.max_attempts),
            max_ack_pending: MAX_ACK_PENDING,
            filter_subject: format!("{}.>", self.subject_prefix),
            ..Default::default()
        }
    }
}

/// A stream, consumer or subject token: what NATS accepts in names, kept to a safe set.
fn is_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Everything the queue can fail with.
#[derive(Debug, Error)]
pub enum JobError {
    /// A [`QueueConfig`] setting, or `run_worker`'s concurrency, is not usable.
    #[error("invalid job queue configuration: {0}")]
    InvalidConfig(String),
    /// A dedupe key given to [`JobQueue::enqueue`] is empty, too long or not printable ASCII.
    #[error("invalid dedupe key: {0}")]
    InvalidDedupeKey(&'static str),
    /// The stream exists with a setting JetStream cannot change in place (its retention or its
    /// storage): it is not this queue's stream, and nothing was changed.
    #[error("stream `{stream}` exists with {setting} {found}, not {expected}; delete it or choose another name")]
    StreamConflict {
        /// The stream's name.
        stream: String,
        /// Which setting differs.
        setting: &'static str,
        /// What the stream has.
        found: String,
        /// What the queue needs.
        expected: String,
    },
    /// NATS or JetStream failed while doing `what`.
    #[error("job queue: {what}")]
    Nats {
        /// What was being done.
        what: &'static str,
        /// The client's error.
        #[source]
        source: BoxError,
    },
}

fn nats_error<E: Into<BoxError>>(what: &'static str) -> impl FnOnce(E) -> JobError {
    move |source| JobError::Nats {
        what,
        source: source.into(),
    }
}

/// The message body of a job.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobPayload {
    video_id: String,
}

/// One delivery of a job, as a [`JobHandler`] gets it.
#[derive(Debug, Clone)]
pub struct Job {
    /// The video to transcode.
    pub video_id: Uuid,
    /// Which delivery this is, from 1 (JetStream's delivery count).
    pub attempt: u32,
    /// The last attempt there will be ([`QueueConfig::max_attempts`]): when `attempt` equals
    /// it, a retryable failure is final.
    pub max_attempts: u32,
    /// Cancelled when the worker stops: the handler should end soon (the job is put back for
    /// another worker whatever it returns).
    pub cancel: CancelToken,
    /// Lets the handler report progress and say it is alive.
    pub progress: ProgressHandle,
}

/// How a handler reports on a running job. The queue sends JetStream "in progress"
/// acknowledgements on its own timer while the handler runs; [`ProgressHandle::report`] and
/// [`ProgressHandle::alive`] send one early (at most one per sixth of the ack wait), e.g. after
/// a long step, and record the fraction done for the worker's logs.
#[derive(Debug, Clone, Default)]
pub struct ProgressHandle(Arc<ProgressState>);

#[derive(Debug, Default)]
struct ProgressState {
    /// The fraction done, as `f64` bits.
    fraction: AtomicU64,
    poke: Notify,
}

impl ProgressHandle {
    /// A handle at 0 % (for building a [`Job`] outside the queue, e.g. in a handler's tests).
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the fraction done (clamped to 0 to 1; NaN is ignored) and says the job is alive.
    pub fn report(&self, fraction: f64) {
        if !fraction.is_nan() {
            self.0
                .fraction
                .store(fraction.clamp(0.0, 1.0).to_bits(), Ordering::Relaxed);
        }
        self.alive();
    }

    /// Says the job is alive without a new fraction.
    pub fn alive(&self) {
        // `notify_one` keeps a permit when the worker is not waiting right now.
        self.0.poke.notify_one();
    }

    /// The last fraction reported (0 to 1).
    pub fn fraction(&self) -> f64 {
        f64::from_bits(self.0.fraction.load(Ordering::Relaxed))
    }
}

/// Why a handler did not finish a job.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct HandlerError {
    /// Whether another attempt may succeed (the machine's trouble, not the job's).
    pub retryable: bool,
    /// What went wrong, for the logs.
    pub message: String,
}

impl HandlerError {
    /// A failure another attempt may fix.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            retryable: true,
            message: message.into(),
        }
    }

    /// A failure no attempt will fix: the job is terminated.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            retryable: false,
            message: message.into(),
        }
    }
}

/// Does the work of one job. Handlers must be idempotent: a job can be delivered again after
/// a crash, a stop, or an acknowledgement lost on the way.
pub trait JobHandler: Send + Sync + 'static {
    /// Handles one delivery. A panic counts as a retryable error.
    fn handle(&self, job: Job) -> impl Future<Output = Result<(), HandlerError>> + Send;
}

/// The work queue, for producers ([`JobQueue::enqueue`]) and workers ([`run_worker`]).
#[derive(Debug, Clone)]
pub struct JobQueue {
    jetstream: Context,
    config: QueueConfig,
    consumer: PullConsumer,
}

impl JobQueue {
    /// Opens the queue on `client`: creates the stream and the durable consumer when missing,
    /// and brings them to `config` when they differ in what JetStream lets change.
    ///
    /// # Errors
    /// [`JobError::InvalidConfig`]; [`JobError::StreamConflict`] when a stream of that name has
    /// another retention or storage; [`JobError::Nats`] when JetStream cannot be reached.
    pub async fn open(client: async_nats::Client, config: QueueConfig) -> Result<Self, JobError> {
        config.validate()?;
        let jetstream = async_nats::jetstream::new(client);
        let consumer = ensure(&jetstream, &config).await?;
        Ok(Self {
            jetstream,
            config,
            consumer,
        })
    }

    /// The settings it was opened with.
    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    /// Stores a transcoding job for `video_id`. `dedupe_key` becomes the message id: JetStream
    /// drops a second job with the same key within [`DUPLICATE_WINDOW`] (e.g. the upload id,
    /// so a retried upload completion enqueues once). Returns once the stream holds the job
    /// (or holds it already).
    ///
    /// # Errors
    /// [`JobError::InvalidDedupeKey`] for an empty key, one over [`MAX_DEDUPE_KEY_LEN`] bytes
    /// or one with characters other than printable ASCII (nothing is published);
    /// [`JobError::Nats`] when the publication is not acknowledged.
    pub async fn enqueue(&self, video_id: Uuid, dedupe_key: &str) -> Result<(), JobError> {
        if dedupe_key.is_empty() {
            return Err(JobError::InvalidDedupeKey("it is empty"));
        }
        if dedupe_key.len() > MAX_DEDUPE_KEY_LEN {
            return Err(JobError::InvalidDedupeKey("it is longer than 256 bytes"));
        }
        if !dedupe_key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(JobError::InvalidDedupeKey(
                "it holds characters other than printable ASCII",
            ));
        }
        let payload = serde_json::to_vec(&JobPayload {
            video_id: video_id.to_string(),
        })
        .map_err(nats_error("encode the job"))?;
        let ack = self
            .jetstream
            .send_publish(
                self.config.transcode_subject(),
                PublishMessage::build()
                    .payload(payload.into())
                    .message_id(dedupe_key),
            )
            .await
            .map_err(nats_error("publish the job"))?
            .await
            .map_err(nats_error("confirm the job's publication"))?;
        tracing::info!(%video_id, sequence = ack.sequence, duplicate = ack.duplicate, "transcoding job enqueued");
        Ok(())
    }

    /// Jobs waiting plus jobs being handled (delivered and not yet acknowledged), from the
    /// consumer's info.
    ///
    /// # Errors
    /// [`JobError::Nats`] when the consumer's info cannot be read.
    pub async fn pending(&self) -> Result<u64, JobError> {
        let mut consumer = self.consumer.clone();
        let info = consumer
            .info()
            .await
            .map_err(nats_error("read the consumer's info"))?;
        let in_flight = u64::try_from(info.num_ack_pending).unwrap_or(u64::MAX);
        Ok(info.num_pending.saturating_add(in_flight))
    }
}

/// Creates or updates the stream and the consumer.
async fn ensure(jetstream: &Context, config: &QueueConfig) -> Result<PullConsumer, JobError> {
    let wanted = config.stream_config();
    let mut stream = jetstream
        .get_or_create_stream(wanted.clone())
        .await
        .map_err(nats_error("create the stream"))?;
    let found = stream
        .info()
        .await
        .map_err(nats_error("read the stream's info"))?
        .config
        .clone();
    let conflict = |setting, found: String, expected: String| JobError::StreamConflict {
        stream: config.stream.clone(),
        setting,
        found,
        expected,
    };
    if found.retention != wanted.retention {
        return Err(conflict(
            "retention",
            format!("{:?}", found.retention),
            format!("{:?}", wanted.retention),
        ));
    }
    if found.storage != wanted.storage {
        return Err(conflict(
            "storage",
            format!("{:?}", found.storage),
            format!("{:?}", wanted.storage),
        ));
    }
    if found.subjects != wanted.subjects || found.duplicate_window != wanted.duplicate_window {
        tracing::info!(stream = %config.stream, "updating the job stream's subjects and duplicate window");
        jetstream
            .update_stream(StreamConfig {
                subjects: wanted.subjects,
                duplicate_window: wanted.duplicate_window,
                ..found
            })
            .await
            .map_err(nats_error("update the stream"))?;
    }
    // Create-or-update: a changed ack wait or attempt count applies at once.
    stream
        .create_consumer(config.consumer_config())
        .await
        .map_err(nats_error("create the consumer"))
}

/// Runs `handler` on jobs from `queue`, at most `concurrency` at a time, until `stop` turns
/// true (or its sender is dropped).
///
/// It pulls only as many jobs as it has free slots. On stop it stops pulling (a pull in flight
/// is drained, its jobs put back at once), cancels the running jobs' [`Job::cancel`], waits for
/// their handlers to return and puts their jobs back (NAK without delay) for another worker.
/// A pull that fails (NATS unreachable, the consumer deleted) is logged and retried with a
/// backoff of 250 ms doubling to 10 s, re-creating the stream and consumer when missing.
///
/// # Errors
/// [`JobError::InvalidConfig`] when `concurrency` is 0. NATS failures are not errors: the
/// worker keeps trying until stopped.
pub async fn run_worker<H: JobHandler>(
    queue: &JobQueue,
    handler: Arc<H>,
    concurrency: usize,
    mut stop: watch::Receiver<bool>,
) -> Result<(), JobError> {
    if concurrency == 0 {
        return Err(JobError::InvalidConfig(
            "a worker's concurrency must be at least 1".into(),
        ));
    }
    let slots = Arc::new(Semaphore::new(concurrency));
    let shutdown = CancelToken::new();
    let mut jobs = JoinSet::new();
    let mut consumer = queue.consumer.clone();
    let mut failures = 0u32;
    tracing::info!(stream = %queue.config.stream, consumer = %queue.config.consumer, concurrency, "transcoding worker started");
    'pulling: loop {
        while let Some(ended) = jobs.try_join_next() {
            log_join(ended);
        }
        if is_stopped(&mut stop) {
            break;
        }
        // Wait for one free slot, then take every other free one too.
        let mut permits = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            _ = stop.changed() => continue,
            Some(ended) = jobs.join_next() => {
                log_join(ended);
                continue;
            }
        };
        let free = u32::try_from(slots.available_permits()).unwrap_or(u32::MAX);
        if free > 0 {
            if let Ok(more) = Arc::clone(&slots).try_acquire_many_owned(free) {
                permits.merge(more);
            }
        }
        let batch = consumer
            .batch()
            .max_messages(permits.num_permits())
            .expires(queue.config.pull_wait)
            .messages()
            .await;
        let mut batch = match batch {
            Ok(batch) => batch,
            Err(error) => {
                drop(permits);
                failures += 1;
                if !pull_failed(queue, &mut consumer, failures, &error, &mut stop).await {
                    break;
                }
                continue;
            }
        };
        let mut stopping = false;
        loop {
            let next = tokio::select! {
                next = batch.next() => next,
                _ = stop.changed(), if !stopping => {
                    stopping = is_stopped(&mut stop);
                    continue;
                }
            };
            match next {
                None => break,
                Some(Err(error)) => {
                    drop(permits);
                    failures += 1;
                    if !pull_failed(queue, &mut consumer, failures, &*error, &mut stop).await {
                        break 'pulling;
                    }
                    continue 'pulling;
                }
                Some(Ok(message)) => {
                    failures = 0;
                    match permits.split(1) {
                        Some(permit) if !stopping => {
                            jobs.spawn(run_job(
                                Arc::clone(&handler),
                                message,
                                permit,
                                shutdown.clone(),
                                queue.config.clone(),
                            ));
                        }
                        // Stopping (or more messages than asked for): back to the stream at once.
                        _ => settle(&message, AckKind::Nak(None), None, 0).await,
                    }
                }
            }
        }
    }
    let running = jobs.len();
    if running > 0 {
        tracing::info!(running, "transcoding worker stopping; cancelling its jobs");
    }
    shutdown.cancel();
    while let Some(ended) = jobs.join_next().await {
        log_join(ended);
    }
    tracing::info!("transcoding worker stopped");
    Ok(())
}

/// Whether the worker should stop: `stop` is true, or its sender is gone (no stop could come).
fn is_stopped(stop: &mut watch::Receiver<bool>) -> bool {
    stop.has_changed().is_err() || *stop.borrow_and_update()
}

/// Logs a failed pull, waits the backoff (or a stop), then re-creates the consumer handle.
/// Returns false when stopped meanwhile.
async fn pull_failed(
    queue: &JobQueue,
    consumer: &mut PullConsumer,
    failures: u32,
    error: &(dyn std::error::Error + Send + Sync + 'static),
    stop: &mut watch::Receiver<bool>,
) -> bool {
    let delay = Duration::from_millis(250)
        .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1).min(10)))
        .min(MAX_PULL_RETRY);
    tracing::warn!(error = %ErrorChain(error), failures, retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), "pulling transcoding jobs failed");
    tokio::select! {
        _ = tokio::time::sleep(delay) => {}
        _ = stop.changed() => {}
    }
    if is_stopped(stop) {
        return false;
    }
    // The stream or consumer may have been deleted: make sure both exist.
    match ensure(&queue.jetstream, &queue.config).await {
        Ok(fresh) => *consumer = fresh,
        Err(error) => {
            tracing::warn!(error = %ErrorChain(&error), "re-creating the job stream failed");
        }
    }
    true
}

/// Handles one delivery: heartbeats while the handler runs, then settles the message.
async fn run_job<H: JobHandler>(
    handler: Arc<H>,
    message: Message,
    _permit: OwnedSemaphorePermit,
    shutdown: CancelToken,
    config: QueueConfig,
) {
    let attempt = match message.info() {
        Ok(info) => u32::try_from(info.delivered).unwrap_or(u32::MAX).max(1),
        Err(error) => {
            // Not a JetStream delivery: nothing to settle, nothing to do.
            tracing::warn!(subject = %message.subject, error = %error, "a message without JetStream metadata was ignored");
            return;
        }
    };
    let video_id = match parse_job(&message.payload) {
        Ok(video_id) => video_id,
        Err(reason) => {
            tracing::warn!(subject = %message.subject, attempt, reason, "the message is not a valid transcoding job; terminated");
            settle(&message, AckKind::Term, None, attempt).await;
            return;
        }
    };
    let job = Job {
        video_id,
        attempt,
        max_attempts: config.max_attempts,
        cancel: CancelToken::new(),
        progress: ProgressHandle::new(),
    };
    let (cancel, progress) = (job.cancel.clone(), job.progress.clone());
    tracing::info!(%video_id, attempt, max_attempts = config.max_attempts, "transcoding job started");
    let handled = AssertUnwindSafe(handler.handle(job)).catch_unwind();
    tokio::pin!(handled);
    // Three heartbeats per ack wait: one lost on the way still leaves time for the next.
    let beat = config.ack_wait / 3;
    let mut ticker = tokio::time::interval_at(Instant::now() + beat, beat);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_beat = Instant::now();
    let mut stopped = false;
    let outcome = loop {
        tokio::select! {
            outcome = &mut handled => break outcome,
            _ = shutdown.cancelled(), if !stopped => {
                stopped = true;
                cancel.cancel();
            }
            _ = ticker.tick() => {
                heartbeat(&message, video_id, attempt, &progress).await;
                last_beat = Instant::now();
            }
            _ = progress.0.poke.notified() => {
                // Early heartbeats are rate-limited: a handler may report many times a second.
                if last_beat.elapsed() >= beat / 2 {
                    heartbeat(&message, video_id, attempt, &progress).await;
                    last_beat = Instant::now();
                    ticker.reset();
                }
            }
        }
    };
    let outcome = outcome.unwrap_or_else(|_| Err(HandlerError::retryable("the handler panicked")));
    let ack = match &outcome {
        // Put back whatever the handler returned: a cancelled handler may report Ok after
        // stopping early, and redoing a finished job is harmless for an idempotent handler.
        _ if stopped => {
            tracing::info!(%video_id, attempt, "transcoding job put back: the worker is stopping");
            AckKind::Nak(None)
        }
        Ok(()) => {
            tracing::info!(%video_id, attempt, "transcoding job done");
            AckKind::Ack
        }
        Err(error) if error.retryable && attempt < config.max_attempts => {
            let delay = config.retry_delay(attempt);
            tracing::warn!(%video_id, attempt, max_attempts = config.max_attempts, error = %error.message, retry_in_ms = delay.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)), "transcoding job failed; will retry");
            AckKind::Nak(delay)
        }
        Err(error) => {
            tracing::error!(%video_id, attempt, max_attempts = config.max_attempts, retryable = error.retryable, error = %error.message, "transcoding job failed for good; terminated");
            AckKind::Term
        }
    };
    settle(&message, ack, Some(video_id), attempt).await;
}

/// The video id of a job's payload, or why it is not a job.
fn parse_job(payload: &[u8]) -> Result<Uuid, String> {
    let job: JobPayload = serde_json::from_slice(payload).map_err(|e| format!("not a job: {e}"))?;
    Uuid::parse_str(&job.video_id).map_err(|e| format!("videoId is not a UUID: {e}"))
}

/// Sends an "in progress" acknowledgement (failures are logged: the next beat may pass).
async fn heartbeat(message: &Message, video_id: Uuid, attempt: u32, progress: &ProgressHandle) {
    match message.ack_with(AckKind::Progress).await {
        Ok(()) => {
            tracing::debug!(%video_id, attempt, fraction = progress.fraction(), "transcoding job alive")
        }
        Err(error) => {
            tracing::warn!(%video_id, attempt, error = %error, "a transcoding job's heartbeat failed")
        }
    }
}

/// Settles a message and waits for the server to confirm. A failure is logged: JetStream then
/// redelivers the job after its ack wait, which an idempotent handler tolerates.
async fn settle(message: &Message, ack: AckKind, video_id: Option<Uuid>, attempt: u32) {
    let kind = format!("{ack:?}");
    if let Err(error) = message.double_ack_with(ack).await {
        tracing::warn!(video_id = video_id.map(tracing::field::display), attempt, ack = kind, error = %error, "settling a transcoding job failed; JetStream will redeliver it");
    }
}

fn log_join(ended: Result<(), tokio::task::JoinError>) {
    if let Err(error) = ended {
        // Panics of handlers are caught in `run_job`; this is the queue's own.
        tracing::error!(error = %error, "a transcoding job's task failed");
    }
}

/// Displays an error with its sources, `a: b: c`.
struct ErrorChain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_follow_the_backoff_list_then_repeat_its_last() {
        let config = QueueConfig {
            backoff: vec![Duration::from_secs(10), Duration::from_secs(60)],
            ..QueueConfig::default()
        };
        assert_eq!(config.retry_delay(1), Some(Duration::from_secs(10)));
        assert_eq!(config.retry_delay(2), Some(Duration::from_secs(60)));
        assert_eq!(config.retry_delay(7), Some(Duration::from_secs(60)));
        let none = QueueConfig {
            backoff: vec![],
            ..QueueConfig::default()
        };
        assert_eq!(none.retry_delay(1), None);
    }

    #[test]
    fn settings_are_checked_before_use() {
        assert!(QueueConfig::default().validate().is_ok());
        let bad = [
            QueueConfig {
                stream: "VIDEO.JOBS".into(),
                ..QueueConfig::default()
            },
            QueueConfig {
                consumer: String::new(),
                ..QueueConfig::default()
            },
            QueueConfig {
                subject_prefix: "video-jobs.>".into(),
                ..QueueConfig::default()
            },
            QueueConfig {
                subject_prefix: "video..jobs".into(),
                ..QueueConfig::default()
            },
            QueueConfig {
                max_attempts: 0,
                ..QueueConfig::default()
            },
            QueueConfig {
                ack_wait: Duration::ZERO,
                ..QueueConfig::default()
            },
        ];
        for config in bad {
            assert!(
                matches!(config.validate(), Err(JobError::InvalidConfig(_))),
                "{config:?} was accepted"
            );
        }
    }

    #[test]
    fn only_a_json_job_with_a_uuid_is_a_job() {
        let id = Uuid::now_v7();
        assert_eq!(
            parse_job(format!(r#"{{"videoId":"{id}"}}"#).as_bytes()),
            Ok(id)
        );
        for payload in [
            &b"not json"[..],
            br#"{"videoId":"nope"}"#,
            br#"{"video_id":"0190b7a2-5d1e-7c3a-9f00-000000000000"}"#,
            b"",
            b"\xff\xfe",
        ] {
            assert!(parse_job(payload).is_err(), "{payload:?} was accepted");
        }
    }

    #[test]
    fn progress_is_clamped_and_nan_ignored() {
        let progress = ProgressHandle::new();
        progress.report(0.5);
        progress.report(f64::NAN);
        assert_eq!(progress.fraction(), 0.5);
        progress.report(3.0);
        assert_eq!(progress.fraction(), 1.0);
    }
}
