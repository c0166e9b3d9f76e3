//! Test databases: a fresh SQLite file in a temporary directory, or a fresh PostgreSQL
//! database on the server named by `PORTCULLIS_TEST_POSTGRES` (default: the local cluster),
//! dropped when the test ends. An unreachable PostgreSQL fails the test: never a skip.

use portcullis::config::Dsn;
use portcullis::store::Db;
use sqlx::{Connection, Executor, PgConnection};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("PORTCULLIS_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database that exists for one test.
pub struct TestDb {
    dsn: String,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn create(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let dsn = format!("sqlite://{}/portcullis.sqlite", dir.path().display());
                TestDb {
                    dsn,
                    pg_name: None,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let admin = postgres_admin_url();
                let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                    panic!("PostgreSQL is required for the tests and is unreachable at PORTCULLIS_TEST_POSTGRES={admin}: {e}")
                });
                let name = format!("portcullis_test_{}", uuid::Uuid::new_v4().simple());
                conn.execute(format!("CREATE DATABASE {name}").as_str())
                    .await
                    .expect("create test database");
                let mut url = url::Url::parse(&admin).expect("PORTCULLIS_TEST_POSTGRES is a URL");
                url.set_path(&name);
                TestDb {
                    dsn: url.to_string(),
                    pg_name: Some(name),
                    _dir: None,
                }
            }
        }
    }

    /// Owns nothing: what a stopped server leaves behind after handing its database back.
    pub fn placeholder() -> TestDb {
        TestDb {
            dsn: String::new(),
            pg_name: None,
            _dir: None,
        }
    }

    /// The DSN of this database, as the server takes it.
    pub fn dsn(&self) -> String {
        self.dsn.clone()
    }

    /// A fresh pool on this database.
    pub async fn connect(&self) -> Db {
        Db::connect(&Dsn::parse(&self.dsn).expect("dsn"))
            .await
            .expect("connect to the test database")
    }

    /// Applies every migration, as `portcullis migrate sql` does.
    pub async fn migrate(&self) {
        let db = self.connect().await;
        db.migrate().await.expect("migrate");
        db.close().await;
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // Drop runs outside async context: use a private runtime on a plain thread.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut conn) = PgConnection::connect(&postgres_admin_url()).await {
                    let _ = conn
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await;
                }
            });
        })
        .join();
    }
}
