//! `portcullis token user` (the real binary): its callback server on 127.0.0.1, driven by the
//! harness browser and fake login/consent app through a running server, the tokens it prints
//! checked by introspection; the callback's errors, a foreign state and the timeout.

use crate::harness::flow::{Browser, FakeApp};
use crate::harness::TestServer;
use crate::on_both_backends;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::NaiveDateTime;
use portcullis::clock::Clock;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
use url::Url;

const SECRET: &str = "token-user-secret-0123456789";

/// The binary running in the background, its stdout read line by line as it comes.
struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    /// `portcullis <args>` with none of the endpoint or client variables inherited.
    fn start(args: &[&str]) -> Running {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for key in [
            "PORTCULLIS_URL",
            "HYDRA_URL",
            "OAUTH2_CLIENT_ID",
            "OAUTH2_CLIENT_SECRET",
        ] {
            cmd.env_remove(key);
        }
        let mut child = cmd.spawn().expect("run portcullis");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The next printed line containing `needle` (trimmed); fails after 30 s.
    fn line_containing(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = tokio::task::block_in_place(|| self.lines.recv_timeout(left))
                .unwrap_or_else(|e| panic!("no line with {needle:?} ({e}); saw {:?}", self.seen));
            self.seen.push(line.clone());
            if line.contains(needle) {
                return line.trim().to_string();
            }
        }
    }

    /// Waits (at most 30 s) for the exit: success, all of stdout, stderr.
    fn finish(self) -> (bool, String, String) {
        tokio::task::block_in_place(|| self.wait())
    }

    fn wait(mut self) -> (bool, String, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "token user did not exit; printed {:?}",
                self.seen
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        loop {
            match self.lines.recv_timeout(Duration::from_secs(5)) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!("stdout did not close"),
            }
        }
        let mut err = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        (
            status.success(),
            self.seen.join("\n"),
            err.trim().to_string(),
        )
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The URL printed after `label` (`Setting up callback listener on <url>`).
fn after(line: &str, label: &str) -> String {
    line.split_once(label).unwrap().1.trim().to_string()
}

