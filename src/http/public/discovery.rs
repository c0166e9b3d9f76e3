//! `/.well-known/*` on the public listener: the discovery document and the JSON Web Key Set
//! that relying parties verify our signatures with (hydra-reference §2.2).

use crate::error::Error;
use crate::http::AppState;
use crate::jwk::{ACCESS_TOKEN_SET, ID_TOKEN_SET};
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

/// `GET /.well-known/jwks.json`: the public halves of the ID-token and access-token keys and
/// of `webfinger.jwks.broadcast_keys`; never a private member.
pub async fn well_known(State(s): State<AppState>) -> Result<impl IntoResponse, Error> {
    let mut sets = vec![ID_TOKEN_SET.to_string(), ACCESS_TOKEN_SET.to_string()];
    for set in &s.config.webfinger.jwks.broadcast_keys {
        if !sets.contains(set) {
            sets.push(set.clone());
        }
    }
    let body = s.keys.public_keys_json(&s.db, &sets).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body))
}

/// `GET /.well-known/openid-configuration`: computed once at start.
pub async fn discover_open_id_configuration(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        s.well_known.to_string(),
    )
}
