//! The authorization code flow end to end (security-cases groups A, D, G, K, L): a browser
//! with cookies, the fake login/consent app answering through the admin API, the code
//! exchanged at the token endpoint, ID tokens checked by an independent JWT library against
//! the published JWKS. Every case on SQLite and PostgreSQL.

use crate::harness::flow::{Browser, FakeApp, Trace};
use crate::harness::TestServer;
use crate::on_both_backends;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const SECRET: &str = "a-client-secret-of-some-length";
const CB: &str = "http://127.0.0.1:5555/cb";
const STATE: &str = "state-0123456789";
const NONCE: &str = "nonce-0123456789";

/// A confidential client `id` (client_secret_basic) for the code flow with refresh.
async fn client(t: &TestServer, id: &str, extra: Value) -> Value {
    let mut body = json!({"client_id": id, "client_secret": SECRET,
        "redirect_uris": [CB, "https://app.example/cb"],
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
        "scope": "openid offline profile email read.*", "audience": ["https://api.example/"]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    t.create_client(body).await
}

fn auth_query<'a>(id: &'a str, scope: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("client_id", id),
        ("response_type", "code"),
        ("redirect_uri", CB),
        ("scope", scope),
        ("state", STATE),
        ("nonce", NONCE),
    ]
}

/// Validates an ID token with `jsonwebtoken` against `/.well-known/jwks.json`: signature,
/// issuer, audience, expiry. Returns its claims.
async fn verify_id_token(t: &TestServer, token: &str, client: &str) -> Value {
    let (status, jwks) = t.public_get("/.well-known/jwks.json").await;
    assert_eq!(status, 200);
    let header = jsonwebtoken::decode_header(token).unwrap();
    let kid = header.kid.expect("kid in the ID token header");
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks).unwrap();
    let jwk = set.find(&kid).expect("the ID token's kid is published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[client]);
    v.set_issuer(&[t.state.config.urls.issuer.as_str()]);
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .unwrap()
        .claims
}

fn at_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// Error parameters of a flow that ended at the client.
fn error_of(trace: &Trace) -> (String, String) {
    assert!(trace.end().as_str().starts_with(CB), "{}", trace.end());
    (
        trace.param("error").unwrap_or_default(),
        trace.param("state").unwrap_or_default(),
    )
}

