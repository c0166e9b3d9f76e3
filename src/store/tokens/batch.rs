//! Concurrent token statements combined into one: the token endpoint's conditional inserts
//! ([`TokenStore::insert_access_token_if_client`]), a group commit done by the application, and
//! on PostgreSQL the reads by signature of introspection and refresh ([`Lookups`]).
//!
//! Inserts: a token stored alone costs PostgreSQL a statement, a commit, a WAL flush and a
//! wake-up, most of it paid once per statement, not per row (on this project's 2-core machine
//! one-row inserts reached ≈ 12,800 rows/s, eight-row inserts ≈ 45,000 rows/s on the same CPU:
//! docs/benchmarks.md); on SQLite (one writer at a time) concurrent inserts otherwise queue on
//! its write lock one by one.
//!
//! How: a caller queues its row and waits for the outcome. At most `flushers` statements run
//! at a time; a free flusher takes everything queued (up to [`MAX_BATCH`] rows) and stores it
//! with one statement (PostgreSQL: `INSERT … SELECT … FROM unnest(arrays)`, one text for every
//! size; SQLite: `WITH t AS (VALUES …) INSERT … SELECT … FROM t`). Under light load a row finds
//! a free flusher and is stored alone at once, as before; under load rows queue while the
//! flushers wait on the database, and the next statement takes them all. Each row keeps its
//! own outcome: the revision check is per row (`WHERE EXISTS`), and when the database refuses
//! the statement as a whole (one row's foreign key, say) every row is tried again alone, so
//! one row cannot fail the others. Statements run on spawned tasks: a caller that goes away
//! (client disconnected, request timeout) cannot abandon the rows of the others.
//!
//! Reads: a lookup alone costs PostgreSQL a statement, a round trip and a wake-up for one
//! indexed row; under load the queued signatures are read with one `WHERE signature = ANY($1)`
//! and each caller gets its row (or not found): introspection on PostgreSQL went from ≈ 10,000
//! to ≈ 20,000 requests/s at 64 concurrent requests (docs/benchmarks.md). Fewer flushers make
//! larger batches; more keep one slow statement (a cold index page) from holding up every
//! read behind it. The same queue serves inserts and reads ([`Combiner`]); only the statement
//! differs ([`Combine`]).
//!
//! [`TokenStore::insert_access_token_if_client`]: crate::token::store::TokenStore::insert_access_token_if_client

use super::{json, TokenRow, COLUMNS};
use crate::error::StoreError;
use crate::store::{column_count, map_err, DbPool, Pool};
use crate::token::store::{ClientVersion, TokenRecord};
use sqlx::PgConnection;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::{oneshot, Semaphore};

/// The most jobs one statement serves.
const MAX_BATCH: usize = 64;

/// No connection could be had within the pool's timeout (or the pool is closed): the
/// database is away, not just one connection broken.
fn database_away(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed)
}

/// A statement that serves a batch of queued jobs.
pub(crate) trait Combine: Send + Sync + 'static {
    type Job: Send + 'static;
    type Output: Send + 'static;
    /// An outcome per job, in order; `Err` when the statement failed for all of them.
    fn run(
        &self,
        jobs: &[Self::Job],
    ) -> impl Future<Output = Result<Vec<Result<Self::Output, StoreError>>, sqlx::Error>> + Send;
}

/// A job waiting for its statement.
struct Queued<C: Combine> {
    job: C::Job,
    outcome: oneshot::Sender<Result<C::Output, StoreError>>,
}

/// The queue of one kind of combined statement.
pub(crate) struct Combiner<C: Combine> {
    work: C,
    queue: Mutex<Vec<Queued<C>>>,
    /// One permit per statement that may run at a time.
    flushers: Arc<Semaphore>,
}

impl<C: Combine> Combiner<C> {
    /// `work`'s statements, at most `flushers` at a time.
    pub(crate) fn new(work: C, flushers: usize) -> Arc<Self> {
        Arc::new(Combiner {
            work,
            queue: Mutex::new(Vec::new()),
            flushers: Arc::new(Semaphore::new(flushers.max(1))),
        })
    }

