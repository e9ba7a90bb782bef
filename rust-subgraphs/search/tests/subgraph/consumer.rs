//! The consumer against the real NATS JetStream at `NATS_URL` (started by `npm test`), on a
//! stream of its own so it never touches the platform's `COURSE` stream. Skipped, with a
//! message, when no NATS server answers (a bare `cargo test`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::consumer::pull::Config as PullConfig;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy};
use async_nats::jetstream::stream::{Config as StreamConfig, StorageType};
use async_nats::HeaderMap;
use coursegraph_events::contracts::course::v1::{CoursePublished, CourseSnapshot, Lesson, Money};
use coursegraph_events::prost::Message as _;
use coursegraph_events::{Envelope, Subject, TraceParent};
use coursegraph_search::consumer::{self, ConsumerConfig, FollowedStream};
use coursegraph_search::{CourseEvent, SearchIndex, SearchRequest, Source, StreamIdentity};

fn published(id: &str, title: &str) -> (HeaderMap, Vec<u8>) {
    published_snapshot(CourseSnapshot {
        course_id: id.into(),
        version: 1,
        title: title.into(),
        language: "en".into(),
        published_at: "2025-01-31T12:34:56.789Z".into(),
        ..Default::default()
    })
}

fn published_snapshot(course: CourseSnapshot) -> (HeaderMap, Vec<u8>) {
    let envelope = Envelope::new(
        Subject::parse("course.course.published").expect("a subject"),
        TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
            .expect("a traceparent"),
    );
    let mut headers = HeaderMap::new();
    for (name, value) in envelope.to_headers() {
        headers.insert(name.as_str(), value.as_str());
    }
    let payload = CoursePublished {
        course: Some(course),
    }
    .encode_to_vec();
    (headers, payload)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_applies_events_in_order_and_commits_their_sequence() {
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    // npm test starts NATS before cargo test; without it this test fails rather than passing unseen.
    let client = consumer::connect_nats(&url).await.unwrap_or_else(|err| {
        panic!("no NATS server at {url} (start it with `npm run stack -- up`): {err}")
    });
    let run_id = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let stream_name = format!("SEARCHTEST_{run_id}");
    let prefix = format!("searchtest.{run_id}");
    let jetstream = async_nats::jetstream::new(client);
    jetstream
        .create_stream(StreamConfig {
            name: stream_name.clone(),
            subjects: vec![format!("{prefix}.>")],
            storage: StorageType::Memory,
            ..Default::default()
        })
        .await
        .expect("a test stream");

    let publish = |headers: HeaderMap, payload: Vec<u8>| {
        let jetstream = jetstream.clone();
        let subject = format!("{prefix}.course.course.published");
        async move {
            jetstream
                .publish_with_headers(subject, headers, payload.into())
                .await
                .expect("published")
                .await
                .expect("stored");
        }
    };
    let (headers, payload) = published("c-nats", "Messaging with NATS");
    publish(headers, payload).await;
    // Not a course event (no envelope): skipped and terminated, never retried.
    publish(HeaderMap::new(), b"garbage".to_vec()).await;
    let (headers, payload) = published("c-jet", "JetStream durable consumers");
    publish(headers, payload).await;

    let index = SearchIndex::in_ram().expect("an index");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let config = ConsumerConfig {
        nats_url: url,
        streams: vec![FollowedStream {
            source: Source::Course,
            stream: stream_name.clone(),
            subjects: vec![format!("{prefix}.>")],
            consumer: "search-courses".into(),
        }],
    };
    let running = tokio::spawn(consumer::run(config, index.clone(), stopped));

    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while index.last_sequence().expect("readable") < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the consumer did not commit sequence 3"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for (query, id) in [("nats", "c-nats"), ("jetstream", "c-jet")] {
        let page = index
            .search(&SearchRequest {
                query: query.into(),
                first: 10,
                ..Default::default()
            })
            .expect("a page");
        assert_eq!(page.hits[0].course_id, id);
    }

    stop.send(true).expect("the consumer listens");
    running.await.expect("joined").expect("a clean stop");

    // Every message was acknowledged (the garbage one terminated).
    let mut stream = jetstream
        .get_stream(&stream_name)
        .await
        .expect("the stream");
    let info = stream
        .consumer_info("search-courses")
        .await
        .expect("the consumer");
    assert_eq!(info.ack_floor.stream_sequence, 3);
    assert_eq!(info.num_ack_pending, 0);
    let _ = stream.info().await;
    jetstream
        .delete_stream(&stream_name)
        .await
        .expect("cleaned up");
}

