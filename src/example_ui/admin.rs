//! The example app's side of the admin API: get, accept and reject login, consent and logout
//! requests over HTTP (`/oauth2/auth/requests/<kind>[/<action>]?<kind>_challenge=`), exactly
//! as an integrator's app does, plus the demo client's code exchange at the token endpoint.
//! May import: nothing from this crate.

use reqwest::Method;
use serde_json::Value;
use std::time::Duration;
use url::Url;

/// How long one admin or token call may take.
const TIMEOUT: Duration = Duration::from_secs(15);

/// Why an admin call did not give a result the app can use.
#[derive(Debug)]
pub enum AdminError {
    /// 404: the challenge is unknown (never issued, expired and flushed, or rejected).
    NotFound,
    /// 410: the request was already answered; `redirect_to` continues where it left off.
    Gone { redirect_to: Option<String> },
    /// Anything else: unreachable API, other status, a body that is not JSON.
    Other(String),
}

/// Which request a challenge names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Login,
    Consent,
    Logout,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Login => "login",
            Kind::Consent => "consent",
            Kind::Logout => "logout",
        }
    }
}

/// The admin API at one base URL.
#[derive(Clone)]
pub struct AdminClient {
    base: Url,
    http: reqwest::Client,
}

impl AdminClient {
    pub fn new(base: Url) -> Result<AdminClient, String> {
        if !matches!(base.scheme(), "http" | "https") {
            return Err(format!("the admin URL must be http(s): {base}"));
        }
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("portcullis-example-ui/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(AdminClient { base, http })
    }

    fn url(&self, path: &[&str], kind: Kind, challenge: &str) -> Result<Url, AdminError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| AdminError::Other(format!("{} cannot take a path", self.base)))?
            .pop_if_empty()
            .extend(path);
        url.query_pairs_mut()
            .append_pair(&format!("{}_challenge", kind.name()), challenge);
        Ok(url)
    }

    /// `GET /oauth2/auth/requests/<kind>?<kind>_challenge=`.
    pub async fn get(&self, kind: Kind, challenge: &str) -> Result<Value, AdminError> {
        let url = self.url(
            &["oauth2", "auth", "requests", kind.name()],
            kind,
            challenge,
        )?;
        self.send(self.http.request(Method::GET, url)).await
    }

    /// `PUT /oauth2/auth/requests/<kind>/<action>?<kind>_challenge=` with `body`; the answer
    /// (`{"redirect_to": ...}`, or `Null` for an empty 204).
    pub async fn put(
        &self,
        kind: Kind,
        action: &str,
        challenge: &str,
        body: &Value,
    ) -> Result<Value, AdminError> {
        let url = self.url(
            &["oauth2", "auth", "requests", kind.name(), action],
            kind,
            challenge,
        )?;
        self.send(self.http.request(Method::PUT, url).json(body))
            .await
    }

    /// Exchanges `code` at `token_url` as a confidential client (`client_secret_basic`).
    pub async fn exchange_code(
        &self,
        token_url: &Url,
        client: (&str, &str),
        code: &str,
        redirect_uri: &str,
    ) -> Result<Value, AdminError> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ];
        let encode =
            |t: &str| url::form_urlencoded::byte_serialize(t.as_bytes()).collect::<String>();
        let request = self
            .http
            .post(token_url.clone())
            .basic_auth(encode(client.0), Some(encode(client.1)))
            .form(&form);
        self.send(request).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, AdminError> {
        let response = request.send().await.map_err(|e| {
            AdminError::Other(format!("cannot reach the server: {}", e.without_url()))
        })?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| AdminError::Other(format!("cannot read the answer: {e}")))?;
        let json: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).map_err(|_| {
                AdminError::Other(format!(
                    "the server answered {status} with a body that is not JSON"
                ))
            })?
        };
        match status {
            200..=299 => Ok(json),
            404 => Err(AdminError::NotFound),
            410 => Err(AdminError::Gone {
                redirect_to: json["redirect_to"].as_str().map(str::to_string),
            }),
            _ => {
                let error = json["error"].as_str().unwrap_or("error");
                let description = json["error_description"].as_str().unwrap_or_default();
                Err(AdminError::Other(format!(
                    "the server answered {status}: {error} {description}"
                )))
            }
        }
    }
}
