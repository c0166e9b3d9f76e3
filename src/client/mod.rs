//! OAuth 2.0 clients: the model, validation and the admin operations (create, get, list,
//! update, patch, delete) as Hydra 1.10.3 performs them, with the fixes of compatibility.md.
//! May import: `crypto`, `error`.

mod model;
pub mod store;
pub mod validate;

pub use model::{Client, OAuth2Client};
pub use store::ClientStore;
pub use validate::Rules;

use crate::crypto::hasher::Hasher;
use crate::crypto::random;
use crate::error::Error;
use chrono::{DateTime, SubsecRound, Utc};
use serde_json::Value;

/// What the client operations need besides the store.
pub struct Deps<'a> {
    pub rules: &'a Rules,
    pub hasher: &'a Hasher,
    pub http: &'a reqwest::Client,
}

fn hash_failed(e: impl std::fmt::Display) -> Error {
    Error::server_error().debug(e)
}

/// `POST /clients`: validates, generates the id and secret when absent, hashes the secret and
/// returns the stored client with the plaintext secret (omitted for public clients).
#[tracing::instrument(skip_all, fields(client_id = %body.client_id))]
pub async fn create(
    store: &impl ClientStore,
    deps: &Deps<'_>,
    mut body: OAuth2Client,
    now: DateTime<Utc>,
) -> Result<OAuth2Client, Error> {
    validate::validate(&mut body, deps.rules, deps.http).await?;
    // Hydra generates a secret for every client, public ones too (it is then never shown).
    let secret = body
        .client_secret
        .take()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(random::client_secret);
    let secret_hash = deps
        .hasher
        .hash(secret.clone())
        .await
        .map_err(hash_failed)?;
    let now = now.trunc_subsecs(0);
    body.created_at = Some(now);
    body.updated_at = Some(now);
    let client = Client {
        data: body,
        secret_hash,
        revision: new_revision(),
    };
    store.insert_client(&client).await?;
    let mut shown = client.data;
    if !shown.is_public() {
        shown.client_secret = Some(secret);
    }
    Ok(shown)
}

/// `GET /clients/{id}`: the client without its secret.
pub async fn get(store: &impl ClientStore, id: &str) -> Result<OAuth2Client, Error> {
    Ok(store.get_client(id).await?.data)
}

/// `GET /clients`: one page, ordered by id, and the total count.
pub async fn list(
    store: &impl ClientStore,
    limit: i64,
    offset: i64,
) -> Result<(Vec<OAuth2Client>, i64), Error> {
    let (clients, total) = store.list_clients(limit, offset).await?;
    Ok((clients.into_iter().map(|c| c.data).collect(), total))
}

/// `PUT /clients/{id}`: full replacement. The path's id wins; an empty or missing secret
/// keeps the stored hash, a new one is hashed and echoed once.
#[tracing::instrument(skip_all, fields(client_id = %id))]
pub async fn update(
    store: &impl ClientStore,
    deps: &Deps<'_>,
    id: &str,
    mut body: OAuth2Client,
    now: DateTime<Utc>,
) -> Result<OAuth2Client, Error> {
    let stored = store.get_client(id).await?;
    body.client_id = id.to_string();
    replace(store, deps, stored, body, now).await
}

/// `PATCH /clients/{id}`: an RFC 6902 JSON Patch applied to the client as `GET` shows it.
/// Unlike Hydra 1.10.3 (fixed in 1.11), the stored secret stays valid unless the patch sets
/// a new one, and `client_id` cannot be patched.
#[tracing::instrument(skip_all, fields(client_id = %id))]
pub async fn patch(
    store: &impl ClientStore,
    deps: &Deps<'_>,
    id: &str,
    ops: Vec<json_patch::PatchOperation>,
    now: DateTime<Utc>,
) -> Result<OAuth2Client, Error> {
    for op in &ops {
        let path = op.path().to_string();
        if path == "/client_id" || path == "/id" || path.starts_with("/client_id/") {
            return Err(
                Error::invalid_request().hint("The client_id of a client cannot be changed.")
            );
        }
    }
    let stored = store.get_client(id).await?;
    let mut doc = serde_json::to_value(&stored.data).map_err(hash_failed)?;
    json_patch::patch(&mut doc, &ops).map_err(|e| {
        Error::invalid_request().hint(format!("Unable to apply the JSON Patch: {e}"))
    })?;
    if doc.get("client_id").and_then(Value::as_str) != Some(id) {
        return Err(Error::invalid_request().hint("The client_id of a client cannot be changed."));
    }
    let body: OAuth2Client = serde_json::from_value(doc).map_err(|e| {
        Error::invalid_request().hint(format!("The patched client is not a valid client: {e}"))
    })?;
    replace(store, deps, stored, body, now).await
}

/// Validates `body` and stores it in place of `stored`, keeping `created_at` and, unless a
/// new secret is given, the secret hash.
async fn replace(
    store: &impl ClientStore,
    deps: &Deps<'_>,
    stored: Client,
    mut body: OAuth2Client,
    now: DateTime<Utc>,
) -> Result<OAuth2Client, Error> {
    validate::validate(&mut body, deps.rules, deps.http).await?;
    let new_secret = body.client_secret.take().filter(|s| !s.is_empty());
    let secret_hash = match &new_secret {
        Some(secret) => deps
            .hasher
            .hash(secret.clone())
            .await
            .map_err(hash_failed)?,
        None => stored.secret_hash,
    };
    body.created_at = stored.data.created_at;
    body.updated_at = Some(now.trunc_subsecs(0));
    let client = Client {
        data: body,
        secret_hash,
        revision: new_revision(),
    };
    store.update_client(&client).await?;
    let mut shown = client.data;
    shown.client_secret = new_secret;
    Ok(shown)
}

/// A fresh [`Client::revision`]: random, so that a client deleted and created again under the
/// same id does not take over the old row's revision.
fn new_revision() -> i64 {
    let mut bytes = [0u8; 8];
    random::fill(&mut bytes);
    i64::from_le_bytes(bytes)
}

/// `DELETE /clients/{id}`.
pub async fn delete(store: &impl ClientStore, id: &str) -> Result<(), Error> {
    Ok(store.delete_client(id).await?)
}
