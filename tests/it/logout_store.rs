//! The `LogoutStore` contract, run on both backends: logout requests through accept, reject
//! and the single-use verifier (also under concurrency), the end of sessions with the clients
//! to notify, and the flush.

use crate::harness::TestDb;
use crate::on_both_backends;
use chrono::{DateTime, Duration, TimeZone, Utc};
use portcullis::client::{Client, ClientStore, OAuth2Client};
use portcullis::consent::logout::{LogoutRequest, LogoutStore, SessionClient};
use portcullis::consent::{
    AuthSession, ConsentRequest, ConsentStore, HandledConsent, OidcContext, RequestDenied,
};
use portcullis::error::StoreError;
use portcullis::store::Db;
use serde_json::{json, Map};

fn at(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2021, 7, 14, 12, 0, 0).unwrap() + Duration::seconds(secs)
}

async fn store(backend: crate::harness::Backend) -> (TestDb, Db) {
    let t = TestDb::create(backend).await;
    t.migrate().await;
    let db = t.connect().await;
    for id in ["c1", "c2", "c3"] {
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

fn request(challenge: &str, client: Option<&str>) -> LogoutRequest {
    LogoutRequest {
        challenge: challenge.into(),
        verifier: format!("{challenge}-verifier"),
        subject: "alice".into(),
        sid: "s1".into(),
        client_id: client.map(str::to_string),
        request_url: "/oauth2/sessions/logout?state=x".into(),
        redir_url: "https://rp.example/bye".into(),
        was_used: false,
        accepted: false,
        rejected: false,
        rp_initiated: client.is_some(),
        requested_at: at(0),
    }
}

async fn session(db: &Db, id: &str, subject: &str) {
    db.insert_auth_session(&AuthSession {
        id: id.into(),
        authenticated_at: Some(at(0)),
        subject: subject.into(),
        remember: true,
        expires_at: Some(at(3600)),
    })
    .await
    .unwrap();
}

/// A consent of `subject` to `client` in session `sid`, answered (`error` = rejected) or not.
async fn consent(
    db: &Db,
    challenge: &str,
    client: &str,
    sid: &str,
    subject: &str,
    answer: Option<Option<RequestDenied>>,
) {
    db.insert_consent_request(&ConsentRequest {
        challenge: challenge.into(),
        verifier: format!("{challenge}-v"),
        csrf: format!("{challenge}-c"),
        client_id: client.into(),
        subject: subject.into(),
        request_url: "https://auth.example/oauth2/auth".into(),
        skip: false,
        requested_scope: vec!["openid".into()],
        requested_audience: vec![],
        authenticated_at: Some(at(0)),
        requested_at: at(0),
        oidc_context: OidcContext::default(),
        forced_subject_identifier: String::new(),
        login_session_id: Some(sid.into()),
        login_challenge: None,
        acr: String::new(),
        context: json!({}),
    })
    .await
    .unwrap();
    if let Some(error) = answer {
        db.handle_consent_request(&HandledConsent {
            challenge: challenge.into(),
            granted_scope: vec!["openid".into()],
            granted_audience: vec![],
            remember: true,
            remember_for: 0,
            error,
            requested_at: at(0),
            authenticated_at: Some(at(0)),
            session_access_token: Map::new(),
            session_id_token: Map::new(),
            was_used: false,
            handled_at: Some(at(1)),
        })
        .await
        .unwrap();
    }
}

on_both_backends! {
    async fn logout_requests_round_trip_and_refuse_duplicates(backend: Backend) {
        let (_t, db) = store(backend).await;
        let r = request("l1", Some("c1"));
        db.insert_logout_request(&r).await.unwrap();
        assert_eq!(db.get_logout_request("l1").await.unwrap(), r);
        let cookie = request("l2", None);
        db.insert_logout_request(&cookie).await.unwrap();
        assert_eq!(db.get_logout_request("l2").await.unwrap(), cookie);
        assert!(matches!(db.insert_logout_request(&r).await, Err(StoreError::Conflict)));
        let mut same_verifier = request("l3", None);
        same_verifier.verifier = r.verifier.clone();
        assert!(matches!(db.insert_logout_request(&same_verifier).await, Err(StoreError::Conflict)));
        assert!(matches!(db.insert_logout_request(&request("l4", Some("nobody"))).await, Err(StoreError::NotFound)));
        assert!(matches!(db.get_logout_request("nope").await, Err(StoreError::NotFound)));
        // Deleting the client removes its logout requests.
        db.delete_client("c1").await.unwrap();
        assert!(matches!(db.get_logout_request("l1").await, Err(StoreError::NotFound)));
    }

    async fn verifiers_need_acceptance_and_are_spent_once(backend: Backend) {
        let (_t, db) = store(backend).await;
        db.insert_logout_request(&request("l1", None)).await.unwrap();
        assert!(matches!(db.use_logout_verifier("l1-verifier").await, Err(StoreError::NotFound)), "not accepted yet");
        let accepted = db.accept_logout_request("l1").await.unwrap();
        assert!(accepted.accepted && !accepted.was_used);
        assert_eq!(db.accept_logout_request("l1").await.unwrap(), accepted, "idempotent");

        // Ten concurrent spends: exactly one wins.
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move { db.use_logout_verifier("l1-verifier").await }));
        }
        let mut won = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(r) => {
                    won += 1;
                    assert!(r.was_used && r.accepted);
                    assert_eq!(r.challenge, "l1");
                }
                Err(StoreError::NotFound) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(won, 1);
        assert!(db.get_logout_request("l1").await.unwrap().was_used);
        // A spent request cannot be rejected any more; accepting it changes nothing.
        assert!(matches!(db.reject_logout_request("l1").await, Err(StoreError::NotFound)));
        assert!(!db.get_logout_request("l1").await.unwrap().rejected);
        assert!(matches!(db.use_logout_verifier("nope").await, Err(StoreError::NotFound)));
    }

    async fn rejected_requests_cannot_be_accepted_or_completed(backend: Backend) {
        let (_t, db) = store(backend).await;
        db.insert_logout_request(&request("l1", None)).await.unwrap();
        db.accept_logout_request("l1").await.unwrap();
        db.reject_logout_request("l1").await.unwrap();
        let r = db.get_logout_request("l1").await.unwrap();
        assert!(r.rejected && !r.accepted);
        assert!(matches!(db.use_logout_verifier("l1-verifier").await, Err(StoreError::NotFound)));
        assert!(matches!(db.accept_logout_request("l1").await, Err(StoreError::NotFound)));
        assert!(matches!(db.reject_logout_request("nope").await, Err(StoreError::NotFound)));
    }

    async fn ending_sessions_reports_the_clients_that_consented_in_them(backend: Backend) {
        let (_t, db) = store(backend).await;
        session(&db, "s1", "alice").await;
        session(&db, "s2", "alice").await;
        session(&db, "s3", "bob").await;
        consent(&db, "k1", "c2", "s1", "alice", Some(None)).await;
        consent(&db, "k2", "c1", "s1", "alice", Some(None)).await;
        consent(&db, "k3", "c1", "s1", "alice", Some(None)).await; // same client twice
        consent(&db, "k4", "c3", "s1", "alice", None).await; // never answered
        consent(&db, "k5", "c3", "s1", "alice", Some(Some(RequestDenied::default()))).await; // refused
        consent(&db, "k6", "c1", "s2", "alice", Some(None)).await;
        consent(&db, "k7", "c1", "s3", "bob", Some(None)).await;

        assert_eq!(db.end_session("s1", "bob").await.unwrap(), Vec::<String>::new(), "not bob's session");
        assert!(db.get_auth_session("s1").await.is_ok(), "still there");
        assert_eq!(db.end_session("s1", "alice").await.unwrap(), ["c1", "c2"]);
        assert!(matches!(db.get_auth_session("s1").await, Err(StoreError::NotFound)));
        assert_eq!(db.end_session("s1", "alice").await.unwrap(), Vec::<String>::new(), "gone already");
        // The consents outlive the session (their grants stay valid).
        assert!(db.get_consent_request("k1").await.unwrap().1.is_some());

        session(&db, "s4", "alice").await;
        assert_eq!(db.end_subject_sessions("alice").await.unwrap(),
            [SessionClient { sid: "s2".into(), client_id: "c1".into() }]);
        for sid in ["s2", "s4"] {
            assert!(matches!(db.get_auth_session(sid).await, Err(StoreError::NotFound)), "{sid}");
        }
        assert!(db.get_auth_session("s3").await.is_ok(), "bob keeps his session");
        assert!(db.end_subject_sessions("nobody").await.unwrap().is_empty());
    }

    async fn flush_deletes_old_logout_requests(backend: Backend) {
        let (_t, db) = store(backend).await;
        let mut old = request("old", None);
        old.requested_at = at(-7200);
        db.insert_logout_request(&old).await.unwrap();
        db.insert_logout_request(&request("new", None)).await.unwrap();
        assert_eq!(db.flush_logout_requests(at(-3600)).await.unwrap(), 1);
        assert!(matches!(db.get_logout_request("old").await, Err(StoreError::NotFound)));
        assert!(db.get_logout_request("new").await.is_ok());
    }
}
