//! Login and consent: the requests a login/consent UI answers through the admin API, the
//! authentication sessions behind the `oauth2_authentication_session` cookie, and the decisions
//! `/oauth2/auth` takes between them (`flow.rs`).
//! May import: `client`, `token`, `config`, `crypto`, `clock`, `error`.

pub mod admin;
pub mod cookie;
pub mod flow;
pub mod logout;
pub mod model;
pub mod sessions;
pub mod store;

pub use model::*;
pub use store::ConsentStore;
