//! What is stored with every token of a grant (sealed when `oauth2.session.encrypt_at_rest`):
//! the access-token `ext`, what the grant needs to issue ID tokens again (code exchange,
//! refresh), and for authorization codes what the exchange must check.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The stored session of a token.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Consent `session.access_token`: introspection and JWT `ext`.
    #[serde(default)]
    pub ext: Map<String, Value>,
    /// Set for grants that issue ID tokens (`openid` granted through consent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<IdTokenClaims>,
    /// The subject identifier the client knows (pairwise or forced) when it is not the real
    /// subject, with or without `openid`: introspection `obfuscated_subject`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obfuscated_subject: Option<String>,
    /// Set only on authorization codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<CodeBinding>,
}

/// The per-grant part of an ID token (hydra-reference §5.3); `iat`, `exp`, `jti`, `at_hash`
/// and `c_hash` are fresh on every issuance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    /// The `sub` claim: the subject identifier for the client (pairwise or public).
    pub subject: String,
    /// `auth_time`: when the user logged in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<DateTime<Utc>>,
    /// `rat`: when the login request was created.
    pub requested_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub acr: String,
    /// From the authorization request; not repeated on refresh.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub nonce: String,
    /// `sid`: the authentication session id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sid: String,
    /// Consent `session.id_token`: custom claims (standard claims win on collision); also
    /// what `/userinfo` returns.
    #[serde(default)]
    pub extra: Map<String, Value>,
}

/// What the code exchange must check (RFC 6749 §4.1.3, RFC 7636 §4.6).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CodeBinding {
    /// The `redirect_uri` given at `/oauth2/auth`, if one was given explicitly: the token
    /// request must repeat it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// PKCE `code_challenge` (S256), empty when none was sent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub code_challenge: String,
}
