//! Reading a service's configuration from the environment: the settings every Rust subgraph
//! shares (`LOG_LEVEL`, `COURSEGRAPH_MODE`, `OPERATION_LIMITS` and `LIMIT_*`, the production
//! profile's checks of the NATS, Redis, database and JWKS URLs, see [`crate::production`]) and a
//! reader that collects every invalid variable, so a service exits listing all of them at once,
//! as the TypeScript services do.
//!
//! A variable set to an empty or whitespace-only value counts as unset (its default applies).

use std::str::FromStr;

use thiserror::Error;
use tracing_subscriber::filter::LevelFilter;

use crate::limits::OperationLimits;
use crate::production;

/// An invalid environment variable: its name and what is wrong with it. Displays as
/// `NAME reason` (`SEARCH_PORT must be a port number (0-65535), got "http"`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{name} {reason}")]
pub struct ConfigError {
    /// The variable.
    pub name: &'static str,
    /// What is wrong with it, starting with a verb (`must be ...`, `has no credentials ...`).
    pub reason: String,
}

/// `COURSEGRAPH_MODE`: how the platform runs, as the TypeScript services read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// `development` (the default).
    #[default]
    Development,
    /// `production`: the production profile applies (credentials required, ...).
    Production,
    /// `test`.
    Test,
}

impl Mode {
    /// Whether the production profile applies.
    pub fn is_production(self) -> bool {
        self == Self::Production
    }
}

/// Reads a service's variables through a lookup function (`|name| std::env::var(name).ok()`,
/// or a closure over a fixed set in tests) and collects every invalid one as a [`ConfigError`].
/// Each reading method returns a usable value (the default when the variable is invalid), so a
/// service reads everything, then calls [`Env::finish`].
pub struct Env<F> {
    var: F,
    errors: Vec<ConfigError>,
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// A reader over `var`, with no error yet.
    pub fn new(var: F) -> Self {
        Self {
            var,
            errors: Vec::new(),
        }
    }

    /// The variable's value as set (untrimmed); `None` when unset, empty or only whitespace.
    pub fn value(&self, name: &str) -> Option<String> {
        (self.var)(name).filter(|v| !v.trim().is_empty())
    }

    /// The variable parsed (trimmed) as a `T`, or `default` when unset. When it does not parse,
    /// records `NAME must be <expected>, got "<value>"` and returns `default`.
    pub fn parse_or<T: FromStr>(&mut self, name: &'static str, default: T, expected: &str) -> T {
        match self.value(name) {
            None => default,
            Some(v) => v.trim().parse().unwrap_or_else(|_| {
                self.error(name, format!("must be {expected}, got {v:?}"));
                default
            }),
        }
    }

    /// `LOG_LEVEL`: `trace`, `debug`, `info`, `warn`, `error` or `off`. Default `info`.
    pub fn log_level(&mut self) -> LevelFilter {
        self.parse_or(
            "LOG_LEVEL",
            LevelFilter::INFO,
            "trace, debug, info, warn, error or off",
        )
    }

    /// `COURSEGRAPH_MODE`: `development`, `production` or `test`. Default `development`.
    pub fn mode(&mut self) -> Mode {
        match self.value("COURSEGRAPH_MODE").as_deref().map(str::trim) {
            None | Some("development") => Mode::Development,
            Some("test") => Mode::Test,
            Some("production") => Mode::Production,
            Some(other) => {
                let reason = format!("must be development, production or test, got {other:?}");
                self.error("COURSEGRAPH_MODE", reason);
                Mode::Development
            }
        }
    }

    /// The production profile's rule for a NATS server list (`NATS_URL`): when `mode` is
    /// production, every comma-separated URL of `urls` must carry credentials (see
    /// [`has_credentials`]); otherwise records one error for `name`.
    pub fn require_nats_credentials(&mut self, name: &'static str, urls: &str, mode: Mode) {
        if mode.is_production() && !urls.split(',').all(has_credentials) {
            self.error(name, production::NATS_WITHOUT_CREDENTIALS);
        }
    }

