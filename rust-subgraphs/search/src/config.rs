//! The service's configuration, read from the environment once at start-up.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use coursegraph_subgraph_kit::config::Env;
use coursegraph_subgraph_kit::{MetricsSettings, TracingSettings};
use tracing_subscriber::filter::LevelFilter;

use crate::limits::OperationLimits;
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
    /// `NATS_URL`: the NATS server, with the credentials of the search service's user in the URL
    /// (`nats://search:<password>@host:4222`, see [`crate::consumer::connect_nats`]; `npm start`
    /// gives it). Default `nats://127.0.0.1:4222`.
    pub nats_url: String,
    /// `LOG_LEVEL`: `trace`, `debug`, `info`, `warn`, `error` or `off`. Default `info`.
    pub log_level: LevelFilter,
    /// `OPERATION_LIMITS` and `LIMIT_*`: what `/graphql` refuses before executing; each
    /// setting and its default is documented on [`OperationLimits`].
    pub limits: OperationLimits,
    /// `COURSEGRAPH_MODE`: `development`, `production` or `test`, as the TypeScript services read
    /// it. Default `development`. Production refuses what the production profile forbids (here:
    /// `NATS_URL` without credentials).
    pub production: bool,
    /// `METRICS` and `METRICS_ALLOWED_CIDRS`: Prometheus metrics at `GET /metrics`, for loopback
    /// and those addresses and CIDR ranges only (docs/metrics.md); off only to measure their
    /// cost. Default `true`.
    pub metrics: MetricsSettings,
    /// OpenTelemetry traces (docs/observability.md), read by the kit's [`TracingSettings`]:
    /// `TRACING`: on or off. Default `off (on when OTEL_EXPORTER_OTLP_ENDPOINT is set)`.
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: the OTLP/HTTP receiver, `http://` only. Default `(none; http://127.0.0.1:4318 when TRACING=on)`.
    /// `TRACING_SAMPLE_RATIO`: share of new traces recorded (0 to 1). Default `1`.
    /// `OTEL_BSP_SCHEDULE_DELAY`: how often finished spans are sent (ms). Default `1000`.
    pub tracing: TracingSettings,
}

impl Config {
    /// Reads the configuration through `var` (e.g. `|name| std::env::var(name).ok()`); the
    /// settings every subgraph shares are read by the kit's [`Env`].
    ///
    /// # Errors
    /// Every invalid variable, each as a [`SearchError::Config`].
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, Vec<SearchError>> {
        let mut env = Env::new(var);
        let port = env.parse_or("SEARCH_PORT", 4010, "a port number (0-65535)");
        let host = env.parse_or(
            "SEARCH_HOST",
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            "an IP address",
        );
        let log_level = env.log_level();
        let nats_url = env
            .value("NATS_URL")
            .unwrap_or_else(|| "nats://127.0.0.1:4222".into());
        let mode = env.mode();
        // The production profile: search publishes nothing, but what it reads from the course
        // stream decides what is searchable, so it must authenticate like every other service.
        env.require_nats_credentials("NATS_URL", &nats_url, mode);
        let index_dir = env
            .value("SEARCH_INDEX_DIR")
            .map_or_else(|| PathBuf::from(".data/search-index"), PathBuf::from);
        let limits = env.operation_limits();
        let metrics = MetricsSettings::read(&mut env);
        let tracing = TracingSettings::read(&mut env);
        env.finish().map_err(|errors| {
            errors
                .into_iter()
                .map(SearchError::from)
                .collect::<Vec<_>>()
        })?;
        Ok(Self {
            port,
            host,
            index_dir,
            nats_url,
            log_level,
            limits,
            production: mode.is_production(),
            metrics,
            tracing,
        })
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

    #[test]
    fn production_refuses_nats_without_credentials() {
        let in_mode = |mode: &'static str, nats: &'static str| {
            Config::from_vars(move |name| match name {
                "COURSEGRAPH_MODE" => Some(mode.into()),
                "NATS_URL" if !nats.is_empty() => Some(nats.into()),
                _ => None,
            })
        };
        // Development and test take the default, credential-less URL.
        assert!(!in_mode("development", "").unwrap().production);
        assert!(!in_mode("test", "nats://127.0.0.1:4223").unwrap().production);
        // Production refuses it, the default included, with one error naming the variable.
        for url in [
            "",
            "nats://127.0.0.1:4222",
            "nats://:secret@nats.internal:4222",
            "nats://nats.internal/x@y",
        ] {
            let errors = in_mode("production", url).unwrap_err();
            assert_eq!(errors.len(), 1, "{url}: {errors:?}");
            let message = errors[0].to_string();
            assert!(
                message.contains("NATS_URL") && message.contains("no credentials"),
                "{message}"
            );
        }
        // A user and password, or a token, is what production asks for.
        for url in [
            "nats://search:s3cret@nats.internal:4222",
            "nats://s3cr3t-token@127.0.0.1:4222",
        ] {
            let config = in_mode("production", url).unwrap();
            assert!(config.production);
            assert_eq!(config.nats_url, url);
        }
        // An unknown mode is an error of its own, listed with the others.
        let errors = Config::from_vars(|name| match name {
            "COURSEGRAPH_MODE" => Some("prod".into()),
            "SEARCH_PORT" => Some("http".into()),
            _ => None,
        })
        .unwrap_err();
        let names: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 2, "{names:?}");
        assert!(
            names.iter().any(|n| n.contains("COURSEGRAPH_MODE")),
            "{names:?}"
        );
    }

    #[test]
    fn operation_limits_default_and_are_read_and_checked() {
        let config = Config::from_vars(|_| None).unwrap();
        assert_eq!(config.limits, OperationLimits::default());
        assert!(config.limits.enabled);
        assert_eq!(config.limits.max_depth, 15);

        let config = Config::from_vars(|name| match name {
            "OPERATION_LIMITS" => Some("off".into()),
            "LIMIT_MAX_DEPTH" => Some(" 7 ".into()),
            "LIMIT_MAX_COST_ANONYMOUS" => Some("100".into()),
            _ => None,
        })
        .unwrap();
        assert!(!config.limits.enabled);
        assert_eq!(config.limits.max_depth, 7);
        assert_eq!(config.limits.max_cost_anonymous, 100);

        let errors = Config::from_vars(|name| match name {
            "OPERATION_LIMITS" => Some("maybe".into()),
            "LIMIT_MAX_TOKENS" => Some("0".into()),
            "LIMIT_DEFAULT_LIST_SIZE" => Some("-3".into()),
            "LIMIT_MAX_ALIASES" => Some("many".into()),
            _ => None,
        })
        .unwrap_err();
        let names: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 4, "{names:?}");
        for name in [
            "OPERATION_LIMITS",
            "LIMIT_MAX_TOKENS",
            "LIMIT_DEFAULT_LIST_SIZE",
            "LIMIT_MAX_ALIASES",
        ] {
            assert!(names.iter().any(|n| n.contains(name)), "{name}: {names:?}");
        }
    }
}
