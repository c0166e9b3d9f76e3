//! The `ConsentStore` contract, run on both backends: authentication sessions, login and
//! consent requests and their answers, verifier spending, remembered consents, forced subject
//! identifiers. (Housekeeping is the janitor's: tests/it/cli_token.rs.)

use crate::harness::TestDb;
use crate::on_both_backends;
use chrono::{DateTime, Duration, TimeZone, Utc};
use portcullis::client::{Client, ClientStore, OAuth2Client};
use portcullis::consent::{
    AuthSession, ConsentRequest, ConsentStore, HandledConsent, HandledLogin, LoginRequest,
    OidcContext, RequestDenied,
};
use portcullis::error::StoreError;
use portcullis::store::Db;
use serde_json::{json, Map, Value};

/// A fixed instant plus `secs` seconds (whole seconds: the flow truncates its times).
fn at(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2021, 7, 14, 12, 0, 0).unwrap() + Duration::seconds(secs)
}

/// A migrated database holding clients `c1` and `c2`.
async fn store(backend: crate::harness::Backend) -> (TestDb, Db) {
    let t = TestDb::create(backend).await;
    t.migrate().await;
    let db = t.connect().await;
    for id in ["c1", "c2"] {
        let client = Client {
            data: OAuth2Client {
                client_id: id.into(),
                created_at: Some(at(0)),
                updated_at: Some(at(0)),
                ..Default::default()
            },
            secret_hash: String::new(),
            revision: 0,
        };
        db.insert_client(&client).await.unwrap();
    }
    (t, db)
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn session(id: &str) -> AuthSession {
    AuthSession {
        id: id.into(),
        authenticated_at: None,
        subject: String::new(),
        remember: false,
        expires_at: Some(at(3600)),
    }
}

fn full_oidc() -> OidcContext {
    OidcContext {
        acr_values: vec!["urn:a".into(), "urn:b".into()],
        display: "popup".into(),
        id_token_hint_claims: Some(obj(json!({"sub": "alice", "aud": ["c1"]}))),
        login_hint: "alice@example.com".into(),
        ui_locales: vec!["de".into(), "en".into()],
    }
}

fn login(challenge: &str, session_id: &str) -> LoginRequest {
    LoginRequest {
        challenge: challenge.into(),
        verifier: format!("{challenge}-verifier"),
        csrf: format!("{challenge}-csrf"),
        requested_scope: vec!["openid".into(), "offline".into()],
        requested_audience: vec!["https://api.example".into()],
        subject: String::new(),
        request_url: format!("https://auth.example/oauth2/auth?state={challenge}"),
        skip: false,
        client_id: "c1".into(),
        requested_at: at(0),
        authenticated_at: None,
        oidc_context: OidcContext::default(),
        session_id: session_id.into(),
    }
}

fn login_answer(challenge: &str) -> HandledLogin {
    HandledLogin {
        challenge: challenge.into(),
        subject: "alice".into(),
        remember: true,
        remember_for: 3600,
        error: None,
        acr: "urn:acr:1".into(),
        requested_at: at(0),
        authenticated_at: Some(at(5)),
        was_used: false,
        forced_subject_identifier: String::new(),
        context: json!({"role": ["admin"], "n": 1}),
    }
}

fn consent(challenge: &str, subject: &str, client_id: &str) -> ConsentRequest {
    ConsentRequest {
        challenge: challenge.into(),
        verifier: format!("{challenge}-verifier"),
        csrf: format!("{challenge}-csrf"),
        client_id: client_id.into(),
        subject: subject.into(),
        request_url: format!("https://auth.example/oauth2/auth?state={challenge}"),
        skip: false,
        requested_scope: vec!["openid".into(), "photos".into()],
        requested_audience: vec!["https://api.example".into()],
        authenticated_at: Some(at(5)),
        requested_at: at(0),
        oidc_context: OidcContext::default(),
        forced_subject_identifier: String::new(),
        login_session_id: None,
        login_challenge: None,
        acr: String::new(),
        context: json!({}),
    }
}

fn consent_answer(challenge: &str, requested_at: DateTime<Utc>) -> HandledConsent {
    HandledConsent {
        challenge: challenge.into(),
        granted_scope: vec!["openid".into()],
        granted_audience: vec!["https://api.example".into()],
        remember: true,
        remember_for: 0,
        error: None,
        requested_at,
        authenticated_at: Some(at(5)),
        session_access_token: obj(json!({"tenant": "t1"})),
        session_id_token: obj(json!({"email": "alice@example.com", "groups": ["a", "b"]})),
        was_used: false,
        handled_at: Some(at(10)),
    }
}

fn denied() -> RequestDenied {
    RequestDenied {
        error: "access_denied".into(),
        error_description: "The resource owner denied the request".into(),
        error_hint: "no thanks".into(),
        error_debug: "debug text".into(),
        status_code: 403,
    }
}

/// Spends `verifier` from ten tasks at once; returns (successes, conflicts).
async fn race(db: &Db, verifier: &str, consent: bool) -> (usize, usize) {
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let db = db.clone();
            let verifier = verifier.to_owned();
            tokio::spawn(async move {
                if consent {
                    db.use_consent_verifier(&verifier).await.map(|_| ())
                } else {
                    db.use_login_verifier(&verifier).await.map(|_| ())
                }
            })
        })
        .collect();
    let (mut won, mut lost) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => won += 1,
            Err(StoreError::Conflict) => lost += 1,
            Err(e) => panic!("a concurrent spend failed otherwise: {e:?}"),
        }
    }
    (won, lost)
}

