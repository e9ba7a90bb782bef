//! The HTTP app: `/graphql` (POST and GET), `/healthz`, `/readyz`, `/metrics`. Built here, served by the
//! binary, so tests call it in-process with `app(state).oneshot(request)`.
//!
//! `/graphql` is the subgraph kit's [`GraphqlEndpoint`] (body limit, media types, operation
//! limits, counts); every caller counts as anonymous: this subgraph verifies no token.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use coursegraph_subgraph_kit::graphql::{GraphqlEndpoint, OperationCounts};
use coursegraph_subgraph_kit::server::{healthz, readiness};
use coursegraph_subgraph_kit::{project_operation_names, GraphqlMetrics, MetricsSettings};
use serde_json::json;

use crate::graphql::schema;
use crate::limits::OperationLimits;
use crate::{SearchIndex, Source};

/// What every request can reach: the open search index, the operation limits, and counts of
/// the operations served.
#[derive(Clone)]
pub struct AppState {
    /// The index searches read (its writer belongs to the consumer).
    pub index: Arc<SearchIndex>,
    /// What `/graphql` refuses before executing. Default [`OperationLimits::default`].
    pub limits: OperationLimits,
    /// Operations executed and refused by `/graphql` since this state was created.
    pub operations: Arc<OperationCounts>,
    /// GraphQL request metrics, served at `/metrics` (docs/metrics.md).
    pub metrics: Arc<GraphqlMetrics>,
}

impl AppState {
    /// State serving `index`, with the default operation limits.
    pub fn new(index: SearchIndex) -> Self {
        Self {
            index: Arc::new(index),
            limits: OperationLimits::default(),
            operations: Arc::default(),
            metrics: GraphqlMetrics::new(
                "search",
                project_operation_names(),
                MetricsSettings::default(),
            ),
        }
    }

    /// The same state with the metrics settings of [`Config`](crate::config::Config).
    #[must_use]
    pub fn with_metrics(mut self, settings: MetricsSettings) -> Self {
        self.metrics = GraphqlMetrics::new("search", project_operation_names(), settings);
        self
    }

    /// The same state with `limits` (from [`Config`](crate::config::Config)).
    #[must_use]
    pub fn with_limits(mut self, limits: OperationLimits) -> Self {
        self.limits = limits;
        self
    }
}

/// The subgraph's routes.
///
/// # Panics
/// When the served schema's own SDL does not parse (a bug, found by every test).
pub fn app(state: AppState) -> Router {
    let schema = schema(SearchIndex::clone(&state.index));
    let graphql = GraphqlEndpoint::new(schema.clone(), &schema.sdl(), state.limits)
        .expect("the served schema's SDL parses")
        .with_operations(Arc::clone(&state.operations))
        .with_metrics(Arc::clone(&state.metrics));
    let metrics = state.metrics.router();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
        .merge(graphql.router())
        .merge(metrics)
}

/// Readiness: the index is open and its commit metadata readable (200, with the sequence it
/// holds of the course stream and of the video stream); 503 otherwise.
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    let positions = state
        .index
        .last_sequence()
        .and_then(|course| Ok((course, state.index.last_sequence_of(Source::Captions)?)));
    match positions {
        Ok((sequence, captions)) => readiness(Some(
            json!({ "lastSequence": sequence, "captionsLastSequence": captions }),
        )),
        Err(error) => {
            tracing::error!(error = %error.chain(), "index not readable");
            readiness(None)
        }
    }
}
