//! The outbox and its relay against the real PostgreSQL and NATS JetStream (`npm test` starts
//! them; `POSTGRES_ADMIN_URL`, `POSTGRES_DB`, `NATS_URL`). Every test has its own schema (the
//! video context's migrations applied to it) and its own stream and subjects, and removes both,
//! so tests run in parallel and twice in a row.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use coursegraph_events::contracts::video::v1::{CaptionSegment, CaptionsChanged};
use coursegraph_video::outbox::{self, Relay, RelayConfig, Round, DEFAULT_MAX_EVENT_BYTES};
use coursegraph_video::store::{self, StoreError};
use deadpool_postgres::Pool;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use uuid::Uuid;

/// How long any wait for something to happen may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);

fn nats_url() -> String {
    std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4223".into())
}

async fn connect(url: &str) -> async_nats::Client {
    // npm test starts NATS before cargo test; without it these tests fail rather than pass unseen.
    coursegraph_events::nats::connect(url)
        .await
        .unwrap_or_else(|err| {
            panic!(
                "no NATS server at {url} (start it with `node scripts/stack.mjs up --test`): {err}"
            )
        })
}

/// The test database (`POSTGRES_DB`) as the admin (`POSTGRES_ADMIN_URL`).
fn admin_url() -> String {
    let admin = std::env::var("POSTGRES_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".into());
    let database = std::env::var("POSTGRES_DB").unwrap_or_else(|_| "coursegraph_test".into());
    let (server, _) = admin.rsplit_once('/').expect("a database URL");
    format!("{server}/{database}")
}

/// A schema of its own with the video context's tables (its migrations, as Prisma applies them),
/// and a pool whose connections use it.
struct Scratch {
    schema: String,
    pool: Pool,
    stream: String,
    /// The subjects' first segment, captured by `stream` alone.
    context: String,
    jetstream: async_nats::jetstream::Context,
}

impl Scratch {
    async fn open() -> Self {
        let id = Uuid::now_v7().simple().to_string();
        let schema = format!("outbox_test_{id}");
        let admin = store::pool(&admin_url()).expect("the admin pool");
        let client = admin
            .get()
            .await
            .expect("PostgreSQL (node scripts/stack.mjs up --test)");
        client
            .batch_execute(&format!(
                "create schema {schema}; set search_path = {schema}"
            ))
            .await
            .expect("the scratch schema");
        let migrations = concat!(env!("CARGO_MANIFEST_DIR"), "/../../prisma/video/migrations");
        let mut files: Vec<_> = std::fs::read_dir(migrations)
            .expect("the migrations folder")
            .filter_map(|e| e.ok().map(|e| e.path().join("migration.sql")))
            .filter(|p| p.exists())
            .collect();
        files.sort();
        for file in files {
            client
                .batch_execute(&std::fs::read_to_string(&file).expect("a migration"))
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        }
        let pool = store::pool(&format!(
            "{}?options=-c%20search_path%3D{schema}",
            admin_url()
        ))
        .expect("the test pool");
        let client = connect(&nats_url()).await;
        Self {
            schema,
            pool,
            stream: format!("OUTBOX_TEST_{id}"),
            context: format!("t{id}"),
            jetstream: async_nats::jetstream::new(client),
        }
    }

    fn relay_config(&self, max_attempts: u32) -> RelayConfig {
        RelayConfig {
            stream: self.stream.clone(),
            subjects: vec![format!("{}.>", self.context)],
            max_attempts,
            publish_timeout: Duration::from_secs(2),
        }
    }

    fn subject(&self, event: &str) -> String {
        format!("{}.video.{event}", self.context)
    }

    /// Writes a row as the outbox does, bypassing its size check (as a row written under a larger
    /// `EVENT_MAX_BYTES` would be).
    async fn insert(&self, subject: &str, payload: &[u8]) -> Uuid {
        self.insert_with(subject, payload, &outbox::new_traceparent())
            .await
    }

    async fn insert_with(&self, subject: &str, payload: &[u8], traceparent: &str) -> Uuid {
        let id = Uuid::now_v7();
        let client = self.pool.get().await.expect("a connection");
        store::write_event(&client, id, subject, payload, traceparent)
            .await
            .expect("the row is written");
        id
    }

    /// (published, attempts, last_error) of a row.
    async fn row(&self, id: Uuid) -> (bool, i32, Option<String>) {
        let client = self.pool.get().await.expect("a connection");
        let row = client
            .query_one(
                "select published_at is not null, attempts, last_error from outbox_events where id = $1",
                &[&id],
            )
            .await
            .expect("the row");
        (row.get(0), row.get(1), row.get(2))
    }

