//! Token administration on the admin port (hydra-reference §2.7): `POST /oauth2/introspect`,
//! `DELETE /oauth2/tokens`, `POST /oauth2/flush`.

use crate::error::Error;
use crate::http::extract::ApiForm;
use crate::http::extract::ApiQuery;
use crate::http::response::{oauth_error, oauth_json};
use crate::http::AppState;
use crate::oauth2::{introspect, revoke};
use crate::token::TokenStore;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct IntrospectForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    scope: String,
}

/// `POST /oauth2/introspect`.
pub async fn introspect_oauth2_token(
    State(s): State<AppState>,
    form: Result<ApiForm<IntrospectForm>, Error>,
) -> Response {
    let form = match form {
        Ok(ApiForm(f)) if !f.token.is_empty() => f,
        Ok(_) => {
            return oauth_error(
                Error::invalid_request().hint("The request is missing the 'token' parameter."),
                &s.config.oauth2,
            )
        }
        Err(e) => return oauth_error(e, &s.config.oauth2),
    };
    match introspect::introspect(
        &s.db,
        &s.engine,
        &s.config,
        &form.token,
        &form.scope,
        s.clock.now(),
    )
    .await
    {
        Ok(body) => oauth_json(&body),
        Err(e) => oauth_error(e, &s.config.oauth2),
    }
}

#[derive(Debug, Deserialize)]
pub struct DeleteTokensQuery {
    #[serde(default)]
    client_id: String,
}

/// `DELETE /oauth2/tokens?client_id=`: removes the client's access and refresh tokens (Hydra
/// 1.10.3 removed only access tokens; compatibility.md).
pub async fn delete_oauth2_token(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<DeleteTokensQuery>,
) -> Result<StatusCode, Error> {
    if q.client_id.is_empty() {
        return Err(Error::invalid_request().hint("The client_id query parameter is required."));
    }
    s.db.delete_client_tokens(&q.client_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `flushInactiveOAuth2Tokens` body. Python's `isoformat()` may omit the zone: read as UTC.
#[derive(Debug, Deserialize, Default)]
struct FlushRequest {
    #[serde(rename = "notAfter", default)]
    not_after: Option<String>,
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

/// `POST /oauth2/flush`: an empty body (or `{}`) means "now".
pub async fn flush_inactive_oauth2_tokens(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<StatusCode, Error> {
    let now = s.clock.now();
    let req: FlushRequest = if body.iter().all(u8::is_ascii_whitespace) {
        FlushRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            Error::invalid_request().hint(format!("Unable to decode the request body as JSON: {e}"))
        })?
    };
    let not_after = match req.not_after.as_deref().filter(|t| !t.is_empty()) {
        Some(text) => parse_time(text).ok_or_else(|| {
            Error::invalid_request()
                .hint(format!("notAfter '{text}' is not an RFC 3339 date-time."))
        })?,
        None => now,
    };
    revoke::flush(&s.db, &s.engine, not_after, now).await?;
    Ok(StatusCode::NO_CONTENT)
}
