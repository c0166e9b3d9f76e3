//! The reference login, consent and logout app (`portcullis example-ui`, and the UI of
//! `serve all --dev`): server-rendered pages that answer the server's challenges through the
//! admin API over HTTP only, as any integrator's app does. `/login` checks a small user list,
//! `/consent` shows the client and its scopes, `/logout` asks to confirm; `skip=true` is
//! answered at once. Its forms carry a CSRF token bound to a browser cookie and the challenge.
//! The HTTP side (routes, cookies) is `http::example_ui`; this module decides what to answer.
//! May import: `crypto` (randomness), `http::html` (escaping).

pub mod admin;
mod pages;
pub mod users;

use crate::crypto::random;
use admin::{AdminClient, AdminError, Kind};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use url::Url;
use users::User;

/// The browser cookie the CSRF tokens of the forms are bound to.
pub const CSRF_COOKIE: &str = "portcullis_example_csrf";
const CSRF_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// How long "remember me" and "do not ask me again" last, as in Hydra's reference app.
const REMEMBER_FOR: i64 = 3600;

/// The demo client of `serve all --dev`: its callback on this app shows the code and
/// exchanges it.
#[derive(Clone, Debug)]
pub struct DemoClient {
    pub client_id: String,
    pub client_secret: String,
    /// This app's `/callback`, as registered.
    pub redirect_uri: String,
    /// Where the app exchanges the code (server to server).
    pub token_url: Url,
    /// The ready-to-click authorization URL (carries `state`).
    pub auth_url: String,
    /// The `state` of `auth_url`, checked on the callback.
    pub state: String,
    /// The server's logout endpoint, as the browser reaches it.
    pub logout_url: String,
}

/// What the app is configured with.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The admin API, e.g. `http://127.0.0.1:4445/`.
    pub admin_url: Url,
    pub users: Vec<User>,
    pub demo: Option<DemoClient>,
}

/// What one request is answered with.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// An HTML page with this status.
    Page(u16, String),
    /// `303 See Other` to this URL.
    Redirect(String),
}

/// A submitted form, as `application/x-www-form-urlencoded` pairs (repeated keys kept).
pub type Form = [(String, String)];

fn field<'a>(form: &'a Form, name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The example app: settings, the admin API client and the CSRF key of this process.
pub struct ExampleUi {
    settings: Settings,
    admin: AdminClient,
    csrf_key: [u8; 32],
}

