//! Client authentication at the token and revocation endpoints (RFC 6749 §2.3,
//! hydra-reference §5.8): `client_secret_basic`, `client_secret_post`, `private_key_jwt`
//! (checked in `client_assertion.rs`) and `none`; the method presented must be the client's
//! registered one.
//!
//! A verified-secret cache keeps password-grade hashing off the hot path: after a successful
//! argon2/bcrypt verification we remember, per client, the stored hash we verified against
//! and HMAC-SHA-256(process key, secret). A later request with the same client and the same
//! secret matches that MAC and skips the slow hash. It is safe because: no plaintext is kept;
//! the MAC key is random per process and never leaves memory, so the entries are useless
//! offline; an entry only vouches for the exact stored hash it was made with, so a rotated
//! secret, an updated or a deleted client invalidates it; wrong secrets are never cached and
//! always pay the full verification; comparisons are constant-time.

use super::client_assertion::{self, AssertionCheck, JtiStore, JwksCache, JWT_BEARER};
use super::{Ctx, TokenRequest};
use crate::client::{Client, ClientStore};
use crate::crypto::random;
use crate::error::{Error, StoreError};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Mutex;
use subtle::ConstantTimeEq;

/// Entries kept before the cache is cleared (bounds memory under many clients).
const CACHE_LIMIT: usize = 10_000;

/// How the client presented itself.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `Authorization: Basic`.
    Basic { id: String, secret: String },
    /// `client_id` + `client_secret` in the form.
    Post { id: String, secret: String },
    /// Only `client_id`: a public client.
    Public { id: String },
    /// A JWT `client_assertion` (RFC 7523 §2.2), with the form's `client_id` if it had one.
    Assertion {
        id: Option<String>,
        assertion: String,
    },
    /// Nothing at all.
    Missing,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Basic { id, .. } => write!(f, "Basic({id}, [redacted])"),
            Credentials::Post { id, .. } => write!(f, "Post({id}, [redacted])"),
            Credentials::Public { id } => write!(f, "Public({id})"),
            Credentials::Assertion { id, .. } => write!(f, "Assertion({id:?}, [redacted])"),
            Credentials::Missing => f.write_str("Missing"),
        }
    }
}

impl Credentials {
    /// Whether HTTP Basic was used (a failure then answers `WWW-Authenticate: Basic`).
    pub fn is_basic(&self) -> bool {
        matches!(self, Credentials::Basic { .. })
    }

    /// The client id whose row [`ClientRead::Cached`] authentication reads from the copy
    /// (client assertions always read the stored row).
    pub fn cached_id(&self) -> Option<&str> {
        match self {
            Credentials::Basic { id, .. }
            | Credentials::Post { id, .. }
            | Credentials::Public { id } => Some(id),
            Credentials::Assertion { .. } | Credentials::Missing => None,
        }
    }
}

/// `application/x-www-form-urlencoded` decoding of one value (`+` is a space).
fn form_decode(text: &str) -> Result<String, Error> {
    percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8()
        .map(|v| v.into_owned())
        .map_err(|_| {
            Error::invalid_request().hint(
                "The client credentials in the HTTP authorization header could not be decoded.",
            )
        })
}

/// The credential fields of a token or revocation request's form; empty values count as absent.
#[derive(Debug, Default, Clone, Copy)]
pub struct FormCredentials<'a> {
    pub client_id: Option<&'a str>,
    pub client_secret: Option<&'a str>,
    pub client_assertion_type: Option<&'a str>,
    pub client_assertion: Option<&'a str>,
}

impl<'a> FormCredentials<'a> {
    /// The fields of `req`; a repeated one is an error.
    pub fn read(req: &'a TokenRequest) -> Result<Self, Error> {
        let one = |name| -> Result<Option<&'a str>, Error> {
            Ok(req.one(name)?.filter(|v| !v.is_empty()))
        };
        Ok(FormCredentials {
            client_id: one("client_id")?,
            client_secret: one("client_secret")?,
            client_assertion_type: one("client_assertion_type")?,
            client_assertion: one("client_assertion")?,
        })
    }
}

