//! Schema migrations: numbered files in `migrations/postgres/` and `migrations/sqlite/`
//! (same numbers, only the DDL differs), compiled into the binary and recorded in
//! `portcullis_schema_migration`.
//!
//! Safe when several processes migrate at once: each migration runs in one transaction that
//! first claims its version row. On PostgreSQL/CockroachDB a second runner's claim waits on
//! the first's uncommitted row and then finds it taken; on SQLite `BEGIN IMMEDIATE` takes
//! the write lock before the check. The loser skips the migration; nothing runs twice.

use super::{map_err, Db, DbPool};
use crate::error::StoreError;

/// One schema step.
#[derive(Debug)]
pub struct Migration {
    pub version: &'static str,
    pub name: &'static str,
    postgres: &'static str,
    sqlite: &'static str,
}

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: "0001",
        name: "init",
        postgres: include_str!("../../migrations/postgres/0001_init.sql"),
        sqlite: include_str!("../../migrations/sqlite/0001_init.sql"),
    },
    Migration {
        version: "0002",
        name: "client_revision",
        postgres: include_str!("../../migrations/postgres/0002_client_revision.sql"),
        sqlite: include_str!("../../migrations/sqlite/0002_client_revision.sql"),
    },
];

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS portcullis_schema_migration (\
    version VARCHAR(64) NOT NULL PRIMARY KEY, \
    name VARCHAR(255) NOT NULL, \
    applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)";

const CLAIM: &str = "INSERT INTO portcullis_schema_migration (version, name) VALUES ($1, $2) \
    ON CONFLICT (version) DO NOTHING RETURNING version";

impl Db {
    /// Applies every pending migration; returns the versions this call applied.
    pub async fn migrate(&self) -> Result<Vec<&'static str>, StoreError> {
        self.create_migration_table().await?;
        let mut applied = Vec::new();
        for m in MIGRATIONS {
            if self.apply(m).await? {
                applied.push(m.version);
            }
        }
        Ok(applied)
    }

    /// The migrations not yet applied, oldest first.
    pub async fn pending_migrations(&self) -> Result<Vec<&'static Migration>, StoreError> {
        let exists_sql = match &self.pool {
            DbPool::Postgres(_) => "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'portcullis_schema_migration'",
            DbPool::Sqlite(_) => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'portcullis_schema_migration'",
        };
        let exists: i64 = crate::on_pool!(self, |pool| sqlx::query_scalar(exists_sql)
            .fetch_one(pool)
            .await)
        .map_err(map_err)?;
        if exists == 0 {
            return Ok(MIGRATIONS.iter().collect());
        }
        let done: Vec<String> = crate::on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT version FROM portcullis_schema_migration")
                .fetch_all(pool)
                .await
        })
        .map_err(map_err)?;
        Ok(MIGRATIONS
            .iter()
            .filter(|m| !done.iter().any(|d| d == m.version))
            .collect())
    }

    async fn create_migration_table(&self) -> Result<(), StoreError> {
        // Two PostgreSQL sessions racing on CREATE TABLE IF NOT EXISTS can both pass the
        // check and one then fails on the catalog's unique index; the retry sees the table.
        let mut last = None;
        for _ in 0..3 {
            match crate::on_pool!(self, |pool| sqlx::query(CREATE_TABLE)
                .execute(pool)
                .await
                .map(|_| ()))
            {
                Ok(_) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last
            .map(map_err)
            .unwrap_or(StoreError::Backend("migration table".into())))
    }

    /// Applies `m` unless another runner has; true when this call applied it.
    async fn apply(&self, m: &Migration) -> Result<bool, StoreError> {
        super::in_tx!(self, |tx, DB| {
            let sql = if <DB as sqlx::Database>::NAME == "PostgreSQL" {
                m.postgres
            } else {
                m.sqlite
            };
            let applied = claim_and_run::<DB>(&mut tx, m, sql)
                .await
                .map_err(map_err)?;
            super::commit_if(tx, applied).await
        })
    }
}

/// The statements of a migration file: `--` comments removed, split on `;`. Migration files
/// keep `;` and `--` out of string literals so that this stays true.
fn statements(sql: &str) -> Vec<String> {
    let without_comments: String = sql
        .lines()
        .map(|line| line.split_once("--").map_or(line, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n");
    without_comments
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Claims `m`'s version row, then runs `sql`; false when another runner holds the claim.
async fn claim_and_run<DB>(
    conn: &mut DB::Connection,
    m: &Migration,
    sql: &str,
) -> Result<bool, sqlx::Error>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let claimed: Option<String> = sqlx::query_scalar::<DB, String>(CLAIM)
        .bind(m.version)
        .bind(m.name)
        .fetch_optional(&mut *conn)
        .await?;
    if claimed.is_none() {
        return Ok(false);
    }
    for statement in statements(sql) {
        sqlx::query::<DB>(&statement).execute(&mut *conn).await?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_on_semicolons_without_comments() {
        let sql = "-- header; with a semicolon\nCREATE TABLE a (x TEXT); -- trailing; comment\n\nCREATE INDEX i ON a (x);\n";
        assert_eq!(
            statements(sql),
            vec!["CREATE TABLE a (x TEXT)", "CREATE INDEX i ON a (x)"]
        );
    }

    #[test]
    fn every_migration_has_both_dialects() {
        for m in MIGRATIONS {
            assert!(
                !statements(m.postgres).is_empty() && !statements(m.sqlite).is_empty(),
                "{}",
                m.version
            );
        }
    }
}
