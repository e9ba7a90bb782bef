//! The `/graphql` endpoint every Rust subgraph serves: GET and POST as async-graphql reads them,
//! behind the checks the TypeScript services make before executing anything.
//!
//! In order, for each request:
//! 1. a body over [`MAX_BODY_BYTES`] gets 413 (`PAYLOAD_TOO_LARGE`) ([`limit_body`]);
//! 2. a POST whose `Content-Type` is not one of [`POST_CONTENT_TYPES`] gets 415
//!    (`UNSUPPORTED_MEDIA_TYPE`): CSRF prevention, a form cannot send JSON without a preflight;
//! 3. the request (or batch) is read; the [`Caller`] learns who calls (a [`Role`] for the cost
//!    limit, and whatever the resolvers need, added to each request's data), or answers instead;
//! 4. the [`OperationLimits`] are checked: a refusal is 400 with its GraphQL error, and nothing
//!    executes;
//! 5. the executor runs it (incremental delivery when the client accepts `multipart/mixed`).
//!
//! [`OperationCounts`] counts what was executed and refused (tests assert that a refusal
//! executes nothing).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_graphql::http::{create_multipart_mixed_stream, is_accept_multipart_mixed};
use async_graphql::parser::types::OperationType;
use async_graphql::parser::Error as ParseError;
use async_graphql::{BatchRequest, BatchResponse, Executor};
use async_graphql_axum::rejection::GraphQLRejection;
use async_graphql_axum::{GraphQLBatchRequest, GraphQLResponse};
use axum::body::Body;
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::StreamExt;
use serde_json::json;
use tracing::{Instrument, Span};

use crate::limits::{OperationLimits, Refusal, Role, SchemaInfo};
use crate::metrics::GraphqlMetrics;
use crate::telemetry;

/// Largest `/graphql` request body accepted: 64 KiB. Operation documents are small (the token
/// limit refuses long ones anyway); async-graphql itself reads a body to its end, whatever its
/// size.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Media types a POST may declare: JSON or GraphQL, as in every TypeScript service.
pub const POST_CONTENT_TYPES: [&str; 4] = [
    "application/json",
    "application/graphql-response+json",
    "application/graphql",
    "application/graphql+json",
];

/// How long a `multipart/mixed` (incremental delivery) answer may stay silent before a
/// heartbeat is sent: 30 s, as async-graphql-axum's own service.
const MULTIPART_HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(30);

/// How many GraphQL operations `/graphql` handed to the executor, and how many it refused
/// for passing an operation limit (a refused one never reaches the executor).
#[derive(Debug, Default)]
pub struct OperationCounts {
    executed: AtomicU64,
    refused: AtomicU64,
}

impl OperationCounts {
    /// Operations handed to the executor (each request of a batch counts).
    pub fn executed(&self) -> u64 {
        self.executed.load(Ordering::Relaxed)
    }

    /// Requests refused by an operation limit (a batch counts once).
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

/// Who is calling, learned from a request before its limits are checked.
///
/// A subgraph that verifies tokens implements it: it reads the headers, adds what its resolvers
/// need to every request of the batch (`request.data.insert(viewer)` for each of
/// `batch.iter_mut()`), and returns the caller's [`Role`], whose cost limit applies. It may
/// answer instead (an invalid token: 401), and then nothing is checked or executed.
pub trait Caller: Clone + Send + Sync + 'static {
    /// The caller's role, once `batch` holds what the resolvers need.
    ///
    /// # Errors
    /// The response to send instead of executing anything.
    fn identify(
        &self,
        headers: &HeaderMap,
        batch: &mut BatchRequest,
    ) -> impl Future<Output = Result<Role, Response>> + Send;
}

/// Every caller is [`Role::Anonymous`] and nothing is added to the requests: the [`Caller`] of
/// a subgraph that verifies no token (its results are public).
#[derive(Debug, Clone, Copy, Default)]
pub struct Anonymous;

impl Caller for Anonymous {
    async fn identify(
        &self,
        _headers: &HeaderMap,
        _batch: &mut BatchRequest,
    ) -> Result<Role, Response> {
        Ok(Role::Anonymous)
    }
}

/// The `/graphql` endpoint: an executor (an async-graphql `Schema`), what the limits know of its
/// schema, the limits, the operation counts and the [`Caller`] (default [`Anonymous`]). Its
/// clones share the counts.
#[derive(Clone)]
pub struct GraphqlEndpoint<E, C = Anonymous> {
    executor: E,
    types: Arc<SchemaInfo>,
    limits: OperationLimits,
    operations: Arc<OperationCounts>,
    caller: C,
    metrics: Option<Arc<GraphqlMetrics>>,
}