    /// The production profile's rule for a database URL (`<CONTEXT>_DATABASE_URL`): a password
    /// of its own, not the development set-up's (see [`production::database_password_problem`]).
    pub fn require_database_password(&mut self, name: &'static str, url: &str, mode: Mode) {
        if let Some(problem) = mode
            .is_production()
            .then(|| production::database_password_problem(url))
            .flatten()
        {
            self.error(name, problem);
        }
    }

    /// The production profile's rule for `REDIS_URL`: a password (see
    /// [`production::redis_credentials_problem`]).
    pub fn require_redis_credentials(&mut self, name: &'static str, url: &str, mode: Mode) {
        if let Some(problem) = mode
            .is_production()
            .then(|| production::redis_credentials_problem(url))
            .flatten()
        {
            self.error(name, problem);
        }
    }

    /// A comma-separated list of host names (`JWKS_HTTP_ALLOWED_HOSTS`), lower-cased; empty when
    /// unset. An entry that is not a bare host (a scheme, port, path or wildcard) is an error in
    /// every mode (see [`production::parse_host_list`]), and the list is then empty.
    pub fn host_list(&mut self, name: &'static str) -> Vec<String> {
        match self
            .value(name)
            .map(|raw| production::parse_host_list(&raw))
        {
            None => Vec::new(),
            Some(Ok(hosts)) => hosts,
            Some(Err(problem)) => {
                self.error(name, problem);
                Vec::new()
            }
        }
    }

    /// The production profile's rule for `IDENTITY_JWKS_URL`: https, or plain http to a host of
    /// `allowed_http_hosts` (read with [`Env::host_list`]; see [`production::jwks_url_problem`]).
    pub fn require_jwks_url(
        &mut self,
        name: &'static str,
        url: &str,
        allowed_http_hosts: &[String],
        mode: Mode,
    ) {
        if let Some(problem) = mode
            .is_production()
            .then(|| production::jwks_url_problem(url, allowed_http_hosts))
            .flatten()
        {
            self.error(name, problem);
        }
    }

    /// `OPERATION_LIMITS` (`true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`, as the TypeScript
    /// services read it) and the `LIMIT_*` counts (positive integers); each setting and its
    /// default is documented on [`OperationLimits`].
    pub fn operation_limits(&mut self) -> OperationLimits {
        let defaults = OperationLimits::default();
        let enabled = match self.value("OPERATION_LIMITS") {
            None => defaults.enabled,
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" => false,
                _ => {
                    self.error(
                        "OPERATION_LIMITS",
                        format!("must be true or false, got {v:?}"),
                    );
                    defaults.enabled
                }
            },
        };
        let mut count = |name: &'static str, default: u64| match self.value(name) {
            None => default,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if n > 0 => n,
                _ => {
                    self.error(name, format!("must be a positive integer, got {v:?}"));
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

    /// Records an invalid variable (a rule of the service's own).
    pub fn error(&mut self, name: &'static str, reason: impl Into<String>) {
        self.errors.push(ConfigError {
            name,
            reason: reason.into(),
        });
    }

    /// The errors recorded so far, in the order they were found.
    pub fn errors(&self) -> &[ConfigError] {
        &self.errors
    }

    /// `Ok(())` when every variable read was valid; otherwise every error, in order.
    ///
    /// # Errors
    /// Every recorded [`ConfigError`].
    pub fn finish(self) -> Result<(), Vec<ConfigError>> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }
}

