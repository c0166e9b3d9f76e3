//! One file per grant type, each validating its request and then issuing through the engine.

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

use crate::client::Client;
use crate::error::Error;

/// RFC 6749 §5.2 `unauthorized_client`: the client must be registered for the grant type.
pub fn require_grant_type(client: &Client, grant_type: &str) -> Result<(), Error> {
    if client
        .data
        .effective_grant_types()
        .iter()
        .any(|g| g == grant_type)
    {
        Ok(())
    } else {
        Err(Error::unauthorized_client().hint(format!(
            "The client is not allowed to request a token using grant type '{grant_type}'."
        )))
    }
}
