//! The transcoding work queue against the real NATS JetStream at `NATS_URL` (started by
//! `npm test`). Every test uses its own stream, subject prefix and consumer, and deletes its
//! stream at the end, so tests run in parallel and twice in a row.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::stream::{Config as StreamConfig, RetentionPolicy, StorageType};
use async_nats::jetstream::Context;
use coursegraph_video::jobs::{
    run_worker, HandlerError, Job, JobError, JobHandler, JobQueue, QueueConfig,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// How long any wait for something to happen may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);

async fn connect() -> async_nats::Client {
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4223".into());
    // npm test starts NATS before cargo test; without it these tests fail rather than pass unseen.
    coursegraph_events::nats::connect(&url)
        .await
        .unwrap_or_else(|err| {
            panic!(
                "no NATS server at {url} (start it with `node scripts/stack.mjs up --test`): {err}"
            )
        })
}

/// Names no other test (or earlier run) uses.
fn unique_config() -> QueueConfig {
    let id = Uuid::now_v7().simple().to_string();
    QueueConfig {
        stream: format!("VIDEO_JOBS_TEST_{id}"),
        subject_prefix: format!("video-jobs-test.{id}"),
        consumer: format!("video-transcoder-{id}"),
        ack_wait: Duration::from_secs(30),
        max_attempts: 3,
        backoff: vec![Duration::from_millis(50), Duration::from_millis(100)],
        pull_wait: Duration::from_secs(1),
    }
}

struct TestQueue {
    queue: JobQueue,
    jetstream: Context,
}

impl TestQueue {
    async fn open(config: QueueConfig) -> Self {
        let client = connect().await;
        let jetstream = async_nats::jetstream::new(client.clone());
        let queue = JobQueue::open(client, config)
            .await
            .expect("the queue opens");
        Self { queue, jetstream }
    }

    fn stream(&self) -> &str {
        &self.queue.config().stream
    }

    /// Messages still in the stream (a work queue removes acknowledged and terminated ones).
    async fn stored(&self) -> u64 {
        let mut stream = self
            .jetstream
            .get_stream(self.stream())
            .await
            .expect("the stream");
        stream.info().await.expect("stream info").state.messages
    }

    async fn redelivered(&self) -> usize {
        let stream = self
            .jetstream
            .get_stream(self.stream())
            .await
            .expect("the stream");
        stream
            .consumer_info(&self.queue.config().consumer)
            .await
            .expect("consumer info")
            .num_redelivered
    }

    async fn publish_raw(&self, payload: &'static [u8]) {
        self.jetstream
            .publish(self.queue.config().transcode_subject(), payload.into())
            .await
            .expect("publish")
            .await
            .expect("publish ack");
    }

    async fn delete(self) {
        self.jetstream
            .delete_stream(self.stream())
            .await
            .expect("the test stream is deleted");
    }
}

/// Waits (polling every 50 ms) until `done` holds, or panics after [`PATIENCE`].
async fn wait_until<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What a test handler does with a job.
#[derive(Clone, Copy)]
enum Mode {
    Succeed,
    Fail {
        retryable: bool,
    },
    /// Takes this long, then succeeds.
    Sleep(Duration),
    /// The first attempt waits until cancelled (then fails, retryable); later ones succeed.
    FirstHangs,
}

struct Recorder {
    mode: Mode,
    /// (video, attempt) of every call, in order of start.
    calls: Mutex<Vec<(Uuid, u32)>>,
    running: AtomicUsize,
    max_running: AtomicUsize,
    finished: AtomicUsize,
    cancelled: AtomicUsize,
}

impl Recorder {
    fn new(mode: Mode) -> Arc<Self> {
        Arc::new(Self {
            mode,
            calls: Mutex::new(Vec::new()),
            running: AtomicUsize::new(0),
            max_running: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
            cancelled: AtomicUsize::new(0),
        })
    }

    fn calls(&self) -> Vec<(Uuid, u32)> {
        self.calls.lock().expect("calls").clone()
    }

    fn attempts(&self) -> Vec<u32> {
        self.calls()
            .into_iter()
            .map(|(_, attempt)| attempt)
            .collect()
    }
}

impl JobHandler for Recorder {
    async fn handle(&self, job: Job) -> Result<(), HandlerError> {
        self.calls
            .lock()
            .expect("calls")
            .push((job.video_id, job.attempt));
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now, Ordering::SeqCst);
        let outcome = match self.mode {
            Mode::Succeed => Ok(()),
            Mode::Fail { retryable } => Err(HandlerError {
                retryable,
                message: "the test handler fails".into(),
            }),
            Mode::Sleep(duration) => {
                tokio::time::sleep(duration).await;
                Ok(())
            }
            Mode::FirstHangs if job.attempt == 1 => {
                job.cancel.cancelled().await;
                self.cancelled.fetch_add(1, Ordering::SeqCst);
                Err(HandlerError::retryable("cancelled"))
            }
            Mode::FirstHangs => Ok(()),
        };
        self.running.fetch_sub(1, Ordering::SeqCst);
        self.finished.fetch_add(1, Ordering::SeqCst);
        outcome
    }
}

