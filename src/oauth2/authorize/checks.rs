//! The checks of an authorization request, in Hydra's order (hydra-reference §4.2 step 1,
//! §2.2 `/oauth2/auth`), each a short function starting with the rule it enforces. Until the
//! redirect URI is validated, errors go to `urls.error`; after, to the client.

use super::request::{AuthorizeRequest, ResponseMode, ResponseType, Validated};
use crate::client::{Client, ClientStore};
use crate::config::Config;
use crate::consent::OidcContext;
use crate::error::{Error, StoreError};
use crate::jwk::{jws, JsonWebKey};
use crate::oauth2::{scope, Params};
use url::{Host, Url};

/// Why a request was refused, and where the refusal goes.
#[derive(Debug)]
pub enum Rejection {
    /// Before the redirect URI was validated: to `urls.error` (RFC 6749 §4.1.2.1).
    Unverified(Error),
    /// To the client's redirect URI.
    Client {
        error: Error,
        redirect_uri: Url,
        mode: ResponseMode,
        state: String,
    },
}

/// Runs every check; `hint_keys` are the ID-token signing keys (for `id_token_hint`).
pub async fn validate(
    store: &impl ClientStore,
    config: &Config,
    hint_keys: &[JsonWebKey],
    req: &AuthorizeRequest,
) -> Result<Validated, Rejection> {
    let p = &req.params;
    let early = Rejection::Unverified;
    check_no_duplicates(p).map_err(early)?;
    let client = check_client(store, p).await.map_err(early)?;
    check_request_object(p).map_err(early)?;
    let mode = check_response_mode_syntax(p).map_err(early)?;
    let (redirect_uri, redirect_explicit) = check_redirect_uri(&client, p).map_err(early)?;
    check_redirect_uri_is_secure(&redirect_uri).map_err(early)?;

    // The redirect URI is trusted from here on: errors go back to the client, with `state`.
    let state = p
        .one("state")
        .ok()
        .flatten()
        .unwrap_or_default()
        .to_string();
    // Until the response type is known, errors use the requested mode, else the fragment
    // unless only `code` was asked for (never the query for a token).
    let code_only = p.list("response_type") == ["code"];
    let guessed = match mode {
        Some(ResponseMode::Query) | None if code_only => ResponseMode::Query,
        Some(ResponseMode::Query) | None => ResponseMode::Fragment,
        Some(m) => m,
    };
    let to_client_in = |mode: ResponseMode| {
        let redirect_uri = redirect_uri.clone();
        let state = state.clone();
        move |error: Error| Rejection::Client {
            error,
            redirect_uri: redirect_uri.clone(),
            mode,
            state: state.clone(),
        }
    };
    let to_client = to_client_in(guessed);
    let scope = check_scope(config, &client, p).map_err(&to_client)?;
    let audience = check_audience(&client, p).map_err(&to_client)?;
    check_registration(p).map_err(&to_client)?;
    let response_type = check_response_type(&client, &scope, p).map_err(&to_client)?;
    let response_mode = check_response_mode(response_type, mode).map_err(&to_client)?;
    let to_client = to_client_in(response_mode);
    check_state(&state).map_err(&to_client)?;
    let nonce = check_nonce(response_type, p).map_err(&to_client)?;
    let prompt = check_prompt(p).map_err(&to_client)?;
    let max_age = check_max_age(p).map_err(&to_client)?;
    let code_challenge = check_pkce(config, &client, p).map_err(&to_client)?;
    let (hint_subject, hint_claims) = check_id_token_hint(hint_keys, p).map_err(&to_client)?;
    let one = |name: &str| p.one(name).ok().flatten().unwrap_or_default().to_string();
    let oidc_context = OidcContext {
        acr_values: p.list("acr_values"),
        display: one("display"),
        id_token_hint_claims: hint_claims,
        login_hint: one("login_hint"),
        ui_locales: p.list("ui_locales"),
    };
    let login_verifier = p.one("login_verifier").ok().flatten().map(str::to_string);
    let consent_verifier = p.one("consent_verifier").ok().flatten().map(str::to_string);
    Ok(Validated {
        client,
        redirect_uri,
        redirect_explicit,
        response_type,
        response_mode,
        state,
        nonce,
        scope,
        audience,
        prompt,
        max_age,
        hint_subject,
        oidc_context,
        code_challenge,
        login_verifier: login_verifier.filter(|v| !v.is_empty()),
        consent_verifier: consent_verifier.filter(|v| !v.is_empty()),
    })
}

