//! The real binary: `serve`, `migrate sql`, `version`, and the one-line errors of a bad setup.

use crate::harness::{http_client, TestDb};
use crate::on_both_backends;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const SECRET: &str = "a-system-secret-for-the-cli-tests";

fn portcullis(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    cmd.args(args).stdin(Stdio::null());
    for key in [
        "DSN",
        "SECRETS_SYSTEM",
        "URLS_SELF_ISSUER",
        "SERVE_PUBLIC_PORT",
        "SERVE_ADMIN_PORT",
        "LOG_LEVEL",
    ] {
        cmd.env_remove(key);
    }
    cmd.envs(env.iter().copied());
    cmd
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    portcullis(args, env).output().expect("run portcullis")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_string()
}

/// The failure is one line, the last, starting with `error: ` (log lines may precede it).
#[track_caller]
fn assert_one_error_line(stderr: &str) {
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        stderr
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("error: ")),
        "{stderr}"
    );
}

/// Two ports free right now.
fn free_ports() -> (u16, u16) {
    let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let b = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

/// Runs `serve` with `args`/`env`, waits for both health/ready endpoints to answer 200, then
/// sends SIGTERM and expects a clean exit. Returns what the server logged.
async fn serve_until_ready(args: &[&str], env: &[(&str, &str)]) -> String {
    let (public, admin) = free_ports();
    let (public_s, admin_s) = (public.to_string(), admin.to_string());
    let mut env = env.to_vec();
    env.extend([
        ("SERVE_PUBLIC_PORT", public_s.as_str()),
        ("SERVE_ADMIN_PORT", admin_s.as_str()),
        ("SERVE_PUBLIC_HOST", "127.0.0.1"),
        ("SERVE_ADMIN_HOST", "127.0.0.1"),
    ]);
    let mut child = portcullis(args, &env)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let http = http_client();
    let mut ready = false;
    for _ in 0..100 {
        let p = http
            .get(format!("http://127.0.0.1:{public}/health/ready"))
            .send()
            .await;
        let a = http
            .get(format!("http://127.0.0.1:{admin}/health/ready"))
            .send()
            .await;
        if matches!((&p, &a), (Ok(p), Ok(a)) if p.status() == 200 && a.status() == 200) {
            ready = true;
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let out = child.wait_with_output().unwrap();
            panic!("serve exited early with {status}: {}", stderr(&out));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(ready, "serve never became ready: {}", stderr(&out));
    assert!(
        out.status.success(),
        "clean exit on SIGTERM: {}",
        stderr(&out)
    );
    stderr(&out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_all_dev_is_ready_on_both_ports() {
    let log = serve_until_ready(&["serve", "all", "--dev"], &[]).await;
    assert!(log.contains("For development only"), "{log}");
    assert!(log.contains("secrets.system is not set"), "{log}");
    assert!(
        log.contains("completed handling request"),
        "access log: {log}"
    );
    assert!(log.contains("shutting down"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_checks_can_be_left_out_of_the_access_log() {
    let env = [
        ("SERVE_PUBLIC_ACCESS_LOG_DISABLE_FOR_HEALTH", "true"),
        ("SERVE_ADMIN_ACCESS_LOG_DISABLE_FOR_HEALTH", "true"),
        ("LOG_FORMAT", "json"),
    ];
    let log = serve_until_ready(&["serve", "all", "--dev"], &env).await;
    assert!(!log.contains("completed handling request"), "{log}");
    assert!(
        log.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "json logs: {log}"
    );
}

on_both_backends! {
    async fn migrate_then_serve_on_a_persistent_database(backend: Backend) {
        let db = TestDb::create(backend).await;
        let dsn = db.dsn();
        // Before migrating, serve refuses and names the command.
        let out = run(&["serve", "all", "--dangerous-force-http"], &[("DSN", &dsn), ("SECRETS_SYSTEM", SECRET)]);
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(err.contains("pending migration") && err.contains("portcullis migrate sql"), "{err}");
        assert_one_error_line(&err);

        let out = run(&["migrate", "sql", "-e", "--yes"], &[("DSN", &dsn)]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("0001_init"));
        let out = run(&["migrate", "sql", &dsn, "--yes"], &[]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("up to date"), "idempotent");

        let log = serve_until_ready(&["serve", "all", "--dangerous-force-http"], &[("DSN", &dsn), ("SECRETS_SYSTEM", SECRET)]).await;
        assert!(!log.contains(SECRET), "the system secret is never logged");
    }
}

#[test]
fn migrate_without_yes_and_without_a_terminal_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let dsn = format!("sqlite://{}/x.sqlite", dir.path().display());
    let out = run(&["migrate", "sql", &dsn], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    let out = run(&["migrate", "sql"], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("missing DSN"), "{}", stderr(&out));
}

#[test]
fn bad_setups_exit_non_zero_with_one_line_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let unknown = dir.path().join("unknown.yml");
    std::fs::write(&unknown, "dsn: memory\nserve:\n  public:\n    prot: 1\n").unwrap();
    let unknown = unknown.to_string_lossy().to_string();
    let force = ["serve", "all", "--dangerous-force-http"];
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            force.to_vec(),
            vec![("DSN", "memory"), ("SECRETS_SYSTEM", "short")],
            "secrets.system",
        ),
        (
            force.to_vec(),
            vec![
                ("DSN", "memory"),
                ("SECRETS_SYSTEM", SECRET),
                ("TTL_ACCESS_TOKEN", "1 hour"),
            ],
            "ttl.access_token",
        ),
        (
            vec!["serve", "all", "--dangerous-force-http", "-c", &unknown],
            vec![("SECRETS_SYSTEM", SECRET)],
            "serve.public.prot",
        ),
        (force.to_vec(), vec![("SECRETS_SYSTEM", SECRET)], "\"dsn\""),
        (
            force.to_vec(),
            vec![
                ("DSN", "postgres://nobody@127.0.0.1:1/none"),
                ("SECRETS_SYSTEM", SECRET),
            ],
            "cannot connect to the database postgres://nobody@127.0.0.1:1/none",
        ),
        (
            force.to_vec(),
            vec![
                ("DSN", "mysql://root@tcp(127.0.0.1:3306)/x"),
                ("SECRETS_SYSTEM", SECRET),
            ],
            "not supported yet",
        ),
        (
            vec!["serve", "all"],
            vec![
                ("DSN", "memory"),
                ("SECRETS_SYSTEM", SECRET),
                ("URLS_SELF_ISSUER", "https://auth.test/"),
            ],
            "--dangerous-force-http",
        ),
        (
            vec!["serve", "public", "--dangerous-force-http"],
            vec![("DSN", "memory"), ("SECRETS_SYSTEM", SECRET)],
            "only possible with `serve all`",
        ),
    ];
    for (args, env, needle) in cases {
        let out = run(&args, &env);
        let err = stderr(&out);
        assert!(!out.status.success(), "{args:?} {env:?} should fail");
        assert!(err.contains(needle), "{args:?} {env:?}: {err}");
        assert_one_error_line(&err);
    }
}

#[test]
fn version_prints_the_version() {
    let out = run(&["version"], &[]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
}
