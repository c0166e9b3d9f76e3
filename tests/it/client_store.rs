//! The `ClientStore` contract, run on both backends (Hydra's manager_test_helpers idea).

use crate::harness::TestDb;
use crate::on_both_backends;
use chrono::{TimeZone, Utc};
use portcullis::client::{Client, ClientStore, OAuth2Client};
use portcullis::error::StoreError;
use portcullis::token::{ClientVersion, TokenKind, TokenRecord, TokenStore};
use serde_json::json;

fn client(id: &str) -> Client {
    let at = Utc.with_ymd_and_hms(2021, 7, 14, 12, 0, 0).unwrap();
    Client {
        data: OAuth2Client {
            client_id: id.into(),
            client_name: format!("name of {id}"),
            redirect_uris: vec!["https://a.example/cb|with-pipe".into()],
            scope: "openid offline".into(),
            metadata: json!({"k": [1, 2]}),
            frontchannel_logout_session_required: true,
            created_at: Some(at),
            updated_at: Some(at),
            ..Default::default()
        },
        secret_hash: "$argon2id$hash".into(),
        revision: 1,
    }
}

on_both_backends! {
    async fn client_store_contract(backend: Backend) {
        let t = TestDb::create(backend).await;
        t.migrate().await;
        let db = t.connect().await;

        let a = client("a");
        db.insert_client(&a).await.unwrap();
        assert_eq!(db.get_client("a").await.unwrap(), a, "a stored client reads back identically");
        assert!(matches!(db.insert_client(&a).await, Err(StoreError::Conflict)));
        assert!(matches!(db.get_client("missing").await, Err(StoreError::NotFound)));

        let mut changed = a.clone();
        changed.data.client_name = "renamed".into();
        changed.data.created_at = Some(Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap());
        changed.secret_hash = "$argon2id$other".into();
        db.update_client(&changed).await.unwrap();
        let read = db.get_client("a").await.unwrap();
        assert_eq!(read.data.client_name, "renamed");
        assert_eq!(read.secret_hash, "$argon2id$other");
        assert_eq!(read.data.created_at, a.data.created_at, "update never changes created_at");
        assert!(matches!(db.update_client(&client("missing")).await, Err(StoreError::NotFound)));

        for id in ["c", "b"] {
            db.insert_client(&client(id)).await.unwrap();
        }
        let (page, total) = db.list_clients(2, 0).await.unwrap();
        assert_eq!(total, 3);
        assert_eq!(page.iter().map(|c| c.data.client_id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        let (page, _) = db.list_clients(2, 2).await.unwrap();
        assert_eq!(page.len(), 1);

        db.delete_client("b").await.unwrap();
        assert!(matches!(db.delete_client("b").await, Err(StoreError::NotFound)));
        assert_eq!(db.list_clients(10, 0).await.unwrap().1, 2);
        db.close().await;
    }
}

fn token(signature: &str, client_id: &str) -> TokenRecord {
    let at = Utc.with_ymd_and_hms(2021, 7, 14, 12, 0, 0).unwrap();
    TokenRecord {
        signature: signature.into(),
        request_id: format!("req-{signature}"),
        requested_at: at,
        client_id: client_id.into(),
        requested_scope: vec![],
        granted_scope: vec![],
        subject: client_id.into(),
        active: true,
        requested_audience: vec![],
        granted_audience: vec![],
        session_data: "{}".into(),
        expires_at: None,
        challenge_id: None,
    }
}

fn version(c: &Client) -> ClientVersion<'_> {
    ClientVersion {
        id: &c.data.client_id,
        revision: c.revision,
    }
}

on_both_backends! {
    async fn cached_client_rows_and_the_conditional_token_insert(backend: Backend) {
        let t = TestDb::create(backend).await;
        t.migrate().await;
        let (db, other) = (t.connect().await, t.connect().await);
        let a = client("a");
        db.insert_client(&a).await.unwrap();
        assert_eq!(db.get_client_cached("a").await.unwrap(), a);
        assert!(matches!(db.get_client_cached("missing").await, Err(StoreError::NotFound)));

        // A write through this Db is seen at once, also by the cached read.
        let mut renamed = a.clone();
        renamed.data.client_name = "renamed".into();
        renamed.revision = 2;
        db.update_client(&renamed).await.unwrap();
        assert_eq!(db.get_client_cached("a").await.unwrap().data.client_name, "renamed");

        // The stored row as read: the token is stored.
        assert!(db.insert_access_token_if_client(token("t1", "a"), &version(&renamed)).await.unwrap());
        assert!(db.get_token(TokenKind::Access, "t1").await.is_ok());
        // An older copy (another revision), another client: nothing is stored.
        assert!(!db.insert_access_token_if_client(token("t2", "a"), &version(&a)).await.unwrap());
        let b = ClientVersion { id: "b", revision: renamed.revision };
        assert!(!db.insert_access_token_if_client(token("t3", "a"), &b).await.unwrap());
        for sig in ["t2", "t3"] {
            assert!(matches!(db.get_token(TokenKind::Access, sig).await, Err(StoreError::NotFound)));
        }

        // A write through another Db (another instance): the cached copy may lag, but a failed
        // conditional insert drops it, and the fresh read sees the write.
        let _ = db.get_client_cached("a").await.unwrap();
        let mut rotated = renamed.clone();
        rotated.secret_hash = "$argon2id$rotated".into();
        rotated.revision = 3;
        other.update_client(&rotated).await.unwrap();
        let stale = db.get_client_cached("a").await.unwrap();
        assert!(!db.insert_access_token_if_client(token("t4", "a"), &version(&stale)).await.unwrap());
        assert_eq!(db.get_client_cached("a").await.unwrap(), rotated, "the stale copy was dropped");
        assert_eq!(db.get_client("a").await.unwrap(), rotated);

        // Deleted: nothing is stored for it.
        other.delete_client("a").await.unwrap();
        assert!(!db.insert_access_token_if_client(token("t5", "a"), &version(&rotated)).await.unwrap());
        // refresh_client: whether the copy held was another version of the stored row.
        assert!(!db.refresh_client("never-read").await.unwrap(), "no copy held");
        let b = client("b");
        db.insert_client(&b).await.unwrap();
        let _ = db.get_client_cached("b").await.unwrap();
        assert!(!db.refresh_client("b").await.unwrap(), "the copy is current");
        let mut b2 = b.clone();
        b2.revision = 7;
        other.update_client(&b2).await.unwrap();
        assert!(db.refresh_client("b").await.unwrap(), "changed through another Db");
        assert_eq!(db.get_client_cached("b").await.unwrap().revision, 7, "the copy was replaced");
        assert!(!db.refresh_client("b").await.unwrap());
        other.delete_client("b").await.unwrap();
        assert!(db.refresh_client("b").await.unwrap(), "deleted through another Db");
        assert!(matches!(db.get_client_cached("b").await, Err(StoreError::NotFound)));
        db.close().await;
        other.close().await;
    }
}

on_both_backends! {
    async fn concurrent_conditional_inserts_keep_their_own_outcomes(backend: Backend) {
        // Concurrent conditional inserts (combined into shared statements on PostgreSQL) keep
        // their own outcomes: a stale revision stores nothing, a row that fails on its own (its
        // client does not exist: the foreign key) fails alone, and every stored field reads back.
        let t = TestDb::create(backend).await;
        t.migrate().await;
        let db = t.connect().await;
        let a = client("a");
        db.insert_client(&a).await.unwrap();
        let at = Utc.with_ymd_and_hms(2021, 7, 14, 12, 0, 0).unwrap();
        let tasks = (0..240).map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut tok = token(&format!("t{i:03}"), if i % 24 == 7 { "ghost" } else { "a" });
                tok.requested_scope = vec![format!("s{i}"), "ünï \"quoted\"".into()];
                tok.granted_audience = vec![format!("aud{i}")];
                tok.session_data = format!(r#"{{"n":{i},"s":"a'b"}}"#);
                tok.expires_at = (i % 2 == 0).then(|| at + chrono::Duration::seconds(i));
                tok.active = i % 3 != 0;
                let revision = if i % 5 == 0 { 2 } else { 1 };
                let outcome = db
                    .insert_access_token_if_client(tok.clone(), &ClientVersion { id: "a", revision })
                    .await;
                (i, tok, outcome)
            })
        })
        .collect::<Vec<_>>();
        let mut stored = 0;
        let mut expected = std::collections::HashMap::new();
        for task in tasks {
            let (i, tok, outcome) = task.await.unwrap();
            let kept = matches!(outcome, Ok(true)).then(|| tok.clone());
            expected.insert(tok.signature.clone(), kept);
            let read = db.get_token(TokenKind::Access, &tok.signature).await;
            match (i % 5 == 0, i % 24 == 7) {
                (true, _) => {
                    assert!(!outcome.unwrap(), "{i}: a stale revision stores nothing");
                    assert!(matches!(read, Err(StoreError::NotFound)), "{i}");
                }
                (false, true) => {
                    assert!(outcome.is_err(), "{i}: the foreign key refuses the row");
                    assert!(matches!(read, Err(StoreError::NotFound)), "{i}");
                }
                (false, false) => {
                    assert!(outcome.unwrap(), "{i}: stored");
                    assert_eq!(read.unwrap(), tok, "{i}: every field reads back");
                    stored += 1;
                }
            }
        }
        assert_eq!(stored, 240 - 48 - 8, "stale rows: i % 5 == 0; orphans: i % 24 == 7 and not stale");

        // Concurrent reads (combined on PostgreSQL) each get their own row or not found, with
        // every signature read three times at once and the refresh table (none there) between.
        let expected = std::sync::Arc::new(expected);
        let reads = (0..720).map(|i| {
            let (db, expected) = (db.clone(), expected.clone());
            tokio::spawn(async move {
                let signature = format!("t{:03}", i % 240);
                let kind = if i % 9 == 4 { TokenKind::Refresh } else { TokenKind::Access };
                match (db.get_token(kind, &signature).await, kind, &expected[&signature]) {
                    (Ok(read), TokenKind::Access, Some(tok)) => assert_eq!(&read, tok, "{i}"),
                    (Err(StoreError::NotFound), TokenKind::Refresh, _)
                    | (Err(StoreError::NotFound), TokenKind::Access, None) => {}
                    (read, kind, tok) => panic!("{i} {kind:?}: read {read:?}, stored {tok:?}"),
                }
            })
        });
        for read in reads.collect::<Vec<_>>() {
            read.await.unwrap();
        }
        db.close().await;
    }
}

/// `memory`: a private database per pool, shared by its connections; concurrent writes and
/// reads all land (the shared cache's table locks wait, they do not fail).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_databases_are_private_and_take_concurrent_writes() {
    use portcullis::config::Dsn;
    let dsn = Dsn::parse("memory").unwrap();
    let (a, b) = (
        portcullis::store::Db::connect(&dsn).await.unwrap(),
        portcullis::store::Db::connect(&dsn).await.unwrap(),
    );
    for db in [&a, &b] {
        db.migrate().await.unwrap();
    }
    let writes = (0..40)
        .map(|i| {
            let a = a.clone();
            tokio::spawn(async move {
                let c = client(&format!("c{i:02}"));
                a.insert_client(&c).await.unwrap();
                a.insert_access_token_if_client(
                    token(&format!("t{i}"), &c.data.client_id),
                    &version(&c),
                )
                .await
                .unwrap()
            })
        })
        .collect::<Vec<_>>();
    for w in writes {
        assert!(w.await.unwrap(), "every token was stored");
    }
    assert_eq!(a.list_clients(100, 0).await.unwrap().1, 40);
    assert_eq!(
        b.list_clients(100, 0).await.unwrap().1,
        0,
        "another memory pool sees nothing"
    );
}