/// RFC 6749 §3.1: parameters "MUST NOT be included more than once". Refused for every
/// parameter that decides where the response goes or what it proves (fosite took the first).
fn check_no_duplicates(p: &Params) -> Result<(), Error> {
    const SINGLE: [&str; 14] = [
        "client_id",
        "redirect_uri",
        "response_type",
        "response_mode",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "request",
        "request_uri",
        "prompt",
        "max_age",
        "id_token_hint",
    ];
    for name in SINGLE {
        p.one(name)?;
    }
    Ok(())
}

/// RFC 6749 §4.1.1: `client_id` is REQUIRED and must name a registered client.
async fn check_client(store: &impl ClientStore, p: &Params) -> Result<Client, Error> {
    let id = p
        .one("client_id")?
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            Error::invalid_client().hint("The request is missing the 'client_id' parameter.")
        })?;
    // A copy up to a couple of seconds old (see `ClientStore::get_client_cached`): every step
    // of a flow passes here. A change made through another instance reaches these checks
    // within that bound; the code exchange authenticates on the stored row, and a deleted
    // client can have nothing stored for it (foreign keys).
    match store.get_client_cached(id).await {
        Ok(client) => Ok(client),
        Err(StoreError::NotFound) => {
            Err(Error::invalid_client().hint("The requested OAuth 2.0 Client does not exist."))
        }
        Err(e) => Err(e.into()),
    }
}

/// OIDC Core §6: request objects are not supported (discovery says so).
fn check_request_object(p: &Params) -> Result<(), Error> {
    if p.one("request")?.is_some_and(|r| !r.is_empty()) {
        return Err(Error::new(
            "request_not_supported",
            "The OP does not support use of the request parameter.",
            400,
        ));
    }
    if p.one("request_uri")?.is_some_and(|r| !r.is_empty()) {
        return Err(Error::new(
            "request_uri_not_supported",
            "The OP does not support use of the request_uri parameter.",
            400,
        ));
    }
    Ok(())
}

/// OAuth 2.0 Multiple Response Types §2.1 and Form Post Response Mode: `response_mode` is
/// `query`, `fragment`, `form_post`, or absent.
fn check_response_mode_syntax(p: &Params) -> Result<Option<ResponseMode>, Error> {
    match p.one("response_mode")?.unwrap_or_default() {
        "" => Ok(None),
        "query" => Ok(Some(ResponseMode::Query)),
        "fragment" => Ok(Some(ResponseMode::Fragment)),
        "form_post" => Ok(Some(ResponseMode::FormPost)),
        other => Err(Error::unsupported_response_mode()
            .hint(format!("Request with unsupported response_mode '{other}'."))),
    }
}