/// RFC 7521 §4.2: `client_assertion_type` and `client_assertion` go together, and the
/// assertion is the only credential of the request.
fn assertion(
    authorization: Option<&str>,
    form: &FormCredentials<'_>,
) -> Result<Credentials, Error> {
    let refuse = |hint: &str| Err(Error::invalid_request().hint(hint));
    match form.client_assertion_type {
        None => return refuse("The client_assertion parameter requires client_assertion_type."),
        Some(JWT_BEARER) => {}
        Some(other) => {
            return Err(Error::invalid_request().hint(format!(
                "Unknown client_assertion_type '{other}'; only '{JWT_BEARER}' is supported."
            )))
        }
    }
    let Some(assertion) = form.client_assertion else {
        return Err(Error::invalid_request().hint(format!(
            "The client_assertion request parameter must be set when using client_assertion_type of '{JWT_BEARER}'."
        )));
    };
    if authorization.is_some() || form.client_secret.is_some() {
        return refuse("A client_assertion was sent together with other client credentials; use one method only.");
    }
    Ok(Credentials::Assertion {
        id: form.client_id.map(str::to_string),
        assertion: assertion.to_string(),
    })
}

/// Reads the credentials from the `Authorization` header and the form (RFC 6749 §2.3.1:
/// the id and secret are form-encoded before base64). Using two methods at once is refused.
pub fn credentials(
    authorization: Option<&str>,
    form: &FormCredentials<'_>,
) -> Result<Credentials, Error> {
    if form.client_assertion_type.is_some() || form.client_assertion.is_some() {
        return assertion(authorization, form);
    }
    let (form_id, form_secret) = (form.client_id, form.client_secret);
    if let Some(header) = authorization {
        let Some(encoded) = header
            .strip_prefix("Basic ")
            .or_else(|| header.strip_prefix("basic "))
        else {
            return Err(Error::invalid_request().hint(
                "The Authorization header must use the Basic scheme for client authentication.",
            ));
        };
        let malformed = || {
            Error::invalid_request().hint("The client credentials in the HTTP authorization header could not be parsed. Either the scheme was missing, the scheme was invalid, or the value had malformed data.")
        };
        let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
        let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
        let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
        if form_secret.is_some() {
            return Err(Error::invalid_request().hint("Client credentials were sent in the Authorization header and in the request body; use one method only."));
        }
        let id = form_decode(id)?;
        if form_id.is_some_and(|f| f != id) {
            return Err(Error::invalid_request().hint(
                "The client_id in the body does not match the one in the Authorization header.",
            ));
        }
        return Ok(Credentials::Basic {
            id,
            secret: form_decode(secret)?,
        });
    }
    match (form_id, form_secret) {
        (Some(id), Some(secret)) => Ok(Credentials::Post {
            id: id.to_string(),
            secret: secret.to_string(),
        }),
        (Some(id), None) => Ok(Credentials::Public { id: id.to_string() }),
        (None, Some(_)) => {
            Err(Error::invalid_request().hint("client_secret was sent without client_id."))
        }
        (None, None) => Ok(Credentials::Missing),
    }
}

/// Verified secrets, per client (see the module comment for why this is safe), and the key
/// sets fetched from clients' `jwks_uri`: what client authentication remembers between requests.
pub struct ClientAuthCache {
    key: [u8; 32],
    entries: Mutex<HashMap<String, (String, [u8; 32])>>,
    jwks: JwksCache,
}

impl Default for ClientAuthCache {
    fn default() -> Self {
        let mut key = [0u8; 32];
        random::fill(&mut key);
        ClientAuthCache {
            key,
            entries: Mutex::new(HashMap::new()),
            jwks: JwksCache::default(),
        }
    }
}

