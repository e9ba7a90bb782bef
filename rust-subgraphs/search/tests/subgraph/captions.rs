//! Both streams feeding the one writer, against the real NATS JetStream at `NATS_URL`, on
//! streams of this test's own (never the platform's `COURSE` and `VIDEO`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::stream::{Config as StreamConfig, StorageType};
use async_nats::HeaderMap;
use coursegraph_events::contracts::course::v1::{CoursePublished, CourseSnapshot, Lesson};
use coursegraph_events::contracts::video::v1::{CaptionSegment, CaptionsChanged};
use coursegraph_events::prost::Message as _;
use coursegraph_events::{Envelope, Subject, TraceParent};
use coursegraph_search::consumer::{self, ConsumerConfig, FollowedStream};
use coursegraph_search::{DocKind, SearchIndex, SearchRequest, Source};

/// The envelope headers of an event of type `subject`.
fn headers(subject: &str) -> HeaderMap {
    let envelope = Envelope::new(
        Subject::parse(subject).expect("a subject"),
        TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
            .expect("a traceparent"),
    );
    let mut headers = HeaderMap::new();
    for (name, value) in envelope.to_headers() {
        headers.insert(name.as_str(), value.as_str());
    }
    headers
}

fn captions_changed(text: &str, changed_at: &str) -> Vec<u8> {
    CaptionsChanged {
        video_id: "v1".into(),
        lesson_id: "l-cap".into(),
        course_id: "c-cap".into(),
        languages: vec!["en".into()],
        language: "en".into(),
        segments: vec![CaptionSegment {
            start_ms: 61_500,
            end_ms: 64_000,
            text: text.into(),
        }],
        changed_at: changed_at.into(),
    }
    .encode_to_vec()
}

struct Streams {
    jetstream: async_nats::jetstream::Context,
    url: String,
    run_id: u128,
}

impl Streams {
    fn name(&self, source: Source) -> String {
        format!(
            "SEARCHCAP_{}_{}",
            source.as_str().to_uppercase(),
            self.run_id
        )
    }

    fn prefix(&self, source: Source) -> String {
        format!("searchcap.{}.{}", source.as_str(), self.run_id)
    }

    async fn create(&self, source: Source) {
        self.jetstream
            .create_stream(StreamConfig {
                name: self.name(source),
                subjects: vec![format!("{}.>", self.prefix(source))],
                storage: StorageType::Memory,
                ..Default::default()
            })
            .await
            .expect("a test stream");
    }

    async fn publish(&self, source: Source, subject: &str, payload: Vec<u8>) {
        self.jetstream
            .publish_with_headers(
                format!("{}.{subject}", self.prefix(source)),
                headers(subject),
                payload.into(),
            )
            .await
            .expect("published")
            .await
            .expect("stored");
    }

    fn config(&self) -> ConsumerConfig {
        let followed = |source, consumer: &str| FollowedStream {
            source,
            stream: self.name(source),
            subjects: vec![format!("{}.>", self.prefix(source))],
            consumer: consumer.into(),
        };
        ConsumerConfig {
            nats_url: self.url.clone(),
            streams: vec![
                followed(Source::Course, "search-courses"),
                followed(Source::Captions, "search-captions"),
            ],
        }
    }

    /// Runs the consumer until the index holds `course` and `captions` sequences, then stops it.
    async fn consume_up_to(&self, index: &SearchIndex, course: u64, captions: u64) {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let running = tokio::spawn(consumer::run(self.config(), index.clone(), stopped));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let at = (
                index.last_sequence_of(Source::Course).expect("readable"),
                index.last_sequence_of(Source::Captions).expect("readable"),
            );
            if at == (course, captions) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the consumer did not reach {course}/{captions}; at {at:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        stop.send(true).expect("the consumer listens");
        running.await.expect("joined").expect("a clean stop");
    }
}

/// `lesson@start:language` of the caption hits of `query`.
fn moments(index: &SearchIndex, query: &str) -> Vec<String> {
    let page = index
        .search(&SearchRequest {
            query: query.into(),
            first: 10,
            ..Default::default()
        })
        .expect("a page");
    page.hits
        .iter()
        .filter(|hit| hit.kind == DocKind::Caption)
        .filter_map(|hit| {
            let moment = hit.caption.as_ref()?;
            Some(format!(
                "{}@{}:{}",
                hit.id, moment.start_ms, moment.language
            ))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captions_and_courses_from_their_two_streams_meet_in_one_index() {
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let client = consumer::connect_nats(&url).await.unwrap_or_else(|err| {
        panic!("no NATS server at {url} (start it with `npm run stack -- up`): {err}")
    });
    let streams = Streams {
        jetstream: async_nats::jetstream::new(client),
        url,
        run_id: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    };
    streams.create(Source::Course).await;
    streams.create(Source::Captions).await;

    // The captions come first (uploaded before publication), then the course.
    let caption = captions_changed("Here the handshake completes", "2026-12-07T10:00:00Z");
    streams
        .publish(Source::Captions, "video.captions.changed", caption)
        .await;
    // Another event of the video stream: its sequence is recorded, nothing indexed.
    streams
        .publish(Source::Captions, "video.video.ready", Vec::new())
        .await;
    let course = CoursePublished {
        course: Some(CourseSnapshot {
            course_id: "c-cap".into(),
            version: 1,
            title: "TCP from the wire up".into(),
            language: "en".into(),
            lessons: vec![Lesson {
                lesson_id: "l-cap".into(),
                title: "Three-way handshake".into(),
                ..Default::default()
            }],
            ..Default::default()
        }),
    };
    streams
        .publish(
            Source::Course,
            "course.course.published",
            course.encode_to_vec(),
        )
        .await;

    let index = SearchIndex::in_ram().expect("an index");
    streams.consume_up_to(&index, 1, 2).await;
    assert_eq!(moments(&index, "completes"), vec!["l-cap@61500:en"]);

    // The video stream recreated (a reset stack): only the captions are applied again.
    let captions_stream = streams.name(Source::Captions);
    streams
        .jetstream
        .delete_stream(&captions_stream)
        .await
        .expect("deleted");
    streams.create(Source::Captions).await;
    let caption = captions_changed("Now the window slides", "2026-12-07T09:00:00Z");
    streams
        .publish(Source::Captions, "video.captions.changed", caption)
        .await;
    streams.consume_up_to(&index, 1, 1).await;
    // The older time does not lose to the captions of the old stream: they were emptied.
    assert_eq!(moments(&index, "slides"), vec!["l-cap@61500:en"]);
    assert!(moments(&index, "completes").is_empty());
    assert_eq!(
        index
            .stream_identity_of(Source::Captions)
            .expect("readable")
            .map(|identity| identity.name),
        Some(captions_stream.clone())
    );

    for source in Source::ALL {
        streams
            .jetstream
            .delete_stream(streams.name(source))
            .await
            .expect("cleaned up");
    }
}
