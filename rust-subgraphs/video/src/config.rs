//! The video subgraph's configuration, read from the environment once at start-up. Every
//! variable has a working default for development; production refuses the ones that would be
//! unsafe there (the production profile every service applies, with the kit's checks: the
//! development database password, Redis and NATS without credentials, a plain-HTTP JWKS URL
//! outside `JWKS_HTTP_ALLOWED_HOSTS`; and the video's own: the development signing secret).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use coursegraph_subgraph_kit::{
    ConfigError, Env, MetricsSettings, OperationLimits, TracingSettings,
};

/// The development signing secret: refused when `COURSEGRAPH_MODE=production`.
pub const DEVELOPMENT_SIGNING_SECRET: &str = "coursegraph-development-video-signing-secret";

/// Everything the binary needs; every field has a default.
#[derive(Debug, Clone)]
pub struct Config {
    /// `VIDEO_PORT`: HTTP port of GraphQL, uploads and playback. Default 4011.
    pub port: u16,
    /// `VIDEO_HOST`: address to listen on. Default `0.0.0.0`.
    pub host: IpAddr,
    /// `VIDEO_DATABASE_URL`: PostgreSQL as the `cg_video` role (schema `video`). Default
    /// `postgres://cg_video:cg_video_dev@127.0.0.1:5432/coursegraph`.
    pub database_url: String,
    /// `NATS_URL`: NATS with the video service's user in the URL (`npm start` gives it).
    /// Default `nats://127.0.0.1:4222`.
    pub nats_url: String,
    /// `REDIS_URL`: Redis, where identity marks revoked access tokens (production: with a
    /// password in the URL). Default `redis://127.0.0.1:6379`.
    pub redis_url: String,
    /// `IDENTITY_JWKS_URL`: identity's public keys for access tokens, over https or plain http
    /// (production: https, or http to a host in `JWKS_HTTP_ALLOWED_HOSTS`). Default
    /// `http://127.0.0.1:4001/.well-known/jwks.json`.
    pub jwks_url: String,
    /// `JWKS_HTTP_ALLOWED_HOSTS`: comma-separated hosts whose JWKS production may fetch over
    /// plain http (a loopback, a private network). Default none.
    pub jwks_http_allowed_hosts: Vec<String>,
    /// `AUTH_ISSUER`: JWT issuer (iss) of access tokens. Default `coursegraph-identity`.
    pub auth_issuer: String,
    /// `AUTH_AUDIENCE`: JWT audience (aud) of access tokens. Default `coursegraph`.
    pub auth_audience: String,
    /// `VIDEO_STORAGE_DIR`: where uploads and transcoded media are kept (the local storage).
    /// Default `.data/video`.
    pub storage_dir: PathBuf,
    /// `VIDEO_PUBLIC_URL`: the URL clients reach this service's `/uploads` and `/play` at (in
    /// upload locations and playback URLs). Default `http://127.0.0.1:4011`.
    pub public_url: String,
    /// `VIDEO_SIGNING_SECRET`: the HMAC key of playback URLs, at least 32 characters; the
    /// development default is refused in production. Default
    /// `coursegraph-development-video-signing-secret`.
    pub signing_secret: String,
    /// `VIDEO_PLAYBACK_TTL_SECONDS`: how long a playback URL stays valid, in seconds (it must
    /// outlast a viewing: players fetch segments throughout). Default 7200.
    pub playback_ttl: Duration,
    /// `VIDEO_MAX_UPLOAD_BYTES`: the largest upload accepted, in bytes (4 GiB). Default 4294967296.
    pub max_upload_bytes: u64,
    /// `VIDEO_WORKER_CONCURRENCY`: transcodes this process runs at once (0: none, it only
    /// serves; FFmpeg uses every core for one job). Default 1.
    pub worker_concurrency: usize,
    /// `VIDEO_JOB_ATTEMPTS`: deliveries of a transcoding job before it is given up. Default 3.
    pub job_attempts: u32,
    /// `VIDEO_JOB_ACK_WAIT_SECONDS`: how long a job may go without its worker's heartbeat before
    /// another worker takes it over, in seconds. Default 60.
    pub job_ack_wait: Duration,
    /// `LOG_LEVEL`: `trace`, `debug`, `info`, `warn`, `error` or `off`. Default `info`.
    pub log_level: tracing_subscriber::filter::LevelFilter,
    /// `EVENT_MAX_BYTES`: the largest event (protobuf payload + envelope headers, bytes) the
    /// outbox accepts; a larger one is refused and its transaction rolls back. Default 1040384.
    pub event_max_bytes: usize,
    /// `EVENT_OUTBOX_MAX_ATTEMPTS`: failed publishes (server refusals; timeouts and disconnects
    /// do not count) after which an outbox row is parked; too-large events are parked at once.
    /// Default 10.
    pub outbox_max_attempts: u32,
    /// `COURSEGRAPH_MODE`: `development`, `production` or `test`. Default `development`.
    /// Production applies the production profile (see the module's documentation).
    pub production: bool,
    /// `OPERATION_LIMITS` and `LIMIT_*`: what `/graphql` refuses before executing (the kit's
    /// [`OperationLimits`], the same settings as every service).
    pub limits: OperationLimits,
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
    /// Reads the configuration through `var` (e.g. `|name| std::env::var(name).ok()`).
    ///
    /// # Errors
    /// Every invalid variable, each as a [`ConfigError`].
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, Vec<ConfigError>> {
        let mut env = Env::new(var);
        let text = |env: &Env<_>, name: &str, default: &str| {
            env.value(name)
                .map_or_else(|| default.to_owned(), |v| v.trim().to_owned())
        };
        let port = env.parse_or("VIDEO_PORT", 4011u16, "a port number (0-65535)");
        let host = env.parse_or(
            "VIDEO_HOST",
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            "an IP address",
        );
        let mut bounded = |name: &'static str, default: u64, min: u64, max: u64| {
            let value = env.parse_or(
                name,
                default,
                &format!("a whole number from {min} to {max}"),
            );
            if (min..=max).contains(&value) {
                value
            } else {
                env.error(
                    name,
                    format!("must be a whole number from {min} to {max}, got {value}"),
                );
                default
            }
        };
        let max_upload_bytes = bounded("VIDEO_MAX_UPLOAD_BYTES", 4 << 30, 1, 1 << 40);
        let playback_ttl = bounded("VIDEO_PLAYBACK_TTL_SECONDS", 7200, 60, 7 * 86_400);
        let worker_concurrency = bounded("VIDEO_WORKER_CONCURRENCY", 1, 0, 64);
        let job_attempts = bounded("VIDEO_JOB_ATTEMPTS", 3, 1, 20);
        let job_ack_wait = bounded("VIDEO_JOB_ACK_WAIT_SECONDS", 60, 5, 3600);
        let event_max_bytes = bounded(
            "EVENT_MAX_BYTES",
            crate::outbox::DEFAULT_MAX_EVENT_BYTES as u64,
            1,
            1 << 30,
        );
        let outbox_max_attempts = bounded("EVENT_OUTBOX_MAX_ATTEMPTS", 10, 1, 1000);
        let log_level = env.log_level();
        let mode = env.mode();
        let limits = env.operation_limits();
        let metrics = MetricsSettings::read(&mut env);
        let tracing = TracingSettings::read(&mut env);
        let public_url = text(&env, "VIDEO_PUBLIC_URL", "http://127.0.0.1:4011")
            .trim_end_matches('/')
            .to_owned();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            env.error(
                "VIDEO_PUBLIC_URL",
                format!("must be an http:// or https:// URL, got {public_url:?}"),
            );
        }
        let signing_secret = text(&env, "VIDEO_SIGNING_SECRET", DEVELOPMENT_SIGNING_SECRET);
        if signing_secret.len() < crate::signing::MIN_SECRET_BYTES {
            env.error(
                "VIDEO_SIGNING_SECRET",
                format!(
                    "must be at least {} characters",
                    crate::signing::MIN_SECRET_BYTES
                ),
            );
        } else if mode.is_production() && signing_secret == DEVELOPMENT_SIGNING_SECRET {
            env.error(
                "VIDEO_SIGNING_SECRET",
                "is the development default: anyone could sign playback URLs; set a secret of your own",
            );
        }
        // The production profile, as every service applies it (the kit's checks).
        let database_url = text(
            &env,
            "VIDEO_DATABASE_URL",
            "postgres://cg_video:cg_video_dev@127.0.0.1:5432/coursegraph",
        );
        env.require_database_password("VIDEO_DATABASE_URL", &database_url, mode);
        let nats_url = text(&env, "NATS_URL", "nats://127.0.0.1:4222");
        env.require_nats_credentials("NATS_URL", &nats_url, mode);
        let redis_url = text(&env, "REDIS_URL", "redis://127.0.0.1:6379");
        env.require_redis_credentials("REDIS_URL", &redis_url, mode);
        let jwks_http_allowed_hosts = env.host_list("JWKS_HTTP_ALLOWED_HOSTS");
        let jwks_url = text(
            &env,
            "IDENTITY_JWKS_URL",
            "http://127.0.0.1:4001/.well-known/jwks.json",
        );
        env.require_jwks_url(
            "IDENTITY_JWKS_URL",
            &jwks_url,
            &jwks_http_allowed_hosts,
            mode,
        );
        let config = Self {
            port,
            host,
            database_url,
            nats_url,
            redis_url,
            jwks_url,
            jwks_http_allowed_hosts,
            auth_issuer: text(&env, "AUTH_ISSUER", "coursegraph-identity"),
            auth_audience: text(&env, "AUTH_AUDIENCE", "coursegraph"),
            storage_dir: PathBuf::from(text(&env, "VIDEO_STORAGE_DIR", ".data/video")),
            public_url,
            signing_secret,
            playback_ttl: Duration::from_secs(playback_ttl),
            max_upload_bytes,
            worker_concurrency: usize::try_from(worker_concurrency).unwrap_or(1),
            job_attempts: u32::try_from(job_attempts).unwrap_or(3),
            job_ack_wait: Duration::from_secs(job_ack_wait),
            event_max_bytes: usize::try_from(event_max_bytes)
                .unwrap_or(crate::outbox::DEFAULT_MAX_EVENT_BYTES),
            outbox_max_attempts: u32::try_from(outbox_max_attempts).unwrap_or(10),
            log_level,
            production: mode.is_production(),
            limits,
            metrics,
            tracing,
        };
        env.finish().map(|()| config)
    }

    /// The address to listen on.
    pub fn listen_addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<Config, Vec<ConfigError>> {
        Config::from_vars(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn defaults_work_for_development() {
        let config = read(&[]).expect("defaults");
        assert_eq!(config.port, 4011);
        assert_eq!(config.public_url, "http://127.0.0.1:4011");
        assert_eq!(config.playback_ttl, Duration::from_secs(7200));
        assert_eq!(config.worker_concurrency, 1);
        assert!(!config.production);
    }

    #[test]
    fn every_bad_variable_is_listed() {
        let errors = read(&[
            ("VIDEO_PORT", "70000"),
            ("VIDEO_PLAYBACK_TTL_SECONDS", "5"),
            ("VIDEO_PUBLIC_URL", "ftp://x"),
            ("VIDEO_SIGNING_SECRET", "short"),
        ])
        .expect_err("invalid");
        let names: Vec<_> = errors.iter().map(|e| e.name).collect();
        assert_eq!(
            names,
            [
                "VIDEO_PORT",
                "VIDEO_PLAYBACK_TTL_SECONDS",
                "VIDEO_PUBLIC_URL",
                "VIDEO_SIGNING_SECRET"
            ]
        );
    }

    /// What a production deployment sets to pass the profile.
    const FIT: &[(&str, &str)] = &[
        ("COURSEGRAPH_MODE", "production"),
        (
            "VIDEO_SIGNING_SECRET",
            "a-production-secret-of-forty-characters!!",
        ),
        (
            "VIDEO_DATABASE_URL",
            "postgres://cg_video:Own-pw-1@db.internal/coursegraph",
        ),
        ("NATS_URL", "nats://video:pw@nats:4222"),
        ("REDIS_URL", "redis://:redis-pw@redis.internal:6379"),
        (
            "IDENTITY_JWKS_URL",
            "https://identity.internal/.well-known/jwks.json",
        ),
    ];

    #[test]
    fn production_refuses_every_development_default_at_once() {
        let errors = read(&[("COURSEGRAPH_MODE", "production")]).expect_err("refused");
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 5, "{shown:?}");
        for (line, start) in shown.iter().zip([
            "VIDEO_SIGNING_SECRET is the development default",
            "VIDEO_DATABASE_URL uses a development password",
            "NATS_URL has no credentials",
            "REDIS_URL has no password",
            "IDENTITY_JWKS_URL is plain HTTP: use https, or name its host (127.0.0.1) in JWKS_HTTP_ALLOWED_HOSTS",
        ]) {
            assert!(line.starts_with(start), "{line}");
        }
        let config = read(FIT).expect("accepted");
        assert!(config.production);
        // Development and test run on the defaults.
        assert!(read(&[("COURSEGRAPH_MODE", "test")]).is_ok());
    }

    #[test]
    fn production_takes_plain_http_jwks_from_an_allowed_host_only() {
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut vars = FIT.to_vec();
            vars.retain(|(name, _)| !extra.iter().any(|(n, _)| n == name));
            vars.extend_from_slice(extra);
            read(&vars)
        };
        let http = (
            "IDENTITY_JWKS_URL",
            "http://identity.internal:4001/.well-known/jwks.json",
        );
        let names = |r: Result<Config, Vec<ConfigError>>| -> Vec<&'static str> {
            r.map_or_else(|e| e.iter().map(|e| e.name).collect(), |_| Vec::new())
        };
        assert_eq!(names(with(&[http])), ["IDENTITY_JWKS_URL"]);
        let allowed = with(&[
            http,
            ("JWKS_HTTP_ALLOWED_HOSTS", "127.0.0.1, identity.internal"),
        ])
        .expect("an allowed host");
        assert_eq!(
            allowed.jwks_http_allowed_hosts,
            ["127.0.0.1", "identity.internal"]
        );
        // A malformed list is refused in every mode.
        assert_eq!(
            names(read(&[(
                "JWKS_HTTP_ALLOWED_HOSTS",
                "http://identity.internal"
            )])),
            ["JWKS_HTTP_ALLOWED_HOSTS"]
        );
        assert_eq!(
            names(with(&[("REDIS_URL", "redis://redis.internal:6379")])),
            ["REDIS_URL"]
        );
        assert_eq!(
            names(with(&[(
                "VIDEO_DATABASE_URL",
                "postgres://cg_video@db.internal/coursegraph"
            )])),
            ["VIDEO_DATABASE_URL"]
        );
    }

    #[test]
    fn outbox_limits_are_read_and_bounded() {
        let config = read(&[]).expect("defaults");
        assert_eq!(config.event_max_bytes, 1_040_384);
        assert_eq!(config.outbox_max_attempts, 10);
        let config = read(&[
            ("EVENT_MAX_BYTES", "2048"),
            ("EVENT_OUTBOX_MAX_ATTEMPTS", "3"),
        ])
        .expect("valid");
        assert_eq!(
            (config.event_max_bytes, config.outbox_max_attempts),
            (2048, 3)
        );
        let errors = read(&[
            ("EVENT_MAX_BYTES", "0"),
            ("EVENT_OUTBOX_MAX_ATTEMPTS", "many"),
        ])
        .expect_err("invalid");
        let names: Vec<_> = errors.iter().map(|e| e.name).collect();
        assert_eq!(names, ["EVENT_MAX_BYTES", "EVENT_OUTBOX_MAX_ATTEMPTS"]);
    }
}
