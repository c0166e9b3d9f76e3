//! `private_key_jwt` client authentication (RFC 7523) at the token and revocation endpoints, on
//! both backends (security-cases #44-#46): RS256 and ES256 assertions from `jwks` and from a
//! `jwks_uri` served on loopback, jti replay, bad claims, bad signatures and algorithms, and
//! method mismatches.

use crate::harness::{Resp, TestServer};
use crate::on_both_backends;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use portcullis::error::StoreError;
use portcullis::jwk::jws::SigningKey;
use portcullis::jwk::key::generate;
use portcullis::jwk::JsonWebKey;
use portcullis::oauth2::client_assertion::JtiStore;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Key pairs (`[private, public]`) by name, generated once: RSA is slow in debug builds.
fn pair(name: &str) -> &'static [JsonWebKey] {
    static PAIRS: OnceLock<Vec<(&'static str, Vec<JsonWebKey>)>> = OnceLock::new();
    let all = PAIRS.get_or_init(|| {
        [
            ("rsa", "RS256", "rsa"),
            ("ec", "ES256", "ec"),
            ("impostor", "RS256", "rsa"),
            ("rotated", "RS256", "rotated"),
        ]
        .map(|(name, alg, kid)| (name, generate(alg, kid, "sig", 2048).unwrap()))
        .to_vec()
    });
    &all.iter().find(|(n, _)| *n == name).unwrap().1
}

fn public(name: &str) -> Value {
    serde_json::to_value(&pair(name)[1]).unwrap()
}

fn signer(name: &str) -> SigningKey {
    SigningKey::from_jwk(&pair(name)[0]).unwrap()
}

fn token_url(t: &TestServer) -> String {
    format!("{}oauth2/token", t.state.config.urls.public)
}

fn revoke_url(t: &TestServer) -> String {
    format!("{}oauth2/revoke", t.state.config.urls.public)
}

/// Claims RFC 7523 §3 asks for, valid for five minutes, with a fresh jti.
fn claims(t: &TestServer, id: &str) -> Value {
    let now = t.state.clock.now().timestamp();
    json!({"iss": id, "sub": id, "aud": token_url(t), "jti": portcullis::crypto::random::uuid(),
           "iat": now, "exp": now + 300})
}

fn sign(key: &str, claims: &Value) -> String {
    signer(key).sign(claims).unwrap()
}

