//! Storage: [`Db`] (PostgreSQL/CockroachDB or SQLite, chosen by the DSN), connection,
//! migrations, health. All SQL lives under this module; one SQL text serves both backends
//! (sqlx binds `$1..$n` on SQLite too) and the DDL in `migrations/` differs, except on the
//! three hottest writes of a login flow (code exchange, verifier spend, first login request),
//! where PostgreSQL gets a one-statement form SQLite cannot express (data-modifying CTEs,
//! `UPDATE … FROM … RETURNING` of the joined table): each saves PostgreSQL round trips, which
//! an in-process SQLite does not have; and the combined access-token inserts of the token
//! endpoint (`tokens/batch.rs`: `unnest` of arrays there, `VALUES` rows here). Both forms run
//! under the same contract tests.
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
mod pool;
mod tokens;

pub use migrate::{Migration, MIGRATIONS};

use crate::config::{Backend, Dsn};
use crate::error::StoreError;
use pool::{Pool, Settings};
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, PgConnection, SqliteConnection};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// How long a request waits for a pooled connection before it fails; keeps requests and
/// readiness checks from hanging while the database is away.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The database: a connection pool on one of the two backends. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pub pool: DbPool,
    /// Recently read client rows (see `clients.rs`).
    clients: Arc<clients::ClientCache>,
    /// The token endpoint's access-token inserts, combined (see `tokens/batch.rs`).
    access_inserts: Arc<tokens::Combiner<tokens::Inserts>>,
    /// PostgreSQL: the access and refresh token reads by signature, combined.
    lookups: Option<tokens::TokenLookups>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("pool", &self.pool).finish()
    }
}

/// The pool of a [`Db`], by backend (see `pool.rs`).
#[derive(Clone, Debug)]
pub enum DbPool {
    Postgres(Pool<PgConnection>),
    Sqlite(Pool<SqliteConnection>),
}

/// Runs `$body` with `$conn` bound to a connection checked out of `$db`'s pool (a
/// `&mut PgConnection` or `&mut SqliteConnection`), then hands the connection back:
/// `on_pool!(db, |conn| query.fetch_one(conn).await)`. `$body` evaluates to a
/// `Result<_, sqlx::Error>`; it may run several statements on the connection (reborrow it:
/// `&mut *conn`), or a transaction (`conn.begin()`).
#[macro_export]
#[doc(hidden)]
macro_rules! on_pool {
    ($db:expr, |$conn:ident| $body:expr) => {
        match &$db.pool {
            $crate::store::DbPool::Postgres(p) => $crate::on_pool!(@run p, $conn, $body),
            $crate::store::DbPool::Sqlite(p) => $crate::on_pool!(@run p, $conn, $body),
        }
    };
    (@run $p:ident, $conn:ident, $body:expr) => {
        match $p.acquire().await {
            Ok(mut guard) => {
                let result = {
                    #[allow(unused_imports)]
                    use sqlx::Connection as _;
                    let $conn = guard.raw();
                    $body
                };
                guard.release(result.as_ref().err()).await;
                result
            }
            Err(e) => Err(e),
        }
    };
}

/// Runs `$body` inside a transaction on one pooled connection: `$tx` is the
/// `sqlx::Transaction` and `$ty` the backend's sqlx database type; `$body` ends the
/// transaction itself (see [`commit_if`]) and evaluates to the caller's result. SQLite takes
/// its write lock up front (`BEGIN IMMEDIATE`), so concurrent writers queue instead of failing.
/// Only for functions returning `Result<_, StoreError>`.
macro_rules! in_tx {
    ($db:expr, |$tx:ident, $ty:ident| $body:expr) => {
        match &$db.pool {
            $crate::store::DbPool::Postgres(p) => {
                #[allow(dead_code)]
                type $ty = sqlx::Postgres;
                $crate::store::in_tx!(@run p, "BEGIN", $tx, $body)
            }
            $crate::store::DbPool::Sqlite(p) => {
                #[allow(dead_code)]
                type $ty = sqlx::Sqlite;
                $crate::store::in_tx!(@run p, "BEGIN IMMEDIATE", $tx, $body)
            }
        }
    };
    (@run $p:ident, $begin:literal, $tx:ident, $body:expr) => {{
        use sqlx::Connection as _;
        let mut guard = $p.acquire().await.map_err($crate::store::map_err)?;
        let out = {
            #[allow(unused_mut)]
            let mut $tx = guard
                .raw()
                .begin_with($begin)
                .await
                .map_err($crate::store::map_err)?;
            $body
        };
        guard.release(None).await;
        out
    }};
}
pub(crate) use in_tx;

