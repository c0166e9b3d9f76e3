//! Extractors whose rejections come out in Hydra's error shape (`400 invalid_request`), never
//! as the framework's plain text.

use crate::error::Error;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// A JSON body. Like Hydra, the `Content-Type` is not required to say JSON.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                let err = Error::invalid_request().hint(format!(
                    "Unable to read the request body: {}",
                    e.body_text()
                ));
                Error {
                    status: e.status().as_u16(),
                    ..err
                }
            })?;
        serde_json::from_slice(&bytes).map(ApiJson).map_err(|e| {
            Error::invalid_request().hint(format!("Unable to decode the request body as JSON: {e}"))
        })
    }
}

/// An `application/x-www-form-urlencoded` body.
pub struct ApiForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiForm<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        axum::extract::Form::<T>::from_request(req, state)
            .await
            .map(|axum::extract::Form(v)| ApiForm(v))
            .map_err(|e| {
                Error::invalid_request()
                    .hint(format!("Unable to parse the form body: {}", e.body_text()))
            })
    }
}

/// A query string.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|e| {
                Error::invalid_request()
                    .hint(format!("Unable to parse the query: {}", e.body_text()))
            })
    }
}
