//! The typed configuration tree. Field names are Hydra's key segments; defaults are Hydra
//! 1.10.3's (hydra-reference §6.2). Unknown keys never reach this far: `schema::check`
//! refuses them first.

use super::duration::{self, Lifespan};
use super::{Dsn, Flags};
use serde::{Deserialize, Deserializer};
use std::time::Duration;
use url::Url;

/// The validated configuration. Built by `config::load`; immutable afterwards.
#[derive(Debug, Clone)]
pub struct Config {
    pub log: Log,
    pub serve: Serve,
    pub dsn: Dsn,
    pub webfinger: Webfinger,
    pub oidc: Oidc,
    pub urls: Urls,
    pub strategies: Strategies,
    pub ttl: Ttl,
    pub oauth2: OAuth2,
    pub secrets: Secrets,
    pub jwk: Jwk,
    pub flags: Flags,
    /// Things worth a warning found while loading, logged once logging is set up.
    pub warnings: Vec<String>,
}

/// What the files and the environment say, before derivation.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct RawConfig {
    pub log: Log,
    pub serve: Serve,
    pub dsn: Option<String>,
    pub webfinger: Webfinger,
    pub oidc: Oidc,
    pub urls: RawUrls,
    pub strategies: Strategies,
    pub ttl: Ttl,
    pub oauth2: OAuth2,
    pub secrets: RawSecrets,
    pub jwk: Jwk,
}

/// Ours: `jwk.*`, key generation.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Jwk {
    /// Size of generated RSA keys (compatibility.md: 2048 unless configured; Hydra used 4096).
    pub rsa_bits: u32,
}

