//! `ClientStore` on both backends: table `hydra_client`, lists and objects as JSON text, and
//! the short-lived in-process copy of client rows ([`ClientCache`]).

use super::{column_count, json, list, map_err, placeholders, Db};
use crate::client::{Client, ClientStore, OAuth2Client};
use crate::error::StoreError;
use chrono::{NaiveDateTime, TimeZone, Utc};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, RwLock};
use std::time::{Duration, Instant};

/// How long a client row read from the database answers `get_client_cached` without reading
/// it again. Every public step of a flow and every token request needs its client; reading it
/// each time was one statement of two per token and four of 27 per login flow
/// (docs/benchmarks.md). Writes through this process drop the copy at once; a write made
/// through another instance (or straight into the database) is seen here within this bound,
/// as key sets are (`jwk::CACHE_TTL`). Nothing lives only here: the row stays the truth, and
/// what must not act on an old copy (client authentication, issuing) either reads the row
/// (`get_client`) or makes its write conditional on the row being unchanged
/// (`insert_access_token_if_client`).
const CLIENT_TTL: Duration = Duration::from_secs(2);
/// More distinct clients than this within one TTL empties the cache rather than growing it.
const CLIENT_CACHE_LIMIT: usize = 10_000;

/// Client rows by id, each with the time it was read.
#[derive(Default)]
pub(crate) struct ClientCache {
    entries: RwLock<HashMap<String, (Instant, Client)>>,
    /// Bumped by every local write: a read that started before a write must not put back the
    /// row it read (it may predate the write).
    generation: AtomicU64,
}

impl ClientCache {
    fn get(&self, id: &str) -> Option<Client> {
        let entries = self.entries.read().ok()?;
        let (read_at, client) = entries.get(id)?;
        (read_at.elapsed() < CLIENT_TTL).then(|| client.clone())
    }

    /// The revision of the copy held for `id`, fresh or not.
    fn held_revision(&self, id: &str) -> Option<i64> {
        let entries = self.entries.read().ok()?;
        entries.get(id).map(|(_, client)| client.revision)
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps `client`, read at `read_at` when the generation was `seen`, unless a local write
    /// happened since.
    fn put(&self, client: &Client, read_at: Instant, seen: u64) {
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if self.generation() != seen {
            return;
        }
        if entries.len() >= CLIENT_CACHE_LIMIT {
            entries.clear();
        }
        entries.insert(client.data.client_id.clone(), (read_at, client.clone()));
    }

    /// Forgets `id` (called before and after every local write of it).
    fn forget(&self, id: &str) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(id);
        }
    }
}

static SELECT_ONE: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {COLUMNS} FROM hydra_client WHERE id = $1"));

#[derive(sqlx::FromRow)]
struct ClientRow {
    id: String,
    client_name: String,
    client_secret: String,
    redirect_uris: String,
    grant_types: String,
    response_types: String,
    scope: String,
    owner: String,
    policy_uri: String,
    tos_uri: String,
    client_uri: String,
    logo_uri: String,
    contacts: String,
    client_secret_expires_at: i64,
    sector_identifier_uri: String,
    jwks: String,
    jwks_uri: String,
    request_uris: String,
    token_endpoint_auth_method: String,
    request_object_signing_alg: String,
    userinfo_signed_response_alg: String,
    subject_type: String,
    allowed_cors_origins: String,
    audience: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    frontchannel_logout_uri: String,
    frontchannel_logout_session_required: bool,
    post_logout_redirect_uris: String,
    backchannel_logout_uri: String,
    backchannel_logout_session_required: bool,
    metadata: String,
    token_endpoint_auth_signing_alg: String,
    revision: i64,
}

const COLUMNS: &str = "id, client_name, client_secret, redirect_uris, grant_types, response_types, scope, owner, \
    policy_uri, tos_uri, client_uri, logo_uri, contacts, client_secret_expires_at, sector_identifier_uri, jwks, \
    jwks_uri, request_uris, token_endpoint_auth_method, request_object_signing_alg, userinfo_signed_response_alg, \
    subject_type, allowed_cors_origins, audience, created_at, updated_at, frontchannel_logout_uri, \
    frontchannel_logout_session_required, post_logout_redirect_uris, backchannel_logout_uri, \
    backchannel_logout_session_required, metadata, token_endpoint_auth_signing_alg, revision";

