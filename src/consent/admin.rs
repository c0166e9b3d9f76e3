//! The admin API's side of login and consent (hydra-reference §2.5, §3.2–3.8, §4.3, §4.5): a
//! login/consent UI reads a request by its challenge and answers it; the answer is stored and
//! the UI gets the URL (the original `request_url` plus the verifier) to send the browser to.
//! `/oauth2/auth` spends the verifiers (`flow.rs`). May import: `client`, `error`.

use super::model::{
    AcceptConsent, AcceptLogin, ConsentRequestView, HandledConsent, HandledLogin, LoginRequestView,
    RedirectTo, RequestDenied,
};
use super::store::ConsentStore;
use crate::client::{ClientStore, OAuth2Client};
use crate::error::{Error, StoreError};
use chrono::{DateTime, SubsecRound, Utc};
use serde_json::Value;
use url::{form_urlencoded, Url};

/// Hydra's default `error` of a rejected login (consent/handler.go; hydra-reference §3.7).
const LOGIN_DENIED: &str = "login request denied";
/// Hydra's default `error` of a rejected consent.
const CONSENT_DENIED: &str = "consent request denied";

/// What `GET /oauth2/auth/requests/login` shows.
#[derive(Debug, Clone)]
pub enum LoginView {
    /// Still open (or answered but not yet followed by the browser): the `loginRequest`.
    Pending(Box<LoginRequestView>),
    /// Its verifier was spent: 410 with the original `request_url`.
    Handled(RedirectTo),
}

/// What `GET /oauth2/auth/requests/consent` shows.
#[derive(Debug, Clone)]
pub enum ConsentView {
    /// Still open (or answered but not yet followed by the browser): the `consentRequest`.
    Pending(Box<ConsentRequestView>),
    /// Its verifier was spent: 410 with the original `request_url`.
    Handled(RedirectTo),
}

/// Hydra's own not-found for a login/consent challenge (`x.ErrNotFound`, typo included;
/// hydra-reference §1.3 and §13).
fn request_not_found() -> Error {
    Error::new("Not Found", "Unable to located the requested resource", 404)
}

/// Hydra's `x.ErrConflict` for an answer to a consent whose verifier was spent.
fn consent_used() -> Error {
    Error::new(
        "Conflict",
        "Unable to process the requested resource because of conflict in the current state",
        409,
    )
    .hint("The consent request was already used and can no longer be changed.")
}

/// A missing login/consent request (or its client) is Hydra's own 404; the rest maps as usual.
fn lookup(err: StoreError) -> Error {
    match err {
        StoreError::NotFound => request_not_found(),
        other => other.into(),
    }
}

/// The request's client as the admin API shows it: never with a secret.
async fn shown_client(store: &impl ClientStore, id: &str) -> Result<OAuth2Client, Error> {
    let mut client = store.get_client(id).await.map_err(lookup)?.data;
    client.client_secret = None;
    Ok(client)
}

/// `request_url` with `name=value` in its query. Other parameters keep their raw encoding;
/// an earlier `name` is dropped, so the URL carries exactly one verifier (Hydra sets the
/// parameter with `urlx.SetQuery`, which also re-sorts the query; we do not reorder it).
fn with_param(request_url: &str, name: &str, value: &str) -> Result<String, Error> {
    let mut url = Url::parse(request_url).map_err(|e| {
        Error::server_error().debug(format!("the stored request_url is not a URL: {e}"))
    })?;
    let mut query = url
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            form_urlencoded::parse(pair.as_bytes())
                .next()
                .is_none_or(|(key, _)| key != name)
        })
        .collect::<Vec<_>>()
        .join("&");
    if !query.is_empty() {
        query.push('&');
    }
    query.push_str(
        &form_urlencoded::Serializer::new(String::new())
            .append_pair(name, value)
            .finish(),
    );
    url.set_query(Some(&query));
    Ok(url.into())
}

/// `GET /oauth2/auth/requests/login`: the login request, or its `request_url` once the
/// browser came back with the verifier (410).
#[tracing::instrument(skip_all)]
pub async fn get_login_request(
    store: &(impl ConsentStore + ClientStore),
    challenge: &str,
) -> Result<LoginView, Error> {
    let (request, handled) = store.get_login_request(challenge).await.map_err(lookup)?;
    if handled.is_some_and(|h| h.was_used) {
        return Ok(LoginView::Handled(RedirectTo {
            redirect_to: request.request_url,
        }));
    }
    let client = shown_client(store, &request.client_id).await?;
    Ok(LoginView::Pending(Box::new(LoginRequestView {
        challenge: request.challenge,
        client,
        oidc_context: request.oidc_context,
        request_url: request.request_url,
        requested_access_token_audience: request.requested_audience,
        requested_scope: request.requested_scope,
        session_id: request.session_id,
        skip: request.skip,
        subject: request.subject,
    })))
}

