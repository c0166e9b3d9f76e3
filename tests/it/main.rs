#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code may fail loudly

//! The integration test binary: every test starts the real server (or the real binary) on
//! ephemeral ports against a real database, on SQLite and on PostgreSQL.

mod harness;

mod authorize;
mod cli;
mod cli_clients;
mod cli_keys;
mod cli_token;
mod client_assertion;
mod client_store;
mod clients;
mod code_grant;
mod consent_sessions;
mod deploy;
mod example_ui;
mod flow_store;
mod flows_admin;
mod health;
mod implicit;
mod keys;
mod layout;
mod logout;
mod logout_store;
mod migrations;
mod pairwise;
mod refresh;
mod routing;
mod scale_out;
mod token_user;
mod tokens;
mod userinfo;
