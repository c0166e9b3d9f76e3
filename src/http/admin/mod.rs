//! Routes of the admin listener (port 4445). Handlers for the admin API live in files beside
//! this one, one per resource.

use super::{health, metrics, AppState};
use axum::routing::get;
use axum::Router;

/// Every admin route, literally.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health/alive", get(health::is_instance_alive))
        .route("/health/ready", get(health::is_instance_ready))
        .route("/version", get(health::get_version))
        .route("/metrics/prometheus", get(metrics::prometheus))
        .fallback(super::response::route_not_found)
}
