//! HTTP: [`AppState`], the two routers (public on `serve.public.port`, admin on
//! `serve.admin.port`), the middleware stack both share, and [`serve`], which runs them on
//! already-bound listeners until shutdown. Handlers live in `public/` and `admin/` by the
//! port that serves them. May import: domain modules, `config`, `error`, `store` (via state).

mod access_log;
pub mod admin;
mod cookies;
mod cors;
pub mod example_ui;
pub mod extract;
mod health;
pub mod html;
pub mod metrics;
mod pagination;
pub mod public;
pub mod response;

use crate::client;
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::hasher::Hasher;
use crate::jwk::KeyManager;
use crate::oauth2::client_auth::ClientAuthCache;
use crate::store::Db;
use crate::token::TokenEngine;
use axum::extract::Request;
use axum::http::HeaderName;
use axum::Router;
use metrics::{Listener, Metrics};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Hydra parses form bodies up to 1 MiB; JSON bodies get the same bound.
const BODY_LIMIT: usize = 1024 * 1024;
/// A request that takes longer than this is answered 408.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Everything a handler needs, shared by both routers. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub clock: Clock,
    pub metrics: Arc<Metrics>,
    /// Hashes and verifies client secrets.
    pub hasher: Hasher,
    /// Outbound HTTP (sector identifier documents, client JWKS), with bounded timeouts.
    pub http_client: reqwest::Client,
    /// Client validation settings derived from the configuration.
    pub client_rules: Arc<client::Rules>,
    /// JSON Web Key sets: sealing, caching, signing.
    pub keys: Arc<KeyManager>,
    /// Mints, records and finds tokens.
    pub engine: Arc<TokenEngine>,
    /// Verified client secrets (keeps argon2 off the token endpoint's hot path).
    pub secrets: Arc<ClientAuthCache>,
    /// The discovery document, serialized once.
    pub well_known: Arc<str>,
    /// Signs the login/consent flow's cookies.
    pub cookie_keys: Arc<crate::consent::cookie::CookieKeys>,
}

/// Percent-encodes one path segment (RFC 3986 unreserved characters stay as they are), for
/// `Location` headers that name a resource by id.
pub(crate) fn encode_segment(segment: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    utf8_percent_encode(segment, SEGMENT).to_string()
}

/// The middleware every route of a listener gets. Applied with `Router::layer`, so it wraps
/// each route (and the fallback) and sees the matched route for metrics.
fn with_layers(
    router: Router<AppState>,
    state: &AppState,
    listener: &'static str,
    cfg: &crate::config::Listener,
    cors: Option<tower_http::cors::CorsLayer>,
) -> Router {
    let log_cfg = access_log::AccessLog {
        disable_for_health: cfg.access_log.disable_for_health,
    };
    let request_id = HeaderName::from_static("x-request-id");
    let router = match cors {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(move |req: &Request| {
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
                    // The path only: query strings carry codes and tokens.
                    tracing::info_span!("request", listener, method = %req.method(), path = %req.uri().path(), request_id = %id)
                }).on_request(()).on_response(()).on_failure(()))
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(axum::middleware::from_fn_with_state(log_cfg, access_log::log))
                .layer(axum::middleware::from_fn_with_state((state.metrics.clone(), Listener(listener)), metrics::track))
                .layer(axum::middleware::from_fn(response::errors_as_json))
                .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
                .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT)),
        )
        .with_state(state.clone())
}

/// The public router (port 4444).
pub fn public_router(state: &AppState) -> Router {
    let public = &state.config.serve.public;
    let cors = public.cors.enabled.then(|| cors::layer(&public.cors));
    with_layers(public::routes(cors), state, "public", public, None)
}

/// The admin router (port 4445).
pub fn admin_router(state: &AppState) -> Router {
    let admin = &state.config.serve.admin;
    let cors = admin.cors.enabled.then(|| cors::layer(&admin.cors));
    with_layers(admin::routes(), state, "admin", admin, cors)
}

/// Serves the public and/or admin router on the given listeners until `shutdown` resolves,
/// then stops accepting and waits for in-flight requests to finish.
pub async fn serve(
    public: Option<TcpListener>,
    admin: Option<TcpListener>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let run = |listener: Option<TcpListener>, router: Router| {
        let mut stop = stop_rx.clone();
        async move {
            let Some(listener) = listener else {
                return Ok(());
            };
            let app = router.into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|stopped| *stopped).await;
                })
                .await
        }
    };
    let public_router = public_router(&state);
    let admin_router = admin_router(&state);
    tokio::try_join!(run(public, public_router), run(admin, admin_router))?;
    Ok(())
}
