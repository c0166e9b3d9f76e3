//! Client metadata validation, in the order of Hydra's `client/validator.go` (hydra-reference
//! §3.1), with the hardening of security-cases.md group I: known enum values only, no
//! script-capable redirect schemes, bounded identifiers. Defaults are filled in on the way.

use super::OAuth2Client;
use crate::crypto::random;
use crate::error::Error;
use std::time::Duration;
use url::Url;

/// What validation needs from the configuration.
#[derive(Debug, Clone)]
pub struct Rules {
    /// `oidc.subject_identifiers.supported_types`.
    pub subject_types: Vec<String>,
    /// `oidc.dynamic_client_registration.default_scope`.
    pub default_scope: Vec<String>,
    /// `--dangerous-force-http`: lets a `sector_identifier_uri` on a loopback host be http.
    pub allow_http_loopback: bool,
}

pub const AUTH_METHODS: &[&str] = &[
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
];
pub const GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "implicit",
    "client_credentials",
    "refresh_token",
];
const RESPONSE_TYPE_PARTS: &[&str] = &["code", "token", "id_token"];
const SIGNING_ALGS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
];
const REQUEST_OBJECT_ALGS: &[&str] = &[
    "none", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
];
/// RFC 6749 §3.1.2 and security-cases 102: schemes that run code in the user agent.
const FORBIDDEN_SCHEMES: &[&str] = &["javascript", "data", "vbscript", "file"];
/// The `id` column holds 255 characters.
const MAX_ID_CHARS: usize = 255;
/// Bounds on a sector identifier document.
const SECTOR_FETCH_TIMEOUT: Duration = Duration::from_secs(5);
const SECTOR_MAX_BYTES: usize = 512 * 1024;

fn meta(hint: impl Into<String>) -> Error {
    Error::invalid_client_metadata().hint(hint)
}

fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<(), Error> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(meta(format!(
            "Field {field} must be one of {}, got \"{value}\".",
            allowed.join(", ")
        )))
    }
}

/// Validates `c` and fills in Hydra's defaults. `http` fetches `sector_identifier_uri`.
pub async fn validate(
    c: &mut OAuth2Client,
    rules: &Rules,
    http: &reqwest::Client,
) -> Result<(), Error> {
    check_id(c)?;
    check_auth_method(c)?;
    if c.jwks_has_keys() && !c.jwks_uri.is_empty() {
        return Err(meta(
            "Fields jwks and jwks_uri can not both be set, you must choose one.",
        ));
    }
    if let Some(secret) = &c.client_secret {
        if !secret.is_empty() && secret.chars().count() < 6 {
            return Err(meta(
                "Field client_secret must contain a secret that is at least 6 characters long.",
            ));
        }
    }
    if c.scope.trim().is_empty() {
        c.scope = rules.default_scope.join(" ");
    }
    check_cors_origins(c)?;
    check_grant_and_response_types(c)?;
    // Hydra does not support secret expiry: always 0.
    c.client_secret_expires_at = 0;
    if !c.sector_identifier_uri.is_empty() {
        check_sector_identifier(c, rules, http).await?;
    }
    if c.userinfo_signed_response_alg.is_empty() {
        c.userinfo_signed_response_alg = "none".into();
    }
    one_of(
        "userinfo_signed_response_alg",
        &c.userinfo_signed_response_alg,
        &["none", "RS256"],
    )?;
    if !c.request_object_signing_alg.is_empty() {
        one_of(
            "request_object_signing_alg",
            &c.request_object_signing_alg,
            REQUEST_OBJECT_ALGS,
        )?;
    }
    for uri in &c.redirect_uris {
        check_redirect_uri(uri)?;
    }
    check_subject_type(c, rules)?;
    check_post_logout_redirect_uris(c)?;
    for (field, value) in [
        ("frontchannel_logout_uri", &c.frontchannel_logout_uri),
        ("backchannel_logout_uri", &c.backchannel_logout_uri),
        ("jwks_uri", &c.jwks_uri),
    ] {
        if !value.is_empty() {
            absolute_web_url(value).map_err(|why| meta(format!("Field {field} {why}.")))?;
        }
    }
    if !c.metadata.is_object() {
        return Err(meta("Field metadata must be a JSON object."));
    }
    Ok(())
}

impl OAuth2Client {
    /// Whether `jwks` holds a key set with at least one key.
    pub fn jwks_has_keys(&self) -> bool {
        self.jwks
            .get("keys")
            .and_then(|k| k.as_array())
            .is_some_and(|k| !k.is_empty())
    }
}

fn check_id(c: &mut OAuth2Client) -> Result<(), Error> {
    if c.client_id.is_empty() {
        c.client_id = random::uuid();
    }
    if c.client_id.contains('\0') {
        return Err(meta("Field client_id must not contain NUL characters."));
    }
    if c.client_id.chars().count() > MAX_ID_CHARS {
        return Err(meta(format!(
            "Field client_id must be at most {MAX_ID_CHARS} characters long."
        )));
    }
    Ok(())
}

