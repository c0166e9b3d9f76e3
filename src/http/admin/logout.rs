//! `/oauth2/auth/requests/logout[/accept|/reject]` (the logout UI's admin API,
//! hydra-reference §2.5) and `DELETE /oauth2/auth/sessions/login` (§2.6), which ends every
//! session of a subject and, as a deliberate improvement on 1.10.3, notifies the
//! participating clients by back-channel logout.

use crate::consent::logout::{self, admin as logout_admin, admin::LogoutView};
use crate::consent::RedirectTo;
use crate::error::Error;
use crate::http::extract::ApiQuery;
use crate::http::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// The query string as pairs: the first value of a repeated parameter wins.
type Query = ApiQuery<Vec<(String, String)>>;

fn first<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// `logout_challenge`, else the legacy `challenge`; missing → 400.
fn challenge(query: &[(String, String)]) -> Result<String, Error> {
    first(query, "logout_challenge")
        .or_else(|| first(query, "challenge"))
        .map(str::to_string)
        .ok_or_else(|| {
            Error::invalid_request()
                .hint("Query parameter 'challenge' is not defined but should have been.")
        })
}

/// `GET /oauth2/auth/requests/logout`.
pub async fn get_logout_request(
    State(s): State<AppState>,
    ApiQuery(q): Query,
) -> Result<Response, Error> {
    let challenge = challenge(&q)?;
    Ok(
        match logout_admin::get_logout_request(&s.db, &challenge).await? {
            LogoutView::Pending(view) => Json(view).into_response(),
            LogoutView::Handled(redirect) => (StatusCode::GONE, Json(redirect)).into_response(),
        },
    )
}

/// `PUT /oauth2/auth/requests/logout/accept` (no body).
pub async fn accept_logout_request(
    State(s): State<AppState>,
    ApiQuery(q): Query,
) -> Result<Json<RedirectTo>, Error> {
    let challenge = challenge(&q)?;
    Ok(Json(
        logout_admin::accept_logout_request(&s.db, &s.config, &challenge).await?,
    ))
}

/// `PUT /oauth2/auth/requests/logout/reject`: 204; the optional `rejectRequest` body is
/// ignored, as in Hydra.
pub async fn reject_logout_request(
    State(s): State<AppState>,
    ApiQuery(q): Query,
) -> Result<StatusCode, Error> {
    let challenge = challenge(&q)?;
    logout_admin::reject_logout_request(&s.db, &challenge).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /oauth2/auth/sessions/login?subject=` (`revokeAuthenticationSession`): 204 once
/// the sessions are gone and the back-channel calls ended (each bounded by a timeout).
pub async fn revoke_authentication_session(
    State(s): State<AppState>,
    ApiQuery(q): Query,
) -> Result<StatusCode, Error> {
    let subject = first(&q, "subject").unwrap_or_default();
    let deliveries =
        logout::revoke_authentication_sessions(&s.db, &s.keys, &s.config, subject, s.clock.now())
            .await?;
    for (_, delivery) in &deliveries {
        if let Some(reason) = delivery.failure() {
            s.metrics.backchannel_logout_failed(reason);
        }
    }
    Ok(StatusCode::NO_CONTENT)
}
