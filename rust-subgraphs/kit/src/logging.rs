//! Structured logs: one JSON object per line on standard output, as every Coursegraph service
//! writes them (fields flattened beside `message`, no span context).

use tracing_subscriber::filter::LevelFilter;

/// Installs the process's JSON log subscriber at `level` (from
/// [`Env::log_level`](crate::config::Env::log_level)). Call once, at start-up, after the
/// configuration is read.
///
/// # Errors
/// When a global subscriber is already installed (a second call, or a test harness's).
pub fn init_logging(level: LevelFilter) -> Result<(), LoggingError> {
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_max_level(level)
        .with_current_span(false)
        .try_init()
        .map_err(LoggingError)
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
        init_logging(LevelFilter::WARN).expect("the first subscriber");
        assert!(tracing::enabled!(tracing::Level::WARN));
        assert!(!tracing::enabled!(tracing::Level::INFO));
        let again = init_logging(LevelFilter::INFO).expect_err("a second subscriber");
        assert_eq!(again.to_string(), "cannot install the log subscriber");
    }
}