/// `$first, …, $(first + n - 1)`: the parameters of `n` values, numbered from `first`.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many columns a `COLUMNS`-style list (`a, b, c`) names.
pub(crate) fn column_count(columns: &str) -> usize {
    columns.split(',').count()
}

/// A list column (JSON text) read back; unreadable text is an empty list.
pub(crate) fn list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

/// A list (or other value) as its JSON text column.
pub(crate) fn json<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
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
    /// `max`: the pool's size; on PostgreSQL a quarter of it may run combined token inserts
    /// at a time and an eighth combined reads of each token table (fewer, larger batches:
    /// measured 12,600 → 17,700 introspections/s at 16 concurrent requests against a quarter);
    /// on SQLite (one writer) one insert at a time, and reads go alone.
    fn new(pool: DbPool, max: u32) -> Db {
        let flushers = match &pool {
            DbPool::Postgres(_) => usize::try_from(max / 4).unwrap_or(1),
            DbPool::Sqlite(_) => 1,
        };
        let inserts = tokens::Inserts::new(pool.clone(), "hydra_oauth2_access");
        let lookups = match &pool {
            DbPool::Postgres(pg) => Some(tokens::TokenLookups::new(pg, (flushers / 2).max(1))),
            DbPool::Sqlite(_) => None,
        };
        Db {
            pool,
            clients: Arc::default(),
            access_inserts: tokens::Combiner::new(inserts, flushers),
            lookups,
        }
    }

    /// Opens a pool for `dsn` and checks that the database answers.
    pub async fn connect(dsn: &Dsn) -> Result<Db, StoreError> {
        let pool = &dsn.pool;
        let max = pool.max_conns.unwrap_or_else(default_pool_size);
        let settings = Settings {
            max,
            min_idle: pool.max_idle_conns.unwrap_or(0).min(max),
            max_lifetime: pool.max_conn_lifetime,
            idle_timeout: pool.max_conn_idle_time,
            acquire_timeout: ACQUIRE_TIMEOUT,
        };
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
                Ok(Db::new(
                    DbPool::Postgres(Pool::lazy(options, &settings, true)),
                    max,
                ))
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
                // min_idle may be 0: open one connection anyway, to report a bad path now.
                let lite = Pool::eager(options, &settings, false)
                    .await
                    .map_err(map_err)?;
                lite.acquire().await.map_err(map_err)?.release(None).await;
                Ok(Db::new(DbPool::Sqlite(lite), max))
            }
            Backend::Memory => {
                // A private in-memory database (a random name: two `memory` pools in one
                // process do not meet) shared by a few connections that never close: it lives
                // as long as they do, and every query sees the same data. Several connections
                // let reads run while a write waits for the shared cache's table locks
                // (sqlx waits on them with sqlite3_unlock_notify); one connection serialized
                // every request behind SQLite's worker thread and halved throughput
                // (docs/benchmarks.md). Transactions that write take the write lock first
                // (`in_tx!`), so two of them cannot deadlock on a lock upgrade.
                let name = format!(
                    "file:portcullis-{:016x}?mode=memory&cache=shared",
                    rand::random::<u64>()
                );
                let options = SqliteConnectOptions::from_str(&name)
                    .map_err(map_err)?
                    .foreign_keys(true)
                    .shared_cache(true);
                let few = Settings {
                    max: 4,
                    min_idle: 4,
                    max_lifetime: None,
                    idle_timeout: None,
                    acquire_timeout: Duration::from_secs(30),
                };
                let lite = Pool::eager(options, &few, false).await.map_err(map_err)?;
                Ok(Db::new(DbPool::Sqlite(lite), max))
            }
        }
    }

    /// `SELECT 1` within `timeout`: the database check of `/health/ready`.
    pub async fn ping(&self, timeout: Duration) -> Result<(), StoreError> {
        let query = async {
            on_pool!(self, |conn| sqlx::query("SELECT 1")
                .execute(conn)
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

    /// Refuses further use; connections close as in-flight queries hand them back.
    pub async fn close(&self) {
        match &self.pool {
            DbPool::Postgres(p) => p.close(),
            DbPool::Sqlite(p) => p.close(),
        }
    }
}
