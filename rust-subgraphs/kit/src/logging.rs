//! Structured logs: one JSON object per line on standard output, as every Coursegraph service
//! writes them (fields flattened beside `message`, no span context); and, when tracing is on,
//! the layer that exports the project's spans ([`Tracing`]).

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::telemetry::{self, Tracing};

/// Installs the process's subscriber: JSON logs at `level` (from
/// [`Env::log_level`](crate::config::Env::log_level)) and, given a started [`Tracing`], its span
/// layer (spans are then made: [`telemetry::enabled`]). Call once, at start-up, after the
/// configuration is read.
///
/// # Errors
/// When a global subscriber is already installed (a second call, or a test harness's).
pub fn init_logging(level: LevelFilter, tracing: Option<&Tracing>) -> Result<(), LoggingError> {
    let logs = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_filter(level);
    tracing_subscriber::registry()
        .with(logs)
        .with(tracing.map(Tracing::layer))
        .try_init()
        .map_err(|error| LoggingError(error.into()))?;
    if let Some(tracing) = tracing {
        telemetry::set_enabled();
        tracing.log_started();
    }
    Ok(())
}

/// The log subscriber could not be installed: another one already is.
#[derive(Debug, thiserror::Error)]
#[error("cannot install the log subscriber")]
pub struct LoggingError(#[source] Box<dyn std::error::Error + Send + Sync + 'static>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installs_once_then_refuses() {
        // The test binary installs no subscriber of its own, so the first call succeeds.
        init_logging(LevelFilter::WARN, None).expect("the first subscriber");
        assert!(tracing::enabled!(tracing::Level::WARN));
        assert!(!tracing::enabled!(tracing::Level::INFO));
        // Without a Tracing, no span is made.
        assert!(!telemetry::enabled());
        let again = init_logging(LevelFilter::INFO, None).expect_err("a second subscriber");
        assert_eq!(again.to_string(), "cannot install the log subscriber");
    }
}