impl<E: Executor> GraphqlEndpoint<E, Anonymous> {
    /// An endpoint executing with `executor`, whose schema `sdl` describes (`schema.sdl()`, read
    /// once for the cost analysis), checking `limits`, with fresh counts and every caller
    /// anonymous.
    ///
    /// # Errors
    /// When `sdl` does not parse (a bug of the subgraph: its own schema's SDL always parses).
    pub fn new(executor: E, sdl: &str, limits: OperationLimits) -> Result<Self, ParseError> {
        Ok(Self {
            executor,
            types: Arc::new(SchemaInfo::from_sdl(sdl)?),
            limits,
            operations: Arc::default(),
            caller: Anonymous,
            metrics: None,
        })
    }
}

impl<E: Executor, C: Caller> GraphqlEndpoint<E, C> {
    /// The same endpoint, learning who calls through `caller`.
    #[must_use]
    pub fn with_caller<D: Caller>(self, caller: D) -> GraphqlEndpoint<E, D> {
        GraphqlEndpoint {
            executor: self.executor,
            types: self.types,
            limits: self.limits,
            operations: self.operations,
            caller,
            metrics: self.metrics,
        }
    }

    /// The same endpoint, counting and timing every request into `metrics` (served by
    /// [`GraphqlMetrics::router`]).
    #[must_use]
    pub fn with_metrics(mut self, metrics: Arc<GraphqlMetrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The same endpoint, counting into `operations` (shared with the app's state, so tests and
    /// readiness can read them).
    #[must_use]
    pub fn with_operations(mut self, operations: Arc<OperationCounts>) -> Self {
        self.operations = operations;
        self
    }

    /// The counts this endpoint adds to.
    pub fn operations(&self) -> &Arc<OperationCounts> {
        &self.operations
    }

    /// The route `/graphql` (GET and POST) with its body limit; merge it into the subgraph's
    /// router (`Router::new().route("/readyz", ...).merge(endpoint.router())`).
    pub fn router(self) -> Router {
        Router::new()
            .route(
                "/graphql",
                get(serve_graphql::<E, C>)
                    .post(serve_graphql::<E, C>)
                    .with_state(self),
            )
            .route_layer(middleware::from_fn(limit_body))
    }

    /// Answers one `/graphql` request (steps 2 to 5 of the module's list; the body limit is
    /// [`limit_body`]'s, a layer of [`GraphqlEndpoint::router`]), in its SERVER span when
    /// tracing is on ([`telemetry`]).
    pub async fn serve(&self, request: Request) -> Response {
        let Some(span) = telemetry::server_span(request.method().as_str(), request.headers())
        else {
            return self.answer(request, None).await;
        };
        let response = self
            .answer(request, Some(&span))
            .instrument(span.clone())
            .await;
        telemetry::record_status(&span, response.status().as_u16());
        response
    }

    async fn answer(&self, request: Request, span: Option<&Span>) -> Response {
        let started = std::time::Instant::now();
        if request.method() == Method::POST {
            if let Some(refusal) = unsupported_media_type(request.headers()) {
                return refusal;
            }
        }
        let accept = request
            .headers()
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let headers = request.headers().clone();
        let mut batch =
            match GraphQLBatchRequest::<GraphQLRejection>::from_request(request, &()).await {
                Ok(batch) => batch.into_inner(),
                Err(rejection) => return rejection.into_response(),
            };
        // Parsed once here; the limits and the executor use the parsed document.
        let labels: Vec<_> = batch.iter_mut().map(operation_of).collect();
        if let (Some(span), Some(Some((ty, name)))) = (span, labels.first()) {
            telemetry::record_operation(span, ty, name.as_deref());
        }
        let record = |failed: &dyn Fn(usize) -> bool| {
            if let Some(metrics) = &self.metrics {
                let seconds = started.elapsed().as_secs_f64();
                for (i, label) in labels.iter().enumerate() {
                    if let Some((ty, name)) = label {
                        metrics.record(ty, name.as_deref(), failed(i), seconds);
                    }
                }
            }
        };
        let role = match self.caller.identify(&headers, &mut batch).await {
            Ok(role) => role,
            Err(response) => {
                record(&|_| true);
                return response;
            }
        };
        if let Err(refusal) = self.limits.check(&mut batch, &self.types, role) {
            self.operations.refused.fetch_add(1, Ordering::Relaxed);
            tracing::info!(reason = refusal.reason(), message = %refusal.message(), "operation refused");
            record(&|_| true);
            return refused(&refusal, &accept);
        }
        let count = batch.iter().count() as u64;
        self.operations.executed.fetch_add(count, Ordering::Relaxed);
        if is_accept_multipart_mixed(&accept) {
            // Incremental delivery, as async-graphql-axum's own service answers it.
            let request = match batch.into_single() {
                Ok(request) => request,
                Err(error) => return GraphQLRejection(error).into_response(),
            };
            // Timed to the start of the stream; its parts' errors are the client's to read.
            record(&|_| false);
            let stream = self.executor.execute_stream(request, None);
            let body = Body::from_stream(
                create_multipart_mixed_stream(stream, MULTIPART_HEARTBEAT)
                    .map(Ok::<_, std::io::Error>),
            );
            return (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("multipart/mixed; boundary=graphql"),
                )],
                body,
            )
                .into_response();
        }
        let response = self.executor.execute_batch(batch).await;
        if let Some(span) = span {
            telemetry::record_error_codes(span, &error_codes(&response));
        }
        record(&|i| match &response {
            BatchResponse::Single(one) => one.is_err(),
            BatchResponse::Batch(all) => all.get(i).is_some_and(async_graphql::Response::is_err),
        });
        GraphQLResponse(response).into_response()
    }
}