impl ExampleUi {
    pub fn new(settings: Settings) -> Result<ExampleUi, String> {
        let admin = AdminClient::new(settings.admin_url.clone())?;
        let mut csrf_key = [0u8; 32];
        random::fill(&mut csrf_key);
        Ok(ExampleUi {
            settings,
            admin,
            csrf_key,
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// A fresh value for [`CSRF_COOKIE`].
    pub fn new_csrf_cookie() -> String {
        random::string_from(CSRF_ALPHABET, 32)
    }

    /// The form token for `challenge` in the browser holding `cookie`.
    fn csrf_token(&self, cookie: &str, challenge: &str) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.csrf_key) else {
            return String::new();
        };
        mac.update(cookie.as_bytes());
        mac.update(b"\0");
        mac.update(challenge.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Whether the form came from a page this app served to this browser for this challenge.
    fn csrf_ok(&self, cookie: Option<&str>, challenge: &str, form: &Form) -> bool {
        let (Some(cookie), Some(token)) = (cookie, field(form, "_csrf")) else {
            return false;
        };
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.csrf_key) else {
            return false;
        };
        mac.update(cookie.as_bytes());
        mac.update(b"\0");
        mac.update(challenge.as_bytes());
        let Ok(token) = URL_SAFE_NO_PAD.decode(token) else {
            return false;
        };
        !cookie.is_empty() && mac.verify_slice(&token).is_ok()
    }

    fn hint(&self) -> Option<(&str, &str)> {
        match self.settings.users.as_slice() {
            [only]
                if only.email == users::DEMO_EMAIL && only.password() == users::DEMO_PASSWORD =>
            {
                Some((users::DEMO_EMAIL, users::DEMO_PASSWORD))
            }
            _ => None,
        }
    }

    /// `GET /`: what this app is and where to start.
    pub fn home(&self) -> Reply {
        let link = self
            .settings
            .demo
            .as_ref()
            .map(|d| (d.auth_url.as_str(), "Sign in with the demo client"));
        Reply::Page(
            200,
            pages::message(
                "Portcullis example app",
                "This app serves the login, consent and logout pages of a Portcullis server (urls.login, urls.consent, urls.logout).",
                link,
            ),
        )
    }

    /// `GET /login?login_challenge=`.
    pub async fn login(&self, challenge: Option<&str>, cookie: &str) -> Reply {
        let Some(challenge) = challenge.filter(|c| !c.is_empty()) else {
            return missing(Kind::Login);
        };
        let request = match self.admin.get(Kind::Login, challenge).await {
            Ok(r) => r,
            Err(e) => return failed(Kind::Login, e),
        };
        if request["skip"] == json!(true) {
            // The server already knows the user (a remembered session): accept at once.
            let subject = request["subject"].as_str().unwrap_or_default();
            let body = json!({"subject": subject});
            return self.answer(Kind::Login, "accept", challenge, &body).await;
        }
        let hint = request["oidc_context"]["login_hint"]
            .as_str()
            .unwrap_or_default();
        self.login_form(challenge, cookie, &request, hint, None)
    }

    fn login_form(
        &self,
        challenge: &str,
        cookie: &str,
        request: &Value,
        email: &str,
        error: Option<&str>,
    ) -> Reply {
        let status = if error.is_some() { 401 } else { 200 };
        let page = pages::login(&pages::LoginView {
            challenge,
            csrf: &self.csrf_token(cookie, challenge),
            client: &client_name(&request["client"]),
            email,
            error,
            hint: self.hint(),
        });
        Reply::Page(status, page)
    }

    /// `POST /login`: sign in (check the password, accept) or cancel (reject).
    pub async fn login_submit(&self, form: &Form, cookie: Option<&str>) -> Reply {
        let challenge = field(form, "challenge").unwrap_or_default();
        if challenge.is_empty() {
            return missing(Kind::Login);
        }
        if !self.csrf_ok(cookie, challenge, form) {
            return csrf_failed();
        }
        if field(form, "action") == Some("reject") {
            let body = json!({"error": "access_denied", "error_description": "The resource owner denied the request"});
            return self.answer(Kind::Login, "reject", challenge, &body).await;
        }
        let email = field(form, "email").unwrap_or_default().trim();
        let password = field(form, "password").unwrap_or_default();
        match users::find(&self.settings.users, email).filter(|u| u.check(password)) {
            Some(user) => {
                let remember = field(form, "remember").is_some();
                let body = json!({"subject": user.email, "remember": remember,
                    "remember_for": if remember { REMEMBER_FOR } else { 0 }});
                self.answer(Kind::Login, "accept", challenge, &body).await
            }
            None => {
                let request = match self.admin.get(Kind::Login, challenge).await {
                    Ok(r) => r,
                    Err(e) => return failed(Kind::Login, e),
                };
                let cookie = cookie.unwrap_or_default();
                self.login_form(
                    challenge,
                    cookie,
                    &request,
                    email,
                    Some("The e-mail address or the password is wrong."),
                )
            }
        }
    }

    /// `GET /consent?consent_challenge=`.
    pub async fn consent(&self, challenge: Option<&str>, cookie: &str) -> Reply {
        let Some(challenge) = challenge.filter(|c| !c.is_empty()) else {
            return missing(Kind::Consent);
        };
        let request = match self.admin.get(Kind::Consent, challenge).await {
            Ok(r) => r,
            Err(e) => return failed(Kind::Consent, e),
        };
        let scopes = strings(&request["requested_scope"]);
        if request["skip"] == json!(true) {
            // Consent was remembered: grant the same again, without asking.
            return self
                .accept_consent(challenge, &request, scopes, false)
                .await;
        }
        let audience = strings(&request["requested_access_token_audience"]);
        let client = &request["client"];
        let logo = client["logo_uri"]
            .as_str()
            .filter(|l| l.starts_with("https://") || l.starts_with("http://"));
        Reply::Page(
            200,
            pages::consent(&pages::ConsentView {
                challenge,
                csrf: &self.csrf_token(cookie, challenge),
                client: &client_name(client),
                logo,
                subject: request["subject"].as_str().unwrap_or_default(),
                scopes: &scopes,
                audience: &audience,
            }),
        )
    }

    /// `POST /consent`: allow the checked scopes or deny.
    pub async fn consent_submit(&self, form: &Form, cookie: Option<&str>) -> Reply {
        let challenge = field(form, "challenge").unwrap_or_default();
        if challenge.is_empty() {
            return missing(Kind::Consent);
        }
        if !self.csrf_ok(cookie, challenge, form) {
            return csrf_failed();
        }
        if field(form, "action") != Some("accept") {
            let body = json!({"error": "access_denied", "error_description": "The resource owner denied the request"});
            return self.answer(Kind::Consent, "reject", challenge, &body).await;
        }
        let request = match self.admin.get(Kind::Consent, challenge).await {
            Ok(r) => r,
            Err(e) => return failed(Kind::Consent, e),
        };
        // Only scopes that were requested can be granted, whatever the form says.
        let checked: Vec<&str> = form
            .iter()
            .filter(|(k, _)| k == "grant_scope")
            .map(|(_, v)| v.as_str())
            .collect();
        let granted = strings(&request["requested_scope"])
            .into_iter()
            .filter(|s| checked.contains(&s.as_str()))
            .collect();
        let remember = field(form, "remember").is_some();
        self.accept_consent(challenge, &request, granted, remember)
            .await
    }

    async fn accept_consent(
        &self,
        challenge: &str,
        request: &Value,
        granted: Vec<String>,
        remember: bool,
    ) -> Reply {
        let subject = request["subject"].as_str().unwrap_or_default();
        let id_token = users::find(&self.settings.users, subject)
            .map(|u| u.claims(&granted))
            .unwrap_or_default();
        let body = json!({
            "grant_scope": granted,
            "grant_access_token_audience": request["requested_access_token_audience"],
            "remember": remember,
            "remember_for": if remember { REMEMBER_FOR } else { 0 },
            "session": {"id_token": id_token, "access_token": {}},
        });
        self.answer(Kind::Consent, "accept", challenge, &body).await
    }

    /// `GET /logout?logout_challenge=`.
    pub async fn logout(&self, challenge: Option<&str>, cookie: &str) -> Reply {
        let Some(challenge) = challenge.filter(|c| !c.is_empty()) else {
            return missing(Kind::Logout);
        };
        let request = match self.admin.get(Kind::Logout, challenge).await {
            Ok(r) => r,
            Err(e) => return failed(Kind::Logout, e),
        };
        let subject = request["subject"].as_str().unwrap_or_default();
        Reply::Page(
            200,
            pages::logout(challenge, &self.csrf_token(cookie, challenge), subject),
        )
    }

    /// `POST /logout`: sign out (accept) or stay signed in (reject).
    pub async fn logout_submit(&self, form: &Form, cookie: Option<&str>) -> Reply {
        let challenge = field(form, "challenge").unwrap_or_default();
        if challenge.is_empty() {
            return missing(Kind::Logout);
        }
        if !self.csrf_ok(cookie, challenge, form) {
            return csrf_failed();
        }
        if field(form, "action") == Some("accept") {
            return self
                .answer(Kind::Logout, "accept", challenge, &json!({}))
                .await;
        }
        match self
            .admin
            .put(Kind::Logout, "reject", challenge, &json!({}))
            .await
        {
            Ok(_) => Reply::Page(
                200,
                pages::message("Still signed in", "You did not sign out.", None),
            ),
            Err(e) => failed(Kind::Logout, e),
        }
    }

    /// `GET /callback?code=&state=` of the demo client: shows the code and exchanges it.
    pub async fn callback(&self, query: &Form) -> Reply {
        let Some(demo) = &self.settings.demo else {
            return Reply::Page(
                404,
                pages::message(
                    "Not found",
                    "This app has no demo client: exchange the code with your own client.",
                    None,
                ),
            );
        };
        if let Some(error) = field(query, "error") {
            let description = field(query, "error_description").unwrap_or_default();
            let text = format!("The server answered {error}: {description}");
            return Reply::Page(
                400,
                pages::message("Not signed in", &text, Some((&demo.auth_url, "Try again"))),
            );
        }
        let state_ok = field(query, "state").is_some_and(|s| s == demo.state);
        let Some(code) = field(query, "code").filter(|_| state_ok) else {
            return Reply::Page(
                400,
                pages::message(
                    "Not signed in",
                    "The callback carries no code, or a state this app did not send.",
                    Some((&demo.auth_url, "Try again")),
                ),
            );
        };
        let exchanged = self
            .admin
            .exchange_code(
                &demo.token_url,
                (&demo.client_id, &demo.client_secret),
                code,
                &demo.redirect_uri,
            )
            .await;
        let error;
        let (tokens, claims) = match &exchanged {
            Ok(t) => (Ok(t), t["id_token"].as_str().and_then(jwt_claims)),
            Err(e) => {
                error = describe(e);
                (Err(error.as_str()), None)
            }
        };
        let page = pages::callback(&pages::CallbackView {
            code,
            tokens,
            id_claims: claims.as_deref(),
            logout_url: &demo.logout_url,
            again_url: &demo.auth_url,
        });
        Reply::Page(if exchanged.is_ok() { 200 } else { 502 }, page)
    }

    /// Accepts or rejects, and sends the browser on to `redirect_to`.
    async fn answer(&self, kind: Kind, action: &str, challenge: &str, body: &Value) -> Reply {
        match self.admin.put(kind, action, challenge, body).await {
            Ok(r) => match r["redirect_to"].as_str() {
                Some(to) => Reply::Redirect(to.to_string()),
                None => Reply::Page(
                    502,
                    pages::message(
                        "Server error",
                        "The server's answer has no redirect_to.",
                        None,
                    ),
                ),
            },
            Err(e) => failed(kind, e),
        }
    }
}

/// The client's display name: `client_name`, else its id.
fn client_name(client: &Value) -> String {
    match client["client_name"].as_str().filter(|n| !n.is_empty()) {
        Some(name) => name.to_string(),
        None => client["client_id"]
            .as_str()
            .unwrap_or("An application")
            .to_string(),
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The pretty-printed claims of a JWT (not verified: the app shows what it received).
fn jwt_claims(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    serde_json::to_string_pretty(&claims).ok()
}

/// The page for a path this app does not serve.
pub fn not_found_page() -> String {
    pages::message(
        "Not found",
        "This page does not exist.",
        Some(("/", "Home")),
    )
}

fn missing(kind: Kind) -> Reply {
    let text = format!(
        "The {0} challenge is missing: this page is opened by the server, with ?{0}_challenge=.",
        kind.name()
    );
    Reply::Page(400, pages::message("Bad request", &text, None))
}

fn csrf_failed() -> Reply {
    Reply::Page(403, pages::message("Form expired", "This form was not sent from a page this app showed to this browser. Go back, reload and try again.", None))
}

fn describe(e: &AdminError) -> String {
    match e {
        AdminError::NotFound => "not found".into(),
        AdminError::Gone { .. } => "already used".into(),
        AdminError::Other(text) => text.clone(),
    }
}

/// The page for a challenge the server does not know (404) or already answered (410).
fn failed(kind: Kind, e: AdminError) -> Reply {
    let name = kind.name();
    match e {
        AdminError::NotFound => Reply::Page(404, pages::message(
            "Unknown or expired request",
            &format!("This {name} request is unknown or has expired. Go back to the application and start again."),
            None,
        )),
        AdminError::Gone { redirect_to } => Reply::Page(410, pages::message(
            "Request already answered",
            &format!("This {name} request was already answered and cannot be used again."),
            redirect_to.as_deref().map(|to| (to, "Continue")),
        )),
        AdminError::Other(text) => {
            tracing::warn!(request = name, "example UI: admin API call failed: {text}");
            Reply::Page(502, pages::message("Server error", &format!("The {name} request could not be read or answered: {text}"), None))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ui() -> ExampleUi {
        ExampleUi::new(Settings {
            admin_url: Url::parse("http://127.0.0.1:9/").unwrap(),
            users: vec![User::demo()],
            demo: None,
        })
        .unwrap()
    }

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn csrf_tokens_bind_the_cookie_and_the_challenge() {
        let ui = ui();
        let token = ui.csrf_token("cookie-a", "ch-1");
        let ok = form(&[("_csrf", &token)]);
        assert!(ui.csrf_ok(Some("cookie-a"), "ch-1", &ok));
        assert!(!ui.csrf_ok(Some("cookie-b"), "ch-1", &ok));
        assert!(!ui.csrf_ok(Some("cookie-a"), "ch-2", &ok));
        assert!(!ui.csrf_ok(None, "ch-1", &ok));
        assert!(!ui.csrf_ok(Some("cookie-a"), "ch-1", &form(&[])));
        assert!(!ui.csrf_ok(Some("cookie-a"), "ch-1", &form(&[("_csrf", "x")])));
        // Another process (another key) does not accept it either.
        assert!(!super::tests::ui().csrf_ok(Some("cookie-a"), "ch-1", &ok));
    }

    #[test]
    fn jwt_claims_are_pretty_printed() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"a"}"#);
        assert_eq!(
            jwt_claims(&format!("h.{payload}.s")).as_deref(),
            Some("{\n  \"sub\": \"a\"\n}")
        );
        assert_eq!(jwt_claims("nope"), None);
    }
}
