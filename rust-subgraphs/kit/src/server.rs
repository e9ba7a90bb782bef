//! The HTTP service around `/graphql`: liveness and readiness answers, as every Coursegraph
//! service gives them, and the shutdown signal a server drains on.

use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

/// `/healthz` (liveness: the process answers): 200 `{"status":"ok"}`.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// A `/readyz` answer: 200 with `{"status":"ready", ...details}` when there are `details`
/// (an object's fields are added beside `status`), 503 `{"status":"unavailable"}` on `None`.
/// Why it is not ready is the service's to log: it is not shown to callers.
pub fn readiness(details: Option<Value>) -> (StatusCode, Json<Value>) {
    match details {
        Some(details) => {
            let mut body = json!({ "status": "ready" });
            if let (Some(body), Value::Object(details)) = (body.as_object_mut(), details) {
                body.extend(details);
            }
            (StatusCode::OK, Json(body))
        }
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable" })),
        ),
    }
}

/// Resolves on ctrl-c or SIGTERM (what Kubernetes and the supervisor send), for
/// `axum::serve(...).with_graceful_shutdown(shutdown_signal())`. Logs `shutting down`.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_adds_details_unavailable_gives_none() {
        let (status, Json(body)) = readiness(Some(json!({ "lastSequence": 7 })));
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, json!({ "status": "ready", "lastSequence": 7 }));
        let (status, Json(body)) = readiness(None);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body, json!({ "status": "unavailable" }));
    }

    #[tokio::test]
    async fn healthz_is_ok() {
        assert_eq!(healthz().await.0, json!({ "status": "ok" }));
    }
}
