//! The authorization endpoint (`/oauth2/auth`, hydra-reference §2.2, §4): checks the request
//! (`checks.rs`), walks the login → consent state machine (`consent::flow`), and when consent
//! is given issues what the response type asks for — a code, an access token, an ID token —
//! through the token engine (`response.rs` shapes the delivery: query, fragment or form post).
//! The HTTP layer only renders the answer.

pub mod checks;
pub mod request;
pub mod response;

use crate::client::ClientStore;
use crate::config::Config;
use crate::consent::cookie::{CookieKeys, Names, SetCookie};
use crate::consent::flow::{self, Consented, FlowEnv, FlowRequest};
use crate::consent::ConsentStore;
use crate::error::Error;
use crate::jwk::{KeyManager, KeyStore, ID_TOKEN_SET};
use crate::oauth2::id_token::{self, IssuedWith};
use crate::oauth2::scope;
use crate::token::{CodeBinding, Grant, IdTokenClaims, TokenEngine, TokenStore};
use checks::Rejection;
use chrono::{DateTime, SubsecRound, Utc};
use request::{AuthorizeRequest, Validated};
use response::Delivery;
use std::collections::HashMap;
use url::{Host, Url};

/// What the endpoint needs, borrowed from the application state.
pub struct AuthorizeCtx<'a, S> {
    pub store: &'a S,
    pub engine: &'a TokenEngine,
    pub keys: &'a KeyManager,
    pub config: &'a Config,
    pub cookie_keys: &'a CookieKeys,
}

/// Where the browser goes next, and the cookies it gets on the way.
#[derive(Debug, Clone)]
pub struct Answer {
    pub delivery: Delivery,
    pub cookies: Vec<SetCookie>,
}

impl Answer {
    fn redirect(to: Url, cookies: Vec<SetCookie>) -> Answer {
        Answer {
            delivery: Delivery::Redirect(to),
            cookies,
        }
    }
}

/// The public URL of this endpoint (`webfinger.oidc_discovery.auth_url` or
/// `<urls.self.public>/oauth2/auth`): the base of every login request's `request_url`.
pub fn endpoint_url(config: &Config) -> String {
    match &config.webfinger.oidc_discovery.auth_url {
        Some(url) if !url.is_empty() => url.clone(),
        _ => format!("{}oauth2/auth", config.urls.public),
    }
}

