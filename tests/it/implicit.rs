//! Implicit and hybrid response types, fragment and form_post delivery (OIDC Core §3.2–3.3,
//! OAuth 2.0 Form Post Response Mode; security-cases A#9, A#14, A#15), on both backends.

use crate::harness::flow::{Browser, FakeApp, Trace};
use crate::harness::TestServer;
use crate::on_both_backends;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const CB: &str = "https://rp.example/cb";
const STATE: &str = "state-0123456789";
const NONCE: &str = "nonce-0123456789";
const TYPES: [&str; 6] = [
    "code",
    "token",
    "id_token",
    "id_token token",
    "code id_token",
    "code token",
];

async fn client(t: &TestServer, id: &str, grant_types: Value) {
    let mut types: Vec<&str> = TYPES.to_vec();
    types.push("code id_token token");
    t.create_client(
        json!({"client_id": id, "client_secret": "a-client-secret-of-some-length",
        "redirect_uris": [CB], "grant_types": grant_types, "response_types": types,
        "scope": "openid offline"}),
    )
    .await;
}

fn query<'a>(
    id: &'a str,
    response_type: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut q = vec![
        ("client_id", id),
        ("response_type", response_type),
        ("redirect_uri", CB),
        ("scope", "openid"),
        ("state", STATE),
        ("nonce", NONCE),
    ];
    q.extend_from_slice(extra);
    q
}

fn half_hash(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(value.as_bytes())[..16])
}

/// The claims of an ID token, after checking its signature against the JWKS.
async fn verified(t: &TestServer, token: &str) -> Value {
    let (_, jwks) = t.public_get("/.well-known/jwks.json").await;
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks).unwrap();
    let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(set.find(&kid).unwrap()).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&["rp"]);
    v.set_issuer(&[t.state.config.urls.issuer.as_str()]);
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .unwrap()
        .claims
}

fn in_fragment(trace: &Trace) -> bool {
    trace.end().query().is_none() && trace.end().fragment().is_some()
}