struct Worker {
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), JobError>>,
}

fn start_worker(queue: &JobQueue, handler: &Arc<Recorder>, concurrency: usize) -> Worker {
    let (stop, stopped) = watch::channel(false);
    let queue = queue.clone();
    let handler = Arc::clone(handler);
    let task = tokio::spawn(async move { run_worker(&queue, handler, concurrency, stopped).await });
    Worker { stop, task }
}

impl Worker {
    async fn stop(self) {
        self.stop.send_replace(true);
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("the worker stops")
            .expect("the worker's task did not panic")
            .expect("the worker ends without error");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_handled_once_and_acknowledged() {
    let test = TestQueue::open(unique_config()).await;
    let video = Uuid::now_v7();
    test.queue
        .enqueue(video, "upload-1")
        .await
        .expect("enqueued");
    assert_eq!(test.queue.pending().await.expect("pending"), 1);

    let handler = Recorder::new(Mode::Succeed);
    let worker = start_worker(&test.queue, &handler, 2);
    wait_until("the job to be acknowledged", || async {
        test.stored().await == 0
    })
    .await;
    assert_eq!(handler.calls(), vec![(video, 1)]);
    assert_eq!(test.queue.pending().await.expect("pending"), 0);
    worker.stop().await;
    test.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dedupe_key_drops_a_second_enqueue_and_bad_keys_are_refused() {
    let test = TestQueue::open(unique_config()).await;
    let (first, duplicate, other) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    test.queue
        .enqueue(first, "upload-a")
        .await
        .expect("enqueued");
    test.queue
        .enqueue(duplicate, "upload-a")
        .await
        .expect("a duplicate is not an error");
    test.queue
        .enqueue(other, "upload-b")
        .await
        .expect("enqueued");
    let long = "k".repeat(257);
    for key in ["", "has space", "line\r\nbreak", long.as_str(), "ключ"] {
        let refused = test.queue.enqueue(Uuid::now_v7(), key).await;
        assert!(
            matches!(refused, Err(JobError::InvalidDedupeKey(_))),
            "{key:?}: {refused:?}"
        );
    }
    assert_eq!(test.stored().await, 2);
    assert_eq!(test.queue.pending().await.expect("pending"), 2);

    let handler = Recorder::new(Mode::Succeed);
    let worker = start_worker(&test.queue, &handler, 1);
    wait_until("both jobs to be done", || async {
        test.stored().await == 0
    })
    .await;
    assert_eq!(handler.calls(), vec![(first, 1), (other, 1)]);
    worker.stop().await;
    test.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retryable_error_is_retried_until_the_last_attempt_then_terminated() {
    let test = TestQueue::open(unique_config()).await;
    let video = Uuid::now_v7();
    test.queue.enqueue(video, "retry").await.expect("enqueued");
    let handler = Recorder::new(Mode::Fail { retryable: true });
    let worker = start_worker(&test.queue, &handler, 1);
    // Terminated jobs leave a work queue, so nothing can deliver a fourth attempt after this.
    wait_until("the job to be terminated", || async {
        test.stored().await == 0
    })
    .await;
    assert_eq!(handler.attempts(), vec![1, 2, 3]);
    assert_eq!(test.queue.pending().await.expect("pending"), 0);
    worker.stop().await;
    test.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_error_is_not_retried() {
    let test = TestQueue::open(unique_config()).await;
    let video = Uuid::now_v7();
    test.queue
        .enqueue(video, "permanent")
        .await
        .expect("enqueued");
    let handler = Recorder::new(Mode::Fail { retryable: false });
    let worker = start_worker(&test.queue, &handler, 1);
    wait_until("the job to be terminated", || async {
        test.stored().await == 0
    })
    .await;
    assert_eq!(handler.calls(), vec![(video, 1)]);
    assert_eq!(test.redelivered().await, 0);
    worker.stop().await;
    test.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_runs_and_holds_no_more_jobs_than_its_concurrency() {
    const CONCURRENCY: usize = 2;
    const JOBS: usize = 6;
    let test = TestQueue::open(unique_config()).await;
    for n in 0..JOBS {
        test.queue
            .enqueue(Uuid::now_v7(), &format!("job-{n}"))
            .await
            .expect("enqueued");
    }
    let handler = Recorder::new(Mode::Sleep(Duration::from_millis(300)));
    let worker = start_worker(&test.queue, &handler, CONCURRENCY);
    let stream = test
        .jetstream
        .get_stream(test.stream())
        .await
        .expect("the stream");
    wait_until("every job to be done", || async {
        // Jobs it cannot start stay in the stream, not in its hands.
        let info = stream
            .consumer_info(&test.queue.config().consumer)
            .await
            .expect("consumer info");
        assert!(
            info.num_ack_pending <= CONCURRENCY,
            "{} jobs delivered at once",
            info.num_ack_pending
        );
        handler.finished.load(Ordering::SeqCst) == JOBS && test.stored().await == 0
    })
    .await;
    let max = handler.max_running.load(Ordering::SeqCst);
    assert!(
        (1..=CONCURRENCY).contains(&max),
        "{max} handlers ran at once"
    );
    assert_eq!(handler.calls().len(), JOBS);
    worker.stop().await;
    test.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_worker_cancels_its_job_and_puts_it_back_for_another() {
    // A long ack wait: the second worker can only get the job through the stop's NAK.
    let test = TestQueue::open(unique_config()).await;
    let video = Uuid::now_v7();
    let first = Recorder::new(Mode::FirstHangs);
    let first_worker = start_worker(&test.queue, &first, 1);
    test.queue
        .enqueue(video, "stopped")
        .await
        .expect("enqueued");
    wait_until("the first worker to take the job", || async {
        !first.calls().is_empty()
    })
    .await;

    let second = Recorder::new(Mode::FirstHangs);
    let second_worker = start_worker(&test.queue, &second, 1);
    first_worker.stop().await;
    assert_eq!(first.cancelled.load(Ordering::SeqCst), 1);
    wait_until("the second worker to finish the job", || async {
        test.stored().await == 0
    })
    .await;
    assert_eq!(first.calls(), vec![(video, 1)]);
    assert_eq!(second.calls(), vec![(video, 2)]);
    second_worker.stop().await;
    test.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_workers_job_is_redelivered_after_the_ack_wait() {
    let test = TestQueue::open(QueueConfig {
        ack_wait: Duration::from_secs(2),
        ..unique_config()
    })
    .await;
    let video = Uuid::now_v7();
    let crashing = Recorder::new(Mode::FirstHangs);
    let crashed = start_worker(&test.queue, &crashing, 1);
    test.queue.enqueue(video, "crash").await.expect("enqueued");
    wait_until("the first worker to take the job", || async {
        !crashing.calls().is_empty()
    })
    .await;
    // A process that dies: no stop, no NAK, no more heartbeats.
    crashed.task.abort();
    let _ = crashed.task.await;

    let survivor = Recorder::new(Mode::FirstHangs);
    let worker = start_worker(&test.queue, &survivor, 1);
    wait_until("another worker to finish the job", || async {
        test.stored().await == 0
    })
    .await;
    assert_eq!(crashing.cancelled.load(Ordering::SeqCst), 0);
    assert_eq!(survivor.calls(), vec![(video, 2)]);
    worker.stop().await;
    test.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_longer_than_the_ack_wait_is_not_redelivered_while_its_worker_lives() {
    let test = TestQueue::open(QueueConfig {
        ack_wait: Duration::from_secs(1),
        ..unique_config()
    })
    .await;
    let video = Uuid::now_v7();
    let slow = Recorder::new(Mode::Sleep(Duration::from_secs(3)));
    let idle = Recorder::new(Mode::Succeed);
    let slow_worker = start_worker(&test.queue, &slow, 1);
    test.queue.enqueue(video, "long").await.expect("enqueued");
    wait_until("the slow worker to take the job", || async {
        !slow.calls().is_empty()
    })
    .await;
    // A second worker, free the whole time, would get any redelivery.
    let idle_worker = start_worker(&test.queue, &idle, 1);
    wait_until("the long job to be done", || async {
        test.stored().await == 0
    })
    .await;
    assert_eq!(slow.calls(), vec![(video, 1)]);
    assert_eq!(idle.calls(), vec![]);
    assert_eq!(test.redelivered().await, 0);
    slow_worker.stop().await;
    idle_worker.stop().await;
    test.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_jobs_are_terminated_and_the_worker_keeps_going() {
    let test = TestQueue::open(unique_config()).await;
    test.publish_raw(b"not json").await;
    test.publish_raw(br#"{"videoId":"not-a-uuid"}"#).await;
    test.publish_raw(b"\xff\x00\xfe").await;
    let video = Uuid::now_v7();
    test.queue.enqueue(video, "valid").await.expect("enqueued");
    let handler = Recorder::new(Mode::Succeed);
    let worker = start_worker(&test.queue, &handler, 1);
    wait_until("every message to be settled", || async {
        test.stored().await == 0
    })
    .await;
    assert_eq!(handler.calls(), vec![(video, 1)]);
    assert_eq!(test.redelivered().await, 0);
    assert!(
        !worker.task.is_finished(),
        "the worker stopped on bad input"
    );
    worker.stop().await;
    test.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_stream_is_updated_or_refused_when_it_cannot_be() {
    let client = connect().await;
    let jetstream = async_nats::jetstream::new(client.clone());

    // A work queue with other subjects and duplicate window: brought to the queue's.
    let config = unique_config();
    jetstream
        .create_stream(StreamConfig {
            name: config.stream.clone(),
            subjects: vec![config.transcode_subject()],
            retention: RetentionPolicy::WorkQueue,
            storage: StorageType::File,
            duplicate_window: Duration::from_secs(10),
            ..Default::default()
        })
        .await
        .expect("a stream");
    let queue = JobQueue::open(client.clone(), config.clone())
        .await
        .expect("the queue opens");
    let mut stream = jetstream.get_stream(&config.stream).await.expect("stream");
    let info = stream.info().await.expect("info");
    assert_eq!(
        info.config.subjects,
        vec![format!("{}.>", config.subject_prefix)]
    );
    assert_eq!(info.config.duplicate_window, Duration::from_secs(120));
    queue.enqueue(Uuid::now_v7(), "k").await.expect("enqueued");
    jetstream
        .delete_stream(&config.stream)
        .await
        .expect("deleted");

    // A stream of that name that keeps every message is not a work queue: refused, untouched.
    let config = unique_config();
    jetstream
        .create_stream(StreamConfig {
            name: config.stream.clone(),
            subjects: vec![format!("{}.>", config.subject_prefix)],
            retention: RetentionPolicy::Limits,
            storage: StorageType::File,
            ..Default::default()
        })
        .await
        .expect("a stream");
    let refused = JobQueue::open(client.clone(), config.clone()).await;
    assert!(
        matches!(
            refused,
            Err(JobError::StreamConflict {
                setting: "retention",
                ..
            })
        ),
        "{refused:?}"
    );
    let mut stream = jetstream.get_stream(&config.stream).await.expect("stream");
    assert_eq!(
        stream.info().await.expect("info").config.retention,
        RetentionPolicy::Limits
    );
    jetstream
        .delete_stream(&config.stream)
        .await
        .expect("deleted");

    // Settings that cannot work are refused before anything is sent.
    let invalid = JobQueue::open(
        client,
        QueueConfig {
            max_attempts: 0,
            ..unique_config()
        },
    )
    .await;
    assert!(matches!(invalid, Err(JobError::InvalidConfig(_))));
}
