//! Who is calling: the Rust twin of the TypeScript services' one auth context
//! (`packages/service-kit/src/auth.ts`), with the same rules and the same client-facing messages.
//!
//! The video subgraph is reached directly too (tus uploads, HLS, GraphQL), so it verifies access
//! tokens itself rather than trusting forwarded headers:
//!
//! - an access token is an ES256 JWT signed by identity; its `kid` picks the key from identity's
//!   JWKS (`IDENTITY_JWKS_URL`), fetched over https (TLS 1.2/1.3 with rustls, checked against
//!   the system's certificate authorities) or plain http, kept at most [`JWKS_MAX_AGE`] and
//!   re-read for an unknown `kid` at most once per [`JWKS_REFETCH_COOLDOWN`], so a forged `kid`
//!   cannot hammer identity;
//! - claims are checked as `jose`'s `jwtVerify` does in auth.ts (no clock leeway): `iss`, `aud`
//!   (a string or an array), `exp`, `iat` (required, at most [`MAX_ACCESS_TOKEN_TTL_SECONDS`]
//!   old, not in the future), `nbf` when present, then `sub`, `sid`, `iat_ms` and `role`;
//! - revocation marks (log-out, deactivation, role change) are read from Redis with one `MGET`
//!   per verification; when Redis does not answer within [`REDIS_COMMAND_TIMEOUT`] the check
//!   fails open (see [`AuthVerifier::verify`] for why), and revocations seen before still hold;
//! - a bounded cache of verified tokens skips the signature check for a token seen before, until
//!   it would expire or [`JWKS_MAX_AGE`] passes; revocation is still checked on every call.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use redis::aio::MultiplexedConnection;
use redis::AsyncConnectionConfig;
use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};
use serde_json::{Map, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{self, RootCertStore};
use tokio_rustls::TlsConnector;

/// The longest access-token lifetime any verifier accepts, in seconds (identity refuses to be
/// configured longer); a token whose `iat` is older is refused.
pub const MAX_ACCESS_TOKEN_TTL_SECONDS: i64 = 3600;
/// The default number of verified tokens a verifier remembers ([`AuthConfig::cache_size`]).
pub const DEFAULT_AUTH_CACHE_SIZE: usize = 10_000;
/// The default of [`AuthConfig::jwks_url`] (`IDENTITY_JWKS_URL`).
pub const DEFAULT_JWKS_URL: &str = "http://127.0.0.1:4001/.well-known/jwks.json";
/// The default of [`AuthConfig::issuer`] (`AUTH_ISSUER`).
pub const DEFAULT_ISSUER: &str = "coursegraph-identity";
/// The default of [`AuthConfig::audience`] (`AUTH_AUDIENCE`).
pub const DEFAULT_AUDIENCE: &str = "coursegraph";
/// The longest token looked at, in bytes; a longer one is refused before it is parsed (identity's
/// tokens are about 500 bytes).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// The largest JWKS response read, in bytes; a longer one is refused as a whole.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// The longest a key set read from identity is trusted (10 minutes, as auth.ts keeps it); also how
/// long a cached verification holds before the signature is checked against the keys again.
pub const JWKS_MAX_AGE: Duration = Duration::from_secs(600);
/// The shortest time between two JWKS fetches when a token names a key not in the set, or the
/// previous fetch failed (30 s).
pub const JWKS_REFETCH_COOLDOWN: Duration = Duration::from_secs(30);
/// The longest one JWKS fetch may take, connection included (5 s, jose's default).
pub const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest the revocation check waits for Redis (300 ms, like `REDIS_COMMAND_TIMEOUT_MS`),
/// connecting included; then it fails open.
pub const REDIS_COMMAND_TIMEOUT: Duration = Duration::from_millis(300);
/// Revocations a verifier remembers for when Redis is away (oldest dropped first).
pub const REMEMBERED_REVOCATIONS: usize = 10_000;

/// At most one "Redis did not answer" (or "JWKS unreadable") warning per verifier this often.
const WARNING_EVERY: Duration = Duration::from_secs(10);
/// One Redis connection attempt, handshake included.
const REDIS_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Waits between Redis connection attempts: from the first, doubling up to the last (as the
/// TypeScript client's retry strategy, 50 ms growing to 2 s).
const REDIS_RETRY_FIRST: Duration = Duration::from_millis(50);
const REDIS_RETRY_MAX: Duration = Duration::from_secs(2);
/// How long [`AuthVerifier::new`] waits for the first Redis connection, so the first requests
/// are checked; a Redis that is down does not hold the start-up longer.
const REDIS_FIRST_CONNECT_WAIT: Duration = Duration::from_secs(1);
/// Integers a JavaScript number holds exactly (`Number.MAX_SAFE_INTEGER`): `iat_ms` must be one,
/// so comparing it with a revocation mark is exact.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

const EXPIRED: &str = "The access token has expired; refresh it.";
const INVALID: &str = "The access token is invalid.";
const REVOKED: &str = "The access token has been revoked; sign in again.";
const MALFORMED_HEADER: &str = "The Authorization header must be \"Bearer <access token>\".";

/// A role of the platform, as identity writes it in the `role` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// `LEARNER`: takes courses.
    Learner,
    /// `INSTRUCTOR`: writes courses (and their videos).
    Instructor,
    /// `ADMIN`: runs the platform.
    Admin,
}

impl Role {
    /// The role named `name` exactly (`"LEARNER"`, `"INSTRUCTOR"`, `"ADMIN"`), or `None`.
    pub fn from_claim(name: &str) -> Option<Self> {
        match name {
            "LEARNER" => Some(Self::Learner),
            "INSTRUCTOR" => Some(Self::Instructor),
            "ADMIN" => Some(Self::Admin),
            _ => None,
        }
    }

    /// The role's name as in the claim and the GraphQL enum.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Learner => "LEARNER",
            Self::Instructor => "INSTRUCTOR",
            Self::Admin => "ADMIN",
        }
    }
}

/// Who is calling, as proven by a verified access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    /// The user's id (`sub`).
    pub user_id: String,
    /// Their role when the token was issued (`role`).
    pub role: Role,
    /// The session (refresh-token family) the token was issued for (`sid`).
    pub session_id: String,
    /// Issue time in milliseconds since the Unix epoch (`iat_ms`), compared with per-user
    /// revocation marks.
    pub issued_at_ms: i64,
}

/// How a verifier finds keys and revocations; filled from the environment by the service's config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// Identity's JWKS (`IDENTITY_JWKS_URL`; default [`DEFAULT_JWKS_URL`]): `https://` or
    /// `http://` (the production profile decides which hosts may be plain http).
    pub jwks_url: String,
    /// The `iss` every token must carry (`AUTH_ISSUER`; default [`DEFAULT_ISSUER`]).
    pub issuer: String,
    /// The audience every token must name (`AUTH_AUDIENCE`; default [`DEFAULT_AUDIENCE`]).
    pub audience: String,
    /// Where revocation marks are read (`REDIS_URL`, `redis://[:password@]host:port[/db]`).
    pub redis_url: String,
    /// How many verified tokens to remember (oldest dropped first; default
    /// [`DEFAULT_AUTH_CACHE_SIZE`]); 0 turns the cache off.
    pub cache_size: usize,
}

/// Why a token is not accepted; the message is the one to show the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No acceptable credentials: the GraphQL error code `UNAUTHENTICATED` (HTTP 401 elsewhere).
    #[error("{0}")]
    Unauthenticated(String),
}

impl AuthError {
    /// The platform's error code for this error (`extensions.code`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
        }
    }

    fn unauthenticated(message: &str) -> Self {
        Self::Unauthenticated(message.to_owned())
    }
}

/// Why a verifier cannot be built: its configuration is unusable (nothing is contacted).
#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    /// `jwks_url` is not an `https://` or `http://` URL with a host.
    #[error("IDENTITY_JWKS_URL must be an https:// or http:// URL with a host, got {0:?}")]
    JwksUrl(String),
    /// `jwks_url` is https, and TLS cannot be set up (no certificate authority could be read).
    #[error("IDENTITY_JWKS_URL is https, but TLS cannot be set up: {0}")]
    Tls(String),
    /// `redis_url` cannot be parsed.
    #[error("REDIS_URL is not a usable Redis URL: {0}")]
    RedisUrl(#[source] redis::RedisError),
}

/// The bearer token of a request: `Ok(None)` when no (or an empty) Authorization header is sent,
/// an error when it is not `Bearer <token>` (the scheme in any case) or is sent twice.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    // Two headers would be joined with ", " by a fetch-style reader, which auth.ts refuses.
    if values.next().is_some() {
        return Err(AuthError::unauthenticated(MALFORMED_HEADER));
    }
    let value = value
        .to_str()
        .map_err(|_| AuthError::unauthenticated(MALFORMED_HEADER))?;
    if value.is_empty() {
        return Ok(None);
    }
    let value = value.trim();
    let malformed = || AuthError::unauthenticated(MALFORMED_HEADER);
    let (scheme, rest) = value.split_at_checked(6).ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || !rest.starts_with(char::is_whitespace) {
        return Err(malformed());
    }
    let token = rest.trim_start();
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err(malformed());
    }
    Ok(Some(token))
}

