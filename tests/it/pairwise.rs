//! Pairwise subject identifiers end to end (hydra-reference §5.10, OIDC Core §8.1): the `sub`
//! a pairwise client sees is SHA-256(sector || subject || salt) in hex, where the sector is the
//! `sector_identifier_uri` (served here by a tiny local server) or the host of the client's
//! only redirect URI; the same `sub` in ID tokens (code exchange and refresh) and `/userinfo`;
//! the real subject in introspection `sub` and the pairwise one in `obfuscated_subject`;
//! `force_subject_identifier` from the login accept wins for pairwise clients only.

use crate::harness::flow::{Browser, FakeApp};
use crate::harness::{Backend, Resp, TestServer};
use crate::on_both_backends;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const SECRET: &str = "a-client-secret-of-some-length";
const SALT: &str = "pairwise-salt-0123";
const CB_A: &str = "http://127.0.0.1:5555/cb";
const CB_B: &str = "http://localhost:6666/cb";
const STATE: &str = "state-0123456789";
const NONCE: &str = "nonce-0123456789";

async fn pairwise_server(backend: Backend) -> TestServer {
    TestServer::start_with(backend, |c| {
        c.oidc.subject_identifiers.supported_types = vec!["public".into(), "pairwise".into()];
        c.oidc.subject_identifiers.pairwise.salt = SALT.into();
    })
    .await
}

