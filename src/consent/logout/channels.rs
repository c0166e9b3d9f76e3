//! Telling the relying parties that a session ended (hydra-reference §4.7 steps 4–5):
//! front-channel URLs the browser loads in hidden iframes (Front-Channel Logout 1.0), and
//! logout tokens POSTed server to server (Back-Channel Logout 1.0). Back-channel calls run
//! concurrently on their own tasks with a hard deadline, follow no redirects and never read
//! the answer's body: a slow, hanging or hostile RP costs the user at most [`TIMEOUT`]
//! (security-cases #96, #126).

use super::super::flow::{subject_identifier, with_param};
use super::super::store::ConsentStore;
use crate::client::OAuth2Client;
use crate::clock;
use crate::config::Config;
use crate::crypto::random;
use crate::error::Error;
use crate::jwk::{KeyManager, KeyStore, ID_TOKEN_SET};
use chrono::{DateTime, SubsecRound, Utc};
use serde_json::{json, Map, Value};
use std::sync::OnceLock;
use std::time::Duration;
use url::Url;

/// The longest a logout waits for the back-channel calls, all of them together.
pub const TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Back-Channel Logout 1.0 §2.4 recommends a short lifetime ("two minutes or less").
const TOKEN_LIFETIME: Duration = Duration::from_secs(120);
/// Back-Channel Logout 1.0 §2.4: the `events` member that makes a JWT a logout token.
pub const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// A client to tell about the end of session `sid` of `subject`.
#[derive(Debug, Clone)]
pub struct Participant {
    pub sid: String,
    pub subject: String,
    pub client: OAuth2Client,
}

/// Front-Channel Logout 1.0 §2/§3: `frontchannel_logout_uri` with `iss` and `sid` added
/// (its own query kept), for every participant that registered one.
pub fn frontchannel_urls(config: &Config, participants: &[Participant]) -> Vec<Url> {
    participants
        .iter()
        .filter(|p| !p.client.frontchannel_logout_uri.is_empty())
        .filter_map(|p| {
            let url = Url::parse(&p.client.frontchannel_logout_uri).ok()?;
            let url = with_param(&url, "iss", config.urls.issuer.as_str());
            Some(with_param(&url, "sid", &p.sid))
        })
        .collect()
}

/// One logout token, not yet sent.
#[derive(Debug, Clone)]
pub struct Notice {
    pub client_id: String,
    pub uri: String,
    pub token: String,
}

/// The claims of a logout token (Back-Channel Logout 1.0 §2.4): `iss`, `aud`, `iat`, `exp`,
/// `jti`, `events`, `sid`, and `sub` (the subject as this client knows it). Never a `nonce`.
pub fn logout_claims(
    config: &Config,
    client_id: &str,
    sid: &str,
    sub: Option<&str>,
    now: DateTime<Utc>,
) -> Value {
    let iat = now.trunc_subsecs(0);
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(config.urls.issuer.as_str()));
    claims.insert("aud".into(), json!([client_id]));
    claims.insert("iat".into(), json!(iat.timestamp()));
    claims.insert(
        "exp".into(),
        json!(clock::later(iat, TOKEN_LIFETIME).timestamp()),
    );
    claims.insert("jti".into(), json!(random::uuid()));
    claims.insert("sid".into(), json!(sid));
    if let Some(sub) = sub {
        claims.insert("sub".into(), json!(sub));
    }
    claims.insert("events".into(), json!({ BACKCHANNEL_EVENT: {} }));
    Value::Object(claims)
}

/// Signed logout tokens for every participant with a `backchannel_logout_uri` (ID-token key,
/// header `typ: logout+jwt`).
pub async fn notices(
    store: &(impl ConsentStore + KeyStore),
    keys: &KeyManager,
    config: &Config,
    participants: &[Participant],
    now: DateTime<Utc>,
) -> Result<Vec<Notice>, Error> {
    let targets: Vec<&Participant> = participants
        .iter()
        .filter(|p| !p.client.backchannel_logout_uri.is_empty())
        .collect();
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let signer = keys.signer(store, ID_TOKEN_SET).await?;
    let mut header = Map::new();
    header.insert("typ".into(), json!("logout+jwt"));
    let mut out = Vec::with_capacity(targets.len());
    for p in targets {
        let forced = store
            .get_forced_subject(&p.subject, &p.client.client_id)
            .await
            .map_err(Error::from)?
            .unwrap_or_default();
        // A pairwise client that cannot be given a subject still gets the `sid`.
        let sub = subject_identifier(config, &p.client, &p.subject, &forced).ok();
        let claims = logout_claims(config, &p.client.client_id, &p.sid, sub.as_deref(), now);
        out.push(Notice {
            client_id: p.client.client_id.clone(),
            uri: p.client.backchannel_logout_uri.clone(),
            token: signer.sign_with_header(&header, &claims)?,
        });
    }
    Ok(out)
}

