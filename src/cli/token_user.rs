//! `portcullis token user`: Hydra 1.10.3's exemplary OAuth 2.0 client for the authorization
//! code flow (hydra-reference §7.4, Hydra's `cmd/token_user.go`). It serves a welcome page and
//! a callback on `127.0.0.1:<port>`, prints where to start, checks `state` on the callback,
//! exchanges the code (with PKCE S256, which Hydra's command does not send) and prints the
//! tokens in Hydra's layout, then exits (unless `--no-shutdown`).
//! The listener (`loopback.rs`) is a few lines of HTTP/1.1 over a socket, not the server's
//! router: this is a client of the server and, like the other API commands, speaks to it over
//! HTTP only.
//! May import: `clock` (the printed expiry), `crypto` (random state, nonce and verifier).

use super::admin_http::{PublicApi, PublicFlags};
use super::loopback::{self, respond, READ_TIMEOUT};
use super::parse_duration;
use crate::clock::{self, Clock};
use crate::crypto::random;
use crate::http::html::escape;
use anyhow::{anyhow, bail, Context};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use clap::Args;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use url::Url;

/// Hydra's state and nonce: 24 lower-case letters (`randx.RuneSequence(24, AlphaLower)`).
const STATE_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const STATE_LENGTH: usize = 24;
/// RFC 7636 §4.1: `code_verifier = 43*128unreserved`; 64 characters carry about 380 bits.
const VERIFIER_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
const VERIFIER_LENGTH: usize = 64;

/// `portcullis token user`.
#[derive(Args, Debug)]
pub struct User {
    /// The OAuth 2.0 client id (else env OAUTH2_CLIENT_ID).
    #[arg(
        long,
        env = "OAUTH2_CLIENT_ID",
        default_value = "",
        hide_default_value = true
    )]
    client_id: String,
    /// The client secret (else env OAUTH2_CLIENT_SECRET); none: a public client, which sends
    /// only its id and the PKCE verifier.
    #[arg(
        long,
        env = "OAUTH2_CLIENT_SECRET",
        hide_env_values = true,
        default_value = "",
        hide_default_value = true
    )]
    client_secret: String,
    /// The port of the local callback server on 127.0.0.1 (0: any free port).
    #[arg(short = 'p', long, default_value_t = 4446)]
    port: u16,
    /// Scopes to request (comma-separated, repeatable).
    #[arg(long, value_delimiter = ',', default_value = "offline,openid")]
    scope: Vec<String>,
    /// Access token audiences to request (comma-separated, repeatable).
    #[arg(long, value_delimiter = ',')]
    audience: Vec<String>,
    /// The OpenID Connect prompt parameter (comma-separated, repeatable).
    #[arg(long, value_delimiter = ',')]
    prompt: Vec<String>,
    /// The OpenID Connect max_age parameter in seconds (0: not sent).
    #[arg(long, default_value_t = 0)]
    max_age: u64,
    /// Force the redirect URL (default: the callback of the local server).
    #[arg(long)]
    redirect: Option<String>,
    /// Force the authorization URL (default: <endpoint>/oauth2/auth).
    #[arg(long)]
    auth_url: Option<String>,
    /// Force the token URL (default: <endpoint>/oauth2/token).
    #[arg(long)]
    token_url: Option<String>,
    /// Do not open the browser window automatically.
    #[arg(long)]
    no_open: bool,
    /// Do not terminate after a flow: serve new flows (with a new state, nonce and verifier)
    /// until interrupted.
    #[arg(long)]
    no_shutdown: bool,
    /// Serve the local pages over HTTPS with a self-signed certificate made at start.
    #[arg(long)]
    https: bool,
    /// Give up when no callback arrived this long after the start (or the previous flow);
    /// 0s waits forever.
    #[arg(long, default_value = "15m", value_parser = parse_duration)]
    timeout: Duration,
    #[command(flatten)]
    public: PublicFlags,
}

/// What the command needs to answer a callback; fixed at start.
struct Settings {
    client_id: String,
    client_secret: String,
    auth_url: Url,
    token_url: Url,
    redirect: String,
    /// Paths the callback is served on: `/callback` (Hydra) and the path of `--redirect`.
    callback_paths: Vec<String>,
    scope: Vec<String>,
    audience: Vec<String>,
    prompt: Vec<String>,
    max_age: u64,
    home: String,
    no_shutdown: bool,
}

