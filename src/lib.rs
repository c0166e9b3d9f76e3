//! Portcullis: an OAuth 2.0 and OpenID Connect server, wire-compatible with ORY Hydra v1.10.3.
//!
//! Map of this tree (arrows: what a module may import from this crate):
//! - `cli`: the command line (`serve`, `migrate sql`, `clients`, `version`) → app, config, store, crypto
//! - `app`: wiring; builds the state and starts the listeners → everything
//! - `config`: typed Hydra configuration, files < env, validated at load → error
//! - `http`: the public and admin routers, middleware, error rendering → config, store, error, clock
//! - `store`: PostgreSQL/SQLite pools, migrations, all SQL → config, error
//! - `client`: OAuth 2.0 clients: model, validation, admin operations → crypto, error
//! - `crypto`: OS randomness, client secret hashing, AES-GCM sealing → error
//! - `jwk`: JSON Web Key sets, sealed at rest, cached, signing keys → crypto, error
//! - `token`: the token engine: opaque tokens, records, sessions → crypto, jwk, error
//! - `consent`: login/consent requests, authentication sessions, the authorize flow → client, token, crypto, error
//! - `oauth2`: client authentication, grants, introspection → client, token, jwk, config, crypto, error
//! - `example_ui`: the reference login/consent/logout app, a client of the admin API over HTTP → crypto, http::html
//! - `clock`: the only reader of wall-clock time
//! - `error`: `Error` (what the API reports) and `StoreError` (what storage reports)

pub mod app;
pub mod cli;
pub mod client;
pub mod clock;
pub mod config;
pub mod consent;
pub mod crypto;
pub mod error;
pub mod example_ui;
pub mod http;
pub mod jwk;
pub mod oauth2;
pub mod store;
pub mod token;
