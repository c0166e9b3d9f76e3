//! The two error types every layer shares: [`Error`], the API/protocol error that every
//! response renders (modelled on fosite's `RFC6749Error`), and [`StoreError`], the outcome
//! of a storage call. Imports nothing from this crate.

use std::borrow::Cow;
use std::fmt;

/// A storage outcome the domain can act on; `store/` maps driver errors to these.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: a resource with that value exists already")]
    Conflict,
    #[error("storage backend error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// An error as the API reports it: `error`, `error_description` (+ hint), an HTTP status.
///
/// Renders as Hydra's two-field body by default (hydra-reference §1.2); the legacy fields and
/// the debug text only where the configuration asks for them (see `http/response.rs`).
#[derive(Debug, Clone)]
pub struct Error {
    pub name: Cow<'static, str>,
    pub description: Cow<'static, str>,
    pub hint: Option<String>,
    pub debug: Option<String>,
    pub status: u16,
}

impl Error {
    pub fn new(
        name: impl Into<Cow<'static, str>>,
        description: impl Into<Cow<'static, str>>,
        status: u16,
    ) -> Self {
        Error {
            name: name.into(),
            description: description.into(),
            hint: None,
            debug: None,
            status,
        }
    }

    /// Adds a hint; it is appended to the description on the wire.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds internal detail, shown only with `oauth2.expose_internal_errors`.
    pub fn debug(mut self, debug: impl fmt::Display) -> Self {
        self.debug = Some(debug.to_string());
        self
    }

    /// `error_description` as the default (non-legacy) writer sends it: the description,
    /// then the hint. Double quotes become single quotes, as fosite does.
    pub fn full_description(&self) -> String {
        let mut text = self.description.to_string();
        if let Some(hint) = &self.hint {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(hint);
        }
        text.replace('"', "'")
    }

    pub fn invalid_request() -> Self {
        Self::new(
            "invalid_request",
            "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.",
            400,
        )
    }

    pub fn server_error() -> Self {
        Self::new(
            "server_error",
            "The authorization server encountered an unexpected condition that prevented it from fulfilling the request.",
            500,
        )
    }

    pub fn temporarily_unavailable() -> Self {
        Self::new(
            "temporarily_unavailable",
            "The authorization server is currently unable to handle the request due to a temporary overloading or maintenance of the server.",
            503,
        )
    }

    /// RFC 6749 §5.2 (fosite's text).
    pub fn invalid_client() -> Self {
        Self::new(
            "invalid_client",
            "Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method).",
            401,
        )
    }

    /// RFC 6749 §5.2 (fosite's text).
    pub fn invalid_grant() -> Self {
        Self::new(
            "invalid_grant",
            "The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.",
            400,
        )
    }

    /// RFC 6749 §5.2 (fosite's text).
    pub fn unauthorized_client() -> Self {
        Self::new(
            "unauthorized_client",
            "The client is not authorized to request a token using this method.",
            400,
        )
    }

    /// RFC 6749 §5.2 (fosite's text).
    pub fn invalid_scope() -> Self {
        Self::new(
            "invalid_scope",
            "The requested scope is invalid, unknown, or malformed.",
            400,
        )
    }

    /// RFC 6749 §5.2 (fosite's text). Hydra said `invalid_request` for an unknown grant type;
    /// we follow the RFC (compatibility.md).
    pub fn unsupported_grant_type() -> Self {
        Self::new(
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
            400,
        )
    }

    /// fosite's `token_inactive`: a spent refresh token was presented again.
    pub fn token_inactive() -> Self {
        Self::new("token_inactive", "Token is inactive because it is malformed, expired or otherwise invalid. Token validation failed.", 401)
    }

    /// fosite's `jti_known`: a client assertion's `jti` was presented again (a replay).
    pub fn jti_known() -> Self {
        Self::new("jti_known", "The jti was already used.", 400)
    }

    /// fosite's `scope_not_granted`.
    pub fn scope_not_granted() -> Self {
        Self::new(
            "scope_not_granted",
            "The token was not granted the requested scope.",
            403,
        )
    }

    /// RFC 7591 §3.2.2, as Hydra's client validator uses it.
    pub fn invalid_client_metadata() -> Self {
        Self::new(
            "invalid_client_metadata",
            "The value of one of the Client Metadata fields is invalid and the server has rejected this request. Note that an Authorization Server MAY choose to substitute a valid value for any requested parameter of a Client's Metadata.",
            400,
        )
    }

