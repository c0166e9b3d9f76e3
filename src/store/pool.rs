//! The connection pool under [`super::Db`]: bb8 holding sqlx connections, without the round
//! trip sqlx's own pool spends on every release.
//!
//! sqlx 0.8's pool pings each connection when it goes back (`return_to_pool`), to push out
//! anything left queued, such as the `ROLLBACK` of a transaction dropped without commit, and
//! to notice a connection broken by a future dropped mid-statement. That is one extra round
//! trip per statement: 20 of the ≈ 47 a full login flow made, and half of the token endpoint's
//! (docs/benchmarks.md). Here the same two dangers are handled without a round trip:
//! - a statement that did not finish (its future was dropped: client gone, timeout) leaves the
//!   guard unreleased, and [`Manager::has_broken`] makes bb8 close that connection instead of
//!   reusing it (PostgreSQL; SQLite's worker always finishes the command, and the `memory`
//!   database lives only as long as its connections, so they are kept);
//! - a connection with something still queued (a dropped transaction's `ROLLBACK`) is pinged
//!   before it goes back, so the rollback runs now and no lock outlives the request;
//! - an I/O or protocol error marks the connection broken; a database error (a constraint, a
//!   missing row) does not.

use sqlx::Connection;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// A connection as the pool holds it: the sqlx connection and whether its last use finished.
pub struct Held<C> {
    raw: C,
    /// False from checkout until [`Guard::release`]: a guard dropped in between means the
    /// statement's future was dropped mid-flight.
    finished: bool,
}

/// Opens connections for bb8 and judges them on return.
pub struct Manager<C: Connection> {
    options: <C as Connection>::Options,
    /// Whether an unfinished use breaks the connection (see the module comment).
    strict: bool,
}

impl<C> bb8::ManageConnection for Manager<C>
where
    C: Connection + 'static,
{
    type Connection = Held<C>;
    type Error = sqlx::Error;

    async fn connect(&self) -> Result<Held<C>, sqlx::Error> {
        let raw = C::connect_with(&self.options).await?;
        Ok(Held {
            raw,
            finished: true,
        })
    }

    async fn is_valid(&self, conn: &mut Held<C>) -> Result<(), sqlx::Error> {
        conn.raw.ping().await
    }

    fn has_broken(&self, conn: &mut Held<C>) -> bool {
        self.strict && !conn.finished
    }
}

/// How a pool is sized and recycled.
pub struct Settings {
    pub max: u32,
    pub min_idle: u32,
    pub max_lifetime: Option<Duration>,
    pub idle_timeout: Option<Duration>,
    pub acquire_timeout: Duration,
}

type Inner<C> = bb8::Pool<Manager<C>>;

/// A pool of `C` connections; [`Pool::close`] empties it for every clone.
pub struct Pool<C: Connection + 'static> {
    inner: Arc<RwLock<Option<Inner<C>>>>,
}

impl<C: Connection + 'static> Clone for Pool<C> {
    fn clone(&self) -> Self {
        Pool {
            inner: self.inner.clone(),
        }
    }
}

impl<C: Connection + 'static> std::fmt::Debug for Pool<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.open().map(|p| p.state());
        f.debug_struct("Pool").field("state", &state).finish()
    }
}

impl<C: Connection + 'static> Pool<C> {
    /// A pool that connects on demand. `strict`: see [`Manager`].
    pub fn lazy(options: <C as Connection>::Options, settings: &Settings, strict: bool) -> Self {
        Self::holding(Self::builder(settings).build_unchecked(Manager { options, strict }))
    }

    fn holding(inner: Inner<C>) -> Self {
        Pool {
            inner: Arc::new(RwLock::new(Some(inner))),
        }
    }

    fn open(&self) -> Option<Inner<C>> {
        self.inner.read().ok().and_then(|p| p.clone())
    }

    /// Refuses new checkouts from now on; connections close as they come back.
    pub fn close(&self) {
        if let Ok(mut p) = self.inner.write() {
            p.take();
        }
    }

    /// A pool whose first `min_idle` connections are open when this returns.
    pub async fn eager(
        options: <C as Connection>::Options,
        settings: &Settings,
        strict: bool,
    ) -> Result<Self, sqlx::Error> {
        let inner = Self::builder(settings)
            .build(Manager { options, strict })
            .await?;
        Ok(Self::holding(inner))
    }

    fn builder(s: &Settings) -> bb8::Builder<Manager<C>> {
        bb8::Pool::builder()
            .max_size(s.max.max(1))
            .min_idle(Some(s.min_idle).filter(|n| *n > 0))
            .max_lifetime(s.max_lifetime)
            .idle_timeout(s.idle_timeout)
            .connection_timeout(s.acquire_timeout)
            // No test on checkout: a broken connection fails its statement and is dropped.
            .test_on_check_out(false)
            // The most recently used connection first: warm caches, and idle ones can expire.
            .queue_strategy(bb8::QueueStrategy::Lifo)
    }

    /// A connection for one or more statements; hand it back with [`Guard::release`].
    pub async fn acquire(&self) -> Result<Guard<C>, sqlx::Error> {
        let pool = self.open().ok_or(sqlx::Error::PoolClosed)?;
        let mut conn = pool.get_owned().await.map_err(|e| match e {
            bb8::RunError::User(e) => e,
            bb8::RunError::TimedOut => sqlx::Error::PoolTimedOut,
        })?;
        conn.finished = false;
        Ok(Guard { conn })
    }
}

/// A checked-out connection.
pub struct Guard<C: Connection + 'static> {
    conn: bb8::PooledConnection<'static, Manager<C>>,
}

impl<C: Connection + 'static> Guard<C> {
    /// The sqlx connection, to run statements (and transactions) on.
    pub fn raw(&mut self) -> &mut C {
        &mut self.conn.raw
    }

    /// Marks the use finished after its outcome `error`; flushes a queued rollback.
    pub async fn release(mut self, error: Option<&sqlx::Error>) {
        let broken = error.is_some_and(|e| {
            !matches!(
                e,
                sqlx::Error::Database(_)
                    | sqlx::Error::RowNotFound
                    | sqlx::Error::ColumnDecode { .. }
            )
        });
        if broken {
            return;
        }
        if self.conn.raw.should_flush() && self.conn.raw.ping().await.is_err() {
            return;
        }
        self.conn.finished = true;
    }
}
