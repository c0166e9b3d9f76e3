//! Logout end to end (security-cases group H; RP-Initiated, Front-Channel and Back-Channel
//! Logout 1.0): a browser logged in through the fake login/consent app logs out from its
//! cookie or from an RP's `id_token_hint`, the logout UI answers through the admin API, and
//! the relying parties are told: front-channel iframes on the final page, back-channel
//! logout tokens POSTed to a test listener and validated with `jsonwebtoken` against the
//! JWKS. Every case on SQLite and PostgreSQL.

use crate::harness::flow::{Browser, FakeApp};
use crate::harness::{Resp, TestServer};
use crate::on_both_backends;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use chrono::Duration;
use portcullis::jwk::jws::SigningKey;
use portcullis::jwk::JsonWebKey;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use url::Url;

const SECRET: &str = "a-client-secret-of-some-length";
const CB: &str = "http://127.0.0.1:5555/cb";
const PL: &str = "http://127.0.0.1:5555/logged-out";
const STATE: &str = "state-0123456789";

/// A confidential code-flow client `id` with the post-logout URI `PL`, plus `extra` fields.
async fn client(t: &TestServer, id: &str, extra: Value) {
    let mut body = json!({"client_id": id, "client_secret": SECRET, "redirect_uris": [CB],
        "post_logout_redirect_uris": [PL], "grant_types": ["authorization_code"],
        "response_types": ["code"], "scope": "openid offline"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    t.create_client(body).await;
}

fn remembered(subject: &str) -> FakeApp {
    FakeApp {
        subject: subject.into(),
        remember: true,
        remember_for: 86_400,
        ..FakeApp::default()
    }
}

fn auth_query(id: &str) -> Vec<(&str, &str)> {
    vec![
        ("client_id", id),
        ("response_type", "code"),
        ("redirect_uri", CB),
        ("scope", "openid"),
        ("state", STATE),
        ("nonce", "nonce-0123456789"),
    ]
}

/// Logs `browser` in at client `id` (remembered session) and returns the ID token.
async fn login(t: &TestServer, browser: &Browser, id: &str, app: &FakeApp) -> String {
    let trace = t.run_flow(browser, &t.auth_url(&auth_query(id)), app).await;
    let r = t
        .exchange(id, Some(SECRET), &trace.code(), &[("redirect_uri", CB)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["id_token"].as_str().unwrap().to_string()
}

/// The claims of a JWT, unverified.
fn claims_of(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn logout_url(t: &TestServer, query: &[(&str, &str)]) -> String {
    let mut url = Url::parse(&t.public_url("/oauth2/sessions/logout")).unwrap();
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    url.to_string()
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Starts a logout; expects the redirect to the logout UI and returns the challenge.
async fn start(t: &TestServer, browser: &Browser, query: &[(&str, &str)]) -> String {
    let (status, location) = browser.get(&logout_url(t, query)).await;
    assert_eq!(status, 302);
    let location = location.unwrap();
    assert!(
        location
            .as_str()
            .starts_with(t.state.config.urls.logout.as_str()),
        "{location}"
    );
    param(&location, "logout_challenge").expect("a logout challenge")
}

async fn accept(t: &TestServer, challenge: &str) -> String {
    let r = t
        .admin_call(
            Method::PUT,
            &format!("/oauth2/auth/requests/logout/accept?logout_challenge={challenge}"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["redirect_to"].as_str().unwrap().to_string()
}

/// Whether the error page received `error` (and nothing went anywhere else).
fn is_error(t: &TestServer, location: &Url, error: &str) -> bool {
    location
        .as_str()
        .starts_with(t.state.config.urls.error.as_str())
        && param(location, "error").as_deref() == Some(error)
}

/// Starts a login at client `id` and returns the login request the UI sees.
async fn next_login(t: &TestServer, browser: &Browser, id: &str) -> Value {
    let (status, location) = browser.get(&t.auth_url(&auth_query(id))).await;
    assert_eq!(status, 302);
    let location = location.unwrap();
    let challenge = param(&location, "login_challenge").unwrap_or_else(|| panic!("{location}"));
    let (status, request) = t
        .admin_get(&format!(
            "/oauth2/auth/requests/login?login_challenge={challenge}"
        ))
        .await;
    assert_eq!(status, 200, "{request}");
    request
}

fn cookie_cleared(r: &reqwest::Response) -> bool {
    r.headers().get_all("set-cookie").iter().any(|v| {
        let v = v.to_str().unwrap();
        v.starts_with("oauth2_authentication_session_insecure=") && v.contains("Max-Age=0")
    })
}

on_both_backends! {
    async fn cookie_logout_is_confirmed_then_ends_the_session(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "rp", json!({})).await;
        let browser = Browser::default();
        let id_token = login(&t, &browser, "rp", &remembered("alice")).await;
        let sid = claims_of(&id_token)["sid"].as_str().unwrap().to_string();

        let challenge = start(&t, &browser, &[]).await;
        let (status, request) = t.admin_get(&format!("/oauth2/auth/requests/logout?logout_challenge={challenge}")).await;
        assert_eq!(status, 200);
        assert_eq!(request, json!({"challenge": challenge, "request_url": "/oauth2/sessions/logout",
            "rp_initiated": false, "sid": sid, "subject": "alice"}));
        // The legacy `challenge` parameter works too.
        let (status, _) = t.admin_get(&format!("/oauth2/auth/requests/logout?challenge={challenge}")).await;
        assert_eq!(status, 200);

        let verifier_url = accept(&t, &challenge).await;
        assert!(verifier_url.starts_with(&t.public_url("/oauth2/sessions/logout?logout_verifier=")), "{verifier_url}");
        assert_eq!(accept(&t, &challenge).await, verifier_url, "accepting twice is idempotent");

        let r = browser.http.get(&verifier_url).send().await.unwrap();
        assert_eq!(r.status(), 302);
        assert!(cookie_cleared(&r), "{:?}", r.headers());
        assert_eq!(r.headers()["location"].to_str().unwrap(), t.state.config.urls.post_logout_redirect.as_str());

        // Completed: 410 at the admin API, the verifier is spent, the next login is fresh.
        let (status, gone) = t.admin_get(&format!("/oauth2/auth/requests/logout?logout_challenge={challenge}")).await;
        assert_eq!((status, gone), (410, json!({"redirect_to": "/oauth2/sessions/logout"})));
        let (status, location) = browser.get(&verifier_url).await;
        assert_eq!(status, 302);
        assert!(is_error(&t, &location.unwrap(), "Not Found"));
        assert_eq!(next_login(&t, &browser, "rp").await["skip"], json!(false));

        // Without a session there is nothing to confirm.
        let (status, location) = browser.get(&logout_url(&t, &[])).await;
        assert_eq!((status, location.unwrap().as_str()), (302, t.state.config.urls.post_logout_redirect.as_str()));
        let page = browser.http.get(t.state.config.urls.post_logout_redirect.as_str()).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("logged out"));
    }

    async fn cookie_logout_refuses_state_and_redirect_uri(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "rp", json!({})).await;
        let browser = Browser::default();
        login(&t, &browser, "rp", &remembered("alice")).await;
        for query in [vec![("state", STATE)], vec![("post_logout_redirect_uri", PL)]] {
            let (status, location) = browser.get(&logout_url(&t, &query)).await;
            assert_eq!(status, 302);
            assert!(is_error(&t, &location.clone().unwrap(), "invalid_request"), "{query:?}: {location:?}");
        }
        assert_eq!(next_login(&t, &browser, "rp").await["skip"], json!(true), "still logged in");
    }

    async fn rp_initiated_logout_returns_to_the_client_with_state(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "rp", json!({})).await;
        let browser = Browser::default();
        let id_token = login(&t, &browser, "rp", &remembered("alice")).await;
        let sid = claims_of(&id_token)["sid"].clone();
        // An expired hint is still accepted.
        t.state.clock.advance(Duration::hours(2));

        let challenge = start(&t, &browser, &[("id_token_hint", &id_token), ("post_logout_redirect_uri", PL), ("state", STATE)]).await;
        let (status, request) = t.admin_get(&format!("/oauth2/auth/requests/logout?logout_challenge={challenge}")).await;
        assert_eq!(status, 200);
        assert_eq!(request["rp_initiated"], json!(true));
        assert_eq!(request["sid"], sid);
        assert_eq!(request["subject"], json!("alice"));
        assert_eq!(request["client"]["client_id"], json!("rp"));
        assert!(request["client"].get("client_secret").is_none(), "{request}");
        assert!(request["request_url"].as_str().unwrap().starts_with("/oauth2/sessions/logout?id_token_hint="));

        let r = browser.http.get(accept(&t, &challenge).await).send().await.unwrap();
        assert_eq!(r.status(), 302);
        assert!(cookie_cleared(&r));
        assert_eq!(r.headers()["location"].to_str().unwrap(), format!("{PL}?state={STATE}"));

        // prompt=none now fails: the user is logged out (security-cases #91).
        let mut q = auth_query("rp");
        q.push(("prompt", "none"));
        let quiet = t.run_flow(&browser, &t.auth_url(&q), &remembered("alice")).await;
        assert_eq!(quiet.param("error").as_deref(), Some("login_required"));

        // The same hint again: the session is gone, so straight back to the client.
        let (status, location) = browser.get(&logout_url(&t, &[("id_token_hint", &id_token), ("post_logout_redirect_uri", PL)])).await;
        assert_eq!((status, location.unwrap().as_str()), (302, PL));

        // POST works like GET; without post_logout_redirect_uri the default page is the target.
        let id_token = login(&t, &browser, "rp", &remembered("alice")).await;
        let r = browser.http.post(t.public_url("/oauth2/sessions/logout"))
            .form(&[("id_token_hint", id_token.as_str()), ("state", STATE)]).send().await.unwrap();
        assert_eq!(r.status(), 302);
        let challenge = param(&Url::parse(r.headers()["location"].to_str().unwrap()).unwrap(), "logout_challenge").unwrap();
        let (status, location) = browser.get(&accept(&t, &challenge).await).await;
        assert_eq!((status, location.unwrap().as_str()), (302, t.state.config.urls.post_logout_redirect.as_str()));
        assert_eq!(next_login(&t, &browser, "rp").await["skip"], json!(false));
    }

    async fn bad_hints_and_redirect_uris_get_an_error_and_no_redirect(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "rp", json!({"post_logout_redirect_uris": [PL, "http://127.0.0.1:5555/bye?x=1"]})).await;
        let browser = Browser::default();
        let id_token = login(&t, &browser, "rp", &remembered("alice")).await;
        let good = claims_of(&id_token);
        let (status, keys) = t.admin_get("/keys/hydra.openid.id-token").await;
        assert_eq!(status, 200);
        let private: JsonWebKey = serde_json::from_value(keys["keys"].as_array().unwrap().iter()
            .find(|k| k["kid"].as_str().unwrap().starts_with("private:")).unwrap().clone()).unwrap();
        let ours = SigningKey::from_jwk(&private).unwrap();
        let r = t.admin_call(Method::POST, "/keys/foreign", Some(json!({"alg": "RS256", "kid": "f", "use": "sig"}))).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let foreign: JsonWebKey = serde_json::from_value(r.body["keys"].as_array().unwrap().iter()
            .find(|k| k["kid"] == json!("private:f")).unwrap().clone()).unwrap();
        let foreign = SigningKey::from_jwk(&foreign).unwrap();
        let changed = |name: &str, value: Value| {
            let mut c = good.clone();
            if value.is_null() { c.as_object_mut().unwrap().remove(name); } else { c[name] = value; }
            ours.sign(&c).unwrap()
        };
        let now = t.state.clock.now().timestamp();
        let unsigned = {
            use base64::Engine;
            let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
            format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&good))
        };
        let tampered = {
            let parts: Vec<&str> = id_token.split('.').collect();
            let mut c = good.clone();
            c["sub"] = json!("mallory");
            use base64::Engine;
            format!("{}.{}.{}", parts[0], base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(c.to_string()), parts[2])
        };
        // (case, hint, what the error description names)
        let hints = [
            ("foreign key", foreign.sign(&good).unwrap(), "could not be verified"),
            ("alg none", unsigned, "could not be verified"),
            ("tampered payload", tampered, "could not be verified"),
            ("wrong issuer", changed("iss", json!("http://evil.example/")), "'iss'"),
            ("iat in the future", changed("iat", json!(now + 600)), "in the future"),
            ("no sid", changed("sid", Value::Null), "'sid'"),
            ("no sub", changed("sub", Value::Null), "'sub'"),
            ("unknown audience", changed("aud", json!(["nobody"])), "registered OAuth 2.0 Client"),
            ("garbage", "not-a-jwt".to_string(), "could not be verified"),
        ];
        for (name, hint, why) in &hints {
            let (status, location) = browser.get(&logout_url(&t, &[("id_token_hint", hint), ("post_logout_redirect_uri", PL), ("state", STATE)])).await;
            assert_eq!(status, 302, "{name}");
            let location = location.unwrap();
            assert!(is_error(&t, &location, "invalid_request"), "{name}: {location}");
            assert!(param(&location, "error_description").unwrap().contains(why), "{name}: {location}");
        }
        // Registered URIs match exactly: an added query, a changed path or an unknown URI is
        // refused (security-cases #92).
        let bad_uris = ["http://127.0.0.1:5555/evil", "http://127.0.0.1:5555/logged-out?foo=bar",
            "http://127.0.0.1:5555/logged-out/", "http://127.0.0.1:5555/bye", "https://evil.example/"];
        for uri in bad_uris {
            let (status, location) = browser.get(&logout_url(&t, &[("id_token_hint", &id_token), ("post_logout_redirect_uri", uri)])).await;
            assert_eq!(status, 302);
            assert!(is_error(&t, &location.clone().unwrap(), "invalid_request"), "{uri}: {location:?}");
        }
        // A registered URI with its own query keeps it and gets the state.
        let challenge = start(&t, &browser, &[("id_token_hint", &id_token), ("post_logout_redirect_uri", "http://127.0.0.1:5555/bye?x=1"), ("state", STATE)]).await;
        let (_, location) = browser.get(&accept(&t, &challenge).await).await;
        assert_eq!(location.unwrap().as_str(), format!("http://127.0.0.1:5555/bye?x=1&state={STATE}"));
    }

    async fn rejected_logout_keeps_the_user_logged_in(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "rp", json!({})).await;
        let browser = Browser::default();
        login(&t, &browser, "rp", &remembered("alice")).await;
        let reject = |c: String| {
            let t = &t;
            async move { t.admin_call(Method::PUT, &format!("/oauth2/auth/requests/logout/reject?logout_challenge={c}"), Some(json!({"error": "x"}))).await }
        };

        let challenge = start(&t, &browser, &[]).await;
        assert_eq!(reject(challenge.clone()).await.status, 204);
        let (status, body) = t.admin_get(&format!("/oauth2/auth/requests/logout?logout_challenge={challenge}")).await;
        assert_eq!((status, body["error"].clone()), (404, json!("Unable to locate the resource")));
        let r = t.admin_call(Method::PUT, &format!("/oauth2/auth/requests/logout/accept?logout_challenge={challenge}"), None).await;
        assert_eq!(r.status, 404, "a rejected logout cannot be accepted");

        // Accepted, then rejected: the verifier no longer works.
        let challenge = start(&t, &browser, &[]).await;
        let verifier_url = accept(&t, &challenge).await;
        assert_eq!(reject(challenge).await.status, 204);
        let (status, location) = browser.get(&verifier_url).await;
        assert_eq!(status, 302);
        assert!(is_error(&t, &location.unwrap(), "Not Found"));
        assert_eq!(next_login(&t, &browser, "rp").await["skip"], json!(true), "still logged in");

        // Unknown challenges: 404 to read or accept, 204 to reject (as Hydra); none: 400.
        assert_eq!(t.admin_get("/oauth2/auth/requests/logout?logout_challenge=nope").await.0, 404);
        assert_eq!(t.admin_call(Method::PUT, "/oauth2/auth/requests/logout/accept?logout_challenge=nope", None).await.status, 404);
        assert_eq!(reject("nope".into()).await.status, 204);
        let r = t.admin_get("/oauth2/auth/requests/logout").await;
        assert_eq!((r.0, r.1["error"].clone()), (400, json!("invalid_request")));
    }

    async fn a_session_switched_mid_logout_is_left_alone(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "rp", json!({})).await;
        let browser = Browser::default();
        login(&t, &browser, "rp", &remembered("alice")).await;
        let challenge = start(&t, &browser, &[]).await;
        // Bob logs in in the same browser before alice's logout completes.
        let mut q = auth_query("rp");
        q.push(("prompt", "login"));
        let bob = t.run_flow(&browser, &t.auth_url(&q), &remembered("bob")).await;
        assert!(bob.param("code").is_some());
        let r = browser.http.get(accept(&t, &challenge).await).send().await.unwrap();
        assert_eq!(r.status(), 302);
        assert!(!cookie_cleared(&r));
        let login = next_login(&t, &browser, "rp").await;
        assert_eq!((login["skip"].clone(), login["subject"].clone()), (json!(true), json!("bob")));
    }
}

