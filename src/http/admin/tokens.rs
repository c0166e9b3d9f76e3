//! Token administration on the admin port: `POST /oauth2/introspect` (hydra-reference §2.7).

use crate::error::Error;
use crate::http::extract::ApiForm;
use crate::http::response::oauth_error;
use crate::http::AppState;
use crate::oauth2::introspect;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
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
        Ok(body) => (
            [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
            serde_json::to_string(&body).unwrap_or_default(),
        )
            .into_response(),
        Err(e) => oauth_error(e, &s.config.oauth2),
    }
}