fn object(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::Object(Default::default()))
}

impl From<ClientRow> for Client {
    fn from(r: ClientRow) -> Client {
        Client {
            secret_hash: r.client_secret,
            revision: r.revision,
            data: OAuth2Client {
                client_id: r.id,
                client_name: r.client_name,
                client_secret: None,
                redirect_uris: list(&r.redirect_uris),
                grant_types: list(&r.grant_types),
                response_types: list(&r.response_types),
                scope: r.scope,
                audience: list(&r.audience),
                owner: r.owner,
                policy_uri: r.policy_uri,
                allowed_cors_origins: list(&r.allowed_cors_origins),
                tos_uri: r.tos_uri,
                client_uri: r.client_uri,
                logo_uri: r.logo_uri,
                contacts: list(&r.contacts),
                client_secret_expires_at: r.client_secret_expires_at,
                subject_type: r.subject_type,
                sector_identifier_uri: r.sector_identifier_uri,
                jwks: object(&r.jwks),
                jwks_uri: r.jwks_uri,
                request_uris: list(&r.request_uris),
                token_endpoint_auth_method: r.token_endpoint_auth_method,
                token_endpoint_auth_signing_alg: r.token_endpoint_auth_signing_alg,
                request_object_signing_alg: r.request_object_signing_alg,
                userinfo_signed_response_alg: r.userinfo_signed_response_alg,
                created_at: Some(Utc.from_utc_datetime(&r.created_at)),
                updated_at: Some(Utc.from_utc_datetime(&r.updated_at)),
                frontchannel_logout_uri: r.frontchannel_logout_uri,
                frontchannel_logout_session_required: r.frontchannel_logout_session_required,
                post_logout_redirect_uris: list(&r.post_logout_redirect_uris),
                backchannel_logout_uri: r.backchannel_logout_uri,
                backchannel_logout_session_required: r.backchannel_logout_session_required,
                metadata: object(&r.metadata),
            },
        }
    }
}

/// Binds a client's values in `COLUMNS` order (id first) to `$query`.
macro_rules! bind_client {
    ($query:expr, $c:expr, $hash:expr, $revision:expr) => {{
        let c: &OAuth2Client = $c;
        let created = c.created_at.unwrap_or_default().naive_utc();
        let updated = c.updated_at.unwrap_or_default().naive_utc();
        $query
            .bind(c.client_id.clone())
            .bind(c.client_name.clone())
            .bind($hash)
            .bind(json(&c.redirect_uris))
            .bind(json(&c.grant_types))
            .bind(json(&c.response_types))
            .bind(c.scope.clone())
            .bind(c.owner.clone())
            .bind(c.policy_uri.clone())
            .bind(c.tos_uri.clone())
            .bind(c.client_uri.clone())
            .bind(c.logo_uri.clone())
            .bind(json(&c.contacts))
            .bind(c.client_secret_expires_at)
            .bind(c.sector_identifier_uri.clone())
            .bind(json(&c.jwks))
            .bind(c.jwks_uri.clone())
            .bind(json(&c.request_uris))
            .bind(c.token_endpoint_auth_method.clone())
            .bind(c.request_object_signing_alg.clone())
            .bind(c.userinfo_signed_response_alg.clone())
            .bind(c.subject_type.clone())
            .bind(json(&c.allowed_cors_origins))
            .bind(json(&c.audience))
            .bind(created)
            .bind(updated)
            .bind(c.frontchannel_logout_uri.clone())
            .bind(c.frontchannel_logout_session_required)
            .bind(json(&c.post_logout_redirect_uris))
            .bind(c.backchannel_logout_uri.clone())
            .bind(c.backchannel_logout_session_required)
            .bind(json(&c.metadata))
            .bind(c.token_endpoint_auth_signing_alg.clone())
            .bind($revision)
    }};
}