/// A JetStream stream of a test's own on the NATS at `NATS_URL`, deleted by [`TestStream::delete`].
struct TestStream {
    jetstream: async_nats::jetstream::Context,
    url: String,
    name: String,
    prefix: String,
}

impl TestStream {
    async fn create(tag: &str) -> Self {
        let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
        let client = consumer::connect_nats(&url).await.unwrap_or_else(|err| {
            panic!("no NATS server at {url} (start it with `npm run stack -- up`): {err}")
        });
        let run_id = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!("SEARCHTEST_{tag}_{run_id}");
        let prefix = format!("searchtest.{tag}.{run_id}");
        let jetstream = async_nats::jetstream::new(client);
        let stream = Self {
            jetstream,
            url,
            name,
            prefix,
        };
        stream.create_it().await;
        stream
    }

    async fn create_it(&self) {
        self.jetstream
            .create_stream(StreamConfig {
                name: self.name.clone(),
                subjects: vec![format!("{}.>", self.prefix)],
                storage: StorageType::Memory,
                ..Default::default()
            })
            .await
            .expect("a test stream");
    }

    /// Deletes the stream (its messages and consumers with it) and creates it again under the
    /// same name and subjects, empty: what a reset development stack does to `COURSE`.
    async fn recreate(&self) {
        let before = self.identity().await;
        self.jetstream
            .delete_stream(&self.name)
            .await
            .expect("deleted");
        self.create_it().await;
        assert_ne!(self.identity().await, before, "a new creation time");
    }

    /// The live stream's identity, as the consumer records it.
    async fn identity(&self) -> StreamIdentity {
        let mut stream = self
            .jetstream
            .get_stream(&self.name)
            .await
            .expect("the stream");
        let info = stream.info().await.expect("the stream's info");
        StreamIdentity {
            name: info.config.name.clone(),
            created: info.created,
        }
    }

    /// Creates the durable consumer as the previous version did, after `last`.
    async fn create_durable_after(&self, last: u64) {
        let stream = self
            .jetstream
            .get_stream(&self.name)
            .await
            .expect("the stream");
        stream
            .create_consumer(PullConfig {
                durable_name: Some("search-courses".into()),
                deliver_policy: DeliverPolicy::ByStartSequence {
                    start_sequence: last + 1,
                },
                ack_policy: AckPolicy::Explicit,
                ..Default::default()
            })
            .await
            .expect("a durable consumer");
    }

    fn config(&self) -> ConsumerConfig {
        ConsumerConfig {
            nats_url: self.url.clone(),
            streams: vec![self.followed()],
        }
    }

    /// The stream as the course stream, followed by `search-courses`.
    fn followed(&self) -> FollowedStream {
        FollowedStream {
            source: Source::Course,
            stream: self.name.clone(),
            subjects: vec![format!("{}.>", self.prefix)],
            consumer: "search-courses".into(),
        }
    }

    async fn publish_course(&self, id: &str, title: &str) {
        self.publish(published(id, title)).await;
    }

    async fn publish(&self, (headers, payload): (HeaderMap, Vec<u8>)) {
        self.jetstream
            .publish_with_headers(
                format!("{}.course.course.published", self.prefix),
                headers,
                payload.into(),
            )
            .await
            .expect("published")
            .await
            .expect("stored");
    }

    async fn has_consumer(&self) -> bool {
        let stream = self
            .jetstream
            .get_stream(&self.name)
            .await
            .expect("the stream");
        stream.consumer_info("search-courses").await.is_ok()
    }

    async fn delete(self) {
        self.jetstream
            .delete_stream(&self.name)
            .await
            .expect("cleaned up");
    }
}

fn top_course(index: &SearchIndex, query: &str) -> Option<String> {
    index
        .search(&SearchRequest {
            query: query.into(),
            first: 10,
            ..Default::default()
        })
        .expect("a page")
        .hits
        .first()
        .map(|hit| hit.course_id.clone())
}

