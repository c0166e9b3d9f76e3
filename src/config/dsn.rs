//! DSNs as Hydra accepts them (hydra-reference §6.4): `memory`, `sqlite://PATH?...`,
//! `postgres://` (also `postgresql://`, `pgx://`, `pq://`), `cockroach://` (spoken to with
//! the Postgres driver). Pool options travel in the query and are removed from the URL.

use super::duration;
use std::time::Duration;
use url::Url;

/// Which database a DSN names.
#[derive(Clone, PartialEq, Eq)]
pub enum Backend {
    /// One in-memory SQLite database, private to this process, migrated at start.
    Memory,
    /// An SQLite file. `path` is what follows `sqlite://`; `mode` its access mode if given.
    Sqlite { path: String, read_only: bool },
    /// PostgreSQL or CockroachDB: `url` is a `postgres://` URL without pool options.
    Postgres { url: String, cockroach: bool },
}

/// Connection-pool settings read from the DSN query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolOptions {
    /// `max_conns`: the pool's size (default: 2 × CPUs as Hydra, but at least 16).
    pub max_conns: Option<u32>,
    /// `max_idle_conns`: connections kept open while idle. sqlx keeps idle connections until
    /// `max_conn_idle_time`; this value is the pool's floor of open connections, capped at
    /// `max_conns`.
    pub max_idle_conns: Option<u32>,
    /// `max_conn_lifetime`: a connection is closed after this long (default: never).
    pub max_conn_lifetime: Option<Duration>,
    /// `max_conn_idle_time`: an idle connection is closed after this long (default: never).
    pub max_conn_idle_time: Option<Duration>,
}

/// A parsed DSN. `Debug` hides passwords.
#[derive(Clone, PartialEq, Eq)]
pub struct Dsn {
    pub backend: Backend,
    pub pool: PoolOptions,
}

impl std::fmt::Debug for Dsn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Dsn({})", self.redacted())
    }
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Dsn {
    /// Parses a DSN; the error says what is wrong without repeating credentials.
    pub fn parse(text: &str) -> Result<Dsn, String> {
        let text = text.trim();
        if text == "memory" {
            return Ok(Dsn {
                backend: Backend::Memory,
                pool: PoolOptions::default(),
            });
        }
        let scheme = text
            .split_once("://")
            .map(|(s, _)| s.to_ascii_lowercase())
            .unwrap_or_default();
        match scheme.as_str() {
            "sqlite" | "sqlite3" => parse_sqlite(text),
            "postgres" | "postgresql" | "pgx" | "pq" => parse_postgres(text, false),
            "cockroach" | "cockroachdb" | "crdb" => parse_postgres(text, true),
            "mysql" => Err("mysql:// DSNs are not supported yet: use postgres://, cockroach://, sqlite:// or memory".into()),
            "" => Err("the DSN must be \"memory\" or a URL such as postgres://user@host:5432/db or sqlite:///path/db.sqlite".into()),
            other => Err(format!("unsupported DSN scheme \"{other}://\": use postgres://, cockroach://, sqlite:// or memory")),
        }
    }

    /// `memory` or an SQLite file.
    pub fn is_sqlite(&self) -> bool {
        !matches!(self.backend, Backend::Postgres { .. })
    }

    /// The DSN for logs: scheme, host and database, never the password.
    pub fn redacted(&self) -> String {
        self.backend.redacted()
    }
}

impl Backend {
    /// The backend's URL without its password.
    pub fn redacted(&self) -> String {
        match self {
            Backend::Memory => "memory".into(),
            Backend::Sqlite { path, .. } => format!("sqlite://{path}"),
            Backend::Postgres { url, cockroach } => {
                let Ok(mut u) = Url::parse(url) else {
                    return "postgres://[invalid]".into();
                };
                if u.password().is_some() {
                    let _ = u.set_password(Some("xxxxx"));
                }
                let text = u.to_string();
                if *cockroach {
                    text.replacen("postgres://", "cockroach://", 1)
                } else {
                    text
                }
            }
        }
    }
}

/// Takes the pool options out of `pairs`, leaving the rest.
fn take_pool_options(pairs: &mut Vec<(String, String)>) -> Result<PoolOptions, String> {
    let mut pool = PoolOptions::default();
    let mut rest = Vec::new();
    for (k, v) in pairs.drain(..) {
        let count = |v: &str| {
            v.parse::<u32>()
                .map_err(|_| format!("DSN option {k}={v:?} must be a non-negative integer"))
        };
        let dur = |v: &str| duration::parse(v).map_err(|e| format!("DSN option {k}: {e}"));
        match k.as_str() {
            "max_conns" => pool.max_conns = Some(count(&v)?),
            "max_idle_conns" => pool.max_idle_conns = Some(count(&v)?),
            "max_conn_lifetime" => pool.max_conn_lifetime = Some(dur(&v)?),
            "max_conn_idle_time" => pool.max_conn_idle_time = Some(dur(&v)?),
            _ => rest.push((k, v)),
        }
    }
    *pairs = rest;
    if pool.max_conns == Some(0) {
        return Err("DSN option max_conns must be at least 1".into());
    }
    Ok(pool)
}

