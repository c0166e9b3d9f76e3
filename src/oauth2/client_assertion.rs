//! Client authentication with a signed JWT, `private_key_jwt` (RFC 7523 §2.2 and §3, OIDC Core
//! §9, hydra-reference §5.8): which client the assertion is for, its keys (the registered `jwks`,
//! or `jwks_uri` fetched with bounds and cached briefly), the signature (`jwk::jws::verify`),
//! the claims, and the `jti` spent exactly once through [`JtiStore`] (table
//! `hydra_oauth2_jti_blacklist`, implemented in `store/jti.rs`).
//! May import: `client`, `jwk`, `error`.

use super::client_auth::method_mismatch;
use crate::client::{Client, ClientStore};
use crate::error::{Error, StoreError};
use crate::jwk::jws;
use crate::jwk::key::{self, JsonWebKey, JsonWebKeySet};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt::Write;
use std::future::Future;
use std::sync::Mutex;

/// RFC 7523 §2.2: the `client_assertion_type` of a JWT client assertion.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How far ahead `exp` may lie. RFC 7523 sets no bound and Hydra none; we bound it so a
/// captured assertion is short-lived and the spent-jti table stays small.
const MAX_LIFETIME_SECS: i64 = 3600;
/// Tolerated clock skew for `iat` and `nbf`. None for `exp`, as fosite: an assertion that
/// has expired by our clock is refused.
const SKEW_SECS: i64 = 60;
/// A fetched `jwks_uri` document is used this long before it is fetched again.
const JWKS_TTL_SECS: i64 = 300;
/// An unknown `kid` refetches the document, but not more often than this: a stream of
/// assertions with made-up kids must not turn us into a request generator.
const JWKS_REFETCH_AFTER_SECS: i64 = 10;
const JWKS_FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
const JWKS_MAX_BYTES: usize = 256 * 1024;
/// Cached key sets kept before the cache is cleared (bounds memory under many clients).
const JWKS_CACHE_LIMIT: usize = 1_000;

/// The storage contract for spent assertion ids (hydra-reference §8.6).
pub trait JtiStore {
    /// Records `signature` (the hex SHA-256 of a `jti`) as spent until `expires_at`, atomically:
    /// `Conflict` when it is spent already, which is a replay. Rows that expired before `now`
    /// are deleted first, so the table stays bounded and a jti is free again once every
    /// assertion carrying it has expired.
    fn spend_jti(
        &self,
        signature: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Key sets fetched from clients' `jwks_uri`, per client, for [`JWKS_TTL_SECS`].
#[derive(Default)]
pub struct JwksCache {
    entries: Mutex<HashMap<String, CachedKeys>>,
}

struct CachedKeys {
    uri: String,
    fetched_at: DateTime<Utc>,
    keys: Vec<JsonWebKey>,
}

impl JwksCache {
    /// The fresh keys of `client_id` fetched from `uri`, and when they were fetched.
    fn get(
        &self,
        client_id: &str,
        uri: &str,
        now: DateTime<Utc>,
    ) -> Option<(Vec<JsonWebKey>, DateTime<Utc>)> {
        let entries = self.entries.lock().ok()?;
        let cached = entries.get(client_id)?;
        let age = (now - cached.fetched_at).num_seconds();
        (cached.uri == uri && (0..JWKS_TTL_SECS).contains(&age))
            .then(|| (cached.keys.clone(), cached.fetched_at))
    }

    fn put(&self, client_id: &str, uri: &str, keys: &[JsonWebKey], now: DateTime<Utc>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= JWKS_CACHE_LIMIT {
                entries.clear();
            }
            let cached = CachedKeys {
                uri: uri.to_string(),
                fetched_at: now,
                keys: keys.to_vec(),
            };
            entries.insert(client_id.to_string(), cached);
        }
    }
}

/// What checking an assertion needs besides the store.
pub struct AssertionCheck<'a> {
    pub http: &'a reqwest::Client,
    pub cache: &'a JwksCache,
    /// The `aud` values accepted here; the first is named in errors.
    pub audiences: Vec<String>,
    pub now: DateTime<Utc>,
}

