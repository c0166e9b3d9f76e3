//! The UserInfo endpoint (OIDC Core §5.3, hydra-reference §2.2, §3.15): the claims of the
//! grant behind an active access token, as JSON or, when the client registered
//! `userinfo_signed_response_alg: RS256`, as a JWT signed with the ID-token key. Also the
//! RFC 6750 parts the handler needs: where the token comes from and the `WWW-Authenticate`
//! challenge of a refusal.
//! May import: `client`, `token`, `jwk`, `config`, `crypto`, `error`.

use super::{Ctx, Params};
use crate::client::ClientStore;
use crate::config::Config;
use crate::crypto::random;
use crate::error::{Error, StoreError};
use crate::jwk::{KeyStore, ID_TOKEN_SET};
use crate::token::{Session, TokenKind, TokenRecord, TokenStore};
use chrono::{DateTime, SubsecRound, Utc};
use serde_json::{json, Map, Value};

/// The only algorithm a userinfo JWT is signed with (discovery's
/// `userinfo_signing_alg_values_supported` is `["none","RS256"]`).
const SIGNED_ALG: &str = "RS256";

/// What `/userinfo` answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Userinfo {
    /// `application/json`: the claims.
    Claims(Map<String, Value>),
    /// `application/jwt`: the claims signed with the newest `hydra.openid.id-token` key.
    Jwt(String),
}

/// RFC 6750 §3.1 `invalid_token` (fosite answers unknown tokens with `request_unauthorized`
/// and malformed ones with a 400; RFC 6750 asks for this one code, 401, for all of them).
pub fn invalid_token() -> Error {
    Error::new(
        "invalid_token",
        "The access token provided is expired, revoked, malformed, or invalid for other reasons.",
        401,
    )
}

/// A request that carries no access token at all (fosite's `request_unauthorized`).
pub fn missing_token() -> Error {
    Error::request_unauthorized().hint(
        "No access token was provided: send it as 'Authorization: Bearer <token>' or in the 'access_token' parameter.",
    )
}

/// RFC 6750 §2: the access token of a request. The `Authorization: Bearer` header wins (its
/// scheme is case-insensitive, RFC 7235 §2.1); without one, the `access_token` parameter of
/// the query or the form body (Hydra's `fosite.AccessTokenFromRequest`). A repeated
/// parameter is `invalid_request`; no token is `None`.
pub fn bearer_token(authorization: Option<&str>, params: &Params) -> Result<Option<String>, Error> {
    if let Some((scheme, token)) = authorization.and_then(|h| h.trim().split_once(' ')) {
        let token = token.trim();
        if scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() {
            return Ok(Some(token.to_string()));
        }
    }
    Ok(params
        .one("access_token")?
        .filter(|t| !t.is_empty())
        .map(str::to_string))
}

/// RFC 6750 §3: the `WWW-Authenticate` value for a refusal, if it takes one. A request
/// without a token gets the bare `Bearer` challenge ("SHOULD NOT include an error code or
/// other error information", §3.1); a bad token or request gets its error code and text.
pub fn challenge(err: &Error) -> Option<String> {
    match err.name.as_ref() {
        "invalid_request" | "invalid_token" | "insufficient_scope" => Some(format!(
            "Bearer error=\"{}\",error_description=\"{}\"",
            err.name,
            quotable(&err.full_description())
        )),
        _ if err.status == 401 => Some("Bearer".to_string()),
        _ => None,
    }
}