/// How one back-channel call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The RP answered 2xx.
    Delivered,
    /// The RP answered with this non-2xx status.
    Refused(u16),
    /// No answer within the deadline.
    TimedOut,
    /// Connection or protocol failure.
    Failed,
}

impl Delivery {
    /// A short label for metrics; `None` when delivered.
    pub fn failure(&self) -> Option<&'static str> {
        match self {
            Delivery::Delivered => None,
            Delivery::Refused(_) => Some("status"),
            Delivery::TimedOut => Some("timeout"),
            Delivery::Failed => Some("network"),
        }
    }
}

/// The back-channel HTTP client: bounded timeouts, no redirects (a redirect could point the
/// POST anywhere, and loops must not cost time), no cookies.
fn http_client() -> Result<&'static reqwest::Client, Error> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client);
    }
    let client = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::server_error().debug(e))?;
    Ok(CLIENT.get_or_init(|| client))
}

async fn post(http: &reqwest::Client, notice: &Notice) -> Delivery {
    // Back-Channel Logout 1.0 §2.5: an HTTP POST of `logout_token` as a form.
    let sent = http
        .post(&notice.uri)
        .form(&[("logout_token", notice.token.as_str())])
        .send()
        .await;
    match sent {
        // The body is never read: only the status matters (§2.8).
        Ok(r) if r.status().is_success() => Delivery::Delivered,
        Ok(r) => Delivery::Refused(r.status().as_u16()),
        Err(e) if e.is_timeout() => Delivery::TimedOut,
        Err(_) => Delivery::Failed,
    }
}

/// POSTs every notice concurrently and waits at most [`TIMEOUT`] for all of them. Each call
/// runs on its own task, so it completes (or times out) even if the waiting request is
/// dropped. Failures are logged here; the caller counts them.
pub async fn send(notices: Vec<Notice>) -> Vec<(String, Delivery)> {
    if notices.is_empty() {
        return Vec::new();
    }
    let http = match http_client() {
        Ok(http) => http,
        Err(e) => {
            tracing::error!(error = %e, "back-channel logout: no HTTP client");
            return notices
                .into_iter()
                .map(|n| (n.client_id, Delivery::Failed))
                .collect();
        }
    };
    // All calls start now and each ends within TIMEOUT, so the waiting below does too.
    let tasks: Vec<_> = notices
        .into_iter()
        .map(|n| {
            let client_id = n.client_id.clone();
            let task = tokio::spawn(async move {
                tokio::time::timeout(TIMEOUT, post(http, &n))
                    .await
                    .unwrap_or(Delivery::TimedOut)
            });
            (client_id, task)
        })
        .collect();
    let mut out = Vec::with_capacity(tasks.len());
    for (client_id, task) in tasks {
        let delivery = task.await.unwrap_or(Delivery::Failed);
        match &delivery {
            Delivery::Delivered => {}
            failed => {
                tracing::warn!(client_id = %client_id, outcome = ?failed, "back-channel logout failed")
            }
        }
        out.push((client_id, delivery));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn logout_token_claims_follow_the_spec() {
        let config = Config::for_tests("https://auth.example/");
        let now = Utc.timestamp_opt(1_700_000_000, 400_000_000).unwrap();
        let mut c = logout_claims(&config, "rp", "sid-1", Some("alice"), now);
        assert_eq!(c["jti"].as_str().unwrap().len(), 36);
        c.as_object_mut().unwrap().remove("jti");
        assert_eq!(
            c,
            json!({"iss": "https://auth.example/", "aud": ["rp"], "iat": 1_700_000_000,
                "exp": 1_700_000_120, "sid": "sid-1", "sub": "alice",
                "events": {"http://schemas.openid.net/event/backchannel-logout": {}}})
        );
        let no_sub = logout_claims(&config, "rp", "sid-1", None, now);
        assert!(no_sub.get("sub").is_none() && no_sub.get("nonce").is_none());
    }

    #[test]
    fn frontchannel_urls_keep_their_query_and_get_iss_and_sid() {
        let config = Config::for_tests("https://auth.example/");
        let client = |id: &str, uri: &str| OAuth2Client {
            client_id: id.into(),
            frontchannel_logout_uri: uri.into(),
            ..OAuth2Client::default()
        };
        let participants = [
            Participant {
                sid: "s 1".into(),
                subject: "alice".into(),
                client: client("a", "https://a.example/logout?x=1&sid=forged"),
            },
            Participant {
                sid: "s 1".into(),
                subject: "alice".into(),
                client: client("b", ""),
            },
        ];
        let urls = frontchannel_urls(&config, &participants);
        assert_eq!(urls.len(), 1);
        assert_eq!(
            urls[0].as_str(),
            "https://a.example/logout?x=1&iss=https%3A%2F%2Fauth.example%2F&sid=s+1"
        );
    }
}
