//! Logout (hydra-reference §4.7; OpenID Connect RP-Initiated, Front-Channel and Back-Channel
//! Logout 1.0): `/oauth2/sessions/logout` starts a logout from the browser's session cookie
//! or from an RP's `id_token_hint`, the logout UI confirms it through the admin API
//! (`admin.rs`), and the browser returns with the single-use verifier to end the session:
//! cookie expired, session deleted, every participating client told (`channels.rs`). The
//! HTTP layer renders the outcome: a redirect, or the front-channel page.
//! May import: `client`, `jwk`, `config`, `crypto`, `clock`, `error`, `consent`.

pub mod admin;
pub mod channels;
pub mod hint;
pub mod store;

use super::cookie::{CookieKeys, Names, SetCookie};
use super::flow::{subject_identifier, with_param};
use super::model::AuthSession;
use super::store::ConsentStore;
use crate::client::ClientStore;
use crate::config::Config;
use crate::crypto::random;
use crate::error::{Error, StoreError};
use crate::jwk::{jws, KeyManager, KeyStore, ID_TOKEN_SET};
use channels::{Delivery, Participant};
use chrono::{DateTime, SubsecRound, Utc};
use std::collections::HashMap;
pub use store::{LogoutStore, SessionClient};
use url::Url;

/// A logout request (`hydra_oauth2_logout_request`).
#[derive(Debug, Clone, PartialEq)]
pub struct LogoutRequest {
    /// UUID; the logout UI's handle.
    pub challenge: String,
    /// UUID; spent once by the browser to complete the logout.
    pub verifier: String,
    pub subject: String,
    /// The authentication session to end.
    pub sid: String,
    /// The client of an RP-initiated logout.
    pub client_id: Option<String>,
    /// Path and query of the original `/oauth2/sessions/logout` request.
    pub request_url: String,
    /// Where the browser goes when the logout is done.
    pub redir_url: String,
    pub was_used: bool,
    pub accepted: bool,
    pub rejected: bool,
    pub rp_initiated: bool,
    pub requested_at: DateTime<Utc>,
}

/// The parameters of `/oauth2/sessions/logout` (query, plus the form of a POST); an empty
/// value counts as absent, as in Hydra.
#[derive(Debug, Clone, Default)]
pub struct LogoutParams {
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub logout_verifier: Option<String>,
}

impl LogoutParams {
    /// From name/value pairs; the first value of a repeated parameter wins.
    pub fn from_pairs(pairs: &[(String, String)]) -> LogoutParams {
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        LogoutParams {
            id_token_hint: get("id_token_hint"),
            post_logout_redirect_uri: get("post_logout_redirect_uri"),
            state: get("state"),
            logout_verifier: get("logout_verifier"),
        }
    }
}

/// What logout needs, borrowed from the application state and the request.
pub struct LogoutCtx<'a, S> {
    pub store: &'a S,
    pub keys: &'a KeyManager,
    pub config: &'a Config,
    pub cookie_keys: &'a CookieKeys,
    /// The request's cookies, name → raw value.
    pub jar: &'a HashMap<String, String>,
}

impl<S> LogoutCtx<'_, S> {
    fn names(&self) -> Names {
        Names {
            insecure: self.config.force_http(),
        }
    }
}

/// Where the browser goes, and what happened on the way.
#[derive(Debug, Clone)]
pub struct LogoutOutcome {
    /// The next stop: the logout UI, the post-logout URL.
    pub to: Url,
    pub cookies: Vec<SetCookie>,
    /// Front-channel URLs to load before going on (only when a logout completed).
    pub frontchannel: Vec<Url>,
    /// How each back-channel call ended, by client id.
    pub backchannel: Vec<(String, Delivery)>,
}

impl LogoutOutcome {
    fn redirect(to: Url) -> LogoutOutcome {
        LogoutOutcome {
            to,
            cookies: Vec::new(),
            frontchannel: Vec::new(),
            backchannel: Vec::new(),
        }
    }
}

/// Hydra's answer to a verifier it cannot use (`x.ErrNotFound`), sent to `urls.error`.
fn verifier_not_found() -> Error {
    Error::new("Not Found", "Unable to located the requested resource", 404)
        .hint("The logout verifier is unknown, was not accepted, or has already been used.")
}

