//! Consent sessions (hydra-reference §2.6, §3.10; security-cases #63): listing a subject's
//! granted consents with pagination headers, and revoking them with every token issued under
//! them. Consents come from real flows through the fake login/consent app.

use crate::harness::flow::{Browser, FakeApp};
use crate::harness::{Resp, TestServer};
use crate::on_both_backends;
use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};
use url::Url;

const SECRET: &str = "a-client-secret-of-some-length";
const CB: &str = "http://127.0.0.1:5555/cb";
const STATE: &str = "state-0123456789";
const NONCE: &str = "nonce-0123456789";
const SESSIONS: &str = "/oauth2/auth/sessions/consent";

async fn client(t: &TestServer, id: &str) {
    t.create_client(
        json!({"client_id": id, "client_secret": SECRET, "redirect_uris": [CB],
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
        "scope": "openid offline profile", "audience": ["https://api.example/"]}),
    )
    .await;
}

fn auth_url(t: &TestServer, id: &str) -> String {
    t.auth_url(&[
        ("client_id", id),
        ("response_type", "code"),
        ("redirect_uri", CB),
        ("scope", "openid offline"),
        ("state", STATE),
        ("nonce", NONCE),
        ("audience", "https://api.example/"),
    ])
}

/// Runs a flow of `app` at client `id` in a fresh browser; the code, if one came back.
async fn flow(t: &TestServer, id: &str, app: &FakeApp) -> Option<String> {
    let trace = t.run_flow(&Browser::default(), &auth_url(t, id), app).await;
    assert!(trace.end().as_str().starts_with(CB), "{}", trace.end());
    trace.param("code")
}