/// RFC 6750 §3: `error_description` values "MUST NOT include characters outside the set
/// %x20-21 / %x23-5B / %x5D-7E" (no quote, no backslash, ASCII only).
fn quotable(text: &str) -> String {
    text.chars()
        .filter(|c| matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e'))
        .collect()
}

/// The claims `/userinfo` returns for the access token `record` with `session`.
///
/// With ID-token claims (a grant through consent with `openid`): the consent's custom claims
/// overlaid with `sub` (already the pairwise identifier where one applies, §5.10), `iss`,
/// `aud` = `[client_id]`, `auth_time`, `iat`, `rat` and `acr` when set. `iat` is when the
/// access token was issued: the stored claims carry no consent time.
///
/// Without them (client_credentials): `sub` = the token's subject (the client id), `iss`,
/// `aud` and `iat`. Hydra 1.10.3 omits `sub` there (its session has an empty ID-token
/// subject); OIDC Core §5.3.2 says "The sub (subject) Claim MUST always be returned".
pub fn claims(config: &Config, record: &TokenRecord, session: &Session) -> Map<String, Value> {
    let mut out = Map::new();
    let iss = config.urls.issuer.as_str();
    let aud = json!([record.client_id]);
    let iat = json!(record.requested_at.timestamp());
    let Some(id) = &session.id_token else {
        out.insert("sub".into(), json!(record.subject));
        out.insert("iss".into(), json!(iss));
        out.insert("aud".into(), aud);
        out.insert("iat".into(), iat);
        return out;
    };
    for (name, value) in &id.extra {
        if !crate::oauth2::id_token::RESERVED.contains(&name.as_str()) {
            out.insert(name.clone(), value.clone());
        }
    }
    out.insert("sub".into(), json!(id.subject));
    out.insert("iss".into(), json!(iss));
    out.insert("aud".into(), aud);
    if let Some(auth_time) = id.auth_time {
        out.insert("auth_time".into(), json!(auth_time.timestamp()));
    }
    out.insert("iat".into(), iat);
    out.insert("rat".into(), json!(id.requested_at.timestamp()));
    if !id.acr.is_empty() {
        out.insert("acr".into(), json!(id.acr));
    }
    out
}

/// `GET|POST /userinfo` for the bearer `token`: `missing_token` without one, `invalid_token`
/// unless it is an active access token of an existing client, `server_error` for a signing
/// algorithm other than `none` and `RS256`.
#[tracing::instrument(skip_all)]
pub async fn userinfo<S: ClientStore + TokenStore + KeyStore + Sync>(
    ctx: &Ctx<'_, S>,
    token: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Userinfo, Error> {
    let token = token.filter(|t| !t.is_empty()).ok_or_else(missing_token)?;
    // Refresh tokens are looked up too, only to say why they are refused.
    let order = [TokenKind::Access, TokenKind::Refresh];
    let active = ctx
        .engine
        .find_active(ctx.store, token, &order, now)
        .await?
        .ok_or_else(invalid_token)?;
    if active.kind != TokenKind::Access {
        return Err(
            invalid_token().hint("Only access tokens are allowed in the authorization header.")
        );
    }
    let client = match ctx.store.get_client(&active.record.client_id).await {
        Ok(client) => client,
        Err(StoreError::NotFound) => {
            return Err(invalid_token().hint("The OAuth 2.0 Client of this token no longer exists."))
        }
        Err(e) => return Err(e.into()),
    };
    let claims = claims(ctx.config, &active.record, &active.session);
    match client.data.userinfo_signed_response_alg.as_str() {
        "" | "none" => Ok(Userinfo::Claims(claims)),
        SIGNED_ALG => sign(ctx, claims, now).await.map(Userinfo::Jwt),
        other => Err(Error::server_error()
            .hint(format!("Unsupported userinfo signing algorithm '{other}'."))),
    }
}

/// OIDC Core §5.3.2: a signed response carries `iss` and `aud`; Hydra adds a fresh `jti`
/// and sets `iat` to the time of signing.
async fn sign<S: KeyStore + Sync>(
    ctx: &Ctx<'_, S>,
    mut claims: Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<String, Error> {
    let signer = ctx.keys.signer(ctx.store, ID_TOKEN_SET).await?;
    if signer.alg() != SIGNED_ALG {
        return Err(Error::server_error().debug(format!(
            "the newest key of {ID_TOKEN_SET} signs {}, the client asked for {SIGNED_ALG}",
            signer.alg()
        )));
    }
    claims.insert("jti".into(), json!(random::uuid()));
    claims.insert("iat".into(), json!(now.trunc_subsecs(0).timestamp()));
    signer.sign(&Value::Object(claims))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::IdTokenClaims;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).unwrap()
    }

    fn record(client: &str, subject: &str) -> TokenRecord {
        TokenRecord {
            signature: "sig".into(),
            request_id: "req".into(),
            requested_at: at(1_700_000_050),
            client_id: client.into(),
            requested_scope: vec!["openid".into()],
            granted_scope: vec!["openid".into()],
            subject: subject.into(),
            active: true,
            requested_audience: vec![],
            granted_audience: vec!["https://api.example".into()],
            session_data: String::new(),
            expires_at: None,
            challenge_id: None,
        }
    }

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params {
            params: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn claims_are_the_grants_without_per_token_ones_and_standard_ones_win() {
        let config = Config::for_tests("http://auth.test/base");
        let mut extra = Map::new();
        for (k, v) in [
            ("email", json!("u@example.com")),
            ("sub", json!("spoofed")),
            ("iss", json!("https://evil.example/")),
            ("aud", json!(["other"])),
            ("nonce", json!("n")),
            ("at_hash", json!("h")),
            ("c_hash", json!("h")),
            ("exp", json!(1)),
            ("sid", json!("s")),
            ("jti", json!("j")),
            ("acr", json!("spoofed-acr")),
            ("amr", json!(["pwd"])),
        ] {
            extra.insert(k.into(), v);
        }
        let session = Session {
            id_token: Some(IdTokenClaims {
                subject: "pairwise-sub".into(),
                auth_time: Some(at(1_700_000_000)),
                requested_at: at(1_699_999_990),
                acr: String::new(),
                nonce: "a-nonce-value".into(),
                sid: "session-1".into(),
                extra,
            }),
            ..Session::default()
        };
        let got = claims(&config, &record("app", "user-1"), &session);
        assert_eq!(
            Value::Object(got),
            json!({
                "sub": "pairwise-sub", "iss": "http://auth.test/base/", "aud": ["app"],
                "auth_time": 1_700_000_000, "iat": 1_700_000_050, "rat": 1_699_999_990,
                "email": "u@example.com",
            })
        );
    }

    #[test]
    fn acr_appears_when_set() {
        let config = Config::for_tests("http://auth.test/");
        let session = Session {
            id_token: Some(IdTokenClaims {
                subject: "user-1".into(),
                acr: "urn:acr:1".into(),
                requested_at: at(1),
                ..IdTokenClaims::default()
            }),
            ..Session::default()
        };
        let got = claims(&config, &record("app", "user-1"), &session);
        assert_eq!(got["acr"], "urn:acr:1");
        assert!(got.get("auth_time").is_none());
    }

    #[test]
    fn a_grant_without_id_token_claims_answers_its_subject() {
        let config = Config::for_tests("http://auth.test/");
        let got = claims(&config, &record("svc", "svc"), &Session::default());
        assert_eq!(
            Value::Object(got),
            json!({"sub": "svc", "iss": "http://auth.test/", "aud": ["svc"], "iat": 1_700_000_050})
        );
    }

    #[test]
    fn bearer_token_sources() {
        type Case<'a> = (
            &'a str,
            Option<&'a str>,
            Vec<(&'a str, &'a str)>,
            Option<&'a str>,
        );
        let cases: Vec<Case> = vec![
            ("header", Some("Bearer abc"), vec![], Some("abc")),
            ("scheme case", Some("bEaReR abc"), vec![], Some("abc")),
            (
                "header wins",
                Some("Bearer abc"),
                vec![("access_token", "def")],
                Some("abc"),
            ),
            (
                "parameter",
                None,
                vec![("access_token", "def")],
                Some("def"),
            ),
            (
                "basic falls back",
                Some("Basic eDp5"),
                vec![("access_token", "def")],
                Some("def"),
            ),
            (
                "empty bearer falls back",
                Some("Bearer "),
                vec![("access_token", "def")],
                Some("def"),
            ),
            ("nothing", None, vec![], None),
            ("empty parameter", None, vec![("access_token", "")], None),
            ("other scheme only", Some("Basic eDp5"), vec![], None),
        ];
        for (name, header, pairs, want) in cases {
            let got = bearer_token(header, &params(&pairs)).unwrap();
            assert_eq!(got.as_deref(), want, "{name}");
        }
        let twice = params(&[("access_token", "a"), ("access_token", "b")]);
        let e = bearer_token(None, &twice).unwrap_err();
        assert_eq!((e.name.as_ref(), e.status), ("invalid_request", 400));
    }

    #[test]
    fn challenges_follow_rfc_6750() {
        assert_eq!(challenge(&missing_token()).as_deref(), Some("Bearer"));
        let e = invalid_token().hint("Say \"no\" \\ ä.");
        assert_eq!(
            challenge(&e).as_deref(),
            Some("Bearer error=\"invalid_token\",error_description=\"The access token provided is expired, revoked, malformed, or invalid for other reasons. Say 'no'  .\"")
        );
        assert!(challenge(&Error::invalid_request())
            .unwrap()
            .starts_with("Bearer error=\"invalid_request\","));
        assert_eq!(challenge(&Error::server_error()), None);
    }
}
