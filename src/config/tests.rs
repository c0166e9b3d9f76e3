//! Loading: defaults, files, env precedence, derivation and the one-line errors.

use super::*;
use std::io::Write;
use std::time::Duration;

const SECRET: &str = "0123456789abcdef-0123456789abcdef";

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn http() -> Flags {
    Flags {
        dangerous_force_http: true,
        ..Flags::default()
    }
}

fn file(ext: &str, body: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(ext).tempfile().unwrap();
    f.write_all(body.as_bytes()).unwrap();
    f
}

fn load_err(files: &[PathBuf], vars: &[(&str, &str)], flags: Flags) -> String {
    match load_from(files, &env(vars), flags) {
        Ok(_) => panic!("expected an error for {vars:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn defaults_are_hydras() {
    let c = load_from(
        &[],
        &env(&[("DSN", "memory"), ("SECRETS_SYSTEM", SECRET)]),
        http(),
    )
    .unwrap();
    assert_eq!(c.serve.public.port, 4444);
    assert_eq!(c.serve.admin.port, 4445);
    assert_eq!(c.ttl.access_token, Duration::from_secs(3600));
    assert_eq!(
        c.ttl.refresh_token,
        duration::Lifespan::Finite(Duration::from_secs(720 * 3600))
    );
    assert_eq!(c.ttl.auth_code, Duration::from_secs(600));
    assert_eq!(c.ttl.login_consent_request, Duration::from_secs(1800));
    assert_eq!(c.ttl.id_token, Duration::from_secs(3600));
    assert_eq!(c.urls.issuer.as_str(), "http://localhost:4444/");
    assert_eq!(
        c.urls.login.as_str(),
        "http://localhost:4444/oauth2/fallbacks/login"
    );
    assert_eq!(
        c.urls.post_logout_redirect.as_str(),
        "http://localhost:4444/oauth2/fallbacks/logout/callback"
    );
    assert_eq!(c.strategies.access_token, AccessTokenStrategy::Opaque);
    assert_eq!(c.strategies.scope, ScopeStrategy::Wildcard);
    assert_eq!(
        c.webfinger.jwks.broadcast_keys,
        vec!["hydra.openid.id-token"]
    );
    assert_eq!(c.oidc.subject_identifiers.supported_types, vec!["public"]);
    assert_eq!(c.oauth2.hashers.bcrypt.cost, 10);
    assert!(c.oauth2.session.encrypt_at_rest);
    assert_eq!(
        c.serve.public.cors.allowed_methods,
        vec!["POST", "GET", "PUT", "PATCH", "DELETE"]
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn later_files_win_and_env_wins_over_files() {
    let first = file(".yml", "dsn: memory\nserve:\n  public:\n    port: 1111\n  admin:\n    port: 2222\nttl:\n  access_token: 5m\nsecrets:\n  system: [\"0123456789abcdef-from-file\"]\n");
    let second = file(
        ".json",
        r#"{"serve": {"public": {"port": 3333}}, "urls": {"self": {"issuer": "http://auth.test/base"}}}"#,
    );
    let third = file(".toml", "[ttl]\nauth_code = \"2m\"\n");
    let files = vec![
        first.path().to_path_buf(),
        second.path().to_path_buf(),
        third.path().to_path_buf(),
    ];
    let c = load_from(
        &files,
        &env(&[
            ("SERVE_ADMIN_PORT", "4000"),
            (
                "SECRETS_SYSTEM",
                "0123456789abcdef-from-env,older-secret-value",
            ),
        ]),
        http(),
    )
    .unwrap();
    assert_eq!(
        c.serve.public.port, 3333,
        "the second file overrides the first"
    );
    assert_eq!(c.serve.admin.port, 4000, "env overrides files");
    assert_eq!(c.ttl.access_token, Duration::from_secs(300));
    assert_eq!(c.ttl.auth_code, Duration::from_secs(120));
    assert_eq!(c.secrets.system[0].expose(), "0123456789abcdef-from-env");
    assert_eq!(c.secrets.system.len(), 2);
    assert_eq!(
        c.urls.issuer.as_str(),
        "http://auth.test/base/",
        "a trailing slash is appended"
    );
    assert_eq!(
        c.urls.consent.as_str(),
        "http://auth.test/base/oauth2/fallbacks/consent"
    );
}

#[test]
fn shipped_example_config_loads() {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/portcullis.yml"
    ));
    let c = load_from(&[path], &env(&[]), http()).unwrap();
    assert_eq!(c.dsn.backend, Backend::Memory);
}

#[test]
fn bad_values_fail_with_one_line_naming_the_key() {
    let base = [("DSN", "memory"), ("SECRETS_SYSTEM", SECRET)];
    let with = |extra: (&'static str, &'static str)| {
        let mut v = base.to_vec();
        v.retain(|(k, _)| *k != extra.0);
        v.push(extra);
        v
    };
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            with(("SECRETS_SYSTEM", "short")),
            "\"secrets.system\": the first secret must be at least 16 characters",
        ),
        (
            with(("TTL_ACCESS_TOKEN", "1h30m")),
            "\"ttl.access_token\": invalid duration \"1h30m\"",
        ),
        (with(("TTL_REFRESH_TOKEN", "-2")), "\"ttl.refresh_token\""),
        (
            with(("SERVE_PUBLIC_PORT", "http")),
            "SERVE_PUBLIC_PORT (configuration key \"serve.public.port\") must be an integer",
        ),
        (
            with(("SERVE_PUBLIC_PORT", "70000")),
            "\"serve.public.port\"",
        ),
        (
            with(("SERVE_ADMIN_PORT", "0")),
            "\"serve.admin.port\": must be between 1 and 65535",
        ),
        (with(("LOG_LEVEL", "loud")), "\"log.level\""),
        (
            with(("STRATEGIES_ACCESS_TOKEN", "paseto")),
            "\"strategies.access_token\"",
        ),
        (
            with(("DSN", "mysql://root@tcp(db:3306)/hydra")),
            "\"dsn\": mysql:// DSNs are not supported yet",
        ),
        (
            with(("URLS_LOGIN", "/relative")),
            "\"urls.login\": must be an absolute URL",
        ),
        (
            with(("OAUTH2_HASHERS_BCRYPT_COST", "3")),
            "\"oauth2.hashers.bcrypt.cost\": must be between 4 and 31",
        ),
        (vec![("SECRETS_SYSTEM", SECRET)], "\"dsn\": is required"),
    ];
    for (vars, needle) in cases {
        let msg = load_err(&[], &vars, http());
        assert!(msg.contains(needle), "{vars:?}: {msg}");
        assert!(!msg.contains('\n'), "one line: {msg}");
    }
}

