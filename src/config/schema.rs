//! The configuration schema (`config/schema.json`: Hydra 1.10.3's, closed against unknown
//! keys, plus our few additions) read as a tree of known keys. It answers two questions:
//! which keys exist (so unknown ones are refused and env names resolve, as Hydra's configx
//! does) and what JSON type each leaf has (so env strings are cast).

use serde_json::{Map, Value};
use std::sync::OnceLock;

const SCHEMA: &str = include_str!("../../config/schema.json");

/// The JSON type a leaf key takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Integer,
    Number,
    Boolean,
    Array,
    /// A `oneOf` of a string and a number (`ttl.refresh_token`: a duration or `-1`).
    StringOrNumber,
}

/// A leaf key: its dotted path and JSON type.
#[derive(Debug, Clone)]
pub struct Leaf {
    pub path: String,
    pub kind: Kind,
}

fn schema() -> &'static Value {
    static PARSED: OnceLock<Value> = OnceLock::new();
    // The schema is compiled in; a parse failure is caught by the unit tests below.
    PARSED.get_or_init(|| serde_json::from_str(SCHEMA).unwrap_or(Value::Null))
}

/// The schema node for `node` with `$ref` and `allOf` folded into one object.
fn resolve(node: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(obj) = node.as_object() else {
        return out;
    };
    if let Some(Value::String(r)) = obj.get("$ref") {
        let name = r.trim_start_matches("#/definitions/");
        if let Some(def) = schema().get("definitions").and_then(|d| d.get(name)) {
            merge_into(&mut out, resolve(def));
        }
    }
    if let Some(Value::Array(parts)) = obj.get("allOf") {
        for part in parts {
            merge_into(&mut out, resolve(part));
        }
    }
    for (k, v) in obj {
        if k == "$ref" || k == "allOf" {
            continue;
        }
        if k == "properties" {
            let props = out
                .entry("properties")
                .or_insert_with(|| Value::Object(Map::new()));
            if let (Value::Object(dst), Value::Object(src)) = (props, v) {
                for (pk, pv) in src {
                    dst.insert(pk.clone(), pv.clone());
                }
            }
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

fn merge_into(dst: &mut Map<String, Value>, src: Map<String, Value>) {
    for (k, v) in src {
        match (dst.get_mut(&k), v) {
            (Some(Value::Object(d)), Value::Object(s)) if k == "properties" => d.extend(s),
            (_, v) => {
                dst.insert(k, v);
            }
        }
    }
}

fn is_object(node: &Map<String, Value>) -> bool {
    node.contains_key("properties") || node.get("type").and_then(Value::as_str) == Some("object")
}

fn kind_of(node: &Map<String, Value>) -> Kind {
    match node.get("type").and_then(Value::as_str) {
        Some("integer") => Kind::Integer,
        Some("number") => Kind::Number,
        Some("boolean") => Kind::Boolean,
        Some("array") => Kind::Array,
        Some(_) => Kind::String,
        None if node.contains_key("oneOf") => Kind::StringOrNumber,
        None => Kind::String,
    }
}

/// Every leaf key of the schema, in schema order.
pub fn leaves() -> Vec<Leaf> {
    fn walk(node: &Map<String, Value>, prefix: &str, out: &mut Vec<Leaf>) {
        if !is_object(node) {
            out.push(Leaf {
                path: prefix.to_string(),
                kind: kind_of(node),
            });
            return;
        }
        if let Some(Value::Object(props)) = node.get("properties") {
            for (k, v) in props {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                walk(&resolve(v), &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&resolve(schema()), "", &mut out);
    out
}

/// Checks that every key of `value` is known and every leaf has its schema's JSON type.
/// The error names the key: `unknown configuration key "serve.prot"`.
pub fn check(value: &Value) -> Result<(), String> {
    fn walk(node: &Map<String, Value>, value: &Value, path: &str) -> Result<(), String> {
        if is_object(node) {
            let Value::Object(fields) = value else {
                return Err(format!("configuration key \"{path}\" must be an object"));
            };
            let open = node.get("additionalProperties") == Some(&Value::Bool(true));
            let props = node.get("properties").and_then(Value::as_object);
            for (k, v) in fields {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match props.and_then(|p| p.get(k)) {
                    Some(schema) => walk(&resolve(schema), v, &child)?,
                    None if open => {}
                    None => return Err(format!("unknown configuration key \"{child}\"")),
                }
            }
            return Ok(());
        }
        let ok = match kind_of(node) {
            Kind::String => value.is_string(),
            Kind::Integer => value.is_i64() || value.is_u64(),
            Kind::Number => value.is_number(),
            Kind::Boolean => value.is_boolean(),
            Kind::Array => value.is_array(),
            Kind::StringOrNumber => value.is_string() || value.is_number(),
        };
        if ok || value.is_null() {
            Ok(())
        } else {
            let want = match kind_of(node) {
                Kind::String => "a string",
                Kind::Integer => "an integer",
                Kind::Number | Kind::StringOrNumber => "a number",
                Kind::Boolean => "a boolean",
                Kind::Array => "a list",
            };
            Err(format!(
                "configuration key \"{path}\" must be {want}, got {value}"
            ))
        }
    }
    walk(&resolve(schema()), value, "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schema_parses_and_lists_hydra_keys() {
        assert!(
            schema().is_object(),
            "config/schema.json must be valid JSON"
        );
        let paths: Vec<String> = leaves().into_iter().map(|l| l.path).collect();
        for key in [
            "dsn",
            "urls.self.issuer",
            "serve.public.port",
            "serve.admin.cors.allowed_origins",
            "serve.admin.tls.enabled",
            "serve.tls.key.path",
            "secrets.system",
            "ttl.login_consent_request",
            "ttl.refresh_token",
        ] {
            assert!(paths.iter().any(|p| p == key), "missing {key}");
        }
    }

    #[test]
    fn check_names_unknown_and_mistyped_keys() {
        let cases = [
            (
                json!({"serve": {"public": {"prot": 1}}}),
                Some("unknown configuration key \"serve.public.prot\""),
            ),
            (
                json!({"nope": true}),
                Some("unknown configuration key \"nope\""),
            ),
            (
                json!({"serve": {"public": {"port": "x"}}}),
                Some("\"serve.public.port\" must be an integer"),
            ),
            (
                json!({"secrets": {"system": "abc"}}),
                Some("\"secrets.system\" must be a list"),
            ),
            (json!({"ttl": {"refresh_token": -1}}), None),
            (
                json!({"serve": {"admin": {"tls": {"enabled": false}}}}),
                None,
            ),
            (json!({"sqa": {"anything": 1}}), None),
        ];
        for (input, expected) in cases {
            let got = check(&input);
            match expected {
                None => assert!(got.is_ok(), "{input}: {got:?}"),
                Some(msg) => {
                    let err = got.err().unwrap_or_default();
                    assert!(err.contains(msg), "{input}: {err}");
                }
            }
        }
    }
}
