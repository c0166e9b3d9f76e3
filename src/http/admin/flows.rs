//! `/oauth2/auth/requests/{login,consent}[/accept|/reject]`: the login/consent UI's admin API
//! (hydra-reference §2.5). Logout requests live elsewhere.

use crate::consent::admin::{self, ConsentView, LoginView};
use crate::consent::{AcceptConsent, AcceptLogin, RedirectTo, RequestDenied};
use crate::error::Error;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// The query string as pairs: Hydra reads the first value of a repeated parameter.
type Query = ApiQuery<Vec<(String, String)>>;

/// The challenge from `<kind>_challenge`, else the legacy `challenge` (Hydra coalesces the
/// two: the first non-empty wins); missing → 400.
fn challenge(query: &[(String, String)], kind: &str) -> Result<String, Error> {
    let first = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    first(kind)
        .or_else(|| first("challenge"))
        .map(str::to_string)
        .ok_or_else(|| {
            Error::invalid_request()
                .hint("Query parameter 'challenge' is not defined but should have been.")
        })
}

/// A spent request answers 410 with where the browser should go instead.
fn gone(redirect: RedirectTo) -> Response {
    (StatusCode::GONE, Json(redirect)).into_response()
}

/// `GET /oauth2/auth/requests/login`.
pub async fn get_login_request(
    State(s): State<AppState>,
    ApiQuery(q): Query,
) -> Result<Response, Error> {
    let challenge = challenge(&q, "login_challenge")?;
    Ok(match admin::get_login_request(&s.db, &challenge).await? {
        LoginView::Pending(view) => Json(view).into_response(),
        LoginView::Handled(redirect) => gone(redirect),
    })
}

/// `PUT /oauth2/auth/requests/login/accept`.
pub async fn accept_login_request(
    State(s): State<AppState>,
    ApiQuery(q): Query,
    ApiJson(body): ApiJson<AcceptLogin>,
) -> Result<Json<RedirectTo>, Error> {
    let challenge = challenge(&q, "login_challenge")?;
    Ok(Json(
        admin::accept_login(&s.db, &challenge, body, s.clock.now()).await?,
    ))
}

/// `PUT /oauth2/auth/requests/login/reject`.
pub async fn reject_login_request(
    State(s): State<AppState>,
    ApiQuery(q): Query,
    ApiJson(body): ApiJson<RequestDenied>,
) -> Result<Json<RedirectTo>, Error> {
    let challenge = challenge(&q, "login_challenge")?;
    Ok(Json(
        admin::reject_login(&s.db, &challenge, body, s.clock.now()).await?,
    ))
}

/// `GET /oauth2/auth/requests/consent`.
pub async fn get_consent_request(
    State(s): State<AppState>,
    ApiQuery(q): Query,
) -> Result<Response, Error> {
    let challenge = challenge(&q, "consent_challenge")?;
    Ok(match admin::get_consent_request(&s.db, &challenge).await? {
        ConsentView::Pending(view) => Json(view).into_response(),
        ConsentView::Handled(redirect) => gone(redirect),
    })
}

/// `PUT /oauth2/auth/requests/consent/accept`.
pub async fn accept_consent_request(
    State(s): State<AppState>,
    ApiQuery(q): Query,
    ApiJson(body): ApiJson<AcceptConsent>,
) -> Result<Json<RedirectTo>, Error> {
    let challenge = challenge(&q, "consent_challenge")?;
    Ok(Json(
        admin::accept_consent(&s.db, &challenge, body, s.clock.now()).await?,
    ))
}

/// `PUT /oauth2/auth/requests/consent/reject`.
pub async fn reject_consent_request(
    State(s): State<AppState>,
    ApiQuery(q): Query,
    ApiJson(body): ApiJson<RequestDenied>,
) -> Result<Json<RedirectTo>, Error> {
    let challenge = challenge(&q, "consent_challenge")?;
    Ok(Json(
        admin::reject_consent(&s.db, &challenge, body, s.clock.now()).await?,
    ))
}