fn refused(hint: impl Into<String>) -> Error {
    Error::invalid_client().hint(hint)
}

/// Authenticates the client of `assertion`. `form_id` is the request's `client_id`; without
/// it the client is found by the assertion's `sub`, read unverified for that purpose only:
/// everything is verified before the client counts as authenticated.
pub async fn authenticate<S: ClientStore + JtiStore + Sync>(
    store: &S,
    check: &AssertionCheck<'_>,
    form_id: Option<&str>,
    assertion: &str,
) -> Result<Client, Error> {
    let (header, payload) = peek(assertion)?;
    let client_id = match (form_id, payload.get("sub")) {
        (Some(id), _) => id.to_string(),
        (None, Some(Value::String(sub))) => sub.clone(),
        (None, _) => {
            return Err(refused(
                "The claim 'sub' from the client_assertion JSON Web Token is undefined.",
            ))
        }
    };
    let client = match store.get_client(&client_id).await {
        Ok(c) => c,
        Err(StoreError::NotFound) => {
            return Err(refused("The requested OAuth 2.0 Client does not exist."))
        }
        Err(e) => return Err(e.into()),
    };
    if client.data.token_endpoint_auth_method != "private_key_jwt" {
        return Err(method_mismatch(&client, "private_key_jwt"));
    }
    check_alg(&client, &header)?;
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.as_str()),
        Some(_) => {
            return Err(refused(
                "The client_assertion header 'kid' is not a string.",
            ))
        }
    };
    let keys = client_keys(check, &client, kid).await?;
    if let Some(kid) = kid.filter(|kid| !has_kid(&keys, kid)) {
        // Hydra (fosite `findPublicKey`) answers an unknown kid with invalid_request.
        return Err(Error::invalid_request().hint(format!(
            "Unable to find a key with kid '{kid}' and use 'sig' in the JSON Web Key Set of the OAuth 2.0 Client."
        )));
    }
    let claims = jws::verify(assertion, &keys).map_err(|e| {
        refused(format!(
            "Unable to verify the integrity of the 'client_assertion' value: {}",
            e.hint.as_deref().unwrap_or("the signature is invalid.")
        ))
    })?;
    let Value::Object(claims) = claims else {
        return Err(refused(
            "The client_assertion claims are not a JSON object.",
        ));
    };
    let (jti, exp) = check_claims(&claims, &client_id, &check.audiences, check.now)?;
    match store.spend_jti(&sha256_hex(jti), exp, check.now).await {
        Ok(()) => Ok(client),
        // RFC 7523 §3 item 7 / OIDC Core §9: a jti is accepted once.
        Err(StoreError::Conflict) => {
            Err(Error::jti_known()
                .hint("Claim 'jti' from 'client_assertion' MUST only be used once."))
        }
        Err(e) => Err(e.into()),
    }
}

/// A decoded JWT segment.
type Object = Map<String, Value>;

