//! `GET|POST /userinfo` and the discovery document on both backends (hydra-reference §2.2,
//! §3.12, §3.15). Grants with ID-token claims are seeded through the engine, as consent
//! would record them.

use crate::harness::{Resp, TestServer};
use crate::on_both_backends;
use chrono::{DateTime, Duration, Utc};
use portcullis::token::{Grant, IdTokenClaims};
use reqwest::Method;
use serde_json::{json, Map, Value};

const SECRET: &str = "the-client-secret";

async fn client(t: &TestServer, id: &str, extra: Value) -> Value {
    let mut body = json!({"client_id": id, "client_secret": SECRET, "scope": "openid offline",
        "grant_types": ["authorization_code", "refresh_token"]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = t.admin_call(Method::POST, "/clients", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

fn at(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

/// The ID-token part of a grant as consent records it: a (pairwise) `sub` that differs from
/// the login subject, custom claims, and custom claims that try to replace standard ones.
fn id_claims(now: DateTime<Utc>) -> IdTokenClaims {
    let mut extra = Map::new();
    for (k, v) in [
        ("email", json!("u@example.com")),
        ("groups", json!(["a", "b"])),
        ("sub", json!("spoofed")),
        ("iss", json!("https://evil.example/")),
        ("aud", json!(["evil"])),
        ("iat", json!(1)),
        ("auth_time", json!(1)),
        ("rat", json!(1)),
        ("acr", json!("spoofed")),
        ("nonce", json!("spoofed-nonce")),
        ("at_hash", json!("x")),
        ("c_hash", json!("x")),
        ("exp", json!(1)),
        ("sid", json!("spoofed-sid")),
        ("jti", json!("spoofed-jti")),
    ] {
        extra.insert(k.into(), v);
    }
    IdTokenClaims {
        subject: "pairwise-3f2a".into(),
        auth_time: Some(now - Duration::seconds(30)),
        requested_at: now - Duration::seconds(40),
        acr: "urn:acr:2".into(),
        nonce: "the-request-nonce".into(),
        sid: "login-session-1".into(),
        extra,
    }
}

fn grant(client_id: &str, now: DateTime<Utc>, id_token: Option<IdTokenClaims>) -> Grant {
    let mut g = Grant::new(client_id, "user-1", now);
    g.requested_scope = vec!["openid".into(), "offline".into()];
    g.granted_scope = g.requested_scope.clone();
    g.id_token = id_token;
    g.ext.insert("never".into(), json!("in userinfo"));
    g
}

async fn access_token(t: &TestServer, g: &Grant) -> String {
    let now = t.state.clock.now();
    t.state
        .engine
        .issue_access_token(&t.state.db, g, now)
        .await
        .unwrap()
        .token
}

/// What `/userinfo` must answer for `id_claims` issued to `client_id` at `now`.
fn expected(t: &TestServer, client_id: &str, now: DateTime<Utc>) -> Value {
    json!({
        "sub": "pairwise-3f2a", "iss": t.state.config.urls.issuer.as_str(), "aud": [client_id],
        "auth_time": at(now) - 30, "iat": at(now), "rat": at(now) - 40, "acr": "urn:acr:2",
        "email": "u@example.com", "groups": ["a", "b"],
    })
}

async fn get_with(t: &TestServer, authorization: &str) -> Resp {
    let req = t
        .http
        .get(t.public_url("/userinfo"))
        .header("authorization", authorization);
    Resp::read(req.send().await.unwrap()).await
}

async fn bearer(t: &TestServer, token: &str) -> Resp {
    get_with(t, &format!("Bearer {token}")).await
}

/// A refusal: status, error code and the RFC 6750 challenge naming that code.
fn assert_refused(r: &Resp, status: u16, error: &str) {
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (status, Some(error)),
        "{}",
        r.body
    );
    assert_eq!(r.body.as_object().unwrap().len(), 2, "{}", r.body);
    let challenge = r.header("www-authenticate");
    assert!(
        challenge.starts_with(&format!("Bearer error=\"{error}\",error_description=\"")),
        "{challenge}"
    );
}

on_both_backends! {
    async fn userinfo_answers_the_grants_claims_for_every_token_source(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "app", json!({})).await;
        let now = t.state.clock.now();
        let token = access_token(&t, &grant("app", now, Some(id_claims(now)))).await;
        let want = expected(&t, "app", now);

        let url = t.public_url("/userinfo");
        let requests = [
            ("GET, Bearer header", t.http.get(&url).header("authorization", format!("Bearer {token}"))),
            ("POST, Bearer header", t.http.post(&url).header("authorization", format!("Bearer {token}"))),
            ("GET, lowercase scheme", t.http.get(&url).header("authorization", format!("bearer {token}"))),
            ("GET, query parameter", t.http.get(format!("{url}?access_token={token}"))),
            ("POST, form parameter", t.http.post(&url).form(&[("access_token", token.as_str())])),
            ("POST, other scheme, form", t.http.post(&url).basic_auth("app", Some(SECRET)).form(&[("access_token", token.as_str())])),
        ];
        for (name, req) in requests {
            let r = Resp::read(req.send().await.unwrap()).await;
            assert_eq!(r.status, 200, "{name}: {}", r.body);
            assert_eq!(r.header("content-type"), "application/json; charset=utf-8", "{name}");
            assert_eq!(r.body, want, "{name}");
        }
        // A JSON body is no token source (RFC 6750 §2.2: only a form body is).
        let r = Resp::read(t.http.post(&url).json(&json!({"access_token": token})).send().await.unwrap()).await;
        assert_eq!((r.status, r.body["error"].as_str()), (401, Some("request_unauthorized")));
        t.stop().await;
    }

    async fn signed_userinfo_is_a_jwt_from_the_id_token_key(backend: Backend) {
        let t = TestServer::start(backend).await;
        let created = client(&t, "signed", json!({"userinfo_signed_response_alg": "RS256"})).await;
        assert_eq!(created["userinfo_signed_response_alg"], "RS256");
        let issued_at = t.state.clock.now();
        let token = access_token(&t, &grant("signed", issued_at, Some(id_claims(issued_at)))).await;
        t.state.clock.advance(Duration::seconds(100));
        let now = t.state.clock.now();

        let res = t.http.post(t.public_url("/userinfo")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/jwt");
        let jwt = res.text().await.unwrap();
        let header = jsonwebtoken::decode_header(&jwt).unwrap();
        assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
        let kid = header.kid.expect("a kid");
        assert!(kid.starts_with("public:"), "{kid}");
        // The kid is the newest key of the ID-token set.
        let signer = t.state.keys.signer(&t.state.db, portcullis::jwk::ID_TOKEN_SET).await.unwrap();
        assert_eq!(kid, signer.kid());

        let jwks: jsonwebtoken::jwk::JwkSet = t.http.get(t.public_url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
        let key = jsonwebtoken::DecodingKey::from_jwk(jwks.find(&kid).expect("published in the JWKS")).unwrap();
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        v.set_audience(&["signed"]);
        v.set_issuer(&[t.state.config.urls.issuer.as_str()]);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        let mut claims = jsonwebtoken::decode::<Value>(&jwt, &key, &v).expect("verifies against the JWKS").claims;
        let obj = claims.as_object_mut().unwrap();
        let jti = obj.remove("jti").expect("a jti");
        assert!(uuid::Uuid::parse_str(jti.as_str().unwrap()).is_ok(), "{jti}");
        let mut want = expected(&t, "signed", issued_at);
        want["iat"] = json!(at(now));
        assert_eq!(claims, want, "iat is the time of signing");

        // A fresh jti on every answer.
        let again = t.http.get(t.public_url("/userinfo")).bearer_auth(&token).send().await.unwrap().text().await.unwrap();
        let again = jsonwebtoken::decode::<Value>(&again, &key, &v).unwrap().claims;
        assert_ne!(again["jti"], jti);
        t.stop().await;
    }

    async fn userinfo_refuses_what_is_not_an_active_access_token(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "app", json!({})).await;
        let now = t.state.clock.now();
        let g = grant("app", now, Some(id_claims(now)));
        let token = access_token(&t, &g).await;
        let refresh = t.state.engine.issue_refresh_token(&t.state.db, &g, now).await.unwrap().token;

        // No token at all: the bare challenge (RFC 6750 §3.1), fosite's request_unauthorized.
        for req in [t.http.get(t.public_url("/userinfo")), t.http.post(t.public_url("/userinfo")).form(&[("x", "y")])] {
            let r = Resp::read(req.send().await.unwrap()).await;
            assert_eq!((r.status, r.body["error"].as_str()), (401, Some("request_unauthorized")), "{}", r.body);
            assert_eq!(r.header("www-authenticate"), "Bearer");
            assert_eq!(r.header("content-type"), "application/json");
        }
        let r = get_with(&t, "Bearer ").await;
        assert_eq!((r.status, r.header("www-authenticate")), (401, "Bearer"));

        let r = bearer(&t, &refresh).await;
        assert_refused(&r, 401, "invalid_token");
        assert!(r.body["error_description"].as_str().unwrap().contains("Only access tokens"), "{}", r.body);

        let (msg, _) = token.split_once('.').unwrap();
        for garbage in ["garbage", "a.b", &format!("{msg}.AAAA"), "eyJhbGciOiJub25lIn0.e30.", &format!("{token}x")] {
            assert_refused(&bearer(&t, garbage).await, 401, "invalid_token");
        }

        let r = Resp::read(t.http.get(t.public_url("/userinfo?access_token=a&access_token=b")).send().await.unwrap()).await;
        assert_refused(&r, 400, "invalid_request");

        assert_eq!(bearer(&t, &token).await.status, 200);
        t.state.clock.advance(Duration::seconds(3601));
        assert_refused(&bearer(&t, &token).await, 401, "invalid_token");
        t.stop().await;
    }

    async fn userinfo_refuses_a_revoked_token(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "app", json!({})).await;
        let now = t.state.clock.now();
        let token = access_token(&t, &grant("app", now, Some(id_claims(now)))).await;
        assert_eq!(bearer(&t, &token).await.status, 200);
        let r = Resp::read(t.http.post(t.public_url("/oauth2/revoke")).basic_auth("app", Some(SECRET)).form(&[("token", token.as_str())]).send().await.unwrap()).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_refused(&bearer(&t, &token).await, 401, "invalid_token");

        // A token whose client is gone is refused as well.
        let other = access_token(&t, &grant("app", now, Some(id_claims(now)))).await;
        assert_eq!(t.admin_call(Method::DELETE, "/clients/app", None).await.status, 204);
        assert_refused(&bearer(&t, &other).await, 401, "invalid_token");
        t.stop().await;
    }

    async fn userinfo_for_a_client_credentials_token(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "svc", json!({"grant_types": ["client_credentials"], "scope": "read"})).await;
        let r = Resp::read(t.http.post(t.public_url("/oauth2/token")).basic_auth("svc", Some(SECRET)).form(&[("grant_type", "client_credentials"), ("scope", "read")]).send().await.unwrap()).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let token = r.body["access_token"].as_str().unwrap().to_string();
        let r = bearer(&t, &token).await;
        assert_eq!(r.status, 200, "{}", r.body);
        // OIDC Core §5.3.2: sub always; it is the client (Hydra 1.10.3 sent no sub here).
        assert_eq!(r.body, json!({
            "sub": "svc", "iss": t.state.config.urls.issuer.as_str(), "aud": ["svc"],
            "iat": at(t.state.clock.now()),
        }));
        t.stop().await;
    }

    async fn userinfo_is_cors_aware(backend: Backend) {
        let t = TestServer::start_with(backend, |c| {
            c.serve.public.cors.enabled = true;
            c.serve.public.cors.allowed_origins = vec!["https://app.example.com".into()];
        }).await;
        let preflight = t.http.request(Method::OPTIONS, t.public_url("/userinfo"))
            .header("origin", "https://app.example.com")
            .header("access-control-request-method", "GET")
            .send().await.unwrap();
        assert_eq!(preflight.headers()["access-control-allow-origin"], "https://app.example.com");
        let r = t.http.get(t.public_url("/userinfo")).header("origin", "https://app.example.com").send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()["access-control-allow-origin"], "https://app.example.com");
        t.stop().await;
    }

    async fn discovery_advertises_what_is_served(backend: Backend) {
        let t = TestServer::start(backend).await;
        let r = Resp::read(t.http.get(t.public_url("/.well-known/openid-configuration")).send().await.unwrap()).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), "application/json; charset=utf-8");
        let issuer = t.state.config.urls.issuer.to_string();
        assert!(issuer.ends_with('/') && !issuer.ends_with("//"), "{issuer}");
        assert_eq!(r.body, json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}oauth2/auth"),
            "token_endpoint": format!("{issuer}oauth2/token"),
            "jwks_uri": format!("{issuer}.well-known/jwks.json"),
            "subject_types_supported": ["public"],
            "response_types_supported": ["code", "code id_token", "id_token", "token id_token", "token", "token id_token code"],
            "claims_supported": ["sub"],
            "grant_types_supported": ["authorization_code", "implicit", "client_credentials", "refresh_token"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "userinfo_endpoint": format!("{issuer}userinfo"),
            "scopes_supported": ["offline_access", "offline", "openid"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "private_key_jwt", "none"],
            "userinfo_signing_alg_values_supported": ["none", "RS256"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "require_request_uri_registration": true,
            "claims_parameter_supported": false,
            "revocation_endpoint": format!("{issuer}oauth2/revoke"),
            "backchannel_logout_supported": true,
            "backchannel_logout_session_supported": true,
            "frontchannel_logout_supported": true,
            "frontchannel_logout_session_supported": true,
            "end_session_endpoint": format!("{issuer}oauth2/sessions/logout"),
            "code_challenge_methods_supported": ["S256"],
        }));
        // Every advertised endpoint of this listener exists (none answers 404).
        for field in ["token_endpoint", "userinfo_endpoint", "jwks_uri", "revocation_endpoint", "authorization_endpoint"] {
            let res = t.http.get(r.body[field].as_str().unwrap()).send().await.unwrap();
            assert_ne!(res.status(), 404, "{field}");
        }
        t.stop().await;
    }

    async fn discovery_honours_webfinger_overrides(backend: Backend) {
        let t = TestServer::start_with(backend, |c| {
            let d = &mut c.webfinger.oidc_discovery;
            d.auth_url = Some("https://login.example/auth".into());
            d.token_url = Some("https://login.example/token".into());
            d.jwks_url = Some("https://login.example/jwks.json".into());
            d.userinfo_url = Some("https://login.example/me".into());
            d.client_registration_url = Some("https://login.example/register".into());
            d.supported_claims = vec!["email".into(), "sub".into(), "email_verified".into()];
            d.supported_scope = vec!["email".into(), "openid".into(), "profile".into()];
            c.oidc.subject_identifiers.supported_types = vec!["pairwise".into(), "public".into()];
            c.oidc.subject_identifiers.pairwise.salt = "a-long-enough-salt".into();
        }).await;
        let r = Resp::read(t.http.get(t.public_url("/.well-known/openid-configuration")).send().await.unwrap()).await;
        assert_eq!(r.status, 200);
        let b = &r.body;
        assert_eq!(b["authorization_endpoint"], "https://login.example/auth");
        assert_eq!(b["token_endpoint"], "https://login.example/token");
        assert_eq!(b["jwks_uri"], "https://login.example/jwks.json");
        assert_eq!(b["userinfo_endpoint"], "https://login.example/me");
        assert_eq!(b["registration_endpoint"], "https://login.example/register");
        assert_eq!(b["claims_supported"], json!(["sub", "email", "email_verified"]));
        assert_eq!(b["scopes_supported"], json!(["offline_access", "offline", "openid", "email", "profile"]));
        assert_eq!(b["subject_types_supported"], json!(["pairwise", "public"]));
        let issuer = t.state.config.urls.issuer.to_string();
        assert_eq!(b["revocation_endpoint"], format!("{issuer}oauth2/revoke"), "no override key");
        assert_eq!(b["end_session_endpoint"], format!("{issuer}oauth2/sessions/logout"));
        t.stop().await;
    }
}
