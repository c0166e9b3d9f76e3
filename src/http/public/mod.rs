//! Routes of the public listener (port 4444). Handlers for the OAuth 2.0 and OpenID Connect
//! endpoints live in files beside this one, one per endpoint family.

use super::{health, AppState};
use axum::routing::get;
use axum::Router;

/// Every public route, literally.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health/alive", get(health::is_instance_alive))
        .route("/health/ready", get(health::is_instance_ready_public))
        .fallback(super::response::route_not_found)
}
