//! `POST /oauth2/token` (hydra-reference §2.2): form body, client authentication, grants;
//! answers never cached, errors in fosite's shape, `WWW-Authenticate` after a failed Basic.

use crate::http::extract::ApiForm;
use crate::http::response::{oauth_error, oauth_json, NO_STORE};
use crate::http::AppState;
use crate::oauth2::client_auth::{self, FormCredentials};
use crate::oauth2::{self, Ctx, TokenRequest};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};

/// The authenticated-client context of a request.
pub fn ctx(s: &AppState) -> Ctx<'_, crate::store::Db> {
    Ctx {
        store: &s.db,
        engine: &s.engine,
        keys: &s.keys,
        hasher: &s.hasher,
        secrets: &s.secrets,
        config: &s.config,
        http: &s.http_client,
    }
}

/// `POST /oauth2/token`.
pub async fn oauth2_token(
    State(s): State<AppState>,
    headers: HeaderMap,
    ApiForm(params): ApiForm<Vec<(String, String)>>,
) -> Response {
    let req = TokenRequest { params };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let creds =
        FormCredentials::read(&req).and_then(|form| client_auth::credentials(authorization, &form));
    let creds = match creds {
        Ok(c) => c,
        Err(e) => return oauth_error(e, &s.config.oauth2),
    };
    match oauth2::token(&ctx(&s), &creds, &req, s.clock.now()).await {
        Ok(body) => (NO_STORE, oauth_json(&body)).into_response(),
        Err(e) => {
            let basic_failed = e.status == 401 && creds.is_basic();
            let mut response = oauth_error(e, &s.config.oauth2);
            if basic_failed {
                // RFC 6749 §5.2: answer a failed Basic authentication with the scheme used.
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Basic realm=\"portcullis\""),
                );
            }
            response
        }
    }
}
