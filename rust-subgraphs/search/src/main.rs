//! The search subgraph's binary: configuration, logging, index, consumer, HTTP server.
//!
//! - `coursegraph-search` serves the subgraph.
//! - `coursegraph-search --print-sdl` prints the subgraph's SDL (for composition) and exits.
//! - `coursegraph-search rebuild [search-courses]` rebuilds the index in `SEARCH_INDEX_DIR` from
//!   the course stream, records the stream's identity, and exits (the subgraph serving that
//!   folder must be stopped; `node scripts/replay.mjs search search-courses` runs this). Not
//!   needed after the stream is recreated: serving rebuilds by itself then.

use std::process::ExitCode;

use coursegraph_search::config::Config;
use coursegraph_search::consumer::{self, ConsumerConfig, CONSUMER};
use coursegraph_search::{app, sdl, AppState, ErrorChain, SearchError, SearchIndex};
use coursegraph_subgraph_kit::{init_logging, shutdown_signal};

/// What the command line asks for.
enum Command {
    Serve,
    PrintSdl,
    Rebuild,
}

fn parse_args(args: &[String]) -> Result<Command, String> {
    match args {
        [] => Ok(Command::Serve),
        [flag] if flag == "--print-sdl" => Ok(Command::PrintSdl),
        [command] if command == "rebuild" => Ok(Command::Rebuild),
        [command, consumer] if command == "rebuild" && consumer == CONSUMER => Ok(Command::Rebuild),
        [command, consumer] if command == "rebuild" => Err(format!(
            "search has one consumer, {CONSUMER:?}; got {consumer:?}"
        )),
        _ => Err(format!(
            "usage: coursegraph-search [--print-sdl | rebuild [{CONSUMER}]]; got {args:?}"
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
    if let Err(error) = init_logging(config.log_level) {
        eprintln!("search: {}", ErrorChain(&error));
        return ExitCode::FAILURE;
    }

    if matches!(command, Command::Rebuild) {
        return rebuild(&config).await;
    }

    let index = match SearchIndex::open_or_create(&config.index_dir) {
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
                tracing::error!(error = %error.chain(), "course consumer failed");
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
        app(AppState::new(index).with_limits(config.limits)),
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
            tracing::error!(error = %ErrorChain(&error), "course consumer task failed");
            ExitCode::FAILURE
        }
    }
}

/// Rebuilds the index folder from the course stream. An index of another schema (an older
/// build) is emptied first: it is a projection of the stream, and the stream has it all.
async fn rebuild(config: &Config) -> ExitCode {
    let dir = &config.index_dir;
    let index = match SearchIndex::open_or_create(dir) {
        Err(SearchError::SchemaMismatch { .. }) => {
            tracing::warn!(dir = %dir.display(), "the index has another schema; emptying its folder");
            if let Err(error) = empty_folder(dir) {
                tracing::error!(error = %ErrorChain(&error), dir = %dir.display(), "cannot empty the index folder");
                return ExitCode::FAILURE;
            }
            SearchIndex::open_or_create(dir)
        }
        other => other,
    };
    let index = match index {
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
    let config = ConsumerConfig::new(config.nats_url.clone());
    tracing::info!(stream = %config.stream, dir = %dir.display(), "rebuilding the index from the stream");
    let started = std::time::Instant::now();
    let result = consumer::rebuild(&config, &mut indexer, |messages, sequence| {
        tracing::info!(messages, sequence, "rebuild progress");
    })
    .await;
    match result.and_then(|rebuilt| Ok((rebuilt, index.stats()?))) {
        Ok((rebuilt, stats)) => {
            tracing::info!(
                messages = rebuilt.messages,
                last_sequence = rebuilt.last_sequence,
                courses = stats.courses,
                lessons = stats.lessons,
                ms = started.elapsed().as_millis() as u64,
                "index rebuilt"
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(error = %error.chain(), "rebuild failed; the index holds a consistent prefix of the stream");
            ExitCode::FAILURE
        }
    }
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
