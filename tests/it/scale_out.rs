//! Scale-out, on PostgreSQL only (the point is two processes on one shared database; SQLite
//! files are not shared between hosts): two instances, A and B, of one deployment (the same
//! issuer and secrets, each with its own pool, caches and clock) finish one flow by turns, as
//! a load balancer without sticky sessions would send it. Nothing a request needs may live
//! in one process only. Both instances' redirects name the shared issuer (A's address); the
//! test plays the load balancer by sending a URL to the other instance (`via`).

use crate::harness::flow::Browser;
use crate::harness::{Backend, Resp, TestServer};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use url::Url;

const SECRET: &str = "scale-out-secret-0123456789";
const CB: &str = "https://app.example/cb";

/// `url` sent to the instance at `base` instead: same path and query, other port.
fn via(base: &str, url: &Url) -> String {
    let mut u = url.clone();
    u.set_port(Url::parse(base).unwrap().port()).unwrap();
    u.to_string()
}

fn param(url: &Url, name: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

/// A browser GET that must redirect; the `Location`.
async fn redirect(browser: &Browser, url: &str) -> Url {
    let (status, location, body) = browser.get_page(url).await;
    assert_eq!(status, 302, "GET {url}: {body}");
    location.unwrap()
}

/// PUT `/oauth2/auth/requests/<kind>/accept` on `t`'s admin API after reading the request
/// there; the `redirect_to`.
async fn accept(t: &TestServer, kind: &str, challenge: &str, body: Value) -> Url {
    let query = format!("{kind}_challenge={challenge}");
    let (status, request) = t
        .admin_get(&format!("/oauth2/auth/requests/{kind}?{query}"))
        .await;
    assert_eq!(status, 200, "{request}");
    let path = format!("/oauth2/auth/requests/{kind}/accept?{query}");
    let r = t.admin_call(Method::PUT, &path, Some(body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    Url::parse(r.body["redirect_to"].as_str().unwrap()).unwrap()
}

async fn token_request(t: &TestServer, secret: &str, form: &[(&str, &str)]) -> Resp {
    let req = t
        .http
        .post(t.public_url("/oauth2/token"))
        .basic_auth("rp", Some(secret))
        .form(form);
    Resp::read(req.send().await.unwrap()).await
}

/// The authorization code grant for `code` at `t`.
async fn exchange(t: &TestServer, code: &str) -> Resp {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CB),
    ];
    token_request(t, SECRET, &form).await
}

/// Auth on A, login accepted through B's admin API, the login verifier back at A, consent
/// accepted through A's admin API, the consent verifier at B. Returns the code.
async fn flow_across(a: &TestServer, b: &TestServer, browser: &Browser, nonce: &str) -> String {
    let auth = a.auth_url(&[
        ("client_id", "rp"),
        ("response_type", "code"),
        ("redirect_uri", CB),
        ("scope", "openid offline"),
        ("state", "state-0123456789"),
        ("nonce", nonce),
    ]);
    let login = redirect(browser, &auth).await;
    assert_eq!(login.path(), "/oauth2/fallbacks/login");
    let verifier = accept(
        b,
        "login",
        &param(&login, "login_challenge"),
        json!({"subject": "alice"}),
    )
    .await;
    assert!(verifier.as_str().starts_with(&a.public), "{verifier}");
    let consent = redirect(browser, verifier.as_str()).await;
    assert_eq!(consent.path(), "/oauth2/fallbacks/consent");
    let body = json!({"grant_scope": ["openid", "offline"],
        "session": {"access_token": {"tier": "gold"}}});
    let verifier = accept(a, "consent", &param(&consent, "consent_challenge"), body).await;
    let done = redirect(browser, &via(&b.public, &verifier)).await;
    assert!(done.as_str().starts_with(CB), "{done}");
    param(&done, "code")
}

fn header_kid(jwt: &str) -> String {
    let header = URL_SAFE_NO_PAD
        .decode(jwt.split('.').next().unwrap())
        .unwrap();
    let header: Value = serde_json::from_slice(&header).unwrap();
    header["kid"].as_str().unwrap().to_string()
}

async fn jwks_kids(t: &TestServer) -> Vec<String> {
    let (status, set) = t.public_get("/.well-known/jwks.json").await;
    assert_eq!(status, 200);
    set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_instances_complete_a_flow_across_each_other() {
    let a = TestServer::start(Backend::Postgres).await;
    let b = a.start_twin().await;
    assert_ne!(a.public, b.public);
    b.create_client(
        json!({"client_id": "rp", "client_secret": SECRET, "redirect_uris": [CB],
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
        "scope": "openid offline"}),
    )
    .await;

    let browser = Browser::default();
    let code = flow_across(&a, &b, &browser, "nonce-0123456789").await;

    // The code, minted on B, exchanged on B; the ID token verifies with A's JWKS.
    let r = exchange(&b, &code).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let access = r.body["access_token"].as_str().unwrap().to_string();
    let kid = header_kid(r.body["id_token"].as_str().unwrap());
    assert!(jwks_kids(&a).await.contains(&kid), "{kid}");

    // Introspection on A of B's token; the code is spent for A too.
    let info = a.introspect(&access).await;
    assert_eq!(
        (
            &info["active"],
            &info["sub"],
            &info["client_id"],
            &info["ext"]
        ),
        (
            &json!(true),
            &json!("alice"),
            &json!("rp"),
            &json!({"tier": "gold"})
        ),
        "{info}"
    );
    let again = exchange(&a, &code).await;
    assert_eq!(
        (again.status, &again.body["error"]),
        (400, &json!("invalid_grant")),
        "{}",
        again.body
    );
    assert!(
        !b.active(&access).await,
        "reusing the code on A revoked what B issued"
    );

    // A second flow: the code exchanged on B, refreshed on A, the result introspected on B.
    let code = flow_across(&a, &b, &browser, "nonce-abcdefghij").await;
    let r = exchange(&b, &code).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let refresh = r.body["refresh_token"].as_str().unwrap().to_string();
    let r = token_request(
        &a,
        SECRET,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let access = r.body["access_token"].as_str().unwrap().to_string();
    assert_eq!(b.introspect(&access).await["active"], json!(true));
    assert_eq!(
        b.introspect(&refresh).await["active"],
        json!(false),
        "rotated on A"
    );
    let replay = token_request(
        &b,
        SECRET,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(replay.status, 401, "{}", replay.body);
    assert!(
        !a.active(&access).await,
        "the replay on B revoked the family A refreshed"
    );

    // A third flow: the code exchanged on A, the token revoked on B, inactive on A.
    let code = flow_across(&a, &b, &browser, "nonce-klmnopqrst").await;
    let r = exchange(&a, &code).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let access = r.body["access_token"].as_str().unwrap().to_string();
    let revoke = b
        .http
        .post(b.public_url("/oauth2/revoke"))
        .basic_auth("rp", Some(SECRET))
        .form(&[("token", access.as_str())]);
    assert_eq!(revoke.send().await.unwrap().status(), 200);
    assert!(!a.active(&access).await);

    // A secret rotated on A is enforced by B at once, although B's verified-secret cache had
    // just accepted the old one: the cache vouches only for the stored hash it checked.
    let (_, mut client) = a.admin_get("/clients/rp").await;
    client["client_secret"] = json!("a-new-secret-0123456789");
    let r = a.admin_call(Method::PUT, "/clients/rp", Some(client)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let probe = [
        ("grant_type", "refresh_token"),
        ("refresh_token", "not-a-token"),
    ];
    let old = token_request(&b, SECRET, &probe).await;
    assert_eq!(
        (old.status, &old.body["error"]),
        (401, &json!("invalid_client")),
        "{}",
        old.body
    );
    let new = token_request(&b, "a-new-secret-0123456789", &probe).await;
    assert_eq!(
        (new.status, &new.body["error"]),
        (400, &json!("invalid_grant")),
        "{}",
        new.body
    );

    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_key_rotated_on_one_instance_reaches_the_other_within_the_cache_ttl() {
    let a = TestServer::start(Backend::Postgres).await;
    let b = a.start_twin().await;
    b.create_client(
        json!({"client_id": "rp", "client_secret": SECRET, "redirect_uris": [CB],
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
        "scope": "openid offline"}),
    )
    .await;
    // B has read (and cached) the key sets.
    let before = jwks_kids(&b).await;
    assert_eq!(before, jwks_kids(&a).await);

    let r = a
        .admin_call(
            Method::POST,
            "/keys/hydra.openid.id-token",
            Some(json!({"alg": "RS256", "kid": "rotated", "use": "sig"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let added: Vec<String> = jwks_kids(&a)
        .await
        .into_iter()
        .filter(|k| !before.contains(k))
        .collect();
    assert_eq!(
        added.len(),
        1,
        "A publishes the new public key at once: {added:?}"
    );
    let new_kid = added[0].clone();

    // B learns it within the key cache's TTL (5 s, real time: it is another process's write).
    let rotated = Instant::now();
    while !jwks_kids(&b).await.contains(&new_kid) {
        assert!(
            rotated.elapsed() < Duration::from_secs(7),
            "B's JWKS lacks {new_kid} after {:?}",
            rotated.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // ... and signs with it: an ID token from a code exchanged on B carries the new kid.
    let code = flow_across(&a, &b, &Browser::default(), "nonce-0123456789").await;
    let r = exchange(&b, &code).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(header_kid(r.body["id_token"].as_str().unwrap()), new_kid);

    b.stop().await;
    a.stop().await;
}

/// `r` is the error `error` with `status`.
fn assert_refused(r: &Resp, status: u16, error: &str) {
    assert_eq!(
        (r.status, &r.body["error"]),
        (status, &json!(error)),
        "{}",
        r.body
    );
}

/// client_credentials trusts a cached client row only as far as the token's own INSERT
/// confirms it: a change made through another instance takes effect at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_client_changed_on_one_instance_is_enforced_by_the_other_at_once() {
    let a = TestServer::start(Backend::Postgres).await;
    let b = a.start_twin().await;
    a.create_client(json!({"client_id": "rp", "client_secret": SECRET,
        "grant_types": ["client_credentials"], "scope": "read write"}))
        .await;
    let cc = |scope: &'static str| [("grant_type", "client_credentials"), ("scope", scope)];
    // B reads (and keeps) the row, twice: the second token comes from its copy.
    for _ in 0..2 {
        let r = token_request(&b, SECRET, &cc("read write")).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }

    // A scope removed through A: B refuses it on its next request.
    let (_, mut client) = a.admin_get("/clients/rp").await;
    client["scope"] = json!("read");
    let r = a.admin_call(Method::PUT, "/clients/rp", Some(client)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = token_request(&b, SECRET, &cc("write")).await;
    assert_refused(&r, 400, "invalid_scope");
    assert_eq!(token_request(&b, SECRET, &cc("read")).await.status, 200);

    // A secret rotated through A: the old one fails on B, the new one works.
    let (_, mut client) = a.admin_get("/clients/rp").await;
    client["client_secret"] = json!("a-new-secret-0123456789");
    let r = a.admin_call(Method::PUT, "/clients/rp", Some(client)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = token_request(&b, SECRET, &cc("read")).await;
    assert_refused(&r, 401, "invalid_client");
    let r = token_request(&b, "a-new-secret-0123456789", &cc("read")).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // A refusal made on B's copy is checked against the stored row: a secret rotated and a
    // scope granted through A work on B's very next request.
    let (_, mut client) = a.admin_get("/clients/rp").await;
    client["client_secret"] = json!("a-third-secret-0123456789");
    client["scope"] = json!("read admin");
    let r = a.admin_call(Method::PUT, "/clients/rp", Some(client)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = token_request(&b, "a-third-secret-0123456789", &cc("admin")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // And a refusal on the stored row stands.
    let r = token_request(&b, "a-wrong-secret-0123456789", &cc("read")).await;
    assert_refused(&r, 401, "invalid_client");
    let r = token_request(&b, "a-third-secret-0123456789", &cc("write")).await;
    assert_refused(&r, 400, "invalid_scope");

    // Deleted through A: B issues nothing.
    assert_eq!(
        a.admin_call(Method::DELETE, "/clients/rp", None)
            .await
            .status,
        204
    );
    let r = token_request(&b, "a-third-secret-0123456789", &cc("read")).await;
    assert_refused(&r, 401, "invalid_client");

    b.stop().await;
    a.stop().await;
}