fn check_auth_method(c: &mut OAuth2Client) -> Result<(), Error> {
    if c.token_endpoint_auth_method.is_empty() {
        c.token_endpoint_auth_method = "client_secret_basic".into();
    }
    one_of(
        "token_endpoint_auth_method",
        &c.token_endpoint_auth_method,
        AUTH_METHODS,
    )?;
    if c.token_endpoint_auth_method == "private_key_jwt" {
        if c.jwks_uri.is_empty() && !c.jwks_has_keys() {
            return Err(meta("When token_endpoint_auth_method is 'private_key_jwt', either jwks or jwks_uri must be set."));
        }
        if !c.token_endpoint_auth_signing_alg.is_empty() {
            one_of(
                "token_endpoint_auth_signing_alg",
                &c.token_endpoint_auth_signing_alg,
                SIGNING_ALGS,
            )?;
        }
    } else if !c.token_endpoint_auth_signing_alg.is_empty() {
        one_of(
            "token_endpoint_auth_signing_alg",
            &c.token_endpoint_auth_signing_alg,
            SIGNING_ALGS,
        )?;
    }
    if !c.jwks.is_object() {
        return Err(meta("Field jwks must be a JSON Web Key Set object."));
    }
    Ok(())
}

fn check_grant_and_response_types(c: &OAuth2Client) -> Result<(), Error> {
    for g in &c.grant_types {
        one_of("grant_types", g, GRANT_TYPES)?;
    }
    for r in &c.response_types {
        let parts: Vec<&str> = r.split_whitespace().collect();
        if parts.is_empty() || parts.iter().any(|p| !RESPONSE_TYPE_PARTS.contains(p)) {
            return Err(meta(format!("Field response_types contains \"{r}\": each entry is a space-separated combination of code, token and id_token.")));
        }
    }
    Ok(())
}

/// Hydra: each origin is http(s), without user info, path (but `/`), query or fragment;
/// a trailing `/` is trimmed.
fn check_cors_origins(c: &mut OAuth2Client) -> Result<(), Error> {
    for origin in c.allowed_cors_origins.iter_mut() {
        let invalid = |why: &str| {
            meta(format!(
                "Origin \"{origin}\" in allowed_cors_origins {why}."
            ))
        };
        let url = Url::parse(origin).map_err(|_| invalid("is not a URL"))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(invalid("must use the http or https scheme"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("must not contain user info"));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("must not contain a path, query or fragment"));
        }
        if url.host_str().unwrap_or_default().is_empty() {
            return Err(invalid("must have a host"));
        }
        *origin = origin.trim_end_matches('/').to_string();
    }
    Ok(())
}

/// An absolute http(s) URL, or why not.
fn absolute_web_url(text: &str) -> Result<Url, &'static str> {
    let url = Url::parse(text).map_err(|_| "must be an absolute URL")?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err("must use the http or https scheme");
    }
    Ok(url)
}

/// RFC 6749 §3.1.2: "The redirection endpoint URI MUST be an absolute URI ... The endpoint URI
/// MUST NOT include a fragment component."
pub fn check_redirect_uri(uri: &str) -> Result<(), Error> {
    let bad =
        |why: &str| Error::invalid_redirect_uri().hint(format!("Redirect URI \"{uri}\" {why}."));
    let url = Url::parse(uri).map_err(|_| bad("must be an absolute URI"))?;
    if uri.contains('#') {
        return Err(bad("must not contain fragments (#)"));
    }
    if FORBIDDEN_SCHEMES.contains(&url.scheme()) {
        return Err(bad("uses a scheme that is not allowed"));
    }
    Ok(())
}

fn check_subject_type(c: &mut OAuth2Client, rules: &Rules) -> Result<(), Error> {
    if c.subject_type.is_empty() {
        c.subject_type = if rules.subject_types.iter().any(|t| t == "public") {
            "public".into()
        } else {
            rules
                .subject_types
                .first()
                .cloned()
                .unwrap_or_else(|| "public".into())
        };
    }
    if !rules.subject_types.contains(&c.subject_type) {
        return Err(meta(format!(
            "Subject type \"{}\" is not supported by this server; supported: {}.",
            c.subject_type,
            rules.subject_types.join(", ")
        )));
    }
    Ok(())
}