fn is_loopback_ip(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

/// RFC 6749 §3.1.2: the redirect URI must exactly equal a registered one (it may be omitted
/// when exactly one is registered) and must not carry a fragment. RFC 8252 §7.3: for `http` on
/// a loopback IP literal, only the port may differ.
fn check_redirect_uri(client: &Client, p: &Params) -> Result<(Url, bool), Error> {
    let registered = &client.data.redirect_uris;
    let requested = p.one("redirect_uri")?.unwrap_or_default();
    if requested.is_empty() {
        return match registered.as_slice() {
            [only] => Url::parse(only).map(|u| (u, false)).map_err(|e| {
                Error::invalid_request()
                    .hint("The registered redirect URI is not a valid URL.")
                    .debug(e)
            }),
            _ => Err(Error::invalid_request().hint("The 'redirect_uri' parameter is required when the OAuth 2.0 Client has not exactly one registered redirect URI.")),
        };
    }
    let url = Url::parse(requested).map_err(|_| {
        Error::invalid_request().hint("The 'redirect_uri' parameter is not a valid URL.")
    })?;
    if url.fragment().is_some() {
        return Err(Error::invalid_request()
            .hint("The 'redirect_uri' parameter must not contain a fragment."));
    }
    let exact = registered.iter().any(|r| r == requested);
    // Only a URI already in canonical form may use the loopback rule, so that no
    // normalisation (`/cb/../cb`, `%2e`) can make a different string match.
    let loopback = url.scheme() == "http"
        && is_loopback_ip(&url)
        && url.as_str() == requested
        && registered
            .iter()
            .filter_map(|r| Url::parse(r).ok())
            .any(|mut r| r.scheme() == "http" && r.set_port(url.port()).is_ok() && r == url);
    if !exact && !loopback {
        return Err(Error::invalid_request().hint("The 'redirect_uri' parameter does not match any of the OAuth 2.0 Client's pre-registered redirect urls."));
    }
    Ok((url, true))
}

/// RFC 9700 §2.6 / fosite: code-flow redirect URIs use `https`, a private-use scheme, or
/// `http` only on a loopback host.
fn check_redirect_uri_is_secure(url: &Url) -> Result<(), Error> {
    let localhost = match url.host() {
        Some(Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        _ => is_loopback_ip(url),
    };
    if url.scheme() == "http" && !localhost {
        return Err(Error::invalid_request().hint("Redirect URL is using an insecure protocol, http is only allowed for hosts with suffix 'localhost', for example: http://myapp.localhost/."));
    }
    Ok(())
}

/// RFC 6749 §3.3: every requested scope must be allowed by the client's `scope`.
fn check_scope(config: &Config, client: &Client, p: &Params) -> Result<Vec<String>, Error> {
    let requested = p.list("scope");
    let allowed = client.data.scopes();
    for s in &requested {
        if !scope::matches(config.strategies.scope, &allowed, s) {
            return Err(Error::invalid_scope().hint(format!(
                "The OAuth 2.0 Client is not allowed to request scope '{s}'."
            )));
        }
    }
    Ok(requested)
}

/// hydra-reference §5.9: every requested audience must be whitelisted by the client.
fn check_audience(client: &Client, p: &Params) -> Result<Vec<String>, Error> {
    let requested = p.list("audience");
    for a in &requested {
        if !scope::audience_allowed(&client.data.audience, a) {
            return Err(Error::invalid_request().hint(format!(
                "Requested audience '{a}' has not been whitelisted by the OAuth 2.0 Client."
            )));
        }
    }
    Ok(requested)
}

/// OIDC Core §7.2.1: the `registration` parameter is not supported.
fn check_registration(p: &Params) -> Result<(), Error> {
    if p.one("registration")?.is_some_and(|r| !r.is_empty()) {
        return Err(Error::registration_not_supported());
    }
    Ok(())
}

/// RFC 6749 §3.1.1: `response_type` is REQUIRED and must be one the client registered
/// (compared as a set of space-separated values); OIDC Core §3.2/§3.3: `id_token` needs the
/// `openid` scope; hydra-reference §5.5: a code needs the `authorization_code` grant, a token
/// or ID token from the authorization endpoint the `implicit` grant.
fn check_response_type(
    client: &Client,
    scope: &[String],
    p: &Params,
) -> Result<ResponseType, Error> {
    let mut requested = p.list("response_type");
    requested.sort();
    if requested.is_empty() {
        return Err(Error::unsupported_response_type()
            .hint("The request is missing the 'response_type' parameter."));
    }
    let registered = client.data.effective_response_types().iter().any(|r| {
        let mut set: Vec<&str> = r.split(' ').filter(|s| !s.is_empty()).collect();
        set.sort_unstable();
        set == requested
    });
    if !registered {
        return Err(Error::unsupported_response_type().hint(format!(
            "The client is not allowed to request response_type '{}'.",
            requested.join(" ")
        )));
    }
    let mut rt = ResponseType::default();
    for value in &requested {
        match value.as_str() {
            "code" => rt.code = true,
            "token" => rt.token = true,
            "id_token" => rt.id_token = true,
            other => {
                return Err(Error::unsupported_response_type().hint(format!(
                    "The response_type value '{other}' is not supported."
                )))
            }
        }
    }
    if rt.id_token && !scope.iter().any(|s| s == "openid") {
        return Err(Error::unsupported_response_type()
            .hint("The response_type 'id_token' requires the 'openid' scope."));
    }
    let grants = client.data.effective_grant_types();
    let has = |g: &str| grants.iter().any(|x| x == g);
    if rt.code && !has("authorization_code") {
        return Err(Error::unauthorized_client().hint(
            "The OAuth 2.0 Client is not allowed to use the 'authorization_code' grant type.",
        ));
    }
    if (rt.token || rt.id_token) && !has("implicit") {
        return Err(Error::unauthorized_client()
            .hint("The OAuth 2.0 Client is not allowed to use the 'implicit' grant type."));
    }
    Ok(rt)
}

/// OAuth 2.0 Multiple Response Types §2.1 and §5: `code` alone answers in the query by
/// default, anything with a token in the fragment; a token must never travel in a query.
fn check_response_mode(
    rt: ResponseType,
    mode: Option<ResponseMode>,
) -> Result<ResponseMode, Error> {
    match mode {
        None if rt.code_only() => Ok(ResponseMode::Query),
        None => Ok(ResponseMode::Fragment),
        Some(ResponseMode::Query) if !rt.code_only() => Err(Error::unsupported_response_mode()
            .hint(
                "Insecure response_mode 'query': tokens must not be delivered in a query string.",
            )),
        Some(m) => Ok(m),
    }
}

/// fosite: `state` must carry at least 8 characters of entropy.
fn check_state(state: &str) -> Result<(), Error> {
    if state.chars().count() < 8 {
        return Err(Error::invalid_state().hint(format!(
            "Request parameter 'state' must be at least be 8 characters long to ensure sufficient entropy. Got {} characters.",
            state.chars().count()
        )));
    }
    Ok(())
}

/// OIDC Core §3.2.2.1, §3.3.2.11: `nonce` is REQUIRED when an ID token comes from the
/// authorization endpoint; fosite (`insufficient_entropy`): a present one carries at least 8
/// characters.
fn check_nonce(rt: ResponseType, p: &Params) -> Result<String, Error> {
    let nonce = p.one("nonce")?.unwrap_or_default();
    if nonce.is_empty() && rt.id_token {
        return Err(Error::invalid_request()
            .hint("Parameter 'nonce' must be set when requesting an ID token from the authorization endpoint."));
    }
    if !nonce.is_empty() && nonce.chars().count() < 8 {
        return Err(Error::insufficient_entropy().hint(
            "Parameter 'nonce' is set but does not satisfy the minimum entropy of 8 characters.",
        ));
    }
    Ok(nonce.to_string())
}

/// OIDC Core §3.1.2.1: `prompt` is a set of `login`, `consent` (and `select_account`, which
/// we cannot honour), and `none` must stand alone.
fn check_prompt(p: &Params) -> Result<Vec<String>, Error> {
    let prompt = p.list("prompt");
    if let Some(bad) = prompt
        .iter()
        .find(|v| !matches!(v.as_str(), "login" | "consent" | "none"))
    {
        return Err(Error::invalid_request()
            .hint(format!("Used unknown value '{bad}' for prompt parameter.")));
    }
    if prompt.len() > 1 && prompt.iter().any(|v| v == "none") {
        return Err(Error::invalid_request()
            .hint("Parameter 'prompt' was set to 'none', but contains other values as well which is not allowed."));
    }
    Ok(prompt)
}

/// OIDC Core §3.1.2.1: `max_age` is a non-negative number of seconds.
fn check_max_age(p: &Params) -> Result<Option<i64>, Error> {
    match p.one("max_age")?.filter(|m| !m.is_empty()) {
        None => Ok(None),
        Some(m) => m
            .parse::<i64>()
            .ok()
            .filter(|m| *m >= 0)
            .map(Some)
            .ok_or_else(|| {
                Error::invalid_request().hint("Parameter 'max_age' must be a non-negative integer.")
            }),
    }
}

/// RFC 7636 §4.3 and RFC 9700 §2.1.1: only `S256`; a challenge is required when
/// `oauth2.pkce.enforced`, or for public clients with `enforced_for_public_clients`.
fn check_pkce(config: &Config, client: &Client, p: &Params) -> Result<String, Error> {
    let challenge = p.one("code_challenge")?.unwrap_or_default();
    let method = p.one("code_challenge_method")?.unwrap_or_default();
    if challenge.is_empty() {
        let pkce = &config.oauth2.pkce;
        if pkce.enforced || (pkce.enforced_for_public_clients && client.data.is_public()) {
            return Err(Error::invalid_request().hint(
                "Clients must include a code_challenge when performing the authorize code flow, but it is missing.",
            ));
        }
        if !method.is_empty() {
            return Err(Error::invalid_request().hint(
                "The 'code_challenge_method' parameter was sent without a 'code_challenge'.",
            ));
        }
        return Ok(String::new());
    }
    if method != "S256" {
        return Err(Error::invalid_request().hint(
            "The 'code_challenge_method' must be 'S256': plain and absent methods are not allowed.",
        ));
    }
    let well_formed = challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(Error::invalid_request().hint(
            "The 'code_challenge' must be the 43-character base64url SHA-256 of the verifier.",
        ));
    }
    Ok(challenge.to_string())
}

type Claims = serde_json::Map<String, serde_json::Value>;

/// OIDC Core §3.1.2.1: an `id_token_hint` must be an ID token we issued (expired ones are
/// fine) and must name a subject.
fn check_id_token_hint(
    keys: &[JsonWebKey],
    p: &Params,
) -> Result<(Option<String>, Option<Claims>), Error> {
    let Some(hint) = p.one("id_token_hint")?.filter(|h| !h.is_empty()) else {
        return Ok((None, None));
    };
    let claims = jws::verify(hint, keys).map_err(|e| {
        Error::invalid_request()
            .hint("The 'id_token_hint' could not be verified.")
            .debug(e.full_description())
    })?;
    let serde_json::Value::Object(claims) = claims else {
        return Err(Error::invalid_request().hint("The 'id_token_hint' carries no claims."));
    };
    let sub = claims
        .get("sub")
        .and_then(|s| s.as_str())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Error::invalid_request().hint("The 'id_token_hint' does not name a subject ('sub').")
        })?;
    Ok((Some(sub.to_string()), Some(claims)))
}