    async fn count(&self) -> i64 {
        let client = self.pool.get().await.expect("a connection");
        client
            .query_one("select count(*) from outbox_events", &[])
            .await
            .expect("the count")
            .get(0)
    }

    /// The event ids in the test stream, in stream order.
    async fn stream_ids(&self) -> Vec<Uuid> {
        let mut stream = self
            .jetstream
            .get_stream(&self.stream)
            .await
            .expect("the test stream");
        let stored = stream.info().await.expect("its info").state.messages;
        let mut ids = Vec::new();
        for sequence in 1..=stored {
            let message = stream
                .get_raw_message(sequence)
                .await
                .expect("a stored message");
            let id = message
                .headers
                .get(async_nats::header::NATS_MESSAGE_ID)
                .expect("the event id");
            ids.push(Uuid::parse_str(id.as_str()).expect("a UUID event id"));
        }
        ids
    }

    async fn remove(self) {
        let _ = self.jetstream.delete_stream(&self.stream).await;
        let admin = store::pool(&admin_url()).expect("the admin pool");
        let client = admin.get().await.expect("an admin connection");
        client
            .batch_execute(&format!("drop schema {} cascade", self.schema))
            .await
            .expect("the scratch schema is dropped");
    }
}

/// Runs rounds (polling every 50 ms) until `done` holds of the last one, or panics after [`PATIENCE`].
async fn rounds_until<F, Fut>(relay: &mut Relay, what: &str, mut done: F) -> Round
where
    F: FnMut(Round) -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let round = relay.round().await.unwrap_or_default();
        if done(round).await {
            return round;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_refused_row_backs_off_then_is_parked_while_the_rows_behind_it_go_on() {
    let scratch = Scratch::open().await;
    // No stream takes this subject: the server refuses it (no responders), every time.
    let refused = scratch.insert("nostream.video.ready", b"refused").await;
    let first = scratch.insert(&scratch.subject("ready"), b"first").await;
    let client = connect(&nats_url()).await;
    let mut relay = Relay::new(client, scratch.pool.clone(), scratch.relay_config(3));

    let round = relay.round().await.expect("a round");
    assert_eq!(
        (round.rows, round.published, round.refused, round.parked),
        (2, 1, 1, 0)
    );
    let (published, attempts, error) = scratch.row(refused).await;
    assert!(!published);
    assert_eq!(attempts, 1);
    assert_eq!(
        error.as_deref(),
        Some("no JetStream stream takes nostream.video.ready (the server has no responders for it: a missing stream, or JetStream off)")
    );
    assert!(
        scratch.row(first).await.0,
        "the row behind it was published"
    );

    // Refused again after its backoff, then parked at the third refusal.
    rounds_until(
        &mut relay,
        "the refused row to be parked",
        |round| async move { round.parked == 1 },
    )
    .await;
    assert_eq!(scratch.row(refused).await.1, 3);
    // Parked: skipped, while a row written after it is published.
    let second = scratch.insert(&scratch.subject("ready"), b"second").await;
    let round = relay.round().await.expect("a round");
    assert_eq!((round.rows, round.published, round.refused), (1, 1, 0));
    let (published, attempts, _) = scratch.row(refused).await;
    assert!(!published);
    assert_eq!(attempts, 3);
    assert_eq!(scratch.stream_ids().await, [first, second]);

    // A re-drive (what `node scripts/events.mjs outbox redrive video` does) gives it back.
    let client = scratch.pool.get().await.unwrap();
    client
        .execute(
            "update outbox_events set attempts = 0 where id = $1",
            &[&refused],
        )
        .await
        .unwrap();
    let round = relay.round().await.expect("a round");
    assert_eq!((round.rows, round.refused), (1, 1));
    scratch.remove().await;
}

#[tokio::test]
async fn rows_too_large_for_the_server_or_not_events_are_parked_at_once() {
    let scratch = Scratch::open().await;
    let client = connect(&nats_url()).await;
    let max_payload = client.server_info().max_payload;
    let too_large = scratch
        .insert(&scratch.subject("ready"), &vec![7u8; max_payload])
        .await;
    let bad_trace = scratch
        .insert_with(&scratch.subject("ready"), b"x", "not-a-traceparent")
        .await;
    let fine = scratch.insert(&scratch.subject("ready"), b"fine").await;
    let mut relay = Relay::new(client, scratch.pool.clone(), scratch.relay_config(5));

    let round = relay.round().await.expect("a round");
    assert_eq!(
        (round.rows, round.published, round.refused, round.parked),
        (3, 1, 2, 2)
    );
    let (published, attempts, error) = scratch.row(too_large).await;
    assert!(!published);
    assert_eq!(attempts, 5, "parked at once");
    let error = error.unwrap();
    assert!(
        error.starts_with("event is ")
            && error.ends_with(&format!(
                "bytes with its headers; the NATS server accepts at most {max_payload} (max_payload)"
            )),
        "{error}"
    );
    let (_, attempts, error) = scratch.row(bad_trace).await;
    assert_eq!(attempts, 5);
    assert!(error
        .unwrap()
        .starts_with("cannot be published as an event:"));
    assert_eq!(scratch.stream_ids().await, [fine]);
    assert_eq!(relay.round().await.expect("a round").rows, 0);
    scratch.remove().await;
}

#[tokio::test]
async fn an_event_too_large_is_refused_when_written_and_nothing_is_written() {
    let scratch = Scratch::open().await;
    let event = |text_bytes: usize| CaptionsChanged {
        video_id: Uuid::now_v7().to_string(),
        lesson_id: Uuid::now_v7().to_string(),
        course_id: Uuid::now_v7().to_string(),
        languages: vec!["en".into()],
        language: "en".into(),
        segments: vec![CaptionSegment {
            start_ms: 0,
            end_ms: 1000,
            text: "a".repeat(text_bytes),
        }],
        changed_at: "2026-12-07T00:00:00.000Z".into(),
    };
    let mut client = scratch.pool.get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    let error = outbox::write(&tx, &event(DEFAULT_MAX_EVENT_BYTES))
        .await
        .expect_err("too large");
    let StoreError::EventTooLarge(too_large) = &error else {
        panic!("{error}");
    };
    assert_eq!(too_large.subject, "video.captions.changed");
    assert_eq!(too_large.limit, DEFAULT_MAX_EVENT_BYTES);
    assert!(too_large.bytes > DEFAULT_MAX_EVENT_BYTES);
    assert_eq!(
        error.to_string(),
        format!(
            "This change is too large to publish: its video.captions.changed event would be {} bytes, and events may be at most {DEFAULT_MAX_EVENT_BYTES} bytes. Make it smaller (e.g. shorter texts) and try again.",
            too_large.bytes
        )
    );
    // Smaller, it is written.
    outbox::write(&tx, &event(1000)).await.expect("written");
    tx.commit().await.unwrap();
    drop(client);
    assert_eq!(scratch.count().await, 1);
    scratch.remove().await;
}

/// A TCP relay to NATS that can be cut (its connections dropped, new ones refused) and restored:
/// an outage without stopping the shared server.
struct Cuttable {
    url: String,
    open: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Cuttable {
    async fn start(url: &str) -> Self {
        let (scheme_and_user, target) = url.rsplit_once('@').map_or_else(
            || {
                (
                    "nats://".to_owned(),
                    url.trim_start_matches("nats://").to_owned(),
                )
            },
            |(front, target)| (format!("{front}@"), target.to_owned()),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let addr = listener.local_addr().expect("its address");
        let open = Arc::new(AtomicBool::new(true));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (o, l) = (open.clone(), links.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !o.load(Ordering::SeqCst) {
                    continue; // dropped: refused while cut
                }
                let target = target.clone();
                l.lock().expect("the lock").push(tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                }));
            }
        });
        Self {
            url: format!("{scheme_and_user}{addr}"),
            open,
            links,
            accept,
        }
    }

    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for link in self.links.lock().expect("the lock").drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

