//! The service's configuration, read from the environment once at start-up.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

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
        let production = match non_empty("COURSEGRAPH_MODE").as_deref().map(str::trim) {
            None | Some("development" | "test") => false,
            Some("production") => true,
            Some(other) => {
                errors.push(SearchError::Config {
                    name: "COURSEGRAPH_MODE",
                    reason: format!("must be development, production or test, got {other:?}"),
                });
                false
            }
        };
        // The production profile: search publishes nothing, but what it reads from the course
        // stream decides what is searchable, so it must authenticate like every other service.
        if production && !nats_url.split(',').all(has_credentials) {
            errors.push(SearchError::Config {
                name: "NATS_URL",
                reason: "has no credentials: NATS must authenticate each service in production (nats://user:password@host or nats://token@host)".into(),
            });
        }
        let index_dir = non_empty("SEARCH_INDEX_DIR")
            .map_or_else(|| PathBuf::from(".data/search-index"), PathBuf::from);
        let limits = read_limits(&non_empty, &mut errors);
        if errors.is_empty() {
            Ok(Self {
                port,
                host,
                index_dir,
                nats_url,
                log_level,
                limits,
                production,
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

/// True when a server URL carries a user (`nats://user:password@host`) or a token
/// (`nats://token@host`) before its host.
fn has_credentials(url: &str) -> bool {
    let rest = url
        .trim()
        .split_once("://")
        .map_or(url.trim(), |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    authority
        .rsplit_once('@')
        .is_some_and(|(userinfo, _)| !userinfo.split(':').next().unwrap_or("").is_empty())
}

/// `OPERATION_LIMITS` (`true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`, as the TypeScript
/// services read it) and the `LIMIT_*` counts (positive integers).
fn read_limits(
    var: &impl Fn(&str) -> Option<String>,
    errors: &mut Vec<SearchError>,
) -> OperationLimits {
    let defaults = OperationLimits::default();
    let enabled = match var("OPERATION_LIMITS") {
        None => defaults.enabled,
        Some(v) => match v.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => true,
            "0" | "false" | "no" | "off" => false,
            _ => {
                errors.push(SearchError::Config {
                    name: "OPERATION_LIMITS",
                    reason: format!("must be true or false, got {v:?}"),
                });
                defaults.enabled
            }
        },
    };
    let mut count = |name: &'static str, default: u64| match var(name) {
        None => default,
        Some(v) => match v.trim().parse::<u64>() {
            Ok(n) if n > 0 => n,
            _ => {
                errors.push(SearchError::Config {
                    name,
                    reason: format!("must be a positive integer, got {v:?}"),
                });
                default
            }
        },
    };
    OperationLimits {
        enabled,
        max_tokens: count("LIMIT_MAX_TOKENS", defaults.max_tokens),
        max_depth: count("LIMIT_MAX_DEPTH", defaults.max_depth),
        max_recursion: count("LIMIT_MAX_RECURSION", defaults.max_recursion),
        max_aliases: count("LIMIT_MAX_ALIASES", defaults.max_aliases),
        max_root_fields: count("LIMIT_MAX_ROOT_FIELDS", defaults.max_root_fields),
        max_cost_anonymous: count("LIMIT_MAX_COST_ANONYMOUS", defaults.max_cost_anonymous),
        max_cost_signed_in: count("LIMIT_MAX_COST_SIGNED_IN", defaults.max_cost_signed_in),
        max_cost_admin: count("LIMIT_MAX_COST_ADMIN", defaults.max_cost_admin),
        default_list_size: count("LIMIT_DEFAULT_LIST_SIZE", defaults.default_list_size),
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
