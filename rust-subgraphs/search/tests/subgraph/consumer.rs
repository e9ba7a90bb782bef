//! The consumer against the real NATS JetStream at `NATS_URL` (started by `npm test`), on a
//! stream of its own so it never touches the platform's `COURSE` stream. Skipped, with a
//! message, when no NATS server answers (a bare `cargo test`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::stream::{Config as StreamConfig, StorageType};
use async_nats::HeaderMap;
use coursegraph_events::contracts::course::v1::{CoursePublished, CourseSnapshot};
use coursegraph_events::prost::Message as _;
use coursegraph_events::{Envelope, Subject, TraceParent};
use coursegraph_search::consumer::{self, ConsumerConfig};
use coursegraph_search::{SearchIndex, SearchRequest};

fn published(id: &str, title: &str) -> (HeaderMap, Vec<u8>) {
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
        course: Some(CourseSnapshot {
            course_id: id.into(),
            version: 1,
            title: title.into(),
            language: "en".into(),
            published_at: "2025-01-31T12:34:56.789Z".into(),
            ..Default::default()
        }),
    }
    .encode_to_vec();
    (headers, payload)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_applies_events_in_order_and_commits_their_sequence() {
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    // npm test starts NATS before cargo test; without it this test fails rather than passing unseen.
    let client = async_nats::connect(&url).await.unwrap_or_else(|err| {
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
        stream: stream_name.clone(),
        subjects: vec![format!("{prefix}.>")],
        consumer: "search-courses".into(),
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