/// Hydra: every post-logout redirect URI shares scheme, host and port with a redirect URI.
fn check_post_logout_redirect_uris(c: &OAuth2Client) -> Result<(), Error> {
    for uri in &c.post_logout_redirect_uris {
        let bad = |why: &str| {
            meta(format!(
                "Field post_logout_redirect_uris contains \"{uri}\", which {why}."
            ))
        };
        let url = Url::parse(uri).map_err(|_| bad("is not an absolute URL"))?;
        if FORBIDDEN_SCHEMES.contains(&url.scheme()) || uri.contains('#') {
            return Err(bad("uses a forbidden scheme or a fragment"));
        }
        let matches = c
            .redirect_uris
            .iter()
            .filter_map(|r| Url::parse(r).ok())
            .any(|r| {
                r.scheme() == url.scheme()
                    && r.host_str() == url.host_str()
                    && r.port_or_known_default() == url.port_or_known_default()
            });
        if !matches {
            return Err(bad(
                "does not match the scheme, host and port of any redirect URI",
            ));
        }
    }
    Ok(())
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// OIDC Core §8.1: the document at `sector_identifier_uri` is a JSON array that contains every
/// redirect URI of the client. Fetched with a bounded time and size.
async fn check_sector_identifier(
    c: &OAuth2Client,
    rules: &Rules,
    http: &reqwest::Client,
) -> Result<(), Error> {
    let uri = &c.sector_identifier_uri;
    let url = Url::parse(uri)
        .map_err(|_| meta("Value sector_identifier_uri must be an absolute URL."))?;
    let insecure_ok = rules.allow_http_loopback && url.scheme() == "http" && is_loopback(&url);
    if url.scheme() != "https" && !insecure_ok {
        return Err(meta(
            "Value sector_identifier_uri must be an HTTPS URL but it is not.",
        ));
    }
    let fetch_failed = |why: String| {
        meta(format!(
            "Unable to fetch the sector_identifier_uri \"{uri}\": {why}"
        ))
    };
    let mut response = http
        .get(url)
        .timeout(SECTOR_FETCH_TIMEOUT)
        .send()
        .await
        .map_err(|e| fetch_failed(e.without_url().to_string()))?;
    if !response.status().is_success() {
        return Err(fetch_failed(format!(
            "status {}",
            response.status().as_u16()
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| fetch_failed(e.without_url().to_string()))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > SECTOR_MAX_BYTES {
            return Err(fetch_failed(format!(
                "the document is larger than {SECTOR_MAX_BYTES} bytes"
            )));
        }
    }
    let listed: Vec<String> = serde_json::from_slice(&body).map_err(|_| {
        meta("The sector_identifier_uri must return a JSON array of redirect URIs.")
    })?;
    if listed.is_empty() {
        return Err(meta("The sector_identifier_uri returned an empty array."));
    }
    if let Some(missing) = c.redirect_uris.iter().find(|r| !listed.contains(r)) {
        return Err(meta(format!("The redirect URI \"{missing}\" is not listed in the document at sector_identifier_uri.")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_follow_rfc_6749_and_the_hardening() {
        let cases = [
            ("https://app.example/cb", true),
            ("http://127.0.0.1:5555/cb", true),
            ("com.example.app:/oauth2redirect", true),
            ("https://app.example/cb#frag", false),
            ("/relative/cb", false),
            ("not a url", false),
            ("javascript:alert(1)", false),
            ("data:text/html,hi", false),
            ("vbscript:x", false),
            ("file:///etc/passwd", false),
        ];
        for (uri, ok) in cases {
            assert_eq!(check_redirect_uri(uri).is_ok(), ok, "{uri}");
        }
    }

    #[test]
    fn cors_origins_are_normalised_or_refused() {
        let mut c = OAuth2Client {
            allowed_cors_origins: vec!["https://a.example/".into(), "http://b.example:8080".into()],
            ..Default::default()
        };
        check_cors_origins(&mut c).unwrap();
        assert_eq!(
            c.allowed_cors_origins,
            vec!["https://a.example", "http://b.example:8080"]
        );
        for bad in [
            "https://a.example/path",
            "https://user:pw@a.example",
            "ftp://a.example",
            "https://a.example/?q=1",
            "nope",
        ] {
            let mut c = OAuth2Client {
                allowed_cors_origins: vec![bad.into()],
                ..Default::default()
            };
            assert!(check_cors_origins(&mut c).is_err(), "{bad}");
        }
    }

    #[test]
    fn response_types_are_combinations_of_known_parts() {
        let ok = OAuth2Client {
            response_types: vec![
                "code".into(),
                "code id_token".into(),
                "id_token token".into(),
            ],
            ..Default::default()
        };
        assert!(check_grant_and_response_types(&ok).is_ok());
        let bad = OAuth2Client {
            response_types: vec!["code banana".into()],
            ..Default::default()
        };
        assert!(check_grant_and_response_types(&bad).is_err());
        let bad = OAuth2Client {
            grant_types: vec!["password".into()],
            ..Default::default()
        };
        assert!(check_grant_and_response_types(&bad).is_err());
    }
}
