//! A fake login/consent app (STYLE §10): it answers login and consent challenges through the
//! admin API, as a real integrator does, while a cookie-keeping browser follows the redirects.

use super::{http_client, Resp, TestServer};
use reqwest::Method;
use serde_json::{json, Value};
use url::Url;

/// What the fake app answers.
#[derive(Clone, Debug)]
pub struct FakeApp {
    pub subject: String,
    pub remember: bool,
    pub remember_for: i64,
    pub acr: String,
    /// Sent as the login accept's `force_subject_identifier` when not empty.
    pub force_subject_identifier: String,
    /// `Some(body)`: reject the login with this `rejectRequest`.
    pub reject_login: Option<Value>,
    /// `Some(body)`: reject the consent with this `rejectRequest`.
    pub reject_consent: Option<Value>,
    /// `None`: grant every requested scope.
    pub grant_scope: Option<Vec<String>>,
    pub session: Value,
}

impl Default for FakeApp {
    fn default() -> Self {
        FakeApp {
            subject: "alice".into(),
            remember: false,
            remember_for: 0,
            acr: String::new(),
            force_subject_identifier: String::new(),
            reject_login: None,
            reject_consent: None,
            grant_scope: None,
            session: json!({"access_token": {"tier": "gold"}, "id_token": {"email": "alice@example.com"}}),
        }
    }
}

/// What one run through the flow saw.
#[derive(Debug, Default)]
pub struct Trace {
    /// Every `loginRequest` the app fetched.
    pub logins: Vec<Value>,
    /// Every `consentRequest` the app fetched.
    pub consents: Vec<Value>,
    /// Where the browser ended up: the client's redirect URI or the error page.
    pub end: Option<Url>,
    /// When the response came as a form post: the posted fields (unescaped).
    pub form: Vec<(String, String)>,
    /// The raw HTML of a form post page.
    pub html: String,
}

impl Trace {
    pub fn end(&self) -> &Url {
        self.end.as_ref().expect("the flow ended somewhere")
    }

    /// A parameter of the final redirect (query, or fragment).
    pub fn param(&self, name: &str) -> Option<String> {
        if let Some((_, v)) = self.form.iter().find(|(k, _)| k == name) {
            return Some(v.clone());
        }
        let end = self.end();
        end.query_pairs()
            .chain(url::form_urlencoded::parse(
                end.fragment().unwrap_or_default().as_bytes(),
            ))
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    pub fn code(&self) -> String {
        self.param("code")
            .unwrap_or_else(|| panic!("no code in {}", self.end()))
    }
}

/// A browser: keeps cookies, never follows redirects by itself.
pub struct Browser {
    pub http: reqwest::Client,
}

impl Default for Browser {
    fn default() -> Self {
        Browser {
            http: http_client(),
        }
    }
}

impl Browser {
    /// GET `url`: the response status and its `Location`, resolved against `url`.
    pub async fn get(&self, url: &str) -> (u16, Option<Url>) {
        let (status, location, _) = self.get_page(url).await;
        (status, location)
    }

