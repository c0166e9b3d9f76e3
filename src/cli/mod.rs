//! The command line, in Hydra's shape: `serve all|public|admin`, `migrate sql`, `janitor`,
//! `version`, and the API commands (`clients`, `keys`, `token`), which speak to a server over
//! HTTP only.
//! May import: `app`, `config`, `store`, `clock`, `crypto`, `jwk` (the JWK model, for
//! `keys import`), `token` (the store traits `janitor` calls).

mod admin_http;
mod clients;
mod example_ui;
mod janitor;
mod keys;
mod loopback;
mod token;
mod token_user;

use crate::app::Listeners;
use crate::config::{self, Backend, Config, Dsn, Flags, LogFormat, LogLevel};
use crate::store::Db;
use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "portcullis",
    version,
    about = "An OAuth 2.0 and OpenID Connect server, wire-compatible with ORY Hydra v1.10.3"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the HTTP listeners (public on 4444, admin on 4445).
    Serve(Serve),
    /// Manage the database schema.
    Migrate {
        #[command(subcommand)]
        what: Migrate,
    },
    /// Manage OAuth 2.0 clients through the admin API.
    Clients(Box<clients::Clients>),
    /// Manage JSON Web Keys through the admin API.
    Keys(keys::Keys),
    /// Get, introspect, revoke and delete OAuth 2.0 tokens.
    Token(token::Token),
    /// Delete expired tokens and stale login and consent requests from the database.
    Janitor(janitor::Janitor),
    /// Run the example login, consent and logout app (a client of the admin API).
    ExampleUi(example_ui::ExampleUiCmd),
    /// Print the version.
    Version,
}

#[derive(Args, Debug)]
struct Serve {
    #[command(subcommand)]
    which: Which,
    #[command(flatten)]
    opts: ServeOpts,
}

#[derive(Subcommand, Debug, Clone, Copy)]
enum Which {
    /// Both listeners in one process.
    All,
    /// Only the public listener.
    Public,
    /// Only the admin listener.
    Admin,
}

#[derive(Args, Debug)]
struct ServeOpts {
    /// Config file (YAML, JSON or TOML); repeatable, later files win.
    #[arg(short = 'c', long = "config", global = true)]
    config: Vec<PathBuf>,
    /// Serve plain HTTP on both ports. Do not use in production.
    #[arg(long, global = true)]
    dangerous_force_http: bool,
    /// Exact http:// redirect URIs that clients may register although they are not https.
    #[arg(long, global = true, value_delimiter = ',')]
    dangerous_allow_insecure_redirect_urls: Vec<String>,
    /// Development mode: plain HTTP, `memory` store unless DSN is set, generated secrets; with
    /// `serve all` and no urls.login/consent/logout, the example login UI and a demo client.
    #[arg(long, global = true)]
    dev: bool,
    /// The port of the example login UI that `serve all --dev` starts on 127.0.0.1.
    #[arg(
        long,
        global = true,
        env = "PORTCULLIS_EXAMPLE_UI_PORT",
        default_value_t = 3000
    )]
    example_ui_port: u16,
    /// Accepted for Hydra compatibility; Portcullis sends no telemetry.
    #[arg(long, global = true, hide = true)]
    sqa_opt_out: bool,
}

#[derive(Subcommand, Debug)]
enum Migrate {
    /// Apply pending SQL migrations (idempotent; safe when several run at once).
    Sql {
        /// The database to migrate; with -e it comes from DSN / the config instead.
        dsn: Option<String>,
        /// Read the DSN from the environment variable DSN or the config files.
        #[arg(short = 'e', long)]
        read_from_env: bool,
        /// Config file(s), as for `serve`.
        #[arg(short = 'c', long = "config")]
        config: Vec<PathBuf>,
        /// Apply without asking for confirmation.
        #[arg(short = 'y', long)]
        yes: bool,
    },
}

/// Parses the arguments and runs the command.
pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Version => {
            println!("Version:    v{}", env!("CARGO_PKG_VERSION"));
            println!("Compatible: ORY Hydra v1.10.3 API");
            Ok(())
        }
        Command::Serve(serve) => {
            let flags = Flags {
                dangerous_force_http: serve.opts.dangerous_force_http,
                dangerous_allow_insecure_redirect_urls: serve
                    .opts
                    .dangerous_allow_insecure_redirect_urls,
                dev: serve.opts.dev,
            };
            let mut config = config::load(&serve.opts.config, flags)?;
            let listeners = match serve.which {
                Which::All => Listeners::All,
                Which::Public => Listeners::Public,
                Which::Admin => Listeners::Admin,
            };
            check_serve(&config, listeners)?;
            init_tracing(config.log.level, config.log.format);
            for warning in &config.warnings {
                tracing::warn!("{warning}");
            }
            tracing::info!(dsn = %config.dsn.redacted(), issuer = %config.urls.issuer, "starting Portcullis v{}", env!("CARGO_PKG_VERSION"));
            let port = serve.opts.example_ui_port;
            runtime()?.block_on(async {
                let dev_ui = example_ui::prepare_dev(&mut config, listeners, port).await?;
                example_ui::serve(config, listeners, dev_ui).await
            })
        }
        Command::Migrate {
            what:
                Migrate::Sql {
                    dsn,
                    read_from_env,
                    config,
                    yes,
                },
        } => {
            let dsn = match (dsn, read_from_env) {
                (Some(d), false) => Dsn::parse(&d).map_err(|e| anyhow::anyhow!("invalid DSN: {e}"))?,
                (None, true) => config::load_dsn(&config)?,
                (Some(_), true) => bail!("give either a DSN argument or -e/--read-from-env, not both"),
                (None, false) => bail!("missing DSN: pass it as an argument or use -e/--read-from-env to read DSN from the environment"),
            };
            runtime()?.block_on(migrate_sql(dsn, yes))
        }
        Command::Clients(command) => runtime()?.block_on(clients::run(*command)),
        Command::Keys(command) => runtime()?.block_on(keys::run(command)),
        Command::Token(command) => runtime()?.block_on(token::run(command)),
        Command::Janitor(command) => janitor::run(command),
        Command::ExampleUi(command) => runtime()?.block_on(example_ui::run(command)),
    }
}