/// A JWT with any header, signed by `sign_input` over the signing input.
fn forge(header: Value, claims: &Value, sign_input: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    let input = format!("{}.{}", part(&header), part(claims));
    let signature = sign_input(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Registers a `private_key_jwt` client with `extra` merged into its body.
async fn client(t: &TestServer, id: &str, extra: Value) {
    let mut body = json!({"client_id": id, "grant_types": ["client_credentials"],
                          "token_endpoint_auth_method": "private_key_jwt"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = t.admin_call(Method::POST, "/clients", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

async fn post(t: &TestServer, path: &str, form: &[(&str, &str)]) -> Resp {
    Resp::read(
        t.http
            .post(t.public_url(path))
            .form(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// A client_credentials request authenticated by `assertion` (and `client_id` when given).
async fn token(t: &TestServer, assertion: &str, client_id: Option<&str>) -> Resp {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ];
    form.extend(client_id.map(|id| ("client_id", id)));
    post(t, "/oauth2/token", &form).await
}

#[track_caller]
fn assert_error(r: &Resp, status: u16, error: &str, needle: &str) {
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (status, Some(error)),
        "{}",
        r.body
    );
    let description = r.body["error_description"].as_str().unwrap_or_default();
    assert!(
        description.contains(needle),
        "{needle:?} not in {description:?}"
    );
}

on_both_backends! {
    async fn rs256_and_es256_assertions_authenticate_once_per_jti(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "rsa-svc", json!({"jwks": {"keys": [public("rsa")]}})).await;
        client(&t, "ec-svc", json!({"jwks": {"keys": [public("ec")]}, "token_endpoint_auth_signing_alg": "ES256"})).await;

        let assertion = sign("rsa", &claims(&t, "rsa-svc"));
        let r = token(&t, &assertion, Some("rsa-svc")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.header("cache-control"), "no-store");
        let access = r.body["access_token"].as_str().unwrap();
        let r = Resp::read(t.http.post(t.admin_url("/oauth2/introspect")).form(&[("token", access)]).send().await.unwrap()).await;
        assert_eq!((r.body["active"].as_bool(), r.body["client_id"].as_str()), (Some(true), Some("rsa-svc")));
        // RFC 7523 §3 item 7: the same jti is refused while its assertion is alive.
        let r = token(&t, &assertion, Some("rsa-svc")).await;
        assert_error(&r, 400, "jti_known", "The jti was already used.");
        assert!(r.body.get("access_token").is_none());

        // ES256, and the client found by the assertion's sub (no client_id in the form).
        let r = token(&t, &sign("ec", &claims(&t, "ec-svc")), None).await;
        assert_eq!(r.status, 200, "{}", r.body);

        // Concurrent presentations of one assertion: exactly one wins.
        let assertion = sign("rsa", &claims(&t, "rsa-svc"));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (http, url, assertion) = (t.http.clone(), token_url(&t), assertion.clone());
                tokio::spawn(async move {
                    let form = [("grant_type", "client_credentials"), ("client_assertion_type", JWT_BEARER), ("client_assertion", assertion.as_str())];
                    Resp::read(http.post(url).form(&form).send().await.unwrap()).await
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for task in tasks {
            let r = task.await.unwrap();
            assert!(r.status == 200 || r.body["error"] == "jti_known", "{}", r.body);
            statuses.push(r.status);
        }
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");

        // The spent jti lives in the database: a restarted server still refuses the replay.
        let replay = sign("rsa", &claims(&t, "rsa-svc"));
        assert_eq!(token(&t, &replay, None).await.status, 200);
        let public_url = t.state.config.urls.public.clone();
        let db = t.stop_keeping_db().await;
        let dsn = db.dsn();
        let t = TestServer::start_on(db, dsn, |c| c.urls.public = public_url).await;
        assert_error(&token(&t, &replay, None).await, 400, "jti_known", "only be used once");

        // A jti is free again once every assertion carrying it has expired (the row is purged).
        let mut first = claims(&t, "rsa-svc");
        first["jti"] = json!("reusable");
        first["exp"] = json!(t.state.clock.now().timestamp() + 60);
        assert_eq!(token(&t, &sign("rsa", &first), None).await.status, 200);
        t.state.clock.advance(chrono::Duration::seconds(61));
        let mut again = claims(&t, "rsa-svc");
        again["jti"] = json!("reusable");
        let r = token(&t, &sign("rsa", &again), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        t.stop().await;
    }

    async fn bad_claims_are_invalid_client(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "svc", json!({"jwks": {"keys": [public("rsa")]}})).await;
        let now = t.state.clock.now().timestamp();
        let issuer = t.state.config.urls.issuer.to_string();
        let revoke = revoke_url(&t);
        type Change = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(&str, Change, &str)> = vec![
            ("expired", Box::new(move |c| c["exp"] = json!(now - 1)), "expired"),
            ("expires now", Box::new(move |c| c["exp"] = json!(now)), "expired"),
            ("no exp", Box::new(|c| { c.as_object_mut().unwrap().remove("exp"); }), "'exp'"),
            ("exp not a number", Box::new(move |c| c["exp"] = json!((now + 60).to_string())), "'exp'"),
            ("lives over an hour", Box::new(move |c| c["exp"] = json!(now + 3600 + 61)), "3600 seconds"),
            ("nbf in the future", Box::new(move |c| c["nbf"] = json!(now + 120)), "'nbf'"),
            ("iat in the future", Box::new(move |c| c["iat"] = json!(now + 120)), "'iat'"),
            ("no jti", Box::new(|c| { c.as_object_mut().unwrap().remove("jti"); }), "'jti'"),
            ("empty jti", Box::new(|c| c["jti"] = json!("")), "'jti'"),
            ("no aud", Box::new(|c| { c.as_object_mut().unwrap().remove("aud"); }), "'aud'"),
            ("aud is the issuer", Box::new(move |c| c["aud"] = json!(issuer)), "'aud'"),
            ("aud is the revocation URL", Box::new(move |c| c["aud"] = json!(revoke)), "'aud'"),
            ("aud list without us", Box::new(|c| c["aud"] = json!(["https://other.example/token"])), "'aud'"),
            ("iss is not sub", Box::new(|c| c["iss"] = json!("someone-else")), "'iss'"),
            ("iss missing", Box::new(|c| { c.as_object_mut().unwrap().remove("iss"); }), "'iss'"),
        ];
        for (name, change, needle) in cases {
            let mut c = claims(&t, "svc");
            change(&mut c);
            let r = token(&t, &sign("rsa", &c), Some("svc")).await;
            assert_error(&r, 401, "invalid_client", needle);
            assert!(r.body.get("access_token").is_none(), "{name}");
        }
        // sub names another client than the form's client_id.
        let mut c = claims(&t, "svc");
        c["sub"] = json!("other");
        assert_error(&token(&t, &sign("rsa", &c), Some("svc")).await, 401, "invalid_client", "'sub'");
        // A refused assertion does not spend its jti; aud may be a list; nbf and iat within
        // the allowed skew pass.
        let mut c = claims(&t, "svc");
        c["exp"] = json!(now - 1);
        assert_eq!(token(&t, &sign("rsa", &c), None).await.status, 401);
        c["exp"] = json!(now + 300);
        c["aud"] = json!(["https://other.example/token", token_url(&t)]);
        c["nbf"] = json!(now + 30);
        c["iat"] = json!(now + 30);
        let r = token(&t, &sign("rsa", &c), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        t.stop().await;
    }

    async fn bad_signatures_and_algorithms_are_refused(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "svc", json!({"jwks": {"keys": [public("rsa")]}})).await;
        client(&t, "two-keys", json!({"jwks": {"keys": [public("rsa"), public("ec")]}})).await;
        let c = claims(&t, "svc");
        // Another key under the registered kid: the signature does not verify.
        assert_eq!(signer("impostor").kid(), signer("rsa").kid());
        assert_error(&token(&t, &sign("impostor", &c), None).await, 401, "invalid_client", "signature is invalid");
        // A kid the client does not have: invalid_request, as Hydra (security-cases #45).
        let mut rotated = claims(&t, "svc");
        rotated["jti"] = json!("rotated-1");
        assert_error(&token(&t, &sign("rotated", &rotated), None).await, 400, "invalid_request", "public:rotated");
        // The header alg must be the registered token_endpoint_auth_signing_alg (RS256 by default),
        // even when the client has a key that fits the alg.
        let r = token(&t, &sign("ec", &claims(&t, "two-keys")), None).await;
        assert_error(&r, 401, "invalid_client", "enforces signing algorithm 'RS256'");
        // alg none.
        let kid = signer("rsa").kid().to_string();
        let unsigned = forge(json!({"alg": "none", "kid": kid, "typ": "JWT"}), &claims(&t, "svc"), |_| Vec::new());
        assert_error(&token(&t, &unsigned, None).await, 401, "invalid_client", "'none'");
        let unsigned = forge(json!({"alg": "none", "typ": "JWT"}), &claims(&t, "svc"), |_| Vec::new());
        assert_eq!(token(&t, &unsigned, None).await.status, 401);
        // Algorithm confusion: HS256 keyed with the RSA public key's PEM.
        let jwk = &pair("rsa")[1];
        let n = openssl::bn::BigNum::from_slice(&URL_SAFE_NO_PAD.decode(jwk.n.as_ref().unwrap()).unwrap()).unwrap();
        let e = openssl::bn::BigNum::from_slice(&URL_SAFE_NO_PAD.decode(jwk.e.as_ref().unwrap()).unwrap()).unwrap();
        let pem = openssl::rsa::Rsa::from_public_components(n, e).unwrap().public_key_to_pem().unwrap();
        let confused = forge(json!({"alg": "HS256", "kid": kid, "typ": "JWT"}), &claims(&t, "svc"), |input| {
            let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&pem).unwrap();
            mac.update(input);
            mac.finalize().into_bytes().to_vec()
        });
        assert_error(&token(&t, &confused, None).await, 401, "invalid_client", "client_secret_jwt");
        // A signature cut from a valid assertion and pasted on other claims.
        let valid = sign("rsa", &claims(&t, "svc"));
        let mut other = claims(&t, "svc");
        other["exp"] = json!(t.state.clock.now().timestamp() + 600);
        let tampered = format!("{}.{}", sign("rsa", &other).rsplit_once('.').unwrap().0, valid.rsplit_once('.').unwrap().1);
        assert_error(&token(&t, &tampered, None).await, 401, "invalid_client", "integrity");
        for garbage in ["not-a-jwt", "a.b.c", "a.b.c.d"] {
            assert_error(&token(&t, garbage, Some("svc")).await, 401, "invalid_client", "");
        }
        // The valid assertion itself still works: none of the above spent its jti.
        assert_eq!(token(&t, &valid, None).await.status, 200);
        t.stop().await;
    }

    async fn method_mismatches_and_malformed_requests(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "jwt-svc", json!({"jwks": {"keys": [public("rsa")]}})).await;
        let r = t.admin_call(Method::POST, "/clients", Some(json!({"client_id": "basic-svc", "grant_types": ["client_credentials"]}))).await;
        let secret = r.body["client_secret"].as_str().unwrap().to_string();
        // A client_secret_basic client presenting an assertion.
        let r = token(&t, &sign("rsa", &claims(&t, "basic-svc")), None).await;
        assert_error(&r, 401, "invalid_client", "'client_secret_basic'");
        // A private_key_jwt client presenting a secret (Basic, post) or nothing.
        let cc = [("grant_type", "client_credentials")];
        let r = Resp::read(t.http.post(token_url(&t)).basic_auth("jwt-svc", Some("x")).form(&cc).send().await.unwrap()).await;
        assert_error(&r, 401, "invalid_client", "'private_key_jwt'");
        let r = post(&t, "/oauth2/token", &[("grant_type", "client_credentials"), ("client_id", "jwt-svc"), ("client_secret", "x")]).await;
        assert_error(&r, 401, "invalid_client", "'private_key_jwt'");
        let r = post(&t, "/oauth2/token", &[("grant_type", "client_credentials"), ("client_id", "jwt-svc")]).await;
        assert_error(&r, 401, "invalid_client", "'private_key_jwt'");
        // An unknown client, by client_id or by sub.
        let r = token(&t, &sign("rsa", &claims(&t, "nobody")), None).await;
        assert_error(&r, 401, "invalid_client", "does not exist");
        let r = token(&t, &sign("rsa", &claims(&t, "jwt-svc")), Some("nobody")).await;
        assert_error(&r, 401, "invalid_client", "does not exist");
        // Malformed requests: 400 invalid_request.
        let assertion = sign("rsa", &claims(&t, "jwt-svc"));
        let a = assertion.as_str();
        let cases: Vec<Vec<(&str, &str)>> = vec![
            vec![("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"), ("client_assertion", a)],
            vec![("client_assertion_type", JWT_BEARER)],
            vec![("client_assertion_type", JWT_BEARER), ("client_assertion", "")],
            vec![("client_assertion", a), ("client_id", "jwt-svc")],
            vec![("client_assertion_type", JWT_BEARER), ("client_assertion", a), ("client_id", "jwt-svc"), ("client_secret", "x")],
            vec![("client_assertion_type", JWT_BEARER), ("client_assertion", a), ("client_assertion", a)],
        ];
        for extra in cases {
            let mut form = vec![("grant_type", "client_credentials")];
            form.extend(extra.iter().copied());
            let r = post(&t, "/oauth2/token", &form).await;
            assert_eq!((r.status, r.body["error"].as_str()), (400, Some("invalid_request")), "{extra:?}: {}", r.body);
        }
        let form = [("grant_type", "client_credentials"), ("client_assertion_type", JWT_BEARER), ("client_assertion", a)];
        let r = Resp::read(t.http.post(token_url(&t)).basic_auth("basic-svc", Some(&secret)).form(&form).send().await.unwrap()).await;
        assert_eq!((r.status, r.body["error"].as_str()), (400, Some("invalid_request")), "{}", r.body);
        // None of these spent the assertion.
        assert_eq!(token(&t, a, None).await.status, 200);
        t.stop().await;
    }

    async fn jwks_uri_keys_are_fetched_cached_and_refetched(backend: Backend) {
        let t = TestServer::start(backend).await;
        let jwks = JwksServer::start(json!({"keys": [public("rsa")]})).await;
        client(&t, "remote", json!({"jwks_uri": jwks.url})).await;
        let r = token(&t, &sign("rsa", &claims(&t, "remote")), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(token(&t, &sign("rsa", &claims(&t, "remote")), None).await.status, 200);
        assert_eq!(jwks.hits(), 1, "the key set is cached");
        // Key rotation: an unknown kid refetches the document, at most every 10 seconds.
        jwks.set(json!({"keys": [public("rotated")]}));
        let rotated = sign("rotated", &claims(&t, "remote"));
        assert_error(&token(&t, &rotated, None).await, 400, "invalid_request", "public:rotated");
        assert_eq!(jwks.hits(), 1, "refetching is rate-limited");
        t.state.clock.advance(chrono::Duration::seconds(11));
        let r = token(&t, &rotated, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(jwks.hits(), 2);
        // The old key is gone from the fresh copy.
        assert_error(&token(&t, &sign("rsa", &claims(&t, "remote")), None).await, 400, "invalid_request", "public:rsa");
        // The cached copy expires.
        t.state.clock.advance(chrono::Duration::seconds(301));
        assert_eq!(token(&t, &sign("rotated", &claims(&t, "remote")), None).await.status, 200);
        assert_eq!(jwks.hits(), 3);
        // Fetch failures: unreachable, not a key set, too large.
        client(&t, "unreachable", json!({"jwks_uri": "http://127.0.0.1:1/jwks.json"})).await;
        let r = token(&t, &sign("rsa", &claims(&t, "unreachable")), None).await;
        assert_error(&r, 401, "invalid_client", "Unable to fetch");
        let garbage = JwksServer::start(json!(["not", "a", "key", "set"])).await;
        client(&t, "garbage", json!({"jwks_uri": garbage.url})).await;
        let r = token(&t, &sign("rsa", &claims(&t, "garbage")), None).await;
        assert_error(&r, 401, "invalid_client", "not a JSON Web Key Set");
        let huge = JwksServer::start(json!({"keys": [public("rsa")], "padding": "x".repeat(300 * 1024)})).await;
        client(&t, "huge", json!({"jwks_uri": huge.url})).await;
        let r = token(&t, &sign("rsa", &claims(&t, "huge")), None).await;
        assert_error(&r, 401, "invalid_client", "larger than");
        t.stop().await;
    }

    async fn jti_store_spends_once_and_purges_expired_rows(backend: Backend) {
        let t = TestServer::start(backend).await;
        let (db, now) = (&t.state.db, t.state.clock.now());
        let later = now + chrono::Duration::seconds(60);
        db.spend_jti("a".repeat(64).as_str(), later, now).await.unwrap();
        let again = db.spend_jti("a".repeat(64).as_str(), later, now).await;
        assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
        db.spend_jti("b".repeat(64).as_str(), later, now).await.unwrap();
        // Once expired, a row is purged by the next spend and its jti is free again.
        let after = later + chrono::Duration::seconds(1);
        db.spend_jti("a".repeat(64).as_str(), after + chrono::Duration::seconds(60), after).await.unwrap();
        let replay = db.spend_jti("b".repeat(64).as_str(), after + chrono::Duration::seconds(60), after).await;
        assert!(replay.is_ok(), "b expired too: {replay:?}");
        t.stop().await;
    }

    async fn revocation_accepts_an_assertion(backend: Backend) {
        let t = TestServer::start(backend).await;
        client(&t, "svc", json!({"jwks": {"keys": [public("ec")]}, "token_endpoint_auth_signing_alg": "ES256"})).await;
        let issue = async || {
            let r = token(&t, &sign("ec", &claims(&t, "svc")), None).await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.body["access_token"].as_str().unwrap().to_string()
        };
        let revoke = async |assertion: &str, token: &str| {
            let form = [("token", token), ("client_assertion_type", JWT_BEARER), ("client_assertion", assertion)];
            post(&t, "/oauth2/revoke", &form).await
        };
        // aud may be the revocation URL ...
        let access = issue().await;
        let mut c = claims(&t, "svc");
        c["aud"] = json!(revoke_url(&t));
        let assertion = sign("ec", &c);
        let r = revoke(&assertion, &access).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(!t.active(&access).await);
        // ... or the token URL.
        let access = issue().await;
        assert_eq!(revoke(&sign("ec", &claims(&t, "svc")), &access).await.status, 200);
        assert!(!t.active(&access).await);
        // A replayed or unverifiable assertion revokes nothing.
        let access = issue().await;
        assert_error(&revoke(&assertion, &access).await, 400, "jti_known", "");
        let mut c = claims(&t, "svc");
        c["aud"] = json!("https://elsewhere.example/oauth2/revoke");
        assert_error(&revoke(&sign("ec", &c), &access).await, 401, "invalid_client", "'aud'");
        assert_error(&revoke(&sign("rsa", &claims(&t, "svc")), &access).await, 401, "invalid_client", "ES256");
        assert!(t.active(&access).await);
        t.stop().await;
    }
}

/// A loopback server answering every request with the current JSON document, counting requests.
struct JwksServer {
    url: String,
    doc: Arc<Mutex<String>>,
    hits: Arc<AtomicUsize>,
}

impl JwksServer {
    async fn start(doc: Value) -> JwksServer {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let (doc, hits) = (
            Arc::new(Mutex::new(doc.to_string())),
            Arc::new(AtomicUsize::new(0)),
        );
        let (served, counted) = (doc.clone(), hits.clone());
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let body = served.lock().unwrap().clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = conn.read(&mut buf).await;
                    let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
                    let _ = conn.write_all(head.as_bytes()).await;
                    let _ = conn.write_all(body.as_bytes()).await;
                });
            }
        });
        JwksServer { url, doc, hits }
    }

    fn set(&self, doc: Value) {
        *self.doc.lock().unwrap() = doc.to_string();
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}
