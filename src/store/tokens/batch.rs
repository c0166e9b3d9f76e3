//! The token endpoint's conditional inserts ([`TokenStore::insert_access_token_if_client`]) combined
//! into one statement: a group commit done by the application. A token stored alone costs
//! PostgreSQL a statement, a commit, a WAL flush and a wake-up, most of it paid once per
//! statement, not per row (on this project's 2-core machine one-row inserts reached ≈ 12,800
//! rows/s, eight-row inserts ≈ 45,000 rows/s on the same CPU: docs/benchmarks.md); on SQLite
//! (one writer at a time) concurrent inserts otherwise queue on its write lock one by one.
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
//! [`TokenStore::insert_access_token_if_client`]: crate::token::store::TokenStore::insert_access_token_if_client

use super::{json, COLUMNS};
use crate::error::StoreError;
use crate::store::{column_count, map_err, DbPool};
use crate::token::store::{ClientVersion, TokenRecord};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::{oneshot, Semaphore};

/// The most rows one statement stores.
const MAX_BATCH: usize = 64;

/// No connection could be had within the pool's timeout (or the pool is closed): the
/// database is away, not just one connection broken.
fn database_away(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed)
}

/// A row waiting for its statement.
struct Pending {
    token: TokenRecord,
    client_id: String,
    revision: i64,
    outcome: oneshot::Sender<Result<bool, StoreError>>,
}

/// The combined inserts into one token table.
pub(crate) struct Batcher {
    pool: DbPool,
    table: &'static str,
    /// PostgreSQL's statement, for any number of rows.
    pg_sql: String,
    queue: Mutex<Vec<Pending>>,
    /// One permit per statement that may run at a time.
    flushers: Arc<Semaphore>,
}

impl Batcher {
    /// Combined inserts into `table` with at most `flushers` statements at a time.
    pub(crate) fn new(pool: DbPool, table: &'static str, flushers: usize) -> Arc<Batcher> {
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
        Arc::new(Batcher {
            pool,
            table,
            pg_sql,
            queue: Mutex::new(Vec::new()),
            flushers: Arc::new(Semaphore::new(flushers.max(1))),
        })
    }

    /// Stores `token` if `client` is still the stored client row; false when it is not.
    pub(crate) async fn insert_if_client(
        self: &Arc<Self>,
        token: TokenRecord,
        client: &ClientVersion<'_>,
    ) -> Result<bool, StoreError> {
        let (outcome, stored) = oneshot::channel();
        self.queue().push(Pending {
            token,
            client_id: client.id.to_string(),
            revision: client.revision,
            outcome,
        });
        self.kick();
        stored.await.unwrap_or_else(|_| {
            Err(StoreError::Backend(
                "the combined token insert ended without an outcome".into(),
            ))
        })
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Vec<Pending>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a statement for the queued rows on every free flusher. A flusher that finishes
    /// calls this again, so rows queued while all were busy are taken by the next one free.
    fn kick(self: &Arc<Self>) {
        while let Ok(permit) = self.flushers.clone().try_acquire_owned() {
            let batch: Vec<Pending> = {
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

    async fn flush(&self, batch: Vec<Pending>) {
        let outcomes: Vec<Result<bool, StoreError>> = match self.insert(&batch).await {
            Ok(stored) => batch
                .iter()
                .map(|p| Ok(stored.contains(&p.token.signature)))
                .collect(),
            Err(e) if batch.len() == 1 && !database_away(&e) => vec![Err(map_err(e))],
            // The database refused the statement: one row's failure must not be the others',
            // so each alone.
            Err(sqlx::Error::Database(_)) => {
                let mut alone = Vec::with_capacity(batch.len());
                for p in &batch {
                    let outcome = self.insert(std::slice::from_ref(p)).await;
                    alone.push(outcome.map(|stored| !stored.is_empty()).map_err(map_err));
                }
                alone
            }
            // No connection, or it broke: the same for every row (trying each alone would only
            // wait for the pool again, row after row). No connection at all within the pool's
            // timeout: the database is away, so the rows queued meanwhile fail with it instead
            // of waiting out that timeout once more per statement.
            Err(e) => {
                let message = e.to_string();
                if database_away(&e) {
                    let waiting: Vec<Pending> = self.queue().drain(..).collect();
                    for p in waiting {
                        let _ = p
                            .outcome
                            .send(Err(StoreError::Backend(message.clone().into())));
                    }
                }
                batch
                    .iter()
                    .map(|_| Err(StoreError::Backend(message.clone().into())))
                    .collect()
            }
        };
        for (p, outcome) in batch.into_iter().zip(outcomes) {
            // The caller may have gone away; its row's fate is settled either way.
            let _ = p.outcome.send(outcome);
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

    /// PostgreSQL: [`Batcher::pg_sql`] with a column array per parameter, borrowing the rows'
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
