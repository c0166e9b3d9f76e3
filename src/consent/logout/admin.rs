//! The logout UI's admin API (hydra-reference §2.5 logout rows, §3.9): read a logout request
//! by its challenge, accept it (the browser then completes the logout with the verifier), or
//! reject it (the user stays logged in and the request disappears).

use super::store::LogoutStore;
use super::LogoutRequest;
use crate::client::{ClientStore, OAuth2Client};
use crate::config::Config;
use crate::consent::flow::with_param;
use crate::consent::RedirectTo;
use crate::error::{Error, StoreError};
use serde::Serialize;

/// `logoutRequest` (GET /oauth2/auth/requests/logout).
#[derive(Debug, Clone, Serialize)]
pub struct LogoutRequestView {
    pub challenge: String,
    /// The client of an RP-initiated logout, without its secret; omitted otherwise
    /// (sdk-interop.md: never `null`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<OAuth2Client>,
    pub request_url: String,
    pub rp_initiated: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sid: String,
    pub subject: String,
}

/// What `GET /oauth2/auth/requests/logout` shows.
#[derive(Debug, Clone)]
pub enum LogoutView {
    /// Open or accepted, verifier unspent.
    Pending(Box<LogoutRequestView>),
    /// Its verifier was spent: 410 with the original `request_url`.
    Handled(RedirectTo),
}

/// `GET /oauth2/auth/requests/logout`: 404 for unknown and for rejected requests (Hydra
/// 1.10.3 reads only unrejected ones), 410 once completed.
pub async fn get_logout_request(
    store: &(impl LogoutStore + ClientStore),
    challenge: &str,
) -> Result<LogoutView, Error> {
    let request = store.get_logout_request(challenge).await?;
    if request.rejected {
        return Err(Error::not_found());
    }
    if request.was_used {
        return Ok(LogoutView::Handled(RedirectTo {
            redirect_to: request.request_url,
        }));
    }
    let client = match &request.client_id {
        Some(id) => {
            let mut client = store.get_client(id).await?.data;
            client.client_secret = None;
            Some(client)
        }
        None => None,
    };
    Ok(LogoutView::Pending(Box::new(LogoutRequestView {
        challenge: request.challenge,
        client,
        request_url: request.request_url,
        rp_initiated: request.rp_initiated,
        sid: request.sid,
        subject: request.subject,
    })))
}

/// Where the browser completes an accepted logout:
/// `<urls.self.public>/oauth2/sessions/logout?logout_verifier=<verifier>`.
pub fn completion_url(config: &Config, request: &LogoutRequest) -> Result<String, Error> {
    let endpoint = config
        .urls
        .public
        .join("oauth2/sessions/logout")
        .map_err(|e| Error::server_error().debug(e))?;
    Ok(with_param(&endpoint, "logout_verifier", &request.verifier).to_string())
}

/// `PUT /oauth2/auth/requests/logout/accept`: 404 for unknown or rejected requests;
/// accepting twice answers the same URL.
pub async fn accept_logout_request(
    store: &impl LogoutStore,
    config: &Config,
    challenge: &str,
) -> Result<RedirectTo, Error> {
    let request = store.accept_logout_request(challenge).await?;
    Ok(RedirectTo {
        redirect_to: completion_url(config, &request)?,
    })
}

/// `PUT /oauth2/auth/requests/logout/reject`: the request can no longer be completed. Hydra
/// answers 204 whatever the challenge, so a missing one is not an error; a completed logout
/// stays completed.
pub async fn reject_logout_request(store: &impl LogoutStore, challenge: &str) -> Result<(), Error> {
    match store.reject_logout_request(challenge).await {
        Ok(()) | Err(StoreError::NotFound) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