on_both_backends! {
    async fn code_flow_issues_tokens_and_a_verifiable_id_token(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "rp", json!({})).await;
        let browser = Browser::default();
        let trace = t.run_flow(&browser, &t.auth_url(&auth_query("rp", "openid offline email")), &FakeApp::default()).await;

        let login = &trace.logins[0];
        assert_eq!(login["skip"], json!(false));
        assert_eq!(login["subject"], json!(""));
        assert_eq!(login["requested_scope"], json!(["openid", "offline", "email"]));
        assert_eq!(login["requested_access_token_audience"], json!([]));
        assert_eq!(login["client"]["client_id"], json!("rp"));
        assert!(login["client"].get("client_secret").is_none(), "{login}");
        assert!(login["request_url"].as_str().unwrap().starts_with(&t.public_url("/oauth2/auth?")));
        let sid = login["session_id"].as_str().unwrap().to_string();
        assert!(!sid.is_empty());
        let consent = &trace.consents[0];
        assert_eq!(consent["subject"], json!("alice"));
        assert_eq!(consent["skip"], json!(false));
        assert_eq!(consent["login_challenge"], login["challenge"]);
        assert_eq!(consent["login_session_id"], json!(sid));

        assert!(trace.end().as_str().starts_with(CB));
        assert_eq!(trace.param("state").as_deref(), Some(STATE));
        assert_eq!(trace.param("scope").as_deref(), Some("openid offline email"));
        let code = trace.code();

        let r = t.exchange("rp", Some(SECRET), &code, &[("redirect_uri", CB)]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.header("cache-control"), "no-store");
        assert_eq!(r.body["token_type"], json!("bearer"));
        assert_eq!(r.body["scope"], json!("openid offline email"));
        let access = r.body["access_token"].as_str().unwrap().to_string();
        let refresh = r.body["refresh_token"].as_str().expect("offline gives a refresh token").to_string();
        let id = verify_id_token(&t, r.body["id_token"].as_str().unwrap(), "rp").await;
        assert_eq!(id["sub"], json!("alice"));
        assert_eq!(id["aud"], json!(["rp"]));
        assert_eq!(id["nonce"], json!(NONCE));
        assert_eq!(id["sid"], json!(sid));
        assert_eq!(id["email"], json!("alice@example.com"));
        assert_eq!(id["at_hash"], json!(at_hash(&access)));
        assert!(id["auth_time"].is_i64() && id["rat"].is_i64() && id["jti"].is_string());

        let info = t.introspect(&access).await;
        assert_eq!(info["active"], json!(true));
        assert_eq!(info["sub"], json!("alice"));
        assert_eq!(info["client_id"], json!("rp"));
        assert_eq!(info["ext"], json!({"tier": "gold"}));

        // The code is spent: presenting it again fails and revokes what it gave.
        let again = t.exchange("rp", Some(SECRET), &code, &[("redirect_uri", CB)]).await;
        assert_eq!(again.status, 400, "{}", again.body);
        assert_eq!(again.body["error"], json!("invalid_grant"));
        assert!(!t.active(&access).await);
        assert!(!t.active(&refresh).await);
    }

    async fn refresh_keeps_issuing_id_tokens(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "rp", json!({})).await;
        let trace = t.run_flow(&Browser::default(), &t.auth_url(&auth_query("rp", "openid offline")), &FakeApp::default()).await;
        let r = t.exchange("rp", Some(SECRET), &trace.code(), &[("redirect_uri", CB)]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let first = verify_id_token(&t, r.body["id_token"].as_str().unwrap(), "rp").await;
        let r2 = crate::harness::Resp::read(t.http.post(t.public_url("/oauth2/token")).basic_auth("rp", Some(SECRET))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", r.body["refresh_token"].as_str().unwrap())])
            .send().await.unwrap()).await;
        assert_eq!(r2.status, 200, "{}", r2.body);
        let second = verify_id_token(&t, r2.body["id_token"].as_str().expect("an ID token on refresh"), "rp").await;
        assert_eq!(second["sub"], first["sub"]);
        assert_eq!(second["sid"], first["sid"]);
        assert_eq!(second["auth_time"], first["auth_time"]);
        assert_ne!(second["jti"], first["jti"]);
        assert_eq!(second["at_hash"], json!(at_hash(r2.body["access_token"].as_str().unwrap())));
    }

    async fn client_secret_post_and_public_pkce_clients(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "post", json!({"token_endpoint_auth_method": "client_secret_post"})).await;
        let trace = t.run_flow(&Browser::default(), &t.auth_url(&auth_query("post", "openid")), &FakeApp::default()).await;
        let r = crate::harness::Resp::read(t.http.post(t.public_url("/oauth2/token")).form(&[
            ("grant_type", "authorization_code"), ("code", &trace.code()), ("redirect_uri", CB),
            ("client_id", "post"), ("client_secret", SECRET)]).send().await.unwrap()).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.get("refresh_token").is_none(), "no offline, no refresh token");

        t.create_client(json!({"client_id": "spa", "token_endpoint_auth_method": "none",
            "redirect_uris": [CB], "scope": "openid", "grant_types": ["authorization_code"]})).await;
        let verifier = "a-pkce-verifier-that-is-long-enough-0123456789";
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let mut q = auth_query("spa", "openid");
        q.push(("code_challenge", &challenge));
        q.push(("code_challenge_method", "S256"));
        let trace = t.run_flow(&Browser::default(), &t.auth_url(&q), &FakeApp::default()).await;
        let wrong = t.exchange("spa", None, &trace.code(), &[("redirect_uri", CB), ("code_verifier", "b-pkce-verifier-that-is-long-enough-0123456789")]).await;
        assert_eq!(wrong.body["error"], json!("invalid_grant"), "{}", wrong.body);
        let trace = t.run_flow(&Browser::default(), &t.auth_url(&q), &FakeApp::default()).await;
        let ok = t.exchange("spa", None, &trace.code(), &[("redirect_uri", CB), ("code_verifier", verifier)]).await;
        assert_eq!(ok.status, 200, "{}", ok.body);
        verify_id_token(&t, ok.body["id_token"].as_str().unwrap(), "spa").await;
    }

    async fn private_key_jwt_client_completes_the_flow(backend: Backend) {
        let t = TestServer::start(backend).await;
        let pair = portcullis::jwk::key::generate("ES256", "rp-key", "sig", 2048).unwrap();
        t.create_client(json!({"client_id": "jwt-rp", "redirect_uris": [CB],
            "token_endpoint_auth_method": "private_key_jwt", "token_endpoint_auth_signing_alg": "ES256",
            "jwks": {"keys": [pair[1]]}, "scope": "openid offline",
            "grant_types": ["authorization_code", "refresh_token"]})).await;
        let trace = t.run_flow(&Browser::default(), &t.auth_url(&auth_query("jwt-rp", "openid offline")), &FakeApp::default()).await;
        let now = t.state.clock.now().timestamp();
        let token_url = format!("{}oauth2/token", t.state.config.urls.public);
        let assertion = portcullis::jwk::jws::SigningKey::from_jwk(&pair[0]).unwrap().sign(&json!({
            "iss": "jwt-rp", "sub": "jwt-rp", "aud": token_url, "jti": portcullis::crypto::random::uuid(),
            "iat": now, "exp": now + 300})).unwrap();
        let r = crate::harness::Resp::read(t.http.post(t.public_url("/oauth2/token")).form(&[
            ("grant_type", "authorization_code"), ("code", &trace.code()), ("redirect_uri", CB),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", &assertion)]).send().await.unwrap()).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body["refresh_token"].is_string());
        verify_id_token(&t, r.body["id_token"].as_str().unwrap(), "jwt-rp").await;
    }

    async fn remembered_login_and_consent_are_skipped(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "rp", json!({})).await;
        let browser = Browser::default();
        let app = FakeApp { remember: true, remember_for: 3600, ..FakeApp::default() };
        let first = t.run_flow(&browser, &t.auth_url(&auth_query("rp", "openid email")), &app).await;
        assert!(first.param("code").is_some(), "{}", first.end());

        let second = t.run_flow(&browser, &t.auth_url(&auth_query("rp", "openid")), &app).await;
        assert_eq!(second.logins[0]["skip"], json!(true));
        assert_eq!(second.logins[0]["subject"], json!("alice"));
        assert_eq!(second.logins[0]["session_id"], first.logins[0]["session_id"]);
        assert_eq!(second.consents[0]["skip"], json!(true), "the remembered consent covers openid");
        assert!(second.param("code").is_some());

        // prompt=none now succeeds without any UI ...
        let mut q = auth_query("rp", "openid");
        q.push(("prompt", "none"));
        let quiet = t.run_flow(&browser, &t.auth_url(&q), &app).await;
        assert!(quiet.param("code").is_some(), "{}", quiet.end());
        // ... a scope never granted needs consent again ...
        let more = t.run_flow(&browser, &t.auth_url(&auth_query("rp", "openid profile")), &app).await;
        assert_eq!(more.consents[0]["skip"], json!(false));
        // ... and prompt=login / prompt=consent force the UI.
        let mut q = auth_query("rp", "openid");
        q.push(("prompt", "login consent"));
        let forced = t.run_flow(&browser, &t.auth_url(&q), &app).await;
        assert_eq!(forced.logins[0]["skip"], json!(false));
        assert_eq!(forced.consents[0]["skip"], json!(false));
        assert!(forced.param("code").is_some(), "{}", forced.end());

        // A browser without the session cookie logs in afresh.
        let other = t.run_flow(&Browser::default(), &t.auth_url(&auth_query("rp", "openid")), &app).await;
        assert_eq!(other.logins[0]["skip"], json!(false));
    }

    async fn prompt_none_max_age_and_id_token_hint(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "rp", json!({})).await;
        let mut q = auth_query("rp", "openid");
        q.push(("prompt", "none"));
        let none = t.run_flow(&Browser::default(), &t.auth_url(&q), &FakeApp::default()).await;
        assert_eq!(error_of(&none), ("login_required".into(), STATE.into()));

        let browser = Browser::default();
        let app = FakeApp { remember: true, remember_for: 0, ..FakeApp::default() };
        let first = t.run_flow(&browser, &t.auth_url(&auth_query("rp", "openid")), &app).await;
        let tokens = t.exchange("rp", Some(SECRET), &first.code(), &[("redirect_uri", CB)]).await;
        let id_token = tokens.body["id_token"].as_str().unwrap().to_string();

        // The hint names the logged-in user: the login is skipped.
        let mut q = auth_query("rp", "openid");
        q.push(("id_token_hint", &id_token));
        let hinted = t.run_flow(&browser, &t.auth_url(&q), &app).await;
        assert_eq!(hinted.logins[0]["skip"], json!(true));
        assert_eq!(hinted.logins[0]["oidc_context"]["id_token_hint_claims"]["sub"], json!("alice"));
        // A hint for someone else: login_required. A forged hint: invalid_request.
        let bob_browser = Browser::default();
        let bob = FakeApp { subject: "bob".into(), remember: true, ..FakeApp::default() };
        let bobs = t.run_flow(&bob_browser, &t.auth_url(&auth_query("rp", "openid")), &bob).await;
        assert!(bobs.param("code").is_some());
        let hinted = t.run_flow(&bob_browser, &t.auth_url(&q), &bob).await;
        assert_eq!(error_of(&hinted).0, "login_required");
        let mut forged = auth_query("rp", "openid");
        let bad = format!("{}x", &id_token[..id_token.len() - 2]);
        forged.push(("id_token_hint", &bad));
        let forged = t.run_flow(&browser, &t.auth_url(&forged), &app).await;
        assert_eq!(error_of(&forged).0, "invalid_request");

        // max_age: an old login must be repeated (or fails with prompt=none).
        t.state.clock.advance(Duration::seconds(120));
        let mut q = auth_query("rp", "openid");
        q.push(("max_age", "60"));
        let aged = t.run_flow(&browser, &t.auth_url(&q), &app).await;
        assert_eq!(aged.logins[0]["skip"], json!(false));
        t.state.clock.advance(Duration::seconds(120));
        q.push(("prompt", "none"));
        let aged_none = t.run_flow(&browser, &t.auth_url(&q), &app).await;
        assert_eq!(error_of(&aged_none).0, "login_required");
    }

    async fn rejected_login_and_consent_reach_the_client(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "rp", json!({})).await;
        let app = FakeApp { reject_login: Some(json!({"error": "access_denied", "error_description": "Wrong password."})), ..FakeApp::default() };
        let trace = t.run_flow(&Browser::default(), &t.auth_url(&auth_query("rp", "openid")), &app).await;
        assert_eq!(error_of(&trace), ("access_denied".into(), STATE.into()));
        assert!(trace.param("error_description").unwrap().contains("Wrong password."));

        let app = FakeApp { reject_consent: Some(json!({})), ..FakeApp::default() };
        let trace = t.run_flow(&Browser::default(), &t.auth_url(&auth_query("rp", "openid")), &app).await;
        assert_eq!(error_of(&trace).0, "consent request denied");
    }

    async fn every_request_check_fails_with_its_error_and_delivery(backend: Backend) {
        let t = TestServer::start_with(backend, |c| c.oauth2.pkce.enforced_for_public_clients = true).await;
        client(&t, "rp", json!({})).await;
        t.create_client(json!({"client_id": "spa", "token_endpoint_auth_method": "none",
            "redirect_uris": [CB], "scope": "openid"})).await;
        let browser = Browser::default();
        let error_page = t.state.config.urls.error.to_string();
        // (extra parameters, expected error, delivered to the client?)
        type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, bool);
        let cases: Vec<Case> = vec![
            (vec![("client_id", "nobody")], "invalid_client", false),
            (vec![("redirect_uri", "https://evil.example/cb")], "invalid_request", false),
            (vec![("redirect_uri", "http://127.0.0.1:5555/cb#frag")], "invalid_request", false),
            (vec![("redirect_uri", "http://127.0.0.1:5555/cb/../cb")], "invalid_request", false),
            (vec![("redirect_uri", "")], "invalid_request", false),
            (vec![("response_mode", "bogus")], "unsupported_response_mode", false),
            (vec![("request", "eyJ.e30.")], "request_not_supported", false),
            (vec![("scope", "openid admin")], "invalid_scope", true),
            (vec![("audience", "https://other.example/")], "invalid_request", true),
            (vec![("registration", "{}")], "registration_not_supported", true),
            (vec![("response_type", "token")], "unsupported_response_type", true),
            (vec![("response_type", "")], "unsupported_response_type", true),
            (vec![("state", "short")], "invalid_state", true),
            (vec![("nonce", "short")], "insufficient_entropy", true),
            (vec![("prompt", "select_account")], "invalid_request", true),
            (vec![("prompt", "none login")], "invalid_request", true),
            (vec![("max_age", "soon")], "invalid_request", true),
            (vec![("code_challenge", "x".repeat(43).leak()), ("code_challenge_method", "plain")], "invalid_request", true),
            (vec![("code_challenge", "x".repeat(43).leak())], "invalid_request", true),
            (vec![("code_challenge", "short"), ("code_challenge_method", "S256")], "invalid_request", true),
            (vec![("client_id", "spa")], "invalid_request", true),
        ];
        for (extra, error, to_client) in cases {
            let mut q = auth_query("rp", "openid");
            for (k, v) in &extra {
                q.retain(|(n, _)| n != k);
                q.push((k, v));
            }
            let (status, location) = browser.get(&t.auth_url(&q)).await;
            assert_eq!(status, 302, "{extra:?}");
            let location = location.unwrap();
            let fragment = location.fragment().unwrap_or_default().to_string();
            let param = |n: &str| {
                location
                    .query_pairs()
                    .chain(url::form_urlencoded::parse(fragment.as_bytes()))
                    .find(|(k, _)| k == n)
                    .map(|(_, v)| v.into_owned())
            };
            assert_eq!(param("error").as_deref(), Some(error), "{extra:?} -> {location}");
            if to_client {
                assert!(location.as_str().starts_with(CB), "{extra:?} -> {location}");
                let sent = q.iter().find(|(k, _)| *k == "state").unwrap().1;
                assert_eq!(param("state").as_deref(), Some(sent), "{extra:?}");
            } else {
                assert!(location.as_str().starts_with(&error_page), "{extra:?} -> {location}");
                assert_eq!(param("state"), None);
            }
        }
        // RFC 6749 §3.1: a repeated parameter is refused (before anything else is trusted).
        let mut q = auth_query("rp", "openid");
        q.push(("state", "another-state-value"));
        let (_, location) = browser.get(&t.auth_url(&q)).await;
        let location = location.unwrap();
        assert!(location.as_str().starts_with(&error_page), "{location}");
        assert!(location.as_str().contains("error=invalid_request"), "{location}");
        // Reflected text loses quotes, backslashes and control characters (RFC 6749 §4.1.2.1).
        let mut q = auth_query("rp", "openid");
        q.retain(|(n, _)| *n != "scope");
        q.push(("scope", "a\"b\\c\r\n\t"));
        let (_, location) = browser.get(&t.auth_url(&q)).await;
        let location = location.unwrap();
        let description = location.query_pairs().find(|(k, _)| k == "error_description").unwrap().1.into_owned();
        assert!(!description.contains(['"', '\\', '\r', '\n', '\t']), "{description:?}");
        // Unknown parameters are ignored.
        let mut q = auth_query("rp", "openid");
        q.push(("extra", "foobar"));
        let trace = t.run_flow(&browser, &t.auth_url(&q), &FakeApp::default()).await;
        assert!(trace.param("code").is_some(), "{}", trace.end());
        // RFC 8252 §7.3: a loopback redirect URI may use any port.
        let mut q = auth_query("rp", "openid");
        q.retain(|(n, _)| *n != "redirect_uri");
        q.push(("redirect_uri", "http://127.0.0.1:61234/cb"));
        let trace = t.run_flow(&browser, &t.auth_url(&q), &FakeApp::default()).await;
        assert!(trace.end().as_str().starts_with("http://127.0.0.1:61234/cb?code="), "{}", trace.end());
        // The built-in error page escapes what it reflects.
        let r = t.http.get(t.public_url("/oauth2/fallbacks/error?error=%3Cscript%3Ealert(1)%3C/script%3E&error_description=%22%3E%3Cimg%3E")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        assert!(!html.contains("<script>") && !html.contains("<img>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    async fn csrf_cookies_verifier_replay_and_expiry(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "rp", json!({})).await;
        let start = t.auth_url(&auth_query("rp", "openid"));

        // Login accepted, but the verifier is followed by another browser: no CSRF cookie.
        let a = Browser::default();
        let (_, login) = a.get(&start).await;
        let challenge = login.unwrap().query_pairs().find(|(k, _)| k == "login_challenge").unwrap().1.into_owned();
        let r = t.admin_call(Method::PUT, &format!("/oauth2/auth/requests/login/accept?login_challenge={challenge}"), Some(json!({"subject": "alice"}))).await;
        let back = r.body["redirect_to"].as_str().unwrap().to_string();
        let (_, end) = Browser::default().get(&back).await;
        let end = end.unwrap();
        assert!(end.as_str().starts_with(CB), "{end}");
        assert!(end.as_str().contains("error=request_forbidden"), "{end}");
        // The verifier is spent even so: replaying it in the right browser fails.
        let (_, end) = a.get(&back).await;
        assert!(end.unwrap().as_str().contains("error=access_denied"));

        // A consent verifier can be used once.
        let b = Browser::default();
        let (_, login) = b.get(&start).await;
        let login = login.unwrap();
        let challenge = login.query_pairs().find(|(k, _)| k == "login_challenge").unwrap().1.into_owned();
        let r = t.admin_call(Method::PUT, &format!("/oauth2/auth/requests/login/accept?login_challenge={challenge}"), Some(json!({"subject": "alice"}))).await;
        let (_, consent) = b.get(r.body["redirect_to"].as_str().unwrap()).await;
        let consent = consent.unwrap();
        let challenge = consent.query_pairs().find(|(k, _)| k == "consent_challenge").unwrap().1.into_owned();
        let r = t.admin_call(Method::PUT, &format!("/oauth2/auth/requests/consent/accept?consent_challenge={challenge}"), Some(json!({"grant_scope": ["openid"]}))).await;
        let back = r.body["redirect_to"].as_str().unwrap().to_string();
        let (_, first) = b.get(&back).await;
        assert!(first.unwrap().as_str().contains("code="));
        let (_, second) = b.get(&back).await;
        assert!(second.unwrap().as_str().contains("error=access_denied"));
        // A wrong CSRF cookie value is as bad as none.
        let c = Browser::default();
        let (_, login) = c.get(&start).await;
        let challenge = login.unwrap().query_pairs().find(|(k, _)| k == "login_challenge").unwrap().1.into_owned();
        let r = t.admin_call(Method::PUT, &format!("/oauth2/auth/requests/login/accept?login_challenge={challenge}"), Some(json!({"subject": "alice"}))).await;
        let back = r.body["redirect_to"].as_str().unwrap().to_string();
        let forged = crate::harness::http_client();
        let names = portcullis::consent::cookie::Names { insecure: true };
        let r = forged.get(&back).header("cookie", format!("{}=forged.value", names.login_csrf(&challenge))).send().await.unwrap();
        assert!(r.headers()["location"].to_str().unwrap().contains("error=request_forbidden"));

        // A login request older than ttl.login_consent_request (30 minutes) is refused.
        let d = Browser::default();
        let (_, login) = d.get(&start).await;
        let challenge = login.unwrap().query_pairs().find(|(k, _)| k == "login_challenge").unwrap().1.into_owned();
        let r = t.admin_call(Method::PUT, &format!("/oauth2/auth/requests/login/accept?login_challenge={challenge}"), Some(json!({"subject": "alice"}))).await;
        t.state.clock.advance(Duration::minutes(31));
        let (_, end) = d.get(r.body["redirect_to"].as_str().unwrap()).await;
        assert!(end.unwrap().as_str().contains("error=request_unauthorized"));
    }

    async fn two_flows_in_two_tabs_do_not_clash(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "rp", json!({})).await;
        let browser = Browser::default();
        let start = t.auth_url(&auth_query("rp", "openid"));
        let (_, one) = browser.get(&start).await;
        let (_, two) = browser.get(&start).await;
        let mut redirects = Vec::new();
        for login in [one.unwrap(), two.unwrap()] {
            let challenge = login.query_pairs().find(|(k, _)| k == "login_challenge").unwrap().1.into_owned();
            let r = t.admin_call(Method::PUT, &format!("/oauth2/auth/requests/login/accept?login_challenge={challenge}"), Some(json!({"subject": "alice"}))).await;
            redirects.push(r.body["redirect_to"].as_str().unwrap().to_string());
        }
        for back in redirects {
            let (_, consent) = browser.get(&back).await;
            let consent = consent.unwrap();
            assert_eq!(consent.path(), "/oauth2/fallbacks/consent", "{consent}");
        }
    }

    async fn parallel_exchanges_of_one_code_have_one_winner(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "rp", json!({})).await;
        let trace = t.run_flow(&Browser::default(), &t.auth_url(&auth_query("rp", "openid offline")), &FakeApp::default()).await;
        let code = trace.code();
        let t = std::sync::Arc::new(t);
        let tasks: Vec<_> = (0..10).map(|_| {
            let t = t.clone();
            let code = code.clone();
            tokio::spawn(async move { t.exchange("rp", Some(SECRET), &code, &[("redirect_uri", CB)]).await.status })
        }).collect();
        let mut ok = 0;
        for task in tasks {
            if task.await.unwrap() == 200 { ok += 1; }
        }
        assert_eq!(ok, 1);
    }
}
