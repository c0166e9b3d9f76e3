//! Refresh tokens, revocation and the admin token operations on both backends (security-cases
//! groups E, F, N). Grants are seeded through the engine until the authorize flow exists.

use crate::harness::{Resp, TestServer};
use crate::on_both_backends;
use portcullis::token::Grant;
use reqwest::Method;
use serde_json::{json, Value};

const SECRET: &str = "the-client-secret";

/// A client `id` with the refresh grant, and a grant for it: (access token, refresh token).
async fn seeded(t: &TestServer, id: &str, scope: &[&str]) -> (String, String) {
    let r = t.admin_call(Method::POST, "/clients", Some(json!({
        "client_id": id, "client_secret": SECRET, "scope": "openid offline offline_access read write",
        "grant_types": ["authorization_code", "refresh_token"]}))).await;
    assert!(r.status == 201 || r.status == 409, "{}", r.body);
    let now = t.state.clock.now();
    let mut grant = Grant::new(id, "user-1", now);
    grant.requested_scope = scope.iter().map(|s| s.to_string()).collect();
    grant.granted_scope = grant.requested_scope.clone();
    grant.ext.insert("tier".into(), json!("gold"));
    let access = t
        .state
        .engine
        .issue_access_token(&t.state.db, &grant, now)
        .await
        .unwrap();
    let refresh = t
        .state
        .engine
        .issue_refresh_token(&t.state.db, &grant, now)
        .await
        .unwrap();
    (access.token, refresh.token)
}

