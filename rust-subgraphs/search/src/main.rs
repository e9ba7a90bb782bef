//! The search subgraph's binary: configuration, logging, index, consumer, HTTP server.
//!
//! - `coursegraph-search` serves the subgraph.
//! - `coursegraph-search --print-sdl` prints the subgraph's SDL (for composition) and exits.
//! - `coursegraph-search rebuild [search-courses | search-captions]` rebuilds the index in
//!   `SEARCH_INDEX_DIR` from the course stream, the video stream (captions), or both in turn
//!   when no consumer is named, records each stream's identity, and exits (the subgraph serving
//!   that folder must be stopped; `node scripts/replay.mjs search <consumer>` runs this). Not
//!   needed after a stream is recreated: serving rebuilds by itself then.
//!
//! An index folder of another schema (an older build's) is emptied when opened, serving or
//! rebuilding: the index is a projection of the streams, which have it all, and the consumer
//! applies them again.

use std::process::ExitCode;

use coursegraph_search::config::Config;
use coursegraph_search::consumer::{self, ConsumerConfig, FollowedStream};
use coursegraph_search::{app, sdl, AppState, ErrorChain, SearchError, SearchIndex};
use coursegraph_subgraph_kit::{init_logging, shutdown_signal, Tracing};

/// What the command line asks for.
enum Command {
    Serve,
    PrintSdl,
    /// Rebuild from these streams, in turn.
    Rebuild(Vec<FollowedStream>),
}

fn parse_args(args: &[String]) -> Result<Command, String> {
    let followed = [FollowedStream::course(), FollowedStream::captions()];
    let names: Vec<&str> = followed.iter().map(|f| f.consumer.as_str()).collect();
    match args {
        [] => Ok(Command::Serve),
        [flag] if flag == "--print-sdl" => Ok(Command::PrintSdl),
        [command] if command == "rebuild" => Ok(Command::Rebuild(followed.to_vec())),
        [command, consumer] if command == "rebuild" => followed
            .iter()
            .find(|f| &f.consumer == consumer)
            .map(|f| Command::Rebuild(vec![f.clone()]))
            .ok_or_else(|| format!("search's consumers are {names:?}; got {consumer:?}")),
        _ => Err(format!(
            "usage: coursegraph-search [--print-sdl | rebuild [{}]]; got {args:?}",
            names.join(" | ")
        )),
    }
}

#[tokio::main(worker_threads = 2)]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse_args(&args) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("search: {message}");
            return ExitCode::from(2);
        }
    };
    if matches!(command, Command::PrintSdl) {
        print!("{}", sdl());
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_vars(|name| std::env::var(name).ok()) {
        Ok(config) => config,
        Err(errors) => {
            // One message listing every problem, as the TypeScript services print it.
            let lines: Vec<String> = errors.iter().map(|error| format!("  {error}")).collect();
            eprintln!("search: invalid configuration:\n{}", lines.join("\n"));
            return ExitCode::from(2);
        }
    };
    // A rebuild replays whole streams: its spans would be noise, so it runs untraced.
    let traces = match &command {
        Command::Serve => match Tracing::start("search", &config.tracing) {
            Ok(tracing) => tracing,
            Err(error) => {
                eprintln!("search: {}", ErrorChain(&error));
                return ExitCode::FAILURE;
            }
        },
        _ => None,
    };
    if let Err(error) = init_logging(config.log_level, traces.as_ref()) {
        eprintln!("search: {}", ErrorChain(&error));
        return ExitCode::FAILURE;
    }

    if let Command::Rebuild(streams) = command {
        return rebuild(&config, &streams).await;
    }
    let code = serve(&config).await;
    if let Some(traces) = traces {
        // Blocks until the last batch is sent: off the runtime's workers.
        let _ = tokio::task::spawn_blocking(move || traces.shutdown()).await;
    }
    code
}

