//! `GET|POST /userinfo` (OIDC Core §5.3, hydra-reference §2.2): the bearer token from the
//! `Authorization` header, the query or a form body; claims as JSON or a signed JWT; refusals
//! with RFC 6750's `WWW-Authenticate` challenge.

use super::token::ctx;
use crate::http::response::NO_STORE;
use crate::http::AppState;
use crate::oauth2::userinfo::{self, Userinfo};
use crate::oauth2::Params;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

const FORM: &str = "application/x-www-form-urlencoded";

/// The query's parameters, then a form body's (RFC 6750 §2.2 only reads a body that is
/// `application/x-www-form-urlencoded`; any other body is ignored, not refused).
fn params(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Params {
    let mut params: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(FORM));
    if is_form {
        params.extend(url::form_urlencoded::parse(body).into_owned());
    }
    Params { params }
}

/// `GET /userinfo` and `POST /userinfo` (Hydra registers both).
pub async fn userinfo(
    State(s): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let answer =
        match userinfo::bearer_token(authorization, &params(&headers, query.as_deref(), &body)) {
            Ok(token) => userinfo::userinfo(&ctx(&s), token.as_deref(), s.clock.now()).await,
            Err(e) => Err(e),
        };
    match answer {
        Ok(Userinfo::Claims(claims)) => {
            let mut text = serde_json::Value::Object(claims).to_string();
            text.push('\n');
            let json = [(header::CONTENT_TYPE, "application/json; charset=utf-8")];
            (json, NO_STORE, text).into_response()
        }
        Ok(Userinfo::Jwt(jwt)) => {
            ([(header::CONTENT_TYPE, "application/jwt")], NO_STORE, jwt).into_response()
        }
        Err(e) => {
            let challenge = userinfo::challenge(&e).and_then(|c| HeaderValue::from_str(&c).ok());
            let mut response = e.into_response();
            if let Some(challenge) = challenge {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, challenge);
            }
            response
        }
    }
}
