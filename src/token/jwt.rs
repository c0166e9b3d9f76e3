//! JWT access tokens (`strategies.access_token: jwt`, hydra-reference §5.2): signed with the
//! newest key of `hydra.jwt.access-token`, still recorded so that they can be introspected and
//! revoked. The record's key is the lowercase hex SHA-384 of the JWT's signature segment.

use super::Grant;
use crate::crypto::random;
use crate::error::Error;
use crate::jwk::{KeyManager, KeyStore, ACCESS_TOKEN_SET};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha384};
use std::sync::Arc;

/// Claims that `oauth2.allowed_top_level_claims` can never override.
const RESERVED: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "client_id",
    "scp",
    "ext",
];

pub struct JwtStrategy {
    pub keys: Arc<KeyManager>,
    /// `urls.self.issuer`, with its trailing slash.
    pub issuer: String,
    /// `oauth2.exclude_not_before_claim`.
    pub exclude_nbf: bool,
    /// `oauth2.allowed_top_level_claims`.
    pub top_level_claims: Vec<String>,
}

/// The record key of a JWT: hex SHA-384 of its signature segment; `None` if not a JWS.
pub fn record_key(jwt: &str) -> Option<String> {
    let mut parts = jwt.split('.');
    let (Some(h), Some(p), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if h.is_empty() || p.is_empty() || sig.is_empty() {
        return None;
    }
    let digest = Sha384::digest(sig.as_bytes());
    Some(digest.iter().map(|b| format!("{b:02x}")).collect())
}

impl JwtStrategy {
    /// The claims of an access token for `grant`, valid until `exp`.
    pub fn claims(&self, grant: &Grant, now: DateTime<Utc>, exp: DateTime<Utc>) -> Value {
        let mut claims = Map::new();
        for name in &self.top_level_claims {
            if let Some(v) = grant.ext.get(name) {
                if !RESERVED.contains(&name.as_str()) {
                    claims.insert(name.clone(), v.clone());
                }
            }
        }
        let iat = now.timestamp();
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert("sub".into(), json!(grant.subject));
        claims.insert("aud".into(), json!(grant.granted_audience));
        claims.insert("exp".into(), json!(exp.timestamp()));
        claims.insert("iat".into(), json!(iat));
        if !self.exclude_nbf {
            claims.insert("nbf".into(), json!(iat));
        }
        claims.insert("jti".into(), json!(random::uuid()));
        claims.insert("scp".into(), json!(grant.granted_scope));
        claims.insert("client_id".into(), json!(grant.client_id));
        claims.insert("ext".into(), Value::Object(grant.ext.clone()));
        Value::Object(claims)
    }

    /// A signed access token for `grant` and its record key.
    pub async fn mint(
        &self,
        store: &impl KeyStore,
        grant: &Grant,
        now: DateTime<Utc>,
        exp: DateTime<Utc>,
    ) -> Result<(String, String), Error> {
        let signer = self.keys.signer(store, ACCESS_TOKEN_SET).await?;
        let token = signer.sign(&self.claims(grant, now, exp))?;
        let key = record_key(&token)
            .ok_or_else(|| Error::server_error().debug("signed token is not a JWS"))?;
        Ok((token, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_keys_hash_the_signature_segment() {
        let k = record_key("aGVhZA.cGF5bG9hZA.c2ln").unwrap();
        assert_eq!(k.len(), 96);
        assert_eq!(
            record_key("aGVhZA.b3RoZXI.c2ln"),
            Some(k),
            "only the signature counts"
        );
        for bad in ["a.b", "a.b.c.d", "..", "opaque.token"] {
            assert_eq!(record_key(bad), None, "{bad}");
        }
    }
}