/// Handles one request to `/oauth2/auth`. `jar` holds the request's cookies.
pub async fn authorize<S>(
    ctx: &AuthorizeCtx<'_, S>,
    req: &AuthorizeRequest,
    jar: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Answer
where
    S: ClientStore + ConsentStore + TokenStore + KeyStore + Sync,
{
    let config = ctx.config;
    let hint_keys = if req.params.one("id_token_hint").ok().flatten().is_some() {
        match ctx
            .keys
            .public_keys(ctx.store, &[ID_TOKEN_SET.to_string()])
            .await
        {
            Ok(set) => set.keys,
            Err(e) => return error_page(&e, config),
        }
    } else {
        Vec::new()
    };
    let v = match checks::validate(ctx.store, config, &hint_keys, req).await {
        Ok(v) => v,
        Err(Rejection::Unverified(e)) => return error_page(&e, config),
        Err(Rejection::Client {
            error,
            redirect_uri,
            mode,
            state,
        }) => {
            return Answer {
                delivery: response::to_client(&error, config, &redirect_uri, mode, &state),
                cookies: Vec::new(),
            }
        }
    };
    match run(ctx, req, &v, jar, now).await {
        Ok(answer) => answer,
        Err(e) => Answer {
            delivery: response::to_client(&e, config, &v.redirect_uri, v.response_mode, &v.state),
            cookies: Vec::new(),
        },
    }
}

fn error_page(e: &Error, config: &Config) -> Answer {
    Answer {
        delivery: response::to_error_page(e, config),
        cookies: Vec::new(),
    }
}

/// A public client whose redirect URI is neither `https` nor `http` on a localhost host.
fn insecure_public(v: &Validated) -> bool {
    let localhost = match v.redirect_uri.host() {
        Some(Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    let secure =
        v.redirect_uri.scheme() == "https" || (v.redirect_uri.scheme() == "http" && localhost);
    v.client.data.is_public() && !secure
}

async fn run<S>(
    ctx: &AuthorizeCtx<'_, S>,
    req: &AuthorizeRequest,
    v: &Validated,
    jar: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<Answer, Error>
where
    S: ClientStore + ConsentStore + TokenStore + KeyStore + Sync,
{
    let env = FlowEnv {
        config: ctx.config,
        cookie_keys: ctx.cookie_keys,
        names: Names {
            insecure: ctx.config.force_http(),
        },
        jar,
    };
    let flow_req = FlowRequest {
        client: v.client.data.clone(),
        requested_scope: v.scope.clone(),
        requested_audience: v.audience.clone(),
        prompt: v.prompt.clone(),
        max_age: v.max_age,
        hint_subject: v.hint_subject.clone(),
        oidc_context: v.oidc_context.clone(),
        request_url: format!("{}?{}", endpoint_url(ctx.config), req.raw_query),
        insecure_public: insecure_public(v),
    };
    if let Some(verifier) = &v.consent_verifier {
        let consented = flow::verify_consent(ctx.store, &env, &flow_req, verifier, now).await?;
        return finish(ctx, v, consented, now).await;
    }
    if let Some(verifier) = &v.login_verifier {
        let auth = flow::verify_login(ctx.store, &env, &flow_req, verifier, now).await?;
        let strategy = ctx.config.strategies.scope;
        let redirect = flow::start_consent(
            ctx.store,
            &env,
            &flow_req,
            &auth,
            |granted, s| scope::matches(strategy, granted, s),
            now,
        )
        .await?;
        return Ok(Answer::redirect(redirect.to, redirect.cookies));
    }
    let redirect = flow::start_login(ctx.store, &env, &flow_req, now).await?;
    Ok(Answer::redirect(redirect.to, redirect.cookies))
}

/// Consent was given: issue the code and send it to the client (§4.5 "Then the authorization
/// endpoint finishes").
async fn finish<S>(
    ctx: &AuthorizeCtx<'_, S>,
    v: &Validated,
    c: Consented,
    now: DateTime<Utc>,
) -> Result<Answer, Error>
where
    S: ClientStore + ConsentStore + TokenStore + KeyStore + Sync,
{
    // Least privilege (RFC 9700 §2.3): a consent app cannot grant a scope that was not
    // requested, nor an audience the client is not allowed.
    let granted_scope: Vec<String> = c
        .handled
        .granted_scope
        .iter()
        .filter(|s| v.scope.contains(s))
        .cloned()
        .collect();
    let granted_audience: Vec<String> = c
        .handled
        .granted_audience
        .iter()
        .filter(|a| scope::audience_allowed(&v.client.data.audience, a))
        .cloned()
        .collect();
    let id_token = granted_scope.iter().any(|s| s == "openid").then(|| {
        // OIDC Core §2: `acr` is "0" when acr_values were requested but none was asserted.
        let acr = if c.consent.acr.is_empty() && !c.consent.oidc_context.acr_values.is_empty() {
            "0".to_string()
        } else {
            c.consent.acr.clone()
        };
        IdTokenClaims {
            subject: c.subject_identifier.clone(),
            auth_time: c.consent.authenticated_at,
            requested_at: c.consent.requested_at,
            acr,
            nonce: v.nonce.clone(),
            sid: c.consent.login_session_id.clone().unwrap_or_default(),
            extra: c.handled.session_id_token.clone(),
        }
    });
    let grant = Grant {
        request_id: c.consent.challenge.clone(),
        requested_at: now.trunc_subsecs(0),
        client_id: v.client.data.client_id.clone(),
        subject: c.consent.subject.clone(),
        requested_scope: v.scope.clone(),
        granted_scope: granted_scope.clone(),
        requested_audience: v.audience.clone(),
        granted_audience,
        ext: c.handled.session_access_token.clone(),
        id_token,
        // Hydra keeps the subject identifier in every authorize-flow session, openid or not.
        obfuscated_subject: Some(c.subject_identifier.clone())
            .filter(|s| !s.is_empty() && *s != c.consent.subject),
        challenge_id: Some(c.consent.challenge.clone()),
    };
    let rt = v.response_type;
    let mut params: Vec<(&str, String)> = Vec::new();
    let mut code = None;
    if rt.code {
        let binding = CodeBinding {
            redirect_uri: v.redirect_explicit.then(|| v.redirect_uri.to_string()),
            code_challenge: v.code_challenge.clone(),
        };
        let issued = ctx
            .engine
            .issue_code(ctx.store, &grant, binding, now)
            .await?;
        code = Some(issued.token);
    }
    let mut access = None;
    if rt.token {
        // OIDC Core §3.2.2.5 / RFC 6749 §4.2.2: the implicit grant never gets a refresh token.
        let issued = ctx
            .engine
            .issue_access_token(ctx.store, &grant, now)
            .await?;
        let expires_in = issued
            .expires_at
            .map(|e| (e - now).num_seconds().max(0))
            .unwrap_or(0);
        params.push(("token_type", "bearer".to_string()));
        params.push(("expires_in", expires_in.to_string()));
        access = Some(issued.token);
    }
    if rt.id_token {
        let Some(claims) = &grant.id_token else {
            return Err(Error::invalid_scope()
                .hint("An ID token was requested but the 'openid' scope was not granted."));
        };
        let with = IssuedWith {
            access_token: access.as_deref(),
            code: code.as_deref(),
        };
        let token = id_token::id_token(
            ctx.keys,
            ctx.store,
            ctx.config,
            claims,
            &grant.client_id,
            with,
            now,
        )
        .await?;
        params.push(("id_token", token));
    }
    if let Some(code) = code {
        params.push(("code", code));
    }
    if let Some(access) = access {
        params.push(("access_token", access));
    }
    params.push(("scope", granted_scope.join(" ")));
    params.push(("state", v.state.clone()));
    Ok(Answer {
        delivery: response::deliver(&v.redirect_uri, v.response_mode, &params),
        cookies: c.cookies,
    })
}