fn query(url: &str) -> HashMap<String, String> {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// The value printed under `Label:` (the next line, tab-indented), as Hydra prints tokens.
fn printed(out: &str, label: &str) -> String {
    let mut lines = out.lines();
    lines
        .find(|l| *l == format!("{label}:"))
        .unwrap_or_else(|| panic!("no {label} in {out}"));
    let value = lines.next().unwrap();
    assert!(value.starts_with('\t'), "{value:?}");
    value.trim().to_string()
}

fn claims(jwt: &str) -> Value {
    let payload = URL_SAFE_NO_PAD
        .decode(jwt.split('.').nth(1).unwrap())
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

/// `token user` against `t` with `args`, on a free port, never opening a browser. Returns the
/// running command, its callback URL and the printed authorization URL.
fn start_user(t: &TestServer, args: &[&str]) -> (Running, String, String) {
    let mut all = vec![
        "token",
        "user",
        "--no-open",
        "--port",
        "0",
        "--endpoint",
        &t.public,
        "--timeout",
        "60s",
    ];
    all.extend_from_slice(args);
    let mut cmd = Running::start(&all);
    let callback = after(
        &cmd.line_containing("Setting up callback listener on "),
        " on ",
    );
    let auth = cmd.line_containing("/oauth2/auth?");
    (cmd, callback, auth)
}

on_both_backends! {
    async fn token_user_completes_the_code_flow_and_prints_the_tokens(backend: Backend) {
        let t = TestServer::start(backend).await;
        let (cmd, callback, auth) = start_user(&t, &["--client-id", "cli-user", "--client-secret", SECRET]);
        assert!(callback.starts_with("http://127.0.0.1:") && callback.ends_with("/callback"), "{callback}");
        t.create_client(json!({"client_id": "cli-user", "client_secret": SECRET,
            "redirect_uris": [callback], "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"], "scope": "openid offline"})).await;

        let q = query(&auth);
        assert!(auth.starts_with(&t.public_url("/oauth2/auth?")), "{auth}");
        assert_eq!((q["client_id"].as_str(), q["response_type"].as_str(), q["scope"].as_str()), ("cli-user", "code", "offline openid"));
        assert_eq!(q["redirect_uri"], callback);
        assert_eq!(q["code_challenge_method"], "S256");
        assert!(q["state"].len() == 24 && q["nonce"].len() == 24, "{q:?}");

        // The welcome page links to the same authorization URL.
        let browser = Browser::default();
        let home = callback.trim_end_matches("callback");
        let (status, _, page) = browser.get_page(home).await;
        assert_eq!(status, 200);
        assert!(page.contains(&auth.replace('&', "&amp;")), "{page}");

        let trace = t.run_flow(&browser, &auth, &FakeApp::default()).await;
        assert!(trace.end().as_str().starts_with(&callback), "{}", trace.end());
        assert_eq!(trace.consents[0]["requested_scope"], json!(["offline", "openid"]));
        let (status, _, page) = browser.get_page(trace.end().as_str()).await;
        assert_eq!(status, 200, "{page}");

        let (ok, out, err) = cmd.finish();
        assert!(ok, "{err}\n{out}");
        let access = printed(&out, "Access Token");
        let refresh = printed(&out, "Refresh Token");
        let id_token = printed(&out, "ID Token");
        assert!(page.contains(&access) && page.contains(&refresh), "{page}");

        let info = t.introspect(&access).await;
        assert_eq!((&info["active"], &info["sub"], &info["client_id"]), (&json!(true), &json!("alice"), &json!("cli-user")), "{info}");
        assert_eq!(info["scope"], json!("offline openid"));
        assert_eq!(t.introspect(&refresh).await["active"], json!(true));
        let id = claims(&id_token);
        assert_eq!((&id["nonce"], &id["sub"], &id["aud"]), (&json!(q["nonce"]), &json!("alice"), &json!(["cli-user"])), "{id}");

        // "Expires in": Go's RFC 1123 in UTC, an hour (ttl.access_token) from now.
        let expiry = NaiveDateTime::parse_from_str(&printed(&out, "Expires in"), "%a, %d %b %Y %H:%M:%S UTC").unwrap().and_utc();
        let left = (expiry - Clock::system().now()).num_seconds();
        assert!((3500..=3601).contains(&left), "{left}");
        t.stop().await;
    }

    async fn token_user_as_a_public_client_over_https(backend: Backend) {
        let t = TestServer::start(backend).await;
        let (cmd, callback, auth) = start_user(&t, &["--https", "--client-id", "cli-public", "--scope", "openid",
            "--audience", "https://api.example/", "--prompt", "login", "--max-age", "600"]);
        assert!(callback.starts_with("https://127.0.0.1:"), "{callback}");
        t.create_client(json!({"client_id": "cli-public", "token_endpoint_auth_method": "none",
            "redirect_uris": [callback], "grant_types": ["authorization_code"], "response_types": ["code"],
            "scope": "openid", "audience": ["https://api.example/"]})).await;
        let q = query(&auth);
        assert_eq!((q["audience"].as_str(), q["prompt"].as_str(), q["max_age"].as_str()), ("https://api.example/", "login", "600"));

        // A self-signed certificate, made at start: not trusted by default.
        let home = callback.trim_end_matches("callback");
        assert!(reqwest::get(home).await.is_err());
        let insecure = reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap();
        assert_eq!(insecure.get(home).send().await.unwrap().status(), 200);

        let trace = t.run_flow(&Browser::default(), &auth, &FakeApp::default()).await;
        assert!(trace.end().as_str().starts_with(&callback), "{}", trace.end());
        let r = insecure.get(trace.end().as_str()).send().await.unwrap();
        assert_eq!(r.status(), 200);

        let (ok, out, err) = cmd.finish();
        assert!(ok, "{err}\n{out}");
        let info = t.introspect(&printed(&out, "Access Token")).await;
        assert_eq!((&info["active"], &info["client_id"], &info["aud"]), (&json!(true), &json!("cli-public"), &json!(["https://api.example/"])), "{info}");
        assert!(out.contains("Refresh Token:\n\t\n"), "no offline scope, no refresh token: {out}");
        assert_eq!(claims(&printed(&out, "ID Token"))["nonce"], json!(q["nonce"]));
        t.stop().await;
    }

    async fn token_user_fails_on_a_denied_consent(backend: Backend) {
        let t = TestServer::start(backend).await;
        let (cmd, callback, auth) = start_user(&t, &["--client-id", "cli-user", "--client-secret", SECRET]);
        t.create_client(json!({"client_id": "cli-user", "client_secret": SECRET,
            "redirect_uris": [callback], "scope": "openid offline"})).await;
        let app = FakeApp {
            reject_consent: Some(json!({"error": "access_denied", "error_description": "The resource owner denied the request"})),
            ..FakeApp::default()
        };
        let browser = Browser::default();
        let trace = t.run_flow(&browser, &auth, &app).await;
        let (status, _, page) = browser.get_page(trace.end().as_str()).await;
        assert_eq!(status, 500);
        assert!(page.contains("<h2>access_denied</h2>"), "{page}");

        let (ok, out, err) = cmd.finish();
        assert!(!ok, "{out}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("error: the authorization server answered access_denied: The resource owner denied the request"), "{err}");
        assert!(!out.contains("Access Token"), "{out}");
        t.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_user_rejects_a_callback_with_another_state() {
    // No server is needed: the state is checked before any exchange.
    let mut cmd = Running::start(&[
        "token",
        "user",
        "--no-open",
        "--port",
        "0",
        "--client-id",
        "x",
        "--endpoint",
        "http://127.0.0.1:1",
        "--timeout",
        "60s",
    ]);
    let callback = after(
        &cmd.line_containing("Setting up callback listener on "),
        " on ",
    );
    let r = reqwest::get(format!("{callback}?code=stolen&state=not-ours"))
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    assert!(r.text().await.unwrap().contains("States do not match"));
    let (ok, _, err) = cmd.finish();
    assert!(!ok);
    assert!(
        err.starts_with("error: the callback's state does not match"),
        "{err}"
    );
    assert!(err.contains("\"not-ours\""), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_user_gives_up_after_its_timeout() {
    let started = Instant::now();
    let cmd = Running::start(&[
        "token",
        "user",
        "--no-open",
        "--port",
        "0",
        "--client-id",
        "x",
        "--endpoint",
        "http://127.0.0.1:1",
        "--timeout",
        "1s",
    ]);
    let (ok, _, err) = cmd.finish();
    assert!(!ok);
    assert!(
        err.starts_with("error: no callback arrived at http://127.0.0.1:")
            && err.contains("within 1s"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(15));

    let (ok, _, err) =
        Running::start(&["token", "user", "--endpoint", "http://127.0.0.1:1"]).finish();
    assert!(!ok);
    assert_eq!(
        err,
        "error: no client: pass --client-id or set OAUTH2_CLIENT_ID"
    );
}
