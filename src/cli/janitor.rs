//! `portcullis janitor [DSN]`: Hydra 1.10.3's database clean-up (hydra-reference §7.1,
//! Hydra's `cmd/janitor.go`): deletes expired tokens and stale login and consent requests
//! straight in the database, as `migrate sql` talks to it, without a running server.
//! May import: `clock`, `config`, `store`, `token` (the store traits it calls).

use super::{ago, parse_duration};
use crate::clock::Clock;
use crate::config::{self, Backend, Dsn, Flags, Ttl};
use crate::consent::logout::LogoutStore;
use crate::store::Db;
use crate::token::janitor::JanitorStore;
use crate::token::TokenStore;
use anyhow::{anyhow, bail, Context};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::{ArgGroup, Args};
use std::path::PathBuf;
use std::time::Duration;

/// `portcullis janitor ...`.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("routines").args(["tokens", "requests"]).required(true).multiple(true)))]
pub struct Janitor {
    /// The database to clean; with -e it comes from DSN / the config instead.
    dsn: Option<String>,
    /// Read the DSN (and the ttl.* lifespans) from the environment and the config files.
    #[arg(short = 'e', long)]
    read_from_env: bool,
    /// Config file(s), as for `serve`: the DSN and ttl.* lifespans are read from them.
    #[arg(short = 'c', long = "config")]
    config: Vec<PathBuf>,
    /// Delete access and refresh tokens past their lifespan.
    #[arg(long)]
    tokens: bool,
    /// Delete login and consent requests past their lifespan that were never accepted.
    #[arg(long)]
    requests: bool,
    /// Keep anything younger than this (e.g. 1h, 30m, 1h30m).
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    keep_if_younger: Duration,
    /// Lifespan of access tokens [default: ttl.access_token, 1h]; 0 means the default.
    #[arg(long, value_parser = parse_duration)]
    access_lifespan: Option<Duration>,
    /// Lifespan of refresh tokens [default: ttl.refresh_token, 720h]; 0 means the default.
    #[arg(long, value_parser = parse_duration)]
    refresh_lifespan: Option<Duration>,
    /// Lifespan of login and consent requests [default: ttl.login_consent_request, 30m];
    /// 0 means the default.
    #[arg(long, value_parser = parse_duration)]
    consent_request_lifespan: Option<Duration>,
}

/// Runs the janitor: one routine per flag, each printing one success line.
pub fn run(janitor: Janitor) -> anyhow::Result<()> {
    let (dsn, ttl) = settings(&janitor)?;
    if dsn.backend == Backend::Memory {
        bail!("the janitor needs a persistent database: the DSN \"memory\" is a fresh, empty one");
    }
    super::runtime()?.block_on(clean(&janitor, &dsn, &ttl))
}

/// The DSN and the lifespans: from the argument and Hydra's defaults, or, with -e or -c, from
/// the configuration (files < environment < the DSN argument).
fn settings(janitor: &Janitor) -> anyhow::Result<(Dsn, Ttl)> {
    match (&janitor.dsn, janitor.read_from_env) {
        (Some(_), true) => bail!("give either a DSN argument or -e/--read-from-env, not both"),
        (None, false) => bail!("missing DSN: pass it as an argument or use -e/--read-from-env to read DSN from the environment"),
        _ => {}
    }
    if !janitor.read_from_env && janitor.config.is_empty() {
        let text = janitor.dsn.as_deref().unwrap_or_default();
        let dsn = Dsn::parse(text).map_err(|e| anyhow!("invalid DSN: {e}"))?;
        return Ok((dsn, Ttl::default()));
    }
    let mut env = config::env::from_process();
    if let Some(dsn) = &janitor.dsn {
        env.insert("DSN".to_string(), dsn.clone());
    }
    // Only dsn and ttl.* matter here; plain HTTP keeps the URL checks of `serve` out of the way.
    let flags = Flags {
        dangerous_force_http: true,
        ..Flags::default()
    };
    let config = config::load_from(&janitor.config, &env, flags)?;
    Ok((config.dsn, config.ttl))
}

/// `now - max(lifespan, keep)`: Hydra deletes what is both past its lifespan and not younger
/// than --keep-if-younger.
fn cutoff(now: DateTime<Utc>, lifespan: Duration, keep: Duration) -> DateTime<Utc> {
    ago(now, lifespan.max(keep))
}

/// Hydra treats a zero lifespan flag as "not given".
fn given(flag: Option<Duration>) -> Option<Duration> {
    flag.filter(|d| !d.is_zero())
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn clean(janitor: &Janitor, dsn: &Dsn, ttl: &Ttl) -> anyhow::Result<()> {
    let db = Db::connect(dsn)
        .await
        .with_context(|| format!("cannot connect to the database {}", dsn.redacted()))?;
    let now = Clock::system().now();
    let keep = janitor.keep_if_younger;
    if janitor.tokens {
        let access = cutoff(
            now,
            given(janitor.access_lifespan).unwrap_or(ttl.access_token),
            keep,
        );
        // ttl.refresh_token -1: refresh tokens never expire, so none is deleted.
        let refresh = given(janitor.refresh_lifespan)
            .or(ttl.refresh_token.duration())
            .map(|lifespan| cutoff(now, lifespan, keep));
        db.flush_tokens(access, refresh)
            .await
            .context("could not delete expired tokens")?;
        let refresh = refresh.map_or_else(
            || "refresh tokens never expire".to_string(),
            |r| format!("refresh tokens requested before {}", time(r)),
        );
        println!(
            "Successfully deleted expired tokens (access tokens requested before {}, {refresh})",
            time(access)
        );
    }
    if janitor.requests {
        let lifespan = given(janitor.consent_request_lifespan).unwrap_or(ttl.login_consent_request);
        let before = cutoff(now, lifespan, keep);
        let deleted = db
            .delete_stale_requests(before)
            .await
            .context("could not delete stale login and consent requests")?;
        let sessions = db
            .delete_expired_sessions(now)
            .await
            .context("could not delete expired login sessions")?;
        let logouts = db
            .flush_logout_requests(before)
            .await
            .context("could not delete stale logout requests")?;
        println!(
            "Successfully deleted {deleted} stale login and consent requests (requested before {}), {logouts} logout requests and {sessions} expired login sessions",
            time(before)
        );
    }
    db.close().await;
    Ok(())
}
