//! Migrations: idempotent, safe when several run at once, and the schema has every table
//! later features need.

use crate::harness::TestDb;
use crate::on_both_backends;
use portcullis::store::{Db, MIGRATIONS};

const TABLES: &[&str] = &[
    "hydra_client",
    "hydra_jwk",
    "hydra_oauth2_authentication_session",
    "hydra_oauth2_authentication_request",
    "hydra_oauth2_authentication_request_handled",
    "hydra_oauth2_consent_request",
    "hydra_oauth2_consent_request_handled",
    "hydra_oauth2_obfuscated_authentication_session",
    "hydra_oauth2_logout_request",
    "hydra_oauth2_access",
    "hydra_oauth2_refresh",
    "hydra_oauth2_code",
    "hydra_oauth2_oidc",
    "hydra_oauth2_pkce",
    "hydra_oauth2_jti_blacklist",
];

async fn count(db: &Db, sql: &str) -> i64 {
    portcullis::on_pool!(db, |p| sqlx::query_scalar(sql).fetch_one(p).await).unwrap()
}

on_both_backends! {
    async fn migrating_twice_is_a_no_op(backend: Backend) {
        let t = TestDb::create(backend).await;
        let db = t.connect().await;
        assert_eq!(db.pending_migrations().await.unwrap().len(), MIGRATIONS.len());
        assert_eq!(db.migrate().await.unwrap().len(), MIGRATIONS.len());
        assert!(db.migrate().await.unwrap().is_empty(), "second run applies nothing");
        assert!(db.pending_migrations().await.unwrap().is_empty());
        for table in TABLES {
            // Every table exists and is empty.
            assert_eq!(count(&db, &format!("SELECT COUNT(*) FROM {table}")).await, 0, "{table}");
        }
        db.close().await;
    }

    async fn concurrent_migrations_apply_each_step_once(backend: Backend) {
        let t = TestDb::create(backend).await;
        let mut runs = Vec::new();
        for _ in 0..4 {
            let db = t.connect().await;
            runs.push(tokio::spawn(async move {
                let applied = db.migrate().await;
                db.close().await;
                applied
            }));
        }
        let mut applied_total = 0;
        for run in runs {
            applied_total += run.await.unwrap().expect("every concurrent run succeeds").len();
        }
        assert_eq!(applied_total, MIGRATIONS.len(), "each migration applied by exactly one runner");
        let db = t.connect().await;
        assert_eq!(count(&db, "SELECT COUNT(*) FROM portcullis_schema_migration").await, MIGRATIONS.len() as i64);
        assert!(db.pending_migrations().await.unwrap().is_empty());
        db.close().await;
    }

    async fn deleting_a_client_cascades(backend: Backend) {
        let t = TestDb::create(backend).await;
        t.migrate().await;
        let db = t.connect().await;
        let statements = [
            "INSERT INTO hydra_client (id) VALUES ('c1')",
            "INSERT INTO hydra_oauth2_access (signature, request_id, client_id, session_data) VALUES ('s1', 'r1', 'c1', '')",
            "DELETE FROM hydra_client WHERE id = 'c1'",
        ];
        for sql in statements {
            portcullis::on_pool!(db, |p| sqlx::query(sql).execute(p).await.map(|_| ())).unwrap();
        }
        assert_eq!(count(&db, "SELECT COUNT(*) FROM hydra_oauth2_access").await, 0, "tokens go with their client");
        db.close().await;
    }
}