async fn refresh(t: &TestServer, client: &str, token: &str, extra: &[(&str, &str)]) -> Resp {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    form.extend_from_slice(extra);
    Resp::read(
        t.http
            .post(t.public_url("/oauth2/token"))
            .basic_auth(client, Some(SECRET))
            .form(&form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn revoke(t: &TestServer, client: &str, token: &str) -> Resp {
    Resp::read(
        t.http
            .post(t.public_url("/oauth2/revoke"))
            .basic_auth(client, Some(SECRET))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_string()
}

on_both_backends! {
    async fn refresh_rotates_and_reuse_revokes_the_family(backend: Backend) {
        let t = TestServer::start(backend).await;
        let (access0, refresh0) = seeded(&t, "app", &["openid", "offline", "read"]).await;
        let r = refresh(&t, "app", &refresh0, &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.header("cache-control"), "no-store");
        assert_eq!(r.body["scope"], "openid offline read");
        let (access1, refresh1) = (s(&r.body, "access_token"), s(&r.body, "refresh_token"));
        assert_ne!(refresh1, refresh0);
        assert!(!t.active(&access0).await, "the old access token goes with the rotation");
        assert!(!t.active(&refresh0).await);
        assert!(t.active(&access1).await && t.active(&refresh1).await);
        let intro = Resp::read(t.http.post(t.admin_url("/oauth2/introspect")).form(&[("token", refresh1.as_str())]).send().await.unwrap()).await;
        assert_eq!((intro.body["token_use"].as_str(), intro.body["sub"].as_str()), (Some("refresh_token"), Some("user-1")));
        assert_eq!(intro.body["ext"], json!({"tier": "gold"}), "the session travels with the grant");

        // Narrowing is allowed, widening is not.
        let r = refresh(&t, "app", &refresh1, &[("scope", "offline write")]).await;
        assert_eq!((r.status, r.body["error"].as_str()), (400, Some("invalid_scope")));
        let r = refresh(&t, "app", &refresh1, &[("scope", "offline")]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["scope"], "offline");
        let (access2, refresh2) = (s(&r.body, "access_token"), s(&r.body, "refresh_token"));

        // Reusing a spent refresh token fails and revokes every token of the grant.
        let r = refresh(&t, "app", &refresh1, &[]).await;
        assert_eq!((r.status, r.body["error"].as_str()), (401, Some("token_inactive")));
        assert!(!t.active(&access2).await && !t.active(&refresh2).await, "the family is revoked");
        let r = refresh(&t, "app", &refresh2, &[]).await;
        assert_eq!(r.status, 401);
        t.stop().await;
    }

    async fn refresh_refusals(backend: Backend) {
        let t = TestServer::start(backend).await;
        let (_, token) = seeded(&t, "app", &["offline", "read"]).await;
        seeded(&t, "other", &["offline"]).await;
        let r = refresh(&t, "other", &token, &[]).await;
        assert_eq!((r.status, r.body["error"].as_str()), (400, Some("invalid_grant")), "another client's token");
        assert!(t.active(&token).await, "and nothing was spent");
        for bad in ["garbage", "a.b"] {
            let r = refresh(&t, "app", bad, &[]).await;
            assert_eq!((r.status, r.body["error"].as_str()), (400, Some("invalid_grant")), "{bad}");
        }
        let r = refresh(&t, "app", "", &[]).await;
        assert_eq!(r.status, 400);
        let (_, no_offline) = seeded(&t, "app", &["read"]).await;
        let r = refresh(&t, "app", &no_offline, &[]).await;
        assert_eq!((r.status, r.body["error"].as_str()), (403, Some("scope_not_granted")));
        t.state.clock.advance(chrono::Duration::hours(721));
        let r = refresh(&t, "app", &token, &[]).await;
        assert_eq!((r.status, r.body["error"].as_str()), (400, Some("invalid_grant")), "expired");
        let cc = t.admin_call(Method::POST, "/clients", Some(json!({"client_id": "cc", "client_secret": SECRET, "grant_types": ["client_credentials"]}))).await;
        assert_eq!(cc.status, 201);
        let r = refresh(&t, "cc", &token, &[]).await;
        assert_eq!((r.status, r.body["error"].as_str()), (400, Some("unauthorized_client")));
        t.stop().await;
    }

    async fn parallel_refreshes_have_exactly_one_winner(backend: Backend) {
        let t = TestServer::start(backend).await;
        let (_, token) = seeded(&t, "app", &["offline"]).await;
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (http, url, token) = (t.http.clone(), t.public_url("/oauth2/token"), token.clone());
                tokio::spawn(async move {
                    let form = [("grant_type", "refresh_token"), ("refresh_token", token.as_str())];
                    Resp::read(http.post(url).basic_auth("app", Some(SECRET)).form(&form).send().await.unwrap()).await
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            let r = task.await.unwrap();
            assert!(r.status == 200 || r.status == 400 || r.status == 401, "{}: {}", r.status, r.body);
            if r.status == 200 {
                winners.push(s(&r.body, "refresh_token"));
            }
        }
        assert_eq!(winners.len(), 1, "exactly one success");
        t.stop().await;
    }

    async fn revocation(backend: Backend) {
        let t = TestServer::start(backend).await;
        let (access, refresh_token) = seeded(&t, "app", &["offline"]).await;
        let (other_access, _) = seeded(&t, "other", &["offline"]).await;
        let r = revoke(&t, "app", &other_access).await;
        assert_eq!((r.status, r.body["error"].as_str()), (400, Some("unauthorized_client")), "RFC 7009 §2.1");
        assert!(t.active(&other_access).await, "nothing revoked");
        let r = revoke(&t, "app", "unknown.token").await;
        assert_eq!((r.status, r.body.clone()), (200, Value::Null), "unknown tokens are fine, empty body");
        assert_eq!(r.header("cache-control"), "no-store");
        let r = revoke(&t, "app", &refresh_token).await;
        assert_eq!(r.status, 200);
        assert!(!t.active(&refresh_token).await && !t.active(&access).await, "a refresh token takes its access tokens along");
        let (access, refresh_token) = seeded(&t, "app", &["offline"]).await;
        assert_eq!(revoke(&t, "app", &access).await.status, 200);
        assert!(!t.active(&access).await && !t.active(&refresh_token).await);
        let r = Resp::read(t.http.post(t.public_url("/oauth2/revoke")).basic_auth("app", Some("wrong")).form(&[("token", "x")]).send().await.unwrap()).await;
        assert_eq!((r.status, r.body["error"].as_str()), (401, Some("invalid_client")));
        let r = Resp::read(t.http.post(t.public_url("/oauth2/revoke")).basic_auth("app", Some(SECRET)).form(&[("x", "y")]).send().await.unwrap()).await;
        assert_eq!((r.status, r.body["error"].as_str()), (400, Some("invalid_request")));
        t.stop().await;
    }

    async fn delete_and_flush(backend: Backend) {
        let t = TestServer::start(backend).await;
        let (a1, r1) = seeded(&t, "app", &["offline"]).await;
        let (a2, r2) = seeded(&t, "other", &["offline"]).await;
        let r = t.admin_call(Method::DELETE, "/oauth2/tokens", None).await;
        assert_eq!((r.status, r.body["error"].as_str()), (400, Some("invalid_request")));
        assert_eq!(t.admin_call(Method::DELETE, "/oauth2/tokens?client_id=app", None).await.status, 204);
        assert!(!t.active(&a1).await && !t.active(&r1).await, "access and refresh tokens go");
        assert!(t.active(&a2).await && t.active(&r2).await, "other clients keep theirs");

        // Flush: only tokens past their lifespan (and before notAfter) are deleted.
        let flush = |body: Option<Value>| t.admin_call(Method::POST, "/oauth2/flush", body);
        assert_eq!(flush(None).await.status, 204, "an empty body means now");
        assert!(t.active(&a2).await, "young tokens survive");
        t.state.clock.advance(chrono::Duration::hours(2));
        assert_eq!(flush(Some(json!({"notAfter": "2000-01-01T00:00:00Z"}))).await.status, 204);
        let db = t.state.db.clone();
        let count = |table: &'static str| {
            let db = db.clone();
            async move {
                let sql = format!("SELECT COUNT(*) FROM {table}");
                portcullis::on_pool!(db, |p| sqlx::query_scalar::<_, i64>(&sql).fetch_one(p).await).unwrap()
            }
        };
        assert_eq!(count("hydra_oauth2_access").await, 1, "notAfter in the past keeps newer rows");
        assert_eq!(flush(Some(json!({"notAfter": "2999-01-01T00:00:00.123456+00:00"}))).await.status, 204);
        assert_eq!(count("hydra_oauth2_access").await, 0, "expired access tokens are flushed");
        assert_eq!(count("hydra_oauth2_refresh").await, 1, "the refresh token is still within its 720h");
        assert_eq!(flush(Some(json!({"notAfter": "2999-01-01T00:00:00"}))).await.status, 204, "a time without zone reads as UTC");
        let r = Resp::read(t.http.post(t.admin_url("/oauth2/flush")).body("{bad").send().await.unwrap()).await;
        assert_eq!((r.status, r.body["error"].as_str()), (400, Some("invalid_request")));
        let r = flush(Some(json!({"notAfter": "yesterday"}))).await;
        assert_eq!(r.status, 400);
        t.stop().await;
    }
}