/// Verifies access tokens against identity's keys and Redis' revocation marks. Cheap to clone
/// (one `Arc`); clones share key set, caches and Redis connection.
#[derive(Clone)]
pub struct AuthVerifier {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AuthVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthVerifier")
            .field("jwks_url", &self.inner.jwks_uri)
            .field("issuer", &self.inner.issuer)
            .field("audience", &self.inner.audience)
            .finish_non_exhaustive()
    }
}

/// The time limits of a verifier; tests shorten them, the service uses [`Timing::DEFAULT`].
#[derive(Debug, Clone, Copy)]
struct Timing {
    jwks_max_age: Duration,
    jwks_cooldown: Duration,
    recheck_after: Duration,
}

impl Timing {
    const DEFAULT: Self = Self {
        jwks_max_age: JWKS_MAX_AGE,
        jwks_cooldown: JWKS_REFETCH_COOLDOWN,
        recheck_after: JWKS_MAX_AGE,
    };
}

struct Inner {
    issuer: String,
    audience: String,
    jwks_uri: hyper::Uri,
    /// For an https `jwks_uri`: TLS over each connection. Each fetch opens its own connection
    /// (they are at most one per cooldown), so there is no pool to keep.
    tls: Option<TlsConnector>,
    timing: Timing,
    keys: RwLock<KeySet>,
    /// One JWKS fetch at a time; a task that waited for it uses its result.
    refresh: tokio::sync::Mutex<()>,
    cache_size: usize,
    verified: Mutex<BoundedMap<[u8; 32], CachedCheck>>,
    redis: Arc<RedisLink>,
    remembered: Mutex<BoundedMap<RevocationKey, f64>>,
    redis_warning: Throttle,
    jwks_warning: Throttle,
}

/// A verification kept for a token (by its SHA-256).
#[derive(Clone)]
struct CachedCheck {
    viewer: Viewer,
    /// Wall-clock milliseconds from which the token is expired (`exp` passed or `iat` too old).
    valid_until_ms: i64,
    /// When the signature must be checked against the current keys again.
    recheck_at: Instant,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum RevocationKey {
    Session(String),
    UserBefore(String),
}

impl AuthVerifier {
    /// A verifier for `config`. Contacts nothing but Redis (waiting at most about a second for the
    /// first connection): identity or Redis being down at start-up does not fail it; keys are
    /// fetched on the first verification, and Redis is reconnected in the background.
    pub async fn new(config: AuthConfig) -> Result<Self, AuthSetupError> {
        Self::with_timing(config, Timing::DEFAULT, system_roots).await
    }

    /// `roots`: the certificate authorities an https JWKS is checked against (called only for
    /// https): the system's, or a test's own.
    async fn with_timing(
        config: AuthConfig,
        timing: Timing,
        roots: impl FnOnce() -> Result<RootCertStore, String>,
    ) -> Result<Self, AuthSetupError> {
        let jwks_uri: hyper::Uri = config
            .jwks_url
            .parse()
            .map_err(|_| AuthSetupError::JwksUrl(config.jwks_url.clone()))?;
        let https = match jwks_uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(AuthSetupError::JwksUrl(config.jwks_url)),
        };
        if jwks_uri.host().is_none() {
            return Err(AuthSetupError::JwksUrl(config.jwks_url));
        }
        let tls = if https {
            Some(tls_connector(roots().map_err(AuthSetupError::Tls)?)?)
        } else {
            None
        };
        let redis_client =
            redis::Client::open(config.redis_url.as_str()).map_err(AuthSetupError::RedisUrl)?;
        let redis = Arc::new(RedisLink::new(redis_client));
        let verifier = Self {
            inner: Arc::new(Inner {
                issuer: config.issuer,
                audience: config.audience,
                jwks_uri,
                tls,
                timing,
                keys: RwLock::new(KeySet::default()),
                refresh: tokio::sync::Mutex::new(()),
                cache_size: config.cache_size,
                verified: Mutex::new(BoundedMap::new(config.cache_size)),
                redis: redis.clone(),
                remembered: Mutex::new(BoundedMap::new(REMEMBERED_REVOCATIONS)),
                redis_warning: Throttle::default(),
                jwks_warning: Throttle::default(),
            }),
        };
        // Connect now so the first requests are checked; a Redis that is down only costs the wait.
        if let Ok(Err(error)) =
            tokio::time::timeout(REDIS_FIRST_CONNECT_WAIT, redis.connection()).await
        {
            tracing::warn!(%error, "Redis is not reachable yet; token revocation checks fail open until it is");
        }
        Ok(verifier)
    }

    /// The viewer of a request: `Ok(None)` when anonymous (no Authorization header), an error when
    /// the header is malformed or its token is not acceptable (see [`verify`](Self::verify)).
    pub async fn viewer_from_headers(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<Viewer>, AuthError> {
        match bearer_token(headers)? {
            Some(token) => self.verify(token).await.map(Some),
            None => Ok(None),
        }
    }

    /// Verifies an access token: signature, claims, then revocation.
    ///
    /// Errors (all [`AuthError::Unauthenticated`]): "The access token has expired; refresh it."
    /// (`exp` passed, or `iat` older than [`MAX_ACCESS_TOKEN_TTL_SECONDS`]); "The access token
    /// has been revoked; sign in again." (its session was ended, or the user's tokens issued at
    /// or before a mark were revoked); "The access token is invalid." (anything else, including
    /// identity's keys being unreadable).
    ///
    /// Why the revocation check fails open when Redis does not answer within
    /// [`REDIS_COMMAND_TIMEOUT`]: the signature and expiry were just checked, so only a token
    /// revoked during the outage is wrongly accepted, and only until it expires (15 minutes by
    /// default, at most an hour). Failing closed would turn a Redis blip into every signed-in
    /// request failing. Revocations this verifier saw before the outage keep being enforced.
    pub async fn verify(&self, token: &str) -> Result<Viewer, AuthError> {
        let viewer = self.check_signature_and_claims(token).await?;
        let (session_revoked, revoked_before) = self.revocation_marks(&viewer).await;
        // A mark that is not a number compares false (NaN), as in auth.ts.
        let issued_at_ms = viewer.issued_at_ms as f64;
        if session_revoked || revoked_before.is_some_and(|mark| issued_at_ms <= mark) {
            return Err(AuthError::unauthenticated(REVOKED));
        }
        Ok(viewer)
    }

    async fn check_signature_and_claims(&self, token: &str) -> Result<Viewer, AuthError> {
        let inner = &self.inner;
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::unauthenticated(INVALID));
        }
        let digest = token_digest(token);
        if inner.cache_size > 0 {
            let mut verified = lock(&inner.verified);
            if let Some(cached) = verified.get(&digest).cloned() {
                if now_ms() >= cached.valid_until_ms {
                    verified.remove(&digest);
                    return Err(AuthError::unauthenticated(EXPIRED));
                }
                if Instant::now() < cached.recheck_at {
                    return Ok(cached.viewer);
                }
                // Held long enough: check the signature against the current keys again.
                verified.remove(&digest);
            }
        }

        let parsed =
            ParsedToken::parse(token).ok_or_else(|| AuthError::unauthenticated(INVALID))?;
        let keys = self.candidate_keys(parsed.kid.as_deref()).await?;
        let signed = keys.iter().any(|key| {
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &key.point[..])
                .verify(parsed.signing_input.as_bytes(), &parsed.signature)
                .is_ok()
        });
        if !signed {
            return Err(AuthError::unauthenticated(INVALID));
        }
        let (viewer, valid_until_ms) =
            check_claims(&parsed.payload, &inner.issuer, &inner.audience, now_ms())?;
        if inner.cache_size > 0 {
            lock(&inner.verified).insert(
                digest,
                CachedCheck {
                    viewer: viewer.clone(),
                    valid_until_ms,
                    recheck_at: Instant::now() + inner.timing.recheck_after,
                },
            );
        }
        Ok(viewer)
    }

    /// The keys that may have signed a token naming `kid`, reading identity's JWKS when the set
    /// is stale or lacks the key (at most once per cooldown).
    async fn candidate_keys(&self, kid: Option<&str>) -> Result<Vec<VerifyingKey>, AuthError> {
        let inner = &self.inner;
        let attempt_seen = {
            let set = read(&inner.keys);
            let now = Instant::now();
            if set.is_fresh(now, inner.timing.jwks_max_age) {
                let keys = set.select(kid);
                if !keys.is_empty() {
                    return Ok(keys);
                }
            }
            if set
                .last_attempt
                .is_some_and(|at| now.duration_since(at) < inner.timing.jwks_cooldown)
            {
                return Err(AuthError::unauthenticated(INVALID));
            }
            set.last_attempt
        };
        // In its own task, so a request dropped mid-fetch still leaves the keys it read behind.
        let task = tokio::spawn(Inner::refresh_keys(inner.clone(), attempt_seen));
        // A panicked fetch leaves the key set as it was; the token is then judged on that.
        let _ = task.await;
        let set = read(&inner.keys);
        let keys = if set.is_fresh(Instant::now(), inner.timing.jwks_max_age) {
            set.select(kid)
        } else {
            Vec::new()
        };
        if keys.is_empty() {
            Err(AuthError::unauthenticated(INVALID))
        } else {
            Ok(keys)
        }
    }

    /// The viewer's revocation marks (session revoked; user's tokens revoked at or before this
    /// many ms) from Redis, or from memory when Redis does not answer in time.
    async fn revocation_marks(&self, viewer: &Viewer) -> (bool, Option<f64>) {
        let inner = &self.inner;
        let session_key = RevocationKey::Session(viewer.session_id.clone());
        let user_key = RevocationKey::UserBefore(viewer.user_id.clone());
        let keys = [
            format!("auth:revoked-session:{}", viewer.session_id),
            format!("auth:revoked-before:{}", viewer.user_id),
        ];
        let outcome = tokio::time::timeout(REDIS_COMMAND_TIMEOUT, inner.redis.mget(&keys)).await;
        let problem = match outcome {
            Ok(Ok(values)) => {
                let mut values = values.into_iter();
                // An empty value is no mark, as a falsy string is none in auth.ts.
                let session = values.next().flatten().filter(|v| !v.is_empty());
                let before = values.next().flatten().filter(|v| !v.is_empty());
                let before = before.map(|v| js_number(&String::from_utf8_lossy(&v)));
                let mut remembered = lock(&inner.remembered);
                if session.is_some() {
                    remembered.insert(session_key, 1.0);
                }
                if let Some(mark) = before {
                    remembered.insert(user_key, mark);
                }
                return (session.is_some(), before);
            }
            Ok(Err(error)) => error.to_string(),
            Err(_) => format!("no answer within {} ms", REDIS_COMMAND_TIMEOUT.as_millis()),
        };
        if inner.redis_warning.ready() {
            tracing::warn!(
                error = %problem,
                "token revocation check skipped: Redis did not answer (failing open; revocations seen before still hold)"
            );
        }
        let remembered = lock(&inner.remembered);
        (
            remembered.get(&session_key).is_some(),
            remembered.get(&user_key).copied(),
        )
    }
}