/// A flow whose tokens were issued: (access token, refresh token, consent challenge).
async fn granted(t: &TestServer, id: &str, app: &FakeApp) -> (String, String, String) {
    let browser = Browser::default();
    let trace = t.run_flow(&browser, &auth_url(t, id), app).await;
    let r = t
        .exchange(id, Some(SECRET), &trace.code(), &[("redirect_uri", CB)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let challenge = trace.consents[0]["challenge"].as_str().unwrap().to_string();
    (
        r.body["access_token"].as_str().unwrap().to_string(),
        r.body["refresh_token"].as_str().unwrap().to_string(),
        challenge,
    )
}

/// A consent accepted through the admin API whose verifier the browser never brings back.
async fn accepted_but_unused(t: &TestServer, id: &str) {
    let browser = Browser::default();
    let (_, login) = browser.get(&auth_url(t, id)).await;
    let login = login.unwrap();
    let challenge = param(&login, "login_challenge");
    let r = t
        .admin_call(
            Method::PUT,
            &format!("/oauth2/auth/requests/login/accept?login_challenge={challenge}"),
            Some(json!({"subject": "alice"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (_, consent) = browser.get(r.body["redirect_to"].as_str().unwrap()).await;
    let challenge = param(&consent.unwrap(), "consent_challenge");
    let r = t
        .admin_call(
            Method::PUT,
            &format!("/oauth2/auth/requests/consent/accept?consent_challenge={challenge}"),
            Some(json!({"grant_scope": ["openid"]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

fn param(url: &Url, name: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

async fn list(t: &TestServer, query: &str) -> Resp {
    t.admin_call(Method::GET, &format!("{SESSIONS}?{query}"), None)
        .await
}

async fn revoke(t: &TestServer, query: &str) -> Resp {
    t.admin_call(Method::DELETE, &format!("{SESSIONS}?{query}"), None)
        .await
}

fn challenges(r: &Resp) -> Vec<String> {
    r.body
        .as_array()
        .unwrap_or_else(|| panic!("an array: {}", r.body))
        .iter()
        .map(|s| {
            s["consent_request"]["challenge"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

async fn refresh(t: &TestServer, id: &str, token: &str) -> Resp {
    Resp::read(
        t.http
            .post(t.public_url("/oauth2/token"))
            .basic_auth(id, Some(SECRET))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn sorted_keys(v: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

on_both_backends! {
    async fn listing_shows_used_accepted_consents_newest_first(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "rp1").await;
        client(&t, "rp2").await;
        let app = FakeApp::default();
        let (_, _, first) = granted(&t, "rp1", &app).await;
        t.state.clock.advance(Duration::seconds(10));
        let (_, _, second) = granted(&t, "rp2", &app).await;
        t.state.clock.advance(Duration::seconds(10));
        // Not sessions: a rejected consent, one never used, another subject's.
        let denied = FakeApp { reject_consent: Some(json!({"error": "access_denied"})), ..FakeApp::default() };
        assert!(flow(&t, "rp1", &denied).await.is_none());
        accepted_but_unused(&t, "rp1").await;
        flow(&t, "rp1", &FakeApp { subject: "bob".into(), ..FakeApp::default() }).await.unwrap();

        let r = list(&t, "subject=alice").await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(challenges(&r), vec![second.clone(), first.clone()]);
        assert_eq!(r.header("x-total-count"), "2");
        assert_eq!(r.header("link"), format!("<{SESSIONS}?limit=100&offset=0&subject=alice>; rel=\"first\""));

        let s = &r.body[0];
        assert_eq!(sorted_keys(s), ["consent_request", "grant_access_token_audience", "grant_scope",
            "handled_at", "remember", "remember_for", "session"]);
        assert_eq!(s["grant_scope"], json!(["openid", "offline"]));
        assert_eq!(s["grant_access_token_audience"], json!(["https://api.example/"]));
        assert_eq!(s["remember"], json!(false));
        assert_eq!(s["remember_for"], json!(0));
        assert_eq!(s["session"], json!({"access_token": {"tier": "gold"}, "id_token": {"email": "alice@example.com"}}));
        assert!(chrono::DateTime::parse_from_rfc3339(s["handled_at"].as_str().unwrap()).is_ok(), "{s}");
        let c = &s["consent_request"];
        assert_eq!(sorted_keys(c), ["acr", "challenge", "client", "context", "login_challenge",
            "login_session_id", "oidc_context", "request_url", "requested_access_token_audience",
            "requested_scope", "skip", "subject"]);
        assert_eq!(c["subject"], json!("alice"));
        assert_eq!(c["skip"], json!(false));
        assert_eq!(c["requested_scope"], json!(["openid", "offline"]));
        assert_eq!(c["requested_access_token_audience"], json!(["https://api.example/"]));
        assert_eq!(c["context"], json!({}));
        assert_eq!(c["client"]["client_id"], json!("rp2"));
        assert!(c["client"].get("client_secret").is_none(), "{c}");
        assert!(c["request_url"].as_str().unwrap().starts_with(&t.public_url("/oauth2/auth?")));
        assert!(!c["login_challenge"].as_str().unwrap().is_empty());
        assert!(!c["login_session_id"].as_str().unwrap().is_empty());
        assert!(!r.body.to_string().contains("null"), "{}", r.body);

        let bob = list(&t, "subject=bob").await;
        assert_eq!(challenges(&bob).len(), 1);
        let nobody = list(&t, "subject=nobody").await;
        assert_eq!((nobody.status, nobody.body.clone()), (200, json!([])));
        assert_eq!(nobody.header("x-total-count"), "0");
    }

    async fn listing_pages_with_link_headers(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "rp").await;
        let mut all = Vec::new();
        for _ in 0..5 {
            all.push(granted(&t, "rp", &FakeApp::default()).await.2);
            t.state.clock.advance(Duration::seconds(5));
        }
        all.reverse();
        let link = |limit: i64, offset: i64, rel: &str| {
            format!("<{SESSIONS}?limit={limit}&offset={offset}&subject=alice>; rel=\"{rel}\"")
        };

        let first = list(&t, "subject=alice&limit=2").await;
        assert_eq!(challenges(&first), all[0..2]);
        assert_eq!(first.header("x-total-count"), "5");
        assert_eq!(first.header("link"), [link(2, 2, "next"), link(2, 4, "last")].join(","));

        let middle = list(&t, "subject=alice&limit=2&offset=2").await;
        assert_eq!(challenges(&middle), all[2..4]);
        assert_eq!(middle.header("link"),
            [link(2, 0, "first"), link(2, 4, "next"), link(2, 0, "prev"), link(2, 4, "last")].join(","));

        // Hydra rounds the offset down to a multiple of the limit.
        let last = list(&t, "subject=alice&limit=2&offset=5").await;
        assert_eq!(challenges(&last), all[4..5]);
        assert_eq!(last.header("link"), [link(2, 0, "first"), link(2, 2, "prev")].join(","));

        let garbage = list(&t, "subject=alice&limit=abc&offset=-3").await;
        assert_eq!(challenges(&garbage), all);
    }

    async fn skipped_and_expired_consents_are_not_listed(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "forever").await;
        client(&t, "brief").await;
        let remembered = FakeApp { remember: true, remember_for: 0, ..FakeApp::default() };
        let browser = Browser::default();
        let trace = t.run_flow(&browser, &auth_url(&t, "forever"), &remembered).await;
        let kept = trace.consents[0]["challenge"].as_str().unwrap().to_string();
        // The same browser again: the remembered consent is skipped, and a skip is no session.
        let again = t.run_flow(&browser, &auth_url(&t, "forever"), &remembered).await;
        assert_eq!(again.consents[0]["skip"], json!(true));
        assert!(again.param("code").is_some());

        t.state.clock.advance(Duration::seconds(10));
        let brief = FakeApp { remember: true, remember_for: 60, ..FakeApp::default() };
        let trace = t.run_flow(&Browser::default(), &auth_url(&t, "brief"), &brief).await;
        let short = trace.consents[0]["challenge"].as_str().unwrap().to_string();
        let r = list(&t, "subject=alice").await;
        assert_eq!(challenges(&r), vec![short, kept.clone()]);
        assert_eq!(r.body[0]["remember"], json!(true));
        assert_eq!(r.body[0]["remember_for"], json!(60));

        t.state.clock.advance(Duration::seconds(120));
        let r = list(&t, "subject=alice").await;
        assert_eq!(challenges(&r), vec![kept]);
        assert_eq!(r.header("x-total-count"), "1");
    }

    async fn revoking_one_client_revokes_its_tokens_and_consent(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "rp1").await;
        client(&t, "rp2").await;
        let app = FakeApp { remember: true, remember_for: 3600, ..FakeApp::default() };
        let (access1, refresh1, _) = granted(&t, "rp1", &app).await;
        let code1 = flow(&t, "rp1", &app).await.unwrap();
        let (access2, refresh2, kept) = granted(&t, "rp2", &app).await;
        assert!(t.active(&access1).await && t.active(&refresh1).await);

        let r = revoke(&t, "subject=alice&client=rp1").await;
        assert_eq!(r.status, 204, "{:?}", r.body);
        for token in [&access1, &refresh1] {
            assert_eq!(t.introspect(token).await, json!({"active": false}));
        }
        let r = refresh(&t, "rp1", &refresh1).await;
        assert!(r.status >= 400 && r.status < 500, "{}: {}", r.status, r.body);
        let r = t.exchange("rp1", Some(SECRET), &code1, &[("redirect_uri", CB)]).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.body["error"], json!("invalid_grant"));
        // The other client keeps its grant.
        assert!(t.active(&access2).await && t.active(&refresh2).await);
        assert_eq!(refresh(&t, "rp2", &refresh2).await.status, 200);
        assert_eq!(challenges(&list(&t, "subject=alice").await), vec![kept]);

        // The consent is forgotten: rp1 has to ask again even in a browser it remembered.
        let trace = t.run_flow(&Browser::default(), &auth_url(&t, "rp1"), &FakeApp::default()).await;
        assert_eq!(trace.consents[0]["skip"], json!(false));
    }

    async fn revoking_all_revokes_every_grant_of_the_subject(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "rp1").await;
        client(&t, "rp2").await;
        let app = FakeApp::default();
        let (access1, refresh1, _) = granted(&t, "rp1", &app).await;
        let (access2, refresh2, _) = granted(&t, "rp2", &app).await;
        let bob = FakeApp { subject: "bob".into(), ..FakeApp::default() };
        let (bob_access, _, _) = granted(&t, "rp1", &bob).await;
        // A rotated refresh token stays under the consent.
        let rotated = refresh(&t, "rp2", &refresh2).await;
        assert_eq!(rotated.status, 200, "{}", rotated.body);
        let access3 = rotated.body["access_token"].as_str().unwrap().to_string();
        let refresh3 = rotated.body["refresh_token"].as_str().unwrap().to_string();

        // The SDKs send `True`.
        let r = revoke(&t, "subject=alice&all=True").await;
        assert_eq!(r.status, 204, "{:?}", r.body);
        for token in [&access1, &refresh1, &access2, &refresh2, &access3, &refresh3] {
            assert!(!t.active(token).await);
        }
        assert_eq!(refresh(&t, "rp2", &refresh3).await.status / 100, 4);
        assert!(t.active(&bob_access).await);
        assert_eq!(list(&t, "subject=alice").await.body, json!([]));
        assert_eq!(challenges(&list(&t, "subject=bob").await).len(), 1);

        // Nothing left, or nobody known: still 204.
        assert_eq!(revoke(&t, "subject=alice&all=true").await.status, 204);
        assert_eq!(revoke(&t, "subject=nobody&client=rp1").await.status, 204);
        assert_eq!(revoke(&t, "subject=alice&client=unknown").await.status, 204);
    }

    async fn missing_parameters_are_400(backend: Backend) {
        let t = TestServer::start(backend).await;
        for r in [
            list(&t, "").await,
            list(&t, "subject=").await,
            revoke(&t, "client=rp").await,
            revoke(&t, "all=true").await,
            revoke(&t, "subject=alice").await,
            revoke(&t, "subject=alice&all=false").await,
            revoke(&t, "subject=alice&client=").await,
        ] {
            assert_eq!(r.status, 400, "{:?}", r.body);
            assert_eq!(r.body["error"], json!("invalid_request"));
        }
        let r = revoke(&t, "all=true").await;
        assert!(r.body["error_description"].as_str().unwrap().contains("'subject'"), "{}", r.body);
        let r = revoke(&t, "subject=alice").await;
        assert!(r.body["error_description"].as_str().unwrap().contains("'client' and 'all'"), "{}", r.body);
    }
}
