//! The login → consent state machine behind `/oauth2/auth` (hydra-reference §4.2–4.5). Each
//! step is one function that reads and writes the store and returns what the browser must see
//! (a redirect, cookies) or what the authorization endpoint needs next; `oauth2::authorize`
//! calls them in order and `http/public/authorize.rs` turns the answers into HTTP. Every error
//! here is delivered to the client's (already validated) redirect URI.

use super::cookie::{CookieKeys, Names, SetCookie};
use super::model::{
    AuthSession, ConsentRequest, HandledConsent, HandledLogin, LoginRequest, OidcContext,
    RequestDenied,
};
use super::store::ConsentStore;
use crate::client::OAuth2Client;
use crate::clock;
use crate::config::Config;
use crate::crypto::random;
use crate::error::{Error, StoreError};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use url::Url;

/// The validated authorization request, as far as login and consent care.
#[derive(Debug, Clone)]
pub struct FlowRequest {
    pub client: OAuth2Client,
    pub requested_scope: Vec<String>,
    pub requested_audience: Vec<String>,
    /// Validated: a subset of `login`, `consent`, or exactly `none`.
    pub prompt: Vec<String>,
    /// `max_age` in seconds, when given.
    pub max_age: Option<i64>,
    /// The `sub` of a decoded `id_token_hint`, when one was given.
    pub hint_subject: Option<String>,
    pub oidc_context: OidcContext,
    /// `<authorization endpoint>?<raw query>`: where the login/consent UI sends the browser
    /// back with the verifier.
    pub request_url: String,
    /// A public client whose redirect URI is neither https nor loopback http: consent is
    /// never skipped for it (hydra-reference §4.5).
    pub insecure_public: bool,
}

impl FlowRequest {
    fn prompt(&self, value: &str) -> bool {
        self.prompt.iter().any(|p| p == value)
    }
}

/// What the steps need from the request and the configuration.
pub struct FlowEnv<'a> {
    pub config: &'a Config,
    pub cookie_keys: &'a CookieKeys,
    pub names: Names,
    /// The request's cookies, name → raw value.
    pub jar: &'a HashMap<String, String>,
}

impl FlowEnv<'_> {
    /// The payload of cookie `name`, if present and correctly signed.
    fn cookie(&self, name: &str) -> Option<String> {
        self.jar
            .get(name)
            .and_then(|v| self.cookie_keys.open(name, v))
    }

    fn seal(&self, name: String, payload: &str, max_age: Option<i64>) -> SetCookie {
        SetCookie {
            value: self.cookie_keys.seal(&name, payload),
            name,
            max_age,
        }
    }
}

/// A step that sends the browser somewhere (the login or consent UI).
#[derive(Debug, Clone)]
pub struct Redirect {
    pub to: Url,
    pub cookies: Vec<SetCookie>,
}

/// A login the user completed (step C).
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub login: LoginRequest,
    pub handled: HandledLogin,
    pub cookies: Vec<SetCookie>,
}

/// A consent the user gave (step D): everything the endpoint needs to issue the grant.
#[derive(Debug, Clone)]
pub struct Consented {
    pub consent: ConsentRequest,
    pub handled: HandledConsent,
    /// The `sub` of ID tokens and userinfo for this client (pairwise or public).
    pub subject_identifier: String,
    pub cookies: Vec<SetCookie>,
}

/// 32 lowercase hex characters from the CSPRNG (challenges, verifiers, CSRF values).
fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    random::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn storage(e: StoreError) -> Error {
    Error::from(e)
}

/// `url` with `key=value` added to (or replacing in) its query.
pub fn with_param(url: &Url, key: &str, value: &str) -> Url {
    let mut out = url.clone();
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != key)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    out.set_query(None);
    {
        let mut q = out.query_pairs_mut();
        for (k, v) in &kept {
            q.append_pair(k, v);
        }
        q.append_pair(key, value);
    }
    out
}

