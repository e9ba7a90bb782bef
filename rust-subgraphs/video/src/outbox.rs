//! Events out: the video context's outbox and its relay, the Rust twin of the TypeScript kit's
//! (packages/service-kit/src/events/outbox.ts, relay.ts). An event is written to `outbox_events`
//! in the same transaction as the change it announces; the relay publishes committed rows to the
//! `VIDEO` stream in id order with `Nats-Msg-Id` = the event id, so a row published twice (a
//! crash between the publish and its mark) is dropped by JetStream's duplicate window.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::stream::{Config as StreamConfig, DiscardPolicy, StorageType};
use coursegraph_events::{Envelope, Event, Subject, TraceParent};
use deadpool_postgres::{GenericClient, Pool};
use ring::rand::{SecureRandom, SystemRandom};
use tokio::sync::{watch, Notify};
use uuid::Uuid;

use crate::store::{self, StoreError};

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

/// Writes `event` to the outbox in the caller's transaction; returns its id.
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn write<E: Event>(db: &impl GenericClient, event: &E) -> Result<Uuid, StoreError> {
    let id = Uuid::now_v7();
    store::write_event(
        db,
        id,
        E::SUBJECT,
        &prost::Message::encode_to_vec(event),
        &new_traceparent(),
    )
    .await?;
    Ok(id)
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

/// Publishes committed outbox rows until `stop` turns true.
pub async fn relay(
    client: async_nats::Client,
    db: Pool,
    waker: RelayWaker,
    mut stop: watch::Receiver<bool>,
) {
    let jetstream = async_nats::jetstream::new(client);
    let mut stream_ready = false;
    loop {
        if *stop.borrow() {
            return;
        }
        if !stream_ready {
            stream_ready = ensure_stream(&jetstream).await;
        }
        let published = if stream_ready {
            publish_batch(&jetstream, &db).await
        } else {
            0
        };
        if published as i64 >= BATCH {
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep(POLL_INTERVAL) => {}
            () = waker.0.notified() => {}
            _ = stop.changed() => {}
        }
    }
}

/// Declares the `VIDEO` stream (creates it, or updates its limits); false when NATS refused.
async fn ensure_stream(jetstream: &async_nats::jetstream::Context) -> bool {
    let config = StreamConfig {
        name: STREAM.into(),
        subjects: vec!["video.>".into()],
        storage: StorageType::File,
        discard: DiscardPolicy::Old,
        max_age: STREAM_MAX_AGE,
        max_bytes: STREAM_MAX_BYTES,
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    };
    let result = match jetstream.get_stream(STREAM).await {
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
    if let Err(error) = &result {
        tracing::warn!(stream = STREAM, error = %error, "cannot declare the event stream; retrying");
    }
    result.is_ok()
}

/// Publishes one batch; returns how many rows were published.
async fn publish_batch(jetstream: &async_nats::jetstream::Context, db: &Pool) -> usize {
    let client = match db.get().await {
        Ok(client) => client,
        Err(error) => {
            tracing::warn!(error = %error, "outbox relay: no database connection");
            return 0;
        }
    };
    let rows = match store::unpublished_events(&client, BATCH).await {
        Ok(rows) => rows,
        Err(error) => {
            tracing::warn!(error = %error, "outbox relay: cannot read the outbox");
            return 0;
        }
    };
    let mut published = 0;
    for row in rows {
        let headers = match headers(&row) {
            Ok(headers) => headers,
            Err(reason) => {
                // A row the relay cannot publish must not block those behind it forever: it
                // is marked failed and left for an operator (`npm run events` shows it).
                tracing::error!(event_id = %row.id, subject = row.subject, reason, "outbox row cannot be published");
                let _ = store::mark_publish_failed(&client, row.id, &reason).await;
                continue;
            }
        };
        let sent = jetstream
            .publish_with_headers(row.subject.clone(), headers, row.payload.clone().into())
            .await;
        let acked = match sent {
            Ok(ack) => ack.await.map(|_| ()).map_err(|e| e.to_string()),
            Err(error) => Err(error.to_string()),
        };
        match acked {
            Ok(()) => {
                if let Err(error) = store::mark_published(&client, row.id).await {
                    tracing::warn!(event_id = %row.id, error = %error, "outbox relay: cannot mark published (it will be re-published and dropped as a duplicate)");
                    return published;
                }
                published += 1;
                tracing::debug!(event_id = %row.id, subject = row.subject, "event published");
            }
            Err(error) => {
                tracing::warn!(event_id = %row.id, subject = row.subject, error, "outbox relay: publish failed; retrying");
                let _ = store::mark_publish_failed(&client, row.id, &error).await;
                // In order: nothing behind it goes first.
                return published;
            }
        }
    }
    published
}

fn headers(row: &store::OutboxRow) -> Result<async_nats::HeaderMap, String> {
    let subject = Subject::parse(&row.subject).map_err(|e| e.to_string())?;
    let traceparent = TraceParent::parse(&row.traceparent).map_err(|e| e.to_string())?;
    let envelope = Envelope::from_parts(row.id, subject, row.created_at, traceparent)
        .map_err(|e| e.to_string())?;
    let mut headers = async_nats::HeaderMap::new();
    for (name, value) in envelope.to_headers() {
        headers.insert(name.as_str(), value.as_str());
    }
    Ok(headers)
}
