//! `portcullis clients ...`: the real binary against a running server's admin API, and the
//! shared admin flags (endpoint, bearer token, fake TLS termination) against a recording stub.

use crate::harness::output::{assert_ok, assert_one_error_line, stderr, stdout};
use crate::harness::TestServer;
use crate::on_both_backends;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};

const CALLBACK: &str = "http://127.0.0.1:5555/cb";

/// The binary with `args`, none of the admin variables inherited, then `env` set.
fn portcullis(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    cmd.args(args).stdin(Stdio::null());
    for key in [
        "PORTCULLIS_ADMIN_URL",
        "HYDRA_ADMIN_URL",
        "OAUTH2_ACCESS_TOKEN",
    ] {
        cmd.env_remove(key);
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("run portcullis")
}

/// `portcullis clients <args> --endpoint <admin>`, off the async worker threads (the server
/// runs on them).
async fn clients(t: &TestServer, args: &[&str]) -> Output {
    let mut args: Vec<String> = std::iter::once("clients")
        .chain(args.iter().copied())
        .map(str::to_string)
        .collect();
    args.extend(["--endpoint".to_string(), t.admin.clone()]);
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        portcullis(&args, &[])
    })
    .await
    .unwrap()
}

/// The values of `OAuth 2.0 Client ID: ` and `OAuth 2.0 Client Secret: ` (if printed).
#[track_caller]
fn id_and_secret(stdout: &str) -> (String, Option<String>) {
    let mut lines = stdout.lines();
    let id = lines
        .next()
        .and_then(|l| l.strip_prefix("OAuth 2.0 Client ID: "))
        .unwrap_or_else(|| panic!("id line: {stdout}"))
        .to_string();
    let secret = lines.next().map(|l| {
        l.strip_prefix("OAuth 2.0 Client Secret: ")
            .unwrap_or_else(|| panic!("secret line: {stdout}"))
            .to_string()
    });
    assert_eq!(lines.next(), None, "{stdout}");
    (id, secret)
}

on_both_backends! {
    async fn clients_commands_create_get_list_update_import_and_delete(backend: Backend) {
        let t = TestServer::start(backend).await;

        let out = clients(&t, &[
            "create", "-c", CALLBACK, "-n", "first", "-a", "openid,offline", "-a", "email",
            "-g", "authorization_code,refresh_token", "--frontchannel-logout-session-required",
        ]).await;
        let (id, secret) = id_and_secret(&assert_ok(&out));
        let secret = secret.expect("a generated secret is printed");
        assert_eq!(secret.len(), 26, "{secret}");
        let (status, body) = t.admin_get(&format!("/clients/{id}")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["client_name"], "first");
        assert_eq!(body["redirect_uris"], json!([CALLBACK]));
        assert_eq!(body["scope"], "openid offline email");
        assert_eq!(body["grant_types"], json!(["authorization_code", "refresh_token"]));
        assert_eq!(body["response_types"], json!(["code"]));
        assert_eq!(body["token_endpoint_auth_method"], "client_secret_basic");
        assert_eq!(body["subject_type"], "public");
        assert_eq!(body["frontchannel_logout_session_required"], true);
        assert!(body.get("client_secret").is_none(), "{body}");

        let out = clients(&t, &["get", &id]).await;
        let got: Value = serde_json::from_str(&assert_ok(&out)).expect("get prints JSON");
        assert_eq!(got, body);

        // The given id is used; a public client gets no secret line.
        let out = clients(&t, &["create", "--id", "public-app", "-c", CALLBACK, "--token-endpoint-auth-method", "none"]).await;
        assert_eq!(id_and_secret(&assert_ok(&out)), ("public-app".to_string(), None));

        let out = clients(&t, &["list"]).await;
        let table = assert_ok(&out);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        let header = ["CLIENT ID", "NAME", "RESPONSE TYPES", "SCOPE", "REDIRECT URIS", "GRANT TYPES", "TOKEN ENDPOINT AUTH METHOD"];
        let mut at = 0;
        for column in header {
            let found = lines[0][at..].find(column).unwrap_or_else(|| panic!("{column}: {table}"));
            at += found + column.len();
        }
        let row = lines.iter().find(|l| l.starts_with(&id)).unwrap_or_else(|| panic!("{table}"));
        for cell in ["first", "code", "openid offline email", CALLBACK, "authorization_code,refresh_token", "client_secret_basic"] {
            assert!(row.contains(cell), "{cell}: {row}");
        }
        // Page 2 of one-client pages holds the second client by id order.
        let out = clients(&t, &["list", "--limit", "1", "--page", "2"]).await;
        assert_eq!(assert_ok(&out).lines().count(), 2);

        // update is a full replacement: the flags not given fall back to their defaults.
        let out = clients(&t, &["update", &id, "-c", CALLBACK, "-n", "second"]).await;
        assert_eq!(id_and_secret(&assert_ok(&out)), (id.clone(), None));
        let (_, body) = t.admin_get(&format!("/clients/{id}")).await;
        assert_eq!(body["client_name"], "second");
        assert_eq!(body["scope"], "offline_access offline openid", "the server's default scope");
        assert_eq!(body["grant_types"], json!(["authorization_code"]));
        assert_eq!(body.get("frontchannel_logout_session_required"), None, "{body}");
        let out = clients(&t, &["update", &id, "-c", CALLBACK, "--secret", "another-secret-long-enough"]).await;
        let (_, new_secret) = id_and_secret(&assert_ok(&out));
        assert_eq!(new_secret.as_deref(), Some("another-secret-long-enough"));
        assert!(stderr(&out).contains("should not provide secrets"), "{}", stderr(&out));

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("client.json");
        std::fs::write(&file, json!({"client_id": "imported", "client_name": "from a file", "redirect_uris": [CALLBACK]}).to_string()).unwrap();
        let out = clients(&t, &["import", file.to_str().unwrap()]).await;
        let (imported, imported_secret) = id_and_secret(&assert_ok(&out));
        assert_eq!(imported, "imported");
        assert_eq!(imported_secret.map(|s| s.len()), Some(26), "the server's secret is shown");
        let (status, body) = t.admin_get("/clients/imported").await;
        assert_eq!((status, body["client_name"].clone()), (200, json!("from a file")));

        let out = clients(&t, &["delete", &id, "imported"]).await;
        assert_eq!(assert_ok(&out), format!("OAuth 2.0 Client {id} deleted.\nOAuth 2.0 Client imported deleted.\n"));
        assert_eq!(t.admin_get(&format!("/clients/{id}")).await.0, 404);
        assert_eq!(t.admin_get("/clients/imported").await.0, 404);

        // API errors: one line with the status and Hydra's error, non-zero exit.
        let out = clients(&t, &["get", "no-such-client"]).await;
        let err = assert_one_error_line(&out);
        assert!(err.starts_with("error: 404 "), "{err}");
        assert_one_error_line(&clients(&t, &["delete", "no-such-client"]).await);
        let out = clients(&t, &["delete", "public-app", "no-such-client"]).await;
        assert!(!out.status.success());
        assert_eq!(stdout(&out), "OAuth 2.0 Client public-app deleted.\n");
        let out = clients(&t, &["create", "--id", "bad", "-c", "not a url"]).await;
        let err = assert_one_error_line(&out);
        assert!(err.starts_with("error: 400 "), "{err}");
        std::fs::write(&file, "[1, 2]").unwrap();
        assert_one_error_line(&clients(&t, &["import", file.to_str().unwrap()]).await);
        t.stop().await;
    }
}