/// Serves `/sector1.json` ([CB_A, CB_B]) and `/sector2.json` ([CB_A]) on a loopback port;
/// returns their URLs. The server lives as long as the test's runtime.
async fn sector_documents() -> (String, String) {
    let app = axum::Router::new()
        .route(
            "/sector1.json",
            axum::routing::get(|| async { axum::Json(json!([CB_A, CB_B])) }),
        )
        .route(
            "/sector2.json",
            axum::routing::get(|| async { axum::Json(json!([CB_A])) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (
        format!("http://{addr}/sector1.json"),
        format!("http://{addr}/sector2.json"),
    )
}

/// The pairwise identifier as OIDC Core §8.1 and Hydra compute it.
fn pairwise(sector: &str, subject: &str) -> String {
    let digest = Sha256::digest(format!("{sector}{subject}{SALT}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

async fn client(t: &TestServer, id: &str, extra: Value) {
    let mut body = json!({"client_id": id, "client_secret": SECRET, "redirect_uris": [CB_A],
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
        "scope": "openid offline", "subject_type": "pairwise"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    t.create_client(body).await;
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn userinfo(t: &TestServer, access: &str) -> Value {
    let r = Resp::read(
        t.http
            .get(t.public_url("/userinfo"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// Runs the code flow of `app` at client `id` (redirecting to `cb`) and checks that the ID
/// token, the refreshed ID token, `/userinfo` and introspection agree; returns the `sub`.
async fn sub_seen_by(t: &TestServer, id: &str, cb: &str, app: &FakeApp) -> String {
    let url = t.auth_url(&[
        ("client_id", id),
        ("response_type", "code"),
        ("redirect_uri", cb),
        ("scope", "openid offline"),
        ("state", STATE),
        ("nonce", NONCE),
    ]);
    let trace = t.run_flow(&Browser::default(), &url, app).await;
    // The login/consent app always sees the real subject.
    assert_eq!(trace.consents[0]["subject"], json!(app.subject));
    let r = t
        .exchange(id, Some(SECRET), &trace.code(), &[("redirect_uri", cb)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sub = claims(r.body["id_token"].as_str().unwrap())["sub"]
        .as_str()
        .unwrap()
        .to_string();
    let access = r.body["access_token"].as_str().unwrap();
    assert_eq!(
        userinfo(t, access).await["sub"],
        json!(sub),
        "userinfo of {id}"
    );

    let info = t.introspect(access).await;
    assert_eq!(info["sub"], json!(app.subject), "{info}");
    if sub == app.subject {
        assert!(info.get("obfuscated_subject").is_none(), "{info}");
    } else {
        assert_eq!(info["obfuscated_subject"], json!(sub), "{info}");
    }

    let refreshed = Resp::read(
        t.http
            .post(t.public_url("/oauth2/token"))
            .basic_auth(id, Some(SECRET))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", r.body["refresh_token"].as_str().unwrap()),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_eq!(
        claims(refreshed.body["id_token"].as_str().unwrap())["sub"],
        json!(sub),
        "refresh of {id}"
    );
    let access = refreshed.body["access_token"].as_str().unwrap();
    assert_eq!(userinfo(t, access).await["sub"], json!(sub));
    let info = t.introspect(access).await;
    assert_eq!(info["sub"], json!(app.subject));
    assert_eq!(
        info.get("obfuscated_subject"),
        (sub != app.subject).then(|| json!(sub)).as_ref(),
        "{info}"
    );
    sub
}

/// Introspection of an access token from a code flow of client `id` without `openid` (no ID
/// token): Hydra still reports the client's subject identifier as `obfuscated_subject`.
async fn introspected_without_openid(t: &TestServer, id: &str, cb: &str, app: &FakeApp) -> Value {
    let url = t.auth_url(&[
        ("client_id", id),
        ("response_type", "code"),
        ("redirect_uri", cb),
        ("scope", "offline"),
        ("state", STATE),
    ]);
    let trace = t.run_flow(&Browser::default(), &url, app).await;
    let r = t
        .exchange(id, Some(SECRET), &trace.code(), &[("redirect_uri", cb)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.get("id_token").is_none(), "{}", r.body);
    t.introspect(r.body["access_token"].as_str().unwrap()).await
}

on_both_backends! {
    async fn pairwise_subjects_depend_on_the_sector(backend: Backend) {
        let t = pairwise_server(backend).await;
        let (sector1, sector2) = sector_documents().await;
        let (_, discovery) = t.public_get("/.well-known/openid-configuration").await;
        assert_eq!(discovery["subject_types_supported"], json!(["public", "pairwise"]));

        client(&t, "public", json!({"subject_type": "public"})).await;
        client(&t, "host-a", json!({})).await;
        client(&t, "host-b", json!({"redirect_uris": [CB_B]})).await;
        client(&t, "sector-1", json!({"redirect_uris": [CB_A, CB_B], "sector_identifier_uri": sector1})).await;
        client(&t, "sector-1b", json!({"redirect_uris": [CB_B], "sector_identifier_uri": sector1})).await;
        client(&t, "sector-2", json!({"sector_identifier_uri": sector2})).await;
        // A redirect URI missing from the sector document is refused at registration.
        let r = t.admin_call(Method::POST, "/clients", Some(json!({"client_id": "bad",
            "redirect_uris": [CB_B], "subject_type": "pairwise", "sector_identifier_uri": sector2}))).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.body["error"], json!("invalid_client_metadata"));

        let alice = FakeApp::default();
        assert_eq!(sub_seen_by(&t, "public", CB_A, &alice).await, "alice");
        let host_a = sub_seen_by(&t, "host-a", CB_A, &alice).await;
        assert_eq!(host_a, pairwise("127.0.0.1:5555", "alice"));
        let host_b = sub_seen_by(&t, "host-b", CB_B, &alice).await;
        assert_eq!(host_b, pairwise("localhost:6666", "alice"));
        let s1 = sub_seen_by(&t, "sector-1", CB_A, &alice).await;
        assert_eq!(s1, pairwise(&sector1, "alice"));
        // Same sector: the same identifier, whatever redirect URI the flow used.
        assert_eq!(sub_seen_by(&t, "sector-1", CB_B, &alice).await, s1);
        assert_eq!(sub_seen_by(&t, "sector-1b", CB_B, &alice).await, s1);
        let s2 = sub_seen_by(&t, "sector-2", CB_A, &alice).await;
        assert_eq!(s2, pairwise(&sector2, "alice"));
        let mut all = vec![host_a.clone(), host_b, s1, s2];
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 4, "every sector has its own identifier");

        // Without `openid` the tokens still carry the pairwise identifier for introspection.
        let info = introspected_without_openid(&t, "host-a", CB_A, &alice).await;
        assert_eq!((&info["sub"], &info["obfuscated_subject"]), (&json!("alice"), &json!(host_a)), "{info}");
        let info = introspected_without_openid(&t, "public", CB_A, &alice).await;
        assert!(info.get("obfuscated_subject").is_none(), "{info}");

        // Another user at the same client: another identifier.
        let bob = FakeApp { subject: "bob".into(), ..FakeApp::default() };
        let bob_a = sub_seen_by(&t, "host-a", CB_A, &bob).await;
        assert_eq!(bob_a, pairwise("127.0.0.1:5555", "bob"));
        assert_ne!(bob_a, host_a);
    }

    async fn forced_subject_identifier_wins_for_pairwise_clients_only(backend: Backend) {
        let t = pairwise_server(backend).await;
        client(&t, "public", json!({"subject_type": "public"})).await;
        client(&t, "pairwise", json!({})).await;
        let forced = FakeApp { force_subject_identifier: "forced-alice".into(), ..FakeApp::default() };
        assert_eq!(sub_seen_by(&t, "pairwise", CB_A, &forced).await, "forced-alice");
        assert_eq!(sub_seen_by(&t, "public", CB_A, &forced).await, "alice");
        // Without a forced identifier the computed one is back.
        assert_eq!(sub_seen_by(&t, "pairwise", CB_A, &FakeApp::default()).await,
            pairwise("127.0.0.1:5555", "alice"));
    }

    async fn a_pairwise_client_needs_a_sector_or_a_single_redirect_host(backend: Backend) {
        let t = pairwise_server(backend).await;
        client(&t, "ambiguous", json!({"redirect_uris": [CB_A, CB_B]})).await;
        let url = t.auth_url(&[("client_id", "ambiguous"), ("response_type", "code"), ("redirect_uri", CB_A),
            ("scope", "openid"), ("state", STATE), ("nonce", NONCE)]);
        let trace = t.run_flow(&Browser::default(), &url, &FakeApp::default()).await;
        assert!(trace.end().as_str().starts_with(CB_A), "{}", trace.end());
        assert_eq!(trace.param("error").as_deref(), Some("invalid_request"), "{}", trace.end());
        assert!(trace.param("code").is_none());

        // A server without pairwise support refuses pairwise clients.
        let public_only = TestServer::start(backend).await;
        let r = public_only.admin_call(Method::POST, "/clients", Some(json!({"client_id": "pw",
            "redirect_uris": [CB_A], "subject_type": "pairwise"}))).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.body["error"], json!("invalid_client_metadata"));
    }
}