/// The error a login/consent UI rejected the request with, as sent to the client.
pub fn denied(d: &RequestDenied, default: &'static str) -> Error {
    let name = if d.error.is_empty() {
        default.to_string()
    } else {
        d.error.clone()
    };
    let status = if d.status_code == 0 {
        400
    } else {
        d.status_code
    };
    let mut e = Error::new(name, d.error_description.clone(), status);
    if !d.error_hint.is_empty() {
        e = e.hint(d.error_hint.clone());
    }
    if !d.error_debug.is_empty() {
        e = e.debug(&d.error_debug);
    }
    e
}

/// The subject identifier of `subject` at `client` (hydra-reference §5.10): a forced
/// identifier, else the pairwise hash for pairwise clients, else the subject itself.
pub fn subject_identifier(
    config: &Config,
    client: &OAuth2Client,
    subject: &str,
    forced: &str,
) -> Result<String, Error> {
    if client.subject_type != "pairwise" {
        return Ok(subject.to_string());
    }
    if !forced.is_empty() {
        return Ok(forced.to_string());
    }
    let sector = if !client.sector_identifier_uri.is_empty() {
        client.sector_identifier_uri.clone()
    } else {
        let [only] = client.redirect_uris.as_slice() else {
            return Err(Error::invalid_request().hint("The OAuth 2.0 Client uses pairwise subject identifiers but has several or no redirect URIs and no sector_identifier_uri."));
        };
        let url = Url::parse(only).map_err(|e| Error::invalid_request().debug(e))?;
        match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => return Err(Error::invalid_request().hint("The redirect URI has no host.")),
        }
    };
    let mut h = Sha256::new();
    h.update(sector.as_bytes());
    h.update(subject.as_bytes());
    h.update(config.oidc.subject_identifiers.pairwise.salt.as_bytes());
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether an `id_token_hint`'s `sub` names `subject` at this client.
async fn hint_matches(
    store: &impl ConsentStore,
    config: &Config,
    client: &OAuth2Client,
    subject: &str,
    hint_sub: &str,
) -> Result<bool, Error> {
    if hint_sub == subject {
        return Ok(true);
    }
    let forced = store
        .get_forced_subject(subject, &client.client_id)
        .await
        .map_err(storage)?
        .unwrap_or_default();
    if !forced.is_empty() && forced == hint_sub {
        return Ok(true);
    }
    Ok(subject_identifier(config, client, subject, "")? == hint_sub)
}

/// A remembered authentication session the request may reuse, if any (§4.2 step 2).
async fn remembered_session(
    store: &impl ConsentStore,
    env: &FlowEnv<'_>,
    now: DateTime<Utc>,
) -> Result<Option<AuthSession>, Error> {
    let Some(sid) = env.cookie(&env.names.auth_session()) else {
        return Ok(None);
    };
    match store.get_auth_session(&sid).await {
        Ok(s)
            if s.remember
                && !s.subject.is_empty()
                && s.authenticated_at.is_some()
                && s.expires_at.is_none_or(|e| e > now) =>
        {
            Ok(Some(s))
        }
        Ok(_) | Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(storage(e)),
    }
}