/// One authorization request in progress.
struct Flow {
    state: String,
    nonce: String,
    verifier: String,
    url: String,
}

/// The token response, as printed.
#[derive(Debug)]
struct Tokens {
    access_token: String,
    refresh_token: String,
    expiry: Option<DateTime<Utc>>,
    id_token: Option<String>,
}

struct Shared {
    settings: Settings,
    api: PublicApi,
    /// `None` while a callback is being answered (or after the only one was).
    flow: Mutex<Option<Flow>>,
    /// The welcome page links to the current flow's URL.
    current_url: Mutex<String>,
    done: mpsc::UnboundedSender<anyhow::Result<Tokens>>,
}

/// Runs `token user`: serves until a flow completes (or fails), the timeout passes or Ctrl-C.
pub async fn run(user: User) -> anyhow::Result<()> {
    if user.client_id.trim().is_empty() {
        bail!("no client: pass --client-id or set OAUTH2_CLIENT_ID");
    }
    let listener = TcpListener::bind(("127.0.0.1", user.port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", user.port))?;
    let port = listener.local_addr()?.port();
    let proto = if user.https { "https" } else { "http" };
    let home = format!("{proto}://127.0.0.1:{port}/");
    let settings = settings(&user, &home)?;
    let api = match PublicApi::new(&user.public) {
        Ok(api) => api,
        // Both URLs forced: no endpoint is needed, only an HTTP client with the TLS flags.
        Err(_) if user.auth_url.is_some() && user.token_url.is_some() => {
            PublicApi::at(&user.public, settings.token_url.as_str())?
        }
        Err(e) => return Err(e),
    };
    let tls = if user.https {
        Some(loopback::self_signed_acceptor()?)
    } else {
        None
    };
    let first = new_flow(&settings)?;
    let (done, mut outcomes) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        current_url: Mutex::new(first.url.clone()),
        flow: Mutex::new(Some(first)),
        settings,
        api,
        done,
    });
    let callback = format!("{home}callback");
    println!("Setting up home route on {home}");
    println!("Setting up callback listener on {callback}");
    println!("Press ctrl + c on Linux / Windows or cmd + c on OSX to end the process.");
    println!("If your browser does not open automatically, navigate to:\n\n\t{home}\n");
    println!(
        "or open the authorization URL directly:\n\n\t{}\n",
        lock(&shared.current_url)
    );
    if !user.no_open {
        loopback::open_browser(&home);
    }
    tokio::spawn(accept_loop(listener, tls, shared.clone()));

    loop {
        let wait = async {
            if user.timeout.is_zero() {
                std::future::pending::<()>().await
            } else {
                tokio::time::sleep(user.timeout).await
            }
        };
        tokio::select! {
            outcome = outcomes.recv() => {
                let outcome = outcome.ok_or_else(|| anyhow!("the callback server stopped"))?;
                match outcome {
                    Ok(tokens) => print_tokens(&tokens),
                    Err(e) if user.no_shutdown => eprintln!("error: {e:#}"),
                    Err(e) => return Err(e),
                }
                if !user.no_shutdown {
                    return Ok(());
                }
                println!(
                    "Ready for the next flow at {home}, or:\n\n\t{}\n",
                    lock(&shared.current_url)
                );
            }
            () = wait => bail!(
                "no callback arrived at {callback} within {}: was the authorization URL opened and the flow completed?",
                humantime(user.timeout)
            ),
            signal = tokio::signal::ctrl_c() => {
                signal.context("cannot listen for Ctrl-C")?;
                if user.no_shutdown {
                    return Ok(());
                }
                bail!("interrupted before the callback arrived");
            }
        }
    }
}

