//! The search subgraph's binary: configuration, logging, index, consumer, HTTP server.
//!
//! `coursegraph-search --print-sdl` prints the subgraph's SDL (for composition) and exits.

use coursegraph_search::config::Config;
use coursegraph_search::consumer::{self, ConsumerConfig};
use coursegraph_search::{app, sdl, AppState, SearchIndex};

#[tokio::main(worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    if std::env::args().skip(1).any(|arg| arg == "--print-sdl") {
        print!("{}", sdl());
        return std::process::ExitCode::SUCCESS;
    }
    let config = match Config::from_vars(|name| std::env::var(name).ok()) {
        Ok(config) => config,
        Err(errors) => {
            for error in errors {
                eprintln!("search: {error}");
            }
            return std::process::ExitCode::FAILURE;
        }
    };
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_max_level(config.log_level)
        .with_current_span(false)
        .init();

    let index = match SearchIndex::open_or_create(&config.index_dir) {
        Ok(index) => index,
        Err(error) => {
            tracing::error!(error = %error, dir = %config.index_dir.display(), "cannot open the index");
            return std::process::ExitCode::FAILURE;
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
                tracing::error!(error = %error, "course consumer failed");
            }
            result
        }
    });

    let addr = config.listen_addr();
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(error = %error, %addr, "cannot listen");
            return std::process::ExitCode::FAILURE;
        }
    };
    tracing::info!(%addr, index_dir = %config.index_dir.display(), "search subgraph listening");
    let served = axum::serve(listener, app(AppState::new(index)))
        .with_graceful_shutdown(shutdown_signal())
        .await;
    let _ = stop.send(true);
    let consumed = consumer.await;
    if let Err(error) = served {
        tracing::error!(error = %error, "server failed");
        return std::process::ExitCode::FAILURE;
    }
    match consumed {
        Ok(Ok(())) => std::process::ExitCode::SUCCESS,
        Ok(Err(_)) => std::process::ExitCode::FAILURE,
        Err(error) => {
            tracing::error!(error = %error, "course consumer task failed");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Resolves on ctrl-c or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