/// What the back-channel test listener received, by path (the client).
type Received = Arc<Mutex<HashMap<String, Vec<String>>>>;

#[derive(serde::Deserialize)]
struct LogoutForm {
    logout_token: String,
}

/// A relying party's back-channel endpoint on `127.0.0.1:0`: `/ok/<client>` records the
/// token and answers 200, `/fail/<client>` answers 500, `/hang/<client>` never answers
/// within a minute. Returns its base URL.
async fn rp_listener(received: Received) -> String {
    async fn ok(
        State(r): State<Received>,
        Path(c): Path<String>,
        Form(f): Form<LogoutForm>,
    ) -> StatusCode {
        r.lock().unwrap().entry(c).or_default().push(f.logout_token);
        StatusCode::OK
    }
    async fn fail() -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }
    async fn hang() -> StatusCode {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        StatusCode::OK
    }
    let app = axum::Router::new()
        .route("/ok/{client}", post(ok))
        .route("/fail/{client}", post(fail))
        .route("/hang/{client}", post(hang))
        .with_state(received);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// Validates a logout token with `jsonwebtoken` against `/.well-known/jwks.json`.
async fn verify_logout_token(t: &TestServer, token: &str, client: &str) -> Value {
    let (_, jwks) = t.public_get("/.well-known/jwks.json").await;
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks).unwrap();
    let jwk = set
        .find(&header.kid.unwrap())
        .expect("the logout token's kid is published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[client]);
    v.set_issuer(&[t.state.config.urls.issuer.as_str()]);
    v.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(token, &key, &v)
        .unwrap()
        .claims;
    assert_eq!(
        claims["events"],
        json!({"http://schemas.openid.net/event/backchannel-logout": {}})
    );
    assert!(
        claims["jti"].is_string() && claims.get("nonce").is_none(),
        "{claims}"
    );
    claims
}