    /// Queues `job` and waits for its outcome.
    pub(crate) async fn submit(self: &Arc<Self>, job: C::Job) -> Result<C::Output, StoreError> {
        let (outcome, done) = oneshot::channel();
        self.queue().push(Queued { job, outcome });
        self.kick();
        done.await.unwrap_or_else(|_| {
            Err(StoreError::Backend(
                "the combined statement ended without an outcome".into(),
            ))
        })
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Vec<Queued<C>>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a statement for the queued jobs on every free flusher. A flusher that finishes
    /// calls this again, so jobs queued while all were busy are taken by the next one free.
    fn kick(self: &Arc<Self>) {
        while let Ok(permit) = self.flushers.clone().try_acquire_owned() {
            let batch: Vec<Queued<C>> = {
                let mut queue = self.queue();
                let n = queue.len().min(MAX_BATCH);
                queue.drain(..n).collect()
            };
            if batch.is_empty() {
                return;
            }
            let this = Arc::clone(self);
            tokio::spawn(async move {
                this.flush(batch).await;
                drop(permit);
                this.kick();
            });
        }
    }

    async fn flush(&self, batch: Vec<Queued<C>>) {
        let (jobs, senders): (Vec<C::Job>, Vec<_>) =
            batch.into_iter().map(|q| (q.job, q.outcome)).unzip();
        let outcomes = match self.work.run(&jobs).await {
            Ok(outcomes) => outcomes,
            Err(e) if jobs.len() == 1 && !database_away(&e) => vec![Err(map_err(e))],
            // No connection, or it broke: the same for every job. No connection at all within
            // the pool's timeout: the database is away, so the jobs queued meanwhile fail with
            // it instead of waiting out that timeout once more per statement.
            Err(e) => {
                let message = e.to_string();
                if database_away(&e) {
                    let waiting: Vec<Queued<C>> = self.queue().drain(..).collect();
                    for q in waiting {
                        let _ = q
                            .outcome
                            .send(Err(StoreError::Backend(message.clone().into())));
                    }
                }
                jobs.iter()
                    .map(|_| Err(StoreError::Backend(message.clone().into())))
                    .collect()
            }
        };
        for (sender, outcome) in senders.into_iter().zip(outcomes) {
            // The caller may have gone away; its job's fate is settled either way.
            let _ = sender.send(outcome);
        }
    }
}

/// A row waiting for its insert.
pub(crate) struct Pending {
    token: TokenRecord,
    client_id: String,
    revision: i64,
}

impl Pending {
    pub(crate) fn new(token: TokenRecord, client: &ClientVersion<'_>) -> Pending {
        Pending {
            token,
            client_id: client.id.to_string(),
            revision: client.revision,
        }
    }
}

/// The combined conditional inserts into one token table: each row is stored if its client
/// is still at the revision it was read at; the outcome says whether it was.
pub(crate) struct Inserts {
    pool: DbPool,
    table: &'static str,
    /// PostgreSQL's statement, for any number of rows.
    pg_sql: String,
}

impl Inserts {
    pub(crate) fn new(pool: DbPool, table: &'static str) -> Inserts {
        // The row's columns, then the client id and revision its insert depends on.
        let pg_sql = format!(
            "INSERT INTO {table} ({COLUMNS}) SELECT {COLUMNS} FROM unnest(\
             $1::text[], $2::text[], $3::timestamp[], $4::text[], $5::text[], $6::text[], \
             $7::text[], $8::bool[], $9::text[], $10::text[], $11::text[], $12::timestamp[], \
             $13::text[], $14::text[], $15::bigint[]) AS t({COLUMNS}, if_client, if_revision) \
             WHERE EXISTS (SELECT 1 FROM hydra_client c \
             WHERE c.id = t.if_client AND c.revision = t.if_revision) \
             RETURNING signature"
        );
        Inserts {
            pool,
            table,
            pg_sql,
        }
    }

    /// One statement for `rows`; the signatures it stored.
    async fn insert(&self, rows: &[Pending]) -> Result<HashSet<String>, sqlx::Error> {
        let stored: Vec<String> = match &self.pool {
            DbPool::Postgres(pool) => {
                let query = self.pg_query(rows);
                crate::on_pool!(@run pool, conn, query.fetch_all(conn).await)?
            }
            DbPool::Sqlite(pool) => {
                let sql = self.sqlite_sql(rows.len());
                let mut query = sqlx::query_scalar::<_, String>(&sql);
                for p in rows {
                    query = bind_token!(query, &p.token)
                        .bind(p.client_id.as_str())
                        .bind(p.revision);
                }
                crate::on_pool!(@run pool, conn, query.fetch_all(conn).await)?
            }
        };
        Ok(stored.into_iter().collect())
    }