on_both_backends! {
    async fn every_response_type_delivers_its_artifacts_and_hashes(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "rp", json!(["authorization_code", "implicit", "refresh_token"])).await;
        for rt in TYPES.into_iter().chain(["code id_token token"]) {
            let trace = t.run_flow(&Browser::default(), &t.auth_url(&query("rp", rt, &[])), &FakeApp::default()).await;
            assert!(trace.end().as_str().starts_with(CB), "{rt}: {}", trace.end());
            assert_eq!(trace.param("state").as_deref(), Some(STATE), "{rt}");
            assert_eq!(trace.param("error"), None, "{rt}: {}", trace.end());
            let wants = |p: &str| rt.split(' ').any(|x| x == p);
            assert_eq!(in_fragment(&trace), rt != "code", "{rt}: {}", trace.end());
            assert_eq!(trace.param("code").is_some(), wants("code"), "{rt}");
            assert_eq!(trace.param("access_token").is_some(), wants("token"), "{rt}");
            assert_eq!(trace.param("id_token").is_some(), wants("id_token"), "{rt}");
            assert_eq!(trace.param("refresh_token"), None, "{rt}: never from the authorization endpoint");
            if wants("token") {
                assert_eq!(trace.param("token_type").as_deref(), Some("bearer"));
                let expires_in: i64 = trace.param("expires_in").unwrap().parse().unwrap();
                assert!((3590..=3600).contains(&expires_in), "{expires_in}");
                assert!(t.active(&trace.param("access_token").unwrap()).await, "{rt}");
            }
            if let Some(id_token) = trace.param("id_token") {
                let claims = verified(&t, &id_token).await;
                assert_eq!(claims["nonce"], json!(NONCE), "{rt}");
                assert_eq!(claims["sub"], json!("alice"));
                match trace.param("access_token") {
                    Some(at) => assert_eq!(claims["at_hash"], json!(half_hash(&at)), "{rt}"),
                    None => assert!(claims.get("at_hash").is_none(), "{rt}"),
                }
                match trace.param("code") {
                    Some(code) => assert_eq!(claims["c_hash"], json!(half_hash(&code)), "{rt}"),
                    None => assert!(claims.get("c_hash").is_none(), "{rt}"),
                }
            }
            if let Some(code) = trace.param("code") {
                let r = t.exchange("rp", Some("a-client-secret-of-some-length"), &code, &[("redirect_uri", CB)]).await;
                assert_eq!(r.status, 200, "{rt}: {}", r.body);
            }
        }
    }

    async fn form_post_delivers_escaped_values(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "rp", json!(["authorization_code", "implicit"])).await;
        let evil = "\"><script>alert(1)</script>xx";
        let q = query("rp", "code id_token token", &[("response_mode", "form_post")]);
        let mut q: Vec<(&str, &str)> = q.into_iter().filter(|(k, _)| *k != "state").collect();
        q.push(("state", evil));
        let trace = t.run_flow(&Browser::default(), &t.auth_url(&q), &FakeApp::default()).await;
        assert_eq!(trace.end().as_str(), CB);
        assert!(!trace.html.contains("<script>"), "{}", trace.html);
        assert_eq!(trace.param("state").as_deref(), Some(evil));
        assert!(trace.param("code").is_some() && trace.param("id_token").is_some() && trace.param("access_token").is_some());

        // Errors take the same road, escaped too.
        let app = FakeApp { reject_login: Some(json!({"error": "interaction_required", "error_description": "<b>x</b>"})), ..FakeApp::default() };
        let trace = t.run_flow(&Browser::default(), &t.auth_url(&query("rp", "code", &[("response_mode", "form_post")])), &app).await;
        assert_eq!(trace.param("error").as_deref(), Some("interaction_required"));
        assert!(!trace.html.contains("<b>"), "{}", trace.html);
    }

    async fn nonce_mode_and_grant_rules(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "rp", json!(["authorization_code", "implicit"])).await;
        client(&t, "codeonly", json!(["authorization_code"])).await;
        let browser = Browser::default();
        // OIDC Core §3.2.2.1: no nonce, no ID token from the authorization endpoint.
        for rt in ["id_token", "id_token token", "code id_token"] {
            let q: Vec<_> = query("rp", rt, &[]).into_iter().filter(|(k, _)| *k != "nonce").collect();
            let (_, location) = browser.get(&t.auth_url(&q)).await;
            let location = location.unwrap();
            assert!(location.as_str().starts_with(&format!("{CB}#")), "{rt}: {location}");
            assert!(location.fragment().unwrap().contains("error=invalid_request"), "{rt}: {location}");
        }
        // A code-only request needs no nonce.
        let q: Vec<_> = query("rp", "code", &[]).into_iter().filter(|(k, _)| *k != "nonce").collect();
        let trace = t.run_flow(&browser, &t.auth_url(&q), &FakeApp::default()).await;
        assert!(trace.param("code").is_some(), "{}", trace.end());
        // Tokens never travel in a query string.
        let (_, location) = browser.get(&t.auth_url(&query("rp", "token", &[("response_mode", "query")]))).await;
        let location = location.unwrap();
        assert!(location.query().is_none(), "{location}");
        assert!(location.fragment().unwrap().contains("error=unsupported_response_mode"), "{location}");
        // The implicit grant must be registered.
        let (_, location) = browser.get(&t.auth_url(&query("codeonly", "id_token token", &[]))).await;
        assert!(location.unwrap().fragment().unwrap().contains("error=unauthorized_client"));
        // id_token without openid is not a response type we can serve.
        let q: Vec<_> = query("rp", "id_token", &[]).into_iter().map(|(k, v)| if k == "scope" { (k, "offline") } else { (k, v) }).collect();
        let (_, location) = browser.get(&t.auth_url(&q)).await;
        assert!(location.unwrap().fragment().unwrap().contains("error=unsupported_response_type"));
    }
}