/// The live, remembered session a session id names, if any.
async fn live_session(
    store: &impl ConsentStore,
    sid: &str,
    now: DateTime<Utc>,
) -> Result<Option<AuthSession>, Error> {
    match store.get_auth_session(sid).await {
        Ok(s)
            if s.remember
                && !s.subject.is_empty()
                && s.authenticated_at.is_some()
                && s.expires_at.is_none_or(|e| e > now) =>
        {
            Ok(Some(s))
        }
        Ok(_) | Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The live session behind the browser's signed session cookie, if any.
async fn cookie_session<S: ConsentStore>(
    ctx: &LogoutCtx<'_, S>,
    now: DateTime<Utc>,
) -> Result<Option<AuthSession>, Error> {
    let name = ctx.names().auth_session();
    let Some(sid) = ctx
        .jar
        .get(&name)
        .and_then(|v| ctx.cookie_keys.open(&name, v))
    else {
        return Ok(None);
    };
    live_session(ctx.store, &sid, now).await
}

/// Handles one request to `/oauth2/sessions/logout`. `request_url` is its path and query.
/// Errors are meant for `urls.error`.
pub async fn logout<S>(
    ctx: &LogoutCtx<'_, S>,
    params: &LogoutParams,
    request_url: &str,
    now: DateTime<Utc>,
) -> Result<LogoutOutcome, Error>
where
    S: ClientStore + ConsentStore + LogoutStore + KeyStore + Sync,
{
    if let Some(verifier) = &params.logout_verifier {
        return complete(ctx, verifier, now).await;
    }
    match &params.id_token_hint {
        None => start_from_cookie(ctx, params, request_url, now).await,
        Some(hint) => start_from_hint(ctx, params, hint, request_url, now).await,
    }
}

/// Stores a logout request and sends the browser to the logout UI.
async fn ask_logout_ui(
    store: &impl LogoutStore,
    config: &Config,
    request: LogoutRequest,
) -> Result<LogoutOutcome, Error> {
    store.insert_logout_request(&request).await?;
    Ok(LogoutOutcome::redirect(with_param(
        &config.urls.logout,
        "logout_challenge",
        &request.challenge,
    )))
}

fn new_request(
    session: &AuthSession,
    client_id: Option<String>,
    request_url: &str,
    redir: &Url,
    now: DateTime<Utc>,
) -> LogoutRequest {
    LogoutRequest {
        challenge: random::uuid(),
        verifier: random::uuid(),
        subject: session.subject.clone(),
        sid: session.id.clone(),
        rp_initiated: client_id.is_some(),
        client_id,
        request_url: request_url.to_string(),
        redir_url: redir.to_string(),
        was_used: false,
        accepted: false,
        rejected: false,
        requested_at: now.trunc_subsecs(0),
    }
}

/// A logout without `id_token_hint`: only the session cookie says who leaves, and the user
/// must confirm in the logout UI (security-cases #94: a third-party page cannot log the user
/// out silently). Nothing may send the browser anywhere but `urls.post_logout_redirect`.
async fn start_from_cookie<S>(
    ctx: &LogoutCtx<'_, S>,
    params: &LogoutParams,
    request_url: &str,
    now: DateTime<Utc>,
) -> Result<LogoutOutcome, Error>
where
    S: ConsentStore + LogoutStore,
{
    // RP-Initiated Logout §3: the OP must not redirect to a post_logout_redirect_uri it
    // cannot tie to a client; without a hint there is none.
    if params.state.is_some() {
        return Err(Error::invalid_request().hint(
            "Logout failed because query parameter state is set but id_token_hint is missing.",
        ));
    }
    if params.post_logout_redirect_uri.is_some() {
        return Err(Error::invalid_request().hint("Logout failed because query parameter post_logout_redirect_uri is set but id_token_hint is missing."));
    }
    let target = &ctx.config.urls.post_logout_redirect;
    let Some(session) = cookie_session(ctx, now).await? else {
        return Ok(LogoutOutcome::redirect(target.clone()));
    };
    let request = new_request(&session, None, request_url, target, now);
    ask_logout_ui(ctx.store, ctx.config, request).await
}

/// An RP-initiated logout (RP-Initiated Logout 1.0 §2–3): the hint must be an ID token we
/// issued, naming a session; the redirect target must be one the client registered.
async fn start_from_hint<S>(
    ctx: &LogoutCtx<'_, S>,
    params: &LogoutParams,
    token: &str,
    request_url: &str,
    now: DateTime<Utc>,
) -> Result<LogoutOutcome, Error>
where
    S: ClientStore + ConsentStore + LogoutStore + KeyStore + Sync,
{
    let keys = ctx
        .keys
        .public_keys(ctx.store, &[ID_TOKEN_SET.to_string()])
        .await?;
    let claims = jws::verify(token, &keys.keys).map_err(|e| {
        Error::invalid_request()
            .hint("Logout failed because the 'id_token_hint' could not be verified.")
            .debug(e.full_description())
    })?;
    let hint = hint::check(&claims, ctx.config.urls.issuer.as_str(), now)?;
    let mut client = None;
    for aud in &hint.audience {
        match ctx.store.get_client(aud).await {
            Ok(c) => {
                client = Some(c.data);
                break;
            }
            Err(StoreError::NotFound) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    let client = client.ok_or_else(|| {
        Error::invalid_request().hint(
            "Logout failed because no audience of the 'id_token_hint' is a registered OAuth 2.0 Client.",
        )
    })?;
    // RP-Initiated Logout §3: the URI "MUST have been previously registered with the OP",
    // compared exactly (a changed query or path is another URI, security-cases #92).
    let target = match &params.post_logout_redirect_uri {
        Some(uri) => {
            if !client.post_logout_redirect_uris.iter().any(|r| r == uri) {
                return Err(Error::invalid_request().hint("Logout failed because query parameter post_logout_redirect_uri is not a registered post_logout_redirect_uri of the OAuth 2.0 Client."));
            }
            let url = Url::parse(uri).map_err(|e| {
                Error::invalid_request()
                    .hint("The post_logout_redirect_uri is not a URL.")
                    .debug(e)
            })?;
            match &params.state {
                Some(state) => with_param(&url, "state", state),
                None => url,
            }
        }
        None => ctx.config.urls.post_logout_redirect.clone(),
    };
    // Nothing to end: the session is gone, or the hint names someone else's session.
    let Some(session) = live_session(ctx.store, &hint.sid, now).await? else {
        return Ok(LogoutOutcome::redirect(target));
    };
    if !names_subject(ctx, &client, &session.subject, &hint.subject).await? {
        return Ok(LogoutOutcome::redirect(target));
    }
    let request = new_request(
        &session,
        Some(client.client_id.clone()),
        request_url,
        &target,
        now,
    );
    ask_logout_ui(ctx.store, ctx.config, request).await
}

/// Whether a hint's `sub` is `subject` as `client` knows it (public, pairwise or forced).
async fn names_subject<S: ConsentStore>(
    ctx: &LogoutCtx<'_, S>,
    client: &crate::client::OAuth2Client,
    subject: &str,
    hint_sub: &str,
) -> Result<bool, Error> {
    if hint_sub == subject {
        return Ok(true);
    }
    let forced = ctx
        .store
        .get_forced_subject(subject, &client.client_id)
        .await?
        .unwrap_or_default();
    if !forced.is_empty() && forced == hint_sub {
        return Ok(true);
    }
    Ok(subject_identifier(ctx.config, client, subject, "").is_ok_and(|s| s == hint_sub))
}

/// Completion (§4.7 "Completion"): spends the verifier, ends the session(s), expires the
/// cookie and tells every participating client.
async fn complete<S>(
    ctx: &LogoutCtx<'_, S>,
    verifier: &str,
    now: DateTime<Utc>,
) -> Result<LogoutOutcome, Error>
where
    S: ClientStore + ConsentStore + LogoutStore + KeyStore + Sync,
{
    let request = match ctx.store.use_logout_verifier(verifier).await {
        Ok(r) => r,
        Err(StoreError::NotFound) => return Err(verifier_not_found()),
        Err(e) => return Err(e.into()),
    };
    let target = Url::parse(&request.redir_url).map_err(|e| Error::server_error().debug(e))?;
    let current = cookie_session(ctx, now).await?;
    let same_subject = current
        .as_ref()
        .is_some_and(|s| s.subject == request.subject);
    // Hydra 1.10.3 (consent/strategy_default.go, completeLogout): a cookie logout whose
    // cookie is gone or now belongs to another user does nothing (security-cases #97).
    if !request.rp_initiated && !same_subject {
        return Ok(LogoutOutcome::redirect(target));
    }
    let mut sids = vec![request.sid.clone()];
    if let Some(s) = current.as_ref().filter(|_| same_subject) {
        if s.id != request.sid {
            // The same user logged in again meanwhile: that session ends too.
            sids.push(s.id.clone());
        }
    }
    let mut participants = Vec::new();
    for sid in &sids {
        for client_id in ctx.store.end_session(sid, &request.subject).await? {
            match ctx.store.get_client(&client_id).await {
                Ok(c) => participants.push(Participant {
                    sid: sid.clone(),
                    subject: request.subject.clone(),
                    client: c.data,
                }),
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    // The cookie goes unless it holds another user's live session (an RP-initiated logout
    // must not log out whoever uses the browser now).
    let mut cookies = Vec::new();
    let name = ctx.names().auth_session();
    if ctx.jar.contains_key(&name) && (current.is_none() || same_subject) {
        cookies.push(SetCookie::clear(name));
    }
    let notices = channels::notices(ctx.store, ctx.keys, ctx.config, &participants, now).await?;
    Ok(LogoutOutcome {
        to: target,
        cookies,
        frontchannel: channels::frontchannel_urls(ctx.config, &participants),
        backchannel: channels::send(notices).await,
    })
}

/// `DELETE /oauth2/auth/sessions/login?subject=`: ends every authentication session of
/// `subject` and, unlike Hydra 1.10.3, sends back-channel logout tokens to the clients that
/// took part in them.
pub async fn revoke_authentication_sessions<S>(
    store: &S,
    keys: &KeyManager,
    config: &Config,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<Vec<(String, Delivery)>, Error>
where
    S: ClientStore + ConsentStore + LogoutStore + KeyStore + Sync,
{
    if subject.is_empty() {
        return Err(Error::invalid_request()
            .hint("Query parameter 'subject' is not defined but should have been."));
    }
    let mut participants = Vec::new();
    for SessionClient { sid, client_id } in store.end_subject_sessions(subject).await? {
        match store.get_client(&client_id).await {
            Ok(c) => participants.push(Participant {
                sid,
                subject: subject.to_string(),
                client: c.data,
            }),
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let notices = channels::notices(store, keys, config, &participants, now).await?;
    Ok(channels::send(notices).await)
}
