//! The login/consent records and the admin API's JSON models (hydra-reference §3.2–3.8, §8.4).

use crate::client::OAuth2Client;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `openIDConnectContext`: the OIDC parameters of the authorization request, every member
/// omitted when empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OidcContext {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acr_values: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub display: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_hint_claims: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub login_hint: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ui_locales: Vec<String>,
}

/// An authentication (login) session: the `sid` the `oauth2_authentication_session` cookie
/// carries. A stub (empty subject, no `authenticated_at`) exists from the first `/oauth2/auth`
/// until the login is accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthSession {
    pub id: String,
    pub authenticated_at: Option<DateTime<Utc>>,
    pub subject: String,
    pub remember: bool,
    /// Server-side expiry (`ttl.authentication_session`); `None`: never.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A login request (`hydra_oauth2_authentication_request`).
#[derive(Debug, Clone, PartialEq)]
pub struct LoginRequest {
    pub challenge: String,
    pub verifier: String,
    pub csrf: String,
    pub requested_scope: Vec<String>,
    pub requested_audience: Vec<String>,
    /// Set only when `skip`.
    pub subject: String,
    pub request_url: String,
    pub skip: bool,
    pub client_id: String,
    pub requested_at: DateTime<Utc>,
    /// Set only when `skip`: when the remembered session logged in.
    pub authenticated_at: Option<DateTime<Utc>>,
    pub oidc_context: OidcContext,
    /// The authentication session (`sid`) this login belongs to.
    pub session_id: String,
}

/// The login UI's answer (`hydra_oauth2_authentication_request_handled`).
#[derive(Debug, Clone, PartialEq)]
pub struct HandledLogin {
    pub challenge: String,
    pub subject: String,
    pub remember: bool,
    /// Seconds; 0: a browser-session cookie.
    pub remember_for: i64,
    /// `Some` when the login was rejected.
    pub error: Option<RequestDenied>,
    pub acr: String,
    pub requested_at: DateTime<Utc>,
    pub authenticated_at: Option<DateTime<Utc>>,
    pub was_used: bool,
    pub forced_subject_identifier: String,
    pub context: Value,
}

/// A consent request (`hydra_oauth2_consent_request`).
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentRequest {
    pub challenge: String,
    pub verifier: String,
    pub csrf: String,
    pub client_id: String,
    /// The real (non-pairwise) subject.
    pub subject: String,
    pub request_url: String,
    pub skip: bool,
    pub requested_scope: Vec<String>,
    pub requested_audience: Vec<String>,
    pub authenticated_at: Option<DateTime<Utc>>,
    /// Copied from the login request.
    pub requested_at: DateTime<Utc>,
    pub oidc_context: OidcContext,
    pub forced_subject_identifier: String,
    pub login_session_id: Option<String>,
    pub login_challenge: Option<String>,
    pub acr: String,
    pub context: Value,
}

/// The consent UI's answer (`hydra_oauth2_consent_request_handled`).
#[derive(Debug, Clone, PartialEq)]
pub struct HandledConsent {
    pub challenge: String,
    pub granted_scope: Vec<String>,
    pub granted_audience: Vec<String>,
    pub remember: bool,
    /// Seconds; 0: forever.
    pub remember_for: i64,
    /// `Some` when the consent was rejected.
    pub error: Option<RequestDenied>,
    pub requested_at: DateTime<Utc>,
    pub authenticated_at: Option<DateTime<Utc>>,
    /// Consent `session.access_token`: introspection `ext`.
    pub session_access_token: Map<String, Value>,
    /// Consent `session.id_token`: custom ID token and userinfo claims.
    pub session_id_token: Map<String, Value>,
    pub was_used: bool,
    pub handled_at: Option<DateTime<Utc>>,
}

/// `rejectRequest`: the error a login/consent UI sends back, stored as the handled row's
/// `error` and delivered to the client's redirect URI.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestDenied {
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub error_description: String,
    #[serde(default)]
    pub error_hint: String,
    #[serde(default)]
    pub error_debug: String,
    #[serde(default)]
    pub status_code: u16,
}

/// `loginRequest` (GET /oauth2/auth/requests/login).
#[derive(Debug, Clone, Serialize)]
pub struct LoginRequestView {
    pub challenge: String,
    pub client: OAuth2Client,
    pub oidc_context: OidcContext,
    pub request_url: String,
    pub requested_access_token_audience: Vec<String>,
    pub requested_scope: Vec<String>,
    pub session_id: String,
    pub skip: bool,
    pub subject: String,
}

/// `consentRequest` (GET /oauth2/auth/requests/consent).
#[derive(Debug, Clone, Serialize)]
pub struct ConsentRequestView {
    pub acr: String,
    pub challenge: String,
    pub client: OAuth2Client,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub context: Value,
    pub login_challenge: String,
    pub login_session_id: String,
    pub oidc_context: OidcContext,
    pub request_url: String,
    pub requested_access_token_audience: Vec<String>,
    pub requested_scope: Vec<String>,
    pub skip: bool,
    pub subject: String,
}

impl ConsentRequestView {
    /// The view of `request` as the admin API shows it, with its `client`.
    pub fn new(request: ConsentRequest, client: OAuth2Client) -> ConsentRequestView {
        ConsentRequestView {
            acr: request.acr,
            challenge: request.challenge,
            client,
            // Hydra's default context is `{}` (hydra-reference §3.3); never `null` (sdk-interop).
            context: if request.context.is_null() {
                Value::Object(Default::default())
            } else {
                request.context
            },
            login_challenge: request.login_challenge.unwrap_or_default(),
            login_session_id: request.login_session_id.unwrap_or_default(),
            oidc_context: request.oidc_context,
            request_url: request.request_url,
            requested_access_token_audience: request.requested_audience,
            requested_scope: request.requested_scope,
            skip: request.skip,
            subject: request.subject,
        }
    }
}

/// `acceptLoginRequest`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptLogin {
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub remember: bool,
    #[serde(default)]
    pub remember_for: i64,
    #[serde(default)]
    pub acr: String,
    #[serde(default)]
    pub force_subject_identifier: String,
    #[serde(default)]
    pub context: Value,
}

/// `consentRequestSession`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentSession {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub access_token: Map<String, Value>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub id_token: Map<String, Value>,
}

/// `acceptConsentRequest`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptConsent {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub grant_scope: Vec<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub grant_access_token_audience: Vec<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub session: ConsentSession,
    #[serde(default)]
    pub remember: bool,
    #[serde(default)]
    pub remember_for: i64,
    /// Accepted and ignored: the server sets the time.
    #[serde(default)]
    pub handled_at: Option<Value>,
}

/// `completedRequest` / `requestWasHandledResponse`.
#[derive(Debug, Clone, Serialize)]
pub struct RedirectTo {
    pub redirect_to: String,
}

/// SDKs send `null` for unset lists and maps; read it as empty.
fn null_as_empty<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}