    /// RFC 7591 §3.2.2.
    pub fn invalid_redirect_uri() -> Self {
        Self::new(
            "invalid_redirect_uri",
            "The value of one or more redirect_uris is invalid.",
            400,
        )
    }

    /// Hydra's answer for a route that does not exist (hydra-reference §1.1).
    pub fn route_not_found() -> Self {
        Self::new(
            "Error 404 - The requested route does not exist. Make sure you are using the right path, domain, and port.",
            "",
            404,
        )
    }

    /// Hydra answers a known path with a wrong method with 405; we keep the status and use
    /// the JSON shape instead of the router's plain text.
    pub fn method_not_allowed() -> Self {
        Self::new(
            "Method Not Allowed",
            "The requested method is not allowed for this route.",
            405,
        )
    }

    /// herodot's not-found (`sqlcon.ErrNoRows`), as Hydra's SQL layer reports a missing row.
    pub fn not_found() -> Self {
        Self::new("Unable to locate the resource", "", 404)
    }

    /// herodot's unique-violation error, as Hydra reports a duplicate.
    /// fosite's `access_denied`.
    pub fn access_denied() -> Self {
        Self::new(
            "access_denied",
            "The resource owner or authorization server denied the request.",
            403,
        )
    }

    /// fosite's `unsupported_response_type`.
    pub fn unsupported_response_type() -> Self {
        Self::new(
            "unsupported_response_type",
            "The authorization server does not support obtaining a token using this method.",
            400,
        )
    }

    /// fosite's `unsupported_response_mode`.
    pub fn unsupported_response_mode() -> Self {
        Self::new(
            "unsupported_response_mode",
            "The authorization server does not support obtaining a response using this response mode.",
            400,
        )
    }

    /// fosite's `invalid_state`: `state` shorter than 8 characters.
    pub fn invalid_state() -> Self {
        Self::new(
            "invalid_state",
            "The state is missing or does not have enough characters and is therefore considered too weak.",
            400,
        )
    }

    /// fosite's `insufficient_entropy` (a short `nonce`).
    pub fn insufficient_entropy() -> Self {
        Self::new(
            "insufficient_entropy",
            "The request used a security parameter (e.g., anti-replay, anti-csrf) with insufficient entropy.",
            400,
        )
    }

    /// OIDC Core §3.1.2.6 `login_required` (fosite's text).
    pub fn login_required() -> Self {
        Self::new(
            "login_required",
            "The Authorization Server requires End-User authentication.",
            400,
        )
    }

    /// OIDC Core §3.1.2.6 `consent_required` (fosite's text).
    pub fn consent_required() -> Self {
        Self::new(
            "consent_required",
            "The Authorization Server requires End-User consent.",
            400,
        )
    }

    /// fosite's `request_forbidden` (CSRF cookie missing or wrong).
    pub fn request_forbidden() -> Self {
        Self::new("request_forbidden", "The request is not allowed.", 403)
    }

    /// fosite's `request_unauthorized` (expired login/consent request).
    pub fn request_unauthorized() -> Self {
        Self::new(
            "request_unauthorized",
            "The request could not be authorized.",
            401,
        )
    }

    /// OIDC Core §3.1.2.6 `registration_not_supported`.
    pub fn registration_not_supported() -> Self {
        Self::new(
            "registration_not_supported",
            "The OP does not support use of the registration parameter.",
            400,
        )
    }

    pub fn conflict() -> Self {
        Self::new(
            "Unable to insert or update resource because a resource with that value exists already",
            "",
            409,
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.name,
            self.status,
            self.full_description()
        )?;
        if let Some(debug) = &self.debug {
            write!(f, " [{debug}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

// Mirrors Hydra's x/errors.go: missing rows are 404, unique violations 409, the rest 500.
impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Error::not_found(),
            StoreError::Conflict => Error::conflict(),
            StoreError::Backend(source) => Error::server_error().debug(source),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hint_is_appended_and_quotes_become_single() {
        let e = Error::invalid_request().hint("The \"foo\" parameter is missing.");
        assert!(e
            .full_description()
            .ends_with("malformed. The 'foo' parameter is missing."));
        let bare = Error::new("x", "", 400).hint("only hint");
        assert_eq!(bare.full_description(), "only hint");
    }

    #[test]
    fn store_errors_map_to_hydra_statuses() {
        assert_eq!(Error::from(StoreError::NotFound).status, 404);
        assert_eq!(Error::from(StoreError::Conflict).status, 409);
        let backend = Error::from(StoreError::Backend("boom".into()));
        assert_eq!(backend.status, 500);
        assert_eq!(backend.debug.as_deref(), Some("boom"));
    }
}
