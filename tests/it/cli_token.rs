//! `portcullis token ...` (the real binary against a running server's public and admin APIs)
//! and `portcullis janitor` (the real binary against the test database).

use crate::harness::output::{assert_ok, assert_one_error_line, stderr, stdout};
use crate::harness::TestServer;
use crate::on_both_backends;
use chrono::{DateTime, Duration, Utc};
use portcullis::store::Db;
use portcullis::token::Grant;
use reqwest::Method;
use serde_json::{json, Value};
use std::process::{Command, Output, Stdio};

/// An id and a secret that need RFC 6749 §2.3.1's form encoding inside `Authorization: Basic`.
const CLIENT: &str = "cli:token client";
const SECRET: &str = "a secret+with/odd:chars%";

/// The binary with `args`, none of the endpoint, client or config variables inherited, then
/// `env` set; off the async worker threads (the server runs on them).
async fn portcullis(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    cmd.args(args).stdin(Stdio::null());
    for key in [
        "PORTCULLIS_ADMIN_URL",
        "HYDRA_ADMIN_URL",
        "PORTCULLIS_URL",
        "HYDRA_URL",
        "OAUTH2_ACCESS_TOKEN",
        "OAUTH2_CLIENT_ID",
        "OAUTH2_CLIENT_SECRET",
        "DSN",
        "SECRETS_SYSTEM",
        "TTL_ACCESS_TOKEN",
        "TTL_REFRESH_TOKEN",
        "TTL_LOGIN_CONSENT_REQUEST",
    ] {
        cmd.env_remove(key);
    }
    cmd.envs(env.iter().copied());
    tokio::task::spawn_blocking(move || cmd.output().expect("run portcullis"))
        .await
        .unwrap()
}

/// `portcullis token <args>` with `--endpoint <public or admin>` appended.
async fn token(endpoint: &str, args: &[&str]) -> Output {
    let args: Vec<&str> = std::iter::once("token")
        .chain(args.iter().copied())
        .chain(["--endpoint", endpoint])
        .collect();
    portcullis(&args, &[]).await
}