impl Inner {
    /// Reads identity's JWKS into the key set, unless another task did since `attempt_seen`.
    async fn refresh_keys(self: Arc<Self>, attempt_seen: Option<Instant>) {
        let _one_at_a_time = self.refresh.lock().await;
        {
            let mut set = write(&self.keys);
            if set.last_attempt != attempt_seen {
                return;
            }
            set.last_attempt = Some(Instant::now());
        }
        match self.fetch_jwks().await {
            Ok(keys) => {
                let mut set = write(&self.keys);
                set.keys = keys;
                set.fetched_at = Some(Instant::now());
            }
            Err(error) => {
                if self.jwks_warning.ready() {
                    tracing::warn!(url = %self.jwks_uri, %error, "identity's JWKS could not be read; tokens signed with keys not held are refused");
                }
            }
        }
    }

    async fn fetch_jwks(&self) -> Result<Vec<VerifyingKey>, JwksError> {
        let uri = &self.jwks_uri;
        // The host as a socket address and TLS name take it: `[::1]` → `::1`.
        let host = uri
            .host()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri
            .port_u16()
            .unwrap_or(if self.tls.is_some() { 443 } else { 80 });
        let authority = uri.authority().map_or("", |a| a.as_str());
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let request = hyper::Request::get(path)
            .header(header::HOST, authority)
            .header(header::ACCEPT, "application/json")
            .body(Empty::<Bytes>::new())
            .map_err(|e| JwksError::Request(e.to_string()))?;
        let body = tokio::time::timeout(JWKS_FETCH_TIMEOUT, async {
            let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
                .await
                .map_err(|e| JwksError::Request(format!("connect: {e}")))?;
            let response = match &self.tls {
                None => send(tcp, request).await?,
                Some(tls) => {
                    let name = ServerName::try_from(host.clone())
                        .map_err(|e| JwksError::Request(format!("TLS name {host:?}: {e}")))?;
                    let stream = tls
                        .connect(name, tcp)
                        .await
                        .map_err(|e| JwksError::Request(format!("TLS: {e}")))?;
                    send(stream, request).await?
                }
            };
            if response.status() != hyper::StatusCode::OK {
                return Err(JwksError::Status(response.status().as_u16()));
            }
            Limited::new(response.into_body(), MAX_JWKS_BYTES)
                .collect()
                .await
                .map(|body| body.to_bytes())
                .map_err(|e| JwksError::Body(e.to_string()))
        })
        .await
        .map_err(|_| JwksError::Timeout)??;
        parse_jwks(&body)
    }
}

/// Sends `request` over a fresh HTTP/1.1 connection `io` and returns the response; the connection
/// is driven by a task of its own until the response's body is read or dropped.
async fn send<S>(
    io: S,
    request: hyper::Request<Empty<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, JwksError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| JwksError::Request(e.to_string()))?;
    tokio::spawn(async move {
        // Its errors reach the request or the body being read.
        let _ = connection.await;
    });
    sender
        .send_request(request)
        .await
        .map_err(|e| JwksError::Request(e.to_string()))
}

/// The system's certificate authorities (Debian's ca-certificates; `SSL_CERT_FILE` or
/// `SSL_CERT_DIR` name others), as an https JWKS is checked against.
fn system_roots() -> Result<RootCertStore, String> {
    let certificates = rustls_native_certs::load_native_certs()
        .map_err(|e| format!("cannot read the system's certificate authorities: {e}"))?;
    let mut roots = RootCertStore::empty();
    let (added, _unusable) = roots.add_parsable_certificates(certificates);
    if added == 0 {
        return Err("the system has no certificate authority (install ca-certificates, or name a file in SSL_CERT_FILE)".into());
    }
    Ok(roots)
}

/// TLS 1.2 and 1.3 with ring's algorithms (the provider async-nats already uses), checked
/// against `roots`.
fn tls_connector(roots: RootCertStore) -> Result<TlsConnector, AuthSetupError> {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| AuthSetupError::Tls(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Why identity's key set could not be read (logged, never shown to a client).
#[derive(Debug, thiserror::Error)]
enum JwksError {
    #[error("request failed: {0}")]
    Request(String),
    #[error("answered HTTP {0}")]
    Status(u16),
    #[error("body unreadable or over {MAX_JWKS_BYTES} bytes: {0}")]
    Body(String),
    #[error("no answer within {} s", JWKS_FETCH_TIMEOUT.as_secs())]
    Timeout,
    #[error("not a JSON Web Key Set")]
    NotAKeySet,
}

/// A P-256 public key of identity's JWKS.
#[derive(Debug, Clone)]
struct VerifyingKey {
    kid: Option<String>,
    /// The uncompressed point: 0x04 || x || y.
    point: Vec<u8>,
}

#[derive(Default)]
struct KeySet {
    keys: Vec<VerifyingKey>,
    /// When the keys were last read successfully.
    fetched_at: Option<Instant>,
    /// When a fetch last started (successful or not): the cooldown counts from it.
    last_attempt: Option<Instant>,
}

impl KeySet {
    fn is_fresh(&self, now: Instant, max_age: Duration) -> bool {
        self.fetched_at
            .is_some_and(|at| now.duration_since(at) < max_age)
    }

    /// The keys a token may have been signed with: the one named by `kid`, or every key when the
    /// token names none (as jose tries each matching key).
    fn select(&self, kid: Option<&str>) -> Vec<VerifyingKey> {
        self.keys
            .iter()
            .filter(|key| kid.is_none() || key.kid.as_deref() == kid)
            .cloned()
            .collect()
    }
}

/// The ES256 verification keys of a JWKS document; keys of other types or uses are skipped.
fn parse_jwks(body: &[u8]) -> Result<Vec<VerifyingKey>, JwksError> {
    let document: Value = serde_json::from_slice(body).map_err(|_| JwksError::NotAKeySet)?;
    let keys = document
        .get("keys")
        .and_then(Value::as_array)
        .ok_or(JwksError::NotAKeySet)?;
    Ok(keys.iter().filter_map(verifying_key).collect())
}

fn verifying_key(jwk: &Value) -> Option<VerifyingKey> {
    let jwk = jwk.as_object()?;
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    let optional_is = |name: &str, expected: &str| match jwk.get(name) {
        None => true,
        Some(value) => value.as_str() == Some(expected),
    };
    if text("kty") != Some("EC")
        || text("crv") != Some("P-256")
        || !optional_is("alg", "ES256")
        || !optional_is("use", "sig")
    {
        return None;
    }
    let x = URL_SAFE_NO_PAD.decode(text("x")?).ok()?;
    let y = URL_SAFE_NO_PAD.decode(text("y")?).ok()?;
    if x.len() != 32 || y.len() != 32 {
        return None;
    }
    let mut point = Vec::with_capacity(65);
    point.push(0x04);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    let kid = match jwk.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return None,
    };
    Some(VerifyingKey { kid, point })
}

/// A compact JWS whose header allows ES256 and whose payload is a JSON object.
struct ParsedToken<'a> {
    kid: Option<String>,
    signing_input: &'a str,
    signature: Vec<u8>,
    payload: Map<String, Value>,
}

