//! The HTTP side of the admin commands (`clients`, later `keys` and `token`): Hydra's shared
//! flags (`--endpoint`, `--access-token`, `--skip-tls-verify`, `--fake-tls-termination`), one
//! `reqwest` client built from them, and Hydra's error JSON turned into one line.
//! May import: nothing from this crate; it speaks to a server only over HTTP, as Hydra's CLI.

use anyhow::{bail, Context};
use clap::Args;
use reqwest::Method;
use serde_json::Value;
use std::time::Duration;
use url::Url;

/// How long one request may take: Hydra's `--fail-after` default budget.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The flags every command that calls the admin API takes (hydra-reference §7).
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Admin API options")]
pub struct AdminFlags {
    /// The admin API's URL, e.g. http://127.0.0.1:4445 (else env HYDRA_ADMIN_URL)
    #[arg(long, env = "PORTCULLIS_ADMIN_URL", global = true)]
    endpoint: Option<String>,
    /// Hydra's name for the endpoint variable; read after PORTCULLIS_ADMIN_URL.
    #[arg(long, env = "HYDRA_ADMIN_URL", hide = true, global = true)]
    hydra_admin_url: Option<String>,
    /// Send `X-Forwarded-Proto: https`, for an admin API served over plain HTTP behind a
    /// TLS-terminating proxy.
    #[arg(long, global = true)]
    fake_tls_termination: bool,
    /// Accept any TLS certificate from the endpoint. Do not use in production.
    #[arg(long, global = true)]
    skip_tls_verify: bool,
    /// A bearer token sent with every request, for an admin API behind an authenticating proxy.
    #[arg(
        long,
        env = "OAUTH2_ACCESS_TOKEN",
        hide_env_values = true,
        global = true
    )]
    access_token: Option<String>,
}

/// A non-2xx answer of the admin API, in Hydra's error shape.
#[derive(Debug, thiserror::Error)]
#[error("{status} {error}{}", description_suffix(.description))]
pub struct ApiError {
    pub status: u16,
    /// `error` of the body (the status's reason phrase when the body is not Hydra's JSON).
    pub error: String,
    /// `error_description` of the body; may be empty.
    pub description: String,
}

fn description_suffix(description: &str) -> String {
    if description.is_empty() {
        String::new()
    } else {
        format!(": {description}")
    }
}

impl ApiError {
    /// Reads Hydra's `{"error": ..., "error_description": ...}`; anything else keeps the
    /// status's reason phrase and the first line of the body.
    fn from_body(status: reqwest::StatusCode, body: &str) -> ApiError {
        let json: Option<Value> = serde_json::from_str(body).ok();
        let field = |name: &str| {
            json.as_ref()
                .and_then(|v| v.get(name))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let reason = status.canonical_reason().unwrap_or("error").to_string();
        let (error, description) = match field("error") {
            Some(error) => (error, field("error_description").unwrap_or_default()),
            None => (reason, first_line(body)),
        };
        ApiError {
            status: status.as_u16(),
            error: one_line(&error),
            description: one_line(&description),
        }
    }
}

fn first_line(text: &str) -> String {
    let line = text.trim().lines().next().unwrap_or_default();
    line.chars().take(200).collect()
}

/// The one-line error rule: a server's text never breaks the line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The admin API at one endpoint, with the headers the flags ask for.
pub struct AdminApi {
    base: Url,
    http: reqwest::Client,
    access_token: Option<String>,
    fake_tls_termination: bool,
}

impl AdminApi {
    /// Resolves the endpoint (flag, then PORTCULLIS_ADMIN_URL, then HYDRA_ADMIN_URL; clap reads
    /// the variables) and builds the HTTP client.
    pub fn new(flags: &AdminFlags) -> anyhow::Result<AdminApi> {
        let endpoint = [&flags.endpoint, &flags.hydra_admin_url]
            .into_iter()
            .flatten()
            .map(|e| e.trim())
            .find(|e| !e.is_empty());
        let Some(endpoint) = endpoint else {
            bail!("no admin endpoint: pass --endpoint (e.g. http://127.0.0.1:4445) or set PORTCULLIS_ADMIN_URL or HYDRA_ADMIN_URL");
        };
        let base = Url::parse(endpoint)
            .with_context(|| format!("--endpoint {endpoint:?} is not a URL"))?;
        if !matches!(base.scheme(), "http" | "https") {
            bail!(
                "--endpoint {endpoint:?}: only http:// and https:// endpoints are supported (not unix sockets)"
            );
        }
        let http = reqwest::Client::builder()
            .danger_accept_invalid_certs(flags.skip_tls_verify)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("portcullis-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(AdminApi {
            base,
            http,
            access_token: flags.access_token.clone().filter(|t| !t.is_empty()),
            fake_tls_termination: flags.fake_tls_termination,
        })
    }

