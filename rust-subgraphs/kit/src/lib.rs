//! What every Coursegraph Rust subgraph shares, so each does each thing one way (the Rust
//! counterpart of `packages/service-kit`):
//!
//! - [`config`]: [`Env`] reads a service's variables and collects every invalid one as a
//!   [`ConfigError`] (`NAME reason`), so a service exits listing all of them at once. The
//!   shared settings: [`Env::log_level`] (`LOG_LEVEL`, default `info`), [`Env::mode`]
//!   (`COURSEGRAPH_MODE`, default `development`), [`Env::operation_limits`]
//!   (`OPERATION_LIMITS`, `LIMIT_*`), the production profile's rules
//!   ([`Env::require_nats_credentials`] with [`has_credentials`],
//!   [`Env::require_database_password`], [`Env::require_redis_credentials`],
//!   [`Env::require_jwks_url`] with [`Env::host_list`]); a service's own with [`Env::value`],
//!   [`Env::parse_or`] and [`Env::error`].
//! - [`production`]: those checks on one value each, with the TypeScript services' rules and
//!   wording (`production-profile.ts`).
//! - [`logging`]: [`init_logging`], one JSON object per log line (and the span layer when
//!   tracing is on).
//! - [`telemetry`]: OpenTelemetry traces ([`TracingSettings`]: `TRACING`,
//!   `OTEL_EXPORTER_OTLP_ENDPOINT`, ...; [`Tracing`]), the `/graphql` SERVER span continuing the
//!   caller's `traceparent`, and [`consumer_span`], an event's CONSUMER span continuing the
//!   event's.
//! - [`limits`]: the operation limits (tokens, aliases, root fields, repeats of a field on a
//!   path, depth, cost per [`Role`]), the same settings, rules and refusal body as the
//!   TypeScript services and the gateway.
//! - [`graphql`]: [`GraphqlEndpoint`], the `/graphql` route (GET and POST) around an
//!   async-graphql executor: body limit ([`MAX_BODY_BYTES`], 413), CSRF-safe media types (415),
//!   the [`Caller`] (who calls: default [`Anonymous`]), the limits (400, nothing executed),
//!   [`OperationCounts`].
//! - [`metrics`]: [`GraphqlMetrics`], the GraphQL request metrics of the TypeScript services
//!   (`coursegraph_graphql_requests_total`, `coursegraph_graphql_request_duration_seconds`) and
//!   `GET /metrics` for loopback and `METRICS_ALLOWED_CIDRS` ([`MetricsSettings`]).
//! - [`server`]: [`healthz`], [`readiness`] (`/readyz` answers) and [`shutdown_signal`].
//! - [`error`]: [`ErrorChain`] (an error and its causes, each once, for logs) and [`BoxError`].
//!
//! # Example
//!
//! A subgraph's configuration, logs and routes (its `main.rs` then serves `router` with
//! `axum::serve(listener, router).with_graceful_shutdown(shutdown_signal())`):
//!
//! ```
//! use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};
//! use axum::routing::get;
//! use coursegraph_subgraph_kit::{healthz, readiness, ConfigError, Env, GraphqlEndpoint};
//!
//! struct Query;
//! #[Object]
//! impl Query {
//!     async fn hello(&self) -> &str { "world" }
//! }
//!
//! let vars = |name: &str| (name == "LIMIT_MAX_DEPTH").then(|| "10".to_owned());
//! let mut env = Env::new(vars); // in main.rs: Env::new(|name| std::env::var(name).ok())
//! let port = env.parse_or("VIDEO_PORT", 4011u16, "a port number (0-65535)");
//! let log_level = env.log_level();
//! let mode = env.mode();
//! let nats_url = env.value("NATS_URL").unwrap_or_else(|| "nats://127.0.0.1:4222".into());
//! env.require_nats_credentials("NATS_URL", &nats_url, mode);
//! let limits = env.operation_limits();
//! env.finish()?; // every invalid variable at once; main.rs prints them and exits 2
//! // coursegraph_subgraph_kit::init_logging(log_level, None)?;  (once per process; with
//! // Tracing::start's provider when TracingSettings::read turns tracing on)
//!
//! let schema = Schema::build(Query, EmptyMutation, EmptySubscription).finish();
//! let endpoint = GraphqlEndpoint::new(schema.clone(), &schema.sdl(), limits)
//!     .expect("the schema's own SDL parses");
//! let router = axum::Router::new()
//!     .route("/healthz", get(healthz))
//!     .route("/readyz", get(|| async { readiness(Some(serde_json::json!({}))) }))
//!     .merge(endpoint.router());
//! # let _ = (port, log_level, router);
//! # Ok::<(), Vec<ConfigError>>(())
//! ```

pub mod config;
pub mod error;
pub mod graphql;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod production;
pub mod server;
pub mod telemetry;

pub use config::{has_credentials, ConfigError, Env, Mode};
pub use error::{BoxError, ErrorChain};
pub use graphql::{
    limit_body, Anonymous, Caller, GraphqlEndpoint, OperationCounts, MAX_BODY_BYTES,
    POST_CONTENT_TYPES,
};
pub use limits::{OperationLimits, Refusal, Role, SchemaInfo};
pub use logging::{init_logging, LoggingError};
pub use metrics::{project_operation_names, GraphqlMetrics, MetricsSettings};
pub use server::{healthz, readiness, shutdown_signal};
pub use telemetry::{consumer_span, record_outcome, ConsumedEvent, Tracing, TracingSettings};