/// An index that followed another stream (here: 40 messages long, holding a course this
/// stream never had).
fn index_of_an_older_stream() -> SearchIndex {
    index_of_the_previous_version(&[(40, "c-gone", "Mainframe batch scheduling")])
}

/// An index as the previous version wrote it: these `(sequence, id, title)` publications
/// applied and committed with their sequence, but no stream identity.
fn index_of_the_previous_version(courses: &[(u64, &str, &str)]) -> SearchIndex {
    let index = SearchIndex::in_ram().expect("an index");
    let mut indexer = index.indexer_with_budget(15_000_000).expect("the writer");
    for (sequence, id, title) in courses {
        let (_, payload) = published(id, title);
        let event = CourseEvent::decode(
            &coursegraph_events::Subject::parse("course.course.published").expect("a subject"),
            &payload,
        )
        .expect("decoded")
        .expect("a course event");
        indexer.apply(*sequence, &event).expect("applied");
    }
    indexer.commit().expect("committed");
    assert_eq!(index.stream_identity().expect("readable"), None);
    index
}

/// Runs the consumer on `index` until `index` holds `sequence`, then stops it.
async fn consume_up_to(stream: &TestStream, index: &SearchIndex, sequence: u64) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(consumer::run(stream.config(), index.clone(), stopped));
    wait_for_sequence(index, sequence).await;
    stop.send(true).expect("the consumer listens");
    running.await.expect("joined").expect("a clean stop");
}