/// `NotFound` when a statement touched no row.
fn found(rows_affected: u64) -> Result<(), StoreError> {
    if rows_affected == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

impl Db {
    /// Drops this process's copy of client `id` (it was found changed).
    pub(crate) fn forget_client(&self, id: &str) {
        self.clients.forget(id);
    }
}

impl ClientStore for Db {
    async fn insert_client(&self, client: &Client) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO hydra_client ({COLUMNS}) VALUES ({})",
            placeholders(1, column_count(COLUMNS))
        );
        let hash = client.secret_hash.clone();
        crate::on_pool!(self, |pool| bind_client!(
            sqlx::query(&sql),
            &client.data,
            hash.clone(),
            client.revision
        )
        .execute(pool)
        .await
        .map(|_| ()))
        .map_err(map_err)?;
        self.clients.forget(&client.data.client_id);
        Ok(())
    }

    async fn get_client_cached(&self, id: &str) -> Result<Client, StoreError> {
        match self.clients.get(id) {
            Some(hit) => Ok(hit),
            None => self.get_client(id).await,
        }
    }

    async fn refresh_client(&self, id: &str) -> Result<bool, StoreError> {
        let Some(held) = self.clients.held_revision(id) else {
            return Ok(false);
        };
        match self.get_client(id).await {
            Ok(stored) => Ok(stored.revision != held),
            Err(StoreError::NotFound) => {
                self.clients.forget(id);
                Ok(true)
            }
            Err(e) => Err(e),
        }
    }

    async fn get_client(&self, id: &str) -> Result<Client, StoreError> {
        let (seen, read_at) = (self.clients.generation(), Instant::now());
        let row: ClientRow = crate::on_pool!(self, |pool| sqlx::query_as(&SELECT_ONE)
            .bind(id)
            .fetch_one(pool)
            .await)
        .map_err(map_err)?;
        let client = Client::from(row);
        self.clients.put(&client, read_at, seen);
        Ok(client)
    }

    async fn update_client(&self, client: &Client) -> Result<(), StoreError> {
        // Every column but id (the key) and created_at (kept from creation).
        let sets: Vec<String> = COLUMNS
            .split(',')
            .map(str::trim)
            .enumerate()
            .filter(|(_, c)| *c != "id" && *c != "created_at")
            .map(|(i, c)| format!("{c} = ${}", i + 1))
            .collect();
        let sql = format!("UPDATE hydra_client SET {} WHERE id = $1", sets.join(", "));
        let hash = client.secret_hash.clone();
        let id = client.data.client_id.as_str();
        self.clients.forget(id);
        let done = crate::on_pool!(self, |pool| bind_client!(
            sqlx::query(&sql),
            &client.data,
            hash.clone(),
            client.revision
        )
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(map_err);
        self.clients.forget(id);
        found(done?)
    }

    async fn delete_client(&self, id: &str) -> Result<(), StoreError> {
        self.clients.forget(id);
        let done = crate::on_pool!(self, |pool| sqlx::query(
            "DELETE FROM hydra_client WHERE id = $1"
        )
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(map_err);
        self.clients.forget(id);
        found(done?)
    }

    async fn list_clients(
        &self,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Client>, i64), StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM hydra_client ORDER BY id LIMIT $1 OFFSET $2");
        let rows: Vec<ClientRow> = crate::on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await)
        .map_err(map_err)?;
        let total: i64 = crate::on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM hydra_client"
        )
        .fetch_one(pool)
        .await)
        .map_err(map_err)?;
        Ok((rows.into_iter().map(Client::from).collect(), total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: &str, scope: &str) -> Client {
        Client {
            data: OAuth2Client {
                client_id: id.into(),
                scope: scope.into(),
                ..OAuth2Client::default()
            },
            secret_hash: String::new(),
            revision: 0,
        }
    }

    #[test]
    fn a_read_is_served_until_forgotten() {
        let cache = ClientCache::default();
        assert!(cache.get("a").is_none());
        cache.put(&client("a", "x"), Instant::now(), cache.generation());
        assert_eq!(cache.get("a").unwrap().data.scope, "x");
        assert!(cache.get("b").is_none());
        cache.forget("a");
        assert!(cache.get("a").is_none());
    }

    #[test]
    fn a_read_that_raced_a_write_is_not_kept() {
        let cache = ClientCache::default();
        let seen = cache.generation();
        cache.forget("a"); // a write lands while the read is in flight
        cache.put(&client("a", "old"), Instant::now(), seen);
        assert!(cache.get("a").is_none());
    }

    #[test]
    fn an_old_read_has_expired() {
        let cache = ClientCache::default();
        let long_ago = Instant::now().checked_sub(CLIENT_TTL * 2).unwrap();
        cache.put(&client("a", "x"), long_ago, cache.generation());
        assert!(cache.get("a").is_none());
    }
}
