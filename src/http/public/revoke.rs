//! `POST /oauth2/revoke` (RFC 7009, hydra-reference §2.2): client-authenticated; an empty
//! 200 on success and for unknown tokens.

use crate::error::Error;
use crate::http::extract::ApiForm;
use crate::http::response::{oauth_error, NO_STORE};
use crate::http::AppState;
use crate::oauth2::client_auth::{self, ClientRead, Endpoint, FormCredentials};
use crate::oauth2::{revoke, TokenRequest};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

/// `POST /oauth2/revoke`.
pub async fn revoke_oauth2_token(
    State(s): State<AppState>,
    headers: HeaderMap,
    form: Result<ApiForm<Vec<(String, String)>>, Error>,
) -> Response {
    let result = async {
        let ApiForm(params) = form?;
        let req = TokenRequest { params };
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let creds = client_auth::credentials(authorization, &FormCredentials::read(&req)?)?;
        let ctx = super::token::ctx(&s);
        let client = client_auth::authenticate(
            &ctx,
            &creds,
            Endpoint::Revocation,
            ClientRead::Fresh,
            s.clock.now(),
        )
        .await?;
        let token = req.required("token")?;
        revoke::revoke(
            &s.db,
            &s.engine,
            &client,
            token,
            req.one("token_type_hint")?,
        )
        .await
    }
    .await;
    match result {
        Ok(()) => (StatusCode::OK, NO_STORE).into_response(),
        Err(e) => oauth_error(e, &s.config.oauth2),
    }
}
