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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::post;
    use axum::Router;
    use serde_json::{json, Value};
    use tower::ServiceExt;

    #[derive(serde::Deserialize)]
    struct Thing {
        #[allow(dead_code)]
        name: String,
    }

    async fn call(router: Router, content_type: &str, body: &str) -> (u16, Value) {
        let req = axum::http::Request::post("/")
            .header("content-type", content_type)
            .body(Body::from(body.to_string()))
            .unwrap();
        let res = router.oneshot(req).await.unwrap();
        let status = res.status().as_u16();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    #[tokio::test]
    async fn malformed_bodies_are_400_invalid_request() {
        let json_route =
            || Router::new().route("/", post(|ApiJson(_): ApiJson<Thing>| async { "ok" }));
        let form_route =
            || Router::new().route("/", post(|ApiForm(_): ApiForm<Thing>| async { "ok" }));
        let cases = [
            (
                json_route(),
                "application/json",
                "{not json",
                "Unable to decode the request body as JSON",
            ),
            (
                json_route(),
                "application/json",
                "{\"other\": 1}",
                "missing field `name`",
            ),
            (
                form_route(),
                "application/x-www-form-urlencoded",
                "other=1",
                "Unable to parse the form body",
            ),
            (
                form_route(),
                "application/json",
                "name=x",
                "Unable to parse the form body",
            ),
        ];
        for (router, content_type, body, hint) in cases {
            let (status, value) = call(router, content_type, body).await;
            assert_eq!(status, 400, "{body}");
            assert_eq!(value["error"], json!("invalid_request"));
            assert!(
                value["error_description"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(hint),
                "{value}"
            );
            assert_eq!(
                value.as_object().map(|o| o.len()),
                Some(2),
                "exactly error and error_description"
            );
        }
        let (status, _) = call(json_route(), "text/plain", "{\"name\": \"x\"}").await;
        assert_eq!(
            status, 200,
            "Hydra does not insist on the JSON content type"
        );
    }

    #[tokio::test]
    async fn oversized_bodies_are_413_in_hydra_json() {
        let router = Router::new()
            .route("/", post(|ApiJson(_): ApiJson<Thing>| async { "ok" }))
            .layer(axum::extract::DefaultBodyLimit::max(16));
        let (status, value) = call(
            router,
            "application/json",
            "{\"name\": \"a long name here\"}",
        )
        .await;
        assert_eq!(status, 413);
        assert_eq!(value["error"], json!("invalid_request"));
    }
}
