//! The `ClientStore` contract, run on both backends (Hydra's manager_test_helpers idea).

use crate::harness::TestDb;
use crate::on_both_backends;
use chrono::{TimeZone, Utc};
use portcullis::client::{Client, ClientStore, OAuth2Client};
use portcullis::error::StoreError;
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
