//! Storage: [`Db`] (PostgreSQL/CockroachDB or SQLite, chosen by the DSN), connection,
//! migrations, health. All SQL lives under this module; one SQL text serves both backends
//! (sqlx binds `$1..$n` on SQLite too), only the DDL in `migrations/` differs.
//! May import: `config` (for the DSN), the domain modules (whose store traits it implements),
//! `error`, sqlx.

mod clients;
mod consent_sessions;
mod flows;
mod janitor;
mod jti;
mod keys;
mod logout;
mod migrate;
mod tokens;

pub use migrate::{Migration, MIGRATIONS};

use crate::config::{Backend, Dsn};
use crate::error::StoreError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, PgConnection, PgPool, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

/// How long a request waits for a pooled connection before it fails; keeps requests and
/// readiness checks from hanging while the database is away.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// A pool on one of the two backends. Cheap to clone (the pools are `Arc`s inside).
#[derive(Clone, Debug)]
pub enum Db {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// Runs the same expression on whichever pool a [`Db`] holds: `on_pool!(db, |pool| query.fetch_one(pool))`.
#[macro_export]
#[doc(hidden)]
macro_rules! on_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::store::Db::Postgres($pool) => $body,
            $crate::store::Db::Sqlite($pool) => $body,
        }
    };
}

/// Maps a driver error to a [`StoreError`]: missing rows and unique violations become
/// outcomes the domain can act on, everything else is a backend failure.
pub(crate) fn map_err(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        _ => StoreError::Backend(Box::new(err)),
    }
}

/// Commits `tx` when `done`, else rolls it back; returns `done`.
pub(crate) async fn commit_if<DB: sqlx::Database>(
    tx: sqlx::Transaction<'_, DB>,
    done: bool,
) -> Result<bool, StoreError> {
    if done {
        tx.commit().await.map_err(map_err)?;
    } else {
        tx.rollback().await.map_err(map_err)?;
    }
    Ok(done)
}

/// Hydra's default is 2 × CPUs. Every token is a durable commit that waits on the disk
/// flush, so a small pool leaves the CPUs idle: measured on 2 cores, 16 connections doubled
/// token throughput on PostgreSQL (docs/benchmarks.md). Hence at least 16.
const MIN_DEFAULT_POOL: u32 = 16;

fn default_pool_size() -> u32 {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    u32::try_from(cpus * 2).unwrap_or(4).max(MIN_DEFAULT_POOL)
}

impl Db {
    /// Opens a pool for `dsn` and checks that the database answers.
    pub async fn connect(dsn: &Dsn) -> Result<Db, StoreError> {
        let pool = &dsn.pool;
        let max = pool.max_conns.unwrap_or_else(default_pool_size);
        let min = pool.max_idle_conns.unwrap_or(0).min(max);
        match &dsn.backend {
            Backend::Postgres { url, .. } => {
                let options = PgConnectOptions::from_str(url).map_err(map_err)?;
                // One direct connection first: the pool would only report a timeout, this
                // reports why (refused, unknown database, authentication).
                let probe =
                    tokio::time::timeout(ACQUIRE_TIMEOUT, PgConnection::connect_with(&options))
                        .await
                        .map_err(|_| {
                            StoreError::Backend("the database did not answer in time".into())
                        })?
                        .map_err(map_err)?;
                let _ = probe.close().await;
                // No ping before every checkout: a broken connection fails its query and is
                // dropped; readiness and the next request reconnect (saves a round trip).
                let pg = PgPoolOptions::new()
                    .test_before_acquire(false)
                    .max_connections(max)
                    .min_connections(min)
                    .max_lifetime(pool.max_conn_lifetime)
                    .idle_timeout(pool.max_conn_idle_time)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_lazy_with(options);
                Ok(Db::Postgres(pg))
            }
            Backend::Sqlite { path, read_only } => {
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(!read_only)
                    .read_only(*read_only)
                    .foreign_keys(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10));
                let lite = SqlitePoolOptions::new()
                    .max_connections(max)
                    .min_connections(min)
                    .max_lifetime(pool.max_conn_lifetime)
                    .idle_timeout(pool.max_conn_idle_time)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_with(options)
                    .await
                    .map_err(map_err)?;
                Ok(Db::Sqlite(lite))
            }
            Backend::Memory => {
                // One connection that never closes: the in-memory database lives exactly as
                // long as it does, and every query sees the same data.
                let options = SqliteConnectOptions::from_str("sqlite::memory:")
                    .map_err(map_err)?
                    .foreign_keys(true);
                let lite = SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .max_lifetime(None)
                    .idle_timeout(None)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await
                    .map_err(map_err)?;
                Ok(Db::Sqlite(lite))
            }
        }
    }

    /// `SELECT 1` within `timeout`: the database check of `/health/ready`.
    pub async fn ping(&self, timeout: Duration) -> Result<(), StoreError> {
        let query = async {
            on_pool!(self, |pool| sqlx::query("SELECT 1")
                .execute(pool)
                .await
                .map(|_| ()))
        };
        match tokio::time::timeout(timeout, query).await {
            Ok(result) => result.map_err(map_err),
            Err(_) => Err(StoreError::Backend(
                "the database did not answer in time".into(),
            )),
        }
    }

    /// Closes every connection; in-flight queries finish first.
    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await)
    }
}
