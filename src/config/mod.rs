//! Configuration: a typed tree whose field names are Hydra 1.10.3's keys, loaded once as
//! defaults < `-c` files (in order, later wins) < environment variables, validated and
//! derived at load so the rest of the code reads plain fields and never fails on config.
//! May import: `error` (nothing else); the only module that reads the process environment.

mod dsn;
pub mod duration;
pub mod env;
mod model;
pub mod schema;

pub use dsn::{Backend, Dsn, PoolOptions};
pub use model::*;

use rand::distr::{Alphanumeric, SampleString};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use url::Url;

/// A configuration that cannot be used; the message is one line naming the key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// The `serve` flags that Hydra merges into the configuration.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub dangerous_force_http: bool,
    pub dangerous_allow_insecure_redirect_urls: Vec<String>,
    /// Development mode (Hydra 2's `--dev`): plain HTTP, `dsn` defaults to `memory`.
    pub dev: bool,
}

/// Loads the configuration from `files` and the process environment.
pub fn load(files: &[PathBuf], flags: Flags) -> Result<Config, ConfigError> {
    load_from(files, &env::from_process(), flags)
}

/// Loads the configuration from `files` and the given environment.
pub fn load_from(
    files: &[PathBuf],
    env: &HashMap<String, String>,
    flags: Flags,
) -> Result<Config, ConfigError> {
    let mut tree = merged_tree(files, env)?;
    // The two listeners share one type, so their different default ports are filled in here
    // (otherwise setting any other `serve.public.*` key would lose the 4444 default).
    for (path, port) in [("serve.public.port", 4444), ("serve.admin.port", 4445)] {
        if get_path(&tree, path).is_none() {
            env::set_path(&mut tree, path, Value::from(port));
        }
    }
    let raw: RawConfig = serde_path_to_error::deserialize(tree).map_err(|e| {
        let path = e.path().to_string();
        ConfigError(format!("configuration key \"{path}\": {}", e.into_inner()))
    })?;
    finish(raw, flags)
}

/// Only the DSN, for `migrate sql -e`: files and environment, nothing else validated.
pub fn load_dsn(files: &[PathBuf]) -> Result<Dsn, ConfigError> {
    let tree = merged_tree(files, &env::from_process())?;
    match tree.get("dsn").and_then(Value::as_str) {
        Some(d) if !d.trim().is_empty() => Dsn::parse(d).map_err(|e| err("dsn", e)),
        _ => Err(err(
            "dsn",
            "is required: set DSN or pass the DSN as an argument",
        )),
    }
}

/// Files merged in order, then the environment on top; keys and types checked.
fn merged_tree(files: &[PathBuf], env: &HashMap<String, String>) -> Result<Value, ConfigError> {
    let mut tree = Value::Object(Map::new());
    for file in files {
        merge(&mut tree, read_file(file)?);
    }
    env::overlay(&mut tree, env).map_err(ConfigError)?;
    schema::check(&tree).map_err(ConfigError)?;
    strip_nulls(&mut tree);
    Ok(tree)
}

/// Reads one config file: `.json`, `.toml`, else YAML.
fn read_file(path: &Path) -> Result<Value, ConfigError> {
    let name = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read config file {name}: {e}")))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let parsed = match ext.as_str() {
        "json" => serde_json::from_str(&text).map_err(|e| e.to_string()),
        "toml" => toml::from_str(&text).map_err(|e| e.to_string()),
        _ => serde_norway::from_str(&text).map_err(|e| e.to_string()),
    };
    match parsed.map_err(|e| ConfigError(format!("cannot parse config file {name}: {e}")))? {
        Value::Null => Ok(Value::Object(Map::new())),
        v @ Value::Object(_) => Ok(v),
        _ => Err(ConfigError(format!(
            "config file {name} must contain a mapping of keys"
        ))),
    }
}

/// The value at a dotted `path`, if any.
fn get_path<'a>(tree: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(tree, |node, part| node.get(part))
}