#[test]
fn without_an_endpoint_the_command_fails_with_one_line() {
    for args in [
        &["clients", "list"][..],
        &["clients", "get", "x"][..],
        &["clients", "create"][..],
    ] {
        let err = assert_one_error_line(&portcullis(args, &[]));
        assert!(
            err.contains("--endpoint") && err.contains("HYDRA_ADMIN_URL"),
            "{err}"
        );
    }
    let err = assert_one_error_line(&portcullis(
        &["clients", "list"],
        &[("PORTCULLIS_ADMIN_URL", "unix:///run/hydra.sock")],
    ));
    assert!(err.contains("unix"), "{err}");
}

/// A one-shot HTTP server on a free port: answers `status` and `body` to one request and
/// hands back the request head it received.
fn stub(status: &str, body: &str) -> (String, std::thread::JoinHandle<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let handle = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap() == 1 {
            head.push(byte[0]);
        }
        conn.write_all(response.as_bytes()).unwrap();
        String::from_utf8(head).unwrap().to_ascii_lowercase()
    });
    (url, handle)
}

#[test]
fn admin_flags_set_the_path_the_bearer_token_and_the_forwarded_proto() {
    let (url, seen) = stub("200 OK", "[]");
    let endpoint = format!("{url}/prefix/");
    let out = portcullis(
        &[
            "clients",
            "list",
            "--limit",
            "5",
            "--page",
            "3",
            "--fake-tls-termination",
        ],
        &[
            ("HYDRA_ADMIN_URL", &endpoint),
            ("OAUTH2_ACCESS_TOKEN", "tok"),
        ],
    );
    assert_ok(&out);
    let head = seen.join().unwrap();
    assert!(
        head.starts_with("get /prefix/clients?limit=5&offset=10 http/1.1\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nauthorization: bearer tok\r\n"), "{head}");
    assert!(head.contains("\r\nx-forwarded-proto: https\r\n"), "{head}");
    assert!(stdout(&out).starts_with("CLIENT ID"), "{}", stdout(&out));

    // The flag wins over the variables; without --fake-tls-termination no header is sent.
    let (url, seen) = stub(
        "409 Conflict",
        r#"{"error":"Unable to insert or update resource because a resource with that value exists already","error_description":""}"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.json");
    std::fs::write(&file, r#"{"client_id":"dup"}"#).unwrap();
    let out = portcullis(
        &[
            "clients",
            "import",
            "--endpoint",
            &url,
            file.to_str().unwrap(),
        ],
        &[("PORTCULLIS_ADMIN_URL", "http://127.0.0.1:1")],
    );
    let err = assert_one_error_line(&out);
    assert_eq!(
        err,
        "error: 409 Unable to insert or update resource because a resource with that value exists already"
    );
    let head = seen.join().unwrap();
    assert!(head.starts_with("post /clients http/1.1\r\n"), "{head}");
    assert!(
        !head.contains("x-forwarded-proto") && !head.contains("authorization"),
        "{head}"
    );
}
