//! The example login/consent/logout app (`portcullis example-ui`) over plain HTTP: a server
//! whose `urls.login|consent|logout` point at an app started in-process on port 0, driven by
//! the harness browser through the login form (CSRF token, wrong password, remember me), the
//! consent form (client name, scopes as checkboxes, allow or deny), the demo client's
//! callback (code exchanged, ID-token claims from the consent) and the logout confirmation;
//! the pages for missing, unknown and used challenges and for forged forms; escaping.
//! Every case on SQLite and PostgreSQL.

use crate::harness::flow::Browser;
use crate::harness::TestServer;
use crate::on_both_backends;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portcullis::example_ui::users::User;
use portcullis::example_ui::{DemoClient, ExampleUi, Settings};
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::net::TcpListener;
use url::Url;

const SECRET: &str = "example-ui-client-secret-0123";
const STATE: &str = "example-ui-state-0123456789";

/// A server and the example app in front of it, with a demo client registered.
struct Setup {
    t: TestServer,
    /// `http://127.0.0.1:<port>` of the app.
    ui: String,
    auth_url: String,
}

async fn setup(backend: crate::harness::Backend, client_name: &str) -> Setup {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ui = format!("http://{}", listener.local_addr().unwrap());
    let urls = ui.clone();
    let t = TestServer::start_with(backend, move |c| {
        c.urls.login = Url::parse(&format!("{urls}/login")).unwrap();
        c.urls.consent = Url::parse(&format!("{urls}/consent")).unwrap();
        c.urls.logout = Url::parse(&format!("{urls}/logout")).unwrap();
    })
    .await;
    let redirect_uri = format!("{ui}/callback");
    t.create_client(json!({"client_id": "demo", "client_name": client_name,
        "client_secret": SECRET, "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
        "scope": "openid offline email profile"}))
        .await;
    let auth_url = t.auth_url(&[
        ("client_id", "demo"),
        ("response_type", "code"),
        ("scope", "openid email profile"),
        ("redirect_uri", &redirect_uri),
        ("state", STATE),
        ("nonce", "example-ui-nonce-0123456789"),
    ]);
    let app = ExampleUi::new(Settings {
        admin_url: Url::parse(&format!("{}/", t.admin)).unwrap(),
        users: vec![
            User::demo(),
            User::parse("ann@example.com:ann-pw:Ann").unwrap(),
        ],
        demo: Some(DemoClient {
            client_id: "demo".into(),
            client_secret: SECRET.into(),
            redirect_uri,
            token_url: Url::parse(&t.public_url("/oauth2/token")).unwrap(),
            auth_url: auth_url.clone(),
            state: STATE.into(),
            logout_url: t.public_url("/oauth2/sessions/logout"),
        }),
    })
    .unwrap();
    tokio::spawn(portcullis::http::example_ui::serve(
        listener,
        Arc::new(app),
        std::future::pending(),
    ));
    Setup { t, ui, auth_url }
}

/// A page of the app as the browser got it.
#[derive(Debug)]
struct Page {
    url: String,
    status: u16,
    html: String,
}

impl Page {
    /// The value of the form field `name` (hidden inputs), unescaped.
    fn field(&self, name: &str) -> String {
        let needle = format!("name=\"{name}\" value=\"");
        let start = self
            .html
            .find(&needle)
            .unwrap_or_else(|| panic!("no {name} in {}", self.html))
            + needle.len();
        let end = start + self.html[start..].find('"').unwrap();
        self.html[start..end].replace("&amp;", "&")
    }
}

impl Setup {
    /// GETs `url` and follows redirects until a page answers (not a redirect).
    async fn open(&self, browser: &Browser, url: &str) -> Page {
        let mut next = url.to_string();
        for _ in 0..10 {
            let (status, location, html) = browser.get_page(&next).await;
            match location {
                Some(l) if (300..400).contains(&status) => next = l.to_string(),
                _ => {
                    return Page {
                        url: next,
                        status,
                        html,
                    }
                }
            }
        }
        panic!("too many redirects from {url}");
    }

