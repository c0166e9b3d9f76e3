//! `OAuth2Client`, the wire model of `api.json`'s `oAuth2Client`, with Hydra's presence rules
//! (hydra-reference §3.1, §13) fixed as sdk-interop.md asks: lists are always `[]`, objects
//! `{}`, never `null`; optional strings are omitted when empty.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// `null` in a request means "not set": the field's default.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

/// `null` for an object member means `{}`.
fn nullable_object<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    Option::<Value>::deserialize(d).map(|v| v.filter(|v| !v.is_null()).unwrap_or_else(empty_object))
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// An OAuth 2.0 client as the admin API reads and writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OAuth2Client {
    #[serde(deserialize_with = "nullable")]
    pub client_id: String,
    #[serde(deserialize_with = "nullable")]
    pub client_name: String,
    /// Plaintext; only in the create response (and in an update that changed it).
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub redirect_uris: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub grant_types: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub response_types: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub scope: String,
    #[serde(deserialize_with = "nullable")]
    pub audience: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub owner: String,
    #[serde(deserialize_with = "nullable")]
    pub policy_uri: String,
    #[serde(deserialize_with = "nullable")]
    pub allowed_cors_origins: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub tos_uri: String,
    #[serde(deserialize_with = "nullable")]
    pub client_uri: String,
    #[serde(deserialize_with = "nullable")]
    pub logo_uri: String,
    #[serde(deserialize_with = "nullable")]
    pub contacts: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub client_secret_expires_at: i64,
    #[serde(deserialize_with = "nullable")]
    pub subject_type: String,
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub sector_identifier_uri: String,
    #[serde(deserialize_with = "nullable_object")]
    pub jwks: Value,
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub jwks_uri: String,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub request_uris: Vec<String>,
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub token_endpoint_auth_method: String,
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub token_endpoint_auth_signing_alg: String,
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub request_object_signing_alg: String,
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub userinfo_signed_response_alg: String,
    /// Server-set; ignored in requests.
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// Server-set; ignored in requests.
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub frontchannel_logout_uri: String,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub frontchannel_logout_session_required: bool,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub backchannel_logout_uri: String,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub backchannel_logout_session_required: bool,
    #[serde(deserialize_with = "nullable_object")]
    pub metadata: Value,
}

impl Default for OAuth2Client {
    fn default() -> Self {
        OAuth2Client {
            client_id: String::new(),
            client_name: String::new(),
            client_secret: None,
            redirect_uris: Vec::new(),
            grant_types: Vec::new(),
            response_types: Vec::new(),
            scope: String::new(),
            audience: Vec::new(),
            owner: String::new(),
            policy_uri: String::new(),
            allowed_cors_origins: Vec::new(),
            tos_uri: String::new(),
            client_uri: String::new(),
            logo_uri: String::new(),
            contacts: Vec::new(),
            client_secret_expires_at: 0,
            subject_type: String::new(),
            sector_identifier_uri: String::new(),
            jwks: empty_object(),
            jwks_uri: String::new(),
            request_uris: Vec::new(),
            token_endpoint_auth_method: String::new(),
            token_endpoint_auth_signing_alg: String::new(),
            request_object_signing_alg: String::new(),
            userinfo_signed_response_alg: String::new(),
            created_at: None,
            updated_at: None,
            frontchannel_logout_uri: String::new(),
            frontchannel_logout_session_required: false,
            post_logout_redirect_uris: Vec::new(),
            backchannel_logout_uri: String::new(),
            backchannel_logout_session_required: false,
            metadata: empty_object(),
        }
    }
}

impl OAuth2Client {
    /// A public client authenticates with nothing (`token_endpoint_auth_method: none`).
    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method == "none"
    }

    /// The scopes the client may request: `scope` split on spaces.
    pub fn scopes(&self) -> Vec<String> {
        self.scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Grant types in force: Hydra treats an empty list as `["authorization_code"]`.
    pub fn effective_grant_types(&self) -> Vec<String> {
        if self.grant_types.is_empty() {
            vec!["authorization_code".into()]
        } else {
            self.grant_types.clone()
        }
    }

    /// Response types in force: Hydra treats an empty list as `["code"]`.
    pub fn effective_response_types(&self) -> Vec<String> {
        if self.response_types.is_empty() {
            vec!["code".into()]
        } else {
            self.response_types.clone()
        }
    }
}

/// A stored client: the model (never carrying a plaintext secret) and the secret's hash.
#[derive(Clone, PartialEq)]
pub struct Client {
    pub data: OAuth2Client,
    /// argon2id or bcrypt hash; empty when the client has none.
    pub secret_hash: String,
    /// Which version of the stored row this is: a random number the store writes with every
    /// change (0 for a client not read from the store).
    pub revision: i64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("data", &self.data)
            .field("secret_hash", &"[redacted]")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nulls_and_missing_fields_read_as_defaults() {
        let c: OAuth2Client = serde_json::from_value(json!({
            "client_id": "a", "redirect_uris": null, "jwks": null, "metadata": null, "unknown": 1,
            "created_at": "2020-01-01T00:00:00Z"
        }))
        .unwrap();
        assert_eq!(c.redirect_uris, Vec::<String>::new());
        assert_eq!(c.jwks, json!({}));
        assert_eq!(
            c.created_at, None,
            "server-set fields are ignored in requests"
        );
    }

    #[test]
    fn responses_have_no_nulls_and_omit_empty_optionals() {
        let body = serde_json::to_value(OAuth2Client {
            client_id: "a".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            body,
            json!({
                "client_id": "a", "client_name": "", "redirect_uris": [], "grant_types": [], "response_types": [],
                "scope": "", "audience": [], "owner": "", "policy_uri": "", "allowed_cors_origins": [], "tos_uri": "",
                "client_uri": "", "logo_uri": "", "contacts": [], "client_secret_expires_at": 0, "subject_type": "",
                "jwks": {}, "metadata": {}
            })
        );
    }
}
