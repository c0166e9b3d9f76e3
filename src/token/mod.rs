//! The token engine, shared by both routers: mints opaque tokens, records them with their
//! grant and session, and finds them again for introspection. Grants (`oauth2::grant::*`)
//! decide *what* to issue; the engine decides *how*.
//! May import: `crypto`, `jwk`, `error`.

mod code;
pub mod janitor;
pub mod jwt;
pub mod opaque;
pub mod session;
pub mod store;

pub use session::{CodeBinding, IdTokenClaims, Session};
pub use store::{ClientVersion, TokenKind, TokenRecord, TokenStore};

use crate::clock;
use crate::crypto::aead::Aead;
use crate::crypto::random;
use crate::error::{Error, StoreError};
use crate::jwk::KeyStore;
use chrono::{DateTime, SubsecRound, Utc};
use opaque::HmacKeys;
use serde_json::Value;

/// What a grant hands to the engine: who gets the token, for what.
#[derive(Debug, Clone)]
pub struct Grant {
    /// Shared by every token of the grant (rotation and revocation act on it).
    pub request_id: String,
    pub requested_at: DateTime<Utc>,
    pub client_id: String,
    pub subject: String,
    pub requested_scope: Vec<String>,
    pub granted_scope: Vec<String>,
    pub requested_audience: Vec<String>,
    pub granted_audience: Vec<String>,
    /// Consent's `session.access_token`: introspection `ext`.
    pub ext: serde_json::Map<String, Value>,
    /// Set when the grant issues ID tokens.
    pub id_token: Option<IdTokenClaims>,
    /// The subject identifier the client knows, when it is not `subject` (pairwise or forced).
    pub obfuscated_subject: Option<String>,
    /// The consent challenge the grant came from (`None` for client_credentials); consent
    /// revocation deletes every token recorded under it.
    pub challenge_id: Option<String>,
}

impl Grant {
    /// A grant with a fresh UUID request id (client_credentials).
    pub fn new(client_id: &str, subject: &str, requested_at: DateTime<Utc>) -> Grant {
        Grant {
            request_id: random::uuid(),
            requested_at: requested_at.trunc_subsecs(0),
            client_id: client_id.to_string(),
            subject: subject.to_string(),
            requested_scope: Vec::new(),
            granted_scope: Vec::new(),
            requested_audience: Vec::new(),
            granted_audience: Vec::new(),
            ext: serde_json::Map::new(),
            id_token: None,
            obfuscated_subject: None,
            challenge_id: None,
        }
    }
}

/// A token as handed to the client.
#[derive(Debug, Clone)]
pub struct Issued {
    pub token: String,
    pub expires_at: Option<DateTime<Utc>>,
}

/// An active token found by introspection.
#[derive(Debug, Clone)]
pub struct Active {
    pub kind: TokenKind,
    pub record: TokenRecord,
    pub session: Session,
}

/// Lifetimes of issued tokens (`ttl.*`).
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub access_token: std::time::Duration,
    /// `None`: refresh tokens never expire (`ttl.refresh_token: -1`).
    pub refresh_token: Option<std::time::Duration>,
    pub auth_code: std::time::Duration,
}

pub struct TokenEngine {
    /// Set when `strategies.access_token: jwt`.
    jwt: Option<jwt::JwtStrategy>,
    hmac: HmacKeys,
    aead: Aead,
    encrypt_sessions: bool,
    lifetimes: Lifetimes,
}

fn store_failed(e: impl std::fmt::Display) -> Error {
    Error::server_error().debug(e)
}

impl TokenEngine {
    /// An engine keyed by `secrets.system` (first signs, all verify).
    pub fn new(
        hmac: HmacKeys,
        aead: Aead,
        encrypt_sessions: bool,
        lifetimes: Lifetimes,
        jwt: Option<jwt::JwtStrategy>,
    ) -> TokenEngine {
        TokenEngine {
            jwt,
            hmac,
            aead,
            encrypt_sessions,
            lifetimes,
        }
    }

    pub fn lifetimes(&self) -> Lifetimes {
        self.lifetimes
    }

    fn seal_session(&self, session: &Session) -> Result<String, Error> {
        let json = serde_json::to_string(session).map_err(store_failed)?;
        if self.encrypt_sessions {
            self.aead.seal(json.as_bytes()).map_err(store_failed)
        } else {
            Ok(json)
        }
    }

    /// Readers accept plain JSON and sealed sessions alike (Hydra does, so the setting can change).
    fn open_session(&self, data: &str) -> Result<Session, Error> {
        if let Ok(session) = serde_json::from_str(data) {
            return Ok(session);
        }
        let json = self.aead.open(data).map_err(store_failed)?;
        serde_json::from_slice(&json).map_err(store_failed)
    }

