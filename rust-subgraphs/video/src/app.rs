//! The subgraph's HTTP routes: `/graphql` (the kit's endpoint, with this subgraph's caller),
//! `/uploads` (tus 1.0), `/play/` (signed playback), `/healthz` and `/readyz`.

use std::sync::Arc;

use async_graphql::dataloader::DataLoader;
use async_graphql::BatchRequest;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use coursegraph_subgraph_kit::{
    healthz, readiness, Caller, GraphqlEndpoint, GraphqlMetrics, OperationLimits, Role,
};
use deadpool_postgres::Pool;

use crate::auth::{self, AuthVerifier};
use crate::graphql::{AccessLoader, RequestViewer, VideoSchema};
use crate::serve::Playback as PlaybackFiles;
use crate::storage::LocalStorage;
use crate::tus::{self, CompletionHook, TusConfig};
use crate::uploads::LessonUploads;

/// Who calls `/graphql`: the viewer of a verified access token (anonymous without one).
#[derive(Clone)]
pub struct VideoCaller {
    /// Verifies access tokens.
    pub auth: AuthVerifier,
    /// The database, for each request's access loader.
    pub db: Pool,
}

impl Caller for VideoCaller {
    async fn identify(
        &self,
        headers: &HeaderMap,
        batch: &mut BatchRequest,
    ) -> Result<Role, Response> {
        let viewer = match self.auth.viewer_from_headers(headers).await {
            Ok(viewer) => viewer,
            Err(error) => {
                let body = serde_json::json!({
                    "errors": [{ "message": error.to_string(), "extensions": { "code": error.code() } }]
                });
                return Err((StatusCode::UNAUTHORIZED, Json(body)).into_response());
            }
        };
        let role = match &viewer {
            None => Role::Anonymous,
            Some(v) if v.role == auth::Role::Admin => Role::Admin,
            Some(_) => Role::SignedIn,
        };
        for request in batch.iter_mut() {
            request.data.insert(RequestViewer(viewer.clone()));
            request.data.insert(DataLoader::new(
                AccessLoader {
                    db: self.db.clone(),
                    viewer: viewer.clone(),
                },
                tokio::spawn,
            ));
        }
        Ok(role)
    }
}

/// Everything the routes need.
pub struct Routes {
    /// The GraphQL schema.
    pub schema: VideoSchema,
    /// The operation limits.
    pub limits: OperationLimits,
    /// Verifies access tokens (GraphQL and uploads).
    pub auth: AuthVerifier,
    /// The database (readiness, upload authorization).
    pub db: Pool,
    /// Uploads and media.
    pub storage: Arc<LocalStorage>,
    /// Where completed uploads are handed.
    pub completions: Arc<dyn CompletionHook>,
    /// The largest upload, bytes.
    pub max_upload_bytes: u64,
    /// Serves signed playback files.
    pub playback: Arc<PlaybackFiles>,
    /// GraphQL request metrics, served at `/metrics` (docs/metrics.md).
    pub metrics: Arc<GraphqlMetrics>,
}

/// The router.
///
/// # Panics
/// When the served schema's own SDL does not parse (a bug, found by every test).
pub fn router(routes: Routes) -> Router {
    let endpoint = GraphqlEndpoint::new(routes.schema.clone(), &routes.schema.sdl(), routes.limits)
        .expect("the served schema's SDL parses")
        .with_caller(VideoCaller {
            auth: routes.auth.clone(),
            db: routes.db.clone(),
        })
        .with_metrics(Arc::clone(&routes.metrics));
    let uploads = tus::router(
        Arc::clone(&routes.storage),
        Arc::new(LessonUploads {
            auth: routes.auth,
            db: routes.db.clone(),
        }),
        routes.completions,
        TusConfig {
            max_size: routes.max_upload_bytes,
            location_prefix: "/uploads".into(),
            ..TusConfig::default()
        },
    );
    let db = routes.db;
    Router::new()
        .merge(endpoint.router())
        .merge(routes.metrics.router())
        .nest("/uploads", uploads)
        .merge(routes.playback.router())
        .route("/healthz", get(healthz))
        .route(
            "/readyz",
            get(move || {
                let db = db.clone();
                async move {
                    let ok = match db.get().await {
                        Ok(client) => client.simple_query("select 1").await.is_ok(),
                        Err(_) => false,
                    };
                    if ok {
                        readiness(Some(serde_json::json!({})))
                    } else {
                        tracing::warn!("not ready: the database does not answer");
                        readiness(None)
                    }
                }
            }),
        )
}
