//! Cookies of the browser-facing flows: reading the request's `Cookie` headers into a jar,
//! and writing a [`SetCookie`] as a `Set-Cookie` value with Hydra's attributes
//! (hydra-reference §4.1, §4.8).

use crate::config::{Config, SameSite};
use crate::consent::cookie::SetCookie;
use axum::http::{header, HeaderMap};
use std::collections::HashMap;

/// The request's cookies, name → value (the first of duplicates wins).
pub(crate) fn jar(headers: &HeaderMap) -> HashMap<String, String> {
    let mut jar = HashMap::new();
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for part in text.split(';') {
            if let Some((name, value)) = part.trim().split_once('=') {
                jar.entry(name.to_string())
                    .or_insert_with(|| value.trim_matches('"').to_string());
            }
        }
    }
    jar
}

/// `Set-Cookie` for one flow cookie: `HttpOnly`, `Path=/`, `Secure` unless plain HTTP is
/// forced, SameSite per `serve.cookies.same_site_mode` (`None` becomes `Lax` over plain HTTP,
/// hydra-reference §4.8).
pub(crate) fn set_cookie(c: &SetCookie, config: &Config) -> String {
    let insecure = config.force_http();
    let same_site = match config.serve.cookies.same_site_mode {
        Some(SameSite::Strict) => "Strict",
        Some(SameSite::None) | None if !insecure => "None",
        _ => "Lax",
    };
    let mut out = format!(
        "{}={}; Path=/; HttpOnly; SameSite={same_site}",
        c.name, c.value
    );
    if !insecure {
        out.push_str("; Secure");
    }
    match c.max_age {
        Some(0) => out.push_str("; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"),
        Some(n) => out.push_str(&format!("; Max-Age={n}")),
        None => {}
    }
    out
}