/// Step A (§4.2 steps 2–3): decides whether the user must log in (or may skip), stores the
/// login request and sends the browser to the login UI.
pub async fn start_login(
    store: &impl ConsentStore,
    env: &FlowEnv<'_>,
    req: &FlowRequest,
    now: DateTime<Utc>,
) -> Result<Redirect, Error> {
    let now = now.trunc_subsecs(0);
    let mut reuse = if req.prompt("login") {
        None
    } else {
        remembered_session(store, env, now).await?
    };
    if let (Some(s), Some(max_age)) = (&reuse, req.max_age.filter(|m| *m > 0)) {
        let authenticated_at = s.authenticated_at.unwrap_or(now);
        if authenticated_at + Duration::seconds(max_age) < now {
            if req.prompt("none") {
                return Err(Error::login_required()
                    .hint("Request failed because prompt is set to 'none' and authentication time reached 'max_age'."));
            }
            reuse = None;
        }
    }
    if let (Some(s), Some(hint)) = (&reuse, &req.hint_subject) {
        if !hint_matches(store, env.config, &req.client, &s.subject, hint).await? {
            return Err(Error::login_required()
                .hint("The subject of the id_token_hint does not match the authenticated user."));
        }
    }
    if reuse.is_none() && req.prompt("none") {
        return Err(Error::login_required()
            .hint("Prompt 'none' was requested, but no existing login session was found."));
    }
    // A new login opens a stub session, stored with the request (one store call).
    let stub = reuse.is_none().then(|| AuthSession {
        id: random::uuid(),
        authenticated_at: None,
        subject: String::new(),
        remember: false,
        // A stub lives as long as its login request may: the janitor clears abandoned ones;
        // a completed login sets the real expiry.
        expires_at: Some(clock::later(now, env.config.ttl.login_consent_request)),
    });
    let session_id = reuse
        .as_ref()
        .or(stub.as_ref())
        .map(|s| s.id.clone())
        .unwrap_or_default();
    let login = LoginRequest {
        challenge: random_hex(),
        verifier: random_hex(),
        csrf: random_hex(),
        requested_scope: req.requested_scope.clone(),
        requested_audience: req.requested_audience.clone(),
        subject: reuse
            .as_ref()
            .map(|s| s.subject.clone())
            .unwrap_or_default(),
        request_url: req.request_url.clone(),
        skip: reuse.is_some(),
        client_id: req.client.client_id.clone(),
        requested_at: now,
        authenticated_at: reuse.as_ref().and_then(|s| s.authenticated_at),
        oidc_context: req.oidc_context.clone(),
        session_id,
    };
    store
        .insert_login_request_with_session(stub.as_ref(), &login)
        .await
        .map_err(storage)?;
    let csrf = env.seal(env.names.login_csrf(&login.challenge), &login.csrf, None);
    Ok(Redirect {
        to: with_param(&env.config.urls.login, "login_challenge", &login.challenge),
        cookies: vec![csrf],
    })
}