impl<'a> ParsedToken<'a> {
    fn parse(token: &'a str) -> Option<Self> {
        let mut parts = token.split('.');
        let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        let header = header.as_object()?;
        // Only ES256: `none`, HMAC (a public key used as a secret) and every other algorithm are
        // refused. Critical extensions are not understood, so a token naming any is refused.
        if header.get("alg").and_then(Value::as_str) != Some("ES256") || header.contains_key("crit")
        {
            return None;
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.clone()),
            Some(_) => return None,
        };
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        if signature.len() != 64 {
            return None;
        }
        let payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        let Value::Object(payload) = payload else {
            return None;
        };
        let signing_input = &token[..token.len() - token.rsplit('.').next()?.len() - 1];
        Some(Self {
            kid,
            signing_input,
            signature,
            payload,
        })
    }
}

/// Checks a signed token's claims at `now_ms` as jose's `jwtVerify` does in auth.ts (no leeway),
/// then the platform's own claims. Returns the viewer and the wall-clock ms from which the token
/// is expired.
fn check_claims(
    claims: &Map<String, Value>,
    issuer: &str,
    audience: &str,
    now_ms: i64,
) -> Result<(Viewer, i64), AuthError> {
    let invalid = || AuthError::unauthenticated(INVALID);
    let expired = || AuthError::unauthenticated(EXPIRED);
    // jose counts whole seconds: floor(now / 1000).
    let now = now_ms.div_euclid(1000) as f64;
    let number = |name: &str| match claims.get(name) {
        None => Ok(None),
        Some(value) => value.as_f64().map(Some).ok_or_else(invalid),
    };

    if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return Err(invalid());
    }
    let audience_named = match claims.get("aud") {
        Some(Value::String(aud)) => aud == audience,
        Some(Value::Array(auds)) => auds.iter().any(|aud| aud.as_str() == Some(audience)),
        _ => false,
    };
    if !audience_named {
        return Err(invalid());
    }
    if claims.get("sub").is_some_and(|sub| !sub.is_string()) {
        return Err(invalid());
    }
    let iat = number("iat")?.ok_or_else(invalid)?;
    let exp = number("exp")?.ok_or_else(invalid)?;
    if number("nbf")?.is_some_and(|nbf| nbf > now) {
        return Err(invalid());
    }
    if exp <= now {
        return Err(expired());
    }
    let age = now - iat;
    if age > MAX_ACCESS_TOKEN_TTL_SECONDS as f64 {
        return Err(expired());
    }
    if age < 0.0 {
        return Err(invalid());
    }

    let text = |name: &str| claims.get(name).and_then(Value::as_str).ok_or_else(invalid);
    let user_id = text("sub")?.to_owned();
    let session_id = text("sid")?.to_owned();
    let role = Role::from_claim(text("role")?).ok_or_else(invalid)?;
    let issued_at_ms = claims
        .get("iat_ms")
        .and_then(Value::as_f64)
        .filter(|ms| ms.fract() == 0.0 && ms.abs() <= MAX_SAFE_INTEGER)
        .ok_or_else(invalid)? as i64;
    // The moment jose would refuse it (whole seconds): `exp` passed or `iat` too old.
    let valid_until_s = exp
        .ceil()
        .min((iat + MAX_ACCESS_TOKEN_TTL_SECONDS as f64).floor() + 1.0);
    let valid_until_ms = (valid_until_s * 1000.0) as i64;
    Ok((
        Viewer {
            user_id,
            role,
            session_id,
            issued_at_ms,
        },
        valid_until_ms,
    ))
}

/// JavaScript's `Number(text)` for the decimal numbers identity writes; anything else is NaN.
fn js_number(text: &str) -> f64 {
    let text = text.trim();
    if text.is_empty()
        || !text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E'))
    {
        return f64::NAN;
    }
    text.parse().unwrap_or(f64::NAN)
}

fn token_digest(token: &str) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut out = [0; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

// A panic while a lock is held leaves plain data behind (no invariant spans two fields), so the
// data is used as it is rather than poisoning every later request.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

/// Lets something through at most once per [`WARNING_EVERY`].
#[derive(Default)]
struct Throttle {
    last: Mutex<Option<Instant>>,
}

impl Throttle {
    fn ready(&self) -> bool {
        let mut last = lock(&self.last);
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < WARNING_EVERY) {
            return false;
        }
        *last = Some(now);
        true
    }
}

/// A map that keeps at most `capacity` entries, dropping the oldest inserted first (as a
/// JavaScript `Map` used the same way in auth.ts). Capacity 0 keeps nothing.
struct BoundedMap<K, V> {
    capacity: usize,
    entries: HashMap<K, (u64, V)>,
    /// Insertion order; entries whose sequence no longer matches were removed or replaced.
    order: VecDeque<(K, u64)>,
    next: u64,
}

impl<K: Clone + Eq + Hash, V> BoundedMap<K, V> {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: HashMap::new(),
            order: VecDeque::new(),
            next: 0,
        }
    }

    fn get(&self, key: &K) -> Option<&V> {
        self.entries.get(key).map(|(_, value)| value)
    }

    fn remove(&mut self, key: &K) {
        self.entries.remove(key);
    }

    /// Sets `key`; a key already present keeps its place in the order.
    fn insert(&mut self, key: K, value: V) {
        if self.capacity == 0 {
            return;
        }
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.1 = value;
            return;
        }
        while self.entries.len() >= self.capacity {
            let Some((old, seq)) = self.order.pop_front() else {
                break;
            };
            if self.entries.get(&old).is_some_and(|(s, _)| *s == seq) {
                self.entries.remove(&old);
            }
        }
        let seq = self.next;
        self.next += 1;
        self.entries.insert(key.clone(), (seq, value));
        self.order.push_back((key, seq));
        // Removed entries leave their place in `order` behind; drop them now and then.
        if self.order.len() > 2 * self.capacity + 64 {
            let entries = &self.entries;
            self.order
                .retain(|(k, s)| entries.get(k).is_some_and(|(seq, _)| seq == s));
        }
    }
}

/// One multiplexed Redis connection, made lazily and remade after it breaks. Only one connection
/// attempt runs at a time (in its own task, so a caller's timeout does not cut it short); while
/// Redis is down, attempts are spaced from [`REDIS_RETRY_FIRST`] to [`REDIS_RETRY_MAX`].
struct RedisLink {
    client: redis::Client,
    state: watch::Sender<LinkState>,
    generation: AtomicU64,
}

#[derive(Clone)]
enum LinkState {
    /// Not connected; the next attempt may start at `retry_at`, and would wait `backoff` after
    /// failing.
    Idle {
        retry_at: Instant,
        backoff: Duration,
    },
    /// An attempt is running.
    Connecting,
    /// Connected.
    Ready {
        generation: u64,
        connection: MultiplexedConnection,
    },
}

/// Why Redis could not be asked.
#[derive(Debug, thiserror::Error)]
enum RedisProblem {
    #[error("not connected (reconnecting)")]
    NotConnected,
    #[error(transparent)]
    Redis(#[from] redis::RedisError),
}

impl RedisLink {
    fn new(client: redis::Client) -> Self {
        let (state, _) = watch::channel(LinkState::Idle {
            retry_at: Instant::now(),
            backoff: REDIS_RETRY_FIRST,
        });
        Self {
            client,
            state,
            generation: AtomicU64::new(0),
        }
    }

    /// The current connection, connecting when none is held and a retry is due.
    async fn connection(self: &Arc<Self>) -> Result<(u64, MultiplexedConnection), RedisProblem> {
        loop {
            let current = self.state.borrow().clone();
            match current {
                LinkState::Ready {
                    generation,
                    connection,
                } => return Ok((generation, connection)),
                LinkState::Idle { retry_at, backoff } if Instant::now() >= retry_at => {
                    let started = self.state.send_if_modified(|state| {
                        if matches!(state, LinkState::Idle { .. }) {
                            *state = LinkState::Connecting;
                            true
                        } else {
                            false
                        }
                    });
                    if started {
                        tokio::spawn(Self::connect(self.clone(), backoff));
                    }
                }
                LinkState::Idle { .. } => return Err(RedisProblem::NotConnected),
                LinkState::Connecting => {
                    let mut changes = self.state.subscribe();
                    // The sender lives in `self`, so this only ends when the attempt does.
                    let _ = changes
                        .wait_for(|state| !matches!(state, LinkState::Connecting))
                        .await;
                }
            }
        }
    }

    async fn connect(self: Arc<Self>, backoff: Duration) {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(REDIS_CONNECT_TIMEOUT)
            .set_response_timeout(REDIS_CONNECT_TIMEOUT);
        let attempt = tokio::time::timeout(
            REDIS_CONNECT_TIMEOUT,
            self.client
                .get_multiplexed_async_connection_with_config(&config),
        )
        .await;
        let next = match attempt {
            Ok(Ok(connection)) => LinkState::Ready {
                generation: self.generation.fetch_add(1, Ordering::Relaxed) + 1,
                connection,
            },
            Ok(Err(error)) => {
                tracing::debug!(%error, "Redis connection attempt failed");
                LinkState::Idle {
                    retry_at: Instant::now() + backoff,
                    backoff: (backoff * 2).min(REDIS_RETRY_MAX),
                }
            }
            Err(_) => LinkState::Idle {
                retry_at: Instant::now() + backoff,
                backoff: (backoff * 2).min(REDIS_RETRY_MAX),
            },
        };
        self.state.send_replace(next);
    }

