//! The login/consent admin API (hydra-reference §2.5, §3.2–3.8) on both backends. Requests
//! are seeded through the `ConsentStore` (as `/oauth2/auth` would create them) and answered
//! over HTTP, as a login/consent UI does.

use crate::harness::{Resp, TestServer};
use crate::on_both_backends;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use portcullis::consent::{
    AuthSession, ConsentRequest, ConsentStore, LoginRequest, OidcContext, RequestDenied,
};
use reqwest::Method;
use serde_json::{json, Map, Value};

const LOGIN: &str = "/oauth2/auth/requests/login";
const CONSENT: &str = "/oauth2/auth/requests/consent";

/// The request URL `/oauth2/auth` would have stored: an existing query that must survive.
fn request_url(t: &TestServer, state: &str) -> String {
    t.public_url(&format!(
        "/oauth2/auth?client_id=app&response_type=code&scope=openid+offline&state={state}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb"
    ))
}

/// A whole second some time before the server's clock.
fn earlier(t: &TestServer, secs: i64) -> DateTime<Utc> {
    t.state.clock.now().trunc_subsecs(0) - Duration::seconds(secs)
}

/// Client `app` created through the admin API; returns it as `GET /clients/app` shows it.
async fn client(t: &TestServer) -> Value {
    let r = t
        .admin_call(
            Method::POST,
            "/clients",
            Some(json!({
                "client_id": "app", "client_secret": "a-long-client-secret",
                "client_name": "The App", "redirect_uris": ["https://app.example/cb"],
                "scope": "openid offline", "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"], "metadata": {"tier": "gold"}
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let (status, shown) = t.admin_get("/clients/app").await;
    assert_eq!(status, 200);
    assert!(shown.get("client_secret").is_none(), "{shown}");
    shown
}

/// A login request `challenge` on a fresh authentication session `sid-<challenge>`.
async fn seed_login(t: &TestServer, challenge: &str, skip: bool) -> LoginRequest {
    let sid = format!("sid-{challenge}");
    t.state
        .db
        .insert_auth_session(&AuthSession {
            id: sid.clone(),
            authenticated_at: skip.then(|| earlier(t, 600)),
            subject: if skip { "alice".into() } else { String::new() },
            remember: skip,
            expires_at: Some(t.state.clock.now() + Duration::hours(1)),
        })
        .await
        .unwrap();
    let request = LoginRequest {
        challenge: challenge.into(),
        verifier: format!("{challenge}verifier"),
        csrf: format!("{challenge}csrf"),
        requested_scope: vec!["openid".into(), "offline".into()],
        requested_audience: vec!["https://api.example".into()],
        subject: if skip { "alice".into() } else { String::new() },
        request_url: request_url(t, challenge),
        skip,
        client_id: "app".into(),
        requested_at: earlier(t, 60),
        authenticated_at: skip.then(|| earlier(t, 600)),
        oidc_context: OidcContext {
            acr_values: vec!["urn:acr:pwd".into()],
            display: "page".into(),
            id_token_hint_claims: None,
            login_hint: "alice@example.com".into(),
            ui_locales: vec!["de".into(), "en".into()],
        },
        session_id: sid,
    };
    t.state.db.insert_login_request(&request).await.unwrap();
    request
}

/// A consent request `challenge` following the login request `<challenge>login`.
async fn seed_consent(t: &TestServer, challenge: &str) -> ConsentRequest {
    let login = seed_login(t, &format!("{challenge}login"), false).await;
    let request = ConsentRequest {
        challenge: challenge.into(),
        verifier: format!("{challenge}verifier"),
        csrf: format!("{challenge}csrf"),
        client_id: "app".into(),
        subject: "alice".into(),
        request_url: login.request_url.clone(),
        skip: false,
        requested_scope: vec!["openid".into(), "offline".into()],
        requested_audience: vec!["https://api.example".into()],
        authenticated_at: Some(earlier(t, 30)),
        requested_at: login.requested_at,
        oidc_context: login.oidc_context.clone(),
        forced_subject_identifier: String::new(),
        login_session_id: Some(login.session_id.clone()),
        login_challenge: Some(login.challenge.clone()),
        acr: "urn:acr:pwd".into(),
        context: json!({"role": "admin"}),
    };
    t.state.db.insert_consent_request(&request).await.unwrap();
    request
}

async fn put(t: &TestServer, path: &str, body: Value) -> Resp {
    t.admin_call(Method::PUT, path, Some(body)).await
}

/// A PUT with a raw (possibly empty, possibly not JSON) body.
async fn put_raw(t: &TestServer, path: &str, body: &str) -> Resp {
    Resp::read(
        t.http
            .put(t.admin_url(path))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// `url` with `name=value` appended to its query, as the accept/reject answers build it.
fn with_verifier(url: &str, name: &str, value: &str) -> Value {
    json!({ "redirect_to": format!("{url}&{name}={value}") })
}

fn assert_no_null(v: &Value, path: &str) {
    match v {
        Value::Null => panic!("null at {path}"),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, x)| assert_no_null(x, &format!("{path}[{i}]"))),
        Value::Object(m) => m
            .iter()
            .for_each(|(k, x)| assert_no_null(x, &format!("{path}.{k}"))),
        _ => {}
    }
}

fn assert_invalid_request(r: &Resp, hint: &str) {
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"], "invalid_request", "{}", r.body);
    let description = r.body["error_description"].as_str().unwrap_or_default();
    assert!(description.contains(hint), "{description:?} lacks {hint:?}");
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

on_both_backends! {
    async fn login_request_shows_every_field_and_no_secret(backend: Backend) {
        let t = TestServer::start(backend).await;
        let shown_client = client(&t).await;
        let login = seed_login(&t, "c0ffee01", false).await;
        let expected = json!({
            "challenge": "c0ffee01",
            "client": shown_client,
            "oidc_context": {"acr_values": ["urn:acr:pwd"], "display": "page",
                             "login_hint": "alice@example.com", "ui_locales": ["de", "en"]},
            "request_url": login.request_url,
            "requested_access_token_audience": ["https://api.example"],
            "requested_scope": ["openid", "offline"],
            "session_id": "sid-c0ffee01",
            "skip": false,
            "subject": "",
        });
        for query in ["login_challenge=c0ffee01", "challenge=c0ffee01", "login_challenge=&challenge=c0ffee01"] {
            let (status, body) = t.admin_get(&format!("{LOGIN}?{query}")).await;
            assert_eq!((status, &body), (200, &expected), "{query}");
            assert_no_null(&body, "loginRequest");
        }
        // A skipped login shows the remembered subject.
        seed_login(&t, "c0ffee02", true).await;
        let (status, body) = t.admin_get(&format!("{LOGIN}?login_challenge=c0ffee02")).await;
        assert_eq!(status, 200);
        assert_eq!((&body["skip"], &body["subject"]), (&json!(true), &json!("alice")));
    }

    async fn consent_request_shows_every_field_and_no_secret(backend: Backend) {
        let t = TestServer::start(backend).await;
        let shown_client = client(&t).await;
        let consent = seed_consent(&t, "c0ffee10").await;
        let expected = json!({
            "acr": "urn:acr:pwd",
            "challenge": "c0ffee10",
            "client": shown_client,
            "context": {"role": "admin"},
            "login_challenge": "c0ffee10login",
            "login_session_id": "sid-c0ffee10login",
            "oidc_context": {"acr_values": ["urn:acr:pwd"], "display": "page",
                             "login_hint": "alice@example.com", "ui_locales": ["de", "en"]},
            "request_url": consent.request_url,
            "requested_access_token_audience": ["https://api.example"],
            "requested_scope": ["openid", "offline"],
            "skip": false,
            "subject": "alice",
        });
        for query in ["consent_challenge=c0ffee10", "challenge=c0ffee10"] {
            let (status, body) = t.admin_get(&format!("{CONSENT}?{query}")).await;
            assert_eq!((status, &body), (200, &expected), "{query}");
            assert_no_null(&body, "consentRequest");
        }
    }

    async fn unknown_and_missing_challenges(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t).await;
        let not_found = json!({"error": "Not Found", "error_description": "Unable to located the requested resource"});
        for path in [LOGIN, CONSENT] {
            let (status, body) = t.admin_get(&format!("{path}?login_challenge=nope&consent_challenge=nope")).await;
            assert_eq!((status, body), (404, not_found.clone()), "{path}");
        }
        for (path, body) in [
            (format!("{LOGIN}/accept?login_challenge=nope"), json!({"subject": "alice"})),
            (format!("{LOGIN}/reject?login_challenge=nope"), json!({})),
            (format!("{CONSENT}/accept?consent_challenge=nope"), json!({})),
            (format!("{CONSENT}/reject?consent_challenge=nope"), json!({})),
        ] {
            let r = put(&t, &path, body).await;
            assert_eq!((r.status, r.body), (404, not_found.clone()), "{path}");
        }
        // The challenge of the other kind does not count; an empty one is missing.
        for path in [format!("{LOGIN}?consent_challenge=x"), format!("{CONSENT}?login_challenge=x"), format!("{LOGIN}?login_challenge=")] {
            let (status, body) = t.admin_get(&path).await;
            let r = Resp { status, headers: Default::default(), body };
            assert_invalid_request(&r, "Query parameter 'challenge' is not defined");
        }
        for (path, body) in [
            (format!("{LOGIN}/accept"), json!({"subject": "alice"})),
            (format!("{LOGIN}/reject"), json!({})),
            (format!("{CONSENT}/accept"), json!({})),
            (format!("{CONSENT}/reject"), json!({})),
        ] {
            assert_invalid_request(&put(&t, &path, body).await, "Query parameter 'challenge' is not defined");
        }
        // Other methods on these paths are the router's 405.
        let r = t.admin_call(Method::POST, LOGIN, Some(json!({}))).await;
        assert_eq!(r.status, 405);
        let (status, _) = t.admin_get(&format!("{CONSENT}/accept?consent_challenge=x")).await;
        assert_eq!(status, 405);
    }

    async fn accept_login_stores_the_answer_and_returns_the_verifier(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t).await;
        let login = seed_login(&t, "c0ffee20", false).await;
        t.state.clock.advance(Duration::milliseconds(1500));
        let now = t.state.clock.now();
        let accept = format!("{LOGIN}/accept?login_challenge=c0ffee20");
        let r = put(&t, &accept, json!({
            "subject": "alice", "remember": true, "remember_for": 3600, "acr": "urn:acr:pwd",
            "force_subject_identifier": "pairwise-alice", "context": {"k": ["v"]}
        })).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body, with_verifier(&login.request_url, "login_verifier", "c0ffee20verifier"));
        let (_, handled) = t.state.db.get_login_request("c0ffee20").await.unwrap();
        let handled = handled.expect("answered");
        assert_eq!(handled.subject, "alice");
        assert!(handled.remember);
        assert_eq!(handled.remember_for, 3600);
        assert_eq!(handled.acr, "urn:acr:pwd");
        assert_eq!(handled.forced_subject_identifier, "pairwise-alice");
        assert_eq!(handled.context, json!({"k": ["v"]}));
        assert_eq!(handled.error, None);
        assert_eq!(handled.requested_at, login.requested_at);
        assert_eq!(handled.authenticated_at, Some(now.trunc_subsecs(0)));
        assert!(!handled.was_used);

        // A second answer, either kind, is a conflict; the first answer stands.
        let conflict = json!({"error": "Unable to insert or update resource because a resource with that value exists already", "error_description": ""});
        let r = put(&t, &accept, json!({"subject": "alice"})).await;
        assert_eq!((r.status, &r.body), (409, &conflict));
        let r = put(&t, &format!("{LOGIN}/reject?login_challenge=c0ffee20"), json!({})).await;
        assert_eq!((r.status, &r.body), (409, &conflict));
        let (_, again) = t.state.db.get_login_request("c0ffee20").await.unwrap();
        assert_eq!(again.as_ref(), Some(&handled));

        // Answered but not yet followed: still shown. Once the verifier is spent: 410.
        let (status, _) = t.admin_get(&format!("{LOGIN}?login_challenge=c0ffee20")).await;
        assert_eq!(status, 200);
        t.state.db.use_login_verifier("c0ffee20verifier").await.unwrap();
        let (status, body) = t.admin_get(&format!("{LOGIN}?login_challenge=c0ffee20")).await;
        assert_eq!((status, body), (410, json!({"redirect_to": login.request_url})));
        let r = put(&t, &accept, json!({"subject": "alice"})).await;
        assert_eq!(r.status, 409);
    }

    async fn accept_login_without_context_and_with_negative_remember_for(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t).await;
        seed_login(&t, "c0ffee21", false).await;
        // Negative remember_for is a browser-session cookie, like 0 (hydra-reference §3.5).
        let r = put(&t, &format!("{LOGIN}/accept?login_challenge=c0ffee21"), json!({"subject": "bob", "remember_for": -1})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let (_, handled) = t.state.db.get_login_request("c0ffee21").await.unwrap();
        let handled = handled.unwrap();
        assert_eq!((handled.subject.as_str(), handled.remember, handled.remember_for), ("bob", false, -1));
        assert_eq!(handled.context, json!({}));
    }

    async fn accept_login_of_a_skipped_request(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t).await;
        let login = seed_login(&t, "c0ffee22", true).await;
        let accept = format!("{LOGIN}/accept?login_challenge=c0ffee22");
        let r = put(&t, &accept, json!({"subject": "mallory"})).await;
        assert_invalid_request(&r, "Field 'subject' does not match subject from previous authentication.");
        assert_eq!(t.state.db.get_login_request("c0ffee22").await.unwrap().1, None);
        // The remembered session's login time stays and remember is forced on.
        t.state.clock.advance(Duration::seconds(5));
        let r = put(&t, &accept, json!({"subject": "alice", "remember": false})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let handled = t.state.db.get_login_request("c0ffee22").await.unwrap().1.unwrap();
        assert!(handled.remember);
        assert_eq!(handled.authenticated_at, login.authenticated_at);
        assert_eq!(handled.requested_at, login.requested_at);
    }

    async fn reject_login_defaults_and_custom_errors(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t).await;
        let first = seed_login(&t, "c0ffee30", false).await;
        let r = put(&t, &format!("{LOGIN}/reject?login_challenge=c0ffee30"), json!({})).await;
        assert_eq!((r.status, r.body), (200, with_verifier(&first.request_url, "login_verifier", "c0ffee30verifier")));
        let handled = t.state.db.get_login_request("c0ffee30").await.unwrap().1.unwrap();
        assert_eq!(handled.error, Some(RequestDenied {
            error: "login request denied".into(), status_code: 400, ..Default::default()
        }));
        assert_eq!((handled.subject.as_str(), handled.authenticated_at), ("", None));
        assert_eq!(handled.requested_at, first.requested_at);

        seed_login(&t, "c0ffee31", false).await;
        let custom = json!({"error": "access_denied", "error_description": "The user said no",
                            "error_hint": "Ask again later.", "error_debug": "button=deny", "status_code": 403});
        let r = put(&t, &format!("{LOGIN}/reject?login_challenge=c0ffee31"), custom).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let handled = t.state.db.get_login_request("c0ffee31").await.unwrap().1.unwrap();
        assert_eq!(handled.error, Some(RequestDenied {
            error: "access_denied".into(), error_description: "The user said no".into(),
            error_hint: "Ask again later.".into(), error_debug: "button=deny".into(), status_code: 403,
        }));
    }

    async fn malformed_bodies_are_refused_and_store_nothing(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t).await;
        seed_login(&t, "c0ffee40", false).await;
        seed_consent(&t, "c0ffee41").await;
        let login_accept = format!("{LOGIN}/accept?login_challenge=c0ffee40");
        let login_reject = format!("{LOGIN}/reject?login_challenge=c0ffee40");
        let consent_accept = format!("{CONSENT}/accept?consent_challenge=c0ffee41");
        let consent_reject = format!("{CONSENT}/reject?consent_challenge=c0ffee41");
        for path in [&login_accept, &login_reject, &consent_accept, &consent_reject] {
            assert_invalid_request(&put_raw(&t, path, "").await, "Unable to decode the request body as JSON");
            assert_invalid_request(&put_raw(&t, path, "{not json").await, "Unable to decode the request body as JSON");
            assert_invalid_request(&put(&t, path, json!({"subject": "alice", "surprise": 1})).await, "unknown field");
        }
        assert_invalid_request(&put(&t, &login_accept, json!({"subject": ""})).await, "Field 'subject' must not be empty.");
        assert_invalid_request(&put(&t, &login_accept, json!({"remember": true})).await, "Field 'subject' must not be empty.");
        assert_invalid_request(&put(&t, &consent_accept, json!({"session": {"access_token": {}, "extra": {}}})).await, "unknown field");
        assert_invalid_request(&put(&t, &consent_accept, json!({"remember": true, "remember_for": -1})).await, "Field 'remember_for' must not be negative.");
        assert_eq!(t.state.db.get_login_request("c0ffee40").await.unwrap().1, None);
        assert!(t.state.db.get_consent_request("c0ffee41").await.unwrap().1.is_none());
    }

    async fn consent_answers_overwrite_until_the_verifier_is_spent(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t).await;
        let consent = seed_consent(&t, "c0ffee50").await;
        let accept = format!("{CONSENT}/accept?consent_challenge=c0ffee50");
        let reject = format!("{CONSENT}/reject?consent_challenge=c0ffee50");
        let redirect = with_verifier(&consent.request_url, "consent_verifier", "c0ffee50verifier");

        let r = put(&t, &accept, json!({
            "grant_scope": ["openid"], "grant_access_token_audience": ["https://api.example"],
            "session": {"access_token": {"tier": "gold"}, "id_token": {"email": "alice@example.com"}},
            "remember": true, "remember_for": 3600, "handled_at": "2001-01-01T00:00:00Z"
        })).await;
        assert_eq!((r.status, &r.body), (200, &redirect));
        let handled = t.state.db.get_consent_request("c0ffee50").await.unwrap().1.unwrap();
        assert_eq!(handled.granted_scope, vec!["openid"]);
        assert_eq!(handled.granted_audience, vec!["https://api.example"]);
        assert_eq!(handled.session_access_token, obj(json!({"tier": "gold"})));
        assert_eq!(handled.session_id_token, obj(json!({"email": "alice@example.com"})));
        assert_eq!((handled.remember, handled.remember_for, handled.error.as_ref()), (true, 3600, None));
        assert_eq!(handled.requested_at, consent.requested_at);
        assert_eq!(handled.authenticated_at, consent.authenticated_at);
        assert!(!handled.was_used);
        let handled_at = handled.handled_at.expect("handled_at is the server's time");
        assert!((handled_at - t.state.clock.now()).num_seconds().abs() <= 1, "{handled_at}");

        // Before the browser comes back, a new answer replaces the old (SDK nulls read as empty).
        let r = put(&t, &accept, json!({"grant_scope": ["openid", "offline"], "session": null, "grant_access_token_audience": null})).await;
        assert_eq!((r.status, &r.body), (200, &redirect));
        let handled = t.state.db.get_consent_request("c0ffee50").await.unwrap().1.unwrap();
        assert_eq!(handled.granted_scope, vec!["openid", "offline"]);
        assert!(handled.granted_audience.is_empty() && handled.session_access_token.is_empty());
        assert_eq!((handled.remember, handled.remember_for), (false, 0));

        let r = put(&t, &reject, json!({})).await;
        assert_eq!((r.status, &r.body), (200, &redirect));
        let handled = t.state.db.get_consent_request("c0ffee50").await.unwrap().1.unwrap();
        assert_eq!(handled.error, Some(RequestDenied {
            error: "consent request denied".into(), status_code: 400, ..Default::default()
        }));
        assert!(handled.granted_scope.is_empty());

        let r = put(&t, &reject, json!({"error": "access_denied", "error_description": "no", "status_code": 403})).await;
        assert_eq!(r.status, 200);
        let denied = t.state.db.get_consent_request("c0ffee50").await.unwrap().1.unwrap().error.unwrap();
        assert_eq!((denied.error.as_str(), denied.error_description.as_str(), denied.status_code), ("access_denied", "no", 403));

        let r = put(&t, &accept, json!({"grant_scope": ["openid"]})).await;
        assert_eq!(r.status, 200);
        let (status, _) = t.admin_get(&format!("{CONSENT}?consent_challenge=c0ffee50")).await;
        assert_eq!(status, 200);

        // The browser spent the verifier: the answer is final.
        t.state.db.use_consent_verifier("c0ffee50verifier").await.unwrap();
        let conflict = json!({"error": "Conflict", "error_description": "Unable to process the requested resource because of conflict in the current state The consent request was already used and can no longer be changed."});
        let r = put(&t, &accept, json!({"grant_scope": ["openid", "offline"]})).await;
        assert_eq!((r.status, &r.body), (409, &conflict));
        let r = put(&t, &reject, json!({})).await;
        assert_eq!((r.status, &r.body), (409, &conflict));
        let handled = t.state.db.get_consent_request("c0ffee50").await.unwrap().1.unwrap();
        assert_eq!((handled.granted_scope.clone(), handled.error.clone(), handled.was_used), (vec!["openid".to_string()], None, true));
        let (status, body) = t.admin_get(&format!("{CONSENT}?consent_challenge=c0ffee50")).await;
        assert_eq!((status, body), (410, json!({"redirect_to": consent.request_url})));
    }
}
