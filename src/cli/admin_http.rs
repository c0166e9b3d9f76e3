//! The HTTP side of the API commands (`clients`, `keys`, `token`): Hydra's shared admin flags
//! (`--endpoint`, `--access-token`, `--skip-tls-verify`, `--fake-tls-termination`), their
//! public-endpoint variant for `token client|revoke`, one `reqwest` client built from them,
//! and Hydra's error JSON turned into one line.
//! May import: nothing from this crate; it speaks to a server only over HTTP, as Hydra's CLI.

use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use clap::Args;
use reqwest::{Method, RequestBuilder};
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

/// The flags of the commands that call the public API (`token client`, `token revoke`).
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Public API options")]
pub struct PublicFlags {
    /// The public API's URL, e.g. http://127.0.0.1:4444 (else env HYDRA_URL)
    #[arg(long, env = "PORTCULLIS_URL")]
    endpoint: Option<String>,
    /// Hydra's name for the endpoint variable; read after PORTCULLIS_URL.
    #[arg(long, env = "HYDRA_URL", hide = true)]
    hydra_url: Option<String>,
    /// Send `X-Forwarded-Proto: https`, for a public API served over plain HTTP behind a
    /// TLS-terminating proxy.
    #[arg(long)]
    fake_tls_termination: bool,
    /// Accept any TLS certificate from the endpoint. Do not use in production.
    #[arg(long)]
    skip_tls_verify: bool,
}

/// A non-2xx answer of the API, in Hydra's error shape.
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

/// One API endpoint (admin or public) and the HTTP client that speaks to it.
struct Endpoint {
    base: Url,
    http: reqwest::Client,
    fake_tls_termination: bool,
    /// "admin API" or "public API", for error messages.
    name: &'static str,
}

