//! `/keys`: the JSON Web Key admin API (hydra-reference §2.4, with compatibility.md's fixes).

use crate::error::Error;
use crate::http::extract::ApiJson;
use crate::http::AppState;
use crate::jwk::{GeneratorRequest, JsonWebKey, JsonWebKeySet};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

fn location(set: &str) -> String {
    format!("/keys/{}", crate::http::encode_segment(set))
}

/// `POST /keys/{set}` → 201 with the generated key(s). (Hydra sent `Location: :///keys/<set>`.)
pub async fn create_json_web_key_set(
    State(s): State<AppState>,
    Path(set): Path<String>,
    ApiJson(req): ApiJson<GeneratorRequest>,
) -> Result<Response, Error> {
    let keys = s.keys.generate(&s.db, &set, &req, s.clock.now()).await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location(&set))],
        Json(keys),
    )
        .into_response())
}

/// `GET /keys/{set}`.
pub async fn get_json_web_key_set(
    State(s): State<AppState>,
    Path(set): Path<String>,
) -> Result<Json<JsonWebKeySet>, Error> {
    Ok(Json(s.keys.get_set(&s.db, &set).await?))
}

/// `PUT /keys/{set}`: replaces the whole set.
pub async fn update_json_web_key_set(
    State(s): State<AppState>,
    Path(set): Path<String>,
    ApiJson(body): ApiJson<JsonWebKeySet>,
) -> Result<Json<JsonWebKeySet>, Error> {
    Ok(Json(
        s.keys.put_set(&s.db, &set, body, s.clock.now()).await?,
    ))
}

/// `DELETE /keys/{set}` → 204.
pub async fn delete_json_web_key_set(
    State(s): State<AppState>,
    Path(set): Path<String>,
) -> Result<StatusCode, Error> {
    s.keys.delete_set(&s.db, &set).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /keys/{set}/{kid}`: a set holding the one key.
pub async fn get_json_web_key(
    State(s): State<AppState>,
    Path((set, kid)): Path<(String, String)>,
) -> Result<Json<JsonWebKeySet>, Error> {
    Ok(Json(s.keys.get_key(&s.db, &set, &kid).await?))
}

/// `PUT /keys/{set}/{kid}`: the bare key; the path's kid wins.
pub async fn update_json_web_key(
    State(s): State<AppState>,
    Path((set, kid)): Path<(String, String)>,
    ApiJson(body): ApiJson<JsonWebKey>,
) -> Result<Json<JsonWebKey>, Error> {
    Ok(Json(
        s.keys
            .put_key(&s.db, &set, &kid, body, s.clock.now())
            .await?,
    ))
}

/// `DELETE /keys/{set}/{kid}` → 204.
pub async fn delete_json_web_key(
    State(s): State<AppState>,
    Path((set, kid)): Path<(String, String)>,
) -> Result<StatusCode, Error> {
    s.keys.delete_key(&s.db, &set, &kid).await?;
    Ok(StatusCode::NO_CONTENT)
}