/// `PUT /oauth2/auth/requests/login/accept`: records the authenticated subject. A second
/// answer is 409 (Hydra: unique violation on the handled row).
#[tracing::instrument(skip_all)]
pub async fn accept_login(
    store: &(impl ConsentStore + ClientStore),
    challenge: &str,
    body: AcceptLogin,
    now: DateTime<Utc>,
) -> Result<RedirectTo, Error> {
    if body.subject.is_empty() {
        return Err(Error::invalid_request().hint("Field 'subject' must not be empty."));
    }
    let (request, _) = store.get_login_request(challenge).await.map_err(lookup)?;
    // Hydra: a request that carries a subject (a skipped login) must be accepted for it.
    if (request.skip || !request.subject.is_empty()) && body.subject != request.subject {
        return Err(Error::invalid_request()
            .hint("Field 'subject' does not match subject from previous authentication."));
    }
    let (remember, authenticated_at) = if request.skip {
        // Hydra: "If skip is true remember is also true to allow consecutive calls as the
        // same user!" The remembered session's login time stays.
        (true, request.authenticated_at)
    } else {
        (body.remember, Some(now.trunc_subsecs(0)))
    };
    let handled = HandledLogin {
        challenge: request.challenge.clone(),
        subject: body.subject,
        remember,
        // Negative: a browser-session cookie, like 0 (hydra-reference §3.5).
        remember_for: body.remember_for,
        error: None,
        acr: body.acr,
        requested_at: request.requested_at,
        authenticated_at,
        was_used: false,
        forced_subject_identifier: body.force_subject_identifier,
        // The consent request shows this `context`; Hydra's default is `{}`.
        context: if body.context.is_null() {
            Value::Object(Default::default())
        } else {
            body.context
        },
    };
    store.handle_login_request(&handled).await.map_err(lookup)?;
    Ok(RedirectTo {
        redirect_to: with_param(&request.request_url, "login_verifier", &request.verifier)?,
    })
}

/// `PUT /oauth2/auth/requests/login/reject`: records the error `/oauth2/auth` sends to the
/// client. A second answer is 409.
#[tracing::instrument(skip_all)]
pub async fn reject_login(
    store: &(impl ConsentStore + ClientStore),
    challenge: &str,
    body: RequestDenied,
    _now: DateTime<Utc>,
) -> Result<RedirectTo, Error> {
    let (request, _) = store.get_login_request(challenge).await.map_err(lookup)?;
    let handled = HandledLogin {
        challenge: request.challenge.clone(),
        subject: String::new(),
        remember: false,
        remember_for: 0,
        error: Some(with_defaults(body, LOGIN_DENIED)),
        acr: String::new(),
        requested_at: request.requested_at,
        authenticated_at: None,
        was_used: false,
        forced_subject_identifier: String::new(),
        context: Value::Object(Default::default()),
    };
    store.handle_login_request(&handled).await.map_err(lookup)?;
    Ok(RedirectTo {
        redirect_to: with_param(&request.request_url, "login_verifier", &request.verifier)?,
    })
}

/// Hydra's `RequestDeniedError.SetDefaults`: an empty `error` gets the kind's default name,
/// a zero `status_code` 400.
fn with_defaults(mut denied: RequestDenied, name: &str) -> RequestDenied {
    if denied.error.is_empty() {
        denied.error = name.to_string();
    }
    if denied.status_code == 0 {
        denied.status_code = 400;
    }
    denied
}

/// `GET /oauth2/auth/requests/consent`: the consent request, or its `request_url` once the
/// browser came back with the verifier (410).
#[tracing::instrument(skip_all)]
pub async fn get_consent_request(
    store: &(impl ConsentStore + ClientStore),
    challenge: &str,
) -> Result<ConsentView, Error> {
    let (request, handled) = store.get_consent_request(challenge).await.map_err(lookup)?;
    if handled.is_some_and(|h| h.was_used) {
        return Ok(ConsentView::Handled(RedirectTo {
            redirect_to: request.request_url,
        }));
    }
    let client = shown_client(store, &request.client_id).await?;
    Ok(ConsentView::Pending(Box::new(ConsentRequestView::new(
        request, client,
    ))))
}

