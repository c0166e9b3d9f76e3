//! CORS from `serve.{public,admin}.cors.*` with rs/cors semantics (hydra-reference §9.3):
//! origins may be globs (`https://*.example.com`), `*` allows any origin.

use crate::config::Cors;
use axum::http::{HeaderName, HeaderValue, Method};
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Case-insensitive match of `origin` against `pattern`, where `*` matches any run of
/// characters (rs/cors' wildcard origins).
pub fn origin_matches(pattern: &str, origin: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    let origin = origin.to_ascii_lowercase();
    match pattern.split_once('*') {
        None => pattern == origin,
        Some((prefix, suffix)) => {
            origin.len() >= prefix.len() + suffix.len()
                && origin.starts_with(prefix)
                && origin.ends_with(suffix)
        }
    }
}

/// A CORS layer for one listener's settings.
pub fn layer(cfg: &Cors) -> CorsLayer {
    let any = cfg.allowed_origins.is_empty() || cfg.allowed_origins.iter().any(|o| o == "*");
    let origins = cfg.allowed_origins.clone();
    let allow_origin = if any && !cfg.allow_credentials {
        AllowOrigin::any()
    } else if any {
        // With credentials the origin must be echoed, never `*` (Fetch standard).
        AllowOrigin::mirror_request()
    } else {
        AllowOrigin::predicate(move |origin: &HeaderValue, _| {
            origin
                .to_str()
                .is_ok_and(|o| origins.iter().any(|p| origin_matches(p, o)))
        })
    };
    let methods: Vec<Method> = cfg
        .allowed_methods
        .iter()
        .filter_map(|m| m.parse().ok())
        .collect();
    let headers: Vec<HeaderName> = cfg
        .allowed_headers
        .iter()
        .filter_map(|h| h.parse().ok())
        .collect();
    let exposed: Vec<HeaderName> = cfg
        .exposed_headers
        .iter()
        .filter_map(|h| h.parse().ok())
        .collect();
    let mut layer = CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods(methods)
        .allow_headers(headers)
        .expose_headers(exposed)
        .allow_credentials(cfg.allow_credentials);
    if cfg.max_age > 0 {
        layer = layer.max_age(Duration::from_secs(cfg.max_age));
    }
    layer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_origins_match_like_rs_cors() {
        let cases = [
            ("https://*.example.com", "https://app.example.com", true),
            ("https://*.example.com", "https://APP.Example.com", true),
            ("https://*.example.com", "https://example.com", false),
            ("https://*.example.com", "http://app.example.com", false),
            ("https://app.example.com", "https://app.example.com", true),
            (
                "https://app.example.com",
                "https://app.example.com.evil",
                false,
            ),
            ("https://*", "https://anything", true),
        ];
        for (pattern, origin, want) in cases {
            assert_eq!(
                origin_matches(pattern, origin),
                want,
                "{pattern} vs {origin}"
            );
        }
    }
}
