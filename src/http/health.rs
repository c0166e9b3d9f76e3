//! `/health/alive`, `/health/ready` (both listeners) and `/version` (admin), as Hydra
//! (hydra-reference §9.1): ready means the database answers and no migration is pending.

use super::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::time::Duration;

/// How long readiness waits for the database.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Hydra replaces readiness messages on the public port with this text.
const OBFUSCATED: &str = "error may contain sensitive information and was obfuscated";

/// `GET /health/alive`: the process serves HTTP.
pub async fn is_instance_alive() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// The failed checks, by name (`database`, `migrations`).
async fn failed_checks(state: &AppState) -> Vec<(&'static str, String)> {
    if let Err(e) = state.db.ping(PING_TIMEOUT).await {
        return vec![("database", e.to_string())];
    }
    match state.db.pending_migrations().await {
        Ok(pending) if pending.is_empty() => Vec::new(),
        Ok(pending) => {
            let names: Vec<String> = pending
                .iter()
                .map(|m| format!("{}_{}", m.version, m.name))
                .collect();
            vec![(
                "migrations",
                format!(
                    "pending migrations: {}; run `portcullis migrate sql`",
                    names.join(", ")
                ),
            )]
        }
        Err(e) => vec![("migrations", e.to_string())],
    }
}

fn ready_response(failed: Vec<(&'static str, String)>, obfuscate: bool) -> Response {
    if failed.is_empty() {
        return Json(json!({"status": "ok"})).into_response();
    }
    let errors: serde_json::Map<String, serde_json::Value> = failed
        .into_iter()
        .map(|(check, msg)| {
            (
                check.to_string(),
                json!(if obfuscate {
                    OBFUSCATED.to_string()
                } else {
                    msg
                }),
            )
        })
        .collect();
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "errors": errors })),
    )
        .into_response()
}

/// `GET /health/ready` on the public listener: failure messages are obfuscated.
pub async fn is_instance_ready_public(State(state): State<AppState>) -> Response {
    ready_response(failed_checks(&state).await, true)
}

/// `GET /health/ready` on the admin listener.
pub async fn is_instance_ready(State(state): State<AppState>) -> Response {
    ready_response(failed_checks(&state).await, false)
}

/// `GET /version`.
pub async fn get_version() -> Json<serde_json::Value> {
    Json(json!({"version": env!("CARGO_PKG_VERSION")}))
}
