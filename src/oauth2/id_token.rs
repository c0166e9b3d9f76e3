//! OpenID Connect ID tokens (OIDC Core §2, hydra-reference §5.3): the claims of one issuance
//! from a grant's [`IdTokenClaims`], signed with the newest private key of
//! `hydra.openid.id-token`. The code exchange, refresh and the implicit/hybrid flows all
//! issue through [`id_token`].
//! May import: `config`, `jwk`, `token`, `crypto`, `clock`, `error`.

use crate::clock;
use crate::config::Config;
use crate::crypto::random;
use crate::error::Error;
use crate::jwk::{KeyManager, KeyStore, ID_TOKEN_SET};
use crate::token::IdTokenClaims;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};

/// Claims the consent app's `session.id_token` can never set: fosite writes or deletes each
/// of them, and Hydra writes `sid` itself. `/userinfo` filters custom claims by the same list.
pub const RESERVED: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "jti",
    "auth_time",
    "rat",
    "nonce",
    "at_hash",
    "c_hash",
    "acr",
    "amr",
    "sid",
];

/// fosite refuses an ID token whose `auth_time` lies further in the future than this.
const AUTH_TIME_LEEWAY: i64 = 5;

/// The tokens an ID token is issued alongside, for its `at_hash` and `c_hash`.
#[derive(Debug, Clone, Copy, Default)]
pub struct IssuedWith<'a> {
    /// The access token of the same response (token endpoint, refresh, implicit `token`).
    pub access_token: Option<&'a str>,
    /// The authorization code of the same response (hybrid flows).
    pub code: Option<&'a str>,
}

/// OIDC Core §3.1.3.6 / §3.3.2.11: base64url of the left half of the hash of `value`, the
/// hash being the one of the signing algorithm (SHA-256 for RS256).
pub fn half_hash(alg: &str, value: &str) -> String {
    let digest: Vec<u8> = if alg.ends_with("384") {
        Sha384::digest(value.as_bytes()).to_vec()
    } else if alg.ends_with("512") || alg == "EdDSA" {
        Sha512::digest(value.as_bytes()).to_vec()
    } else {
        Sha256::digest(value.as_bytes()).to_vec()
    };
    B64.encode(&digest[..digest.len() / 2])
}

/// fosite's preconditions for issuing an ID token at all; a violation is the server's fault
/// (the grant carries what login and consent recorded), hence `server_error`.
pub fn check(claims: &IdTokenClaims, now: DateTime<Utc>) -> Result<(), Error> {
    if claims.subject.is_empty() {
        return Err(Error::server_error().debug("the ID token would have an empty subject"));
    }
    if claims
        .auth_time
        .is_some_and(|t| t > now + Duration::seconds(AUTH_TIME_LEEWAY))
    {
        return Err(Error::server_error().debug("the ID token's auth_time lies in the future"));
    }
    Ok(())
}