    fn record(
        &self,
        grant: &Grant,
        signature: String,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<TokenRecord, Error> {
        self.record_with(grant, signature, expires_at, None)
    }

    /// A record whose session carries `code` (authorization codes only).
    fn record_with(
        &self,
        grant: &Grant,
        signature: String,
        expires_at: Option<DateTime<Utc>>,
        code: Option<CodeBinding>,
    ) -> Result<TokenRecord, Error> {
        Ok(TokenRecord {
            signature,
            request_id: grant.request_id.clone(),
            requested_at: grant.requested_at,
            client_id: grant.client_id.clone(),
            requested_scope: grant.requested_scope.clone(),
            granted_scope: grant.granted_scope.clone(),
            subject: grant.subject.clone(),
            active: true,
            requested_audience: grant.requested_audience.clone(),
            granted_audience: grant.granted_audience.clone(),
            session_data: self.seal_session(&Session {
                ext: grant.ext.clone(),
                id_token: grant.id_token.clone(),
                obfuscated_subject: grant.obfuscated_subject.clone(),
                code,
            })?,
            expires_at,
            challenge_id: grant.challenge_id.clone(),
        })
    }

    /// A new access token for `grant` (opaque or JWT, by strategy), its record key and expiry.
    async fn mint_access(
        &self,
        store: &impl KeyStore,
        grant: &Grant,
        now: DateTime<Utc>,
    ) -> Result<(String, String, DateTime<Utc>), Error> {
        let now = now.trunc_subsecs(0);
        let exp = clock::later(now, self.lifetimes.access_token);
        match &self.jwt {
            Some(strategy) => {
                let (token, key) = strategy.mint(store, grant, now, exp).await?;
                Ok((token, key, exp))
            }
            None => {
                let minted = self.hmac.mint();
                Ok((minted.token, minted.signature, exp))
            }
        }
    }

    /// Mints and records an access token for `grant`.
    pub async fn issue_access_token(
        &self,
        store: &(impl TokenStore + KeyStore),
        grant: &Grant,
        now: DateTime<Utc>,
    ) -> Result<Issued, Error> {
        let (issued, record) = self.access_record(store, grant, now).await?;
        store.insert_token(TokenKind::Access, &record).await?;
        Ok(issued)
    }

    /// Like [`TokenEngine::issue_access_token`], recorded only while `client`'s row is
    /// unchanged; `None` (nothing issued) when it changed since it was read.
    pub async fn issue_access_token_if_client(
        &self,
        store: &(impl TokenStore + KeyStore),
        grant: &Grant,
        now: DateTime<Utc>,
        client: &ClientVersion<'_>,
    ) -> Result<Option<Issued>, Error> {
        let (issued, record) = self.access_record(store, grant, now).await?;
        let stored = store.insert_access_token_if_client(record, client).await?;
        Ok(stored.then_some(issued))
    }

    /// A new access token for `grant` and the record to store for it.
    async fn access_record(
        &self,
        store: &impl KeyStore,
        grant: &Grant,
        now: DateTime<Utc>,
    ) -> Result<(Issued, TokenRecord), Error> {
        let (token, key, exp) = self.mint_access(store, grant, now).await?;
        let record = self.record(grant, key, Some(exp))?;
        let issued = Issued {
            token,
            expires_at: Some(exp),
        };
        Ok((issued, record))
    }

    /// Mints and records an opaque refresh token for `grant`.
    pub async fn issue_refresh_token(
        &self,
        store: &impl TokenStore,
        grant: &Grant,
        now: DateTime<Utc>,
    ) -> Result<Issued, Error> {
        let minted = self.hmac.mint();
        let expires_at = self
            .lifetimes
            .refresh_token
            .map(|ttl| clock::later(now.trunc_subsecs(0), ttl));
        let record = self.record(grant, minted.signature, expires_at)?;
        store.insert_token(TokenKind::Refresh, &record).await?;
        Ok(Issued {
            token: minted.token,
            expires_at,
        })
    }

    /// Spends the refresh token stored under `old` and issues a new access and refresh token
    /// for `grant`. `None` when another request spent `old` first (nothing was issued).
    pub async fn rotate(
        &self,
        store: &(impl TokenStore + KeyStore),
        old: &str,
        grant: &Grant,
        now: DateTime<Utc>,
    ) -> Result<Option<(Issued, Issued)>, Error> {
        let (access, access_key, access_exp) = self.mint_access(store, grant, now).await?;
        let refresh = self.hmac.mint();
        let refresh_exp = self
            .lifetimes
            .refresh_token
            .map(|ttl| clock::later(now.trunc_subsecs(0), ttl));
        let access_rec = self.record(grant, access_key, Some(access_exp))?;
        let refresh_rec = self.record(grant, refresh.signature, refresh_exp)?;
        if !store
            .rotate_refresh(old, &access_rec, &refresh_rec, now)
            .await?
        {
            return Ok(None);
        }
        Ok(Some((
            Issued {
                token: access,
                expires_at: Some(access_exp),
            },
            Issued {
                token: refresh.token,
                expires_at: refresh_exp,
            },
        )))
    }

    /// The stored token `token` denotes, active or not, looking in `order`.
    pub async fn lookup(
        &self,
        store: &impl TokenStore,
        token: &str,
        order: &[TokenKind],
    ) -> Result<Option<(TokenKind, TokenRecord)>, Error> {
        // A JWT access token is recorded under the hash of its signature; opaque tokens under
        // their verified HMAC half.
        let signature = match jwt::record_key(token) {
            Some(key) => key,
            None => match self.hmac.signature(token) {
                Ok(signature) => signature,
                Err(_) => return Ok(None),
            },
        };
        for &kind in order {
            match store.get_token(kind, &signature).await {
                Ok(record) => return Ok(Some((kind, record))),
                Err(StoreError::NotFound) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(None)
    }

    /// The session stored with a token.
    pub fn session(&self, record: &TokenRecord) -> Result<Session, Error> {
        self.open_session(&record.session_data)
    }

    /// The active token `token` denotes, looking in `order`; `None` for anything else
    /// (malformed, foreign, unknown, revoked, expired).
    pub async fn find_active(
        &self,
        store: &impl TokenStore,
        token: &str,
        order: &[TokenKind],
        now: DateTime<Utc>,
    ) -> Result<Option<Active>, Error> {
        let Some((kind, record)) = self.lookup(store, token, order).await? else {
            return Ok(None);
        };
        if !record.active || record.expires_at.is_some_and(|e| e <= now) {
            return Ok(None);
        }
        let session = self.open_session(&record.session_data)?;
        Ok(Some(Active {
            kind,
            record,
            session,
        }))
    }
}