/// Serves the subgraph and runs its consumer until the shutdown signal.
async fn serve(config: &Config) -> ExitCode {
    let index = match open_index(&config.index_dir) {
        Ok(index) => index,
        Err(error) => {
            tracing::error!(error = %error.chain(), dir = %config.index_dir.display(), "cannot open the index");
            return ExitCode::FAILURE;
        }
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let consumer_config = ConsumerConfig::new(config.nats_url.clone());
    let consumer = tokio::spawn({
        let index = index.clone();
        async move {
            let result = consumer::run(consumer_config, index, stopped).await;
            if let Err(error) = &result {
                // Searches go on serving the index as it is.
                tracing::error!(error = %error.chain(), "search consumer failed");
            }
            result
        }
    });

    let addr = config.listen_addr();
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(error = %ErrorChain(&error), %addr, "cannot listen");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(%addr, index_dir = %config.index_dir.display(), "search subgraph listening");
    let served = axum::serve(
        listener,
        // With the peer's address, which `/metrics` is allowed by.
        app(AppState::new(index)
            .with_limits(config.limits)
            .with_metrics(config.metrics.clone()))
        .into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await;
    let _ = stop.send(true);
    let consumed = consumer.await;
    if let Err(error) = served {
        tracing::error!(error = %ErrorChain(&error), "server failed");
        return ExitCode::FAILURE;
    }
    match consumed {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(_)) => ExitCode::FAILURE,
        Err(error) => {
            tracing::error!(error = %ErrorChain(&error), "search consumer task failed");
            ExitCode::FAILURE
        }
    }
}

/// Opens the index folder; one of another schema (an older build's) is emptied first: it is
/// a projection of the streams, and the streams have it all.
fn open_index(dir: &std::path::Path) -> Result<SearchIndex, SearchError> {
    match SearchIndex::open_or_create(dir) {
        Err(SearchError::SchemaMismatch { .. }) => {
            tracing::warn!(dir = %dir.display(), "the index has another schema; emptying its folder, the streams will be applied again");
            empty_folder(dir).map_err(|source| SearchError::Folder {
                dir: dir.to_path_buf(),
                source,
            })?;
            SearchIndex::open_or_create(dir)
        }
        other => other,
    }
}

/// Rebuilds the index folder from `streams`, in turn.
async fn rebuild(config: &Config, streams: &[FollowedStream]) -> ExitCode {
    let dir = &config.index_dir;
    let index = match open_index(dir) {
        Ok(index) => index,
        Err(error) => {
            tracing::error!(error = %error.chain(), dir = %dir.display(), "cannot open the index");
            return ExitCode::FAILURE;
        }
    };
    let mut indexer = match index.indexer() {
        Ok(indexer) => indexer,
        Err(SearchError::Index(tantivy::TantivyError::LockFailure(..))) => {
            tracing::error!(dir = %dir.display(), "another process writes this index: stop the search subgraph first");
            return ExitCode::FAILURE;
        }
        Err(error) => {
            tracing::error!(error = %error.chain(), dir = %dir.display(), "cannot open the index writer");
            return ExitCode::FAILURE;
        }
    };
    for followed in streams {
        tracing::info!(stream = %followed.stream, dir = %dir.display(), "rebuilding the index from the stream");
        let started = std::time::Instant::now();
        let result = consumer::rebuild(
            &config.nats_url,
            followed,
            &mut indexer,
            |messages, sequence| {
                tracing::info!(messages, sequence, "rebuild progress");
            },
        )
        .await;
        match result.and_then(|rebuilt| Ok((rebuilt, index.stats()?))) {
            Ok((rebuilt, stats)) => {
                tracing::info!(
                    stream = %followed.stream,
                    messages = rebuilt.messages,
                    last_sequence = rebuilt.last_sequence,
                    courses = stats.courses,
                    lessons = stats.lessons,
                    caption_segments = stats.caption_segments,
                    ms = started.elapsed().as_millis() as u64,
                    "index rebuilt"
                );
            }
            Err(error) => {
                tracing::error!(error = %error.chain(), stream = %followed.stream, "rebuild failed; the index holds a consistent prefix of the stream");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

/// Removes everything inside `dir` (not `dir` itself).
fn empty_folder(dir: &std::path::Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}