/// Deep-merges `over` into `base`: objects merge key by key, anything else replaces.
fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

/// `key:` with no value in YAML means "not set": the default applies.
fn strip_nulls(v: &mut Value) {
    if let Value::Object(map) = v {
        map.retain(|_, child| !child.is_null());
        map.values_mut().for_each(strip_nulls);
    }
}

fn err(key: &str, msg: impl std::fmt::Display) -> ConfigError {
    ConfigError(format!("configuration key \"{key}\": {msg}"))
}

/// Validates and derives: DSN, secrets, URLs, cross-key rules (hydra-reference §6.3).
fn finish(raw: RawConfig, mut flags: Flags) -> Result<Config, ConfigError> {
    let mut warnings = Vec::new();
    if flags.dev {
        flags.dangerous_force_http = true;
        warnings.push("running with --dev: plain HTTP, in-memory store unless DSN is set, generated secrets. For development only; never use --dev in production".to_string());
    }
    let dsn_text = match raw.dsn {
        Some(d) if !d.trim().is_empty() => d,
        _ if flags.dev => "memory".to_string(),
        _ => return Err(err("dsn", "is required: set DSN (memory, sqlite:///path/db.sqlite or postgres://user@host:5432/db)")),
    };
    let dsn = Dsn::parse(&dsn_text).map_err(|e| err("dsn", e))?;

    let mut system = raw.secrets.system;
    if system.is_empty() {
        system.push(Alphanumeric.sample_string(&mut rand::rng(), 32));
        warnings.push(if dsn.backend == Backend::Memory {
            "secrets.system is not set: generated a random one for this process".to_string()
        } else {
            "secrets.system is not set: generated a random one for this process; keys and tokens written now will be unreadable after a restart. Set SECRETS_SYSTEM".to_string()
        });
    }
    if system[0].chars().count() < 16 {
        return Err(err(
            "secrets.system",
            "the first secret must be at least 16 characters long",
        ));
    }
    let secrets = Secrets {
        system: system.into_iter().map(SecretString).collect(),
        cookie: raw.secrets.cookie.into_iter().map(SecretString).collect(),
    };

    if !flags.dangerous_force_http && !flags.dangerous_allow_insecure_redirect_urls.is_empty() {
        return Err(ConfigError(
            "--dangerous-allow-insecure-redirect-urls requires --dangerous-force-http (or --dev)"
                .into(),
        ));
    }
    if raw.serve.public.port == 0 {
        return Err(err("serve.public.port", "must be between 1 and 65535"));
    }
    if raw.serve.admin.port == 0 {
        return Err(err("serve.admin.port", "must be between 1 and 65535"));
    }
    let urls = derive_urls(&raw.urls, raw.serve.public.port, flags.dangerous_force_http)?;

    let mut oidc = raw.oidc;
    // Hydra drops unknown subject types rather than failing.
    oidc.subject_identifiers
        .supported_types
        .retain(|t| t == "public" || t == "pairwise");
    if oidc
        .subject_identifiers
        .supported_types
        .iter()
        .any(|t| t == "pairwise")
        && oidc.subject_identifiers.pairwise.salt.chars().count() < 8
    {
        return Err(err(
            "oidc.subject_identifiers.pairwise.salt",
            "must be at least 8 characters when pairwise subject identifiers are enabled",
        ));
    }
    if !(2048..=8192).contains(&raw.jwk.rsa_bits) {
        return Err(err("jwk.rsa_bits", "must be between 2048 and 8192"));
    }
    let argon2 = &raw.oauth2.hashers.argon2;
    if argon2.iterations < 1 {
        return Err(err(
            "oauth2.hashers.argon2.iterations",
            "must be at least 1",
        ));
    }
    if !(1..=16).contains(&argon2.parallelism) {
        return Err(err(
            "oauth2.hashers.argon2.parallelism",
            "must be between 1 and 16",
        ));
    }
    if argon2.memory < 8 * argon2.parallelism {
        return Err(err(
            "oauth2.hashers.argon2.memory",
            "must be at least 8 KiB per lane (parallelism)",
        ));
    }
    if !(4..=31).contains(&raw.oauth2.hashers.bcrypt.cost) {
        return Err(err(
            "oauth2.hashers.bcrypt.cost",
            "must be between 4 and 31",
        ));
    }
    for (key, value) in raw.webfinger.oidc_discovery.urls() {
        if let Some(v) = value {
            Url::parse(v).map_err(|e| err(key, format!("{e}: {v:?}")))?;
        }
    }

    Ok(Config {
        log: raw.log,
        serve: raw.serve,
        dsn,
        webfinger: raw.webfinger,
        oidc,
        urls,
        strategies: raw.strategies,
        ttl: raw.ttl,
        oauth2: raw.oauth2,
        secrets,
        jwk: raw.jwk,
        flags,
        warnings,
    })
}

