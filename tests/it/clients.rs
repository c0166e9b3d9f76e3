//! `/clients`: every endpoint, status, header and validation rule of hydra-reference §2.3 and
//! §3.1, the PATCH fix, pagination, hostile input (security-cases group I).

use crate::harness::{Resp, TestServer};
use crate::on_both_backends;
use portcullis::client::ClientStore;
use reqwest::Method;
use serde_json::{json, Value};

async fn post(t: &TestServer, body: Value) -> Resp {
    t.admin_call(Method::POST, "/clients", Some(body)).await
}

/// Whether `secret` verifies against the stored hash of client `id`.
async fn secret_works(t: &TestServer, id: &str, secret: &str) -> bool {
    let stored = t.state.db.get_client(id).await.expect("client stored");
    t.state
        .hasher
        .verify(secret.into(), stored.secret_hash)
        .await
}

fn without(mut v: Value, keys: &[&str]) -> Value {
    if let Some(o) = v.as_object_mut() {
        for k in keys {
            o.remove(*k);
        }
    }
    v
}

fn encode(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

on_both_backends! {
    async fn create_answers_201_with_location_and_the_secret_once(backend: Backend) {
        let t = TestServer::start(backend).await;
        let r = post(&t, json!({"client_id": "app", "redirect_uris": ["https://app.example/cb"],
            "grant_types": ["authorization_code", "refresh_token"], "scope": "openid offline"})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.header("location"), "/clients/app");
        let secret = r.body["client_secret"].as_str().unwrap().to_string();
        assert_eq!(secret.len(), 26);
        let created_at = r.body["created_at"].clone();
        assert_eq!(without(r.body.clone(), &["client_secret", "created_at", "updated_at"]), json!({
            "client_id": "app", "client_name": "", "redirect_uris": ["https://app.example/cb"],
            "grant_types": ["authorization_code", "refresh_token"], "response_types": [], "scope": "openid offline",
            "audience": [], "owner": "", "policy_uri": "", "allowed_cors_origins": [], "tos_uri": "", "client_uri": "",
            "logo_uri": "", "contacts": [], "client_secret_expires_at": 0, "subject_type": "public", "jwks": {},
            "token_endpoint_auth_method": "client_secret_basic", "userinfo_signed_response_alg": "none", "metadata": {}
        }));
        assert!(created_at.as_str().unwrap().ends_with('Z'));
        assert!(secret_works(&t, "app", &secret).await);

        let got = t.admin_call(Method::GET, "/clients/app", None).await;
        assert_eq!(got.status, 200);
        assert!(got.body.get("client_secret").is_none(), "GET never shows the secret");
        assert_eq!(got.body, without(r.body, &["client_secret"]));
        let stored = t.state.db.get_client("app").await.unwrap();
        assert!(stored.secret_hash.starts_with("$argon2id$"), "hashed, never in clear");
        assert!(!format!("{stored:?}").contains(&stored.secret_hash), "Debug redacts the hash");
        t.stop().await;
    }

    async fn defaults_and_public_clients(backend: Backend) {
        let t = TestServer::start(backend).await;
        let r = post(&t, json!({})).await;
        assert_eq!(r.status, 201);
        let id = r.body["client_id"].as_str().unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "generated UUID client_id: {id}");
        assert_eq!(r.body["scope"], "offline_access offline openid");
        assert_eq!(r.body["subject_type"], "public");
        assert_eq!(r.body["token_endpoint_auth_method"], "client_secret_basic");

        let public = post(&t, json!({"client_id": "spa", "token_endpoint_auth_method": "none"})).await;
        assert_eq!(public.status, 201);
        assert!(public.body.get("client_secret").is_none(), "public clients get no secret");

        let given = post(&t, json!({"client_id": "given", "client_secret": "my-own-secret"})).await;
        assert_eq!(given.body["client_secret"], "my-own-secret");
        assert!(secret_works(&t, "given", "my-own-secret").await);
        t.stop().await;
    }

    async fn every_field_round_trips(backend: Backend) {
        let t = TestServer::start(backend).await;
        let full = json!({
            "client_id": "full", "client_name": "Full App", "client_secret": "s3cret-s3cret",
            "redirect_uris": ["https://app.example/cb", "http://127.0.0.1:5555/cb"],
            "grant_types": ["authorization_code", "refresh_token", "client_credentials", "implicit"],
            "response_types": ["code", "id_token", "code id_token"], "scope": "openid offline email",
            "audience": ["https://api.example"], "owner": "team-a", "policy_uri": "https://app.example/policy",
            "allowed_cors_origins": ["https://app.example"], "tos_uri": "https://app.example/tos",
            "client_uri": "https://app.example", "logo_uri": "https://app.example/logo.png",
            "contacts": ["admin@app.example"], "client_secret_expires_at": 0, "subject_type": "public",
            "jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "kid": "k1", "use": "sig", "alg": "ES256"}]},
            "token_endpoint_auth_method": "private_key_jwt", "token_endpoint_auth_signing_alg": "ES256",
            "request_uris": ["https://app.example/request"], "request_object_signing_alg": "ES256",
            "userinfo_signed_response_alg": "RS256",
            "frontchannel_logout_uri": "https://app.example/fc", "frontchannel_logout_session_required": true,
            "post_logout_redirect_uris": ["https://app.example/bye"],
            "backchannel_logout_uri": "https://app.example/bc", "backchannel_logout_session_required": true,
            "metadata": {"tier": "gold", "n": 1}
        });
        let r = post(&t, full.clone()).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let got = t.admin_call(Method::GET, "/clients/full", None).await;
        assert_eq!(without(got.body, &["created_at", "updated_at"]), without(full, &["client_secret"]));
        t.stop().await;
    }

    async fn duplicates_conflict_and_leave_the_first_alone(backend: Backend) {
        let t = TestServer::start(backend).await;
        let first = post(&t, json!({"client_id": "dup", "client_name": "first"})).await;
        let secret = first.body["client_secret"].as_str().unwrap().to_string();
        let second = post(&t, json!({"client_id": "dup", "client_name": "second", "client_secret": "another-secret"})).await;
        assert_eq!(second.status, 409);
        assert_eq!(second.body["error"], "Unable to insert or update resource because a resource with that value exists already");
        let got = t.admin_call(Method::GET, "/clients/dup", None).await;
        assert_eq!(got.body["client_name"], "first");
        assert!(secret_works(&t, "dup", &secret).await);
        t.stop().await;
    }

    async fn unknown_ids_are_404(backend: Backend) {
        let t = TestServer::start(backend).await;
        for (method, body) in [(Method::GET, None), (Method::PUT, Some(json!({}))), (Method::PATCH, Some(json!([]))), (Method::DELETE, None)] {
            let r = t.admin_call(method.clone(), "/clients/nope", body).await;
            assert_eq!(r.status, 404, "{method}");
            assert_eq!(r.body, json!({"error": "Unable to locate the resource", "error_description": ""}), "{method}");
        }
        t.stop().await;
    }

    async fn put_replaces_everything_but_keeps_the_secret_unless_given(backend: Backend) {
        let t = TestServer::start(backend).await;
        let created = post(&t, json!({"client_id": "app", "client_name": "v1", "owner": "o", "redirect_uris": ["https://a.example/cb"]})).await;
        let secret = created.body["client_secret"].as_str().unwrap().to_string();
        let r = t.admin_call(Method::PUT, "/clients/app", Some(json!({"client_id": "ignored", "client_name": "v2"}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["client_id"], "app", "the path wins");
        assert_eq!(r.body["client_name"], "v2");
        assert_eq!(r.body["owner"], "", "full replacement");
        assert_eq!(r.body["redirect_uris"], json!([]));
        assert!(r.body.get("client_secret").is_none());
        assert_eq!(r.body["created_at"], created.body["created_at"], "created_at survives");
        assert!(secret_works(&t, "app", &secret).await, "no secret in the body keeps the old one");

        let r = t.admin_call(Method::PUT, "/clients/app", Some(json!({"client_secret": "brand-new-secret"}))).await;
        assert_eq!(r.body["client_secret"], "brand-new-secret", "a new secret is echoed once");
        assert!(secret_works(&t, "app", "brand-new-secret").await);
        assert!(!secret_works(&t, "app", &secret).await);
        assert!(t.admin_call(Method::GET, "/clients/ignored", None).await.status == 404);
        t.stop().await;
    }

    async fn patch_keeps_the_secret_and_protects_the_id(backend: Backend) {
        let t = TestServer::start(backend).await;
        let created = post(&t, json!({"client_id": "app", "redirect_uris": ["https://a.example/cb"]})).await;
        let secret = created.body["client_secret"].as_str().unwrap().to_string();
        let patch = |ops: Value| t.admin_call(Method::PATCH, "/clients/app", Some(ops));

        let r = patch(json!([{"op": "replace", "path": "/client_name", "value": "Patched"}, {"op": "add", "path": "/redirect_uris/-", "value": "https://a.example/cb2"}])).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["client_name"], "Patched");
        assert_eq!(r.body["redirect_uris"], json!(["https://a.example/cb", "https://a.example/cb2"]));
        assert!(r.body.get("client_secret").is_none(), "PATCH never shows the stored secret");
        assert!(secret_works(&t, "app", &secret).await, "Hydra 1.11 fix: the secret stays valid");

        for ops in [
            json!([{"op": "replace", "path": "/client_id", "value": "other"}]),
            json!([{"op": "replace", "path": "/id", "value": "other"}]),
            json!([{"op": "remove", "path": "/client_id"}]),
            json!([{"op": "move", "from": "/client_name", "path": "/client_id"}]),
        ] {
            let r = patch(ops.clone()).await;
            assert_eq!(r.status, 400, "{ops}");
            assert_eq!(r.body["error"], "invalid_request");
        }
        let r = patch(json!([{"op": "test", "path": "/client_name", "value": "wrong"}])).await;
        assert_eq!(r.status, 400, "a failing test op");
        let r = patch(json!([{"op": "add", "path": "/redirect_uris/-", "value": "https://a.example/cb#frag"}])).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.body["error"], "invalid_redirect_uri");
        let r = patch(json!({"not": "an array"})).await;
        assert_eq!(r.status, 400);

        let r = patch(json!([{"op": "add", "path": "/client_secret", "value": "patched-secret"}])).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["client_secret"], "patched-secret");
        assert!(secret_works(&t, "app", "patched-secret").await);
        let got = t.admin_call(Method::GET, "/clients/app", None).await;
        assert_eq!(got.body["client_name"], "Patched", "failed patches changed nothing");
        assert_eq!(got.body["redirect_uris"].as_array().unwrap().len(), 2);
        t.stop().await;
    }

    async fn invalid_metadata_is_refused_and_nothing_stored(backend: Backend) {
        let t = TestServer::start(backend).await;
        let jwks = json!({"keys": [{"kty": "oct", "k": "AAAA", "kid": "x"}]});
        let cases = [
            (json!({"client_secret": "short"}), "invalid_client_metadata"),
            (json!({"token_endpoint_auth_method": "private_key_jwt"}), "invalid_client_metadata"),
            (json!({"jwks": jwks, "jwks_uri": "https://app.example/jwks"}), "invalid_client_metadata"),
            (json!({"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://app.example/jwks", "token_endpoint_auth_signing_alg": "HS256"}), "invalid_client_metadata"),
            (json!({"token_endpoint_auth_method": "client_secret_jwt"}), "invalid_client_metadata"),
            (json!({"userinfo_signed_response_alg": "HS256"}), "invalid_client_metadata"),
            (json!({"subject_type": "pairwise"}), "invalid_client_metadata"),
            (json!({"allowed_cors_origins": ["https://a.example/path"]}), "invalid_client_metadata"),
            (json!({"allowed_cors_origins": ["https://user@a.example"]}), "invalid_client_metadata"),
            (json!({"allowed_cors_origins": ["ftp://a.example"]}), "invalid_client_metadata"),
            (json!({"redirect_uris": ["https://a.example/cb"], "post_logout_redirect_uris": ["https://b.example/bye"]}), "invalid_client_metadata"),
            (json!({"sector_identifier_uri": "http://sector.example/ids.json"}), "invalid_client_metadata"),
            (json!({"grant_types": ["password"]}), "invalid_client_metadata"),
            (json!({"response_types": ["code banana"]}), "invalid_client_metadata"),
            (json!({"metadata": [1, 2]}), "invalid_client_metadata"),
            (json!({"redirect_uris": ["https://a.example/cb#x"]}), "invalid_redirect_uri"),
            (json!({"redirect_uris": ["/relative"]}), "invalid_redirect_uri"),
            (json!({"redirect_uris": ["javascript:alert(1)"]}), "invalid_redirect_uri"),
            (json!({"redirect_uris": ["data:text/html,x"]}), "invalid_redirect_uri"),
            (json!({"redirect_uris": ["vbscript:x"]}), "invalid_redirect_uri"),
            (json!({"redirect_uris": ["file:///etc/passwd"]}), "invalid_redirect_uri"),
            (json!({"client_id": "a\u{0}b"}), "invalid_client_metadata"),
            (json!({"client_id": "x".repeat(256)}), "invalid_client_metadata"),
            (json!({"redirect_uris": "not-a-list"}), "invalid_request"),
        ];
        for (body, error) in cases {
            let r = post(&t, body.clone()).await;
            assert_eq!(r.status, 400, "{body}: {}", r.body);
            assert_eq!(r.body["error"], error, "{body}: {}", r.body);
            assert_eq!(r.body.as_object().unwrap().len(), 2, "two-field error body");
        }
        let list = t.admin_call(Method::GET, "/clients", None).await;
        assert_eq!(list.body, json!([]), "nothing was stored");
        t.stop().await;
    }

    async fn pagination_is_hydras(backend: Backend) {
        let t = TestServer::start(backend).await;
        for id in ["e", "b", "d", "a", "c"] {
            assert_eq!(post(&t, json!({"client_id": id})).await.status, 201);
        }
        let ids = |r: &Resp| r.body.as_array().unwrap().iter().map(|c| c["client_id"].as_str().unwrap().to_string()).collect::<Vec<_>>();
        let all = t.admin_call(Method::GET, "/clients", None).await;
        assert_eq!(ids(&all), ["a", "b", "c", "d", "e"], "sorted by client_id");
        assert_eq!(all.header("x-total-count"), "5");
        assert_eq!(all.header("link"), r#"</clients?limit=100&offset=0>; rel="first""#);
        assert!(all.body.as_array().unwrap().iter().all(|c| c.get("client_secret").is_none()));

        let page = t.admin_call(Method::GET, "/clients?limit=2", None).await;
        assert_eq!(ids(&page), ["a", "b"]);
        assert_eq!(page.header("link"), r#"</clients?limit=2&offset=2>; rel="next",</clients?limit=2&offset=4>; rel="last""#);
        let middle = t.admin_call(Method::GET, "/clients?limit=2&offset=2", None).await;
        assert_eq!(ids(&middle), ["c", "d"]);
        assert_eq!(middle.header("link").matches("rel=").count(), 4);
        let last = t.admin_call(Method::GET, "/clients?limit=2&offset=4", None).await;
        assert_eq!(ids(&last), ["e"]);
        let past = t.admin_call(Method::GET, "/clients?limit=2&offset=40", None).await;
        assert_eq!((past.status, past.body.clone()), (200, json!([])));
        assert_eq!(past.header("x-total-count"), "5");
        for query in ["limit=0", "limit=-1&offset=-10"] {
            let r = t.admin_call(Method::GET, &format!("/clients?{query}"), None).await;
            assert_eq!((r.status, r.body.clone()), (200, json!([])), "{query}");
        }
        for query in ["limit=abc", "limit=100000", "offset=1e309", "offset=1;DROP%20TABLE%20x", "limit=2&offset=3"] {
            let r = t.admin_call(Method::GET, &format!("/clients?{query}"), None).await;
            assert_eq!(r.status, 200, "{query}");
            assert!(!r.body.as_array().unwrap().is_empty(), "{query}");
        }
        let rounded = t.admin_call(Method::GET, "/clients?limit=2&offset=3", None).await;
        assert_eq!(ids(&rounded), ["c", "d"], "Hydra rounds the offset down to a page");
        t.stop().await;
    }

    async fn hostile_ids_are_stored_exactly(backend: Backend) {
        let t = TestServer::start(backend).await;
        for id in ["x' OR '1'='1", "1; DROP TABLE hydra_client;--", "клиент-😀", "a/b", "with space", "%2F"] {
            let r = post(&t, json!({"client_id": id})).await;
            assert_eq!(r.status, 201, "{id}: {}", r.body);
            let got = t.admin_call(Method::GET, &format!("/clients/{}", encode(id)), None).await;
            assert_eq!(got.status, 200, "{id}");
            assert_eq!(got.body["client_id"], id, "byte for byte");
        }
        let r = t.admin_call(Method::DELETE, &format!("/clients/{}", encode("x' OR '1'='1")), None).await;
        assert_eq!(r.status, 204);
        let list = t.admin_call(Method::GET, "/clients", None).await;
        assert_eq!(list.header("x-total-count"), "5", "the delete touched one row");
        let r = t.admin_call(Method::GET, &format!("/clients/{}", encode("' OR 1=1 --")), None).await;
        assert_eq!(r.status, 404);
        t.stop().await;
    }

    async fn malformed_and_huge_bodies_are_refused(backend: Backend) {
        let t = TestServer::start(backend).await;
        for (method, path) in [(Method::POST, "/clients"), (Method::PUT, "/clients/x"), (Method::PATCH, "/clients/x")] {
            let r = Resp::read(t.http.request(method.clone(), t.admin_url(path)).body("{bad").send().await.unwrap()).await;
            assert_eq!(r.status, 400, "{method} {path}");
            assert_eq!(r.body["error"], "invalid_request");
        }
        let huge = json!({"client_id": "big", "metadata": {"blob": "x".repeat(2 * 1024 * 1024)}});
        let r = post(&t, huge).await;
        assert_eq!(r.status, 413);
        assert_eq!(r.body["error"], "invalid_request");
        let many = json!({"redirect_uris": (0..10_000).map(|i| format!("https://a.example/{i}")).collect::<Vec<_>>()});
        let r = post(&t, many).await;
        assert!(r.status == 413 || r.status == 201, "bounded: {}", r.status);
        assert_eq!(t.admin_call(Method::GET, "/clients/big", None).await.status, 404);
        t.stop().await;
    }

    async fn client_routes_are_not_on_the_public_port(backend: Backend) {
        let t = TestServer::start(backend).await;
        for path in ["/clients", "/clients/x"] {
            assert_eq!(t.public_get(path).await.0, 404, "{path}");
        }
        t.stop().await;
    }

    async fn sector_identifier_documents_are_fetched_and_checked(backend: Backend) {
        let t = TestServer::start(backend).await;
        let doc = serve_once_json(json!(["https://app.example/cb", "https://app.example/other"])).await;
        let r = post(&t, json!({"redirect_uris": ["https://app.example/cb"], "sector_identifier_uri": doc})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["sector_identifier_uri"], doc);
        let doc = serve_once_json(json!(["https://app.example/other"])).await;
        let r = post(&t, json!({"redirect_uris": ["https://app.example/cb"], "sector_identifier_uri": doc})).await;
        assert_eq!(r.status, 400);
        assert!(r.body["error_description"].as_str().unwrap().contains("https://app.example/cb"));
        let doc = serve_once_json(json!({"not": "an array"})).await;
        let r = post(&t, json!({"redirect_uris": ["https://app.example/cb"], "sector_identifier_uri": doc})).await;
        assert_eq!(r.status, 400);
        let r = post(&t, json!({"redirect_uris": ["https://app.example/cb"], "sector_identifier_uri": "http://127.0.0.1:1/nothing"})).await;
        assert_eq!(r.status, 400, "unreachable document");
        t.stop().await;
    }

    async fn hydra_bcrypt_hashes_keep_working(backend: Backend) {
        let t = TestServer::start(backend).await;
        post(&t, json!({"client_id": "imported"})).await;
        let mut stored = t.state.db.get_client("imported").await.unwrap();
        // As Hydra 1.10.3 wrote it: bcrypt with the "$2a$" prefix.
        stored.secret_hash = bcrypt::hash("secret-from-hydra", 4).unwrap().replacen("$2b$", "$2a$", 1);
        t.state.db.update_client(&stored).await.unwrap();
        assert!(secret_works(&t, "imported", "secret-from-hydra").await);
        assert!(!secret_works(&t, "imported", "wrong").await);
        // A PUT without a secret keeps the imported hash.
        let r = t.admin_call(Method::PUT, "/clients/imported", Some(json!({"client_name": "renamed"}))).await;
        assert_eq!(r.status, 200);
        assert!(secret_works(&t, "imported", "secret-from-hydra").await);
        t.stop().await;
    }
}

/// Serves `doc` as JSON on a loopback port (for any number of requests) and returns its URL.
async fn serve_once_json(doc: Value) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let body = doc.to_string();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf).await;
                let response = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
                let _ = conn.write_all(response.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}/sector.json")
}
