//! `/clients`: the OAuth 2.0 client admin API (hydra-reference §2.3).

use crate::client::{self, OAuth2Client};
use crate::error::Error;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::pagination::{self, PageQuery};
use crate::http::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

fn deps(s: &AppState) -> client::Deps<'_> {
    client::Deps {
        rules: &s.client_rules,
        hasher: &s.hasher,
        http: &s.http_client,
    }
}

/// `POST /clients` → 201 with `Location`.
pub async fn create_oauth2_client(
    State(s): State<AppState>,
    ApiJson(body): ApiJson<OAuth2Client>,
) -> Result<Response, Error> {
    let created = client::create(&s.db, &deps(&s), body, s.clock.now()).await?;
    let location = format!(
        "/clients/{}",
        crate::http::encode_segment(&created.client_id)
    );
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(created),
    )
        .into_response())
}

/// `GET /clients` with `limit`/`offset`, `X-Total-Count` and `Link`.
pub async fn list_oauth2_clients(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<(HeaderMap, Json<Vec<OAuth2Client>>), Error> {
    let page = q.page();
    let (clients, total) = client::list(&s.db, page.limit, page.offset).await?;
    Ok((pagination::headers("/clients", total, page), Json(clients)))
}

/// `GET /clients/{id}`.
pub async fn get_oauth2_client(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<OAuth2Client>, Error> {
    Ok(Json(client::get(&s.db, &id).await?))
}

/// `PUT /clients/{id}`: full replacement.
pub async fn update_oauth2_client(
    State(s): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<OAuth2Client>,
) -> Result<Json<OAuth2Client>, Error> {
    Ok(Json(
        client::update(&s.db, &deps(&s), &id, body, s.clock.now()).await?,
    ))
}

/// `PATCH /clients/{id}`: RFC 6902 JSON Patch.
pub async fn patch_oauth2_client(
    State(s): State<AppState>,
    Path(id): Path<String>,
    ApiJson(ops): ApiJson<Vec<json_patch::PatchOperation>>,
) -> Result<Json<OAuth2Client>, Error> {
    Ok(Json(
        client::patch(&s.db, &deps(&s), &id, ops, s.clock.now()).await?,
    ))
}

/// `DELETE /clients/{id}` → 204.
pub async fn delete_oauth2_client(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, Error> {
    client::delete(&s.db, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