/// `PUT /oauth2/auth/requests/consent/accept`: records the grant. Until the browser spent the
/// verifier a new answer replaces the previous one; afterwards it is 409 `Conflict`.
#[tracing::instrument(skip_all)]
pub async fn accept_consent(
    store: &(impl ConsentStore + ClientStore),
    challenge: &str,
    body: AcceptConsent,
    now: DateTime<Utc>,
) -> Result<RedirectTo, Error> {
    // Hydra stores a negative value and then treats it as "forever" (only `> 0` expires); the
    // reference names no meaning for it, so it is refused rather than silently made permanent.
    if body.remember_for < 0 {
        return Err(Error::invalid_request().hint("Field 'remember_for' must not be negative."));
    }
    let (request, _) = store.get_consent_request(challenge).await.map_err(lookup)?;
    let handled = HandledConsent {
        challenge: request.challenge.clone(),
        granted_scope: body.grant_scope,
        granted_audience: body.grant_access_token_audience,
        remember: body.remember,
        remember_for: body.remember_for,
        error: None,
        requested_at: request.requested_at,
        authenticated_at: request.authenticated_at,
        session_access_token: body.session.access_token,
        session_id_token: body.session.id_token,
        was_used: false,
        // `handled_at` in the body is ignored: the server sets the time.
        handled_at: Some(now),
    };
    handle_consent(store, &handled).await?;
    Ok(RedirectTo {
        redirect_to: with_param(&request.request_url, "consent_verifier", &request.verifier)?,
    })
}

/// `PUT /oauth2/auth/requests/consent/reject`: records the error `/oauth2/auth` sends to the
/// client; replaces an earlier answer until the verifier was spent, then 409.
#[tracing::instrument(skip_all)]
pub async fn reject_consent(
    store: &(impl ConsentStore + ClientStore),
    challenge: &str,
    body: RequestDenied,
    now: DateTime<Utc>,
) -> Result<RedirectTo, Error> {
    let (request, _) = store.get_consent_request(challenge).await.map_err(lookup)?;
    let handled = HandledConsent {
        challenge: request.challenge.clone(),
        granted_scope: Vec::new(),
        granted_audience: Vec::new(),
        remember: false,
        remember_for: 0,
        error: Some(with_defaults(body, CONSENT_DENIED)),
        requested_at: request.requested_at,
        authenticated_at: request.authenticated_at,
        session_access_token: Default::default(),
        session_id_token: Default::default(),
        was_used: false,
        handled_at: Some(now),
    };
    handle_consent(store, &handled).await?;
    Ok(RedirectTo {
        redirect_to: with_param(&request.request_url, "consent_verifier", &request.verifier)?,
    })
}

async fn handle_consent(store: &impl ConsentStore, handled: &HandledConsent) -> Result<(), Error> {
    store
        .handle_consent_request(handled)
        .await
        .map_err(|e| match e {
            StoreError::Conflict => consent_used(),
            other => lookup(other),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_is_added_to_the_raw_query() {
        let cases = [
            (
                "keeps other parameters as they were encoded",
                "https://a.example/oauth2/auth?client_id=c&scope=openid+offline&state=a%20b",
                "https://a.example/oauth2/auth?client_id=c&scope=openid+offline&state=a%20b&login_verifier=v1",
            ),
            (
                "no query",
                "https://a.example/oauth2/auth",
                "https://a.example/oauth2/auth?login_verifier=v1",
            ),
            (
                "an earlier verifier is replaced",
                "https://a.example/oauth2/auth?login_verifier=evil&state=x&login_verifier",
                "https://a.example/oauth2/auth?state=x&login_verifier=v1",
            ),
            (
                "empty pairs are dropped",
                "https://a.example/oauth2/auth?&state=x&",
                "https://a.example/oauth2/auth?state=x&login_verifier=v1",
            ),
        ];
        for (name, input, expected) in cases {
            assert_eq!(
                with_param(input, "login_verifier", "v1").unwrap(),
                expected,
                "{name}"
            );
        }
        assert_eq!(with_param("not a url", "x", "y").unwrap_err().status, 500);
    }

    #[test]
    fn reject_defaults_apply_only_to_empty_fields() {
        let d = with_defaults(RequestDenied::default(), LOGIN_DENIED);
        assert_eq!(
            (d.error.as_str(), d.status_code),
            ("login request denied", 400)
        );
        let custom = RequestDenied {
            error: "access_denied".into(),
            status_code: 403,
            ..Default::default()
        };
        let d = with_defaults(custom, CONSENT_DENIED);
        assert_eq!((d.error.as_str(), d.status_code), ("access_denied", 403));
    }
}
