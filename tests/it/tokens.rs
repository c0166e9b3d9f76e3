//! The token endpoint (client_credentials), client authentication and introspection, on both
//! backends (security-cases groups B, C, F).

use crate::harness::{Resp, TestServer};
use crate::on_both_backends;
use base64::Engine;
use portcullis::config::SecretString;
use reqwest::Method;
use serde_json::{json, Value};

/// Creates a client and returns its secret.
async fn client(t: &TestServer, body: Value) -> String {
    let r = t.admin_call(Method::POST, "/clients", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["client_secret"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn token(t: &TestServer, auth: Option<(&str, &str)>, form: &[(&str, &str)]) -> Resp {
    let mut req = t.http.post(t.public_url("/oauth2/token")).form(form);
    if let Some((id, secret)) = auth {
        req = req.basic_auth(id, Some(secret));
    }
    Resp::read(req.send().await.unwrap()).await
}

async fn introspect(t: &TestServer, form: &[(&str, &str)]) -> Value {
    let r = Resp::read(
        t.http
            .post(t.admin_url("/oauth2/introspect"))
            .form(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

fn svc() -> Value {
    json!({"client_id": "svc", "grant_types": ["client_credentials"], "scope": "read write.* offline",
           "audience": ["https://api.example/v1"]})
}

on_both_backends! {
    async fn client_credentials_with_basic_and_post(backend: Backend) {
        let t = TestServer::start(backend).await;
        let secret = client(&t, svc()).await;
        let r = token(&t, Some(("svc", &secret)), &[("grant_type", "client_credentials"), ("scope", "read write.files"), ("audience", "https://api.example/v1/x")]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.header("cache-control"), "no-store");
        assert_eq!(r.header("pragma"), "no-cache");
        assert_eq!(r.body["token_type"], "bearer");
        assert_eq!(r.body["scope"], "read write.files");
        assert!(r.body.get("refresh_token").is_none() && r.body.get("id_token").is_none());
        let expires_in = r.body["expires_in"].as_i64().unwrap();
        assert!((3590..=3600).contains(&expires_in), "{expires_in}");
        let access = r.body["access_token"].as_str().unwrap().to_string();
        assert_eq!(access.len(), 87);

        let body = introspect(&t, &[("token", &access)]).await;
        let now = t.state.clock.now().timestamp();
        assert_eq!(body["iat"].as_i64().unwrap() / 10, now / 10);
        assert_eq!(without_times(body), json!({
            "active": true, "scope": "read write.files", "client_id": "svc", "sub": "svc",
            "aud": ["https://api.example/v1/x"], "iss": t.state.config.urls.issuer.as_str(),
            "token_type": "Bearer", "token_use": "access_token"
        }));

        // client_secret_post needs a client registered for it.
        let post_secret = client(&t, json!({"client_id": "poster", "grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_post"})).await;
        let r = token(&t, None, &[("grant_type", "client_credentials"), ("client_id", "poster"), ("client_secret", &post_secret)]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["scope"], "", "no scope requested, none granted");
        // ... and the wrong method for each client is refused.
        let r = token(&t, None, &[("grant_type", "client_credentials"), ("client_id", "svc"), ("client_secret", &secret)]).await;
        assert_eq!((r.status, r.body["error"].as_str()), (401, Some("invalid_client")));
        let r = token(&t, Some(("poster", &post_secret)), &[("grant_type", "client_credentials")]).await;
        assert_eq!((r.status, r.body["error"].as_str()), (401, Some("invalid_client")));
        t.stop().await;
    }

    async fn client_authentication_failures(backend: Backend) {
        let t = TestServer::start(backend).await;
        let secret = client(&t, svc()).await;
        let cc = [("grant_type", "client_credentials")];
        let r = token(&t, Some(("svc", "wrong-secret")), &cc).await;
        assert_eq!((r.status, r.body["error"].as_str()), (401, Some("invalid_client")));
        assert!(r.header("www-authenticate").starts_with("Basic"), "RFC 6749 §5.2");
        assert_eq!(r.header("cache-control"), "no-store");
        assert_eq!(r.body.as_object().unwrap().len(), 2);
        let r = token(&t, Some(("nobody", "whatever")), &cc).await;
        assert_eq!((r.status, r.body["error"].as_str()), (401, Some("invalid_client")));
        let r = token(&t, None, &cc).await;
        assert_eq!((r.status, r.body["error"].as_str()), (400, Some("invalid_request")));
        for header in ["Basic !!!notbase64", "Basic bm9jb2xvbg==", "Bearer xyz"] {
            let r = Resp::read(t.http.post(t.public_url("/oauth2/token")).header("authorization", header).form(&cc).send().await.unwrap()).await;
            assert_eq!((r.status, r.body["error"].as_str()), (400, Some("invalid_request")), "{header}");
        }
        // RFC 6749 §2.3.1: id and secret are form-encoded inside the Basic header.
        let odd = client(&t, json!({"client_id": "odd:id ä", "client_secret": "s3cret with spaces+&", "grant_types": ["client_credentials"]})).await;
        let enc = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
        let header = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", enc("odd:id ä"), enc(&odd))));
        let r = Resp::read(t.http.post(t.public_url("/oauth2/token")).header("authorization", header).form(&cc).send().await.unwrap()).await;
        assert_eq!(r.status, 200, "{}", r.body);
        // The verified-secret cache never outlives a secret change.
        assert_eq!(token(&t, Some(("svc", &secret)), &cc).await.status, 200);
        let r = t.admin_call(Method::PUT, "/clients/svc", Some(json!({"grant_types": ["client_credentials"], "client_secret": "a-new-secret-value"}))).await;
        assert_eq!(r.status, 200);
        assert_eq!(token(&t, Some(("svc", &secret)), &cc).await.status, 401, "the old secret no longer works");
        assert_eq!(token(&t, Some(("svc", "a-new-secret-value")), &cc).await.status, 200);
        t.admin_call(Method::DELETE, "/clients/svc", None).await;
        assert_eq!(token(&t, Some(("svc", "a-new-secret-value")), &cc).await.status, 401, "nor does a deleted client");
        t.stop().await;
    }

    async fn grant_and_request_errors(backend: Backend) {
        let t = TestServer::start(backend).await;
        let secret = client(&t, svc()).await;
        let auth = Some(("svc", secret.as_str()));
        type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);
        let cases: Vec<Case> = vec![
            (vec![], 400, "invalid_request"),
            (vec![("grant_type", "password"), ("username", "u"), ("password", "p")], 400, "unsupported_grant_type"),
            (vec![("grant_type", "client_credentials"), ("grant_type", "client_credentials")], 400, "invalid_request"),
            (vec![("grant_type", "client_credentials"), ("scope", "admin")], 400, "invalid_scope"),
            (vec![("grant_type", "client_credentials"), ("scope", "write")], 400, "invalid_scope"),
            (vec![("grant_type", "client_credentials"), ("audience", "https://evil.example/v1")], 400, "invalid_request"),
            (vec![("grant_type", "client_credentials"), ("audience", "https://api.example/v10")], 400, "invalid_request"),
        ];
        for (form, status, error) in cases {
            let r = token(&t, auth, &form).await;
            assert_eq!((r.status, r.body["error"].as_str()), (status, Some(error)), "{form:?}: {}", r.body);
        }
        let code_only = client(&t, json!({"client_id": "web"})).await;
        let r = token(&t, Some(("web", &code_only)), &[("grant_type", "client_credentials")]).await;
        assert_eq!((r.status, r.body["error"].as_str()), (400, Some("unauthorized_client")));
        client(&t, json!({"client_id": "spa", "token_endpoint_auth_method": "none", "grant_types": ["client_credentials"]})).await;
        let r = token(&t, None, &[("grant_type", "client_credentials"), ("client_id", "spa")]).await;
        assert_eq!((r.status, r.body["error"].as_str()), (400, Some("invalid_grant")), "public clients cannot use client_credentials");
        let r = Resp::read(t.http.post(t.public_url("/oauth2/token")).body("%%%").header("content-type", "application/x-www-form-urlencoded").send().await.unwrap()).await;
        assert_eq!(r.status, 400);
        assert_eq!(Resp::read(t.http.get(t.public_url("/oauth2/token")).send().await.unwrap()).await.status, 405);
        t.stop().await;
    }

    async fn introspection_of_inactive_tokens(backend: Backend) {
        let t = TestServer::start(backend).await;
        let secret = client(&t, svc()).await;
        let r = token(&t, Some(("svc", &secret)), &[("grant_type", "client_credentials"), ("scope", "read")]).await;
        let access = r.body["access_token"].as_str().unwrap().to_string();
        let inactive = json!({"active": false});
        assert_eq!(introspect(&t, &[("token", &access), ("scope", "read")]).await["active"], true);
        assert_eq!(introspect(&t, &[("token", &access), ("scope", "write.x")]).await, inactive, "scope not granted");
        let (msg, _) = access.split_once('.').unwrap();
        for garbage in ["garbage", "a.b", &format!("{msg}.AAAA"), "eyJhbGciOiJub25lIn0.e30."] {
            assert_eq!(introspect(&t, &[("token", garbage)]).await, inactive, "{garbage}");
        }
        t.state.clock.advance(chrono::Duration::seconds(3601));
        assert_eq!(introspect(&t, &[("token", &access)]).await, inactive, "expired");
        let r = Resp::read(t.http.post(t.admin_url("/oauth2/introspect")).form(&[("scope", "x")]).send().await.unwrap()).await;
        assert_eq!((r.status, r.body["error"].as_str()), (400, Some("invalid_request")));
        assert_eq!(t.public_get("/oauth2/introspect").await.0, 404, "introspection is admin only");
        t.stop().await;
    }

    async fn parallel_token_requests_all_succeed(backend: Backend) {
        let t = TestServer::start(backend).await;
        let secret = client(&t, svc()).await;
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (http, url, secret) = (t.http.clone(), t.public_url("/oauth2/token"), secret.clone());
                tokio::spawn(async move {
                    let req = http.post(url).basic_auth("svc", Some(secret)).form(&[("grant_type", "client_credentials")]);
                    Resp::read(req.send().await.unwrap()).await
                })
            })
            .collect();
        let mut tokens = Vec::new();
        for task in tasks {
            let r = task.await.unwrap();
            assert_eq!(r.status, 200, "{}", r.body);
            tokens.push(r.body["access_token"].as_str().unwrap().to_string());
        }
        tokens.sort();
        tokens.dedup();
        assert_eq!(tokens.len(), 10);
        t.stop().await;
    }

    async fn secret_rotation_keeps_old_tokens_valid(backend: Backend) {
        let t = TestServer::start(backend).await;
        let secret = client(&t, svc()).await;
        let access = token(&t, Some(("svc", &secret)), &[("grant_type", "client_credentials")]).await.body["access_token"].as_str().unwrap().to_string();
        let old = t.state.config.secrets.system[0].expose().to_string();
        let db = t.stop_keeping_db().await;
        let dsn = db.dsn();
        let t = TestServer::start_on(db, dsn, |c| {
            c.secrets.system = vec![SecretString::new("a-brand-new-system-secret-0123".into()), SecretString::new(old.clone())];
        }).await;
        assert_eq!(introspect(&t, &[("token", &access)]).await["active"], true, "old tokens verify after rotation");
        let fresh = token(&t, Some(("svc", &secret)), &[("grant_type", "client_credentials")]).await;
        assert_eq!(fresh.status, 200);
        t.stop().await;
    }
}

fn without_times(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        for k in ["exp", "iat", "nbf"] {
            o.remove(k);
        }
    }
    v
}

on_both_backends! {
    async fn jwt_access_tokens_verify_and_stay_revocable(backend: Backend) {
        let t = TestServer::start_with(backend, |c| {
            c.strategies.access_token = portcullis::config::AccessTokenStrategy::Jwt;
            c.oauth2.allowed_top_level_claims = vec!["tier".into(), "sub".into()];
        })
        .await;
        let secret = client(&t, svc()).await;
        let r = token(&t, Some(("svc", &secret)), &[("grant_type", "client_credentials"), ("scope", "read"), ("audience", "https://api.example/v1")]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let jwt = r.body["access_token"].as_str().unwrap().to_string();
        assert_eq!(jwt.split('.').count(), 3);
        let jwks: jsonwebtoken::jwk::JwkSet = t.http.get(t.public_url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
        let kid = jsonwebtoken::decode_header(&jwt).unwrap().kid.unwrap();
        let key = jsonwebtoken::DecodingKey::from_jwk(jwks.find(&kid).expect("the access-token key is published")).unwrap();
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        v.set_audience(&["https://api.example/v1"]);
        let claims = jsonwebtoken::decode::<Value>(&jwt, &key, &v).expect("verifies against the JWKS").claims;
        assert_eq!(claims["iss"], t.state.config.urls.issuer.as_str());
        assert_eq!((claims["sub"].as_str(), claims["client_id"].as_str()), (Some("svc"), Some("svc")));
        assert_eq!(claims["scp"], json!(["read"]));
        assert_eq!(claims["ext"], json!({}));
        assert_eq!(claims["nbf"], claims["iat"]);
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 3600);
        assert!(uuid::Uuid::parse_str(claims["jti"].as_str().unwrap()).is_ok());

        let body = introspect(&t, &[("token", &jwt)]).await;
        assert_eq!((body["active"].as_bool(), body["client_id"].as_str()), (Some(true), Some("svc")));
        assert_eq!(t.admin_call(Method::DELETE, "/oauth2/tokens?client_id=svc", None).await.status, 204);
        assert_eq!(introspect(&t, &[("token", &jwt)]).await, json!({"active": false}), "JWTs are revocable through their record");
        t.stop().await;
    }

    async fn discovery_document(backend: Backend) {
        let t = TestServer::start(backend).await;
        let r = Resp::read(t.http.get(t.public_url("/.well-known/openid-configuration")).send().await.unwrap()).await;
        assert_eq!(r.status, 200);
        let issuer = t.state.config.urls.issuer.to_string();
        assert_eq!(r.body["issuer"], issuer);
        assert_eq!(r.body["token_endpoint"], format!("{issuer}oauth2/token"));
        assert_eq!(r.body["revocation_endpoint"], format!("{issuer}oauth2/revoke"));
        assert_eq!(r.body["jwks_uri"], format!("{issuer}.well-known/jwks.json"));
        assert_eq!(r.body["code_challenge_methods_supported"], json!(["S256"]));
        for field in ["authorization_endpoint", "subject_types_supported", "response_types_supported", "id_token_signing_alg_values_supported"] {
            assert!(!r.body[field].is_null(), "required by the SDK: {field}");
        }
        assert!(r.body.as_object().unwrap().values().all(|v| !v.is_null()), "no nulls");
        t.stop().await;
    }
}