fn settings(user: &User, home: &str) -> anyhow::Result<Settings> {
    let endpoint_url = |path: &str| -> anyhow::Result<Url> {
        let api = PublicApi::new(&user.public)?;
        api.url(&["oauth2", path])
    };
    let forced = |flag: &str, value: &str| {
        Url::parse(value).with_context(|| format!("--{flag} {value:?} is not a URL"))
    };
    let auth_url = match &user.auth_url {
        Some(u) => forced("auth-url", u)?,
        None => endpoint_url("auth")?,
    };
    let token_url = match &user.token_url {
        Some(u) => forced("token-url", u)?,
        None => endpoint_url("token")?,
    };
    let redirect = match &user.redirect {
        Some(r) => forced("redirect", r)?.to_string(),
        None => format!("{home}callback"),
    };
    let mut callback_paths = vec!["/callback".to_string()];
    if let Ok(r) = Url::parse(&redirect) {
        if r.path() != "/callback" {
            callback_paths.push(r.path().to_string());
        }
    }
    let non_empty = |v: &[String]| -> Vec<String> {
        v.iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    Ok(Settings {
        client_id: user.client_id.clone(),
        client_secret: user.client_secret.clone(),
        auth_url,
        token_url,
        redirect,
        callback_paths,
        scope: non_empty(&user.scope),
        audience: non_empty(&user.audience),
        prompt: non_empty(&user.prompt),
        max_age: user.max_age,
        home: home.to_string(),
        no_shutdown: user.no_shutdown,
    })
}

/// A fresh state, nonce and PKCE verifier, and the authorization URL that carries them.
fn new_flow(s: &Settings) -> anyhow::Result<Flow> {
    let state = random::string_from(STATE_ALPHABET, STATE_LENGTH);
    let nonce = random::string_from(STATE_ALPHABET, STATE_LENGTH);
    let verifier = random::string_from(VERIFIER_ALPHABET, VERIFIER_LENGTH);
    if state.len() != STATE_LENGTH || verifier.len() != VERIFIER_LENGTH {
        bail!("cannot generate a random state");
    }
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let mut url = s.auth_url.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("client_id", &s.client_id)
            .append_pair("redirect_uri", &s.redirect)
            .append_pair("response_type", "code");
        if !s.scope.is_empty() {
            q.append_pair("scope", &s.scope.join(" "));
        }
        q.append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        // Hydra 1.10.3 joins these with a literal `+` (then encoded as %2B), which the server
        // reads as one value; a space is what RFC 6749 §3.3 and OIDC Core §3.1.2.1 mean.
        if !s.audience.is_empty() {
            q.append_pair("audience", &s.audience.join(" "));
        }
        if !s.prompt.is_empty() {
            q.append_pair("prompt", &s.prompt.join(" "));
        }
        // Hydra always sends max_age, 0 included, which its consent strategy treats as unset.
        if s.max_age > 0 {
            q.append_pair("max_age", &s.max_age.to_string());
        }
    }
    Ok(Flow {
        url: url.to_string(),
        state,
        nonce,
        verifier,
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let (tls, shared) = (tls.clone(), shared.clone());
        tokio::spawn(async move {
            match tls {
                Some(acceptor) => {
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(READ_TIMEOUT, acceptor.accept(tcp)).await
                    {
                        serve_connection(stream, &shared).await;
                    }
                }
                None => serve_connection(tcp, &shared).await,
            }
        });
    }
}

/// Reads one request, answers it and closes the connection (`Connection: close`).
async fn serve_connection<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, shared: &Shared) {
    let Ok(Some(target)) = tokio::time::timeout(READ_TIMEOUT, loopback::read_target(&mut stream))
        .await
        .unwrap_or(Ok(None))
    else {
        let _ = respond(&mut stream, 400, &error_page("Bad Request", "", "", "")).await;
        return;
    };
    let Ok(url) = Url::parse("http://127.0.0.1").and_then(|base| base.join(&target)) else {
        let _ = respond(&mut stream, 400, &error_page("Bad Request", "", "", "")).await;
        return;
    };
    if url.path() == "/" {
        let page = welcome_page(&lock(&shared.current_url));
        let _ = respond(&mut stream, 200, &page).await;
        return;
    }
    if !shared
        .settings
        .callback_paths
        .iter()
        .any(|p| p == url.path())
    {
        let _ = respond(&mut stream, 404, &error_page("Not Found", "", "", "")).await;
        return;
    }
    let Some(flow) = lock(&shared.flow).take() else {
        let page = error_page(
            "No flow in progress",
            "A callback for this flow was already answered.",
            "",
            "",
        );
        let _ = respond(&mut stream, 409, &page).await;
        return;
    };
    let (status, page, outcome) = answer_callback(shared, &flow, &url).await;
    if shared.settings.no_shutdown {
        // Hydra regenerates state and nonce after each flow so that none is used twice.
        if let Ok(next) = new_flow(&shared.settings) {
            *lock(&shared.current_url) = next.url.clone();
            *lock(&shared.flow) = Some(next);
        }
    }
    let _ = respond(&mut stream, status, &page).await;
    let _ = shared.done.send(outcome);
}

