//! The video subgraph's configuration, read from the environment once at start-up. Every
//! variable has a working default for development; production refuses the ones that would be
//! unsafe there (the signing secret, NATS without credentials).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use coursegraph_subgraph_kit::{ConfigError, Env, OperationLimits};

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
    /// `REDIS_URL`: Redis, where identity marks revoked access tokens. Default
    /// `redis://127.0.0.1:6379`.
    pub redis_url: String,
    /// `IDENTITY_JWKS_URL`: identity's public keys for access tokens. Default
    /// `http://127.0.0.1:4001/.well-known/jwks.json`.
    pub jwks_url: String,
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
    /// `COURSEGRAPH_MODE`: `development`, `production` or `test`. Default `development`.
    /// Production refuses the development signing secret and NATS without credentials.
    pub production: bool,
    /// `OPERATION_LIMITS` and `LIMIT_*`: what `/graphql` refuses before executing (the kit's
    /// [`OperationLimits`], the same settings as every service).
    pub limits: OperationLimits,
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
        let log_level = env.log_level();
        let mode = env.mode();
        let limits = env.operation_limits();
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
        let nats_url = text(&env, "NATS_URL", "nats://127.0.0.1:4222");
        env.require_nats_credentials("NATS_URL", &nats_url, mode);
        let config = Self {
            port,
            host,
            database_url: text(
                &env,
                "VIDEO_DATABASE_URL",
                "postgres://cg_video:cg_video_dev@127.0.0.1:5432/coursegraph",
            ),
            nats_url,
            redis_url: text(&env, "REDIS_URL", "redis://127.0.0.1:6379"),
            jwks_url: text(
                &env,
                "IDENTITY_JWKS_URL",
                "http://127.0.0.1:4001/.well-known/jwks.json",
            ),
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
            log_level,
            production: mode.is_production(),
            limits,
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

    #[test]
    fn production_refuses_the_development_secret_and_anonymous_nats() {
        let errors = read(&[("COURSEGRAPH_MODE", "production")]).expect_err("refused");
        let names: Vec<_> = errors.iter().map(|e| e.name).collect();
        assert_eq!(names, ["VIDEO_SIGNING_SECRET", "NATS_URL"]);
        let config = read(&[
            ("COURSEGRAPH_MODE", "production"),
            (
                "VIDEO_SIGNING_SECRET",
                "a-production-secret-of-forty-characters!!",
            ),
            ("NATS_URL", "nats://video:pw@nats:4222"),
        ])
        .expect("accepted");
        assert!(config.production);
    }
}
