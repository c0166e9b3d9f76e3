//! Environment overrides, as Hydra's configx maps them: a key path upper-cased with `.`
//! replaced by `_` (`urls.self.issuer` → `URLS_SELF_ISSUER`). Names are resolved against the
//! schema's list of keys, never by splitting on `_`, because keys contain `_` themselves
//! (`ttl.login_consent_request`). Variables that match no key are ignored. The only place
//! besides `config::load` that reads the process environment.

use super::schema::{self, Kind};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The env var name of a key path.
pub fn env_name(path: &str) -> String {
    path.replace(['.', '-'], "_").to_uppercase()
}

/// A snapshot of the process environment.
pub fn from_process() -> HashMap<String, String> {
    std::env::vars().collect()
}

/// Writes every matching variable of `env` into `tree` at its key path, cast to the key's type.
pub fn overlay(tree: &mut Value, env: &HashMap<String, String>) -> Result<(), String> {
    for leaf in schema::leaves() {
        let name = env_name(&leaf.path);
        let Some(raw) = env.get(&name) else { continue };
        let value = cast(raw, leaf.kind).map_err(|want| {
            format!("environment variable {name} (configuration key \"{}\") must be {want}, got {raw:?}", leaf.path)
        })?;
        set_path(tree, &leaf.path, value);
    }
    Ok(())
}

/// Casts an env string by the schema type: lists take a JSON array or comma-separated values.
fn cast(raw: &str, kind: Kind) -> Result<Value, &'static str> {
    let trimmed = raw.trim();
    match kind {
        Kind::String => Ok(Value::String(raw.to_string())),
        Kind::Integer => trimmed
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| "an integer"),
        Kind::Number => trimmed
            .parse::<f64>()
            .map(Value::from)
            .map_err(|_| "a number"),
        Kind::Boolean => match trimmed.to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(Value::Bool(true)),
            "false" | "0" => Ok(Value::Bool(false)),
            _ => Err("a boolean (true or false)"),
        },
        Kind::Array if trimmed.starts_with('[') => match serde_json::from_str::<Value>(trimmed) {
            Ok(v @ Value::Array(_)) => Ok(v),
            _ => Err("a JSON array or a comma-separated list"),
        },
        Kind::Array if trimmed.is_empty() => Ok(Value::Array(Vec::new())),
        Kind::Array => Ok(Value::Array(
            trimmed
                .split(',')
                .map(|s| Value::String(s.trim().to_string()))
                .collect(),
        )),
        Kind::StringOrNumber => Ok(trimmed
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(raw.to_string()))),
    }
}

/// Sets `path` (dotted) in `tree`, creating objects on the way.
pub fn set_path(tree: &mut Value, path: &str, value: Value) {
    let mut node = tree;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        if !node.is_object() {
            *node = Value::Object(Map::new());
        }
        let Value::Object(map) = node else { return };
        if parts.peek().is_none() {
            map.insert(part.to_string(), value);
            return;
        }
        node = map
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn names_follow_hydra_mapping() {
        assert_eq!(env_name("urls.self.issuer"), "URLS_SELF_ISSUER");
        assert_eq!(
            env_name("ttl.login_consent_request"),
            "TTL_LOGIN_CONSENT_REQUEST"
        );
        assert_eq!(
            env_name("serve.public.cors.allowed_origins"),
            "SERVE_PUBLIC_CORS_ALLOWED_ORIGINS"
        );
    }

    #[test]
    fn overlay_casts_by_schema_type() {
        let mut tree = json!({"serve": {"public": {"host": "x"}}});
        let vars = env(&[
            ("URLS_SELF_ISSUER", "https://auth.example.com/"),
            ("SERVE_PUBLIC_PORT", "8080"),
            ("SECRETS_SYSTEM", "aaaaaaaaaaaaaaaa,bbbbbbbbbbbbbbbb"),
            (
                "SERVE_ADMIN_CORS_ALLOWED_ORIGINS",
                "[\"https://a.example\"]",
            ),
            ("SERVE_ADMIN_CORS_ENABLED", "TRUE"),
            ("TTL_REFRESH_TOKEN", "-1"),
            ("TTL_ACCESS_TOKEN", "5m"),
            ("DSN", "memory"),
            ("UNRELATED_VARIABLE", "ignored"),
        ]);
        overlay(&mut tree, &vars).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            tree,
            json!({
                "dsn": "memory",
                "serve": {"public": {"host": "x", "port": 8080},
                          "admin": {"cors": {"enabled": true, "allowed_origins": ["https://a.example"]}}},
                "urls": {"self": {"issuer": "https://auth.example.com/"}},
                "secrets": {"system": ["aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"]},
                "ttl": {"refresh_token": -1, "access_token": "5m"}
            })
        );
    }

    #[test]
    fn overlay_names_the_variable_on_a_bad_value() {
        let mut tree = json!({});
        let err = overlay(&mut tree, &env(&[("SERVE_ADMIN_PORT", "http")]))
            .err()
            .unwrap_or_default();
        assert!(
            err.contains("SERVE_ADMIN_PORT") && err.contains("serve.admin.port"),
            "{err}"
        );
    }
}
