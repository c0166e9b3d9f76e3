//! Consent sessions (hydra-reference §2.6, §3.10): the consents a subject has granted, as
//! `GET /oauth2/auth/sessions/consent` lists them, and their revocation with every token
//! issued under them (`DELETE /oauth2/auth/sessions/consent`). The storage contract
//! [`ConsentSessionStore`] is implemented in `store/consent_sessions.rs`.
//! May import: `client`, `error`.

use super::model::{ConsentRequest, ConsentRequestView, ConsentSession, HandledConsent};
use super::store::ConsentStore;
use crate::client::{ClientStore, OAuth2Client};
use crate::error::{Error, StoreError};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::collections::HashMap;
use std::future::Future;

/// A granted consent as the listing sees it before paging: enough to order it and to decide
/// whether its `remember_for` has elapsed.
#[derive(Debug, Clone, PartialEq)]
pub struct GrantedConsent {
    pub challenge: String,
    /// The answer's `requested_at` (the flow's start), from which `remember_for` counts.
    pub requested_at: DateTime<Utc>,
    /// Seconds; 0: forever.
    pub remember_for: i64,
}

/// The storage side of consent sessions, tested on both backends by
/// `tests/it/consent_sessions.rs`.
pub trait ConsentSessionStore {
    /// Every consent of `subject` that was accepted (no error), not skipped and whose verifier
    /// was spent, newest first (`requested_at`, then `handled_at`, then challenge, descending).
    fn list_granted_consents(
        &self,
        subject: &str,
    ) -> impl Future<Output = Result<Vec<GrantedConsent>, StoreError>> + Send;
    /// In one transaction: deletes every token and code issued under a consent request of
    /// `subject` (at `client_id` only, when given), then the consent requests themselves (their
    /// answers and the rows referencing them go by cascade). Returns how many consent requests
    /// were deleted.
    fn revoke_consents(
        &self,
        subject: &str,
        client_id: Option<&str>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// `PreviousConsentSession`: an accepted and used consent with its request.
#[derive(Debug, Clone, Serialize)]
pub struct PreviousConsentSession {
    pub consent_request: ConsentRequestView,
    pub grant_access_token_audience: Vec<String>,
    pub grant_scope: Vec<String>,
    /// Hydra's `nullTime`; omitted rather than `null` (sdk-interop.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handled_at: Option<DateTime<Utc>>,
    pub remember: bool,
    pub remember_for: i64,
    pub session: ConsentSession,
}

/// Which consents `DELETE /oauth2/auth/sessions/consent` revokes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Revoke {
    /// Those granted to one client (`client=<id>`).
    Client(String),
    /// All of the subject's (`all=true`).
    All,
}

/// Whether a consent's `remember_for` has run out at `now` (Hydra 1.10.3
/// `filterExpiredConsentRequests`: `remember_for > 0` and `requested_at + remember_for` past).
fn expired(c: &GrantedConsent, now: DateTime<Utc>) -> bool {
    // An unrepresentable end (absurd `remember_for`) never comes.
    c.remember_for > 0
        && Duration::try_seconds(c.remember_for)
            .and_then(|d| c.requested_at.checked_add_signed(d))
            .is_some_and(|until| until < now)
}

fn missing_subject() -> Error {
    Error::invalid_request().hint("Query parameter 'subject' is not defined but should have been.")
}

/// One page of the granted consents of `subject` and how many there are in all.
///
/// Hydra 1.10.3 drops expired consents after paging and counts them in `X-Total-Count`, so
/// its pages can come out short and the count can exceed what the pages hold. We drop them
/// before paging: the pages and the count agree.
#[tracing::instrument(skip_all)]
pub async fn list(
    store: &(impl ConsentSessionStore + ConsentStore + ClientStore),
    subject: &str,
    limit: i64,
    offset: i64,
    now: DateTime<Utc>,
) -> Result<(Vec<PreviousConsentSession>, i64), Error> {
    if subject.is_empty() {
        return Err(missing_subject());
    }
    let live: Vec<GrantedConsent> = store
        .list_granted_consents(subject)
        .await?
        .into_iter()
        .filter(|c| !expired(c, now))
        .collect();
    let total = i64::try_from(live.len()).unwrap_or(i64::MAX);
    let skip = usize::try_from(offset.max(0)).unwrap_or(usize::MAX);
    let take = usize::try_from(limit.max(0)).unwrap_or(0);
    let mut clients: HashMap<String, OAuth2Client> = HashMap::new();
    let mut page = Vec::with_capacity(take.min(live.len()));
    for granted in live.iter().skip(skip).take(take) {
        let (request, handled) = match store.get_consent_request(&granted.challenge).await {
            Ok((request, Some(handled))) => (request, handled),
            // Revoked (or its client deleted) since the listing: no longer a session.
            Ok((_, None)) | Err(StoreError::NotFound) => continue,
            Err(e) => return Err(e.into()),
        };
        let client = match clients.get(&request.client_id) {
            Some(client) => client.clone(),
            None => match store.get_client(&request.client_id).await {
                Ok(found) => {
                    let mut client = found.data;
                    client.client_secret = None;
                    clients.insert(request.client_id.clone(), client.clone());
                    client
                }
                Err(StoreError::NotFound) => continue,
                Err(e) => return Err(e.into()),
            },
        };
        page.push(session(request, handled, client));
    }
    Ok((page, total))
}

fn session(
    request: ConsentRequest,
    handled: HandledConsent,
    client: OAuth2Client,
) -> PreviousConsentSession {
    PreviousConsentSession {
        consent_request: ConsentRequestView::new(request, client),
        grant_access_token_audience: handled.granted_audience,
        grant_scope: handled.granted_scope,
        handled_at: handled.handled_at,
        remember: handled.remember,
        remember_for: handled.remember_for,
        session: ConsentSession {
            access_token: handled.session_access_token,
            id_token: handled.session_id_token,
        },
    }
}

/// The revocation target from the query: `client` wins over `all` (as in Hydra's handler);
/// neither is a 400. `all` is read case-insensitively: the SDKs send `True`.
fn target(client: Option<&str>, all: Option<&str>) -> Result<Revoke, Error> {
    match (client.filter(|c| !c.is_empty()), all) {
        (Some(client), _) => Ok(Revoke::Client(client.to_string())),
        (None, Some(all)) if all.eq_ignore_ascii_case("true") => Ok(Revoke::All),
        _ => Err(Error::invalid_request().hint(
            "Query parameter both 'client' and 'all' is not defined but one of them should have been.",
        )),
    }
}

/// Revokes the consents of `subject` at `client`, or all of them when `all` is `true`, and
/// every token issued under them: access and refresh tokens and authorization codes stop
/// working at once, and the client must ask for consent again. Nothing to revoke is not an
/// error; a missing subject, or neither `client` nor `all`, is a 400 (subject first, as in
/// Hydra's handler).
#[tracing::instrument(skip_all)]
pub async fn revoke(
    store: &impl ConsentSessionStore,
    subject: &str,
    client: Option<&str>,
    all: Option<&str>,
) -> Result<(), Error> {
    if subject.is_empty() {
        return Err(missing_subject());
    }
    let client = match target(client, all)? {
        Revoke::Client(id) => Some(id),
        Revoke::All => None,
    };
    store.revoke_consents(subject, client.as_deref()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn remember_for_counts_from_the_request() {
        let at = Utc.with_ymd_and_hms(2021, 7, 14, 12, 0, 0).unwrap();
        let c = |remember_for| GrantedConsent {
            challenge: "c".into(),
            requested_at: at,
            remember_for,
        };
        let cases = [
            ("forever", c(0), at + Duration::days(10_000), false),
            ("still remembered", c(60), at + Duration::seconds(60), false),
            ("elapsed", c(60), at + Duration::seconds(61), true),
            ("absurd remember_for", c(i64::MAX), at, false),
        ];
        for (name, consent, now, want) in cases {
            assert_eq!(expired(&consent, now), want, "{name}");
        }
    }

    #[test]
    fn the_target_needs_a_client_or_all() {
        let cases = [
            (Some("c1"), None, Some(Revoke::Client("c1".into()))),
            (Some("c1"), Some("true"), Some(Revoke::Client("c1".into()))),
            (None, Some("true"), Some(Revoke::All)),
            (None, Some("True"), Some(Revoke::All)),
            (Some(""), Some("TRUE"), Some(Revoke::All)),
            (None, Some("false"), None),
            (None, Some("1"), None),
            (Some(""), None, None),
            (None, None, None),
        ];
        for (client, all, want) in cases {
            let got = target(client, all);
            assert_eq!(got.as_ref().ok(), want.as_ref(), "{client:?} {all:?}");
            if let Err(e) = got {
                assert_eq!(e.status, 400);
            }
        }
    }
}