impl ClientAuthCache {
    fn mac(&self, secret: &str) -> [u8; 32] {
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&self.key) else {
            unreachable!("HMAC takes keys of any length")
        };
        mac.update(secret.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn hit(&self, client: &Client, secret: &str) -> bool {
        let Ok(entries) = self.entries.lock() else {
            return false;
        };
        entries
            .get(&client.data.client_id)
            .is_some_and(|(hash, mac)| {
                hash.as_bytes().ct_eq(client.secret_hash.as_bytes()).into()
                    && bool::from(mac.ct_eq(&self.mac(secret)))
            })
    }

    fn remember(&self, client: &Client, secret: &str) {
        let mac = self.mac(secret);
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CACHE_LIMIT {
                entries.clear();
            }
            entries.insert(
                client.data.client_id.clone(),
                (client.secret_hash.clone(), mac),
            );
        }
    }
}

/// The presented method is not the client's registered one.
pub(super) fn method_mismatch(client: &Client, used: &str) -> Error {
    Error::invalid_client().hint(format!(
        "The OAuth 2.0 Client supports client authentication method '{}', but method '{used}' was requested. You must configure the OAuth 2.0 client's 'token_endpoint_auth_method' value to accept '{used}'.",
        client.data.token_endpoint_auth_method
    ))
}

/// The endpoint a client authenticates at: it decides the `aud` a client assertion may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Token,
    Revocation,
}

/// Which copy of the client row authentication may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientRead {
    /// The row as stored now.
    Fresh,
    /// A copy up to a couple of seconds old (`ClientStore::get_client_cached`): only when
    /// what the request then writes is conditional on the row being unchanged.
    Cached,
}