/// Hydra appends a trailing `/` to the issuer's and the public URL's path.
fn with_trailing_slash(mut u: Url) -> Url {
    if !u.path().ends_with('/') {
        let path = format!("{}/", u.path());
        u.set_path(&path);
    }
    u
}

fn parse_url(key: &str, text: &str) -> Result<Url, ConfigError> {
    Url::parse(text).map_err(|e| err(key, format!("must be an absolute URL ({e}): {text:?}")))
}

fn derive_urls(raw: &RawUrls, public_port: u16, force_http: bool) -> Result<Urls, ConfigError> {
    let scheme = if force_http { "http" } else { "https" };
    let issuer = match &raw.self_.issuer {
        Some(text) => with_trailing_slash(parse_url("urls.self.issuer", text)?),
        None => parse_url(
            "urls.self.issuer",
            &format!("{scheme}://localhost:{public_port}/"),
        )?,
    };
    if !force_http && issuer.scheme() != "https" {
        return Err(err(
            "urls.self.issuer",
            "must use https:// unless --dangerous-force-http is set",
        ));
    }
    let public = match &raw.self_.public {
        Some(text) => with_trailing_slash(parse_url("urls.self.public", text)?),
        None => issuer.clone(),
    };
    let fallback = |key: &str, value: &Option<String>, path: &str| -> Result<Url, ConfigError> {
        match value {
            Some(text) => parse_url(key, text),
            None => public.join(path).map_err(|e| err(key, e)),
        }
    };
    Ok(Urls {
        login: fallback("urls.login", &raw.login, "oauth2/fallbacks/login")?,
        consent: fallback("urls.consent", &raw.consent, "oauth2/fallbacks/consent")?,
        logout: fallback("urls.logout", &raw.logout, "oauth2/fallbacks/logout")?,
        error: fallback("urls.error", &raw.error, "oauth2/fallbacks/error")?,
        post_logout_redirect: fallback(
            "urls.post_logout_redirect",
            &raw.post_logout_redirect,
            "oauth2/fallbacks/logout/callback",
        )?,
        ui_configured: raw.login.is_some() || raw.consent.is_some() || raw.logout.is_some(),
        issuer,
        public,
    })
}

impl Config {
    /// A valid configuration for tests: memory store, plain HTTP, `issuer` as given.
    pub fn for_tests(issuer: &str) -> Config {
        let env = HashMap::from([
            ("DSN".to_string(), "memory".to_string()),
            ("URLS_SELF_ISSUER".to_string(), issuer.to_string()),
            (
                "SECRETS_SYSTEM".to_string(),
                "this-is-the-test-secret-0123456789".to_string(),
            ),
        ]);
        let flags = Flags {
            dangerous_force_http: true,
            ..Flags::default()
        };
        match load_from(&[], &env, flags) {
            Ok(c) => c,
            Err(e) => unreachable!("test configuration is valid: {e}"),
        }
    }
}

#[cfg(test)]
mod tests;
