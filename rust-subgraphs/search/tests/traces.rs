//! Traces (docs/observability.md): with tracing on, a `/graphql` request's SERVER span and an
//! event's CONSUMER span reach an OTLP/HTTP receiver, each in its caller's trace and under its
//! caller's span. The receiver is a real HTTP server run by this test that decodes what the
//! exporter sends (OTLP's JSON encoding), as a trace backend or `otlp-receiver.ts` does.
//!
//! Its own test binary: tracing is installed once per process, as in the service.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::stream::{Config as StreamConfig, StorageType};
use async_nats::HeaderMap as NatsHeaders;
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::routing::post;
use coursegraph_events::contracts::course::v1::{CoursePublished, CourseSnapshot};
use coursegraph_events::prost::Message as _;
use coursegraph_events::{Envelope, Subject, TraceParent};
use coursegraph_search::consumer::{self, ConsumerConfig, FollowedStream};
use coursegraph_search::{app, AppState, SearchIndex, Source};
use coursegraph_subgraph_kit::{init_logging, Tracing, TracingSettings};
use serde_json::Value;
use tower::ServiceExt;
use tracing_subscriber::filter::LevelFilter;

/// OTLP's SpanKind numbers.
const SERVER: u64 = 2;
const CONSUMER: u64 = 5;

/// One span as received: its service (the resource's `service.name`) beside the span's JSON.
#[derive(Debug, Clone)]
struct Received {
    service: String,
    span: Value,
}

impl Received {
    fn str(&self, field: &str) -> &str {
        self.span[field].as_str().unwrap_or_default()
    }

    fn attribute(&self, key: &str) -> Option<Value> {
        let attributes = self.span["attributes"].as_array()?;
        let value = &attributes.iter().find(|a| a["key"] == key)?["value"];
        ["stringValue", "intValue", "boolValue", "doubleValue"]
            .iter()
            .find_map(|kind| value.get(*kind).cloned())
    }
}

type Spans = Arc<Mutex<Vec<Received>>>;

/// Accepts `POST /v1/traces` in OTLP JSON and keeps every span; anything else is refused.
async fn receive(spans: Spans, headers: HeaderMap, body: Bytes) -> StatusCode {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    let Some(body) = json
        .then(|| serde_json::from_slice::<Value>(&body).ok())
        .flatten()
    else {
        return StatusCode::UNSUPPORTED_MEDIA_TYPE;
    };
    let mut kept = spans.lock().expect("not poisoned");
    for resource in body["resourceSpans"].as_array().into_iter().flatten() {
        let service = resource["resource"]["attributes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["key"] == "service.name")
            .and_then(|a| a["value"]["stringValue"].as_str())
            .unwrap_or_default()
            .to_owned();
        for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
            for span in scope["spans"].as_array().into_iter().flatten() {
                kept.push(Received {
                    service: service.clone(),
                    span: span.clone(),
                });
            }
        }
    }
    StatusCode::OK
}

/// The receiver (on a thread and runtime of its own, so it outlives each test's runtime) and
/// the process's tracing, exporting to it, started once.
fn receiver() -> &'static Spans {
    static STARTED: OnceLock<Spans> = OnceLock::new();
    STARTED.get_or_init(|| {
        let spans: Spans = Arc::default();
        let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
        let kept = Arc::clone(&spans);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("a port");
                tx.send(listener.local_addr().expect("an address"))
                    .expect("the test waits");
                let router = axum::Router::new().route(
                    "/v1/traces",
                    post(move |headers, body| receive(Arc::clone(&kept), headers, body)),
                );
                axum::serve(listener, router).await.expect("serving");
            });
        });
        let addr = rx.recv().expect("the receiver's address");
        let settings = TracingSettings {
            enabled: true,
            endpoint: format!("http://{addr}"),
            export_delay: Duration::from_millis(100),
            ..TracingSettings::default()
        };
        let tracing = Tracing::start("search", &settings)
            .expect("an exporter")
            .expect("tracing on");
        init_logging(LevelFilter::WARN, Some(&tracing)).expect("the only subscriber");
        // Exports until the process ends.
        std::mem::forget(tracing);
        spans
    })
}

