//! `/health/alive`, `/health/ready`, `/version`, `/metrics/prometheus`.

use crate::harness::{proxy::Proxy, Backend, TestDb, TestServer};
use crate::on_both_backends;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

on_both_backends! {
    async fn alive_and_ready_on_both_listeners(backend: Backend) {
        let t = TestServer::start(backend).await;
        for base in [&t.public, &t.admin] {
            for path in ["/health/alive", "/health/ready"] {
                let res = t.http.get(format!("{base}{path}")).send().await.unwrap();
                assert_eq!(res.status(), 200, "{base}{path}");
                assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
                assert_eq!(res.json::<serde_json::Value>().await.unwrap(), json!({"status": "ok"}));
            }
        }
        t.stop().await;
    }

    async fn version_is_on_admin_only(backend: Backend) {
        let t = TestServer::start(backend).await;
        assert_eq!(t.admin_get("/version").await, (200, json!({"version": env!("CARGO_PKG_VERSION")})));
        assert_eq!(t.public_get("/version").await.0, 404);
        assert_eq!(t.public_get("/metrics/prometheus").await.0, 404);
        t.stop().await;
    }

    async fn ready_reports_pending_migrations(backend: Backend) {
        let t = TestServer::start(backend).await;
        let db = t.db.connect().await;
        portcullis::on_pool!(db, |p| sqlx::query("DELETE FROM portcullis_schema_migration").execute(p).await.map(|_| ())).unwrap();
        let (status, body) = t.admin_get("/health/ready").await;
        assert_eq!(status, 503);
        let msg = body["errors"]["migrations"].as_str().unwrap_or_default();
        assert!(msg.contains("0001_init") && msg.contains("portcullis migrate sql"), "{body}");
        // The public port hides the details (Hydra obfuscates them there).
        let (status, body) = t.public_get("/health/ready").await;
        assert_eq!(status, 503);
        assert_eq!(body, json!({"errors": {"migrations": "error may contain sensitive information and was obfuscated"}}));
        db.close().await;
        t.stop().await;
    }

    async fn metrics_count_requests_per_route_and_status(backend: Backend) {
        let t = TestServer::start(backend).await;
        t.public_get("/health/alive").await;
        t.public_get("/does/not/exist").await;
        t.admin_get("/version").await;
        let res = t.http.get(t.admin_url("/metrics/prometheus")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
        let text = res.text().await.unwrap();
        for needle in [
            "# TYPE hydra_response_time_seconds histogram",
            r#"hydra_response_time_seconds_count{endpoint="/health/alive",listener="public",method="GET",status="200""#,
            r#"hydra_response_time_seconds_count{endpoint="{unmatched}",listener="public",method="GET",status="404""#,
            r#"hydra_response_time_seconds_count{endpoint="/version",listener="admin",method="GET",status="200""#,
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        t.stop().await;
    }
}

/// The database goes away and comes back: readiness follows without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_follows_the_database_down_and_back_postgres() {
    let db = TestDb::create(Backend::Postgres).await;
    db.migrate().await;
    let mut url = url::Url::parse(&db.dsn()).unwrap();
    let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let target = tokio::net::lookup_host(target)
        .await
        .unwrap()
        .next()
        .unwrap();
    let proxy = Proxy::start(target).await;
    url.set_host(Some("127.0.0.1")).unwrap();
    url.set_port(Some(proxy.addr.port())).unwrap();
    let t = TestServer::start_on(db, url.to_string(), |_| {}).await;

    assert_eq!(t.admin_get("/health/ready").await.0, 200);
    let r = t
        .admin_call(Method::POST, "/clients", Some(json!({"client_id": "svc", "client_secret": "a-long-enough-secret", "grant_types": ["client_credentials"]})))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let token = || {
        let request = t
            .http
            .post(t.public_url("/oauth2/token"))
            .basic_auth("svc", Some("a-long-enough-secret"))
            .form(&[("grant_type", "client_credentials")]);
        async move {
            let r = request.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    assert_eq!(token().await.0, 200);
    proxy.down();
    // At once, while the client row is still cached: the requests reach the combined token
    // inserts. They fail with a 5xx (security-cases: an outage is only transient 5xx), all
    // within about one pool acquire timeout (5 s): none waits behind another's timeout.
    let started = std::time::Instant::now();
    let down: Vec<_> = (0..8).map(|_| tokio::spawn(token())).collect();
    for task in down {
        let (status, body) = task.await.unwrap();
        assert!(status == 503 || status == 500, "{status} {body}");
        assert!(body["error"].is_string(), "{body}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    let (status, body) = t.admin_get("/health/ready").await;
    assert_eq!(status, 503, "{body}");
    assert!(body["errors"]["database"].is_string(), "{body}");
    assert_eq!(
        t.admin_get("/health/alive").await.0,
        200,
        "alive does not depend on the database"
    );

    proxy.up();
    let mut status = 0;
    for _ in 0..50 {
        status = t.admin_get("/health/ready").await.0;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "ready again once the database is back");
    assert_eq!(
        token().await.0,
        200,
        "tokens again once the database is back"
    );
    t.stop().await;
}

/// An SQLite file that becomes unreadable: readiness reports the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_reports_a_broken_sqlite_database() {
    let t = TestServer::start(Backend::Sqlite).await;
    assert_eq!(t.admin_get("/health/ready").await.0, 200);
    t.state.db.close().await;
    let (status, body) = t.admin_get("/health/ready").await;
    assert_eq!(status, 503);
    assert!(body["errors"]["database"].is_string(), "{body}");
}
