//! The service's configuration, read from the environment once at start-up.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use tracing_subscriber::filter::LevelFilter;

use crate::SearchError;

/// Everything the binary needs; every field has a default.
#[derive(Debug, Clone)]
pub struct Config {
    /// `SEARCH_PORT`: HTTP port. Default 4010.
    pub port: u16,
    /// `SEARCH_HOST`: address to listen on. Default `0.0.0.0`.
    pub host: IpAddr,
    /// `SEARCH_INDEX_DIR`: the index folder. Default `.data/search-index`.
    pub index_dir: PathBuf,
    /// `NATS_URL`: the NATS server. Default `nats://127.0.0.1:4222`.
    pub nats_url: String,
    /// `LOG_LEVEL`: `trace`, `debug`, `info`, `warn`, `error` or `off`. Default `info`.
    pub log_level: LevelFilter,
}

impl Config {
    /// Reads the configuration through `var` (e.g. `|name| std::env::var(name).ok()`).
    ///
    /// # Errors
    /// Every invalid variable, each as a [`SearchError::Config`].
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, Vec<SearchError>> {
        let mut errors = Vec::new();
        let non_empty = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let port = match non_empty("SEARCH_PORT") {
            None => 4010,
            Some(v) => v.trim().parse::<u16>().unwrap_or_else(|_| {
                errors.push(SearchError::Config {
                    name: "SEARCH_PORT",
                    reason: format!("must be a port number (0-65535), got {v:?}"),
                });
                0
            }),
        };
        let host = match non_empty("SEARCH_HOST") {
            None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Some(v) => v.trim().parse().unwrap_or_else(|_| {
                errors.push(SearchError::Config {
                    name: "SEARCH_HOST",
                    reason: format!("must be an IP address, got {v:?}"),
                });
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            }),
        };
        let log_level = match non_empty("LOG_LEVEL") {
            None => LevelFilter::INFO,
            Some(v) => v.trim().parse().unwrap_or_else(|_| {
                errors.push(SearchError::Config {
                    name: "LOG_LEVEL",
                    reason: format!("must be trace, debug, info, warn, error or off, got {v:?}"),
                });
                LevelFilter::INFO
            }),
        };
        let nats_url = non_empty("NATS_URL").unwrap_or_else(|| "nats://127.0.0.1:4222".into());
        let index_dir = non_empty("SEARCH_INDEX_DIR")
            .map_or_else(|| PathBuf::from(".data/search-index"), PathBuf::from);
        if errors.is_empty() {
            Ok(Self {
                port,
                host,
                index_dir,
                nats_url,
                log_level,
            })
        } else {
            Err(errors)
        }
    }

    /// The address to listen on.
    pub fn listen_addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_all_errors_together() {
        let config = Config::from_vars(|_| None).unwrap();
        assert_eq!(config.port, 4010);
        assert_eq!(config.index_dir, PathBuf::from(".data/search-index"));
        assert_eq!(config.nats_url, "nats://127.0.0.1:4222");
        assert_eq!(config.log_level, LevelFilter::INFO);

        let errors = Config::from_vars(|name| match name {
            "SEARCH_PORT" => Some("http".into()),
            "LOG_LEVEL" => Some("loud".into()),
            _ => None,
        })
        .unwrap_err();
        assert_eq!(errors.len(), 2);
        assert!(errors[0].to_string().contains("SEARCH_PORT"));
    }
}