    /// POSTs `form` to the app's `path` and follows the redirects it answers with.
    async fn submit(&self, browser: &Browser, path: &str, form: &[(&str, &str)]) -> Page {
        let url = format!("{}{path}", self.ui);
        let r = browser.http.post(&url).form(form).send().await.unwrap();
        let status = r.status().as_u16();
        if status == 303 {
            let to = r.headers()["location"].to_str().unwrap().to_string();
            return self.open(browser, &to).await;
        }
        Page {
            url,
            status,
            html: r.text().await.unwrap(),
        }
    }

    async fn login(
        &self,
        browser: &Browser,
        page: &Page,
        email: &str,
        password: &str,
        remember: bool,
    ) -> Page {
        assert!(page.html.contains("action=\"/login\""), "{page:?}");
        let (challenge, csrf) = (page.field("challenge"), page.field("_csrf"));
        let mut form = vec![
            ("challenge", challenge.as_str()),
            ("_csrf", csrf.as_str()),
            ("email", email),
            ("password", password),
            ("action", "login"),
        ];
        if remember {
            form.push(("remember", "1"));
        }
        self.submit(browser, "/login", &form).await
    }

    async fn consent(
        &self,
        browser: &Browser,
        page: &Page,
        scopes: &[&str],
        action: &str,
        remember: bool,
    ) -> Page {
        assert!(page.html.contains("action=\"/consent\""), "{page:?}");
        let (challenge, csrf) = (page.field("challenge"), page.field("_csrf"));
        let mut form = vec![
            ("challenge", challenge.as_str()),
            ("_csrf", csrf.as_str()),
            ("action", action),
        ];
        form.extend(scopes.iter().map(|s| ("grant_scope", *s)));
        if remember {
            form.push(("remember", "1"));
        }
        self.submit(browser, "/consent", &form).await
    }
}

