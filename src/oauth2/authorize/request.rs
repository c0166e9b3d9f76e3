//! The authorization request as `/oauth2/auth` receives it, and what the checks make of it.

use crate::client::Client;
use crate::consent::OidcContext;
use crate::oauth2::Params;
use url::Url;

/// How the authorization response travels back (OAuth 2.0 Multiple Response Types §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    Query,
    Fragment,
    /// OAuth 2.0 Form Post Response Mode: an auto-submitting HTML form.
    FormPost,
}

/// What the client asked to receive (`response_type`, a set).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResponseType {
    pub code: bool,
    pub token: bool,
    pub id_token: bool,
}

impl ResponseType {
    /// Only `code`: the one type whose default mode is the query.
    pub fn code_only(&self) -> bool {
        self.code && !self.token && !self.id_token
    }
}

/// An incoming request: its parameters (query, plus the form of a POST) and its raw query,
/// which becomes the login request's `request_url`.
#[derive(Debug, Clone, Default)]
pub struct AuthorizeRequest {
    pub params: Params,
    pub raw_query: String,
}

/// A request that passed the checks up to the redirect URI: from here on, errors go to the
/// client's redirect URI.
#[derive(Debug, Clone)]
pub struct Validated {
    pub client: Client,
    /// The redirect URI the response goes to (for loopback clients, with the requested port).
    pub redirect_uri: Url,
    /// Whether `redirect_uri` was sent explicitly (the code exchange must then repeat it).
    pub redirect_explicit: bool,
    pub response_type: ResponseType,
    pub response_mode: ResponseMode,
    pub state: String,
    pub nonce: String,
    pub scope: Vec<String>,
    pub audience: Vec<String>,
    pub prompt: Vec<String>,
    pub max_age: Option<i64>,
    pub hint_subject: Option<String>,
    pub oidc_context: OidcContext,
    pub code_challenge: String,
    pub login_verifier: Option<String>,
    pub consent_verifier: Option<String>,
}