/// Authenticates the client behind `creds` at `endpoint`.
pub async fn authenticate<S: ClientStore + JtiStore + Sync>(
    ctx: &Ctx<'_, S>,
    creds: &Credentials,
    endpoint: Endpoint,
    read: ClientRead,
    now: DateTime<Utc>,
) -> Result<Client, Error> {
    let (store, cache) = (ctx.store, ctx.secrets);
    let (id, secret, method) = match creds {
        Credentials::Basic { id, secret } => (id, Some(secret), "client_secret_basic"),
        Credentials::Post { id, secret } => (id, Some(secret), "client_secret_post"),
        Credentials::Public { id } => (id, None, "none"),
        Credentials::Assertion { id, assertion } => {
            // Hydra's token URL is `<urls.self.public>oauth2/token`; at revocation the
            // revocation URL names this server as well.
            let public = &ctx.config.urls.public;
            let mut audiences = vec![format!("{public}oauth2/token")];
            if endpoint == Endpoint::Revocation {
                audiences.push(format!("{public}oauth2/revoke"));
            }
            let check = AssertionCheck {
                http: ctx.http,
                cache: &cache.jwks,
                audiences,
                now,
            };
            return client_assertion::authenticate(store, &check, id.as_deref(), assertion)
                .await;
        }
        Credentials::Missing => {
            return Err(Error::invalid_request().hint("Client credentials missing or malformed in both HTTP Authorization header and HTTP POST body."))
        }
    };
    let found = match read {
        ClientRead::Fresh => store.get_client(id).await,
        ClientRead::Cached => store.get_client_cached(id).await,
    };
    let client = match found {
        Ok(c) => c,
        Err(StoreError::NotFound) => {
            return Err(
                Error::invalid_client().hint("The requested OAuth 2.0 Client does not exist.")
            )
        }
        Err(e) => return Err(e.into()),
    };
    if client.data.token_endpoint_auth_method != method {
        return Err(method_mismatch(&client, method));
    }
    let Some(secret) = secret else {
        return Ok(client);
    };
    if cache.hit(&client, secret) {
        return Ok(client);
    }
    if ctx
        .hasher
        .verify(secret.clone(), client.secret_hash.clone())
        .await
    {
        cache.remember(&client, secret);
        return Ok(client);
    }
    Err(Error::invalid_client().hint("The provided client secret did not match."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(
        header: Option<&str>,
        client_id: Option<&str>,
        client_secret: Option<&str>,
    ) -> Result<Credentials, Error> {
        let form = FormCredentials {
            client_id,
            client_secret,
            ..FormCredentials::default()
        };
        credentials(header, &form)
    }

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let c = creds(Some(&basic("my%3Aclient", "p%40ss+word")), None, None).unwrap();
        assert_eq!(
            c,
            Credentials::Basic {
                id: "my:client".into(),
                secret: "p@ss word".into()
            }
        );
        let c = creds(Some(&basic("plain", "s:with:colons")), None, None).unwrap();
        assert_eq!(
            c,
            Credentials::Basic {
                id: "plain".into(),
                secret: "s:with:colons".into()
            }
        );
    }

    #[test]
    fn credentials_from_the_form_and_refusals() {
        assert_eq!(
            creds(None, Some("a"), Some("s")).unwrap(),
            Credentials::Post {
                id: "a".into(),
                secret: "s".into()
            }
        );
        assert_eq!(
            creds(None, Some("a"), None).unwrap(),
            Credentials::Public { id: "a".into() }
        );
        assert_eq!(creds(None, None, None).unwrap(), Credentials::Missing);
        for (header, id, secret) in [
            (Some("Basic !!!"), None, None),
            (Some("Bearer abc"), None, None),
            (Some("Basic bm9jb2xvbg=="), None, None),
            (Some(basic("a", "s").as_str()), None, Some("s")),
            (Some(basic("a", "s").as_str()), Some("b"), None),
            (None, None, Some("s")),
        ] {
            assert!(
                creds(header, id, secret).is_err(),
                "{header:?} {id:?} {secret:?}"
            );
        }
    }

    #[test]
    fn assertions_are_the_only_credential_of_a_request() {
        let form = |t, a, id, secret| FormCredentials {
            client_id: id,
            client_secret: secret,
            client_assertion_type: t,
            client_assertion: a,
        };
        assert_eq!(
            credentials(
                None,
                &form(Some(JWT_BEARER), Some("x.y.z"), Some("c"), None)
            )
            .unwrap(),
            Credentials::Assertion {
                id: Some("c".into()),
                assertion: "x.y.z".into()
            }
        );
        assert_eq!(
            credentials(None, &form(Some(JWT_BEARER), Some("x.y.z"), None, None)).unwrap(),
            Credentials::Assertion {
                id: None,
                assertion: "x.y.z".into()
            }
        );
        let basic = basic("c", "s");
        for (name, header, form) in [
            (
                "other type",
                None,
                form(Some("urn:other"), Some("x.y.z"), None, None),
            ),
            (
                "no assertion",
                None,
                form(Some(JWT_BEARER), None, None, None),
            ),
            ("no type", None, form(None, Some("x.y.z"), Some("c"), None)),
            (
                "with secret",
                None,
                form(Some(JWT_BEARER), Some("x.y.z"), Some("c"), Some("s")),
            ),
            (
                "with basic",
                Some(basic.as_str()),
                form(Some(JWT_BEARER), Some("x.y.z"), None, None),
            ),
        ] {
            let err = credentials(header, &form).unwrap_err();
            assert_eq!(
                (err.status, err.name.as_ref()),
                (400, "invalid_request"),
                "{name}"
            );
        }
    }

    #[test]
    fn debug_never_shows_secrets() {
        let c = Credentials::Basic {
            id: "a".into(),
            secret: "hunter22".into(),
        };
        assert!(!format!("{c:?}").contains("hunter22"));
        let c = Credentials::Assertion {
            id: None,
            assertion: "eyJhbGciOi.secret.sig".into(),
        };
        assert!(!format!("{c:?}").contains("secret"));
    }
}