/// The text between `id="<id>">` and the next `<`.
fn element(html: &str, id: &str) -> String {
    let needle = format!("id=\"{id}\">");
    let start = html
        .find(&needle)
        .unwrap_or_else(|| panic!("no #{id} in {html}"))
        + needle.len();
    let end = start + html[start..].find('<').unwrap();
    html[start..end].to_string()
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

on_both_backends! {
    async fn login_consent_and_callback_end_to_end(backend: Backend) {
        let s = setup(backend, "Demo App").await;
        let browser = Browser::default();
        let login = s.open(&browser, &s.auth_url).await;
        assert_eq!(login.status, 200, "{login:?}");
        assert!(login.html.contains("<strong>Demo App</strong> asks you to sign in"), "{}", login.html);
        assert!(!login.html.contains("Demo user:"), "the demo user is not the only user: no hint");

        let wrong = s.login(&browser, &login, "foo@bar.com", "wrong", false).await;
        assert_eq!(wrong.status, 401);
        assert!(wrong.html.contains("The e-mail address or the password is wrong."));
        assert!(wrong.html.contains("value=\"foo@bar.com\""), "the e-mail is kept");

        let consent = s.login(&browser, &wrong, "FOO@bar.com", "foobar", true).await;
        assert_eq!(consent.status, 200, "{consent:?}");
        assert!(consent.html.contains("<strong id=\"client\">Demo App</strong>"));
        assert!(consent.html.contains("<code>foo@bar.com</code>"), "the subject is the e-mail");
        for scope in ["openid", "email", "profile"] {
            assert!(consent.html.contains(&format!("name=\"grant_scope\" value=\"{scope}\" checked")), "{scope}");
        }

        // Only openid and email are allowed (and a scope that was never requested is dropped).
        let callback = s.consent(&browser, &consent, &["openid", "email", "offline"], "accept", false).await;
        assert_eq!(callback.status, 200, "{callback:?}");
        assert!(callback.url.starts_with(&format!("{}/callback?code=", s.ui)), "{}", callback.url);
        let code = element(&callback.html, "code");
        assert!(!code.is_empty());
        let access = element(&callback.html, "access_token");
        let info = s.t.introspect(&access).await;
        assert_eq!((info["active"].clone(), info["sub"].clone(), info["scope"].clone()),
            (json!(true), json!("foo@bar.com"), json!("openid email")));
        let id = claims(&element(&callback.html, "id_token"));
        assert_eq!((id["sub"].clone(), id["email"].clone(), id["email_verified"].clone()),
            (json!("foo@bar.com"), json!("foo@bar.com"), json!(true)));
        assert!(id.get("name").is_none(), "profile was not granted: {id}");

        // Remembered login: the login page is skipped; consent was not remembered.
        let again = s.open(&browser, &s.auth_url).await;
        assert!(again.url.starts_with(&format!("{}/consent?", s.ui)), "{again:?}");
        let callback = s.consent(&browser, &again, &["openid", "email", "profile"], "accept", true).await;
        let id = claims(&element(&callback.html, "id_token"));
        assert_eq!(id["name"], json!("Demo User"));
        // Remembered consent too: straight to the callback, same grant.
        let third = s.open(&browser, &s.auth_url).await;
        assert!(third.url.starts_with(&format!("{}/callback?", s.ui)), "{third:?}");
        assert_eq!(claims(&element(&third.html, "id_token"))["name"], json!("Demo User"));
        // The code cannot be replayed at the callback.
        let replay = s.open(&browser, &third.url).await;
        assert_eq!(replay.status, 502);
        assert!(replay.html.contains("The code could not be exchanged"));
    }

    async fn login_is_not_remembered_without_remember_me(backend: Backend) {
        let s = setup(backend, "Demo App").await;
        let browser = Browser::default();
        let login = s.open(&browser, &s.auth_url).await;
        let consent = s.login(&browser, &login, "ann@example.com", "ann-pw", false).await;
        let callback = s.consent(&browser, &consent, &["openid", "profile"], "accept", false).await;
        assert_eq!(claims(&element(&callback.html, "id_token"))["name"], json!("Ann"));
        let again = s.open(&browser, &s.auth_url).await;
        assert!(again.url.starts_with(&format!("{}/login?", s.ui)), "{again:?}");
    }

    async fn cancel_and_deny_reach_the_client_as_access_denied(backend: Backend) {
        let s = setup(backend, "Demo App").await;
        let browser = Browser::default();
        let login = s.open(&browser, &s.auth_url).await;
        let form = [("challenge", login.field("challenge")), ("_csrf", login.field("_csrf")),
            ("action", "reject".to_string())];
        let cancelled = s.submit(&browser, "/login", &form.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()).await;
        assert_eq!(cancelled.status, 400);
        assert!(cancelled.url.contains("error=access_denied"), "{}", cancelled.url);
        assert!(cancelled.html.contains("access_denied"));

        let login = s.open(&browser, &s.auth_url).await;
        let consent = s.login(&browser, &login, "foo@bar.com", "foobar", false).await;
        let denied = s.consent(&browser, &consent, &["openid"], "deny", false).await;
        assert!(denied.url.starts_with(&format!("{}/callback?error=access_denied", s.ui)), "{}", denied.url);
    }

    async fn logout_asks_to_confirm_and_ends_the_session(backend: Backend) {
        let s = setup(backend, "Demo App").await;
        let browser = Browser::default();
        let login = s.open(&browser, &s.auth_url).await;
        let consent = s.login(&browser, &login, "foo@bar.com", "foobar", true).await;
        s.consent(&browser, &consent, &["openid"], "accept", false).await;

        // Cancel: still signed in (the next authorization skips the login form).
        let confirm = s.open(&browser, &s.t.public_url("/oauth2/sessions/logout")).await;
        assert!(confirm.url.starts_with(&format!("{}/logout?logout_challenge=", s.ui)), "{confirm:?}");
        assert!(confirm.html.contains("<code>foo@bar.com</code>"));
        let form = [("challenge", confirm.field("challenge")), ("_csrf", confirm.field("_csrf")), ("action", "cancel".to_string())];
        let stayed = s.submit(&browser, "/logout", &form.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()).await;
        assert_eq!(stayed.status, 200);
        assert!(stayed.html.contains("You did not sign out."));
        let again = s.open(&browser, &s.auth_url).await;
        assert!(again.url.starts_with(&format!("{}/consent?", s.ui)), "{again:?}");

        // Confirm: signed out, and the next authorization shows the login form.
        let confirm = s.open(&browser, &s.t.public_url("/oauth2/sessions/logout")).await;
        let form = [("challenge", confirm.field("challenge")), ("_csrf", confirm.field("_csrf")), ("action", "accept".to_string())];
        let done = s.submit(&browser, "/logout", &form.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()).await;
        assert_eq!(done.url, s.t.state.config.urls.post_logout_redirect.as_str());
        let again = s.open(&browser, &s.auth_url).await;
        assert!(again.url.starts_with(&format!("{}/login?", s.ui)), "{again:?}");
        // The used logout challenge now gets the "already answered" page.
        let used = s.open(&browser, &confirm.url).await;
        assert_eq!(used.status, 410, "{used:?}");
        assert!(used.html.contains("already answered"));
    }

    async fn bad_challenges_and_forged_forms_get_clear_pages(backend: Backend) {
        let s = setup(backend, "<script>alert(1)</script>").await;
        let browser = Browser::default();
        for kind in ["login", "consent", "logout"] {
            let missing = s.open(&browser, &format!("{}/{kind}", s.ui)).await;
            assert_eq!(missing.status, 400, "{kind}");
            assert!(missing.html.contains("challenge is missing"), "{kind}");
            let unknown = s.open(&browser, &format!("{}/{kind}?{kind}_challenge=nope", s.ui)).await;
            assert_eq!(unknown.status, 404, "{kind}");
            assert!(unknown.html.contains("unknown or has expired"), "{kind}");
        }
        let login = s.open(&browser, &s.auth_url).await;
        // The client's name is shown escaped.
        assert!(login.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!login.html.contains("<script>"));
        let challenge = login.field("challenge");
        let csrf = login.field("_csrf");
        // A form without the token, with another challenge's token, or from another browser.
        let forged = [
            vec![("challenge", challenge.as_str()), ("email", "foo@bar.com"), ("password", "foobar")],
            vec![("challenge", "other"), ("_csrf", csrf.as_str()), ("email", "foo@bar.com"), ("password", "foobar")],
        ];
        for form in forged {
            let r = s.submit(&browser, "/login", &form).await;
            assert_eq!(r.status, 403, "{form:?}");
        }
        let stranger = Browser::default();
        let r = s.submit(&stranger, "/login", &[("challenge", &challenge), ("_csrf", &csrf), ("email", "foo@bar.com"), ("password", "foobar")]).await;
        assert_eq!(r.status, 403);
        // The real form still works once; then the challenge is used up.
        let consent = s.login(&browser, &login, "foo@bar.com", "foobar", false).await;
        assert!(consent.html.contains("&lt;script&gt;"));
        let used = s.open(&browser, &login.url).await;
        assert_eq!(used.status, 410, "{used:?}");
        assert!(used.html.contains("id=\"continue\""), "a link to carry on");
        // Pages are not cached or framed.
        let r = browser.http.get(&login.url).send().await.unwrap();
        assert_eq!(r.headers()["cache-control"], "no-store");
        assert_eq!(r.headers()["x-frame-options"], "DENY");
    }
}

/// The real binary in the background; its stdout lines arrive on a channel.
struct Running {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Running {
    fn start(args: &[&str], env: &[(&str, String)]) -> Running {
        use std::io::BufRead;
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"));
        cmd.args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        for k in [
            "DSN",
            "URLS_LOGIN",
            "URLS_CONSENT",
            "URLS_LOGOUT",
            "PORTCULLIS_ADMIN_URL",
        ] {
            cmd.env_remove(k);
        }
        let mut child = cmd.spawn().expect("run portcullis");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }

    /// The first stdout line containing `needle` (within 30 s).
    fn line_with(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(e) => panic!("no line with {needle:?} on stdout: {e}"),
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `serve all --dev`: the example UI in the same process, a demo client, a printed URL that
/// leads through the demo user's login and consent to a code and tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_all_dev_prints_a_url_that_ends_in_tokens() {
    let (public, admin, ui) = (free_port(), free_port(), free_port());
    let server = Running::start(
        &["serve", "all", "--dev"],
        &[
            ("SERVE_PUBLIC_PORT", public.to_string()),
            ("SERVE_ADMIN_PORT", admin.to_string()),
            ("URLS_SELF_ISSUER", format!("http://127.0.0.1:{public}/")),
            ("PORTCULLIS_EXAMPLE_UI_PORT", ui.to_string()),
        ],
    );
    let users = server.line_with("Demo user:");
    assert_eq!(users, "Demo user: foo@bar.com / foobar");
    let auth_url = server.line_with("/oauth2/auth?").trim().to_string();
    assert!(
        auth_url.starts_with(&format!(
            "http://127.0.0.1:{public}/oauth2/auth?client_id=demo&"
        )),
        "{auth_url}"
    );
    let s = Setup {
        t: TestServer::start(crate::harness::Backend::Sqlite).await,
        ui: format!("http://127.0.0.1:{ui}"),
        auth_url,
    };
    let browser = Browser::default();
    let login = s.open(&browser, &s.auth_url).await;
    assert_eq!(login.status, 200, "{login:?}");
    assert!(
        login.html.contains("Portcullis demo client"),
        "{}",
        login.html
    );
    assert!(
        login.html.contains("Demo user: <code>foo@bar.com</code>"),
        "the hint is shown"
    );
    let consent = s
        .login(&browser, &login, "foo@bar.com", "foobar", false)
        .await;
    let callback = s
        .consent(
            &browser,
            &consent,
            &["openid", "offline", "email", "profile"],
            "accept",
            false,
        )
        .await;
    assert_eq!(callback.status, 200, "{callback:?}");
    let id = claims(&element(&callback.html, "id_token"));
    assert_eq!(
        (id["sub"].clone(), id["name"].clone(), id["iss"].clone()),
        (
            json!("foo@bar.com"),
            json!("Demo User"),
            json!(format!("http://127.0.0.1:{public}/"))
        )
    );
    assert!(!element(&callback.html, "refresh_token").contains("(none)"));
    s.t.stop().await;
}

/// `portcullis example-ui` on its own port, against a server's admin API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_ui_command_serves_the_pages() {
    let t = TestServer::start(crate::harness::Backend::Sqlite).await;
    let port = free_port();
    let app = Running::start(
        &[
            "example-ui",
            "--admin-url",
            &t.admin,
            "--port",
            &port.to_string(),
            "--user",
            "ann@example.com:pw:Ann",
        ],
        &[],
    );
    let line = app.line_with("Example login, consent and logout UI on");
    assert!(line.contains(&format!("http://127.0.0.1:{port}")), "{line}");
    assert_eq!(app.line_with("User:"), "User: ann@example.com");
    let browser = Browser::default();
    let (status, _, html) = browser
        .get_page(&format!(
            "http://127.0.0.1:{port}/login?login_challenge=nope"
        ))
        .await;
    assert_eq!(status, 404);
    assert!(html.contains("unknown or has expired"));
    t.stop().await;
}