/// The header and payload of a compact JWS, not verified: only to find the client and the key.
fn peek(assertion: &str) -> Result<(Object, Object), Error> {
    let malformed = || refused("The client_assertion is not a well-formed JSON Web Token.");
    let mut parts = assertion.split('.');
    let (Some(header), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let object = |segment: &str| match URL_SAFE_NO_PAD
        .decode(segment)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
    {
        Some(Value::Object(map)) => Ok(map),
        _ => Err(malformed()),
    };
    Ok((object(header)?, object(payload)?))
}

/// OIDC Core §9 / Hydra: the header `alg` must be the client's `token_endpoint_auth_signing_alg`
/// (RS256 when unset). Registration admits only asymmetric algorithms, so `none` and HS*
/// (`client_secret_jwt`, which is not supported) never match.
fn check_alg(client: &Client, header: &Map<String, Value>) -> Result<(), Error> {
    let registered = match client.data.token_endpoint_auth_signing_alg.as_str() {
        "" => "RS256",
        alg => alg,
    };
    let alg = match header.get("alg") {
        Some(Value::String(alg)) => alg.as_str(),
        _ => return Err(refused("The client_assertion header has no 'alg'.")),
    };
    if alg.starts_with("HS") {
        return Err(refused(
            "This authorization server does not support client authentication method 'client_secret_jwt'.",
        ));
    }
    if alg != registered {
        return Err(refused(format!(
            "The 'client_assertion' uses signing algorithm '{alg}' but the requested OAuth 2.0 Client enforces signing algorithm '{registered}'."
        )));
    }
    Ok(())
}

fn has_kid(keys: &[JsonWebKey], kid: &str) -> bool {
    keys.iter().any(|k| k.kid.as_deref() == Some(kid))
}

/// The public signature keys of a set: keys whose `use` is `sig` or absent, asymmetric only
/// (a symmetric key would make this `client_secret_jwt`), reduced to their public members.
fn signature_keys(set: JsonWebKeySet) -> Vec<JsonWebKey> {
    set.keys
        .iter()
        .filter(|k| k.use_.as_deref().is_none_or(|u| u == "sig"))
        .filter_map(key::public_part)
        .collect()
}

/// The client's verification keys: `jwks`, or the document at `jwks_uri` (cached, and
/// fetched again once when `kid` is not in the cached copy).
async fn client_keys(
    check: &AssertionCheck<'_>,
    client: &Client,
    kid: Option<&str>,
) -> Result<Vec<JsonWebKey>, Error> {
    let data = &client.data;
    if data.jwks_has_keys() {
        let set: JsonWebKeySet = serde_json::from_value(data.jwks.clone()).map_err(|_| {
            refused("The JSON Web Key Set registered for the OAuth 2.0 Client (jwks) is invalid.")
        })?;
        return Ok(signature_keys(set));
    }
    let uri = data.jwks_uri.as_str();
    if uri.is_empty() {
        return Err(refused("The OAuth 2.0 Client has no JSON Web Keys set registered, but they are needed to complete the request."));
    }
    let id = data.client_id.as_str();
    if let Some((keys, fetched_at)) = check.cache.get(id, uri, check.now) {
        let kid_known = kid.is_none_or(|kid| has_kid(&keys, kid));
        let too_soon = (check.now - fetched_at) < Duration::seconds(JWKS_REFETCH_AFTER_SECS);
        if kid_known || too_soon {
            return Ok(keys);
        }
    }
    let keys = signature_keys(fetch_jwks(check.http, uri).await?);
    check.cache.put(id, uri, &keys, check.now);
    Ok(keys)
}

/// GETs a JSON Web Key Set: http(s) only, within [`JWKS_FETCH_TIMEOUT`] and [`JWKS_MAX_BYTES`].
async fn fetch_jwks(http: &reqwest::Client, uri: &str) -> Result<JsonWebKeySet, Error> {
    let failed = |why: String| {
        refused(format!(
            "Unable to fetch the JSON Web Key Set from the OAuth 2.0 Client's jwks_uri: {why}."
        ))
    };
    let url = url::Url::parse(uri).map_err(|_| failed("it is not a URL".into()))?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(failed("only http and https URLs are fetched".into()));
    }
    let mut response = http
        .get(url)
        .timeout(JWKS_FETCH_TIMEOUT)
        .send()
        .await
        .map_err(|e| failed(e.without_url().to_string()))?;
    if !response.status().is_success() {
        return Err(failed(format!("status {}", response.status().as_u16())));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| failed(e.without_url().to_string()))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > JWKS_MAX_BYTES {
            return Err(failed(format!(
                "the document is larger than {JWKS_MAX_BYTES} bytes"
            )));
        }
    }
    serde_json::from_slice(&body)
        .map_err(|_| failed("the document is not a JSON Web Key Set".into()))
}