    /// PostgreSQL: [`Inserts::pg_sql`] with a column array per parameter, borrowing the rows'
    /// text.
    fn pg_query<'q>(
        &'q self,
        rows: &'q [Pending],
    ) -> sqlx::query::QueryScalar<'q, sqlx::Postgres, String, sqlx::postgres::PgArguments> {
        let text = |f: fn(&Pending) -> &str| rows.iter().map(f).collect::<Vec<_>>();
        let lists =
            |f: fn(&Pending) -> &[String]| rows.iter().map(|p| json(f(p))).collect::<Vec<_>>();
        sqlx::query_scalar(&self.pg_sql)
            .bind(text(|p| &p.token.signature))
            .bind(text(|p| &p.token.request_id))
            .bind(
                rows.iter()
                    .map(|p| p.token.requested_at.naive_utc())
                    .collect::<Vec<_>>(),
            )
            .bind(text(|p| &p.token.client_id))
            .bind(lists(|p| &p.token.requested_scope))
            .bind(lists(|p| &p.token.granted_scope))
            .bind(text(|p| &p.token.subject))
            .bind(rows.iter().map(|p| p.token.active).collect::<Vec<_>>())
            .bind(lists(|p| &p.token.requested_audience))
            .bind(lists(|p| &p.token.granted_audience))
            .bind(text(|p| &p.token.session_data))
            .bind(
                rows.iter()
                    .map(|p| p.token.expires_at.map(|e| e.naive_utc()))
                    .collect::<Vec<_>>(),
            )
            .bind(
                rows.iter()
                    .map(|p| p.token.challenge_id.as_deref())
                    .collect::<Vec<_>>(),
            )
            .bind(text(|p| &p.client_id))
            .bind(rows.iter().map(|p| p.revision).collect::<Vec<_>>())
    }

    /// SQLite: the statement for `n` rows, each `COLUMNS` then client id and revision. Plain
    /// `?` parameters: SQLite keeps `$n` ones in a list that sqlx searches once per parameter,
    /// which made a 64-row statement (960 parameters) cost more than its rows.
    fn sqlite_sql(&self, n: usize) -> String {
        let row = format!("({})", vec!["?"; column_count(COLUMNS) + 2].join(", "));
        let values = vec![row.as_str(); n].join(", ");
        format!(
            "WITH t({COLUMNS}, if_client, if_revision) AS (VALUES {values}) \
             INSERT INTO {table} ({COLUMNS}) SELECT {COLUMNS} FROM t \
             WHERE EXISTS (SELECT 1 FROM hydra_client c \
             WHERE c.id = t.if_client AND c.revision = t.if_revision) \
             RETURNING signature",
            table = self.table
        )
    }
}

impl Combine for Inserts {
    type Job = Pending;
    type Output = bool;

    async fn run(&self, rows: &[Pending]) -> Result<Vec<Result<bool, StoreError>>, sqlx::Error> {
        match self.insert(rows).await {
            Ok(stored) => Ok(rows
                .iter()
                .map(|p| Ok(stored.contains(&p.token.signature)))
                .collect()),
            // The database refused the statement: one row's failure must not be the others',
            // so each alone.
            Err(sqlx::Error::Database(_)) if rows.len() > 1 => {
                let mut alone = Vec::with_capacity(rows.len());
                for p in rows {
                    let outcome = self.insert(std::slice::from_ref(p)).await;
                    alone.push(outcome.map(|stored| !stored.is_empty()).map_err(map_err));
                }
                Ok(alone)
            }
            Err(e) => Err(e),
        }
    }
}

/// PostgreSQL: token rows read by signature from one table, many per statement.
pub(crate) struct Lookups {
    pool: Pool<PgConnection>,
    sql: String,
}

impl Lookups {
    pub(crate) fn new(pool: Pool<PgConnection>, table: &str) -> Lookups {
        Lookups {
            pool,
            sql: format!("SELECT {COLUMNS} FROM {table} WHERE signature = ANY($1)"),
        }
    }
}

impl Combine for Lookups {
    /// A signature.
    type Job = String;
    type Output = TokenRecord;

    async fn run(
        &self,
        signatures: &[String],
    ) -> Result<Vec<Result<TokenRecord, StoreError>>, sqlx::Error> {
        let pool = &self.pool;
        let rows: Vec<TokenRow> = crate::on_pool!(@run pool, conn, sqlx::query_as(&self.sql)
            .bind(signatures)
            .fetch_all(conn)
            .await)?;
        // How many jobs still want each signature: the last one takes the record, the ones
        // before it (the same token introspected at once) a copy.
        let mut wanted: HashMap<&str, usize> = HashMap::new();
        for s in signatures {
            *wanted.entry(s).or_default() += 1;
        }
        let mut found: HashMap<&str, TokenRecord> = HashMap::with_capacity(rows.len());
        for row in rows {
            if let Some((&key, _)) = wanted.get_key_value(row.signature.as_str()) {
                found.insert(key, row.into());
            }
        }
        Ok(signatures
            .iter()
            .map(|s| {
                let left = wanted.get_mut(s.as_str()).map(|n| {
                    *n -= 1;
                    *n
                });
                let record = match left {
                    Some(0) => found.remove(s.as_str()),
                    _ => found.get(s.as_str()).cloned(),
                };
                record.ok_or(StoreError::NotFound)
            })
            .collect())
    }
}
