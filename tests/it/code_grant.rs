//! The authorization code grant at the token endpoint, PKCE and ID tokens on both backends
//! (security-cases groups B, D, E #64, N #130). Codes are minted through the engine, as the
//! authorization endpoint does once consent is given, so these tests do not depend on it.

use crate::harness::{Resp, TestServer};
use crate::on_both_backends;
use chrono::{Duration, SubsecRound};
use portcullis::oauth2::id_token::half_hash;
use portcullis::oauth2::pkce::s256;
use portcullis::token::{CodeBinding, Grant, IdTokenClaims};
use reqwest::Method;
use serde_json::{json, Value};

const SECRET: &str = "the-client-secret";
const REDIRECT: &str = "https://app.example/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// Registers a client; `extra` overrides the defaults (a confidential client with both grants).
async fn client(t: &TestServer, id: &str, extra: Value) {
    let mut body = json!({
        "client_id": id, "client_secret": SECRET, "redirect_uris": [REDIRECT],
        "scope": "openid offline offline_access read",
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    if body["token_endpoint_auth_method"] == "none" {
        body.as_object_mut().unwrap().remove("client_secret");
    }
    let r = t.admin_call(Method::POST, "/clients", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

/// What the authorization endpoint records for a consent: ID-token claims when `openid` is
/// granted.
fn grant(t: &TestServer, client: &str, scope: &[&str]) -> Grant {
    let now = t.state.clock.now();
    let mut g = Grant::new(client, "user-1", now);
    g.request_id = uuid::Uuid::new_v4().simple().to_string();
    g.requested_scope = scope.iter().map(|s| s.to_string()).collect();
    g.granted_scope = g.requested_scope.clone();
    g.ext.insert("tier".into(), json!("gold"));
    if scope.contains(&"openid") {
        let mut extra = serde_json::Map::new();
        extra.insert("email".into(), json!("user-1@example.com"));
        extra.insert("sub".into(), json!("not-the-subject"));
        g.id_token = Some(IdTokenClaims {
            subject: "user-1".into(),
            auth_time: Some((now - Duration::seconds(60)).trunc_subsecs(0)),
            requested_at: (now - Duration::seconds(90)).trunc_subsecs(0),
            acr: "urn:acr:password".into(),
            nonce: "the-nonce-1234".into(),
            sid: "4a1c1b5e-0000-4000-8000-000000000001".into(),
            extra,
        });
    }
    g
}

fn bound(redirect: Option<&str>, verifier: Option<&str>) -> CodeBinding {
    CodeBinding {
        redirect_uri: redirect.map(str::to_string),
        code_challenge: verifier.map(s256).unwrap_or_default(),
    }
}

async fn issue(t: &TestServer, g: &Grant, binding: CodeBinding) -> String {
    let now = t.state.clock.now();
    t.state
        .engine
        .issue_code(&t.state.db, g, binding, now)
        .await
        .unwrap()
        .token
}

/// A code for an `openid` grant bound to the challenge of [`VERIFIER`].
async fn pkce_code(t: &TestServer, client: &str) -> String {
    issue(
        t,
        &grant(t, client, &["openid"]),
        bound(None, Some(VERIFIER)),
    )
    .await
}

/// `POST /oauth2/token` with `grant_type=authorization_code`; Basic auth unless `client` is
/// the public client `"spa"` (then `client_id` in the form).
async fn exchange(t: &TestServer, client: &str, code: &str, extra: &[(&str, &str)]) -> Resp {
    let mut form = vec![("grant_type", "authorization_code"), ("code", code)];
    form.extend_from_slice(extra);
    let req = t.http.post(t.public_url("/oauth2/token"));
    let req = if client == "spa" {
        form.push(("client_id", "spa"));
        req
    } else {
        req.basic_auth(client, Some(SECRET))
    };
    Resp::read(req.form(&form).send().await.unwrap()).await
}

fn with_redirect() -> [(&'static str, &'static str); 1] {
    [("redirect_uri", REDIRECT)]
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_string()
}

fn err(r: &Resp) -> (u16, &str) {
    (r.status, r.body["error"].as_str().unwrap_or_default())
}

/// The ID token's claims after checking its signature (by `kid` in the public JWKS), `alg`,
/// `aud`, `iss` and `exp` with `jsonwebtoken`.
async fn verified(t: &TestServer, token: &str, client: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    let kid = header.kid.unwrap();
    assert!(kid.starts_with("public:"), "{kid}");
    let (status, jwks) = t.public_get("/.well-known/jwks.json").await;
    assert_eq!(status, 200);
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(set.find(&kid).unwrap()).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[client]);
    v.set_issuer(&[format!("{}/", t.public)]);
    v.set_required_spec_claims(&["exp", "iat", "iss", "sub", "aud"]);
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .unwrap()
        .claims
}

on_both_backends! {
    async fn code_exchange_issues_tokens_and_a_verifiable_id_token(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "app", json!({})).await;
        let g = grant(&t, "app", &["openid", "offline", "read"]);
        let code = issue(&t, &g, bound(Some(REDIRECT), None)).await;
        let r = exchange(&t, "app", &code, &with_redirect()).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!((r.header("cache-control"), r.header("pragma")), ("no-store", "no-cache"));
        assert_eq!((r.body["token_type"].as_str(), r.body["scope"].as_str()), (Some("bearer"), Some("openid offline read")));
        assert!(matches!(r.body["expires_in"].as_i64(), Some(3599..=3600)), "{}", r.body);
        let (access, refresh, id) = (s(&r.body, "access_token"), s(&r.body, "refresh_token"), s(&r.body, "id_token"));
        assert_eq!((access.len(), refresh.len()), (87, 87));

        let claims = verified(&t, &id, "app").await;
        let c = g.id_token.as_ref().unwrap();
        assert_eq!(claims["sub"], "user-1", "consent's extra claims never override sub");
        assert_eq!(claims["aud"], json!(["app"]));
        assert_eq!(claims["nonce"], "the-nonce-1234");
        assert_eq!(claims["at_hash"], half_hash("RS256", &access));
        assert_eq!(claims["auth_time"], c.auth_time.unwrap().timestamp());
        assert_eq!(claims["rat"], c.requested_at.timestamp());
        assert_eq!((claims["acr"].as_str(), claims["sid"].as_str()), (Some("urn:acr:password"), Some(c.sid.as_str())));
        assert_eq!(claims["email"], "user-1@example.com");
        assert_eq!(claims["iat"], t.state.clock.now().timestamp());
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 3600);
        assert_eq!(claims["jti"].as_str().unwrap().len(), 36);
        assert!(claims.get("c_hash").is_none());

        let intro = t.introspect(&access).await;
        assert_eq!((intro["active"].as_bool(), intro["token_use"].as_str()), (Some(true), Some("access_token")));
        assert_eq!((intro["sub"].as_str(), intro["client_id"].as_str()), (Some("user-1"), Some("app")));
        assert_eq!(intro["ext"], json!({"tier": "gold"}));
        assert!(t.active(&refresh).await);

        // No openid: no ID token; no offline: no refresh token.
        let code = issue(&t, &grant(&t, "app", &["read"]), bound(None, None)).await;
        let r = exchange(&t, "app", &code, &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.get("id_token").is_none() && r.body.get("refresh_token").is_none(), "{}", r.body);
        assert_eq!(r.body["scope"], "read");
        // offline granted, but the client lacks the refresh_token grant.
        client(&t, "norefresh", json!({"grant_types": ["authorization_code"]})).await;
        let code = issue(&t, &grant(&t, "norefresh", &["offline_access"]), bound(None, None)).await;
        let r = exchange(&t, "norefresh", &code, &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.get("refresh_token").is_none(), "{}", r.body);
        t.stop().await;
    }

    async fn code_exchange_refusals(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "app", json!({})).await;
        client(&t, "other", json!({})).await;
        let code = issue(&t, &grant(&t, "app", &["openid"]), bound(Some(REDIRECT), None)).await;

        // Another client's code: refused before it is spent, so its client still redeems it.
        assert_eq!(err(&exchange(&t, "other", &code, &with_redirect()).await), (400, "invalid_grant"));
        // redirect_uri bound at the authorization request: required and identical.
        assert_eq!(err(&exchange(&t, "app", &code, &[]).await), (400, "invalid_grant"));
        assert_eq!(err(&exchange(&t, "app", &code, &[("redirect_uri", "https://app.example/other")]).await), (400, "invalid_grant"));
        assert_eq!(exchange(&t, "app", &code, &with_redirect()).await.status, 200);

        // No redirect_uri bound: absent or the registered one.
        let code = issue(&t, &grant(&t, "app", &["read"]), bound(None, None)).await;
        assert_eq!(err(&exchange(&t, "app", &code, &[("redirect_uri", "https://evil.example/cb")]).await), (400, "invalid_grant"));
        assert_eq!(exchange(&t, "app", &code, &with_redirect()).await.status, 200);

        // Garbage, forged and missing codes.
        let forged = format!("{}.{}", "A".repeat(43), "B".repeat(43));
        for bad in ["garbage", "a.b", forged.as_str()] {
            assert_eq!(err(&exchange(&t, "app", bad, &[]).await), (400, "invalid_grant"), "{bad}");
        }
        assert_eq!(err(&exchange(&t, "app", "", &[]).await), (400, "invalid_request"));
        let refresh = issue(&t, &grant(&t, "app", &["read"]), bound(None, None)).await;
        let r = Resp::read(t.http.post(t.public_url("/oauth2/token")).basic_auth("app", Some(SECRET))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())]).send().await.unwrap()).await;
        assert_eq!(err(&r), (400, "invalid_grant"), "a code is not a refresh token");

        // The client must be registered for the grant.
        client(&t, "cc", json!({"grant_types": ["client_credentials"]})).await;
        let code = issue(&t, &grant(&t, "cc", &["read"]), bound(None, None)).await;
        assert_eq!(err(&exchange(&t, "cc", &code, &[]).await), (400, "unauthorized_client"));

        // ttl.auth_code is 10 minutes.
        let code = issue(&t, &grant(&t, "app", &["read"]), bound(None, None)).await;
        t.state.clock.advance(Duration::minutes(10) + Duration::seconds(1));
        assert_eq!(err(&exchange(&t, "app", &code, &[]).await), (400, "invalid_grant"));
        t.stop().await;
    }

    async fn pkce_s256(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "spa", json!({"token_endpoint_auth_method": "none"})).await;
        client(&t, "app", json!({})).await;
        let code = pkce_code(&t, "spa").await;
        let r = exchange(&t, "spa", &code, &[("code_verifier", VERIFIER)]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        verified(&t, &s(&r.body, "id_token"), "spa").await;

        let code = pkce_code(&t, "spa").await;
        assert_eq!(err(&exchange(&t, "spa", &code, &[]).await), (400, "invalid_grant"), "challenge without verifier");
        let code = pkce_code(&t, "app").await;
        let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj";
        assert_eq!(err(&exchange(&t, "app", &code, &[("code_verifier", wrong)]).await), (400, "invalid_grant"));
        assert_eq!(err(&exchange(&t, "app", &code, &[("code_verifier", VERIFIER)]).await), (400, "invalid_grant"), "one wrong verifier burns the code");
        let short = &VERIFIER[..42];
        let code = pkce_code(&t, "spa").await;
        assert_eq!(err(&exchange(&t, "spa", &code, &[("code_verifier", short)]).await), (400, "invalid_grant"), "42 characters");

        // Downgrade: a verifier for a code issued without a challenge.
        let code = issue(&t, &grant(&t, "spa", &["openid"]), bound(None, None)).await;
        assert_eq!(err(&exchange(&t, "spa", &code, &[("code_verifier", VERIFIER)]).await), (400, "invalid_grant"));
        // The verifier of flow A does not redeem the code of flow B.
        let other = "x".repeat(43);
        let code = issue(&t, &grant(&t, "spa", &["openid"]), bound(None, Some(&other))).await;
        assert_eq!(err(&exchange(&t, "spa", &code, &[("code_verifier", VERIFIER)]).await), (400, "invalid_grant"));
        t.stop().await;
    }

    async fn code_reuse_revokes_every_token_issued_from_it(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "app", json!({})).await;
        let code = issue(&t, &grant(&t, "app", &["openid", "offline"]), bound(None, None)).await;
        let r = exchange(&t, "app", &code, &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let (access, refresh) = (s(&r.body, "access_token"), s(&r.body, "refresh_token"));
        assert!(t.active(&access).await && t.active(&refresh).await);
        t.state.clock.advance(Duration::seconds(30));
        let again = exchange(&t, "app", &code, &[]).await;
        assert_eq!(err(&again), (400, "invalid_grant"));
        assert!(!again.body["error_description"].as_str().unwrap().contains(['\r', '\n', '\t']));
        assert!(!t.active(&access).await, "the first exchange's access token is revoked");
        assert!(!t.active(&refresh).await, "and its refresh token");
        let r = Resp::read(t.http.post(t.public_url("/oauth2/token")).basic_auth("app", Some(SECRET))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())]).send().await.unwrap()).await;
        assert!(r.status == 400 || r.status == 401, "{}", r.body);
        t.stop().await;
    }

    async fn parallel_exchanges_of_one_code_have_exactly_one_winner(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "app", json!({})).await;
        let code = issue(&t, &grant(&t, "app", &["openid", "offline"]), bound(None, None)).await;
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (http, url, code) = (t.http.clone(), t.public_url("/oauth2/token"), code.clone());
                tokio::spawn(async move {
                    let form = [("grant_type", "authorization_code"), ("code", code.as_str())];
                    Resp::read(http.post(url).basic_auth("app", Some(SECRET)).form(&form).send().await.unwrap()).await
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            let r = task.await.unwrap();
            match r.status {
                200 => winners.push((s(&r.body, "access_token"), s(&r.body, "refresh_token"))),
                _ => assert_eq!(err(&r), (400, "invalid_grant"), "{}", r.body),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one success");
        // Every loser presented a code that had been used: the winner's tokens are revoked.
        let (access, refresh) = &winners[0];
        assert!(!t.active(access).await && !t.active(refresh).await);
        t.stop().await;
    }

    async fn refresh_returns_a_new_id_token_for_openid_grants(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "app", json!({})).await;
        let code = issue(&t, &grant(&t, "app", &["openid", "offline"]), bound(None, None)).await;
        let r = exchange(&t, "app", &code, &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let first = verified(&t, &s(&r.body, "id_token"), "app").await;
        t.state.clock.advance(Duration::seconds(10));
        let refresh = |token: String| {
            let t = &t;
            async move {
                Resp::read(t.http.post(t.public_url("/oauth2/token")).basic_auth("app", Some(SECRET))
                    .form(&[("grant_type", "refresh_token"), ("refresh_token", token.as_str())]).send().await.unwrap()).await
            }
        };
        let r = refresh(s(&r.body, "refresh_token")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let second = verified(&t, &s(&r.body, "id_token"), "app").await;
        for same in ["iss", "sub", "aud", "auth_time", "rat", "acr", "sid", "email"] {
            assert_eq!(first[same], second[same], "{same}");
        }
        assert_eq!(second["iat"].as_i64().unwrap(), first["iat"].as_i64().unwrap() + 10);
        assert_ne!(first["jti"], second["jti"]);
        assert_eq!(second["at_hash"], half_hash("RS256", &s(&r.body, "access_token")));
        assert!(second.get("nonce").is_none(), "the nonce is not repeated on refresh");

        // A grant without openid refreshes without an ID token.
        let code = issue(&t, &grant(&t, "app", &["offline"]), bound(None, None)).await;
        let r = exchange(&t, "app", &code, &[]).await;
        let r = refresh(s(&r.body, "refresh_token")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.get("id_token").is_none());
        t.stop().await;
    }

    async fn jwt_access_tokens_from_codes(backend: Backend) {
        let t = TestServer::start_with(backend, |c| {
            c.strategies.access_token = portcullis::config::AccessTokenStrategy::Jwt;
        })
        .await;
        client(&t, "app", json!({})).await;
        let code = issue(&t, &grant(&t, "app", &["openid"]), bound(None, None)).await;
        let r = exchange(&t, "app", &code, &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let access = s(&r.body, "access_token");
        assert_eq!(access.split('.').count(), 3, "a JWT");
        assert!(t.active(&access).await);
        let claims = verified(&t, &s(&r.body, "id_token"), "app").await;
        assert_eq!(claims["at_hash"], half_hash("RS256", &access));
        assert_eq!(err(&exchange(&t, "app", &code, &[]).await), (400, "invalid_grant"));
        assert!(!t.active(&access).await, "reuse revokes JWT access tokens too");
        t.stop().await;
    }
}
