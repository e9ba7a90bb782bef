//! Logging an error with its causes: [`ErrorChain`], and [`BoxError`] for a cause of any type.
//!
//! A service's error variant that wraps another error keeps it as its
//! [`source`](std::error::Error::source) and leaves it out of its own message, so a log shows
//! each cause once: `course stream: pull: <async-nats error>: <io error>`.

use std::error::Error as StdError;
use std::fmt;

/// Any error kept as another's source (a client library's error, a plain message).
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Shows an error and its sources, `: `-separated, for logs: `error = %ErrorChain(&error)`.
/// A source whose message its parent already shows (some libraries include the source in
/// their own message) is not repeated.
pub struct ErrorChain<'a>(pub &'a (dyn StdError + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.to_string();
        f.write_str(&shown)?;
        let mut next = self.0.source();
        while let Some(source) = next {
            let message = source.to_string();
            if !shown.contains(&message) {
                write!(f, ": {message}")?;
            }
            shown = message;
            next = source.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("course stream: pull")]
    struct Outer(#[source] BoxError);

    /// An error that, like some libraries' errors, repeats its source in its own message.
    #[derive(Debug, thiserror::Error)]
    #[error("connection lost: {0}")]
    struct Repeats(#[source] std::io::Error);

    #[test]
    fn each_cause_is_shown_once() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let error = Outer(Box::new(Repeats(io)));
        assert_eq!(
            ErrorChain(&error).to_string(),
            "course stream: pull: connection lost: reset by peer"
        );
        let message = Outer("the message stream ended".into());
        assert_eq!(
            ErrorChain(&message).to_string(),
            "course stream: pull: the message stream ended"
        );
        let alone = std::io::Error::other("disk full");
        assert_eq!(ErrorChain(&alone).to_string(), "disk full");
    }
}