impl Endpoint {
    /// The first non-empty of `candidates` (flag first, then the variables clap read), which
    /// must be an http(s) URL.
    fn new(
        candidates: [&Option<String>; 2],
        missing: &str,
        skip_tls_verify: bool,
        fake_tls_termination: bool,
        name: &'static str,
    ) -> anyhow::Result<Endpoint> {
        let endpoint = candidates
            .into_iter()
            .flatten()
            .map(|e| e.trim())
            .find(|e| !e.is_empty());
        let Some(endpoint) = endpoint else {
            bail!("{missing}");
        };
        let base = Url::parse(endpoint)
            .with_context(|| format!("--endpoint {endpoint:?} is not a URL"))?;
        if !matches!(base.scheme(), "http" | "https") {
            bail!(
                "--endpoint {endpoint:?}: only http:// and https:// endpoints are supported (not unix sockets)"
            );
        }
        let http = reqwest::Client::builder()
            .danger_accept_invalid_certs(skip_tls_verify)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("portcullis-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Endpoint {
            base,
            http,
            fake_tls_termination,
            name,
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

    fn request(&self, method: Method, url: &Url) -> RequestBuilder {
        let request = self.http.request(method, url.clone());
        if self.fake_tls_termination {
            request.header("X-Forwarded-Proto", "https")
        } else {
            request
        }
    }

    /// Sends `request` (for `url`) and returns the JSON body of a 2xx answer (`Null` when
    /// empty). A non-2xx answer is an [`ApiError`].
    async fn send(&self, request: RequestBuilder, url: &Url) -> anyhow::Result<Value> {
        let response = request
            .send()
            .await
            .map_err(reqwest::Error::without_url)
            .with_context(|| format!("cannot reach the {} at {url}", self.name))?;
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

/// The admin API at one endpoint, with the headers the flags ask for.
pub struct AdminApi {
    endpoint: Endpoint,
    access_token: Option<String>,
}

impl AdminApi {
    /// Resolves the endpoint (flag, then PORTCULLIS_ADMIN_URL, then HYDRA_ADMIN_URL; clap reads
    /// the variables) and builds the HTTP client.
    pub fn new(flags: &AdminFlags) -> anyhow::Result<AdminApi> {
        let endpoint = Endpoint::new(
            [&flags.endpoint, &flags.hydra_admin_url],
            "no admin endpoint: pass --endpoint (e.g. http://127.0.0.1:4445) or set PORTCULLIS_ADMIN_URL or HYDRA_ADMIN_URL",
            flags.skip_tls_verify,
            flags.fake_tls_termination,
            "admin API",
        )?;
        Ok(AdminApi {
            endpoint,
            access_token: flags.access_token.clone().filter(|t| !t.is_empty()),
        })
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
        let url = self.endpoint.url(segments, query)?;
        let mut request = self.endpoint.request(method, &url);
        if let Some(token) = &self.access_token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        self.endpoint.send(request, &url).await
    }

    /// Sends one form-encoded POST (`/oauth2/introspect`); answers as [`call`](Self::call).
    pub async fn post_form(
        &self,
        segments: &[&str],
        form: &[(&str, String)],
    ) -> anyhow::Result<Value> {
        let url = self.endpoint.url(segments, &[])?;
        let mut request = self.endpoint.request(Method::POST, &url).form(form);
        if let Some(token) = &self.access_token {
            request = request.bearer_auth(token);
        }
        self.endpoint.send(request, &url).await
    }
}

/// The public API at one endpoint, spoken to as an OAuth 2.0 client.
pub struct PublicApi {
    endpoint: Endpoint,
}

impl PublicApi {
    /// Resolves the endpoint (flag, then PORTCULLIS_URL, then HYDRA_URL; clap reads the
    /// variables) and builds the HTTP client.
    pub fn new(flags: &PublicFlags) -> anyhow::Result<PublicApi> {
        let endpoint = Endpoint::new(
            [&flags.endpoint, &flags.hydra_url],
            "no public endpoint: pass --endpoint (e.g. http://127.0.0.1:4444) or set PORTCULLIS_URL or HYDRA_URL",
            flags.skip_tls_verify,
            flags.fake_tls_termination,
            "public API",
        )?;
        Ok(PublicApi { endpoint })
    }

    /// The public API at `base` (a URL given by other flags, e.g. `token user --token-url`),
    /// with the TLS flags of `flags`.
    pub fn at(flags: &PublicFlags, base: &str) -> anyhow::Result<PublicApi> {
        let endpoint = Endpoint::new(
            [&Some(base.to_string()), &None],
            "no public endpoint",
            flags.skip_tls_verify,
            flags.fake_tls_termination,
            "public API",
        )?;
        Ok(PublicApi { endpoint })
    }

    /// The endpoint with `segments` appended.
    pub fn url(&self, segments: &[&str]) -> anyhow::Result<Url> {
        self.endpoint.url(segments, &[])
    }

    /// POSTs `form` to `segments`, authenticated as client `id` with `client_secret_basic`;
    /// answers as [`AdminApi::call`].
    pub async fn post_form_as_client(
        &self,
        segments: &[&str],
        form: &[(&str, String)],
        id: &str,
        secret: &str,
    ) -> anyhow::Result<Value> {
        let url = self.endpoint.url(segments, &[])?;
        self.post_form_at(&url, form, Some((id, secret))).await
    }

    /// POSTs `form` to `url`, with `client_secret_basic` when `client` (id, secret) is given;
    /// answers as [`AdminApi::call`].
    pub async fn post_form_at(
        &self,
        url: &Url,
        form: &[(&str, String)],
        client: Option<(&str, &str)>,
    ) -> anyhow::Result<Value> {
        let mut request = self.endpoint.request(Method::POST, url);
        if let Some((id, secret)) = client {
            request = request.header(
                reqwest::header::AUTHORIZATION,
                basic_authorization(id, secret),
            );
        }
        self.endpoint.send(request.form(form), url).await
    }
}

/// `Authorization: Basic` for client credentials. RFC 6749 §2.3.1: "The client identifier is
/// encoded using the "application/x-www-form-urlencoded" encoding algorithm [...], and the
/// encoded value is used as the username; the client password is encoded using the same
/// algorithm and used as the password." (Go's `oauth2` package does the same; the server
/// form-decodes both.)
fn basic_authorization(id: &str, secret: &str) -> String {
    let encode =
        |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", encode(id), encode(secret));
    format!("Basic {}", STANDARD.encode(pair))
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
            assert_eq!(
                api(endpoint).endpoint.url(segments, &[]).unwrap().as_str(),
                expected
            );
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
        assert_eq!(api.endpoint.base.as_str(), "http://h:1/");
    }

    #[test]
    fn the_public_endpoint_prefers_portcullis_url_then_hydra_url() {
        let flags = |endpoint: Option<&str>, hydra: Option<&str>| PublicFlags {
            endpoint: endpoint.map(str::to_string),
            hydra_url: hydra.map(str::to_string),
            fake_tls_termination: false,
            skip_tls_verify: false,
        };
        let base = |f: PublicFlags| PublicApi::new(&f).unwrap().endpoint.base.to_string();
        assert_eq!(
            base(flags(Some("http://a:1"), Some("http://b:2"))),
            "http://a:1/"
        );
        assert_eq!(base(flags(Some(" "), Some("http://b:2"))), "http://b:2/");
        let err = PublicApi::new(&flags(None, None))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("no public endpoint") && err.contains("HYDRA_URL"),
            "{err}"
        );
    }

    #[test]
    fn basic_credentials_are_form_encoded_before_base64() {
        let cases = [
            ("app", "secret", "app:secret"),
            ("my app", "p@ss:w/rd+%", "my+app:p%40ss%3Aw%2Frd%2B%25"),
            ("ünï", "", "%C3%BCn%C3%AF:"),
        ];
        for (id, secret, pair) in cases {
            assert_eq!(
                basic_authorization(id, secret),
                format!("Basic {}", STANDARD.encode(pair))
            );
        }
    }
}