#[track_caller]
fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The client credentials client every test uses.
async fn create_client(t: &TestServer) {
    let r = t
        .admin_call(
            Method::POST,
            "/clients",
            Some(json!({
                "client_id": CLIENT, "client_secret": SECRET, "scope": "read write",
                "grant_types": ["client_credentials"], "audience": ["https://api.example"],
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

async fn count(db: &Db, sql: &str) -> i64 {
    portcullis::on_pool!(db, |p| sqlx::query_scalar::<_, i64>(sql).fetch_one(p).await).unwrap()
}

/// Runs `sql` with `binds` (text, or a time as `TIMESTAMP`).
async fn exec(db: &Db, sql: &str, binds: &[Bind<'_>]) {
    macro_rules! bound {
        ($query:expr) => {{
            let mut q = $query;
            for b in binds {
                q = match b {
                    Bind::Text(s) => q.bind(s.to_string()),
                    Bind::Time(t) => q.bind(t.naive_utc()),
                };
            }
            q
        }};
    }
    portcullis::on_pool!(db, |p| bound!(sqlx::query(sql))
        .execute(p)
        .await
        .map(|_| ()))
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

enum Bind<'a> {
    Text(&'a str),
    Time(DateTime<Utc>),
}

/// An access (and a refresh) token of `CLIENT` requested at `at`, through the engine.
async fn token_at(t: &TestServer, at: DateTime<Utc>, refresh: bool) -> String {
    let grant = Grant::new(CLIENT, CLIENT, at);
    let engine = &t.state.engine;
    if refresh {
        engine
            .issue_refresh_token(&t.state.db, &grant, at)
            .await
            .unwrap()
            .token
    } else {
        engine
            .issue_access_token(&t.state.db, &grant, at)
            .await
            .unwrap()
            .token
    }
}

/// `portcullis janitor <args>` on the test database, the DSN as argument.
async fn janitor(t: &TestServer, args: &[&str]) -> String {
    let dsn = t.db.dsn();
    let args: Vec<&str> = std::iter::once("janitor")
        .chain(std::iter::once(dsn.as_str()))
        .chain(args.iter().copied())
        .collect();
    assert_ok(&portcullis(&args, &[]).await)
}

/// A login request and, when `handled` is `Some(error)`, its handled row.
async fn login_request(db: &Db, challenge: &str, at: DateTime<Utc>, handled: Option<&str>) {
    exec(db, "INSERT INTO hydra_oauth2_authentication_request (challenge, verifier, csrf, request_url, client_id, requested_at) VALUES ($1, $2, $3, $4, $5, $6)",
        &[Bind::Text(challenge), Bind::Text(&format!("v-{challenge}")), Bind::Text("csrf"), Bind::Text("https://example/auth"), Bind::Text(CLIENT), Bind::Time(at)]).await;
    if let Some(error) = handled {
        exec(db, "INSERT INTO hydra_oauth2_authentication_request_handled (challenge, subject, error, requested_at) VALUES ($1, $2, $3, $4)",
            &[Bind::Text(challenge), Bind::Text("user"), Bind::Text(error), Bind::Time(at)]).await;
    }
}

/// A consent request and, when `handled` is `Some(error)`, its handled row.
async fn consent_request(db: &Db, challenge: &str, at: DateTime<Utc>, handled: Option<&str>) {
    exec(db, "INSERT INTO hydra_oauth2_consent_request (challenge, verifier, csrf, request_url, client_id, requested_at) VALUES ($1, $2, $3, $4, $5, $6)",
        &[Bind::Text(challenge), Bind::Text(&format!("v-{challenge}")), Bind::Text("csrf"), Bind::Text("https://example/auth"), Bind::Text(CLIENT), Bind::Time(at)]).await;
    if let Some(error) = handled {
        exec(db, "INSERT INTO hydra_oauth2_consent_request_handled (challenge, error, requested_at) VALUES ($1, $2, $3)",
            &[Bind::Text(challenge), Bind::Text(error), Bind::Time(at)]).await;
    }
}

async fn challenges(db: &Db, table: &str) -> Vec<String> {
    let sql = format!("SELECT challenge FROM {table} ORDER BY challenge");
    portcullis::on_pool!(db, |p| sqlx::query_scalar::<_, String>(&sql)
        .fetch_all(p)
        .await)
    .unwrap()
}

on_both_backends! {
    async fn token_client_introspect_and_revoke(backend: Backend) {
        let t = TestServer::start(backend).await;
        create_client(&t).await;
        let creds = ["--client-id", CLIENT, "--client-secret", SECRET];

        // client: the access token alone on one line.
        let mut args = vec!["client", "--scope", "read", "--audience", "https://api.example"];
        args.extend(creds);
        let printed = assert_ok(&token(&t.public, &args).await);
        assert_eq!(printed.lines().count(), 1, "{printed}");
        let access = printed.trim().to_string();
        let body = t.introspect(&access).await;
        assert_eq!((&body["active"], &body["client_id"], &body["scope"]), (&json!(true), &json!(CLIENT), &json!("read")), "{body}");
        assert_eq!(body["aud"], json!(["https://api.example"]));

        // -v: the whole token response; credentials and endpoint from the environment, with
        // PORTCULLIS_URL read before HYDRA_URL.
        let env = [("OAUTH2_CLIENT_ID", CLIENT), ("OAUTH2_CLIENT_SECRET", SECRET), ("PORTCULLIS_URL", t.public.as_str()), ("HYDRA_URL", "http://127.0.0.1:1")];
        let out = portcullis(&["token", "client", "-v", "--scope", "read,write"], &env).await;
        let full = json_of(&assert_ok(&out));
        assert_eq!((&full["token_type"], &full["scope"]), (&json!("bearer"), &json!("read write")), "{full}");
        assert!(matches!(full["expires_in"].as_i64(), Some(3599..=3600)), "{full}");
        let second = full["access_token"].as_str().unwrap().to_string();
        assert_eq!(t.introspect(&second).await["active"], json!(true));
        let out = portcullis(&["token", "client"], &[("OAUTH2_CLIENT_ID", CLIENT), ("OAUTH2_CLIENT_SECRET", SECRET), ("HYDRA_URL", t.public.as_str())]).await;
        assert_eq!(t.introspect(assert_ok(&out).trim()).await["active"], json!(true), "HYDRA_URL alone");

        // introspect: the admin API's JSON, pretty; --scope asks for granted scopes.
        let printed = assert_ok(&token(&t.admin, &["introspect", &access]).await);
        assert!(printed.starts_with("{\n  \""), "{printed}");
        assert_eq!(json_of(&printed), t.introspect(&access).await);
        let printed = assert_ok(&token(&t.admin, &["introspect", &access, "--scope", "read"]).await);
        assert_eq!(json_of(&printed)["active"], json!(true));
        let printed = assert_ok(&token(&t.admin, &["introspect", &second, "--scope", "read,admin"]).await);
        assert_eq!(json_of(&printed), json!({"active": false}));

        // revoke: as the client, on the public API.
        let mut args = vec!["revoke", access.as_str()];
        args.extend(creds);
        let out = token(&t.public, &args).await;
        assert_eq!(assert_ok(&out), format!("Revoked OAuth 2.0 Access Token: {access}\n"));
        assert_eq!(t.introspect(&access).await, json!({"active": false}));
        assert_eq!(t.introspect(&second).await["active"], json!(true), "other grants stay");

        // Errors: the server's error on one line; a missing endpoint or credentials.
        let err = assert_one_error_line(&token(&t.public, &["client", "--client-id", CLIENT, "--client-secret", "wrong"]).await);
        assert!(err.starts_with("error: 401 invalid_client"), "{err}");
        let err = assert_one_error_line(&token(&t.public, &["revoke", &second, "--client-id", CLIENT, "--client-secret", "wrong"]).await);
        assert!(err.starts_with("error: 401 invalid_client"), "{err}");
        assert_eq!(t.introspect(&second).await["active"], json!(true));
        let err = assert_one_error_line(&token(&t.public, &["client", "--client-id", CLIENT, "--client-secret", SECRET, "--scope", "admin"]).await);
        assert!(err.starts_with("error: 400 invalid_scope"), "{err}");
        let err = assert_one_error_line(&portcullis(&["token", "client", "--client-id", CLIENT, "--client-secret", SECRET], &[]).await);
        assert!(err.contains("no public endpoint") && err.contains("HYDRA_URL"), "{err}");
        let err = assert_one_error_line(&portcullis(&["token", "introspect", &second], &[]).await);
        assert!(err.contains("no admin endpoint"), "{err}");
        let out = token(&t.public, &["client", "--client-secret", SECRET]).await;
        assert!(!out.status.success() && stderr(&out).contains("--client-id"), "{}", stderr(&out));
        t.stop().await;
    }

    async fn token_delete_and_flush(backend: Backend) {
        let t = TestServer::start(backend).await;
        create_client(&t).await;
        let db = t.state.db.clone();
        let rows = "SELECT COUNT(*) FROM hydra_oauth2_access";
        let now = t.state.clock.now();
        token_at(&t, now, false).await;
        token_at(&t, now, false).await;
        assert_eq!(count(&db, rows).await, 2);

        // delete: every token of the client; the client id from the flag or the environment.
        let out = token(&t.admin, &["delete", "--client-id", CLIENT]).await;
        assert_eq!(assert_ok(&out), format!("Successfully deleted the tokens of OAuth 2.0 Client {CLIENT}\n"));
        assert_eq!(count(&db, rows).await, 0);
        token_at(&t, now, false).await;
        let out = portcullis(&["token", "delete"], &[("OAUTH2_CLIENT_ID", CLIENT), ("HYDRA_ADMIN_URL", t.admin.as_str())]).await;
        assert_ok(&out);
        assert_eq!(count(&db, rows).await, 0);
        let out = token(&t.admin, &["delete", "--client-id", ""]).await;
        assert!(assert_one_error_line(&out).contains("--client-id"));

        // flush: tokens past their lifespan (on the server's clock) and older than --min-age.
        token_at(&t, now, false).await;
        t.state.clock.advance(Duration::hours(2));
        let out = token(&t.admin, &["flush", "--min-age", "24h"]).await;
        assert!(assert_ok(&out).starts_with("Successfully flushed inactive tokens (notAfter: "), "{}", stdout(&out));
        assert_eq!(count(&db, rows).await, 1, "younger than --min-age");
        assert_ok(&token(&t.admin, &["flush"]).await);
        assert_eq!(count(&db, rows).await, 0, "expired and older than now");
        let out = token(&t.admin, &["flush", "--min-age", "1 day"]).await;
        assert!(!out.status.success() && stderr(&out).contains("invalid duration"), "{}", stderr(&out));
        t.stop().await;
    }

    async fn janitor_deletes_expired_tokens(backend: Backend) {
        let t = TestServer::start(backend).await;
        create_client(&t).await;
        let db = t.state.db.clone();
        // The janitor reads the system clock; the server's manual clock started at it.
        let now = t.state.clock.now();
        let access = "SELECT COUNT(*) FROM hydra_oauth2_access";
        let refresh = "SELECT COUNT(*) FROM hydra_oauth2_refresh";
        token_at(&t, now - Duration::minutes(30), false).await;
        token_at(&t, now - Duration::hours(3), false).await;
        token_at(&t, now - Duration::hours(3), true).await;
        token_at(&t, now - Duration::hours(800), true).await;

        let printed = janitor(&t, &["--tokens", "--keep-if-younger", "1000h"]).await;
        assert!(printed.starts_with("Successfully deleted expired tokens (access tokens requested before "), "{printed}");
        assert_eq!(printed.lines().count(), 1, "{printed}");
        assert_eq!((count(&db, access).await, count(&db, refresh).await), (2, 2), "all younger than --keep-if-younger");

        // Hydra's defaults: access tokens 1h, refresh tokens 720h.
        janitor(&t, &["--tokens"]).await;
        assert_eq!((count(&db, access).await, count(&db, refresh).await), (1, 1));
        // Lifespan flags; 0 means "not given".
        janitor(&t, &["--tokens", "--access-lifespan", "0s", "--refresh-lifespan", "1h"]).await;
        assert_eq!((count(&db, access).await, count(&db, refresh).await), (1, 0));
        janitor(&t, &["--tokens", "--access-lifespan", "10m", "--keep-if-younger", "1h"]).await;
        assert_eq!(count(&db, access).await, 1, "--keep-if-younger wins over a shorter lifespan");
        janitor(&t, &["--tokens", "--access-lifespan", "10m"]).await;
        assert_eq!(count(&db, access).await, 0);

        // -e: DSN and ttl.access_token from the environment.
        token_at(&t, now - Duration::minutes(30), false).await;
        let dsn = t.db.dsn();
        let out = portcullis(&["janitor", "-e", "--tokens"], &[("DSN", dsn.as_str()), ("TTL_ACCESS_TOKEN", "2h")]).await;
        assert_ok(&out);
        assert_eq!(count(&db, access).await, 1);
        let out = portcullis(&["janitor", "-e", "--tokens"], &[("DSN", dsn.as_str()), ("TTL_ACCESS_TOKEN", "20m")]).await;
        assert_ok(&out);
        assert_eq!(count(&db, access).await, 0);

        // -c: a config file's ttl.refresh_token -1 keeps refresh tokens, whatever their age.
        token_at(&t, now - Duration::hours(800), true).await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("portcullis.yml");
        std::fs::write(&file, "ttl:\n  refresh_token: -1\n").unwrap();
        let printed = janitor(&t, &["--tokens", "-c", file.to_str().unwrap()]).await;
        assert!(printed.contains("refresh tokens never expire"), "{printed}");
        assert_eq!(count(&db, refresh).await, 1);

        // Usage errors.
        let out = portcullis(&["janitor", &dsn], &[]).await;
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains("--tokens|--requests"), "{}", stderr(&out));
        let err = assert_one_error_line(&portcullis(&["janitor", "--tokens"], &[]).await);
        assert!(err.contains("missing DSN"), "{err}");
        let err = assert_one_error_line(&portcullis(&["janitor", "--tokens", &dsn, "-e"], &[]).await);
        assert!(err.contains("not both"), "{err}");
        let err = assert_one_error_line(&portcullis(&["janitor", "--tokens", "memory"], &[]).await);
        assert!(err.contains("persistent database"), "{err}");
        t.stop().await;
    }

    async fn janitor_deletes_stale_login_and_consent_requests(backend: Backend) {
        let t = TestServer::start(backend).await;
        create_client(&t).await;
        let db = t.state.db.clone();
        let now = t.state.clock.now();
        let old = now - Duration::hours(2);
        let young = now - Duration::minutes(5);
        login_request(&db, "login-old-unhandled", old, None).await;
        login_request(&db, "login-old-accepted", old, Some("{}")).await;
        login_request(&db, "login-old-rejected", old, Some(r#"{"error":"access_denied"}"#)).await;
        login_request(&db, "login-young", young, None).await;
        consent_request(&db, "consent-old-unhandled", old, None).await;
        consent_request(&db, "consent-old-accepted", old, Some("{}")).await;
        consent_request(&db, "consent-young-rejected", young, Some(r#"{"error":"access_denied"}"#)).await;

        let printed = janitor(&t, &["--requests", "--keep-if-younger", "3h"]).await;
        assert!(printed.starts_with("Successfully deleted 0 stale login and consent requests"), "{printed}");
        let printed = janitor(&t, &["--requests"]).await;
        assert!(printed.starts_with("Successfully deleted 3 stale login and consent requests (requested before "), "{printed}");
        assert_eq!(challenges(&db, "hydra_oauth2_authentication_request").await, ["login-old-accepted", "login-young"]);
        assert_eq!(challenges(&db, "hydra_oauth2_authentication_request_handled").await, ["login-old-accepted"]);
        assert_eq!(challenges(&db, "hydra_oauth2_consent_request").await, ["consent-old-accepted", "consent-young-rejected"]);
        assert_eq!(challenges(&db, "hydra_oauth2_consent_request_handled").await, ["consent-old-accepted", "consent-young-rejected"]);

        // Both routines in one run, one line each; a short lifespan reaches the young one.
        let printed = janitor(&t, &["--tokens", "--requests", "--consent-request-lifespan", "0s"]).await;
        assert_eq!(printed.lines().count(), 2, "{printed}");
        login_request(&db, "login-other", young, None).await;
        let printed = janitor(&t, &["--requests", "--consent-request-lifespan", "1m"]).await;
        assert!(printed.starts_with("Successfully deleted 3 stale"), "{printed}");
        assert_eq!(challenges(&db, "hydra_oauth2_authentication_request").await, ["login-old-accepted"]);
        assert_eq!(challenges(&db, "hydra_oauth2_consent_request").await, ["consent-old-accepted"]);

        // Login sessions past their server-side expiry go too (ttl.authentication_session).
        use portcullis::consent::{AuthSession, ConsentStore};
        for (id, expires) in [("expired", now - Duration::hours(1)), ("live", now + Duration::hours(1))] {
            db.insert_auth_session(&AuthSession { id: id.into(), authenticated_at: Some(old),
                subject: "alice".into(), remember: true, expires_at: Some(expires) }).await.unwrap();
        }
        let printed = janitor(&t, &["--requests"]).await;
        assert!(printed.trim_end().ends_with("and 1 expired login sessions"), "{printed}");
        assert!(db.get_auth_session("live").await.is_ok());
        t.stop().await;
    }
}
