//! One `info` line per request (method, path without query, status, duration), as Hydra's
//! request logger; health checks are left out when `serve.*.access_log.disable_for_health`.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;

/// Whether this listener's health checks are logged.
#[derive(Clone, Copy)]
pub struct AccessLog {
    pub disable_for_health: bool,
}

pub async fn log(State(cfg): State<AccessLog>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    if cfg.disable_for_health && path.starts_with("/health/") {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        %path,
        status = response.status().as_u16(),
        took_ms = started.elapsed().as_secs_f64() * 1000.0,
        "completed handling request"
    );
    response
}