fn parse_postgres(text: &str, cockroach: bool) -> Result<Dsn, String> {
    let (_, rest) = text.split_once("://").unwrap_or(("", text));
    let mut url = Url::parse(&format!("postgres://{rest}"))
        .map_err(|e| format!("invalid PostgreSQL DSN: {e}"))?;
    if url.host_str().unwrap_or_default().is_empty() {
        return Err(
            "invalid PostgreSQL DSN: a host is required (postgres://user@host:5432/db)".into(),
        );
    }
    let mut pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let pool = take_pool_options(&mut pairs)?;
    url.set_query(None);
    if !pairs.is_empty() {
        url.query_pairs_mut().extend_pairs(pairs);
    }
    Ok(Dsn {
        backend: Backend::Postgres {
            url: url.to_string(),
            cockroach,
        },
        pool,
    })
}

fn parse_sqlite(text: &str) -> Result<Dsn, String> {
    let (_, rest) = text.split_once("://").unwrap_or(("", text));
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let pool = take_pool_options(&mut pairs)?;
    let mut read_only = false;
    for (k, v) in &pairs {
        match k.as_str() {
            "mode" if v == "ro" => read_only = true,
            "mode" if v == "rw" || v == "rwc" || v == "memory" => {}
            // go-sqlite3 options Hydra users pass (`_fk=true`, `_journal_mode=WAL`, ...):
            // foreign keys and WAL are always on here.
            k if k.starts_with('_') => {}
            "cache" => {}
            _ => return Err(format!("unsupported SQLite DSN option \"{k}\"")),
        }
    }
    if path.is_empty() {
        return Err(
            "invalid SQLite DSN: a path is required (sqlite:///var/lib/portcullis/db.sqlite)"
                .into(),
        );
    }
    if path == ":memory:"
        || path == "file::memory:"
        || pairs.iter().any(|(k, v)| k == "mode" && v == "memory")
    {
        return Ok(Dsn {
            backend: Backend::Memory,
            pool,
        });
    }
    Ok(Dsn {
        backend: Backend::Sqlite {
            path: path.to_string(),
            read_only,
        },
        pool,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hydra_dsn_forms() {
        let pg = |url: &str, cockroach| Backend::Postgres {
            url: url.into(),
            cockroach,
        };
        let cases: Vec<(&str, Backend)> = vec![
            ("memory", Backend::Memory),
            ("sqlite://file::memory:?_fk=true", Backend::Memory),
            (
                "sqlite:///var/lib/db.sqlite?_fk=true",
                Backend::Sqlite {
                    path: "/var/lib/db.sqlite".into(),
                    read_only: false,
                },
            ),
            (
                "sqlite://./data.db",
                Backend::Sqlite {
                    path: "./data.db".into(),
                    read_only: false,
                },
            ),
            (
                "postgres://u:p@db:5432/hydra?sslmode=disable",
                pg("postgres://u:p@db:5432/hydra?sslmode=disable", false),
            ),
            (
                "postgresql://u@db/hydra",
                pg("postgres://u@db/hydra", false),
            ),
            ("pgx://u@db/hydra", pg("postgres://u@db/hydra", false)),
            (
                "cockroach://root@crdb:26257/defaultdb?sslmode=disable",
                pg("postgres://root@crdb:26257/defaultdb?sslmode=disable", true),
            ),
        ];
        for (text, want) in cases {
            let got = Dsn::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert!(got.backend == want, "{text}: got {got:?}");
        }
    }

    #[test]
    fn pool_options_are_taken_from_the_query() {
        let dsn = Dsn::parse("postgres://u@db/x?max_conns=7&sslmode=disable&max_idle_conns=2&max_conn_lifetime=1h&max_conn_idle_time=30s").unwrap();
        assert_eq!(
            dsn.pool,
            PoolOptions {
                max_conns: Some(7),
                max_idle_conns: Some(2),
                max_conn_lifetime: Some(Duration::from_secs(3600)),
                max_conn_idle_time: Some(Duration::from_secs(30)),
            }
        );
        assert!(
            matches!(dsn.backend, Backend::Postgres { ref url, .. } if url == "postgres://u@db/x?sslmode=disable")
        );
        let lite = Dsn::parse("sqlite:///tmp/x.db?max_conns=3&_fk=true").unwrap();
        assert_eq!(lite.pool.max_conns, Some(3));
    }

    #[test]
    fn refuses_bad_dsns_clearly() {
        let cases = [
            (
                "mysql://root@tcp(localhost:3306)/hydra",
                "not supported yet",
            ),
            ("redis://localhost", "unsupported DSN scheme"),
            ("just-a-word", "must be \"memory\""),
            ("postgres://u@db/x?max_conns=abc", "max_conns"),
            (
                "postgres://u@db/x?max_conn_lifetime=1d",
                "max_conn_lifetime",
            ),
            ("postgres:///x", "host is required"),
            ("sqlite://", "path is required"),
            ("sqlite:///x.db?bogus=1", "bogus"),
        ];
        for (text, needle) in cases {
            let err = Dsn::parse(text).err().unwrap_or_default();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn redacted_hides_the_password() {
        let dsn = Dsn::parse("postgres://user:s3cret@db:5432/x").unwrap();
        assert!(!format!("{dsn:?}").contains("s3cret"));
        assert!(dsn.redacted().contains("user:xxxxx@db"));
    }
}