/// A request's operation type (`query`, `mutation`, `subscription`) and name, when its
/// document parses and holds the operation it names.
fn operation_of(request: &mut async_graphql::Request) -> Option<(&'static str, Option<String>)> {
    let wanted = request.operation_name.clone();
    let document = request.parsed_query().ok()?;
    let (name, operation) = document
        .operations
        .iter()
        .find(|(name, _)| wanted.is_none() || name.map(|n| n.as_str()) == wanted.as_deref())?;
    let ty = match operation.node.ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    };
    Some((ty, name.map(|n| n.to_string())))
}

/// The distinct `extensions.code`s of an answer's errors (`UNKNOWN` for an error without one).
fn error_codes(response: &BatchResponse) -> Vec<String> {
    let responses = match response {
        BatchResponse::Single(one) => std::slice::from_ref(one),
        BatchResponse::Batch(all) => all.as_slice(),
    };
    let mut codes: Vec<String> = Vec::new();
    for error in responses.iter().flat_map(|r| &r.errors) {
        let code = match error.extensions.as_ref().and_then(|e| e.get("code")) {
            Some(async_graphql::Value::String(code)) => code.clone(),
            Some(async_graphql::Value::Enum(code)) => code.to_string(),
            _ => "UNKNOWN".to_owned(),
        };
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    codes
}

async fn serve_graphql<E: Executor, C: Caller>(
    State(endpoint): State<GraphqlEndpoint<E, C>>,
    request: Request,
) -> Response {
    endpoint.serve(request).await
}

/// CSRF prevention: the types an HTML form or a `no-cors` fetch can send without a preflight
/// (form-encoded, multipart, text/plain), or none at all, get 415 with `BAD_USER_INPUT` and
/// reason `UNSUPPORTED_MEDIA_TYPE` before anything is parsed.
fn unsupported_media_type(headers: &HeaderMap) -> Option<Response> {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let media_type = declared
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if POST_CONTENT_TYPES.contains(&media_type.as_str()) {
        return None;
    }
    let shown = if media_type.is_empty() {
        "none".to_owned()
    } else {
        format!("\"{media_type}\"")
    };
    let body = json!({ "errors": [{
        "message": format!("POST requests must send Content-Type: application/json (or a GraphQL media type); {shown} is not accepted."),
        "extensions": { "code": "BAD_USER_INPUT", "reason": "UNSUPPORTED_MEDIA_TYPE" }
    }] });
    Some((StatusCode::UNSUPPORTED_MEDIA_TYPE, Json(body)).into_response())
}

/// 400 with the refusal's GraphQL error, as `application/graphql-response+json` when the
/// client accepts it, `application/json` otherwise.
fn refused(refusal: &Refusal, accept: &str) -> Response {
    let content_type = if accept.contains("application/graphql-response+json") {
        "application/graphql-response+json"
    } else {
        "application/json"
    };
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        refusal.body().to_string(),
    )
        .into_response()
}

/// Middleware (`axum::middleware::from_fn(limit_body)`) refusing a body over
/// [`MAX_BODY_BYTES`] with 413 and a GraphQL error (code `BAD_USER_INPUT`, reason
/// `PAYLOAD_TOO_LARGE`): at once when `content-length` says so, or as soon as a chunked body
/// passes the limit. Otherwise hands the buffered body on.
pub async fn limit_body(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        return payload_too_large();
    }
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(error) if is_length_limit(&error) => payload_too_large(),
        // The client went away mid-body: nobody reads this answer, but say what happened.
        Err(error) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "errors": [{
                "message": format!("The request body could not be read: {error}"),
                "extensions": { "code": "BAD_USER_INPUT", "reason": "BAD_REQUEST" }
            }] })),
        )
            .into_response(),
    }
}

fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if current.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = current.source();
    }
    false
}

fn payload_too_large() -> Response {
    let body = json!({
        "errors": [{
            "message": format!("The request body is larger than {MAX_BODY_BYTES} bytes."),
            "extensions": { "code": "BAD_USER_INPUT", "reason": "PAYLOAD_TOO_LARGE" }
        }]
    });
    (StatusCode::PAYLOAD_TOO_LARGE, Json(body)).into_response()
}