    /// The endpoint with `segments` appended, each percent-encoded (client ids may hold `/`).
    fn url(&self, segments: &[&str], query: &[(&str, String)]) -> anyhow::Result<Url> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| anyhow::anyhow!("--endpoint {} cannot take a path", self.base))?
            .pop_if_empty()
            .extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// Sends one request and returns the JSON body of a 2xx answer (`Null` when empty).
    /// A non-2xx answer is an [`ApiError`].
    pub async fn call(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let url = self.url(segments, query)?;
        let mut request = self.http.request(method, url.clone());
        if self.fake_tls_termination {
            request = request.header("X-Forwarded-Proto", "https");
        }
        if let Some(token) = &self.access_token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(reqwest::Error::without_url)
            .with_context(|| format!("cannot reach the admin API at {url}"))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .with_context(|| format!("cannot read the answer of {url}"))?;
        if !status.is_success() {
            return Err(ApiError::from_body(status, &text).into());
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text)
            .with_context(|| format!("the answer of {url} is not JSON: {}", first_line(&text)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    #[test]
    fn api_errors_are_one_line_in_hydras_shape() {
        let cases = [
            (
                404,
                r#"{"error":"Unable to locate the resource","error_description":""}"#,
                "404 Unable to locate the resource",
            ),
            (
                400,
                r#"{"error":"invalid_request","error_description":"The request is\nmalformed."}"#,
                "400 invalid_request: The request is malformed.",
            ),
            (502, "<html>\nbad gateway</html>", "502 Bad Gateway: <html>"),
            (500, "", "500 Internal Server Error"),
        ];
        for (status, body, expected) in cases {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(ApiError::from_body(status, body).to_string(), expected);
        }
    }

    fn api(endpoint: &str) -> AdminApi {
        AdminApi::new(&AdminFlags {
            endpoint: Some(endpoint.into()),
            hydra_admin_url: None,
            fake_tls_termination: false,
            skip_tls_verify: false,
            access_token: None,
        })
        .unwrap()
    }

    #[test]
    fn paths_are_appended_to_the_endpoint_and_encoded() {
        let cases = [
            ("http://a:4445", &["clients"][..], "http://a:4445/clients"),
            ("http://a:4445/", &["clients"][..], "http://a:4445/clients"),
            (
                "https://a/admin/",
                &["clients", "x/y z"][..],
                "https://a/admin/clients/x%2Fy%20z",
            ),
        ];
        for (endpoint, segments, expected) in cases {
            assert_eq!(api(endpoint).url(segments, &[]).unwrap().as_str(), expected);
        }
    }

    #[test]
    fn the_endpoint_must_be_an_http_url() {
        let flags = |endpoint: Option<&str>, hydra: Option<&str>| AdminFlags {
            endpoint: endpoint.map(str::to_string),
            hydra_admin_url: hydra.map(str::to_string),
            fake_tls_termination: false,
            skip_tls_verify: false,
            access_token: None,
        };
        for (endpoint, hydra, needle) in [
            (None, None, "no admin endpoint"),
            (Some(""), None, "no admin endpoint"),
            (Some("unix:///run/hydra.sock"), None, "unix"),
            (Some("not a url"), None, "not a URL"),
        ] {
            let err = AdminApi::new(&flags(endpoint, hydra)).err().unwrap();
            assert!(err.to_string().contains(needle), "{err}");
        }
        let api = AdminApi::new(&flags(None, Some("http://h:1"))).unwrap();
        assert_eq!(api.base.as_str(), "http://h:1/");
    }
}
