//! Routes of the public listener (port 4444). Handlers for the OAuth 2.0 and OpenID Connect
//! endpoints live in files beside this one, one per endpoint family.

mod authorize;
mod discovery;
mod logout;
mod revoke;
mod token;
mod userinfo;

use super::{health, AppState};
use axum::routing::get;
use axum::Router;
use tower_http::cors::CorsLayer;

/// Every public route, literally. `cors` (from `serve.public.cors`, when enabled) applies
/// only to the CORS-aware endpoints, as in Hydra (hydra-reference §9.3).
pub fn routes(cors: Option<CorsLayer>) -> Router<AppState> {
    let cors_aware = Router::new()
        .route("/.well-known/jwks.json", get(discovery::well_known))
        .route(
            "/.well-known/openid-configuration",
            get(discovery::discover_open_id_configuration),
        )
        .route("/oauth2/token", axum::routing::post(token::oauth2_token))
        .route(
            "/oauth2/revoke",
            axum::routing::post(revoke::revoke_oauth2_token),
        )
        .route(
            "/userinfo",
            get(userinfo::userinfo).post(userinfo::userinfo),
        );
    let cors_aware = match cors {
        Some(cors) => cors_aware.layer(cors),
        None => cors_aware,
    };
    Router::new()
        .route(
            "/oauth2/auth",
            get(authorize::oauth2_auth_get).post(authorize::oauth2_auth_post),
        )
        .route(
            "/oauth2/sessions/logout",
            get(logout::disconnect_user_get).post(logout::disconnect_user_post),
        )
        .route(
            "/oauth2/fallbacks/logout/callback",
            get(logout::fallback_logout_callback),
        )
        .route("/oauth2/fallbacks/error", get(authorize::fallback_error))
        .route(
            "/oauth2/fallbacks/login",
            get(authorize::fallback_unconfigured),
        )
        .route(
            "/oauth2/fallbacks/consent",
            get(authorize::fallback_unconfigured),
        )
        .route(
            "/oauth2/fallbacks/logout",
            get(authorize::fallback_unconfigured),
        )
        .route("/health/alive", get(health::is_instance_alive))
        .route("/health/ready", get(health::is_instance_ready_public))
        .merge(cors_aware)
        .fallback(super::response::route_not_found)
}
