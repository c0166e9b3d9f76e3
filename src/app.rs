//! Wiring only: [`build`] turns a `Config` into an `AppState` (database connected and
//! checked), [`start`] binds the configured ports and serves until SIGINT/SIGTERM.
//! Nothing imports this module except `cli` and the tests.

use crate::client;
use crate::clock::Clock;
use crate::config::{AccessTokenStrategy, Backend, Config, HashAlgorithm, Hashers};
use crate::consent::cookie::CookieKeys;
use crate::crypto::aead::Aead;
use crate::crypto::hasher::{Hasher, Scheme};
use crate::http::{self, metrics::Metrics, AppState};
use crate::jwk::{KeyManager, ACCESS_TOKEN_SET, ID_TOKEN_SET};
use crate::oauth2::client_auth::ClientAuthCache;
use crate::oauth2::discovery;
use crate::store::Db;
use crate::token::jwt::JwtStrategy;
use crate::token::opaque::HmacKeys;
use crate::token::{Lifetimes, TokenEngine};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Why the server could not start; one line for the operator.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

/// Which listeners to run (`serve all|public|admin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listeners {
    All,
    Public,
    Admin,
}

/// Connects the store and builds the shared state. `memory` is migrated here; any other DSN
/// must have been migrated with `portcullis migrate sql` (readiness depends on it).
pub async fn build(config: Config, clock: Clock) -> Result<AppState, StartError> {
    let db = Db::connect(&config.dsn).await.map_err(|e| {
        StartError(format!(
            "cannot connect to the database {}: {e}",
            config.dsn.redacted()
        ))
    })?;
    if config.dsn.backend == Backend::Memory {
        db.migrate()
            .await
            .map_err(|e| StartError(format!("cannot migrate the in-memory database: {e}")))?;
    } else {
        let pending = db.pending_migrations().await.map_err(|e| {
            StartError(format!(
                "cannot read the migration status of {}: {e}",
                config.dsn.redacted()
            ))
        })?;
        if !pending.is_empty() {
            let names: Vec<String> = pending
                .iter()
                .map(|m| format!("{}_{}", m.version, m.name))
                .collect();
            return Err(StartError(format!(
                "the database has {} pending migration(s) ({}): run `portcullis migrate sql -e --yes` first",
                pending.len(),
                names.join(", ")
            )));
        }
    }
    let metrics = Metrics::new().map_err(|e| StartError(format!("cannot set up metrics: {e}")))?;
    let hasher = Hasher::new(hash_scheme(&config.oauth2.hashers))
        .map_err(|e| StartError(format!("configuration key \"oauth2.hashers\": {e}")))?;
    let http_client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::limited(3))
        .user_agent(concat!("portcullis/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| StartError(format!("cannot set up the HTTP client: {e}")))?;
    let client_rules = client::Rules {
        subject_types: config.oidc.subject_identifiers.supported_types.clone(),
        default_scope: config
            .oidc
            .dynamic_client_registration
            .default_scope
            .clone(),
        allow_http_loopback: config.force_http(),
    };
    let keys = Arc::new(key_manager(&config, &db, clock.now()).await?);
    let engine = token_engine(&config, &keys)?;
    let well_known: Arc<str> = serde_json::to_string(&discovery::document(&config))
        .map_err(|e| StartError(format!("cannot build the discovery document: {e}")))?
        .into();
    let cookie_keys = Arc::new(cookie_keys(&config));
    Ok(AppState {
        config: Arc::new(config),
        db,
        clock,
        metrics: Arc::new(metrics),
        hasher,
        http_client,
        client_rules: Arc::new(client_rules),
        keys,
        engine: Arc::new(engine),
        secrets: Arc::new(ClientAuthCache::default()),
        well_known,
        cookie_keys,
    })
}

/// Flow cookies are signed with `secrets.cookie`, or `secrets.system` when that is unset.
fn cookie_keys(config: &Config) -> CookieKeys {
    let secrets = if config.secrets.cookie.is_empty() {
        &config.secrets.system
    } else {
        &config.secrets.cookie
    };
    let secrets: Vec<&str> = secrets.iter().map(|s| s.expose()).collect();
    CookieKeys::new(&secrets)
}

/// The token engine, keyed by `secrets.system`.
fn token_engine(config: &Config, keys: &Arc<KeyManager>) -> Result<TokenEngine, StartError> {
    let secrets: Vec<&str> = config.secrets.system.iter().map(|s| s.expose()).collect();
    let bad = |e: String| StartError(format!("configuration key \"secrets.system\": {e}"));
    let hmac = HmacKeys::new(&secrets).ok_or_else(|| bad("no secret".into()))?;
    let aead = Aead::new(&secrets).map_err(|e| bad(e.to_string()))?;
    let lifetimes = Lifetimes {
        access_token: config.ttl.access_token,
        refresh_token: config.ttl.refresh_token.duration(),
        auth_code: config.ttl.auth_code,
    };
    let jwt = (config.strategies.access_token == AccessTokenStrategy::Jwt).then(|| JwtStrategy {
        keys: keys.clone(),
        issuer: config.urls.issuer.to_string(),
        exclude_nbf: config.oauth2.exclude_not_before_claim,
        top_level_claims: config.oauth2.allowed_top_level_claims.clone(),
    });
    Ok(TokenEngine::new(
        hmac,
        aead,
        config.oauth2.session.encrypt_at_rest,
        lifetimes,
        jwt,
    ))
}

/// Opens the key sets with `secrets.system` and creates the ID-token and access-token sets
/// when missing (race-free when several instances start on one database).
async fn key_manager(
    config: &Config,
    db: &Db,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<KeyManager, StartError> {
    let secrets: Vec<&str> = config.secrets.system.iter().map(|s| s.expose()).collect();
    let aead = Aead::new(&secrets)
        .map_err(|e| StartError(format!("configuration key \"secrets.system\": {e}")))?;
    let keys = KeyManager::new(aead, config.jwk.rsa_bits);
    for set in [ID_TOKEN_SET, ACCESS_TOKEN_SET] {
        keys.ensure_set(db, set, now).await.map_err(|e| {
            let cause = e.debug.clone().unwrap_or_else(|| e.to_string());
            StartError(format!(
                "cannot open the JSON Web Key set {set}: {cause}. If secrets.system was changed, keep the old secret as a later entry of secrets.system"
            ))
        })?;
    }
    Ok(keys)
}

/// The client secret hashing scheme that `oauth2.hashers` asks for.
fn hash_scheme(h: &Hashers) -> Scheme {
    match h.algorithm {
        HashAlgorithm::Argon2id => Scheme::Argon2id {
            memory: h.argon2.memory,
            iterations: h.argon2.iterations,
            parallelism: h.argon2.parallelism,
        },
        HashAlgorithm::Bcrypt => Scheme::Bcrypt {
            cost: h.bcrypt.cost,
        },
    }
}

async fn bind(host: &str, port: u16, key: &str) -> Result<TcpListener, StartError> {
    if host.starts_with("unix:") {
        return Err(StartError(format!(
            "configuration key \"{key}\": unix sockets are not supported yet"
        )));
    }
    let host = if host.is_empty() { "0.0.0.0" } else { host };
    let addr = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    TcpListener::bind(&addr)
        .await
        .map_err(|e| StartError(format!("cannot listen on {addr} ({key}): {e}")))
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: no new connections, finishing requests in flight");
}

/// Builds the state, binds the configured ports and serves until a shutdown signal.
pub async fn start(config: Config, listeners: Listeners) -> Result<(), StartError> {
    let state = build(config, Clock::system()).await?;
    run(state, listeners).await
}

/// Binds the configured ports and serves an already built state until a shutdown signal.
pub async fn run(state: AppState, listeners: Listeners) -> Result<(), StartError> {
    let serve = state.config.serve.clone();
    let public = match listeners {
        Listeners::All | Listeners::Public => {
            Some(bind(&serve.public.host, serve.public.port, "serve.public.port").await?)
        }
        Listeners::Admin => None,
    };
    let admin = match listeners {
        Listeners::All | Listeners::Admin => {
            Some(bind(&serve.admin.host, serve.admin.port, "serve.admin.port").await?)
        }
        Listeners::Public => None,
    };
    for (name, l) in [("public", &public), ("admin", &admin)] {
        if let Some(addr) = l.as_ref().and_then(|l| l.local_addr().ok()) {
            tracing::info!(listener = name, %addr, "listening (plain HTTP)");
        }
    }
    let db = state.db.clone();
    http::serve(public, admin, state, shutdown_signal())
        .await
        .map_err(|e| StartError(format!("server error: {e}")))?;
    db.close().await;
    Ok(())
}