/// The callback: the server's error, a state that is not ours, or a code to exchange.
async fn answer_callback(
    shared: &Shared,
    flow: &Flow,
    url: &Url,
) -> (u16, String, anyhow::Result<Tokens>) {
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let error = param("error");
    if !error.is_empty() {
        let (description, hint, debug) = (
            param("error_description"),
            param("error_hint"),
            param("error_debug"),
        );
        let page = error_page(&error, &description, &hint, &debug);
        let mut message = format!("the authorization server answered {error}");
        for part in [&description, &hint, &debug] {
            if !part.is_empty() {
                message = format!("{message}: {part}");
            }
        }
        return (500, page, Err(anyhow!(one_line(&message))));
    }
    let state = param("state");
    if state != flow.state {
        let description = format!("Expected state {} but got {state}", flow.state);
        let page = error_page("States do not match", &description, "", "");
        let message = format!(
            "the callback's state does not match: expected {}, got {state:?}",
            flow.state
        );
        return (500, page, Err(anyhow!(one_line(&message))));
    }
    match exchange(shared, flow, &param("code")).await {
        Ok(tokens) => (200, result_page(&tokens, &shared.settings), Ok(tokens)),
        Err(e) => {
            let message = format!("cannot exchange the code for tokens: {e:#}");
            let page = error_page("Unable to exchange code for token", &message, "", "");
            (500, page, Err(anyhow!(message)))
        }
    }
}

async fn exchange(shared: &Shared, flow: &Flow, code: &str) -> anyhow::Result<Tokens> {
    let s = &shared.settings;
    if code.is_empty() {
        bail!("the callback carries no code");
    }
    let mut form = vec![
        ("grant_type", "authorization_code".to_string()),
        ("code", code.to_string()),
        ("redirect_uri", s.redirect.clone()),
        ("code_verifier", flow.verifier.clone()),
    ];
    let client = if s.client_secret.is_empty() {
        form.push(("client_id", s.client_id.clone()));
        None
    } else {
        Some((s.client_id.as_str(), s.client_secret.as_str()))
    };
    let body = shared.api.post_form_at(&s.token_url, &form, client).await?;
    let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_string);
    let access_token =
        text("access_token").ok_or_else(|| anyhow!("the token response holds no access_token"))?;
    let expiry = body
        .get("expires_in")
        .and_then(Value::as_u64)
        .map(|secs| clock::later(Clock::system().now(), Duration::from_secs(secs)));
    let id_token = text("id_token");
    if let Some(id_token) = &id_token {
        check_nonce(id_token, &flow.nonce)?;
    }
    Ok(Tokens {
        access_token,
        refresh_token: text("refresh_token").unwrap_or_default(),
        expiry,
        id_token,
    })
}

/// OIDC Core §3.1.3.7: "If a nonce value was sent in the Authentication Request, a nonce Claim
/// MUST be present and its value checked to verify that it is the same value as the one that
/// was sent". (The signature is the server's to prove; this example app only reads the claim.)
fn check_nonce(id_token: &str, nonce: &str) -> anyhow::Result<()> {
    let claims = id_token
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|json| serde_json::from_slice::<Value>(&json).ok())
        .ok_or_else(|| anyhow!("the ID token is not a JWT"))?;
    match claims.get("nonce").and_then(Value::as_str) {
        Some(n) if n == nonce => Ok(()),
        other => bail!("the ID token's nonce {other:?} is not the one sent"),
    }
}

/// Hydra's output after a successful exchange (`token.Expiry.Format(time.RFC1123)`).
fn print_tokens(t: &Tokens) {
    println!("Access Token:\n\t{}", t.access_token);
    println!("Refresh Token:\n\t{}", t.refresh_token);
    println!("Expires in:\n\t{}", rfc1123(t.expiry));
    println!(
        "ID Token:\n\t{}\n",
        t.id_token.as_deref().unwrap_or("<nil>")
    );
}

/// Go's `time.RFC1123` in UTC; Go's zero time when the server sent no `expires_in`.
fn rfc1123(t: Option<DateTime<Utc>>) -> String {
    match t {
        Some(t) => t.format("%a, %d %b %Y %H:%M:%S UTC").to_string(),
        None => "Mon, 01 Jan 0001 00:00:00 UTC".to_string(),
    }
}