/// True when a NATS server URL carries a user (`nats://user:password@host`) or a token
/// (`nats://token@host`) before its host. An empty user (`nats://:password@host`) is none.
pub fn has_credentials(url: &str) -> bool {
    let rest = url
        .trim()
        .split_once("://")
        .map_or(url.trim(), |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    authority
        .rsplit_once('@')
        .is_some_and(|(userinfo, _)| !userinfo.split(':').next().unwrap_or("").is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> Env<impl Fn(&str) -> Option<String>> {
        Env::new(move |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn defaults_when_unset_or_blank() {
        let mut env = env(&[("LOG_LEVEL", "   "), ("PORT", "")]);
        assert_eq!(env.log_level(), LevelFilter::INFO);
        assert_eq!(env.mode(), Mode::Development);
        assert_eq!(env.parse_or("PORT", 4010u16, "a port number"), 4010);
        assert_eq!(env.operation_limits(), OperationLimits::default());
        assert_eq!(env.value("PORT"), None);
        assert!(env.finish().is_ok());
    }

    #[test]
    fn values_are_trimmed_and_parsed() {
        let mut env = env(&[
            ("LOG_LEVEL", " debug "),
            ("COURSEGRAPH_MODE", "test"),
            ("PORT", " 4020 "),
        ]);
        assert_eq!(env.log_level(), LevelFilter::DEBUG);
        assert_eq!(env.mode(), Mode::Test);
        assert!(!Mode::Test.is_production());
        assert_eq!(env.parse_or("PORT", 0u16, "a port number"), 4020);
        assert!(env.finish().is_ok());
    }

    #[test]
    fn every_invalid_variable_is_listed_in_order_with_its_default_used() {
        let mut env = env(&[
            ("LOG_LEVEL", "loud"),
            ("COURSEGRAPH_MODE", "prod"),
            ("PORT", "http"),
            ("LIMIT_MAX_DEPTH", "0"),
        ]);
        assert_eq!(env.log_level(), LevelFilter::INFO);
        assert_eq!(env.mode(), Mode::Development);
        assert_eq!(env.parse_or("PORT", 4010u16, "a port number"), 4010);
        assert_eq!(env.operation_limits().max_depth, 15);
        env.error("VIDEO_DIR", "must be absolute");
        assert_eq!(env.errors().len(), 5);
        let errors = env.finish().unwrap_err();
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "LOG_LEVEL must be trace, debug, info, warn, error or off, got \"loud\"",
                "COURSEGRAPH_MODE must be development, production or test, got \"prod\"",
                "PORT must be a port number, got \"http\"",
                "LIMIT_MAX_DEPTH must be a positive integer, got \"0\"",
                "VIDEO_DIR must be absolute",
            ]
        );
    }

    #[test]
    fn production_requires_nats_credentials_on_every_url() {
        let mut env = env(&[]);
        env.require_nats_credentials("NATS_URL", "nats://127.0.0.1:4222", Mode::Development);
        env.require_nats_credentials("NATS_URL", "nats://a:b@h1:4222,nats://h2", Mode::Test);
        assert!(env.errors().is_empty());
        env.require_nats_credentials("NATS_URL", "nats://a:b@h1:4222,nats://h2", Mode::Production);
        env.require_nats_credentials("NATS_URL", "nats://a:b@h1,nats://t@h2", Mode::Production);
        let errors = env.finish().unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].name, "NATS_URL");
        assert!(errors[0].reason.starts_with("has no credentials"));
    }

    #[test]
    fn production_checks_apply_in_production_only_each_naming_its_variable() {
        let mut env = env(&[("JWKS_HTTP_ALLOWED_HOSTS", "identity.internal")]);
        let allowed = env.host_list("JWKS_HTTP_ALLOWED_HOSTS");
        assert_eq!(allowed, ["identity.internal"]);
        let dev_db = "postgres://cg_video:cg_video_dev@127.0.0.1:5432/coursegraph";
        let jwks = "http://127.0.0.1:4001/.well-known/jwks.json";
        for mode in [Mode::Development, Mode::Test] {
            env.require_database_password("VIDEO_DATABASE_URL", dev_db, mode);
            env.require_redis_credentials("REDIS_URL", "redis://127.0.0.1:6379", mode);
            env.require_jwks_url("IDENTITY_JWKS_URL", jwks, &allowed, mode);
        }
        assert!(env.errors().is_empty());
        env.require_database_password("VIDEO_DATABASE_URL", dev_db, Mode::Production);
        env.require_redis_credentials("REDIS_URL", "redis://127.0.0.1:6379", Mode::Production);
        env.require_jwks_url("IDENTITY_JWKS_URL", jwks, &allowed, Mode::Production);
        // Fit values pass.
        let own_db = "postgres://cg_video:Own-pw-1@db.internal/coursegraph";
        env.require_database_password("VIDEO_DATABASE_URL", own_db, Mode::Production);
        env.require_redis_credentials("REDIS_URL", "redis://:pw@redis:6379", Mode::Production);
        let allowed_http = "http://identity.internal/.well-known/jwks.json";
        env.require_jwks_url(
            "IDENTITY_JWKS_URL",
            allowed_http,
            &allowed,
            Mode::Production,
        );
        let shown: Vec<String> = env
            .finish()
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown.len(), 3, "{shown:?}");
        assert!(
            shown[0].starts_with("VIDEO_DATABASE_URL uses a development password"),
            "{shown:?}"
        );
        assert!(
            shown[1].starts_with("REDIS_URL has no password"),
            "{shown:?}"
        );
        assert_eq!(
            shown[2],
            "IDENTITY_JWKS_URL is plain HTTP: use https, or name its host (127.0.0.1) in JWKS_HTTP_ALLOWED_HOSTS"
        );
    }

    #[test]
    fn a_host_list_entry_that_is_not_a_host_is_an_error_in_every_mode() {
        let mut env = env(&[(
            "JWKS_HTTP_ALLOWED_HOSTS",
            "127.0.0.1, https://identity:4001",
        )]);
        assert!(env.host_list("JWKS_HTTP_ALLOWED_HOSTS").is_empty());
        assert!(env.host_list("UNSET_HOSTS").is_empty());
        let shown: Vec<String> = env
            .finish()
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            ["JWKS_HTTP_ALLOWED_HOSTS \"https://identity:4001\" is not a host name (write identity.internal, 127.0.0.1 or ::1: no scheme, port, path or wildcard)"]
        );
    }

    #[test]
    fn credentials_are_a_user_or_a_token_before_the_host() {
        for url in [
            "nats://search:s3cret@nats.internal:4222",
            "nats://s3cr3t-token@127.0.0.1:4222",
            " nats://u@h ",
            "u:p@h:4222",
        ] {
            assert!(has_credentials(url), "{url}");
        }
        for url in [
            "",
            "nats://127.0.0.1:4222",
            "nats://:secret@nats.internal:4222",
            "nats://nats.internal/x@y",
            "nats://h?user=a@b",
        ] {
            assert!(!has_credentials(url), "{url}");
        }
    }

    #[test]
    fn operation_limits_are_read_and_checked() {
        let mut env = env(&[
            ("OPERATION_LIMITS", "off"),
            ("LIMIT_MAX_DEPTH", " 7 "),
            ("LIMIT_MAX_COST_ADMIN", "100"),
        ]);
        let limits = env.operation_limits();
        assert!(!limits.enabled);
        assert_eq!(limits.max_depth, 7);
        assert_eq!(limits.max_cost_admin, 100);
        assert!(env.finish().is_ok());

        let mut bad = self::env(&[
            ("OPERATION_LIMITS", "maybe"),
            ("LIMIT_MAX_TOKENS", "-3"),
            ("LIMIT_MAX_ALIASES", "many"),
        ]);
        assert_eq!(bad.operation_limits(), OperationLimits::default());
        let names: Vec<&str> = bad.errors().iter().map(|e| e.name).collect();
        assert_eq!(
            names,
            ["OPERATION_LIMITS", "LIMIT_MAX_TOKENS", "LIMIT_MAX_ALIASES"]
        );
    }
}