/// Step C (§4.4): spends the login verifier and checks the login UI's answer.
pub async fn verify_login(
    store: &impl ConsentStore,
    env: &FlowEnv<'_>,
    req: &FlowRequest,
    verifier: &str,
    now: DateTime<Utc>,
) -> Result<Authenticated, Error> {
    let (login, handled) = match store.use_login_verifier(verifier).await {
        Ok(found) => found,
        Err(StoreError::NotFound) => {
            return Err(Error::access_denied()
                .hint("The login verifier is unknown or the login request was not answered."))
        }
        Err(StoreError::Conflict) => {
            return Err(Error::access_denied().hint("The login verifier has already been used."))
        }
        Err(e) => return Err(storage(e)),
    };
    // Verifiers are bound to the flow's client: another client's verifier is worthless here.
    if login.client_id != req.client.client_id {
        return Err(Error::invalid_client()
            .hint("The login verifier belongs to a flow of another OAuth 2.0 Client."));
    }
    if let Some(error) = &handled.error {
        return Err(denied(error, "login request denied"));
    }
    if clock::later(login.requested_at, env.config.ttl.login_consent_request) < now {
        return Err(
            Error::request_unauthorized().hint("The login request has expired, please try again.")
        );
    }
    let csrf_name = env.names.login_csrf(&login.challenge);
    if env.cookie(&csrf_name).as_deref() != Some(login.csrf.as_str()) {
        return Err(Error::request_forbidden().hint("The CSRF value from the login cookie is missing or does not match the login request. Make sure cookies are enabled and the flow runs in one browser."));
    }
    let mut cookies = vec![SetCookie::clear(csrf_name)];
    if login.skip && handled.subject != login.subject {
        store
            .delete_auth_session(&login.session_id)
            .await
            .map_err(storage)?;
        return Err(Error::server_error()
            .hint("The login was accepted for another subject than the remembered session's."));
    }
    let subject_id = subject_identifier(
        env.config,
        &req.client,
        &handled.subject,
        &handled.forced_subject_identifier,
    )?;
    if let Err(e) = check_prompt(req, &handled, &login, &subject_id) {
        // A login that does not satisfy the request also ends the session (§4.4 step 7).
        store
            .delete_auth_session(&login.session_id)
            .await
            .map_err(storage)?;
        return Err(e);
    }
    if !handled.forced_subject_identifier.is_empty() {
        store
            .set_forced_subject(
                &handled.subject,
                &req.client.client_id,
                &handled.forced_subject_identifier,
            )
            .await
            .map_err(storage)?;
    }
    if !login.skip {
        let remember_for = (handled.remember && handled.remember_for > 0)
            .then(|| std::time::Duration::from_secs(handled.remember_for.unsigned_abs()));
        let session = AuthSession {
            id: login.session_id.clone(),
            authenticated_at: handled.authenticated_at,
            subject: handled.subject.clone(),
            remember: handled.remember,
            expires_at: Some(clock::later(
                now,
                remember_for
                    .unwrap_or(env.config.ttl.authentication_session)
                    .min(env.config.ttl.authentication_session),
            )),
        };
        store.update_auth_session(&session).await.map_err(storage)?;
        let name = env.names.auth_session();
        if handled.remember {
            let max_age = (handled.remember_for > 0).then_some(handled.remember_for);
            cookies.push(env.seal(name, &login.session_id, max_age));
        } else {
            // Not remembered: the browser forgets its previous session too.
            if let Some(previous) = env.cookie(&name) {
                if previous != login.session_id {
                    store
                        .delete_auth_session(&previous)
                        .await
                        .map_err(storage)?;
                }
            }
            cookies.push(SetCookie::clear(name));
        }
    }
    Ok(Authenticated {
        login,
        handled,
        cookies,
    })
}

/// fosite's prompt/max_age/hint checks against the completed login (§4.4 step 7).
fn check_prompt(
    req: &FlowRequest,
    handled: &HandledLogin,
    login: &LoginRequest,
    subject_id: &str,
) -> Result<(), Error> {
    let auth_time = handled.authenticated_at.unwrap_or(login.requested_at);
    let rat = login.requested_at;
    if let Some(max_age) = req.max_age.filter(|m| *m > 0) {
        if auth_time + Duration::seconds(max_age) < rat {
            return Err(
                Error::login_required().hint("The authentication time does not satisfy 'max_age'.")
            );
        }
    }
    if req.prompt("none") && auth_time > rat {
        return Err(Error::login_required()
            .hint("Prompt 'none' was requested, but the user had to log in."));
    }
    if req.prompt("login") && auth_time < rat {
        return Err(Error::login_required()
            .hint("Prompt 'login' was requested, but the user did not log in again."));
    }
    if let Some(hint) = &req.hint_subject {
        if hint != subject_id && *hint != handled.subject {
            return Err(Error::login_required()
                .hint("The subject of the id_token_hint does not match the authenticated user."));
        }
    }
    Ok(())
}

