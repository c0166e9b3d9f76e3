//! Cross-cutting HTTP behaviour: Hydra's error JSON for unknown routes and wrong methods,
//! request ids, CORS, graceful shutdown.

use crate::harness::TestServer;
use crate::on_both_backends;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

on_both_backends! {
    async fn unknown_routes_are_404_in_hydra_json(backend: Backend) {
        let t = TestServer::start(backend).await;
        for url in [t.public_url("/nope"), t.admin_url("/clients/x/y/z"), t.admin_url("/")] {
            let res = t.http.post(&url).body("x").send().await.unwrap();
            assert_eq!(res.status(), 404, "{url}");
            assert_eq!(res.headers()["content-type"], "application/json");
            let body: serde_json::Value = res.json().await.unwrap();
            assert_eq!(body, json!({
                "error": "Error 404 - The requested route does not exist. Make sure you are using the right path, domain, and port.",
                "error_description": ""
            }));
        }
        t.stop().await;
    }

    async fn wrong_method_is_405_in_hydra_json(backend: Backend) {
        let t = TestServer::start(backend).await;
        let res = t.http.delete(t.admin_url("/version")).send().await.unwrap();
        assert_eq!(res.status(), 405);
        assert!(res.headers()["allow"].to_str().unwrap().contains("GET"));
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"], "Method Not Allowed");
        assert!(body["error_description"].is_string());
        t.stop().await;
    }

    async fn request_ids_are_set_and_propagated(backend: Backend) {
        let t = TestServer::start(backend).await;
        let res = t.http.get(t.public_url("/health/alive")).send().await.unwrap();
        assert_eq!(res.headers()["x-request-id"].len(), 36);
        let res = t.http.get(t.public_url("/health/alive")).header("x-request-id", "abc-123").send().await.unwrap();
        assert_eq!(res.headers()["x-request-id"], "abc-123");
        t.stop().await;
    }

    async fn admin_cors_follows_config(backend: Backend) {
        let t = TestServer::start_with(backend, |c| {
            c.serve.admin.cors.enabled = true;
            c.serve.admin.cors.allowed_origins = vec!["https://*.example.com".into()];
        }).await;
        let preflight = |origin: &'static str| {
            t.http
                .request(reqwest::Method::OPTIONS, t.admin_url("/version"))
                .header("origin", origin)
                .header("access-control-request-method", "GET")
                .send()
        };
        let ok = preflight("https://app.example.com").await.unwrap();
        assert_eq!(ok.headers()["access-control-allow-origin"], "https://app.example.com");
        assert_eq!(ok.headers()["access-control-allow-credentials"], "true");
        let refused = preflight("https://evil.test").await.unwrap();
        assert!(refused.headers().get("access-control-allow-origin").is_none());
        let res = t.http.get(t.admin_url("/version")).header("origin", "https://app.example.com").send().await.unwrap();
        assert_eq!(res.headers()["access-control-allow-origin"], "https://app.example.com");
        // The public listener has no CORS on health routes, as in Hydra.
        let res = t.http.get(t.public_url("/health/alive")).header("origin", "https://app.example.com").send().await.unwrap();
        assert!(res.headers().get("access-control-allow-origin").is_none());
        t.stop().await;
    }

    async fn shutdown_drains_a_request_in_flight(backend: Backend) {
        let mut t = TestServer::start(backend).await;
        let addr = t.admin.trim_start_matches("http://").to_string();
        let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
        // Half a request: the server is now reading it.
        conn.write_all(b"GET /health/ready HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let task = t.shutdown();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(!task.is_finished(), "the server waits for the request in flight");
        // New connections are no longer accepted.
        assert!(t.http.get(t.admin_url("/health/alive")).send().await.is_err());
        conn.write_all(b"Connection: close\r\n\r\n").await.unwrap();
        let mut response = String::new();
        conn.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with(r#"{"status":"ok"}"#), "{response}");
        tokio::time::timeout(std::time::Duration::from_secs(5), task).await.unwrap().unwrap().unwrap();
    }
}