/// The first span received that `matches`, waiting for the exporter's next batches; the
/// deadline only bounds the wait.
async fn span_where(what: &str, matches: impl Fn(&Received) -> bool) -> Received {
    let spans = receiver();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(found) = spans
            .lock()
            .expect("not poisoned")
            .iter()
            .find(|s| matches(s))
        {
            return found.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {what} arrived; received {:?}",
            spans
                .lock()
                .expect("not poisoned")
                .iter()
                .map(|s| (
                    s.service.clone(),
                    s.str("name").to_owned(),
                    s.str("traceId").to_owned()
                ))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A fresh, sampled `traceparent` (trace id, parent span id) of this test's own.
fn new_trace(tag: u8) -> (String, String, String) {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos());
    let trace_id = format!("{nanos:030x}{tag:02x}");
    let parent_id = format!("{:016x}", (nanos as u64) | 1);
    let traceparent = format!("00-{trace_id}-{parent_id}-01");
    (traceparent, trace_id, parent_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graphql_request_is_a_server_span_under_the_callers_span() {
    receiver();
    let (traceparent, trace_id, parent_id) = new_trace(1);
    let index = SearchIndex::in_ram().expect("an index");
    let request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header("traceparent", &traceparent)
        .body(Body::from(
            r#"{"query":"query Search { search(query: \"rust\") { totalCount } }"}"#,
        ))
        .expect("a request");
    let response = app(AppState::new(index))
        .oneshot(request)
        .await
        .expect("a response");
    assert_eq!(response.status(), StatusCode::OK);

    let span = span_where("server span", |s| {
        s.str("traceId") == trace_id && s.span["kind"] == SERVER
    })
    .await;
    assert_eq!(span.service, "search");
    assert_eq!(span.str("parentSpanId"), parent_id);
    assert_eq!(span.str("name"), "POST /graphql");
    assert_eq!(
        span.attribute("graphql.operation.type"),
        Some("query".into())
    );
    assert_eq!(
        span.attribute("graphql.operation.name"),
        Some("Search".into())
    );
    // No error: the status is unset (0).
    assert_eq!(span.span["status"]["code"].as_u64().unwrap_or(0), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_consumed_is_a_consumer_span_in_the_events_trace() {
    receiver();
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    // npm test starts NATS before cargo test; without it this test fails rather than passing unseen.
    let client = consumer::connect_nats(&url).await.unwrap_or_else(|err| {
        panic!("no NATS server at {url} (start it with `npm run stack -- up`): {err}")
    });
    let (traceparent, trace_id, parent_id) = new_trace(2);
    let stream_name = format!("SEARCHTRACES_{trace_id}");
    let prefix = format!("searchtraces.{trace_id}");
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
    let envelope = Envelope::new(
        Subject::parse("course.course.published").expect("a subject"),
        TraceParent::parse(&traceparent).expect("a traceparent"),
    );
    let mut headers = NatsHeaders::new();
    for (name, value) in envelope.to_headers() {
        headers.insert(name.as_str(), value.as_str());
    }
    let payload = CoursePublished {
        course: Some(CourseSnapshot {
            course_id: "c-traced".into(),
            version: 1,
            title: "Tracing across services".into(),
            language: "en".into(),
            published_at: "2025-01-31T12:34:56.789Z".into(),
            ..Default::default()
        }),
    }
    .encode_to_vec();
    jetstream
        .publish_with_headers(
            format!("{prefix}.course.course.published"),
            headers,
            payload.into(),
        )
        .await
        .expect("published")
        .await
        .expect("stored");

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

    let span = span_where("consumer span", |s| {
        s.str("traceId") == trace_id && s.span["kind"] == CONSUMER
    })
    .await;
    stop.send(true).expect("the consumer listens");
    running.await.expect("joined").expect("a clean stop");
    jetstream
        .delete_stream(&stream_name)
        .await
        .expect("cleaned up");

    assert_eq!(span.service, "search");
    assert_eq!(span.str("parentSpanId"), parent_id);
    assert_eq!(span.str("name"), "course.course.published process");
    assert_eq!(
        span.attribute("messaging.consumer.group.name"),
        Some("search-courses".into())
    );
    assert_eq!(
        span.attribute("messaging.message.id"),
        Some(envelope.id().to_string().into())
    );
    assert_eq!(
        span.attribute("coursegraph.event.outcome"),
        Some("applied".into())
    );
    assert_eq!(index.last_sequence().expect("readable"), 1);
}