/// Step D (§4.5): decides whether consent may be skipped, stores the consent request and
/// sends the browser to the consent UI. `covered(granted, scope)` applies the scope strategy.
pub async fn start_consent(
    store: &impl ConsentStore,
    env: &FlowEnv<'_>,
    req: &FlowRequest,
    auth: &Authenticated,
    covered: impl Fn(&[String], &str) -> bool,
    now: DateTime<Utc>,
) -> Result<Redirect, Error> {
    let subject = &auth.handled.subject;
    let skip = if req.prompt("consent") || req.insecure_public {
        false
    } else {
        match store
            .find_remembered_consent(subject, &req.client.client_id)
            .await
            .map_err(storage)?
        {
            Some((previous, handled)) => {
                let expired = handled.remember_for > 0
                    && previous.requested_at + Duration::seconds(handled.remember_for) < now;
                !expired
                    && req
                        .requested_scope
                        .iter()
                        .all(|s| covered(&handled.granted_scope, s))
            }
            None => false,
        }
    };
    if req.prompt("none") && !skip {
        return Err(Error::consent_required().hint(
            "Prompt 'none' was requested, but no previous consent covers the requested scopes.",
        ));
    }
    let login = &auth.login;
    let consent = ConsentRequest {
        challenge: random_hex(),
        verifier: random_hex(),
        csrf: random_hex(),
        client_id: req.client.client_id.clone(),
        subject: subject.clone(),
        request_url: login.request_url.clone(),
        skip,
        requested_scope: req.requested_scope.clone(),
        requested_audience: req.requested_audience.clone(),
        authenticated_at: auth.handled.authenticated_at,
        requested_at: login.requested_at,
        oidc_context: login.oidc_context.clone(),
        forced_subject_identifier: auth.handled.forced_subject_identifier.clone(),
        login_session_id: Some(login.session_id.clone()),
        login_challenge: Some(login.challenge.clone()),
        acr: auth.handled.acr.clone(),
        context: auth.handled.context.clone(),
    };
    store
        .insert_consent_request(&consent)
        .await
        .map_err(storage)?;
    let mut cookies = auth.cookies.clone();
    cookies.push(env.seal(
        env.names.consent_csrf(&consent.challenge),
        &consent.csrf,
        None,
    ));
    Ok(Redirect {
        to: with_param(
            &env.config.urls.consent,
            "consent_challenge",
            &consent.challenge,
        ),
        cookies,
    })
}

/// Step D's return (§4.5 `verifyConsent`): spends the consent verifier and checks the answer.
pub async fn verify_consent(
    store: &impl ConsentStore,
    env: &FlowEnv<'_>,
    req: &FlowRequest,
    verifier: &str,
    now: DateTime<Utc>,
) -> Result<Consented, Error> {
    let (consent, handled) = match store.use_consent_verifier(verifier).await {
        Ok(found) => found,
        Err(StoreError::NotFound) => {
            return Err(Error::access_denied()
                .hint("The consent verifier is unknown or the consent request was not answered."))
        }
        Err(StoreError::Conflict) => {
            return Err(Error::access_denied().hint("The consent verifier has already been used."))
        }
        Err(e) => return Err(storage(e)),
    };
    if consent.client_id != req.client.client_id {
        return Err(Error::invalid_client()
            .hint("The consent verifier belongs to a flow of another OAuth 2.0 Client."));
    }
    if clock::later(consent.requested_at, env.config.ttl.login_consent_request) < now {
        return Err(Error::request_unauthorized()
            .hint("The consent request has expired, please try again."));
    }
    if let Some(error) = &handled.error {
        return Err(denied(error, "consent request denied"));
    }
    if consent.authenticated_at.is_none() {
        return Err(Error::server_error().hint("The consent request has no authentication time."));
    }
    let csrf_name = env.names.consent_csrf(&consent.challenge);
    if env.cookie(&csrf_name).as_deref() != Some(consent.csrf.as_str()) {
        return Err(Error::request_forbidden().hint("The CSRF value from the consent cookie is missing or does not match the consent request. Make sure cookies are enabled and the flow runs in one browser."));
    }
    let subject_identifier = subject_identifier(
        env.config,
        &req.client,
        &consent.subject,
        &consent.forced_subject_identifier,
    )?;
    Ok(Consented {
        consent,
        handled,
        subject_identifier,
        cookies: vec![SetCookie::clear(csrf_name)],
    })
}