on_both_backends! {
    async fn auth_sessions_round_trip_update_and_delete(backend: Backend) {
        let (_t, db) = store(backend).await;
        let stub = session("s1");
        db.insert_auth_session(&stub).await.unwrap();
        assert_eq!(db.get_auth_session("s1").await.unwrap(), stub);
        assert!(matches!(db.insert_auth_session(&stub).await, Err(StoreError::Conflict)));
        assert!(matches!(db.get_auth_session("nope").await, Err(StoreError::NotFound)));

        let logged_in = AuthSession {
            id: "s1".into(),
            authenticated_at: Some(at(7)),
            subject: "alice".into(),
            remember: true,
            expires_at: None,
        };
        db.update_auth_session(&logged_in).await.unwrap();
        assert_eq!(db.get_auth_session("s1").await.unwrap(), logged_in);
        assert!(matches!(
            db.update_auth_session(&session("nope")).await,
            Err(StoreError::NotFound)
        ));

        db.delete_auth_session("s1").await.unwrap();
        assert!(matches!(db.get_auth_session("s1").await, Err(StoreError::NotFound)));
        db.delete_auth_session("s1").await.unwrap();
        db.close().await;
    }

    async fn login_requests_round_trip_and_answer_once(backend: Backend) {
        let (_t, db) = store(backend).await;
        db.insert_auth_session(&session("s1")).await.unwrap();
        let mut request = login("l1", "s1");
        request.oidc_context = full_oidc();
        request.skip = true;
        request.subject = "alice".into();
        request.authenticated_at = Some(at(-60));
        db.insert_login_request(&request).await.unwrap();
        assert_eq!(db.get_login_request("l1").await.unwrap(), (request.clone(), None));

        let mut same_verifier = login("l2", "s1");
        same_verifier.verifier = request.verifier.clone();
        assert!(matches!(db.insert_login_request(&request).await, Err(StoreError::Conflict)));
        assert!(matches!(db.insert_login_request(&same_verifier).await, Err(StoreError::Conflict)));
        assert!(matches!(db.get_login_request("nope").await, Err(StoreError::NotFound)));

        let mut answer = login_answer("l1");
        answer.forced_subject_identifier = "pairwise-alice".into();
        db.handle_login_request(&answer).await.unwrap();
        assert_eq!(db.get_login_request("l1").await.unwrap(), (request, Some(answer.clone())));
        assert!(matches!(db.handle_login_request(&answer).await, Err(StoreError::Conflict)));
        assert!(matches!(
            db.handle_login_request(&login_answer("nope")).await,
            Err(StoreError::NotFound)
        ));

        // A rejection keeps every member; a null context reads back as the empty object.
        db.insert_login_request(&login("l3", "s1")).await.unwrap();
        let mut rejected = login_answer("l3");
        rejected.error = Some(denied());
        rejected.authenticated_at = None;
        rejected.context = Value::Null;
        db.handle_login_request(&rejected).await.unwrap();
        let (_, read) = db.get_login_request("l3").await.unwrap();
        rejected.context = json!({});
        assert_eq!(read, Some(rejected));
        db.close().await;
    }

    async fn a_login_request_is_stored_with_its_stub_session(backend: Backend) {
        let (_t, db) = store(backend).await;
        let stub = session("s1");
        let request = login("l1", "s1");
        db.insert_login_request_with_session(Some(&stub), &request).await.unwrap();
        assert_eq!(db.get_auth_session("s1").await.unwrap(), stub);
        assert_eq!(db.get_login_request("l1").await.unwrap(), (request, None));

        // Reusing a remembered session: only the request is written.
        let again = login("l2", "s1");
        db.insert_login_request_with_session(None, &again).await.unwrap();
        assert_eq!(db.get_login_request("l2").await.unwrap(), (again, None));

        // A taken session id is Conflict and stores no request.
        assert!(matches!(
            db.insert_login_request_with_session(Some(&stub), &login("l3", "s1")).await,
            Err(StoreError::Conflict)
        ));
        assert!(matches!(db.get_login_request("l3").await, Err(StoreError::NotFound)));
        // The request's own failures are as insert_login_request's.
        assert!(matches!(
            db.insert_login_request_with_session(Some(&session("s2")), &login("l1", "s2")).await,
            Err(StoreError::Conflict)
        ));
        let mut foreign = login("l4", "s3");
        foreign.client_id = "no-such-client".into();
        assert!(matches!(
            db.insert_login_request_with_session(Some(&session("s3")), &foreign).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            db.insert_login_request_with_session(None, &login("l5", "no-such-session")).await,
            Err(StoreError::NotFound)
        ));
        db.close().await;
    }

    async fn login_verifier_is_spent_once(backend: Backend) {
        let (_t, db) = store(backend).await;
        db.insert_auth_session(&session("s1")).await.unwrap();
        let request = login("l1", "s1");
        db.insert_login_request(&request).await.unwrap();
        assert!(matches!(db.use_login_verifier("unknown").await, Err(StoreError::NotFound)));
        assert!(
            matches!(db.use_login_verifier(&request.verifier).await, Err(StoreError::NotFound)),
            "an unanswered request cannot be spent"
        );
        let answer = login_answer("l1");
        db.handle_login_request(&answer).await.unwrap();
        let (read, handled) = db.use_login_verifier(&request.verifier).await.unwrap();
        assert_eq!(read, request);
        assert_eq!(handled, HandledLogin { was_used: true, ..answer });
        assert!(matches!(db.use_login_verifier(&request.verifier).await, Err(StoreError::Conflict)));
        assert!(db.get_login_request("l1").await.unwrap().1.unwrap().was_used);
        db.close().await;
    }

    async fn login_verifier_concurrent_spends_have_one_winner(backend: Backend) {
        let (_t, db) = store(backend).await;
        db.insert_auth_session(&session("s1")).await.unwrap();
        for i in 0..3 {
            let challenge = format!("l{i}");
            db.insert_login_request(&login(&challenge, "s1")).await.unwrap();
            db.handle_login_request(&login_answer(&challenge)).await.unwrap();
            let (won, lost) = race(&db, &format!("{challenge}-verifier"), false).await;
            assert_eq!((won, lost), (1, 9), "round {i}: exactly one spender wins");
        }
        db.close().await;
    }

    async fn consent_requests_round_trip_and_rehandle_until_used(backend: Backend) {
        let (_t, db) = store(backend).await;
        db.insert_auth_session(&session("s1")).await.unwrap();
        db.insert_login_request(&login("l1", "s1")).await.unwrap();
        let mut request = consent("k1", "alice", "c1");
        request.oidc_context = full_oidc();
        request.forced_subject_identifier = "pairwise-alice".into();
        request.login_session_id = Some("s1".into());
        request.login_challenge = Some("l1".into());
        request.acr = "urn:acr:1".into();
        request.context = json!({"role": "admin", "nested": {"a": [1, 2]}});
        request.skip = true;
        db.insert_consent_request(&request).await.unwrap();
        assert_eq!(db.get_consent_request("k1").await.unwrap(), (request.clone(), None));

        let mut same_verifier = consent("k2", "alice", "c1");
        same_verifier.verifier = request.verifier.clone();
        assert!(matches!(db.insert_consent_request(&request).await, Err(StoreError::Conflict)));
        assert!(matches!(
            db.insert_consent_request(&same_verifier).await,
            Err(StoreError::Conflict)
        ));
        assert!(matches!(db.get_consent_request("nope").await, Err(StoreError::NotFound)));
        assert!(matches!(
            db.handle_consent_request(&consent_answer("nope", at(0))).await,
            Err(StoreError::NotFound)
        ));

        // Rejected first, then (before the verifier is spent) accepted instead.
        let mut rejected = consent_answer("k1", at(0));
        rejected.error = Some(denied());
        rejected.remember = false;
        db.handle_consent_request(&rejected).await.unwrap();
        assert_eq!(db.get_consent_request("k1").await.unwrap().1, Some(rejected));
        let mut accepted = consent_answer("k1", at(0));
        accepted.granted_scope = vec!["openid".into(), "photos".into()];
        accepted.remember_for = 86400;
        accepted.handled_at = Some(at(20));
        db.handle_consent_request(&accepted).await.unwrap();
        assert_eq!(
            db.get_consent_request("k1").await.unwrap(),
            (request.clone(), Some(accepted.clone()))
        );

        assert!(matches!(db.use_consent_verifier("unknown").await, Err(StoreError::NotFound)));
        let (read, handled) = db.use_consent_verifier(&request.verifier).await.unwrap();
        assert_eq!(read, request);
        let spent = HandledConsent { was_used: true, ..accepted };
        assert_eq!(handled, spent);
        assert!(matches!(
            db.use_consent_verifier(&request.verifier).await,
            Err(StoreError::Conflict)
        ));

        // After the spend the answer is frozen.
        assert!(matches!(
            db.handle_consent_request(&consent_answer("k1", at(0))).await,
            Err(StoreError::Conflict)
        ));
        assert_eq!(db.get_consent_request("k1").await.unwrap().1, Some(spent));

        // An unanswered consent request cannot be spent.
        db.insert_consent_request(&consent("k3", "alice", "c1")).await.unwrap();
        assert!(matches!(
            db.use_consent_verifier("k3-verifier").await,
            Err(StoreError::NotFound)
        ));
        db.close().await;
    }

    async fn consent_verifier_concurrent_spends_have_one_winner(backend: Backend) {
        let (_t, db) = store(backend).await;
        for i in 0..3 {
            let challenge = format!("k{i}");
            db.insert_consent_request(&consent(&challenge, "alice", "c1")).await.unwrap();
            db.handle_consent_request(&consent_answer(&challenge, at(0))).await.unwrap();
            let (won, lost) = race(&db, &format!("{challenge}-verifier"), true).await;
            assert_eq!((won, lost), (1, 9), "round {i}: exactly one spender wins");
        }
        db.close().await;
    }

    async fn remembered_consent_is_the_newest_remembered_accepted_unskipped(backend: Backend) {
        let (_t, db) = store(backend).await;
        assert!(db.find_remembered_consent("alice", "c1").await.unwrap().is_none());

        // (challenge, subject, client, requested_at, remember, rejected, skip)
        let rows = [
            ("old", "alice", "c1", 100, true, false, false),
            ("pick", "alice", "c1", 200, true, false, false),
            ("rejected", "alice", "c1", 300, true, true, false),
            ("skipped", "alice", "c1", 300, true, false, true),
            ("forgotten", "alice", "c1", 300, false, false, false),
            ("bob", "bob", "c1", 400, true, false, false),
            ("other-client", "alice", "c2", 400, true, false, false),
        ];
        for (challenge, subject, client, requested_at, remember, rejected, skip) in rows {
            let mut request = consent(challenge, subject, client);
            request.skip = skip;
            request.requested_at = at(requested_at);
            db.insert_consent_request(&request).await.unwrap();
            let mut answer = consent_answer(challenge, at(requested_at));
            answer.remember = remember;
            answer.error = rejected.then(denied);
            db.handle_consent_request(&answer).await.unwrap();
        }
        // An unanswered newer request does not count either.
        let mut pending = consent("pending", "alice", "c1");
        pending.requested_at = at(500);
        db.insert_consent_request(&pending).await.unwrap();

        let (request, handled) = db.find_remembered_consent("alice", "c1").await.unwrap().unwrap();
        let mut picked = consent("pick", "alice", "c1");
        picked.requested_at = at(200);
        assert_eq!(request, picked, "the whole request comes with the answer");
        assert_eq!(handled, consent_answer("pick", at(200)), "used or not, it is found");
        let found = db.find_remembered_consent("alice", "c2").await.unwrap().unwrap();
        assert_eq!(found.0.challenge, "other-client");
        assert!(db.find_remembered_consent("carol", "c1").await.unwrap().is_none());

        // Same requested_at: the later answer wins; an answer without handled_at loses.
        for (challenge, handled_at) in [("tie-late", Some(at(900))), ("tie-none", None), ("tie-early", Some(at(800)))] {
            let mut request = consent(challenge, "alice", "c1");
            request.requested_at = at(250);
            db.insert_consent_request(&request).await.unwrap();
            let mut answer = consent_answer(challenge, at(250));
            answer.handled_at = handled_at;
            db.handle_consent_request(&answer).await.unwrap();
        }
        let found = db.find_remembered_consent("alice", "c1").await.unwrap().unwrap();
        assert_eq!(found.0.challenge, "tie-late");
        db.close().await;
    }

    async fn answers_without_times_read_back_through_every_read(backend: Backend) {
        // The request and its answer come from one joined row: the answer's NULL columns
        // (authenticated_at, handled_at) must not read as a missing answer.
        let (_t, db) = store(backend).await;
        db.insert_auth_session(&session("s1")).await.unwrap();
        db.insert_login_request(&login("l1", "s1")).await.unwrap();
        let login_answer = HandledLogin { authenticated_at: None, ..login_answer("l1") };
        db.handle_login_request(&login_answer).await.unwrap();
        assert_eq!(db.get_login_request("l1").await.unwrap().1, Some(login_answer.clone()));
        let (_, spent) = db.use_login_verifier("l1-verifier").await.unwrap();
        assert_eq!(spent, HandledLogin { was_used: true, ..login_answer });

        let request = consent("k1", "alice", "c1");
        db.insert_consent_request(&request).await.unwrap();
        let answer = HandledConsent {
            authenticated_at: None,
            handled_at: None,
            ..consent_answer("k1", at(0))
        };
        db.handle_consent_request(&answer).await.unwrap();
        assert_eq!(
            db.get_consent_request("k1").await.unwrap(),
            (request.clone(), Some(answer.clone()))
        );
        assert_eq!(
            db.find_remembered_consent("alice", "c1").await.unwrap(),
            Some((request.clone(), answer.clone()))
        );
        let spent = HandledConsent { was_used: true, ..answer };
        assert_eq!(
            db.use_consent_verifier("k1-verifier").await.unwrap(),
            (request.clone(), spent.clone())
        );
        assert_eq!(
            db.find_remembered_consent("alice", "c1").await.unwrap(),
            Some((request, spent))
        );
        db.close().await;
    }

    async fn forced_subjects_are_set_replaced_and_unique_per_client(backend: Backend) {
        let (_t, db) = store(backend).await;
        assert_eq!(db.get_forced_subject("alice", "c1").await.unwrap(), None);
        db.set_forced_subject("alice", "c1", "p-1").await.unwrap();
        assert_eq!(db.get_forced_subject("alice", "c1").await.unwrap().as_deref(), Some("p-1"));
        db.set_forced_subject("alice", "c1", "p-2").await.unwrap();
        assert_eq!(db.get_forced_subject("alice", "c1").await.unwrap().as_deref(), Some("p-2"));
        assert_eq!(db.get_forced_subject("alice", "c2").await.unwrap(), None);

        assert!(
            matches!(db.set_forced_subject("bob", "c1", "p-2").await, Err(StoreError::Conflict)),
            "another subject cannot take alice's identifier at the same client"
        );
        assert_eq!(db.get_forced_subject("bob", "c1").await.unwrap(), None);
        db.set_forced_subject("bob", "c2", "p-2").await.unwrap();
        db.set_forced_subject("bob", "c1", "p-1").await.unwrap();
        assert_eq!(db.get_forced_subject("bob", "c1").await.unwrap().as_deref(), Some("p-1"));
        db.close().await;
    }

    async fn deleting_an_auth_session_cascades_to_its_logins(backend: Backend) {
        let (_t, db) = store(backend).await;
        db.insert_auth_session(&session("s1")).await.unwrap();
        db.insert_auth_session(&session("s2")).await.unwrap();
        db.insert_login_request(&login("l1", "s1")).await.unwrap();
        db.handle_login_request(&login_answer("l1")).await.unwrap();
        db.insert_login_request(&login("l2", "s2")).await.unwrap();
        let mut request = consent("k1", "alice", "c1");
        request.login_session_id = Some("s1".into());
        request.login_challenge = Some("l1".into());
        db.insert_consent_request(&request).await.unwrap();

        db.delete_auth_session("s1").await.unwrap();
        assert!(matches!(db.get_login_request("l1").await, Err(StoreError::NotFound)));
        assert!(matches!(db.use_login_verifier("l1-verifier").await, Err(StoreError::NotFound)));
        assert!(db.get_login_request("l2").await.is_ok(), "other sessions' logins stay");
        let (kept, _) = db.get_consent_request("k1").await.unwrap();
        assert_eq!((kept.login_session_id, kept.login_challenge), (None, None));
        // The answer of the deleted login went with it: a new one is not a duplicate.
        db.insert_login_request(&login("l1", "s2")).await.unwrap();
        db.handle_login_request(&login_answer("l1")).await.unwrap();
        db.close().await;
    }

    async fn inserts_for_unknown_clients_or_sessions_are_not_found(backend: Backend) {
        let (_t, db) = store(backend).await;
        let mut request = login("l1", "no-such-session");
        assert!(matches!(db.insert_login_request(&request).await, Err(StoreError::NotFound)));
        db.insert_auth_session(&session("s1")).await.unwrap();
        request.session_id = "s1".into();
        request.client_id = "no-such-client".into();
        assert!(matches!(db.insert_login_request(&request).await, Err(StoreError::NotFound)));
        assert!(matches!(
            db.insert_consent_request(&consent("k1", "alice", "no-such-client")).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            db.set_forced_subject("alice", "no-such-client", "p").await,
            Err(StoreError::NotFound)
        ));
        db.close().await;
    }
}