fn humantime(d: Duration) -> String {
    let secs = d.as_secs();
    match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Hydra's `tokenUserWelcome` page.
fn welcome_page(url: &str) -> String {
    format!(
        r#"<html>
<body>
<h1>Welcome to the exemplary OAuth 2.0 Consumer!</h1>
<p>This is an example app which emulates an OAuth 2.0 consumer application. Usually, this would be your web or mobile
    application and would use an <a href="https://oauth.net/code/">OAuth 2.0</a> or <a href="https://oauth.net/code/">OpenID
        Connect</a> library.</p>
<p>This example requests an OAuth 2.0 Access, Refresh, and OpenID Connect ID Token from the OAuth 2.0 Server.
    To initiate the flow, click the "Authorize Application" button.</p>
<p><a href="{}">Authorize application</a></p>
</body>
</html>"#,
        escape(url)
    )
}

/// Hydra's `tokenUserError` page.
fn error_page(name: &str, description: &str, hint: &str, debug: &str) -> String {
    format!(
        "<html>\n<body>\n<h1>An error occurred</h1>\n<h2>{}</h2>\n<p>{}</p>\n<p>{}</p>\n<p>{}</p>\n</body>\n</html>",
        escape(name),
        escape(description),
        escape(hint),
        escape(debug)
    )
}

/// Hydra's `tokenUserResult` page.
fn result_page(t: &Tokens, s: &Settings) -> String {
    let back = if s.no_shutdown {
        format!("<a href=\"{}\">Back to Welcome Page</a>\n", escape(&s.home))
    } else {
        String::new()
    };
    format!(
        "<html>\n<head></head>\n<body>\n<ul>\n    <li>Access Token: <code>{}</code></li>\n    <li>Refresh Token: <code>{}</code></li>\n    <li>Expires in: <code>{}</code></li>\n    <li>ID Token: <code>{}</code></li>\n</ul>\n{back}</body>\n</html>",
        escape(&t.access_token),
        escape(&t.refresh_token),
        escape(&rfc1123(t.expiry)),
        escape(t.id_token.as_deref().unwrap_or("<nil>")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_printed_as_gos_rfc1123() {
        let t = DateTime::parse_from_rfc3339("2021-07-14T12:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(rfc1123(Some(t)), "Wed, 14 Jul 2021 12:04:05 UTC");
        assert_eq!(rfc1123(None), "Mon, 01 Jan 0001 00:00:00 UTC");
    }

    #[test]
    fn pages_escape_what_the_callback_carries() {
        let page = error_page("<script>", "a\"b", "'", "&");
        assert!(page.contains("&lt;script&gt;") && !page.contains("<script>"));
        assert!(page.contains("a&quot;b") && page.contains("&#39;") && page.contains("&amp;"));
        assert!(welcome_page("http://x/?a=1&b=\"2\"").contains("a=1&amp;b=&quot;2&quot;"));
    }

    #[test]
    fn durations_print_in_go_syntax() {
        for (secs, text) in [(1, "1s"), (90, "1m30s"), (900, "15m"), (3661, "1h1m1s")] {
            assert_eq!(humantime(Duration::from_secs(secs)), text);
        }
    }

    #[test]
    fn the_authorization_url_carries_state_nonce_and_pkce() {
        let s = Settings {
            client_id: "my app".into(),
            client_secret: String::new(),
            auth_url: Url::parse("http://127.0.0.1:4444/oauth2/auth").unwrap(),
            token_url: Url::parse("http://127.0.0.1:4444/oauth2/token").unwrap(),
            redirect: "http://127.0.0.1:4446/callback".into(),
            callback_paths: vec!["/callback".into()],
            scope: vec!["offline".into(), "openid".into()],
            audience: vec!["https://a".into(), "https://b".into()],
            prompt: vec![],
            max_age: 0,
            home: "http://127.0.0.1:4446/".into(),
            no_shutdown: false,
        };
        let flow = new_flow(&s).unwrap();
        let url = Url::parse(&flow.url).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["client_id"], "my app");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["scope"], "offline openid");
        assert_eq!(q["audience"], "https://a https://b");
        assert_eq!(q["state"], flow.state);
        assert_eq!(q["nonce"], flow.nonce);
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(
            q["code_challenge"],
            URL_SAFE_NO_PAD.encode(Sha256::digest(flow.verifier.as_bytes()))
        );
        assert!(!q.contains_key("prompt") && !q.contains_key("max_age"));
        assert_eq!(flow.state.len(), 24);
        assert_ne!(new_flow(&s).unwrap().state, flow.state);
    }
}