async fn metric(t: &TestServer, reason: &str) -> u64 {
    let text = t
        .http
        .get(t.admin_url("/metrics/prometheus"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let prefix = format!("portcullis_backchannel_logout_failures_total{{reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|n| n.trim().parse().unwrap())
        .unwrap_or(0)
}

on_both_backends! {
    async fn frontchannel_page_loads_every_participating_client(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "rp1", json!({"frontchannel_logout_uri": "http://127.0.0.1:5555/fc?x=1&y=2"})).await;
        client(&t, "rp2", json!({"frontchannel_logout_uri": "http://127.0.0.1:5555/fc2"})).await;
        client(&t, "rp3", json!({})).await;
        client(&t, "other", json!({"frontchannel_logout_uri": "http://127.0.0.1:5555/other"})).await;
        let browser = Browser::default();
        let app = remembered("alice");
        let id_token = login(&t, &browser, "rp1", &app).await;
        login(&t, &browser, "rp2", &app).await;
        login(&t, &browser, "rp3", &app).await;
        // Another browser's session of the same user is not this logout's business.
        login(&t, &Browser::default(), "other", &app).await;
        let sid = claims_of(&id_token)["sid"].as_str().unwrap().to_string();

        let hostile = "\"><script>alert(1)</script>";
        let challenge = start(&t, &browser, &[("id_token_hint", &id_token), ("post_logout_redirect_uri", PL), ("state", hostile)]).await;
        let r = browser.http.get(accept(&t, &challenge).await).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(cookie_cleared(&r));
        assert_eq!(r.headers()["content-type"], "text/html;charset=UTF-8");
        assert_eq!(r.headers()["cache-control"], "no-store");
        let html = r.text().await.unwrap();
        let iss = url::form_urlencoded::byte_serialize(t.state.config.urls.issuer.as_str().as_bytes()).collect::<String>();
        assert!(html.contains(&format!("src=\"http://127.0.0.1:5555/fc?x=1&amp;y=2&amp;iss={iss}&amp;sid={sid}\"")), "{html}");
        assert!(html.contains(&format!("src=\"http://127.0.0.1:5555/fc2?iss={iss}&amp;sid={sid}\"")), "{html}");
        assert_eq!(html.matches("<iframe").count(), 2, "{html}");
        assert!(!html.contains("/other"), "{html}");
        assert!(!html.contains("<script>alert"), "{html}");
        let target = format!("{PL}?state=%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E");
        assert!(html.contains(&format!("href=\"{target}\"")), "{html}");
        assert!(html.contains(&format!("content=\"7; URL={target}\"")), "{html}");
        assert!(html.contains("var pending = 2;"), "{html}");
        assert_eq!(next_login(&t, &browser, "rp1").await["skip"], json!(false));
    }

    async fn backchannel_tokens_reach_every_client_within_the_timeout(backend: Backend) {
        let t = TestServer::start_with(backend, |c| {
            c.oidc.subject_identifiers.supported_types = vec!["public".into(), "pairwise".into()];
            c.oidc.subject_identifiers.pairwise.salt = "a-pairwise-salt".into();
        }).await;
        let received = Received::default();
        let rp = rp_listener(received.clone()).await;
        client(&t, "ok1", json!({"backchannel_logout_uri": format!("{rp}/ok/ok1")})).await;
        client(&t, "ok2", json!({"backchannel_logout_uri": format!("{rp}/ok/ok2"), "subject_type": "pairwise"})).await;
        client(&t, "fail", json!({"backchannel_logout_uri": format!("{rp}/fail/fail")})).await;
        client(&t, "hang", json!({"backchannel_logout_uri": format!("{rp}/hang/hang")})).await;
        let browser = Browser::default();
        let app = remembered("alice");
        let mut tokens = HashMap::new();
        for id in ["ok1", "ok2", "fail", "hang"] {
            tokens.insert(id, login(&t, &browser, id, &app).await);
        }
        let sid = claims_of(&tokens["ok1"])["sid"].clone();

        let challenge = start(&t, &browser, &[]).await;
        let verifier_url = accept(&t, &challenge).await;
        let started = Instant::now();
        let r = browser.http.get(&verifier_url).send().await.unwrap();
        let took = started.elapsed();
        assert_eq!(r.status(), 302);
        assert!(took < std::time::Duration::from_secs(8), "a hanging RP held the logout for {took:?}");
        assert!(took >= std::time::Duration::from_secs(4), "the logout waited for the RPs ({took:?})");

        let got = received.lock().unwrap().clone();
        assert_eq!(got.len(), 2, "{got:?}");
        for id in ["ok1", "ok2"] {
            assert_eq!(got[id].len(), 1, "{id}");
            let claims = verify_logout_token(&t, &got[id][0], id).await;
            assert_eq!(claims["sid"], sid);
            // The subject as the client knows it (pairwise for ok2).
            assert_eq!(claims["sub"], claims_of(&tokens[id])["sub"], "{id}");
            assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 120);
        }
        assert_ne!(claims_of(&tokens["ok2"])["sub"], json!("alice"));
        assert_eq!(metric(&t, "status").await, 1);
        assert_eq!(metric(&t, "timeout").await, 1);

        // The spent verifier does nothing: no second round of calls.
        let (status, location) = browser.get(&verifier_url).await;
        assert_eq!(status, 302);
        assert!(is_error(&t, &location.unwrap(), "Not Found"));
        assert_eq!(received.lock().unwrap()["ok1"].len(), 1);
        assert_eq!(metric(&t, "status").await, 1);
    }

    async fn revoking_a_subjects_sessions_notifies_and_forces_a_login(backend: Backend) {
        let t = TestServer::start(backend).await;
        let received = Received::default();
        let rp = rp_listener(received.clone()).await;
        client(&t, "rp", json!({"backchannel_logout_uri": format!("{rp}/ok/rp")})).await;
        let (laptop, phone, bobs) = (Browser::default(), Browser::default(), Browser::default());
        let laptop_sid = claims_of(&login(&t, &laptop, "rp", &remembered("alice")).await)["sid"].clone();
        let phone_sid = claims_of(&login(&t, &phone, "rp", &remembered("alice")).await)["sid"].clone();
        login(&t, &bobs, "rp", &remembered("bob")).await;

        let r = t.admin_call(Method::DELETE, "/oauth2/auth/sessions/login?subject=alice", None).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let got = received.lock().unwrap().get("rp").cloned().unwrap_or_default();
        assert_eq!(got.len(), 2, "one logout token per session");
        let mut sids = Vec::new();
        for token in &got {
            let claims = verify_logout_token(&t, token, "rp").await;
            assert_eq!(claims["sub"], json!("alice"));
            sids.push(claims["sid"].clone());
        }
        sids.sort_by_key(|s| s.to_string());
        let mut expected = vec![laptop_sid, phone_sid];
        expected.sort_by_key(|s| s.to_string());
        assert_eq!(sids, expected);

        assert_eq!(next_login(&t, &laptop, "rp").await["skip"], json!(false));
        assert_eq!(next_login(&t, &phone, "rp").await["skip"], json!(false));
        assert_eq!(next_login(&t, &bobs, "rp").await["skip"], json!(true), "bob is untouched");

        let r: Resp = t.admin_call(Method::DELETE, "/oauth2/auth/sessions/login", None).await;
        assert_eq!((r.status, r.body["error"].clone()), (400, json!("invalid_request")));
        let r = t.admin_call(Method::DELETE, "/oauth2/auth/sessions/login?subject=nobody", None).await;
        assert_eq!(r.status, 204);
    }
}