/// A NumericDate claim (RFC 7519 §2) in whole seconds; `None` when absent.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, Error> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            // Fractions are allowed; `as` saturates, and the bounds on `exp` refuse extremes.
            let secs = n.as_i64().or_else(|| n.as_f64().map(|f| f.floor() as i64));
            Ok(secs)
        }
        Some(_) => Err(refused(format!(
            "Claim '{name}' from 'client_assertion' must be a number of seconds since the epoch."
        ))),
    }
}

/// RFC 7523 §3: the verified claims; returns the `jti` and the expiry it is spent until.
fn check_claims<'c>(
    claims: &'c Map<String, Value>,
    client_id: &str,
    audiences: &[String],
    now: DateTime<Utc>,
) -> Result<(&'c str, DateTime<Utc>), Error> {
    let now_secs = now.timestamp();
    // RFC 7523 §3 item 4: "The JWT MUST contain an "exp" (expiration time) claim ... The
    // authorization server MUST reject any JWT with an expiration time that has passed".
    let exp = numeric_date(claims, "exp")?
        .ok_or_else(|| refused("Claim 'exp' from 'client_assertion' must be set but is not."))?;
    if exp <= now_secs {
        return Err(refused("The 'client_assertion' has expired (claim 'exp')."));
    }
    // Clients commonly sign `exp = iat + 3600`; allow their clock to run a little ahead.
    if exp - now_secs > MAX_LIFETIME_SECS + SKEW_SECS {
        return Err(refused(format!(
            "Claim 'exp' from 'client_assertion' must be at most {MAX_LIFETIME_SECS} seconds in the future."
        )));
    }
    // RFC 7523 §3 items 5 and 6: nbf and iat, when present, are not in the future.
    if numeric_date(claims, "nbf")?.is_some_and(|nbf| nbf > now_secs + SKEW_SECS) {
        return Err(refused(
            "The 'client_assertion' is not valid yet (claim 'nbf').",
        ));
    }
    if numeric_date(claims, "iat")?.is_some_and(|iat| iat > now_secs + SKEW_SECS) {
        return Err(refused(
            "Claim 'iat' from 'client_assertion' lies in the future.",
        ));
    }
    // RFC 7523 §3 items 1 and 2 (for client authentication, iss and sub are the client_id).
    if claims.get("iss").and_then(Value::as_str) != Some(client_id) {
        return Err(refused("Claim 'iss' from 'client_assertion' must match the 'client_id' of the OAuth 2.0 Client."));
    }
    if claims.get("sub").and_then(Value::as_str) != Some(client_id) {
        return Err(refused("Claim 'sub' from 'client_assertion' must match the 'client_id' of the OAuth 2.0 Client."));
    }
    // RFC 7523 §3 item 3: "The JWT MUST contain an "aud" (audience) claim containing a value
    // that identifies the authorization server as an intended audience ... the token
    // endpoint URL of the authorization server MAY be used".
    let listed = |aud: &str| audiences.iter().any(|a| a == aud);
    let aud_ok = match claims.get("aud") {
        Some(Value::String(aud)) => listed(aud),
        Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).any(listed),
        _ => false,
    };
    if !aud_ok {
        return Err(refused(format!(
            "Claim 'aud' from 'client_assertion' must match the authorization server's token endpoint '{}'.",
            audiences.first().map(String::as_str).unwrap_or_default()
        )));
    }
    let jti = match claims.get("jti") {
        Some(Value::String(jti)) if !jti.is_empty() => jti.as_str(),
        _ => {
            return Err(refused(
                "Claim 'jti' from 'client_assertion' must be set but is not.",
            ))
        }
    };
    let expires_at = Utc
        .timestamp_opt(exp, 0)
        .single()
        .ok_or_else(|| refused("Claim 'exp' from 'client_assertion' is out of range."))?;
    Ok((jti, expires_at))
}