impl Default for Jwk {
    fn default() -> Self {
        Jwk { rsa_bits: 2048 }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Log {
    pub level: LogLevel,
    pub format: LogFormat,
    pub leak_sensitive_values: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Panic,
    Fatal,
    Error,
    Warn,
    #[default]
    Info,
    Debug,
    Trace,
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Json,
    JsonPretty,
    #[default]
    Text,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Serve {
    pub public: Listener,
    pub admin: Listener,
    pub tls: Tls,
    pub cookies: Cookies,
}

impl Default for Serve {
    fn default() -> Self {
        Serve {
            public: Listener {
                port: 4444,
                ..Listener::default()
            },
            admin: Listener {
                port: 4445,
                ..Listener::default()
            },
            tls: Tls::default(),
            cookies: Cookies::default(),
        }
    }
}

/// `serve.public` / `serve.admin`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Listener {
    pub port: u16,
    pub host: String,
    pub cors: Cors,
    pub socket: Socket,
    pub access_log: AccessLog,
    pub tls: Tls,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Cors {
    pub enabled: bool,
    pub allowed_origins: Vec<String>,
    pub allowed_methods: Vec<String>,
    pub allowed_headers: Vec<String>,
    pub exposed_headers: Vec<String>,
    pub allow_credentials: bool,
    pub options_passthrough: bool,
    pub max_age: u64,
    pub debug: bool,
}

impl Default for Cors {
    fn default() -> Self {
        let list = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        Cors {
            enabled: false,
            allowed_origins: list(&["*"]),
            allowed_methods: list(&["POST", "GET", "PUT", "PATCH", "DELETE"]),
            allowed_headers: list(&["Authorization", "Content-Type"]),
            exposed_headers: list(&["Content-Type"]),
            allow_credentials: true,
            options_passthrough: false,
            max_age: 0,
            debug: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Socket {
    pub owner: String,
    pub group: String,
    pub mode: u32,
}

impl Default for Socket {
    fn default() -> Self {
        Socket {
            owner: String::new(),
            group: String::new(),
            mode: 0o755,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct AccessLog {
    pub disable_for_health: bool,
}

/// `serve.tls` and its per-listener overrides.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Tls {
    pub key: PemSource,
    pub cert: PemSource,
    pub allow_termination_from: Vec<String>,
    /// Only under `serve.admin.tls`: `false` serves the admin port over plain HTTP.
    pub enabled: Option<bool>,
}

impl Tls {
    /// Whether a certificate or TLS termination is configured here.
    pub fn is_configured(&self) -> bool {
        self.key.is_set() || self.cert.is_set() || !self.allow_termination_from.is_empty()
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct PemSource {
    pub path: Option<String>,
    pub base64: Option<String>,
}

impl PemSource {
    pub fn is_set(&self) -> bool {
        self.path.is_some() || self.base64.is_some()
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Cookies {
    pub same_site_mode: Option<SameSite>,
    pub same_site_legacy_workaround: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub enum SameSite {
    Strict,
    Lax,
    None,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Webfinger {
    pub jwks: WebfingerJwks,
    pub oidc_discovery: OidcDiscovery,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct WebfingerJwks {
    pub broadcast_keys: Vec<String>,
}

impl Default for WebfingerJwks {
    fn default() -> Self {
        WebfingerJwks {
            broadcast_keys: vec!["hydra.openid.id-token".into()],
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct OidcDiscovery {
    pub jwks_url: Option<String>,
    pub token_url: Option<String>,
    pub auth_url: Option<String>,
    pub client_registration_url: Option<String>,
    pub userinfo_url: Option<String>,
    pub supported_claims: Vec<String>,
    pub supported_scope: Vec<String>,
}

impl OidcDiscovery {
    /// The URL-valued keys with their names, for validation.
    pub(super) fn urls(&self) -> [(&'static str, &Option<String>); 5] {
        [
            ("webfinger.oidc_discovery.jwks_url", &self.jwks_url),
            ("webfinger.oidc_discovery.token_url", &self.token_url),
            ("webfinger.oidc_discovery.auth_url", &self.auth_url),
            (
                "webfinger.oidc_discovery.client_registration_url",
                &self.client_registration_url,
            ),
            ("webfinger.oidc_discovery.userinfo_url", &self.userinfo_url),
        ]
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Oidc {
    pub subject_identifiers: SubjectIdentifiers,
    pub dynamic_client_registration: DynamicClientRegistration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SubjectIdentifiers {
    pub supported_types: Vec<String>,
    pub pairwise: Pairwise,
}

impl Default for SubjectIdentifiers {
    fn default() -> Self {
        SubjectIdentifiers {
            supported_types: vec!["public".into()],
            pairwise: Pairwise::default(),
        }
    }
}

#[derive(Clone, Deserialize, Default)]
#[serde(default)]
pub struct Pairwise {
    pub salt: String,
}

impl std::fmt::Debug for Pairwise {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pairwise { salt: [redacted] }")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DynamicClientRegistration {
    pub default_scope: Vec<String>,
}

impl Default for DynamicClientRegistration {
    fn default() -> Self {
        DynamicClientRegistration {
            default_scope: vec!["offline_access".into(), "offline".into(), "openid".into()],
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
pub(super) struct RawUrls {
    #[serde(rename = "self", default)]
    pub self_: RawSelfUrls,
    pub login: Option<String>,
    pub consent: Option<String>,
    pub logout: Option<String>,
    pub error: Option<String>,
    pub post_logout_redirect: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub(super) struct RawSelfUrls {
    pub issuer: Option<String>,
    pub public: Option<String>,
}

/// `urls.*` with Hydra's fallbacks applied: every one is an absolute URL.
#[derive(Debug, Clone)]
pub struct Urls {
    /// `urls.self.issuer`, always ending in `/`.
    pub issuer: Url,
    /// `urls.self.public` (defaults to the issuer), always ending in `/`.
    pub public: Url,
    pub login: Url,
    pub consent: Url,
    pub logout: Url,
    pub error: Url,
    pub post_logout_redirect: Url,
    /// Whether `urls.login`, `urls.consent` or `urls.logout` was set (rather than falling back
    /// to the built-in pages): `serve all --dev` starts the example UI only when none was.
    pub ui_configured: bool,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Strategies {
    pub scope: ScopeStrategy,
    pub access_token: AccessTokenStrategy,
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
pub enum ScopeStrategy {
    #[serde(rename = "exact")]
    Exact,
    #[default]
    #[serde(rename = "wildcard")]
    Wildcard,
    #[serde(rename = "DEPRECATED_HIERARCHICAL_SCOPE_STRATEGY")]
    Hierarchical,
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AccessTokenStrategy {
    #[default]
    Opaque,
    Jwt,
}

fn go_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    duration::parse(&text).map_err(serde::de::Error::custom)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Ttl {
    #[serde(deserialize_with = "go_duration")]
    pub login_consent_request: Duration,
    #[serde(deserialize_with = "go_duration")]
    pub access_token: Duration,
    pub refresh_token: Lifespan,
    #[serde(deserialize_with = "go_duration")]
    pub id_token: Duration,
    #[serde(deserialize_with = "go_duration")]
    pub auth_code: Duration,
    /// Ours: authentication sessions expire server-side too (compatibility.md), 30 days.
    #[serde(deserialize_with = "go_duration")]
    pub authentication_session: Duration,
}

impl Default for Ttl {
    fn default() -> Self {
        const HOUR: u64 = 3600;
        Ttl {
            login_consent_request: Duration::from_secs(30 * 60),
            access_token: Duration::from_secs(HOUR),
            refresh_token: Lifespan::Finite(Duration::from_secs(720 * HOUR)),
            id_token: Duration::from_secs(HOUR),
            auth_code: Duration::from_secs(10 * 60),
            authentication_session: Duration::from_secs(720 * HOUR),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct OAuth2 {
    pub expose_internal_errors: bool,
    pub include_legacy_error_fields: bool,
    pub session: OAuth2Session,
    pub exclude_not_before_claim: bool,
    pub allowed_top_level_claims: Vec<String>,
    pub hashers: Hashers,
    pub pkce: Pkce,
    pub client_credentials: ClientCredentials,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct OAuth2Session {
    pub encrypt_at_rest: bool,
}

impl Default for OAuth2Session {
    fn default() -> Self {
        OAuth2Session {
            encrypt_at_rest: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Hashers {
    /// Ours: the algorithm of new client secret hashes.
    pub algorithm: HashAlgorithm,
    /// Ours: argon2id cost.
    pub argon2: Argon2,
    pub bcrypt: Bcrypt,
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgorithm {
    #[default]
    Argon2id,
    Bcrypt,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Argon2 {
    /// KiB.
    pub memory: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for Argon2 {
    fn default() -> Self {
        Argon2 {
            memory: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Bcrypt {
    pub cost: u32,
}

impl Default for Bcrypt {
    fn default() -> Self {
        Bcrypt { cost: 10 }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Pkce {
    pub enforced: bool,
    pub enforced_for_public_clients: bool,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct ClientCredentials {
    pub default_grant_allowed_scope: bool,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct RawSecrets {
    pub system: Vec<String>,
    pub cookie: Vec<String>,
}

/// A secret string: `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(pub(super) String);

impl SecretString {
    pub fn new(secret: String) -> SecretString {
        SecretString(secret)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// `secrets.*`: `system[0]` is active (≥ 16 characters), later entries only verify/decrypt.
#[derive(Debug, Clone)]
pub struct Secrets {
    pub system: Vec<SecretString>,
    pub cookie: Vec<SecretString>,
}

/// `flags` is part of `Config` so both routers see the same switches.
impl Config {
    /// Plain HTTP on both ports (`--dangerous-force-http` or `--dev`).
    pub fn force_http(&self) -> bool {
        self.flags.dangerous_force_http
    }

    /// Whether any TLS setting (certificate or termination) is present.
    pub fn tls_configured(&self) -> bool {
        self.serve.tls.is_configured()
            || self.serve.public.tls.is_configured()
            || self.serve.admin.tls.is_configured()
    }
}