/// A duration flag in Go's syntax (`--min-age`, `--keep-if-younger`): `1h`, `90m`, `1h30m`,
/// each part a number and one unit of ns, us, ms, s, m, h.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err("a duration is required, e.g. 1h or 30m".to_string());
    }
    let mut total = std::time::Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let unit = rest[digits..]
            .bytes()
            .take_while(u8::is_ascii_alphabetic)
            .count();
        let (part, tail) = rest.split_at(digits + unit);
        let part = config::duration::parse(part).map_err(|_| {
            format!("invalid duration {text:?}: expected numbers with units of ns, us, ms, s, m, h (e.g. 1h30m)")
        })?;
        total = total
            .checked_add(part)
            .ok_or_else(|| format!("duration {text:?} is too long"))?;
        rest = tail;
    }
    Ok(total)
}

/// `now - d`, no earlier than the Unix epoch: an absurd duration means "nothing is that
/// old", and the epoch still fits every database's timestamps and the server's `notAfter`.
fn ago(now: DateTime<Utc>, d: std::time::Duration) -> DateTime<Utc> {
    crate::clock::earlier(now, d).max(DateTime::UNIX_EPOCH)
}

/// Rules of `serve` that depend on the command, not only on the config (hydra-reference §6.3).
fn check_serve(config: &Config, listeners: Listeners) -> anyhow::Result<()> {
    if !config.force_http() {
        if config.tls_configured() {
            bail!("TLS serving is not implemented yet: terminate TLS in front of Portcullis and pass --dangerous-force-http, or use --dev for development");
        }
        bail!("no TLS certificate is configured (serve.tls.cert / serve.tls.key): pass --dangerous-force-http to serve plain HTTP behind a TLS-terminating proxy, or --dev for development");
    }
    if config.dsn.backend == Backend::Memory && listeners != Listeners::All {
        bail!("configuration key \"dsn\": memory is only possible with `serve all`: `serve public` and `serve admin` must share a persistent database");
    }
    Ok(())
}

async fn migrate_sql(dsn: Dsn, yes: bool) -> anyhow::Result<()> {
    let db = Db::connect(&dsn)
        .await
        .with_context(|| format!("cannot connect to the database {}", dsn.redacted()))?;
    let pending = db
        .pending_migrations()
        .await
        .context("cannot read the migration status")?;
    if pending.is_empty() {
        println!(
            "The database {} is up to date: no pending migrations.",
            dsn.redacted()
        );
        return Ok(());
    }
    println!("Pending migrations for {}:", dsn.redacted());
    for m in &pending {
        println!("  {}_{}", m.version, m.name);
    }
    if !yes {
        if !std::io::stdin().is_terminal() {
            bail!("not applying migrations without confirmation: pass --yes to apply them non-interactively");
        }
        print!("Apply these migrations? [y/N] ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            bail!("migration aborted");
        }
    }
    let applied = db.migrate().await.context("migration failed")?;
    println!(
        "Applied {} migration(s); the database is up to date.",
        applied.len()
    );
    db.close().await;
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Logs to stderr at `log.level` in `log.format` (`json_pretty` is logged as `json`).
fn init_tracing(level: LogLevel, format: LogFormat) {
    let level = match level {
        LogLevel::Panic | LogLevel::Fatal | LogLevel::Error => "error",
        LogLevel::Warn => "warn",
        LogLevel::Info => "info",
        LogLevel::Debug => "debug",
        LogLevel::Trace => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::new(format!(
        "{level},sqlx=warn,hyper=warn,h2=warn,tower=warn"
    ));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json | LogFormat::JsonPretty => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use chrono::TimeDelta;
    use std::time::Duration;

    #[test]
    fn duration_flags_take_go_syntax() {
        let cases = [
            ("0s", Some(0)),
            ("1h", Some(3600)),
            ("90m", Some(5400)),
            ("1h30m", Some(5400)),
            ("1h1s", Some(3601)),
            ("", None),
            ("1", None),
            ("h", None),
            ("1d", None),
            ("-1h", None),
            ("1.5h", None),
        ];
        for (text, secs) in cases {
            assert_eq!(
                parse_duration(text).ok(),
                secs.map(Duration::from_secs),
                "{text:?}"
            );
        }
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    }

    #[test]
    fn ago_saturates() {
        let now = Clock::system().now();
        assert_eq!(
            ago(now, Duration::from_secs(60)),
            now - TimeDelta::seconds(60)
        );
        assert_eq!(ago(now, Duration::MAX), DateTime::UNIX_EPOCH);
        assert_eq!(
            ago(now, Duration::from_secs(100_000 * 365 * 86_400)),
            DateTime::UNIX_EPOCH
        );
    }
}