/// Hydra stores a spent jti as the hex SHA-256 of its value (hydra-reference §8.6).
fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TOKEN_URL: &str = "https://auth.example/oauth2/token";

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000, 0).unwrap()
    }

    fn good() -> Value {
        let t = now().timestamp();
        json!({"iss": "c1", "sub": "c1", "aud": TOKEN_URL, "jti": "j1", "exp": t + 300, "iat": t})
    }

    fn with(change: impl FnOnce(&mut Map<String, Value>)) -> Map<String, Value> {
        let Value::Object(mut claims) = good() else {
            unreachable!()
        };
        change(&mut claims);
        claims
    }

    fn check(claims: &Map<String, Value>) -> Result<(&str, DateTime<Utc>), Error> {
        check_claims(claims, "c1", &[TOKEN_URL.to_string()], now())
    }

    #[test]
    fn good_claims_pass_and_give_jti_and_expiry() {
        let claims = with(|_| {});
        let (jti, exp) = check(&claims).unwrap();
        assert_eq!((jti, exp), ("j1", now() + Duration::seconds(300)));
        let claims = with(|c| {
            c.insert("aud".into(), json!(["https://other.example", TOKEN_URL]));
            c.insert("exp".into(), json!(now().timestamp() as f64 + 3599.5));
            c.insert("nbf".into(), json!(now().timestamp() + 30));
        });
        check(&claims).unwrap();
    }

    #[test]
    fn bad_claims_are_refused_as_invalid_client() {
        let t = now().timestamp();
        let cases: Vec<(&str, Map<String, Value>, &str)> = vec![
            (
                "expired",
                with(|c| {
                    c.insert("exp".into(), json!(t));
                }),
                "expired",
            ),
            (
                "no exp",
                with(|c| {
                    c.remove("exp");
                }),
                "'exp'",
            ),
            (
                "exp text",
                with(|c| {
                    c.insert("exp".into(), json!("soon"));
                }),
                "'exp'",
            ),
            (
                "too long",
                with(|c| {
                    c.insert("exp".into(), json!(t + 3600 + 61));
                }),
                "3600",
            ),
            (
                "nbf future",
                with(|c| {
                    c.insert("nbf".into(), json!(t + 61));
                }),
                "'nbf'",
            ),
            (
                "iat future",
                with(|c| {
                    c.insert("iat".into(), json!(t + 61));
                }),
                "'iat'",
            ),
            (
                "iss",
                with(|c| {
                    c.insert("iss".into(), json!("c2"));
                }),
                "'iss'",
            ),
            (
                "sub",
                with(|c| {
                    c.insert("sub".into(), json!("c2"));
                }),
                "'sub'",
            ),
            (
                "no aud",
                with(|c| {
                    c.remove("aud");
                }),
                "'aud'",
            ),
            (
                "wrong aud",
                with(|c| {
                    c.insert("aud".into(), json!("https://auth.example/"));
                }),
                "'aud'",
            ),
            (
                "aud list",
                with(|c| {
                    c.insert("aud".into(), json!(["https://x.example"]));
                }),
                "'aud'",
            ),
            (
                "no jti",
                with(|c| {
                    c.remove("jti");
                }),
                "'jti'",
            ),
            (
                "empty jti",
                with(|c| {
                    c.insert("jti".into(), json!(""));
                }),
                "'jti'",
            ),
        ];
        for (name, claims, needle) in cases {
            let err = check(&claims).unwrap_err();
            assert_eq!(
                (err.status, err.name.as_ref()),
                (401, "invalid_client"),
                "{name}"
            );
            assert!(
                err.full_description().contains(needle),
                "{name}: {}",
                err.full_description()
            );
        }
    }

    #[test]
    fn jti_signature_is_hex_sha256() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn only_asymmetric_signature_keys_are_used() {
        let rsa = crate::jwk::key::generate("RS256", "r", "sig", 2048).unwrap();
        let hs = crate::jwk::key::generate("HS256", "h", "sig", 2048).unwrap();
        let mut enc = rsa[1].clone();
        enc.use_ = Some("enc".into());
        enc.kid = Some("e".into());
        let set = JsonWebKeySet {
            keys: vec![rsa[0].clone(), hs[0].clone(), enc],
        };
        let keys = signature_keys(set);
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kid.as_deref(), Some("public:r"));
        assert!(!key::is_private(&keys[0]));
    }
}
