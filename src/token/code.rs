//! Authorization codes (hydra-reference §5.7): opaque HMAC tokens like access tokens,
//! recorded in `hydra_oauth2_code` with the grant and, in the session, the [`CodeBinding`]
//! the exchange checks. A code is spent exactly once, in the transaction that stores the
//! tokens issued for it.

use super::{CodeBinding, Grant, Issued, TokenEngine, TokenRecord, TokenStore};
use crate::clock;
use crate::error::{Error, StoreError};
use crate::jwk::KeyStore;
use chrono::{DateTime, SubsecRound, Utc};

impl TokenEngine {
    /// Mints and records an authorization code for `grant` (lifetime `ttl.auth_code`),
    /// with the redirect URI / PKCE challenge the exchange must check.
    pub async fn issue_code(
        &self,
        store: &impl TokenStore,
        grant: &Grant,
        binding: CodeBinding,
        now: DateTime<Utc>,
    ) -> Result<Issued, Error> {
        let minted = self.hmac.mint();
        let exp = clock::later(now.trunc_subsecs(0), self.lifetimes.auth_code);
        let record = self.record_with(grant, minted.signature, Some(exp), Some(binding))?;
        store.insert_code(&record).await?;
        Ok(Issued {
            token: minted.token,
            expires_at: Some(exp),
        })
    }

    /// The stored code `code` denotes, active or spent; `None` when it is malformed, signed
    /// with a secret we do not know, or unknown.
    pub async fn lookup_code(
        &self,
        store: &impl TokenStore,
        code: &str,
    ) -> Result<Option<TokenRecord>, Error> {
        let Ok(signature) = self.hmac.signature(code) else {
            return Ok(None);
        };
        match store.get_code(&signature).await {
            Ok(record) => Ok(Some(record)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Spends the code recorded under `signature` and issues an access token (and a refresh
    /// token when `with_refresh`) for `grant`. `None` when another request spent the code
    /// first (nothing was issued).
    pub async fn exchange_code(
        &self,
        store: &(impl TokenStore + KeyStore),
        signature: &str,
        grant: &Grant,
        with_refresh: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<(Issued, Option<Issued>)>, Error> {
        let (access, access_key, access_exp) = self.mint_access(store, grant, now).await?;
        let access_rec = self.record(grant, access_key, Some(access_exp))?;
        let refresh_exp = self
            .lifetimes
            .refresh_token
            .map(|ttl| clock::later(now.trunc_subsecs(0), ttl));
        let refresh = with_refresh.then(|| self.hmac.mint());
        let refresh_rec = refresh
            .as_ref()
            .map(|m| self.record(grant, m.signature.clone(), refresh_exp))
            .transpose()?;
        if !store
            .exchange_code(signature, &access_rec, refresh_rec.as_ref())
            .await?
        {
            return Ok(None);
        }
        Ok(Some((
            Issued {
                token: access,
                expires_at: Some(access_exp),
            },
            refresh.map(|m| Issued {
                token: m.token,
                expires_at: refresh_exp,
            }),
        )))
    }

    /// Spends the code recorded under `signature` without issuing anything; false when it
    /// was already spent.
    pub async fn burn_code(&self, store: &impl TokenStore, signature: &str) -> Result<bool, Error> {
        Ok(store.spend_code(signature).await?)
    }
}