impl Drop for Cuttable {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

#[tokio::test]
async fn an_outage_only_delays_counting_nothing_toward_parking() {
    let scratch = Scratch::open().await;
    let nats = Cuttable::start(&nats_url()).await;
    let client = connect(&nats.url).await;
    let mut relay = Relay::new(client, scratch.pool.clone(), scratch.relay_config(1));
    let before = scratch.insert(&scratch.subject("ready"), b"before").await;
    assert_eq!(relay.round().await.expect("a round").published, 1);

    nats.cut();
    let during = scratch.insert(&scratch.subject("ready"), b"during").await;
    // A round publishes into the outage (the row is delayed), or cannot declare the stream:
    // either way nothing is counted, even with a single attempt allowed.
    let mut outage_seen = false;
    for _ in 0..2 {
        match relay.round().await {
            Ok(round) => {
                assert_eq!((round.published, round.refused, round.parked), (0, 0, 0));
                outage_seen |= round.delayed > 0;
            }
            Err(_) => outage_seen = true, // the stream cannot even be declared
        }
    }
    assert!(outage_seen);
    let (published, attempts, _) = scratch.row(during).await;
    assert!(!published);
    assert_eq!(attempts, 0, "an outage is not the row's fault");

    nats.restore();
    rounds_until(
        &mut relay,
        "the delayed row to be published",
        |round| async move { round.published == 1 },
    )
    .await;
    assert_eq!(scratch.row(during).await.1, 0);
    assert_eq!(scratch.stream_ids().await, [before, during]);
    scratch.remove().await;
}