    /// GET `url`: status, `Location` and body.
    pub async fn get_page(&self, url: &str) -> (u16, Option<Url>, String) {
        let r = self.http.get(url).send().await.expect("browser request");
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(|l| Url::parse(url).unwrap().join(l).unwrap());
        (status, location, r.text().await.unwrap_or_default())
    }
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The action and fields of a form post page (`<form ... action="..">` and hidden inputs).
pub fn parse_form_post(html: &str) -> (Url, Vec<(String, String)>) {
    let attr = |tag: &str, name: &str| -> String {
        let start = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        let end = start + tag[start..].find('"').unwrap();
        unescape(&tag[start..end])
    };
    let form = &html[html.find("<form").expect("a form")..];
    let action = Url::parse(&attr(form, "action")).unwrap();
    let fields = html
        .split("<input")
        .skip(1)
        .map(|tag| (attr(tag, "name"), attr(tag, "value")))
        .collect();
    (action, fields)
}

fn challenge(url: &Url, name: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

impl TestServer {
    /// `/oauth2/auth?<query>` on this server.
    pub fn auth_url(&self, query: &[(&str, &str)]) -> String {
        let mut url = Url::parse(&self.public_url("/oauth2/auth")).unwrap();
        url.query_pairs_mut().extend_pairs(query);
        url.to_string()
    }

    /// Runs the browser from `start` through login and consent, `app` answering, until it
    /// leaves this server (the client's redirect URI) or lands on the error page.
    pub async fn run_flow(&self, browser: &Browser, start: &str, app: &FakeApp) -> Trace {
        let mut trace = Trace::default();
        let mut next = start.to_string();
        for _ in 0..10 {
            let (status, location, body) = browser.get_page(&next).await;
            if status == 200 && body.contains("<form") {
                let (action, fields) = parse_form_post(&body);
                trace.end = Some(action);
                trace.form = fields;
                trace.html = body;
                return trace;
            }
            assert_eq!(status, 302, "GET {next} answered {status}");
            let location = location.expect("a Location header");
            let path = location.path().to_string();
            let ours = location.as_str().starts_with(&self.public);
            next = if ours && path == "/oauth2/fallbacks/login" {
                self.answer_login(&location, app, &mut trace).await
            } else if ours && path == "/oauth2/fallbacks/consent" {
                self.answer_consent(&location, app, &mut trace).await
            } else if ours && path == "/oauth2/auth" {
                location.to_string()
            } else {
                trace.end = Some(location);
                return trace;
            };
        }
        panic!("the flow did not end after 10 redirects");
    }

    async fn answer_login(&self, at: &Url, app: &FakeApp, trace: &mut Trace) -> String {
        let challenge = challenge(at, "login_challenge");
        let (status, request) = self
            .admin_get(&format!(
                "/oauth2/auth/requests/login?login_challenge={challenge}"
            ))
            .await;
        assert_eq!(status, 200, "{request}");
        trace.logins.push(request.clone());
        let (action, body) = match &app.reject_login {
            Some(body) => ("reject", body.clone()),
            None => {
                let subject = if request["skip"] == json!(true) {
                    request["subject"].as_str().unwrap().to_string()
                } else {
                    app.subject.clone()
                };
                let mut body = json!({"subject": subject, "remember": app.remember,
                    "remember_for": app.remember_for});
                if !app.acr.is_empty() {
                    body["acr"] = json!(app.acr);
                }
                if !app.force_subject_identifier.is_empty() {
                    body["force_subject_identifier"] = json!(app.force_subject_identifier);
                }
                ("accept", body)
            }
        };
        let r = self
            .admin_call(
                Method::PUT,
                &format!("/oauth2/auth/requests/login/{action}?login_challenge={challenge}"),
                Some(body),
            )
            .await;
        redirect_to(r)
    }

    async fn answer_consent(&self, at: &Url, app: &FakeApp, trace: &mut Trace) -> String {
        let challenge = challenge(at, "consent_challenge");
        let (status, request) = self
            .admin_get(&format!(
                "/oauth2/auth/requests/consent?consent_challenge={challenge}"
            ))
            .await;
        assert_eq!(status, 200, "{request}");
        trace.consents.push(request.clone());
        let (action, body) = match &app.reject_consent {
            Some(body) => ("reject", body.clone()),
            None => {
                let scope = app
                    .grant_scope
                    .clone()
                    .map(|s| json!(s))
                    .unwrap_or_else(|| request["requested_scope"].clone());
                (
                    "accept",
                    json!({"grant_scope": scope,
                        "grant_access_token_audience": request["requested_access_token_audience"],
                        "remember": app.remember, "remember_for": app.remember_for,
                        "session": app.session}),
                )
            }
        };
        let r = self
            .admin_call(
                Method::PUT,
                &format!("/oauth2/auth/requests/consent/{action}?consent_challenge={challenge}"),
                Some(body),
            )
            .await;
        redirect_to(r)
    }

    /// Creates a client through the admin API; panics unless 201.
    pub async fn create_client(&self, body: Value) -> Value {
        let r = self.admin_call(Method::POST, "/clients", Some(body)).await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body
    }

    /// Exchanges `code` at the token endpoint with HTTP Basic (or `client_id` alone when
    /// `secret` is `None`) plus `extra` form fields.
    pub async fn exchange(
        &self,
        client: &str,
        secret: Option<&str>,
        code: &str,
        extra: &[(&str, &str)],
    ) -> Resp {
        let mut form = vec![("grant_type", "authorization_code"), ("code", code)];
        form.extend_from_slice(extra);
        let mut req = self.http.post(self.public_url("/oauth2/token"));
        match secret {
            Some(secret) => req = req.basic_auth(client, Some(secret)),
            None => form.push(("client_id", client)),
        }
        Resp::read(req.form(&form).send().await.expect("request")).await
    }
}

fn redirect_to(r: Resp) -> String {
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["redirect_to"]
        .as_str()
        .expect("redirect_to")
        .to_string()
}
