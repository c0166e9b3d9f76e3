//! `portcullis keys ...`: the real binary against a running server's admin API: generating,
//! reading and deleting key sets, and importing PEM and JWK files.

use crate::harness::output::{assert_one_error_line, stderr};
use crate::harness::TestServer;
use crate::on_both_backends;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// `portcullis keys <args> --endpoint <admin>`, none of the admin variables inherited, off
/// the async worker threads (the server runs on them).
async fn keys(t: &TestServer, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    cmd.arg("keys")
        .args(args)
        .args(["--endpoint", &t.admin])
        .stdin(Stdio::null());
    for key in [
        "PORTCULLIS_ADMIN_URL",
        "HYDRA_ADMIN_URL",
        "OAUTH2_ACCESS_TOKEN",
    ] {
        cmd.env_remove(key);
    }
    tokio::task::spawn_blocking(move || cmd.output().expect("run portcullis"))
        .await
        .unwrap()
}

#[track_caller]
fn assert_ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", stderr(out));
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The printed JSON documents (one per imported file; one for create and get).
#[track_caller]
fn printed_json(out: &Output) -> Vec<Value> {
    let text = assert_ok(out);
    serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn by_kid(set: &Value) -> Vec<(String, Value)> {
    let mut keys: Vec<(String, Value)> = set["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("not a set: {set}"))
        .iter()
        .map(|k| (k["kid"].as_str().unwrap().to_string(), k.clone()))
        .collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    keys
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The one key of `GET /keys/<set>/<kid>`.
async fn stored_key(t: &TestServer, set: &str, kid: &str) -> Value {
    let (status, body) = t.admin_get(&format!("/keys/{set}/{kid}")).await;
    assert_eq!(status, 200, "{set}/{kid}: {body}");
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{body}");
    keys[0].clone()
}

on_both_backends! {
    async fn keys_create_prints_the_generated_set_and_get_prints_it_again(backend: Backend) {
        let t = TestServer::start(backend).await;

        let created = printed_json(&keys(&t, &["create", "cli-rsa", "--kid", "k1"]).await);
        assert_eq!(created.len(), 1);
        let pair = by_kid(&created[0]);
        let kids: Vec<&str> = pair.iter().map(|(kid, _)| kid.as_str()).collect();
        assert_eq!(kids, ["private:k1", "public:k1"]);
        for (kid, k) in &pair {
            assert_eq!((k["kty"].as_str(), k["alg"].as_str(), k["use"].as_str()), (Some("RSA"), Some("RS256"), Some("sig")), "{kid}");
            assert_eq!(k["n"].as_str().unwrap().len(), 342, "2048-bit modulus");
            assert_eq!(k.get("d").is_some(), kid.starts_with("private:"), "{k}");
        }

        // Hydra's positional kid, -a and -u.
        let created = printed_json(&keys(&t, &["create", "cli-ec", "e1", "-a", "ES256", "-u", "enc"]).await);
        let pair = by_kid(&created[0]);
        assert_eq!(pair.iter().map(|(kid, _)| kid.as_str()).collect::<Vec<_>>(), ["private:e1", "public:e1"]);
        for (_, k) in &pair {
            assert_eq!((k["kty"].as_str(), k["crv"].as_str(), k["alg"].as_str(), k["use"].as_str()), (Some("EC"), Some("P-256"), Some("ES256"), Some("enc")));
            for member in ["x", "y"] {
                assert_eq!(URL_SAFE_NO_PAD.decode(k[member].as_str().unwrap()).unwrap().len(), 32, "{member}");
            }
        }
        // Without a kid the server picks a UUID.
        let created = printed_json(&keys(&t, &["create", "cli-ec", "-a", "ES256"]).await);
        let (kid, _) = &by_kid(&created[0])[0];
        assert_eq!(kid.strip_prefix("private:").map(str::len), Some(36), "{kid}");

        // get prints the whole set, private members included, as pretty JSON.
        let out = keys(&t, &["get", "cli-rsa"]).await;
        assert!(assert_ok(&out).starts_with("{\n  \"keys\": ["), "{}", assert_ok(&out));
        let got = printed_json(&out);
        let (_, body) = t.admin_get("/keys/cli-rsa").await;
        assert_eq!(by_kid(&got[0]), by_kid(&body));
        assert_eq!(by_kid(&got[0])[0].1["kid"], "private:k1");
        assert!(by_kid(&got[0])[0].1.get("qi").is_some());

        // Errors: the server's 400 and 404 as one line; bad usage from clap.
        let err = assert_one_error_line(&keys(&t, &["create", "cli-bad", "-a", "RS1"]).await);
        assert!(err.starts_with("error: 400 invalid_request: ") && err.contains("RS1"), "{err}");
        let err = assert_one_error_line(&keys(&t, &["get", "no-such-set"]).await);
        assert!(err.starts_with("error: 404 "), "{err}");
        let out = keys(&t, &["create", "cli-bad", "pos", "--kid", "flag"]).await;
        assert!(!out.status.success());
        assert_eq!(t.admin_get("/keys/cli-bad").await.0, 404);
        t.stop().await;
    }

    async fn keys_delete_removes_the_whole_set(backend: Backend) {
        let t = TestServer::start(backend).await;
        printed_json(&keys(&t, &["create", "doomed", "-a", "HS256", "--kid", "h1"]).await);
        printed_json(&keys(&t, &["create", "doomed", "-a", "ES256", "--kid", "e1"]).await);
        assert_eq!(t.admin_get("/keys/doomed").await.0, 200);
        let out = keys(&t, &["delete", "doomed"]).await;
        assert_eq!(assert_ok(&out), "JSON Web Key Set doomed deleted.\n");
        assert_eq!(t.admin_get("/keys/doomed").await.0, 404);
        assert_eq!(t.admin_get("/keys/doomed/h1").await.0, 404);
        // As Hydra, deleting a set that does not exist succeeds.
        assert_ok(&keys(&t, &["delete", "doomed"]).await);
        t.stop().await;
    }

    async fn keys_import_reads_pem_and_jwk_files(backend: Backend) {
        let t = TestServer::start(backend).await;
        let dir = tempfile::tempdir().unwrap();

        // An RSA private key in PKCS#1 PEM (`openssl genrsa`'s traditional form), with --kid.
        let rsa = Rsa::generate(2048).unwrap();
        let rsa_file = dir.path().join("rsa.pem");
        std::fs::write(&rsa_file, rsa.private_key_to_pem().unwrap()).unwrap();
        let printed = printed_json(&keys(&t, &["import", "imported", path(&rsa_file), "--kid", "rsa-1"]).await);
        assert_eq!(printed.len(), 1);
        let stored = stored_key(&t, "imported", "rsa-1").await;
        assert_eq!(printed[0], stored, "the stored key is printed");
        let expect = [
            ("n", rsa.n()), ("e", rsa.e()), ("d", rsa.d()), ("p", rsa.p().unwrap()), ("q", rsa.q().unwrap()),
            ("dp", rsa.dmp1().unwrap()), ("dq", rsa.dmq1().unwrap()), ("qi", rsa.iqmp().unwrap()),
        ];
        for (member, value) in expect {
            assert_eq!(stored[member], b64(&value.to_vec()), "{member}");
        }
        assert_eq!((stored["kty"].as_str(), stored["use"].as_str()), (Some("RSA"), Some("sig")));

        // An EC public key (SubjectPublicKeyInfo PEM) and a JWK file, in one command: the
        // PEM key gets a UUID, the JWK keeps its kid; each is printed in file order.
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let ec = EcKey::generate(&group).unwrap();
        let ec_file = dir.path().join("ec.pub");
        std::fs::write(&ec_file, PKey::from_ec_key(ec.clone()).unwrap().public_key_to_pem().unwrap()).unwrap();
        let jwk_file = dir.path().join("hmac.json");
        let secret = b64(&[7u8; 32]);
        std::fs::write(&jwk_file, json!({"kty": "oct", "kid": "json-key", "alg": "HS256", "k": secret}).to_string()).unwrap();
        let printed = printed_json(&keys(&t, &["import", "imported", path(&ec_file), path(&jwk_file), "--use", "enc"]).await);
        assert_eq!(printed.len(), 2);
        let ec_kid = printed[0]["kid"].as_str().unwrap().to_string();
        assert_eq!(ec_kid.len(), 36, "a UUID: {ec_kid}");
        let stored = stored_key(&t, "imported", &ec_kid).await;
        let (mut x, mut y) = (BigNum::new().unwrap(), BigNum::new().unwrap());
        ec.public_key().affine_coordinates(&group, &mut x, &mut y, &mut BigNumContext::new().unwrap()).unwrap();
        assert_eq!(stored, json!({
            "kty": "EC", "kid": ec_kid, "use": "enc", "crv": "P-256",
            "x": b64(&x.to_vec_padded(32).unwrap()), "y": b64(&y.to_vec_padded(32).unwrap()),
        }));
        let stored = stored_key(&t, "imported", "json-key").await;
        assert_eq!(stored, json!({"kty": "oct", "kid": "json-key", "use": "enc", "alg": "HS256", "k": secret}));
        assert_eq!(printed[1], stored);
        assert_eq!(t.admin_get("/keys/imported").await.1["keys"].as_array().unwrap().len(), 3);

        // Errors stop the import before anything is sent.
        let text_file = dir.path().join("notes.txt");
        std::fs::write(&text_file, "hello, not a key\n").unwrap();
        let err = assert_one_error_line(&keys(&t, &["import", "other", path(&rsa_file), path(&text_file)]).await);
        assert!(err.contains("notes.txt") && err.contains("neither a JSON Web Key") && err.contains("nor a PEM key"), "{err}");
        let err = assert_one_error_line(&keys(&t, &["import", "other", path(&rsa_file), path(&ec_file), "--kid", "same"]).await);
        assert!(err.contains("\"same\""), "{err}");
        let set_file = dir.path().join("set.json");
        std::fs::write(&set_file, json!({"keys": []}).to_string()).unwrap();
        let err = assert_one_error_line(&keys(&t, &["import", "other", path(&set_file)]).await);
        assert!(err.contains("JSON Web Key Set"), "{err}");
        let bad_jwk = dir.path().join("bad.json");
        std::fs::write(&bad_jwk, json!({"kty": "oct", "k": b64(b"short")}).to_string()).unwrap();
        let err = assert_one_error_line(&keys(&t, &["import", "other", path(&bad_jwk)]).await);
        assert!(err.contains("bad.json") && err.contains("16 to 512 bytes"), "{err}");
        let err = assert_one_error_line(&keys(&t, &["import", "other", path(&dir.path().join("missing.pem"))]).await);
        assert!(err.contains("cannot read"), "{err}");
        assert_eq!(t.admin_get("/keys/other").await.0, 404, "nothing was stored");
        t.stop().await;
    }
}