async fn wait_for_sequence(index: &SearchIndex, sequence: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while index.last_sequence().expect("readable") != sequence {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the index did not reach sequence {sequence} (it holds {})",
            index.last_sequence().expect("readable")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_ahead_of_a_recreated_stream_rebuilds_itself_from_it() {
    let stream = TestStream::create("recover").await;
    stream
        .publish_course("c-new-1", "Observability with tracing")
        .await;
    stream
        .publish_course("c-new-2", "Property based testing")
        .await;
    let index = index_of_an_older_stream();
    assert_eq!(top_course(&index, "mainframe").as_deref(), Some("c-gone"));

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(consumer::run(stream.config(), index.clone(), stopped));
    wait_for_sequence(&index, 2).await;
    // Only what this stream holds: the older stream's course is gone.
    assert_eq!(top_course(&index, "mainframe"), None);
    assert_eq!(top_course(&index, "tracing").as_deref(), Some("c-new-1"));
    assert_eq!(top_course(&index, "property").as_deref(), Some("c-new-2"));
    assert_eq!(index.stats().expect("stats").courses, 2);

    // And it goes on following the stream.
    stream.publish_course("c-new-3", "Chaos engineering").await;
    wait_for_sequence(&index, 3).await;
    assert_eq!(top_course(&index, "chaos").as_deref(), Some("c-new-3"));
    stop.send(true).expect("the consumer listens");
    running.await.expect("joined").expect("a clean stop");
    stream.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_replaces_the_index_with_the_stream_and_restarts_the_consumer_after_it() {
    let stream = TestStream::create("rebuild").await;
    stream.publish_course("c-a", "Distributed tracing").await;
    stream.publish_course("c-b", "Stream processing").await;

    // A consumer has run (the durable exists); then the index is damaged: it holds a course
    // the stream does not have.
    let index = SearchIndex::in_ram().expect("an index");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(consumer::run(stream.config(), index.clone(), stopped));
    wait_for_sequence(&index, 2).await;
    stop.send(true).expect("the consumer listens");
    running.await.expect("joined").expect("a clean stop");
    assert!(stream.has_consumer().await);
    {
        let mut indexer = index.indexer_with_budget(15_000_000).expect("the writer");
        let (_, payload) = published("c-stray", "Stray mainframe course");
        let event = CourseEvent::decode(
            &coursegraph_events::Subject::parse("course.course.published").expect("a subject"),
            &payload,
        )
        .expect("decoded")
        .expect("a course event");
        indexer.apply(2, &event).expect("applied");
        indexer.commit().expect("committed");
    }
    assert_eq!(top_course(&index, "mainframe").as_deref(), Some("c-stray"));

    let mut indexer = index.indexer_with_budget(15_000_000).expect("the writer");
    let mut reports = Vec::new();
    let rebuilt = consumer::rebuild(
        &stream.url,
        &stream.followed(),
        &mut indexer,
        |messages, sequence| {
            reports.push((messages, sequence));
        },
    )
    .await
    .expect("rebuilt");
    drop(indexer);
    assert_eq!(
        rebuilt,
        consumer::Rebuilt {
            messages: 2,
            last_sequence: 2
        }
    );
    assert_eq!(reports.last(), Some(&(2, 2)));
    assert_eq!(index.last_sequence().expect("readable"), 2);
    assert_eq!(top_course(&index, "mainframe"), None);
    assert_eq!(top_course(&index, "tracing").as_deref(), Some("c-a"));
    assert_eq!(top_course(&index, "stream").as_deref(), Some("c-b"));
    // The durable consumer is gone; the next run creates it after the rebuilt position and
    // applies only what comes next.
    assert!(!stream.has_consumer().await);
    stream.publish_course("c-c", "Event sourcing").await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(consumer::run(stream.config(), index.clone(), stopped));
    wait_for_sequence(&index, 3).await;
    assert_eq!(top_course(&index, "sourcing").as_deref(), Some("c-c"));
    assert_eq!(index.stats().expect("stats").courses, 3);
    stop.send(true).expect("the consumer listens");
    running.await.expect("joined").expect("a clean stop");
    stream.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_of_an_empty_stream_empties_the_index() {
    let stream = TestStream::create("empty").await;
    let index = index_of_an_older_stream();
    let mut indexer = index.indexer_with_budget(15_000_000).expect("the writer");
    let rebuilt = consumer::rebuild(&stream.url, &stream.followed(), &mut indexer, |_, _| {})
        .await
        .expect("rebuilt");
    assert_eq!(
        rebuilt,
        consumer::Rebuilt {
            messages: 0,
            last_sequence: 0
        }
    );
    assert_eq!(index.stats().expect("stats").known_courses, 0);
    assert_eq!(index.last_sequence().expect("readable"), 0);
    stream.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_ends_when_the_streams_last_message_was_removed() {
    let stream = TestStream::create("removed").await;
    stream.publish_course("c-kept", "Kept course").await;
    stream.publish_course("c-removed", "Removed course").await;
    let handle = stream
        .jetstream
        .get_stream(&stream.name)
        .await
        .expect("the stream");
    // The stream's last sequence stays 2, but no message will ever have it.
    assert!(handle.delete_message(2).await.expect("deleted"));

    let index = SearchIndex::in_ram().expect("an index");
    let mut indexer = index.indexer_with_budget(15_000_000).expect("the writer");
    let rebuilt = tokio::time::timeout(
        Duration::from_secs(15),
        consumer::rebuild(&stream.url, &stream.followed(), &mut indexer, |_, _| {}),
    )
    .await
    .expect("the rebuild ends")
    .expect("rebuilt");
    assert_eq!(
        rebuilt,
        consumer::Rebuilt {
            messages: 1,
            last_sequence: 2
        }
    );
    assert_eq!(top_course(&index, "kept").as_deref(), Some("c-kept"));
    assert_eq!(top_course(&index, "removed"), None);
    stream.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_recreated_and_grown_past_the_index_is_noticed_and_the_index_rebuilt() {
    let stream = TestStream::create("regrown").await;
    stream
        .publish_course("c-old-1", "Mainframe batch scheduling")
        .await;
    stream
        .publish_course("c-old-2", "Legacy COBOL maintenance")
        .await;

    // The subgraph follows the stream (on disk, as in production), then stops.
    let dir = tempfile::tempdir().expect("a folder");
    {
        let index = SearchIndex::open_or_create(dir.path()).expect("an index");
        consume_up_to(&stream, &index, 2).await;
        assert_eq!(
            index.stream_identity().expect("readable"),
            Some(stream.identity().await)
        );
        assert_eq!(top_course(&index, "cobol").as_deref(), Some("c-old-2"));
    }

    // While it is down, the stream is deleted and recreated, and grows past the index's
    // position (3 messages against the 2 the index applied): from sequences alone, the
    // index would look merely behind and take message 3 only.
    stream.recreate().await;
    stream
        .publish_course("c-new-1", "Observability with tracing")
        .await;
    stream
        .publish_course("c-new-2", "Property based testing")
        .await;
    stream.publish_course("c-new-3", "Chaos engineering").await;

    // The subgraph starts again on the same folder.
    let index = SearchIndex::open_or_create(dir.path()).expect("the index again");
    assert_eq!(index.last_sequence().expect("readable"), 2);
    consume_up_to(&stream, &index, 3).await;

    // Only the new stream's documents: the old history is gone, all of the new one is there
    // (1 and 2 included, which an index resuming after sequence 2 would have skipped).
    assert_eq!(top_course(&index, "mainframe"), None);
    assert_eq!(top_course(&index, "cobol"), None);
    assert_eq!(top_course(&index, "tracing").as_deref(), Some("c-new-1"));
    assert_eq!(top_course(&index, "property").as_deref(), Some("c-new-2"));
    assert_eq!(top_course(&index, "chaos").as_deref(), Some("c-new-3"));
    let stats = index.stats().expect("stats");
    assert_eq!((stats.courses, stats.known_courses), (3, 3));
    assert_eq!(
        index.stream_identity().expect("readable"),
        Some(stream.identity().await)
    );
    assert_eq!(index.last_sequence().expect("readable"), 3);
    stream.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_of_the_previous_version_is_adopted_while_its_durable_consumer_is_on_the_stream() {
    let stream = TestStream::create("adopt").await;
    stream.publish_course("c-a", "Distributed tracing").await;
    stream.publish_course("c-b", "Stream processing").await;
    // What the previous version leaves: the index at sequence 2, without a stream identity,
    // and its durable consumer on the stream. The index also holds a course the stream does
    // not have, which only a rebuild would remove.
    let index = index_of_the_previous_version(&[
        (1, "c-a", "Distributed tracing"),
        (2, "c-marker", "Marker kept unless rebuilt"),
    ]);
    stream.create_durable_after(2).await;
    stream.publish_course("c-c", "Event sourcing").await;

    consume_up_to(&stream, &index, 3).await;
    // Adopted, not rebuilt: the marker is still there, and so is everything up to 2; the
    // consumer went on from 3; the live identity is recorded from now on.
    assert_eq!(top_course(&index, "marker").as_deref(), Some("c-marker"));
    assert_eq!(top_course(&index, "sourcing").as_deref(), Some("c-c"));
    assert_eq!(top_course(&index, "processing"), None);
    assert_eq!(
        index.stream_identity().expect("readable"),
        Some(stream.identity().await)
    );
    stream.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_of_the_previous_version_without_its_durable_consumer_is_rebuilt_once() {
    let stream = TestStream::create("unrecorded").await;
    stream
        .publish_course("c-new-1", "Observability with tracing")
        .await;
    stream
        .publish_course("c-new-2", "Property based testing")
        .await;
    stream.publish_course("c-new-3", "Chaos engineering").await;
    // The previous version's index, behind the stream, and no durable consumer on it: the
    // stream may have been recreated while the subgraph was down.
    let index = index_of_the_previous_version(&[
        (1, "c-gone", "Mainframe batch scheduling"),
        (2, "c-gone-2", "Legacy COBOL maintenance"),
    ]);
    consume_up_to(&stream, &index, 3).await;
    assert_eq!(top_course(&index, "mainframe"), None);
    assert_eq!(top_course(&index, "tracing").as_deref(), Some("c-new-1"));
    assert_eq!(index.stats().expect("stats").courses, 3);
    assert_eq!(
        index.stream_identity().expect("readable"),
        Some(stream.identity().await)
    );

    // Once: the identity is recorded, so the next start resumes. A course slipped into the
    // index (not in the stream) survives it, which a second rebuild would have removed.
    {
        let mut indexer = index.indexer_with_budget(15_000_000).expect("the writer");
        let (_, payload) = published("c-stray", "Stray marker course");
        let event = CourseEvent::decode(
            &coursegraph_events::Subject::parse("course.course.published").expect("a subject"),
            &payload,
        )
        .expect("decoded")
        .expect("a course event");
        indexer.apply(3, &event).expect("applied");
        indexer.commit().expect("committed");
    }
    stream.publish_course("c-new-4", "Event sourcing").await;
    consume_up_to(&stream, &index, 4).await;
    assert_eq!(top_course(&index, "stray").as_deref(), Some("c-stray"));
    assert_eq!(top_course(&index, "sourcing").as_deref(), Some("c-new-4"));
    stream.delete().await;
}

/// Course `c-paid` at `version`, costing `price` minor units, with a free preview lesson
/// (body: "zanzibarite") and a lesson that is not one (body: "marmalade").
fn paid_course(version: i32, price: i64) -> CourseSnapshot {
    let lesson = |id: &str, title: &str, body: &str, free_preview| Lesson {
        lesson_id: id.into(),
        module_id: "m1".into(),
        module_title: "Basics".into(),
        title: title.into(),
        body_text: body.into(),
        free_preview,
        ..Default::default()
    };
    CourseSnapshot {
        course_id: "c-paid".into(),
        version,
        title: "Kubernetes in practice".into(),
        language: "en".into(),
        price: Some(Money {
            amount_minor: price,
            currency: "EUR".into(),
        }),
        published_at: "2025-01-31T12:34:56.789Z".into(),
        lessons: vec![
            lesson(
                "l-preview",
                "Welcome",
                "Meet the zanzibarite operator.",
                true,
            ),
            lesson(
                "l-paid",
                "Internals",
                "The marmalade trick, in depth.",
                false,
            ),
        ],
        ..Default::default()
    }
}

fn top_lesson(index: &SearchIndex, query: &str) -> Option<String> {
    index
        .search(&SearchRequest {
            query: query.into(),
            first: 10,
            ..Default::default()
        })
        .expect("a page")
        .hits
        .first()
        .map(|hit| hit.id.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_of_the_previous_format_is_emptied_on_open_and_the_stream_applied_again() {
    let stream = TestStream::create("format").await;
    stream
        .publish(published_snapshot(paid_course(1, 4_900)))
        .await;
    stream
        .publish_course("c-free", "Observability with tracing")
        .await;

    // The previous build followed the stream (on disk, its durable consumer acknowledged
    // both messages) and indexed every lesson's body, the paid one's included; its commit
    // payload records no format.
    let dir = tempfile::tempdir().expect("a folder");
    {
        let index = SearchIndex::open_or_create(dir.path()).expect("an index");
        consume_up_to(&stream, &index, 2).await;
        assert_eq!(top_lesson(&index, "marmalade"), None);
        let mut indexer = index.indexer_with_budget(15_000_000).expect("the writer");
        // This build indexes the body of a free course's lesson as the previous one indexed
        // every body.
        indexer
            .apply(2, &CourseEvent::Updated(paid_course(2, 0)))
            .expect("applied");
        indexer.commit().expect("committed");
        drop(indexer);
        assert_eq!(top_lesson(&index, "marmalade").as_deref(), Some("l-paid"));
        let mut writer: tantivy::IndexWriter = index
            .index()
            .writer_with_num_threads(1, 15_000_000)
            .expect("the writer");
        let payload = serde_json::json!({
            "last_sequence": 2,
            "stream": stream.identity().await,
        })
        .to_string();
        let mut prepared = writer.prepare_commit().expect("prepared");
        prepared.set_payload(&payload);
        prepared.commit().expect("committed");
        assert_eq!(index.format().expect("readable"), 1);
    }

    // The upgraded subgraph starts on the same folder: nothing of the old index is served,
    // and the consumer applies the whole stream again under this build's rules.
    let index = SearchIndex::open_or_create(dir.path()).expect("the index again");
    assert_eq!(
        index.format().expect("readable"),
        coursegraph_search::INDEX_FORMAT
    );
    assert_eq!(top_lesson(&index, "marmalade"), None);
    assert_eq!(index.last_sequence().expect("readable"), 0);
    consume_up_to(&stream, &index, 2).await;
    assert_eq!(top_lesson(&index, "marmalade"), None);
    assert_eq!(top_lesson(&index, "internals").as_deref(), Some("l-paid"));
    assert_eq!(
        top_lesson(&index, "zanzibarite").as_deref(),
        Some("l-preview")
    );
    assert_eq!(top_course(&index, "tracing").as_deref(), Some("c-free"));
    assert_eq!(
        index
            .course_state("c-paid")
            .expect("readable")
            .map(|s| s.version),
        Some(1)
    );
    stream.delete().await;
}