#[test]
fn unknown_keys_in_files_are_refused() {
    let f = file(".yaml", "dsn: memory\nserve:\n  public:\n    prot: 4444\n");
    let msg = load_err(
        &[f.path().to_path_buf()],
        &[("SECRETS_SYSTEM", SECRET)],
        http(),
    );
    assert_eq!(msg, "unknown configuration key \"serve.public.prot\"");
    let f = file(".yaml", "dsn: memory\nttl:\n  acess_token: 1h\n");
    let msg = load_err(
        &[f.path().to_path_buf()],
        &[("SECRETS_SYSTEM", SECRET)],
        http(),
    );
    assert_eq!(msg, "unknown configuration key \"ttl.acess_token\"");
}

#[test]
fn malformed_files_name_the_file() {
    let f = file(".yaml", "dsn: [unclosed\n");
    let msg = load_err(&[f.path().to_path_buf()], &[], http());
    assert!(msg.starts_with("cannot parse config file"), "{msg}");
    let msg = load_err(&[PathBuf::from("/nonexistent/portcullis.yml")], &[], http());
    assert!(
        msg.starts_with("cannot read config file /nonexistent/portcullis.yml"),
        "{msg}"
    );
}

#[test]
fn tls_mode_requires_an_https_issuer() {
    let vars = [
        ("DSN", "memory"),
        ("SECRETS_SYSTEM", SECRET),
        ("URLS_SELF_ISSUER", "http://auth.test/"),
    ];
    let msg = load_err(&[], &vars, Flags::default());
    assert!(
        msg.contains("\"urls.self.issuer\": must use https://"),
        "{msg}"
    );
    let ok = load_from(&[], &env(&vars[..2]), Flags::default()).unwrap();
    assert_eq!(ok.urls.issuer.as_str(), "https://localhost:4444/");
    let flags = Flags {
        dangerous_allow_insecure_redirect_urls: vec!["http://x/cb".into()],
        ..Flags::default()
    };
    let msg = load_err(&[], &vars[..2], flags);
    assert!(msg.contains("--dangerous-force-http"), "{msg}");
}

#[test]
fn dev_mode_defaults_to_memory_and_generates_a_secret() {
    let c = load_from(
        &[],
        &env(&[]),
        Flags {
            dev: true,
            ..Flags::default()
        },
    )
    .unwrap();
    assert_eq!(c.dsn.backend, Backend::Memory);
    assert!(c.force_http());
    assert!(c.secrets.system[0].expose().len() >= 16);
    assert!(
        c.warnings.iter().any(|w| w.contains("development only")),
        "{:?}",
        c.warnings
    );
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("secrets.system is not set")),
        "{:?}",
        c.warnings
    );
    assert!(
        !format!("{:?}", c.secrets).contains(c.secrets.system[0].expose()),
        "secrets are redacted in Debug"
    );
}

#[test]
fn pairwise_needs_a_salt() {
    let vars = [
        ("DSN", "memory"),
        ("SECRETS_SYSTEM", SECRET),
        (
            "OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES",
            "public,pairwise",
        ),
    ];
    let msg = load_err(&[], &vars, http());
    assert!(
        msg.contains("\"oidc.subject_identifiers.pairwise.salt\""),
        "{msg}"
    );
}

#[test]
fn load_dsn_reads_only_the_dsn() {
    let f = file(".yml", "dsn: postgres://u@db:5432/x?max_conns=3\n");
    let dsn = load_dsn(&[f.path().to_path_buf()]).unwrap();
    assert_eq!(dsn.pool.max_conns, Some(3));
}

#[test]
fn listener_ports_keep_their_defaults_when_other_keys_are_set() {
    let vars = [
        ("DSN", "memory"),
        ("SECRETS_SYSTEM", SECRET),
        ("SERVE_PUBLIC_HOST", "127.0.0.1"),
        ("SERVE_ADMIN_CORS_ENABLED", "true"),
    ];
    let c = load_from(&[], &env(&vars), http()).unwrap();
    assert_eq!((c.serve.public.port, c.serve.admin.port), (4444, 4445));
    assert_eq!(c.serve.public.host, "127.0.0.1");
}