/// The claims of one ID token for `client_id`, signed with `alg`, issued at `now`.
pub fn claims(
    config: &Config,
    claims: &IdTokenClaims,
    client_id: &str,
    with: IssuedWith<'_>,
    alg: &str,
    now: DateTime<Utc>,
) -> Result<Value, Error> {
    check(claims, now)?;
    let mut out: Map<String, Value> = claims
        .extra
        .iter()
        .filter(|(name, _)| !RESERVED.contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let iat = now.trunc_subsecs(0);
    // RFC 8414 §2 / OIDC Discovery §3: `iss` is exactly the issuer discovery announces.
    out.insert("iss".into(), json!(config.urls.issuer.as_str()));
    out.insert("sub".into(), json!(claims.subject));
    out.insert("aud".into(), json!([client_id]));
    out.insert(
        "exp".into(),
        json!(clock::later(iat, config.ttl.id_token).timestamp()),
    );
    out.insert("iat".into(), json!(iat.timestamp()));
    out.insert("jti".into(), json!(random::uuid()));
    if let Some(auth_time) = claims.auth_time {
        out.insert("auth_time".into(), json!(auth_time.timestamp()));
    }
    out.insert("rat".into(), json!(claims.requested_at.timestamp()));
    if !claims.nonce.is_empty() {
        out.insert("nonce".into(), json!(claims.nonce));
    }
    if let Some(token) = with.access_token {
        out.insert("at_hash".into(), json!(half_hash(alg, token)));
    }
    if let Some(code) = with.code {
        out.insert("c_hash".into(), json!(half_hash(alg, code)));
    }
    if !claims.acr.is_empty() {
        out.insert("acr".into(), json!(claims.acr));
    }
    if !claims.sid.is_empty() {
        out.insert("sid".into(), json!(claims.sid));
    }
    Ok(Value::Object(out))
}

/// A signed ID token for `client_id`: RS256 (the set's newest private key), header `kid` the
/// key's `public:` id.
pub async fn id_token(
    keys: &KeyManager,
    store: &impl KeyStore,
    config: &Config,
    id: &IdTokenClaims,
    client_id: &str,
    with: IssuedWith<'_>,
    now: DateTime<Utc>,
) -> Result<String, Error> {
    let signer = keys.signer(store, ID_TOKEN_SET).await?;
    signer.sign(&claims(config, id, client_id, with, signer.alg(), now)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn grant_claims() -> IdTokenClaims {
        let mut extra = Map::new();
        extra.insert("email".into(), json!("a@example.com"));
        extra.insert("sub".into(), json!("spoofed"));
        extra.insert("iss".into(), json!("https://evil.example/"));
        extra.insert("nonce".into(), json!("injected"));
        extra.insert("sid".into(), json!("spoofed-sid"));
        IdTokenClaims {
            subject: "user-1".into(),
            auth_time: Some(Utc.timestamp_opt(1_700_000_000, 0).unwrap()),
            requested_at: Utc.timestamp_opt(1_699_999_990, 0).unwrap(),
            acr: "urn:acr:1".into(),
            nonce: String::new(),
            sid: "session-1".into(),
            extra,
        }
    }

    #[test]
    fn at_hash_is_the_left_half_of_sha256() {
        // OIDC Core Appendix A.3 (the implicit-flow example's access token and at_hash).
        assert_eq!(
            half_hash("RS256", "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(half_hash("ES384", "x").len(), 32, "24 bytes of SHA-384");
        assert_eq!(half_hash("RS512", "x").len(), 43, "32 bytes of SHA-512");
    }

    #[test]
    fn claims_follow_the_reference_and_extras_never_override() {
        let config = Config::for_tests("http://auth.test/base");
        let now = Utc.timestamp_opt(1_700_000_100, 500_000_000).unwrap();
        let with = IssuedWith {
            access_token: Some("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            code: None,
        };
        let mut c = claims(&config, &grant_claims(), "client-a", with, "RS256", now).unwrap();
        let jti = c["jti"].as_str().unwrap().to_string();
        assert_eq!(jti.len(), 36, "a UUID");
        c.as_object_mut().unwrap().remove("jti");
        assert_eq!(
            c,
            json!({
                "iss": "http://auth.test/base/",
                "sub": "user-1",
                "aud": ["client-a"],
                "iat": 1_700_000_100,
                "exp": 1_700_000_100 + 3600,
                "auth_time": 1_700_000_000,
                "rat": 1_699_999_990,
                "at_hash": "77QmUPtjPfzWtF2AnpK9RQ",
                "acr": "urn:acr:1",
                "sid": "session-1",
                "email": "a@example.com",
            })
        );
        let again = claims(&config, &grant_claims(), "client-a", with, "RS256", now).unwrap();
        assert_ne!(again["jti"], json!(jti), "jti is fresh per token");
    }

    #[test]
    fn optional_claims_appear_only_when_given() {
        let config = Config::for_tests("http://auth.test/");
        let now = Utc.timestamp_opt(1_700_000_100, 0).unwrap();
        let mut id = grant_claims();
        id.nonce = "n-0S6_WzA2Mj".into();
        id.auth_time = None;
        id.acr.clear();
        id.sid.clear();
        id.extra.clear();
        let with = IssuedWith {
            access_token: None,
            code: Some("Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk"),
        };
        let c = claims(&config, &id, "c", with, "RS256", now).unwrap();
        assert_eq!(c["nonce"], "n-0S6_WzA2Mj");
        // OIDC Core Appendix A.4 (hybrid example's code and c_hash).
        assert_eq!(c["c_hash"], "LDktKdoQak3Pk0cnXxCltA");
        for absent in ["at_hash", "auth_time", "acr", "sid"] {
            assert!(c.get(absent).is_none(), "{absent}");
        }
        assert_eq!(c["iss"], "http://auth.test/");
    }

    #[test]
    fn preconditions_are_server_errors() {
        let config = Config::for_tests("http://auth.test/");
        let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let mut id = grant_claims();
        id.subject.clear();
        let e = claims(&config, &id, "c", IssuedWith::default(), "RS256", now).unwrap_err();
        assert_eq!((e.name.as_ref(), e.status), ("server_error", 500));
        let mut id = grant_claims();
        id.auth_time = Some(now + Duration::seconds(6));
        assert!(check(&id, now).is_err());
        id.auth_time = Some(now + Duration::seconds(5));
        assert!(check(&id, now).is_ok());
    }
}
