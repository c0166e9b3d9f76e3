//! Routes of the admin listener (port 4445). Handlers for the admin API live in files beside
//! this one, one per resource.

mod clients;
mod consent_sessions;
mod flows;
mod keys;
mod logout;
mod tokens;

use super::{health, metrics, AppState};
use axum::routing::{delete, get, post};
use axum::Router;

/// Every admin route, literally.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health/alive", get(health::is_instance_alive))
        .route("/health/ready", get(health::is_instance_ready))
        .route("/version", get(health::get_version))
        .route("/metrics/prometheus", get(metrics::prometheus))
        .route(
            "/clients",
            get(clients::list_oauth2_clients).post(clients::create_oauth2_client),
        )
        .route(
            "/clients/{id}",
            get(clients::get_oauth2_client)
                .put(clients::update_oauth2_client)
                .patch(clients::patch_oauth2_client)
                .delete(clients::delete_oauth2_client),
        )
        .route(
            "/keys/{set}",
            get(keys::get_json_web_key_set)
                .post(keys::create_json_web_key_set)
                .put(keys::update_json_web_key_set)
                .delete(keys::delete_json_web_key_set),
        )
        .route(
            "/keys/{set}/{kid}",
            get(keys::get_json_web_key)
                .put(keys::update_json_web_key)
                .delete(keys::delete_json_web_key),
        )
        .route("/oauth2/introspect", post(tokens::introspect_oauth2_token))
        .route("/oauth2/tokens", delete(tokens::delete_oauth2_token))
        .route("/oauth2/flush", post(tokens::flush_inactive_oauth2_tokens))
        .route("/oauth2/auth/requests/login", get(flows::get_login_request))
        .route(
            "/oauth2/auth/requests/login/accept",
            axum::routing::put(flows::accept_login_request),
        )
        .route(
            "/oauth2/auth/requests/login/reject",
            axum::routing::put(flows::reject_login_request),
        )
        .route(
            "/oauth2/auth/requests/consent",
            get(flows::get_consent_request),
        )
        .route(
            "/oauth2/auth/requests/consent/accept",
            axum::routing::put(flows::accept_consent_request),
        )
        .route(
            "/oauth2/auth/requests/consent/reject",
            axum::routing::put(flows::reject_consent_request),
        )
        .route(
            "/oauth2/auth/sessions/consent",
            get(consent_sessions::list_subject_consent_sessions)
                .delete(consent_sessions::revoke_consent_sessions),
        )
        .route(
            "/oauth2/auth/requests/logout",
            get(logout::get_logout_request),
        )
        .route(
            "/oauth2/auth/requests/logout/accept",
            axum::routing::put(logout::accept_logout_request),
        )
        .route(
            "/oauth2/auth/requests/logout/reject",
            axum::routing::put(logout::reject_logout_request),
        )
        .route(
            "/oauth2/auth/sessions/login",
            delete(logout::revoke_authentication_session),
        )
        .fallback(super::response::route_not_found)
}
