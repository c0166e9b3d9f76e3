//! Client authentication at the token, revocation and introspection endpoints (RFC 6749
//! §2.3, hydra-reference §5.8): `client_secret_basic`, `client_secret_post` and `none`; the
//! method presented must be the client's registered one.
//!
//! A verified-secret cache keeps password-grade hashing off the hot path: after a successful
//! argon2/bcrypt verification we remember, per client, the stored hash we verified against
//! and HMAC-SHA-256(process key, secret). A later request with the same client and the same
//! secret matches that MAC and skips the slow hash. It is safe because: no plaintext is kept;
//! the MAC key is random per process and never leaves memory, so the entries are useless
//! offline; an entry only vouches for the exact stored hash it was made with, so a rotated
//! secret, an updated or a deleted client invalidates it; wrong secrets are never cached and
//! always pay the full verification; comparisons are constant-time.

use crate::client::{Client, ClientStore};
use crate::crypto::hasher::Hasher;
use crate::crypto::random;
use crate::error::{Error, StoreError};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
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
    /// Nothing at all.
    Missing,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Basic { id, .. } => write!(f, "Basic({id}, [redacted])"),
            Credentials::Post { id, .. } => write!(f, "Post({id}, [redacted])"),
            Credentials::Public { id } => write!(f, "Public({id})"),
            Credentials::Missing => f.write_str("Missing"),
        }
    }
}

impl Credentials {
    /// Whether HTTP Basic was used (a failure then answers `WWW-Authenticate: Basic`).
    pub fn is_basic(&self) -> bool {
        matches!(self, Credentials::Basic { .. })
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

/// Reads the credentials from the `Authorization` header and the form (RFC 6749 §2.3.1:
/// the id and secret are form-encoded before base64). Using two methods at once is refused.
pub fn credentials(
    authorization: Option<&str>,
    form_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<Credentials, Error> {
    let form_id = form_id.filter(|s| !s.is_empty());
    let form_secret = form_secret.filter(|s| !s.is_empty());
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

/// Verified secrets, per client (see the module comment for why this is safe).
pub struct SecretCache {
    key: [u8; 32],
    entries: Mutex<HashMap<String, (String, [u8; 32])>>,
}

impl Default for SecretCache {
    fn default() -> Self {
        let mut key = [0u8; 32];
        random::fill(&mut key);
        SecretCache {
            key,
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl SecretCache {
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

fn method_mismatch(client: &Client, used: &str) -> Error {
    Error::invalid_client().hint(format!(
        "The OAuth 2.0 Client supports client authentication method '{}', but method '{used}' was requested. You must configure the OAuth 2.0 client's 'token_endpoint_auth_method' value to accept '{used}'.",
        client.data.token_endpoint_auth_method
    ))
}

/// Authenticates the client behind `creds`.
pub async fn authenticate(
    store: &impl ClientStore,
    hasher: &Hasher,
    cache: &SecretCache,
    creds: &Credentials,
) -> Result<Client, Error> {
    let (id, secret, method) = match creds {
        Credentials::Basic { id, secret } => (id, Some(secret), "client_secret_basic"),
        Credentials::Post { id, secret } => (id, Some(secret), "client_secret_post"),
        Credentials::Public { id } => (id, None, "none"),
        Credentials::Missing => {
            return Err(Error::invalid_request().hint("Client credentials missing or malformed in both HTTP Authorization header and HTTP POST body."))
        }
    };
    let client = match store.get_client(id).await {
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
    if hasher
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

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let c = credentials(Some(&basic("my%3Aclient", "p%40ss+word")), None, None).unwrap();
        assert_eq!(
            c,
            Credentials::Basic {
                id: "my:client".into(),
                secret: "p@ss word".into()
            }
        );
        let c = credentials(Some(&basic("plain", "s:with:colons")), None, None).unwrap();
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
            credentials(None, Some("a"), Some("s")).unwrap(),
            Credentials::Post {
                id: "a".into(),
                secret: "s".into()
            }
        );
        assert_eq!(
            credentials(None, Some("a"), None).unwrap(),
            Credentials::Public { id: "a".into() }
        );
        assert_eq!(credentials(None, None, None).unwrap(), Credentials::Missing);
        for (header, id, secret) in [
            (Some("Basic !!!"), None, None),
            (Some("Bearer abc"), None, None),
            (Some("Basic bm9jb2xvbg=="), None, None),
            (Some(basic("a", "s").as_str()), None, Some("s")),
            (Some(basic("a", "s").as_str()), Some("b"), None),
            (None, None, Some("s")),
        ] {
            assert!(
                credentials(header, id, secret).is_err(),
                "{header:?} {id:?} {secret:?}"
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
    }
}