    /// Forgets connection `generation` after it failed, so the next call reconnects.
    fn drop_connection(&self, generation: u64) {
        self.state.send_if_modified(|state| match state {
            LinkState::Ready { generation: g, .. } if *g == generation => {
                *state = LinkState::Idle {
                    retry_at: Instant::now(),
                    backoff: REDIS_RETRY_FIRST,
                };
                true
            }
            _ => false,
        });
    }

    /// `MGET keys`, as raw values.
    async fn mget(self: &Arc<Self>, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, RedisProblem> {
        let (generation, mut connection) = self.connection().await?;
        let result = redis::cmd("MGET")
            .arg(keys)
            .query_async::<Vec<Option<Vec<u8>>>>(&mut connection)
            .await;
        match result {
            Ok(values) => Ok(values),
            Err(error) => {
                // A server-side refusal would repeat on this connection as on a new one; a broken
                // or timed-out connection would not.
                if error.is_io_error()
                    || error.is_connection_dropped()
                    || error.is_unrecoverable_error()
                    || error.is_timeout()
                {
                    self.drop_connection(generation);
                }
                Err(error.into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use axum::response::{IntoResponse, Response};
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use serde_json::json;
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicBool, AtomicUsize};
    use tokio::task::JoinHandle;

    const ISSUER: &str = "coursegraph-identity";
    const AUDIENCE: &str = "coursegraph";

    fn redis_url() -> String {
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/1".to_owned())
    }

    /// A direct connection to the test Redis, to write and delete revocation marks.
    async fn redis() -> MultiplexedConnection {
        let client = redis::Client::open(redis_url()).expect("REDIS_URL is not a Redis URL");
        match tokio::time::timeout(
            Duration::from_secs(5),
            client.get_multiplexed_async_connection(),
        )
        .await
        {
            Ok(Ok(connection)) => connection,
            Ok(Err(error)) => panic!(
                "Redis (REDIS_URL) is not reachable: {error}. Start it with `node scripts/stack.mjs up --test`."
            ),
            Err(_) => panic!(
                "Redis (REDIS_URL) did not answer within 5 s. Start it with `node scripts/stack.mjs up --test`."
            ),
        }
    }

    /// REDIS_URL, after checking that Redis answers there (a verifier would fail open silently).
    async fn live_redis_url() -> String {
        redis().await;
        redis_url()
    }

    async fn set_mark(key: &str, value: &str) {
        // The expiry cleans up after a test that failed before deleting its marks.
        let _: () = redis::cmd("SET")
            .arg(key)
            .arg(value)
            .arg("EX")
            .arg(120)
            .query_async(&mut redis().await)
            .await
            .expect("SET failed");
    }

    async fn delete_marks(keys: &[String]) {
        let _: () = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut redis().await)
            .await
            .expect("DEL failed");
    }

    /// The test Redis' URL with its address replaced by `addr` (same password and database).
    fn redis_url_at(addr: SocketAddr) -> String {
        let url = redis_url();
        let client = redis::Client::open(url.as_str()).expect("REDIS_URL is not a Redis URL");
        let redis::ConnectionAddr::Tcp(host, port) = &client.get_connection_info().addr else {
            panic!("REDIS_URL must be a TCP URL");
        };
        let with_port = format!("{host}:{port}");
        if url.contains(&with_port) {
            url.replacen(&with_port, &addr.to_string(), 1)
        } else {
            url.replacen(host.as_str(), &addr.to_string(), 1)
        }
    }

    fn redis_addr() -> SocketAddr {
        let client = redis::Client::open(redis_url()).expect("REDIS_URL is not a Redis URL");
        let redis::ConnectionAddr::Tcp(host, port) = &client.get_connection_info().addr else {
            panic!("REDIS_URL must be a TCP URL");
        };
        let host = if host == "localhost" {
            "127.0.0.1"
        } else {
            host
        };
        format!("{host}:{port}")
            .parse()
            .expect("REDIS_URL host is not an IP")
    }

    /// An address nothing listens on.
    async fn closed_port() -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    }

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// An ES256 key pair as identity holds one.
    struct TestKey {
        kid: String,
        pair: EcdsaKeyPair,
    }

    impl TestKey {
        fn generate(kid: &str) -> Self {
            let rng = SystemRandom::new();
            let pkcs8 =
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
            let pair =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                    .unwrap();
            Self {
                kid: kid.to_owned(),
                pair,
            }
        }

        /// The public JWK, as identity's JWKS lists it (jose's exportJWK plus kid, alg, use).
        fn jwk(&self) -> Value {
            let point = self.pair.public_key().as_ref();
            json!({
                "kty": "EC", "crv": "P-256",
                "x": b64(&point[1..33]), "y": b64(&point[33..65]),
                "kid": self.kid, "alg": "ES256", "use": "sig",
            })
        }

        /// A token as identity's SignJWT writes it.
        fn sign(&self, claims: &Value) -> String {
            self.sign_with_header(
                &json!({"alg": "ES256", "kid": self.kid, "typ": "JWT"}),
                claims,
            )
        }

        fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
            let input = format!(
                "{}.{}",
                b64(header.to_string().as_bytes()),
                b64(claims.to_string().as_bytes())
            );
            let signature = self
                .pair
                .sign(&SystemRandom::new(), input.as_bytes())
                .unwrap();
            format!("{input}.{}", b64(signature.as_ref()))
        }
    }

    /// A user and session unique to one test run, so Redis marks never collide.
    struct Subject {
        user_id: String,
        session_id: String,
    }

    fn subject() -> Subject {
        Subject {
            user_id: uuid::Uuid::now_v7().to_string(),
            session_id: uuid::Uuid::now_v7().to_string(),
        }
    }

    impl Subject {
        fn session_key(&self) -> String {
            format!("auth:revoked-session:{}", self.session_id)
        }

        fn user_key(&self) -> String {
            format!("auth:revoked-before:{}", self.user_id)
        }

        /// The claims identity's signAccessToken writes, issued now for 15 minutes.
        fn claims(&self, role: &str) -> Value {
            let now = now_ms();
            json!({
                "role": role, "sid": self.session_id, "iat_ms": now,
                "sub": self.user_id, "iss": ISSUER, "aud": AUDIENCE,
                "iat": now / 1000, "exp": now / 1000 + 900,
            })
        }
    }

    fn with(mut claims: Value, name: &str, value: Value) -> Value {
        claims[name] = value;
        claims
    }

    fn without(mut claims: Value, name: &str) -> Value {
        claims.as_object_mut().unwrap().remove(name);
        claims
    }

    /// Identity's JWKS endpoint, counting requests.
    struct Identity {
        url: String,
        hits: Arc<AtomicUsize>,
        jwks: Arc<Mutex<Value>>,
        oversized: Arc<AtomicBool>,
        server: JoinHandle<()>,
    }

    impl Identity {
        async fn start(keys: &[&TestKey]) -> Self {
            let hits = Arc::new(AtomicUsize::new(0));
            let jwks = Arc::new(Mutex::new(Value::Null));
            let oversized = Arc::new(AtomicBool::new(false));
            let (h, j, o) = (hits.clone(), jwks.clone(), oversized.clone());
            let app = axum::Router::new().route(
                "/.well-known/jwks.json",
                axum::routing::get(move || {
                    let (h, j, o) = (h.clone(), j.clone(), o.clone());
                    async move {
                        h.fetch_add(1, Ordering::SeqCst);
                        let mut document = lock(&j).clone();
                        if o.load(Ordering::SeqCst) {
                            document["padding"] = Value::String("x".repeat(MAX_JWKS_BYTES));
                        }
                        let response: Response = axum::Json(document).into_response();
                        response
                    }
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(async move {
                axum::serve(listener, app).await.unwrap();
            });
            let identity = Self {
                url: format!("http://{addr}/.well-known/jwks.json"),
                hits,
                jwks,
                oversized,
                server,
            };
            identity.publish(keys);
            identity
        }

        fn publish(&self, keys: &[&TestKey]) {
            *lock(&self.jwks) = json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() });
        }

        fn hits(&self) -> usize {
            self.hits.load(Ordering::SeqCst)
        }
    }

    impl Drop for Identity {
        fn drop(&mut self) {
            self.server.abort();
        }
    }

    fn config(jwks_url: &str, redis_url: String, cache_size: usize) -> AuthConfig {
        AuthConfig {
            jwks_url: jwks_url.to_owned(),
            issuer: ISSUER.to_owned(),
            audience: AUDIENCE.to_owned(),
            redis_url,
            cache_size,
        }
    }

    async fn verifier(identity: &Identity) -> AuthVerifier {
        AuthVerifier::new(config(
            &identity.url,
            live_redis_url().await,
            DEFAULT_AUTH_CACHE_SIZE,
        ))
        .await
        .unwrap()
    }

    fn refused(message: &str) -> Result<Viewer, AuthError> {
        Err(AuthError::Unauthenticated(message.to_owned()))
    }

    #[tokio::test]
    async fn a_valid_token_gives_its_viewer() {
        let key = TestKey::generate("k1");
        let identity = Identity::start(&[&key]).await;
        let verifier = verifier(&identity).await;
        let subject = subject();
        let claims = subject.claims("INSTRUCTOR");
        let viewer = verifier.verify(&key.sign(&claims)).await.unwrap();
        assert_eq!(
            viewer,
            Viewer {
                user_id: subject.user_id.clone(),
                role: Role::Instructor,
                session_id: subject.session_id.clone(),
                issued_at_ms: claims["iat_ms"].as_i64().unwrap(),
            }
        );
        for (name, role) in [("LEARNER", Role::Learner), ("ADMIN", Role::Admin)] {
            let token = key.sign(&subject.claims(name));
            assert_eq!(verifier.verify(&token).await.unwrap().role, role);
        }
        // `aud` may be an array naming us; a header without `kid` is tried against every key.
        let token = key.sign(&with(claims.clone(), "aud", json!(["elsewhere", AUDIENCE])));
        assert_eq!(verifier.verify(&token).await.unwrap(), viewer);
        let token = key.sign_with_header(&json!({"alg": "ES256"}), &claims);
        assert_eq!(verifier.verify(&token).await.unwrap(), viewer);
        // One key set read served them all.
        assert_eq!(identity.hits(), 1);
    }

    #[tokio::test]
    async fn expired_and_too_old_tokens_are_refused_as_expired() {
        let key = TestKey::generate("k1");
        let identity = Identity::start(&[&key]).await;
        let verifier = verifier(&identity).await;
        let subject = subject();
        let now = now_ms() / 1000;
        let claims = subject.claims("LEARNER");
        let expired = with(
            with(claims.clone(), "iat", json!(now - 100)),
            "exp",
            json!(now - 10),
        );
        assert_eq!(verifier.verify(&key.sign(&expired)).await, refused(EXPIRED));
        let too_old = with(
            with(
                claims.clone(),
                "iat",
                json!(now - MAX_ACCESS_TOKEN_TTL_SECONDS - 5),
            ),
            "exp",
            json!(now + 600),
        );
        assert_eq!(verifier.verify(&key.sign(&too_old)).await, refused(EXPIRED));
        // Issued in the future, not yet valid, or missing a time: invalid rather than expired.
        let future = with(claims.clone(), "iat", json!(now + 120));
        assert_eq!(verifier.verify(&key.sign(&future)).await, refused(INVALID));
        let not_yet = with(claims.clone(), "nbf", json!(now + 120));
        assert_eq!(verifier.verify(&key.sign(&not_yet)).await, refused(INVALID));
        for name in ["exp", "iat"] {
            let token = key.sign(&without(claims.clone(), name));
            assert_eq!(
                verifier.verify(&token).await,
                refused(INVALID),
                "without {name}"
            );
        }
        let text_exp = with(claims.clone(), "exp", json!((now + 600).to_string()));
        assert_eq!(
            verifier.verify(&key.sign(&text_exp)).await,
            refused(INVALID)
        );
    }

    #[tokio::test]
    async fn wrong_issuer_or_audience_is_invalid() {
        let key = TestKey::generate("k1");
        let identity = Identity::start(&[&key]).await;
        let verifier = verifier(&identity).await;
        let claims = subject().claims("LEARNER");
        let cases = [
            with(claims.clone(), "iss", json!("someone-else")),
            without(claims.clone(), "iss"),
            with(claims.clone(), "aud", json!("another-platform")),
            with(claims.clone(), "aud", json!(["another-platform"])),
            with(claims.clone(), "aud", json!(1)),
            without(claims.clone(), "aud"),
        ];
        for case in cases {
            assert_eq!(
                verifier.verify(&key.sign(&case)).await,
                refused(INVALID),
                "{case}"
            );
        }
    }

    #[tokio::test]
    async fn only_es256_is_accepted() {
        let key = TestKey::generate("k1");
        let identity = Identity::start(&[&key]).await;
        let verifier = verifier(&identity).await;
        let claims = subject().claims("ADMIN");
        let payload = b64(claims.to_string().as_bytes());
        let none_header = b64(json!({"alg": "none", "kid": "k1"}).to_string().as_bytes());
        let none = format!("{none_header}.{payload}.");
        assert_eq!(verifier.verify(&none).await, refused(INVALID));
        // HS256 "signed" with the public key as the secret: the classic key-confusion forgery.
        let hs_header = b64(json!({"alg": "HS256", "kid": "k1"}).to_string().as_bytes());
        let input = format!("{hs_header}.{payload}");
        let secret = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.pair.public_key().as_ref());
        let mac = ring::hmac::sign(&secret, input.as_bytes());
        let hs256 = format!("{input}.{}", b64(mac.as_ref()));
        assert_eq!(verifier.verify(&hs256).await, refused(INVALID));
        // A genuine ES256 signature under a header claiming another algorithm, or a critical
        // extension we do not understand.
        let es384 = key.sign_with_header(&json!({"alg": "ES384", "kid": "k1"}), &claims);
        assert_eq!(verifier.verify(&es384).await, refused(INVALID));
        let crit = key.sign_with_header(
            &json!({"alg": "ES256", "kid": "k1", "crit": ["exp"], "exp": 1}),
            &claims,
        );
        assert_eq!(verifier.verify(&crit).await, refused(INVALID));
        // The same claims, properly signed, pass: the refusals above are about the algorithm.
        assert!(verifier.verify(&key.sign(&claims)).await.is_ok());
    }

    #[tokio::test]
    async fn an_unknown_kid_is_refused_and_asks_identity_at_most_once_per_cooldown() {
        let key = TestKey::generate("k1");
        let stranger = TestKey::generate("forged-kid");
        let identity = Identity::start(&[&key]).await;
        let verifier = verifier(&identity).await;
        let subject = subject();
        let claims = subject.claims("LEARNER");
        assert!(verifier.verify(&key.sign(&claims)).await.is_ok());
        assert_eq!(identity.hits(), 1);
        for _ in 0..3 {
            assert_eq!(
                verifier.verify(&stranger.sign(&claims)).await,
                refused(INVALID)
            );
        }
        assert_eq!(
            identity.hits(),
            1,
            "identity was asked again within the cooldown"
        );

        // A verifier that starts with an unknown kid reads the set once, then waits out the cooldown.
        let fresh = verifier_for(&identity).await;
        for _ in 0..3 {
            assert_eq!(
                fresh.verify(&stranger.sign(&claims)).await,
                refused(INVALID)
            );
        }
        assert_eq!(identity.hits(), 2);
        // A known kid with another key's signature is a forgery.
        let forged = stranger.sign_with_header(&json!({"alg": "ES256", "kid": "k1"}), &claims);
        assert_eq!(fresh.verify(&forged).await, refused(INVALID));
        assert!(fresh.verify(&key.sign(&claims)).await.is_ok());
        assert_eq!(identity.hits(), 2);
    }

    async fn verifier_for(identity: &Identity) -> AuthVerifier {
        verifier(identity).await
    }

    #[tokio::test]
    async fn a_rotated_key_is_fetched_when_a_token_names_it() {
        let old = TestKey::generate("k-old");
        let new = TestKey::generate("k-new");
        let identity = Identity::start(&[&old]).await;
        let timing = Timing {
            jwks_cooldown: Duration::ZERO,
            ..Timing::DEFAULT
        };
        let verifier = AuthVerifier::with_timing(
            config(
                &identity.url,
                live_redis_url().await,
                DEFAULT_AUTH_CACHE_SIZE,
            ),
            timing,
            system_roots,
        )
        .await
        .unwrap();
        let claims = subject().claims("LEARNER");
        assert!(verifier.verify(&old.sign(&claims)).await.is_ok());
        identity.publish(&[&old, &new]);
        assert!(verifier.verify(&new.sign(&claims)).await.is_ok());
        assert_eq!(identity.hits(), 2);
    }

    #[tokio::test]
    async fn a_tampered_token_is_invalid() {
        let key = TestKey::generate("k1");
        let identity = Identity::start(&[&key]).await;
        let verifier = verifier(&identity).await;
        let subject = subject();
        let token = key.sign(&subject.claims("LEARNER"));
        let parts: Vec<&str> = token.split('.').collect();
        let promoted = b64(subject.claims("ADMIN").to_string().as_bytes());
        let tampered = format!("{}.{promoted}.{}", parts[0], parts[2]);
        assert_eq!(verifier.verify(&tampered).await, refused(INVALID));
        let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        signature[10] ^= 1;
        let bad_signature = format!("{}.{}.{}", parts[0], parts[1], b64(&signature));
        assert_eq!(verifier.verify(&bad_signature).await, refused(INVALID));
        assert!(verifier.verify(&token).await.is_ok());
    }

    #[tokio::test]
    async fn malformed_tokens_are_invalid_without_asking_identity() {
        let key = TestKey::generate("k1");
        let identity = Identity::start(&[&key]).await;
        let verifier = verifier(&identity).await;
        let oversized = format!("{}.e30.{}", "a".repeat(MAX_TOKEN_BYTES), "a".repeat(86));
        let not_json = format!("{}.{}.{}", b64(b"{"), b64(b"{}"), b64(&[0; 64]));
        for token in ["", "a.b", "a.b.c.d", "!!!.###.$$$", &not_json, &oversized] {
            assert_eq!(
                verifier.verify(token).await,
                refused(INVALID),
                "{token:.40}"
            );
        }
        assert_eq!(identity.hits(), 0);
    }

    #[tokio::test]
    async fn missing_or_wrong_platform_claims_are_invalid() {
        let key = TestKey::generate("k1");
        let identity = Identity::start(&[&key]).await;
        let verifier = verifier(&identity).await;
        let claims = subject().claims("LEARNER");
        let cases = [
            with(claims.clone(), "role", json!("SUPERUSER")),
            with(claims.clone(), "role", json!("admin")),
            without(claims.clone(), "role"),
            without(claims.clone(), "sid"),
            with(claims.clone(), "sid", json!(7)),
            without(claims.clone(), "sub"),
            with(claims.clone(), "sub", json!(["a"])),
            without(claims.clone(), "iat_ms"),
            with(
                claims.clone(),
                "iat_ms",
                json!(claims["iat_ms"].to_string()),
            ),
            with(claims.clone(), "iat_ms", json!(1.5)),
        ];
        for case in cases {
            assert_eq!(
                verifier.verify(&key.sign(&case)).await,
                refused(INVALID),
                "{case}"
            );
        }
    }

    #[tokio::test]
    async fn a_revoked_session_is_refused() {
        let key = TestKey::generate("k1");
        let identity = Identity::start(&[&key]).await;
        let verifier = verifier(&identity).await;
        let revoked = subject();
        let other_session = Subject {
            user_id: revoked.user_id.clone(),
            session_id: uuid::Uuid::now_v7().to_string(),
        };
        let token = key.sign(&revoked.claims("LEARNER"));
        // Verified (and cached) before the revocation: the cache does not skip the check.
        assert!(verifier.verify(&token).await.is_ok());
        set_mark(&revoked.session_key(), "1").await;
        assert_eq!(verifier.verify(&token).await, refused(REVOKED));
        assert!(verifier
            .verify(&key.sign(&other_session.claims("LEARNER")))
            .await
            .is_ok());
        // An empty value is no mark (a falsy string in auth.ts).
        set_mark(&revoked.session_key(), "").await;
        assert!(verifier.verify(&token).await.is_ok());
        delete_marks(&[revoked.session_key()]).await;
    }

    #[tokio::test]
    async fn tokens_issued_at_or_before_a_users_mark_are_refused() {
        let key = TestKey::generate("k1");
        let identity = Identity::start(&[&key]).await;
        let verifier = verifier(&identity).await;
        let subject = subject();
        let claims = subject.claims("INSTRUCTOR");
        let mark = claims["iat_ms"].as_i64().unwrap();
        set_mark(&subject.user_key(), &mark.to_string()).await;
        for issued in [mark - 1_000, mark] {
            let token = key.sign(&with(claims.clone(), "iat_ms", json!(issued)));
            assert_eq!(
                verifier.verify(&token).await,
                refused(REVOKED),
                "iat_ms {issued}"
            );
        }
        let later = key.sign(&with(claims.clone(), "iat_ms", json!(mark + 1)));
        assert!(verifier.verify(&later).await.is_ok());
        // A mark that is not a number revokes nothing (it compares as NaN in auth.ts).
        set_mark(&subject.user_key(), "soon").await;
        assert!(verifier.verify(&key.sign(&claims)).await.is_ok());
        delete_marks(&[subject.user_key()]).await;
    }

    /// A TCP relay to the test Redis that can be cut, as when Redis goes away.
    struct Relay {
        addr: SocketAddr,
        accept: JoinHandle<()>,
        links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    }

    impl Relay {
        async fn start(target: SocketAddr) -> Self {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let links = Arc::new(Mutex::new(Vec::new()));
            let held = links.clone();
            let accept = tokio::spawn(async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    let link = tokio::spawn(async move {
                        if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                    lock(&held).push(link);
                }
            });
            Self {
                addr,
                accept,
                links,
            }
        }

        /// Closes every connection and the listening port.
        fn cut(&self) {
            self.accept.abort();
            for link in lock(&self.links).drain(..) {
                link.abort();
            }
        }
    }

    #[tokio::test]
    async fn revocations_seen_before_hold_while_redis_is_away() {
        let key = TestKey::generate("k1");
        let identity = Identity::start(&[&key]).await;
        let relay = Relay::start(redis_addr()).await;
        let verifier = AuthVerifier::new(config(
            &identity.url,
            redis_url_at(relay.addr),
            DEFAULT_AUTH_CACHE_SIZE,
        ))
        .await
        .unwrap();
        let (session_revoked, user_revoked, clean) = (subject(), subject(), subject());
        set_mark(&session_revoked.session_key(), "1").await;
        let before = now_ms() + 60_000;
        set_mark(&user_revoked.user_key(), &before.to_string()).await;
        let tokens =
            [&session_revoked, &user_revoked, &clean].map(|s| key.sign(&s.claims("LEARNER")));
        assert_eq!(verifier.verify(&tokens[0]).await, refused(REVOKED));
        assert_eq!(verifier.verify(&tokens[1]).await, refused(REVOKED));
        assert!(verifier.verify(&tokens[2]).await.is_ok());

        relay.cut();
        // Redis is unreachable: the check fails open, but what was seen is still refused,
        // including a new token of the revoked session.
        assert_eq!(verifier.verify(&tokens[0]).await, refused(REVOKED));
        let again = key.sign(&with(
            session_revoked.claims("LEARNER"),
            "role",
            json!("ADMIN"),
        ));
        assert_eq!(verifier.verify(&again).await, refused(REVOKED));
        assert_eq!(verifier.verify(&tokens[1]).await, refused(REVOKED));
        assert!(verifier.verify(&tokens[2]).await.is_ok());
        // Revoked during the outage: accepted, which shows Redis really is out of reach.
        let during = subject();
        set_mark(&during.session_key(), "1").await;
        assert!(verifier
            .verify(&key.sign(&during.claims("LEARNER")))
            .await
            .is_ok());

        // A verifier that never saw the marks accepts the revoked tokens while Redis is away.
        let amnesiac = AuthVerifier::new(config(
            &identity.url,
            redis_url_at(relay.addr),
            DEFAULT_AUTH_CACHE_SIZE,
        ))
        .await
        .unwrap();
        assert!(amnesiac.verify(&tokens[0]).await.is_ok());
        delete_marks(&[
            session_revoked.session_key(),
            user_revoked.user_key(),
            during.session_key(),
        ])
        .await;
    }

    #[tokio::test]
    async fn redis_down_at_start_or_silent_fails_open() {
        let key = TestKey::generate("k1");
        let identity = Identity::start(&[&key]).await;
        let token = key.sign(&subject().claims("LEARNER"));
        let down = AuthVerifier::new(config(
            &identity.url,
            redis_url_at(closed_port().await),
            DEFAULT_AUTH_CACHE_SIZE,
        ))
        .await
        .unwrap();
        assert!(down.verify(&token).await.is_ok());
        assert!(down.verify(&token).await.is_ok());

        // A server that accepts connections and never answers (as a paused Redis).
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let silent_addr = listener.local_addr().unwrap();
        let silent = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let paused = AuthVerifier::new(config(
            &identity.url,
            redis_url_at(silent_addr),
            DEFAULT_AUTH_CACHE_SIZE,
        ))
        .await
        .unwrap();
        assert!(paused.verify(&token).await.is_ok());
        silent.abort();
    }

    #[tokio::test]
    async fn the_cache_skips_the_signature_check_until_recheck() {
        let key = TestKey::generate("k1");
        let replacement = TestKey::generate("k2");
        let claims = subject().claims("LEARNER");
        let token = key.sign(&claims);
        // No cooldown, so a token naming k2 makes the verifier re-read the set, which by then no
        // longer holds k1 (withdrawn).
        let quick = Timing {
            jwks_cooldown: Duration::ZERO,
            ..Timing::DEFAULT
        };
        let cases = [
            (DEFAULT_AUTH_CACHE_SIZE, quick, true),
            (0, quick, false),
            (
                DEFAULT_AUTH_CACHE_SIZE,
                Timing {
                    recheck_after: Duration::ZERO,
                    ..quick
                },
                false,
            ),
        ];
        for (cache_size, timing, still_accepted) in cases {
            let identity = Identity::start(&[&key]).await;
            let verifier = AuthVerifier::with_timing(
                config(&identity.url, live_redis_url().await, cache_size),
                timing,
                system_roots,
            )
            .await
            .unwrap();
            assert!(verifier.verify(&token).await.is_ok());
            identity.publish(&[&replacement]);
            assert!(verifier.verify(&replacement.sign(&claims)).await.is_ok());
            assert_eq!(identity.hits(), 2);
            assert_eq!(
                verifier.verify(&token).await.is_ok(),
                still_accepted,
                "cache size {cache_size}, {timing:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_cached_token_still_expires() {
        let key = TestKey::generate("k1");
        let identity = Identity::start(&[&key]).await;
        let verifier = verifier(&identity).await;
        let now = now_ms() / 1000;
        let claims = with(subject().claims("LEARNER"), "exp", json!(now + 2));
        let token = key.sign(&claims);
        assert!(verifier.verify(&token).await.is_ok());
        while now_ms() < (now + 2) * 1000 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(verifier.verify(&token).await, refused(EXPIRED));
    }

    #[tokio::test]
    async fn unreadable_key_sets_make_tokens_invalid() {
        let key = TestKey::generate("k1");
        let token = key.sign(&subject().claims("LEARNER"));
        let nobody = format!("http://{}/.well-known/jwks.json", closed_port().await);
        let verifier = AuthVerifier::new(config(&nobody, redis_url(), 10))
            .await
            .unwrap();
        assert_eq!(verifier.verify(&token).await, refused(INVALID));

        let identity = Identity::start(&[&key]).await;
        identity.oversized.store(true, Ordering::SeqCst);
        let verifier = verifier_for(&identity).await;
        assert_eq!(verifier.verify(&token).await, refused(INVALID));
        assert_eq!(identity.hits(), 1);

        let missing = identity.url.replace("jwks.json", "nothing-here");
        let verifier = AuthVerifier::new(config(&missing, redis_url(), 10))
            .await
            .unwrap();
        assert_eq!(verifier.verify(&token).await, refused(INVALID));
    }

    /// Identity's JWKS over https: a certificate for 127.0.0.1 made by openssl (Debian's, as
    /// the platform's scripts use it), served by rustls; one HTTP/1.1 answer per connection.
    struct TlsIdentity {
        url: String,
        /// The certificate, as the trust anchor a client checks it against.
        certificate: rustls::pki_types::CertificateDer<'static>,
        hits: Arc<AtomicUsize>,
        server: JoinHandle<()>,
    }

    impl TlsIdentity {
        async fn start(keys: &[&TestKey]) -> Self {
            use rustls::pki_types::pem::PemObject;
            use rustls::pki_types::{CertificateDer, PrivateKeyDer};
            use tokio::io::{AsyncReadExt, AsyncWriteExt};

            let dir = tempfile::tempdir().unwrap();
            let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
            let made = std::process::Command::new("openssl")
                .args([
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                ])
                .args(["-nodes", "-days", "1", "-subj", "/CN=identity-test"])
                .args(["-addext", "subjectAltName=IP:127.0.0.1"])
                .args(["-addext", "basicConstraints=critical,CA:FALSE"])
                .arg("-keyout")
                .arg(&key_path)
                .arg("-out")
                .arg(&cert_path)
                .output()
                .expect("openssl runs");
            assert!(
                made.status.success(),
                "{}",
                String::from_utf8_lossy(&made.stderr)
            );
            let certificate = CertificateDer::from_pem_file(&cert_path).unwrap();
            let key = PrivateKeyDer::from_pem_file(&key_path).unwrap();
            let config = rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![certificate.clone()], key)
            .unwrap();
            let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
            let body =
                json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() }).to_string();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let hits = Arc::new(AtomicUsize::new(0));
            let counted = hits.clone();
            let server = tokio::spawn(async move {
                while let Ok((tcp, _)) = listener.accept().await {
                    let (acceptor, body, counted) =
                        (acceptor.clone(), body.clone(), counted.clone());
                    tokio::spawn(async move {
                        // A client that refuses the certificate ends the handshake: nothing to answer.
                        let Ok(mut tls) = acceptor.accept(tcp).await else {
                            return;
                        };
                        let mut request = Vec::new();
                        let mut buffer = [0u8; 1024];
                        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                            match tls.read(&mut buffer).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => request.extend_from_slice(&buffer[..n]),
                            }
                        }
                        assert!(request.starts_with(b"GET /.well-known/jwks.json HTTP/1.1\r\n"));
                        counted.fetch_add(1, Ordering::SeqCst);
                        let response = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = tls.write_all(response.as_bytes()).await;
                        let _ = tls.shutdown().await;
                    });
                }
            });
            Self {
                url: format!("https://{addr}/.well-known/jwks.json"),
                certificate,
                hits,
                server,
            }
        }
    }

    impl Drop for TlsIdentity {
        fn drop(&mut self) {
            self.server.abort();
        }
    }

    #[tokio::test]
    async fn an_https_jwks_is_fetched_over_tls_and_its_certificate_checked() {
        let key = TestKey::generate("k1");
        let token = key.sign(&subject().claims("LEARNER"));
        let identity = TlsIdentity::start(&[&key]).await;
        let trusted = identity.certificate.clone();
        let verifier = AuthVerifier::with_timing(
            config(&identity.url, redis_url(), 10),
            Timing::DEFAULT,
            move || {
                let mut roots = RootCertStore::empty();
                roots.add(trusted).map_err(|e| e.to_string())?;
                Ok(roots)
            },
        )
        .await
        .unwrap();
        let viewer = verifier.verify(&token).await.expect("verified over https");
        assert_eq!(viewer.role, Role::Learner);
        assert_eq!(identity.hits.load(Ordering::SeqCst), 1);

        // Against the system's authorities the test certificate is unknown: no keys, no viewer.
        let stranger = AuthVerifier::new(config(&identity.url, redis_url(), 10))
            .await
            .unwrap();
        assert_eq!(stranger.verify(&token).await, refused(INVALID));
        assert_eq!(
            identity.hits.load(Ordering::SeqCst),
            1,
            "no request went through"
        );
    }

    #[tokio::test]
    async fn unusable_configuration_is_refused() {
        for url in [
            "ftp://identity/.well-known/jwks.json",
            "https:///jwks.json",
            "not a url",
            "/jwks.json",
        ] {
            let result = AuthVerifier::new(config(url, redis_url(), 10)).await;
            assert!(matches!(result, Err(AuthSetupError::JwksUrl(_))), "{url}");
        }
        let result = AuthVerifier::new(config(DEFAULT_JWKS_URL, "nope://x".into(), 10)).await;
        assert!(matches!(result, Err(AuthSetupError::RedisUrl(_))));
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn bearer_tokens_are_read_from_the_authorization_header() {
        let malformed = Err(AuthError::Unauthenticated(MALFORMED_HEADER.to_owned()));
        assert_eq!(bearer_token(&headers(&[])), Ok(None));
        assert_eq!(bearer_token(&headers(&[""])), Ok(None));
        assert_eq!(bearer_token(&headers(&["Bearer abc"])), Ok(Some("abc")));
        assert_eq!(
            bearer_token(&headers(&["  bEaReR \t abc  "])),
            Ok(Some("abc"))
        );
        for value in [
            "Basic x",
            "Bearer",
            "Bearer ",
            "Bearerabc",
            "Bearer a b",
            "abc",
        ] {
            assert_eq!(bearer_token(&headers(&[value])), malformed, "{value:?}");
        }
        assert_eq!(bearer_token(&headers(&["Bearer a", "Bearer b"])), malformed);
        let mut opaque = HeaderMap::new();
        opaque.insert(
            header::AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xff").unwrap(),
        );
        assert_eq!(bearer_token(&opaque), malformed);
    }

    #[tokio::test]
    async fn viewer_from_headers_is_none_when_anonymous_and_checks_a_sent_token() {
        let key = TestKey::generate("k1");
        let identity = Identity::start(&[&key]).await;
        let verifier = verifier(&identity).await;
        let subject = subject();
        assert_eq!(verifier.viewer_from_headers(&headers(&[])).await, Ok(None));
        let token = key.sign(&subject.claims("LEARNER"));
        let viewer = verifier
            .viewer_from_headers(&headers(&[&format!("Bearer {token}")]))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(viewer.user_id, subject.user_id);
        assert_eq!(
            verifier.viewer_from_headers(&headers(&["Basic x"])).await,
            Err(AuthError::Unauthenticated(MALFORMED_HEADER.to_owned()))
        );
        assert_eq!(
            verifier
                .viewer_from_headers(&headers(&["Bearer not-a-token"]))
                .await,
            Err(AuthError::Unauthenticated(INVALID.to_owned()))
        );
    }

    #[test]
    fn bounded_maps_drop_the_oldest_first() {
        let mut map = BoundedMap::new(2);
        map.insert("a", 1);
        map.insert("b", 2);
        map.insert("a", 3); // an update keeps a's place
        map.insert("c", 4);
        assert_eq!(
            (map.get(&"a"), map.get(&"b"), map.get(&"c")),
            (None, Some(&2), Some(&4))
        );
        map.remove(&"b");
        map.insert("d", 5);
        assert_eq!((map.get(&"c"), map.get(&"d")), (Some(&4), Some(&5)));
        for i in 0..1_000 {
            map.insert("e", i);
            map.remove(&"e");
        }
        assert!(map.order.len() <= 2 * 2 + 65);
        let mut off = BoundedMap::new(0);
        off.insert("a", 1);
        assert_eq!(off.get(&"a"), None);
    }

    #[test]
    fn revocation_marks_are_read_as_javascript_numbers() {
        assert_eq!(js_number("1700000000000"), 1_700_000_000_000.0);
        assert_eq!(js_number(" 12 "), 12.0);
        for text in ["soon", "inf", "NaN", "", "0x10"] {
            assert!(js_number(text).is_nan(), "{text:?}");
        }
    }

    #[test]
    fn roles_read_and_write_their_claim_names() {
        for role in [Role::Learner, Role::Instructor, Role::Admin] {
            assert_eq!(Role::from_claim(role.as_str()), Some(role));
        }
        assert_eq!(Role::from_claim("learner"), None);
    }
}
