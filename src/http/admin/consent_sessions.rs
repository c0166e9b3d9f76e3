//! `/oauth2/auth/sessions/consent`: list and revoke a subject's consent sessions
//! (hydra-reference §2.6).

use crate::consent::sessions::{self, PreviousConsentSession};
use crate::error::Error;
use crate::http::extract::ApiQuery;
use crate::http::pagination::{self, PageQuery};
use crate::http::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;

const PATH: &str = "/oauth2/auth/sessions/consent";

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    subject: String,
    #[serde(flatten)]
    page: PageQuery,
}

/// `GET /oauth2/auth/sessions/consent?subject=&limit=&offset=`.
pub async fn list_subject_consent_sessions(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<(HeaderMap, Json<Vec<PreviousConsentSession>>), Error> {
    let page = q.page.page();
    let (found, total) =
        sessions::list(&s.db, &q.subject, page.limit, page.offset, s.clock.now()).await?;
    let headers = pagination::headers_keeping(PATH, &[("subject", &q.subject)], total, page);
    Ok((headers, Json(found)))
}

#[derive(Debug, Deserialize)]
pub struct RevokeQuery {
    #[serde(default)]
    subject: String,
    client: Option<String>,
    all: Option<String>,
}

/// `DELETE /oauth2/auth/sessions/consent?subject=&client=` or `&all=true` → 204.
pub async fn revoke_consent_sessions(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<RevokeQuery>,
) -> Result<StatusCode, Error> {
    sessions::revoke(&s.db, &q.subject, q.client.as_deref(), q.all.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}
