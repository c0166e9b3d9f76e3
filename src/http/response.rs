//! How an [`Error`] becomes an HTTP response (Hydra's error JSON, hydra-reference §1.2), and
//! the safety net that turns any plain-text response of the framework (unknown route, wrong
//! method, body too large, timeout) into that same shape. The only `IntoResponse` for errors.

use crate::config::OAuth2;
use crate::error::Error;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;

const JSON: &str = "application/json";

/// The error that produced a response, kept in its extensions for the logging middleware.
#[derive(Clone, Debug)]
pub struct ResponseError(pub Arc<Error>);

/// Hydra's default body: `{"error": name, "error_description": description + hint}`.
/// Internals (`debug`) never go into it.
pub fn error_body(err: &Error) -> String {
    let mut body =
        json!({"error": err.name, "error_description": err.full_description()}).to_string();
    body.push('\n');
    body
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response =
            (status, [(header::CONTENT_TYPE, JSON)], error_body(&self)).into_response();
        response
            .extensions_mut()
            .insert(ResponseError(Arc::new(self)));
        response
    }
}

/// Cache headers of every token-endpoint answer (RFC 6749 §5.1).
pub const NO_STORE: [(header::HeaderName, &str); 2] = [
    (header::CACHE_CONTROL, "no-store"),
    (header::PRAGMA, "no-cache"),
];

/// An error as fosite writes it at the token, revocation and introspection endpoints
/// (hydra-reference §1.2 B): the default two fields, the debug text appended only with
/// `oauth2.expose_internal_errors`, and the legacy shape with
/// `oauth2.include_legacy_error_fields`. Never cached.
pub fn oauth_error(err: Error, cfg: &OAuth2) -> Response {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let debug = err.debug.clone().filter(|_| cfg.expose_internal_errors);
    let body = if cfg.include_legacy_error_fields {
        let mut o = serde_json::Map::new();
        o.insert("error".into(), json!(err.name));
        o.insert(
            "error_description".into(),
            json!(err.description.replace('"', "'")),
        );
        if let Some(h) = &err.hint {
            o.insert("error_hint".into(), json!(h));
        }
        o.insert("status_code".into(), json!(err.status));
        if let Some(d) = &debug {
            o.insert("error_debug".into(), json!(d));
        }
        serde_json::Value::Object(o)
    } else {
        let mut description = err.full_description();
        if let Some(d) = &debug {
            description.push(' ');
            description.push_str(d);
        }
        json!({"error": err.name, "error_description": description})
    };
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        NO_STORE,
        body.to_string(),
    )
        .into_response();
    response
        .extensions_mut()
        .insert(ResponseError(Arc::new(err)));
    response
}

/// A JSON body as fosite writes it (`application/json;charset=UTF-8`).
pub fn oauth_json(body: &impl serde::Serialize) -> Response {
    match serde_json::to_string(body) {
        Ok(text) => (
            [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
            text,
        )
            .into_response(),
        Err(e) => Error::server_error().debug(e).into_response(),
    }
}

/// Middleware: logs the error behind an error response (5xx at `error` with its internal
/// cause, others at `debug`), and rewrites framework-made plain error responses into
/// Hydra's JSON shape, keeping their status and headers (such as `Allow` on a 405).
pub async fn errors_as_json(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    if let Some(ResponseError(err)) = response.extensions().get::<ResponseError>() {
        if err.status >= 500 {
            tracing::error!(%method, %path, error = %err, "request failed");
        } else {
            tracing::debug!(%method, %path, error = %err, "request refused");
        }
        return response;
    }
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(JSON));
    if status.as_u16() < 400 || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_string();
    let err = match status {
        StatusCode::NOT_FOUND => Error::route_not_found(),
        StatusCode::METHOD_NOT_ALLOWED => Error::method_not_allowed(),
        StatusCode::PAYLOAD_TOO_LARGE => {
            Error::invalid_request().hint("The request body is too large.")
        }
        StatusCode::REQUEST_TIMEOUT => Error::new(
            "request_timeout",
            "The request took too long to complete.",
            408,
        ),
        s if s.is_client_error() && !text.is_empty() => Error::invalid_request().hint(text),
        s if s.is_client_error() => Error::invalid_request(),
        _ => Error::server_error(),
    };
    let err = Error {
        status: status.as_u16(),
        ..err
    };
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    parts.headers.remove(header::CONTENT_LENGTH);
    let mut out = Response::from_parts(parts, Body::from(error_body(&err)));
    out.extensions_mut().insert(ResponseError(Arc::new(err)));
    out
}

/// The handler for routes that do not exist.
pub async fn route_not_found() -> Error {
    Error::route_not_found()
}
