//! The video subgraph's binary: configuration, logging, database, storage, events, the
//! transcoding worker and the HTTP server.
//!
//! - `coursegraph-video` serves the subgraph (and runs `VIDEO_WORKER_CONCURRENCY` transcodes).
//! - `coursegraph-video --print-sdl` prints the subgraph's SDL (for composition) and exits.

use std::process::ExitCode;
use std::sync::Arc;

use coursegraph_subgraph_kit::{init_logging, shutdown_signal, ErrorChain, Tracing};
use coursegraph_video::auth::{AuthConfig, AuthVerifier, DEFAULT_AUTH_CACHE_SIZE};
use coursegraph_video::config::Config;
use coursegraph_video::graphql::{self, Services};
use coursegraph_video::jobs::{self, JobQueue, QueueConfig};
use coursegraph_video::outbox::{self, RelayWaker};
use coursegraph_video::pipeline::Pipeline;
use coursegraph_video::playback::{Playback, MOUNT};
use coursegraph_video::projection::{self, Source};
use coursegraph_video::serve::Playback as PlaybackFiles;
use coursegraph_video::signing::{Keyring, SigningKey};
use coursegraph_video::storage::LocalStorage;
use coursegraph_video::transcode::TranscodeOptions;
use coursegraph_video::tus::CompletedUpload;
use coursegraph_video::{app, captions, store, uploads};

#[tokio::main(worker_threads = 2)]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => {}
        [flag] if flag == "--print-sdl" => {
            print!("{}", graphql::sdl());
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("usage: coursegraph-video [--print-sdl]; got {args:?}");
            return ExitCode::from(2);
        }
    }
    let config = match Config::from_vars(|name| std::env::var(name).ok()) {
        Ok(config) => config,
        Err(errors) => {
            let lines: Vec<String> = errors.iter().map(|error| format!("  {error}")).collect();
            eprintln!("video: invalid configuration:\n{}", lines.join("\n"));
            return ExitCode::from(2);
        }
    };
    let traces = match Tracing::start("video", &config.tracing) {
        Ok(traces) => traces,
        Err(error) => {
            eprintln!("video: {}", ErrorChain(&error));
            return ExitCode::FAILURE;
        }
    };
    if let Err(error) = init_logging(config.log_level, traces.as_ref()) {
        eprintln!("video: cannot start logging: {error}");
        return ExitCode::FAILURE;
    }
    let code = match serve(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!(error = message, "video subgraph failed");
            ExitCode::FAILURE
        }
    };
    if let Some(traces) = traces {
        // Blocks until the last batch is sent: off the runtime's workers.
        let _ = tokio::task::spawn_blocking(move || traces.shutdown()).await;
    }
    code
}

async fn serve(config: Config) -> Result<(), String> {
    outbox::set_max_event_bytes(config.event_max_bytes);
    let db = store::pool(&config.database_url).map_err(|e| e.to_string())?;
    let storage = Arc::new(LocalStorage::open(&config.storage_dir).await.map_err(|e| {
        format!(
            "cannot open storage at {}: {e}",
            config.storage_dir.display()
        )
    })?);
    let auth = AuthVerifier::new(AuthConfig {
        jwks_url: config.jwks_url.clone(),
        issuer: config.auth_issuer.clone(),
        audience: config.auth_audience.clone(),
        redis_url: config.redis_url.clone(),
        cache_size: DEFAULT_AUTH_CACHE_SIZE,
    })
    .await
    .map_err(|e| e.to_string())?;
    let key = SigningKey::new("k1", config.signing_secret.as_bytes()).map_err(|e| e.to_string())?;
    let keys = Keyring::new(key);
    let nats = coursegraph_events::nats::connect(&config.nats_url)
        .await
        .map_err(|e| format!("cannot connect to NATS: {}", ErrorChain(&e)))?;
    let queue = Arc::new(
        JobQueue::open(
            nats.clone(),
            QueueConfig {
                ack_wait: config.job_ack_wait,
                max_attempts: config.job_attempts,
                ..QueueConfig::default()
            },
        )
        .await
        .map_err(|e| format!("cannot open the job queue: {e}"))?,
    );
    let relay = RelayWaker::default();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for source in [Source::Courses, Source::Enrolments] {
        tasks.push(tokio::spawn(projection::run(
            nats.clone(),
            db.clone(),
            source,
            stopped.clone(),
        )));
    }
    tasks.push(tokio::spawn(outbox::relay(
        nats.clone(),
        db.clone(),
        relay.clone(),
        config.outbox_max_attempts,
        stopped.clone(),
    )));

    // Completed uploads: recorded and queued by a task, after healing what a crash left.
    match uploads::recover(&storage, &db, &queue).await {
        Ok((healed, requeued)) => {
            tracing::info!(healed, requeued, "uploads recovered");
        }
        Err(error) => tracing::warn!(error, "cannot recover uploads at start-up; continuing"),
    }
    let (completed, completions) = tokio::sync::mpsc::unbounded_channel::<CompletedUpload>();
    tasks.push(tokio::spawn(uploads::run_completions(
        db.clone(),
        Arc::clone(&queue),
        completions,
    )));
    if config.worker_concurrency > 0 {
        let pipeline = Arc::new(Pipeline {
            db: db.clone(),
            storage: Arc::clone(&storage),
            // Half the ack wait: a job redelivered because its worker died (no heartbeat for
            // the ack wait) always finds the lease run out, and is taken over at once.
            lease: config.job_ack_wait / 2,
            relay: relay.clone(),
            transcode: TranscodeOptions::default(),
        });
        let queue = Arc::clone(&queue);
        let stopped = stopped.clone();
        let concurrency = config.worker_concurrency;
        tasks.push(tokio::spawn(async move {
            if let Err(error) = jobs::run_worker(&queue, pipeline, concurrency, stopped).await {
                tracing::error!(error = %error, "transcoding worker stopped");
            }
        }));
    }

    let media_root = storage.root().join("media");
    let playback_files =
        Arc::new(PlaybackFiles::new(keys.clone(), media_root, MOUNT).map_err(|e| e.to_string())?);
    let services = Services {
        db: db.clone(),
        playback: Arc::new(Playback::new(keys, &config.public_url, config.playback_ttl)),
        captions: Arc::new(captions::Captions {
            db: db.clone(),
            storage: Arc::clone(&storage),
            relay,
        }),
    };
    let hook = move |upload: CompletedUpload| {
        if completed.send(upload).is_err() {
            tracing::warn!("upload completed while stopping; it is recorded at the next start");
        }
    };
    let router = app::router(app::Routes {
        schema: graphql::schema(services),
        limits: config.limits,
        auth,
        db,
        storage,
        completions: Arc::new(hook),
        max_upload_bytes: config.max_upload_bytes,
        playback: playback_files,
        metrics: coursegraph_subgraph_kit::GraphqlMetrics::new(
            "video",
            coursegraph_subgraph_kit::project_operation_names(),
            config.metrics.clone(),
        ),
    });
    let addr = config.listen_addr();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    tracing::info!(%addr, storage = %config.storage_dir.display(), workers = config.worker_concurrency, "video subgraph listening");
    // With the peer's address, which `/metrics` is allowed by.
    let served = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await;
    let _ = stop.send(true);
    for task in tasks {
        // Each stops at the signal; the worker hands its running jobs back to the queue first.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(20), task).await;
    }
    served.map_err(|e| format!("server failed: {e}"))
}
