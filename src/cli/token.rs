//! `portcullis token client|introspect|revoke|flush|delete`: Hydra 1.10.3's token commands
//! (hydra-reference §7.4, Hydra's `cmd/token_*.go`). `client` and `revoke` speak to the public
//! API as an OAuth 2.0 client; `introspect`, `flush` and `delete` to the admin API.
//! `user`, the local authorization-code example app, is in `token_user.rs`.
//! May import: `clock` (the `notAfter` of `flush`).

use super::admin_http::{AdminApi, AdminFlags, PublicApi, PublicFlags};
use super::token_user;
use super::{ago, parse_duration};
use crate::clock::Clock;
use anyhow::bail;
use chrono::SecondsFormat;
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// `portcullis token ...`.
#[derive(Args, Debug)]
pub struct Token {
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Get an access token with the client credentials grant; prints the token.
    Client {
        #[command(flatten)]
        client: ClientCredentials,
        /// Scopes to request (comma-separated, repeatable).
        #[arg(long, value_delimiter = ',')]
        scope: Vec<String>,
        /// Audiences to request (comma-separated, repeatable).
        #[arg(long, value_delimiter = ',')]
        audience: Vec<String>,
        /// Print the whole token response as JSON, not only the access token.
        #[arg(short = 'v', long)]
        verbose: bool,
        #[command(flatten)]
        public: PublicFlags,
    },
    /// An exemplary OAuth 2.0 client performing the authorization code flow: serves a page and
    /// a callback on 127.0.0.1, exchanges the code and prints the tokens.
    User(Box<token_user::User>),
    /// Introspect an access or refresh token; prints the introspection as JSON.
    Introspect {
        /// The token (may start with `-`: tokens are base64url).
        #[arg(allow_hyphen_values = true)]
        token: String,
        /// Scopes the token must have been granted (comma-separated, repeatable).
        #[arg(long, value_delimiter = ',')]
        scope: Vec<String>,
        #[command(flatten)]
        admin: AdminFlags,
    },
    /// Revoke an access or refresh token (RFC 7009), as the client it was issued to.
    Revoke {
        /// The token (may start with `-`: tokens are base64url).
        #[arg(allow_hyphen_values = true)]
        token: String,
        #[command(flatten)]
        client: ClientCredentials,
        #[command(flatten)]
        public: PublicFlags,
    },
    /// Delete tokens past their lifespan (`POST /oauth2/flush`).
    Flush {
        /// Keep tokens younger than this (e.g. 1h, 30m, 1h30m).
        #[arg(long, default_value = "0s", value_parser = parse_duration)]
        min_age: Duration,
        #[command(flatten)]
        admin: AdminFlags,
    },
    /// Delete every access and refresh token of one client (`DELETE /oauth2/tokens`).
    Delete {
        /// The client whose tokens to delete.
        #[arg(long, env = "OAUTH2_CLIENT_ID")]
        client_id: String,
        #[command(flatten)]
        admin: AdminFlags,
    },
}

/// A client's credentials, sent with `client_secret_basic`.
#[derive(Args, Debug)]
struct ClientCredentials {
    /// The OAuth 2.0 client id.
    #[arg(long, env = "OAUTH2_CLIENT_ID")]
    client_id: String,
    /// The OAuth 2.0 client secret.
    #[arg(long, env = "OAUTH2_CLIENT_SECRET", hide_env_values = true)]
    client_secret: String,
}

/// Runs one `token` command.
pub async fn run(token: Token) -> anyhow::Result<()> {
    match token.command {
        TokenCommand::User(user) => token_user::run(*user).await,
        TokenCommand::Client {
            client,
            scope,
            audience,
            verbose,
            public,
        } => {
            let api = PublicApi::new(&public)?;
            let mut form = vec![("grant_type", "client_credentials".to_string())];
            if !scope.is_empty() {
                form.push(("scope", scope.join(" ")));
            }
            if !audience.is_empty() {
                form.push(("audience", audience.join(" ")));
            }
            let body = api
                .post_form_as_client(
                    &["oauth2", "token"],
                    &form,
                    &client.client_id,
                    &client.client_secret,
                )
                .await?;
            if verbose {
                return print_json(&body);
            }
            match body.get("access_token").and_then(Value::as_str) {
                Some(access_token) => println!("{access_token}"),
                None => bail!("the token response holds no access_token"),
            }
            Ok(())
        }
        TokenCommand::Introspect {
            token,
            scope,
            admin,
        } => {
            let api = AdminApi::new(&admin)?;
            let mut form = vec![("token", token)];
            if !scope.is_empty() {
                form.push(("scope", scope.join(" ")));
            }
            let body = api.post_form(&["oauth2", "introspect"], &form).await?;
            print_json(&body)
        }
        TokenCommand::Revoke {
            token,
            client,
            public,
        } => {
            let api = PublicApi::new(&public)?;
            api.post_form_as_client(
                &["oauth2", "revoke"],
                &[("token", token.clone())],
                &client.client_id,
                &client.client_secret,
            )
            .await?;
            println!("Revoked OAuth 2.0 Access Token: {token}");
            Ok(())
        }
        TokenCommand::Flush { min_age, admin } => {
            let api = AdminApi::new(&admin)?;
            let not_after =
                ago(Clock::system().now(), min_age).to_rfc3339_opts(SecondsFormat::Millis, true);
            let body = json!({ "notAfter": not_after });
            api.call(Method::POST, &["oauth2", "flush"], &[], Some(&body))
                .await?;
            println!("Successfully flushed inactive tokens (notAfter: {not_after})");
            Ok(())
        }
        TokenCommand::Delete { client_id, admin } => {
            if client_id.trim().is_empty() {
                bail!("no client: pass --client-id or set OAUTH2_CLIENT_ID");
            }
            let api = AdminApi::new(&admin)?;
            api.call(
                Method::DELETE,
                &["oauth2", "tokens"],
                &[("client_id", client_id.clone())],
                None,
            )
            .await?;
            println!("Successfully deleted the tokens of OAuth 2.0 Client {client_id}");
            Ok(())
        }
    }
}

fn print_json(value: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::Cli;
    use clap::Parser;

    /// Opaque tokens are base64url, so one in 32 starts with `-` (and a few with `--`): they
    /// are the token, wherever the flags stand.
    #[test]
    fn tokens_may_start_with_a_hyphen() {
        for token in ["-2bc.d-f", "--ab.cd", "-v", "plain.token"] {
            for args in [
                vec![
                    "portcullis",
                    "token",
                    "introspect",
                    token,
                    "--endpoint",
                    "http://a",
                ],
                vec![
                    "portcullis",
                    "token",
                    "introspect",
                    "--endpoint",
                    "http://a",
                    token,
                ],
                vec![
                    "portcullis",
                    "token",
                    "revoke",
                    token,
                    "--client-id",
                    "c",
                    "--client-secret",
                    "s",
                    "--endpoint",
                    "http://a",
                ],
            ] {
                let cli = Cli::try_parse_from(&args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
                let debug = format!("{cli:?}");
                assert!(
                    debug.contains(&format!("token: {token:?}")),
                    "{args:?}: {debug}"
                );
            }
        }
    }
}
