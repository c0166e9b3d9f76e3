//! The JSON Web Key wire model (`JSONWebKey` / `JSONWebKeySet` of Hydra's api.json, RFC 7517)
//! and what can be done to a key without signing anything: generating key pairs as
//! `POST /keys/{set}` does, checking keys an admin imports with `PUT /keys`, and splitting off
//! the public half that `/.well-known/jwks.json` publishes. The openssl parsing of key members,
//! shared with `jws`, lives in `key/material.rs`. May import: `crypto`, `error`.

mod material;

pub(crate) use material::{oct_secret, private_pkey, public_pkey};

use crate::error::Error;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use openssl::bn::{BigNum, BigNumContext, BigNumRef};
use openssl::ec::{EcGroup, EcKey};
use openssl::error::ErrorStack;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// One JSON Web Key. Every member is optional on the wire; [`check`] says which a key needs.
/// Private members (`d`, `p`, `q`, `dp`, `dq`, `qi`, `k`) never show in `Debug`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonWebKey {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kty: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub d: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dq: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qi: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x5c: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x5t: Option<String>,
    #[serde(rename = "x5t#S256", skip_serializing_if = "Option::is_none")]
    pub x5t_s256: Option<String>,
}

impl fmt::Debug for JsonWebKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonWebKey")
            .field("kty", &self.kty)
            .field("kid", &self.kid)
            .field("use", &self.use_)
            .field("alg", &self.alg)
            .field("crv", &self.crv)
            .field("private", &is_private(self))
            .finish_non_exhaustive()
    }
}

/// `{"keys": [...]}`; `keys` is always written, `[]` when empty (compatibility.md: no `null`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonWebKeySet {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub keys: Vec<JsonWebKey>,
}

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<JsonWebKey>, D::Error> {
    Ok(Option::<Vec<JsonWebKey>>::deserialize(d)?.unwrap_or_default())
}

/// The algorithms `POST /keys/{set}` can generate keys for.
pub const GENERATOR_ALGS: [&str; 6] = ["RS256", "ES256", "ES512", "EdDSA", "HS256", "HS512"];

/// Bounds on RSA moduli: below 2048 bits is too weak (NIST SP 800-131A), above 8192 bits only
/// makes every verification slow.
pub(crate) const RSA_MIN_BITS: u32 = 2048;
pub(crate) const RSA_MAX_BITS: u32 = 8192;

pub(crate) fn invalid(hint: impl Into<String>) -> Error {
    Error::invalid_request().hint(hint)
}

fn crypto_failed(e: ErrorStack) -> Error {
    Error::server_error().debug(e)
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// RFC 7517 §4.2: `use` is `sig` or `enc`.
fn check_use(use_: &str) -> Result<(), Error> {
    match use_ {
        "sig" | "enc" => Ok(()),
        other => Err(invalid(format!(
            "The JWK use \"{other}\" is not supported; use \"sig\" or \"enc\"."
        ))),
    }
}

/// The id a private key's public half is published under: `private:<id>` becomes
/// `public:<id>` (Hydra's naming; its ID tokens carry the public kid), any other id stays.
pub(crate) fn public_kid(kid: &str) -> String {
    match kid.strip_prefix("private:") {
        Some(id) => format!("public:{id}"),
        None => kid.to_string(),
    }
}

/// Generates the key(s) for `POST /keys/{set}`. Asymmetric algorithms give two keys,
/// `private:<kid>` then `public:<kid>`, as Hydra does; `HS256`/`HS512` give one `oct` key
/// with `kid` as given. An empty `kid` becomes a random UUID; an empty `use` means `sig`.
pub fn generate(alg: &str, kid: &str, use_: &str, rsa_bits: u32) -> Result<Vec<JsonWebKey>, Error> {
    if !GENERATOR_ALGS.contains(&alg) {
        return Err(invalid(format!(
            "Generator \"{alg}\" unknown; the supported algorithms are {}.",
            GENERATOR_ALGS.join(", ")
        )));
    }
    // Hydra copied an empty `use` verbatim and go-jose then left it out; every key we serve
    // has one (security-cases J.110), and an absent `use` can only have meant signing.
    let use_ = if use_.is_empty() { "sig" } else { use_ };
    check_use(use_)?;
    let kid = if kid.is_empty() {
        crate::crypto::random::uuid()
    } else {
        kid.to_string()
    };
    let base = |kid: String, kty: &str| JsonWebKey {
        kty: Some(kty.to_string()),
        kid: Some(kid),
        use_: Some(use_.to_string()),
        alg: Some(alg.to_string()),
        ..JsonWebKey::default()
    };
    let pair = |kty: &str, material: JsonWebKey| -> Vec<JsonWebKey> {
        let private = base(format!("private:{kid}"), kty).with_material(material);
        let public = public_part(&private);
        std::iter::once(private).chain(public).collect()
    };
    Ok(match alg {
        "RS256" => pair("RSA", rsa_material(rsa_bits)?),
        "ES256" => pair("EC", ec_material(Nid::X9_62_PRIME256V1, "P-256", 32)?),
        "ES512" => pair("EC", ec_material(Nid::SECP521R1, "P-521", 66)?),
        "EdDSA" => pair("OKP", ed25519_material()?),
        // RFC 7518 §3.2: an HMAC key at least as long as the hash output.
        "HS256" => vec![base(kid.clone(), "oct").with_material(oct_material(32)?)],
        _ => vec![base(kid.clone(), "oct").with_material(oct_material(64)?)],
    })
}

impl JsonWebKey {
    /// Copies the key members (never the metadata) of `m` into `self`.
    fn with_material(mut self, m: JsonWebKey) -> JsonWebKey {
        self.crv = m.crv;
        (self.x, self.y, self.n, self.e) = (m.x, m.y, m.n, m.e);
        (self.d, self.p, self.q) = (m.d, m.p, m.q);
        (self.dp, self.dq, self.qi, self.k) = (m.dp, m.dq, m.qi, m.k);
        self
    }
}

/// RFC 7518 §6.3: RSA integers as minimal big-endian octets (openssl's `to_vec` is minimal).
fn rsa_material(bits: u32) -> Result<JsonWebKey, Error> {
    if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
        return Err(Error::server_error().debug(format!(
            "the RSA key size {bits} is outside {RSA_MIN_BITS}..={RSA_MAX_BITS} bits"
        )));
    }
    let rsa = Rsa::generate(bits).map_err(crypto_failed)?;
    let int = |v: Option<&BigNumRef>| -> Result<Option<String>, Error> {
        v.map(|v| Some(b64(&v.to_vec())))
            .ok_or_else(|| Error::server_error().debug("openssl left out an RSA CRT member"))
    };
    Ok(JsonWebKey {
        n: Some(b64(&rsa.n().to_vec())),
        e: Some(b64(&rsa.e().to_vec())),
        d: Some(b64(&rsa.d().to_vec())),
        p: int(rsa.p())?,
        q: int(rsa.q())?,
        dp: int(rsa.dmp1())?,
        dq: int(rsa.dmq1())?,
        qi: int(rsa.iqmp())?,
        ..JsonWebKey::default()
    })
}

/// RFC 7518 §6.2.1.2/§6.2.2.1: `x`, `y` and `d` are the full coordinate size of the curve.
fn ec_material(nid: Nid, crv: &str, size: i32) -> Result<JsonWebKey, Error> {
    let run = || -> Result<JsonWebKey, ErrorStack> {
        let group = EcGroup::from_curve_name(nid)?;
        let key = EcKey::generate(&group)?;
        let mut ctx = BigNumContext::new()?;
        let (mut x, mut y) = (BigNum::new()?, BigNum::new()?);
        key.public_key()
            .affine_coordinates(&group, &mut x, &mut y, &mut ctx)?;
        Ok(JsonWebKey {
            crv: Some(crv.to_string()),
            x: Some(b64(&x.to_vec_padded(size)?)),
            y: Some(b64(&y.to_vec_padded(size)?)),
            d: Some(b64(&key.private_key().to_vec_padded(size)?)),
            ..JsonWebKey::default()
        })
    };
    run().map_err(crypto_failed)
}

/// RFC 8037 §2: an Ed25519 key is `kty: OKP`, `crv: Ed25519`, raw 32-byte `x` and `d`.
fn ed25519_material() -> Result<JsonWebKey, Error> {
    let key = PKey::generate_ed25519().map_err(crypto_failed)?;
    Ok(JsonWebKey {
        crv: Some("Ed25519".to_string()),
        x: Some(b64(&key.raw_public_key().map_err(crypto_failed)?)),
        d: Some(b64(&key.raw_private_key().map_err(crypto_failed)?)),
        ..JsonWebKey::default()
    })
}

fn oct_material(len: usize) -> Result<JsonWebKey, Error> {
    let mut k = vec![0u8; len];
    openssl::rand::rand_bytes(&mut k).map_err(crypto_failed)?;
    Ok(JsonWebKey {
        k: Some(b64(&k)),
        ..JsonWebKey::default()
    })
}

/// True when the key holds secret material: an asymmetric private key or a symmetric key.
pub fn is_private(jwk: &JsonWebKey) -> bool {
    [&jwk.d, &jwk.p, &jwk.q, &jwk.dp, &jwk.dq, &jwk.qi, &jwk.k]
        .iter()
        .any(|m| m.is_some())
}

/// The public half of an asymmetric key: only the members RFC 7518 §6 lists as public, plus
/// the metadata, with `private:<id>` renamed `public:<id>` (the kid JWTs are signed under).
/// Built member by member, so nothing secret can slip through whatever the input held (an
/// admin may upload a private key named `public:...`: security-cases J.110). `None` for
/// symmetric keys and for an unknown `kty`.
pub fn public_part(jwk: &JsonWebKey) -> Option<JsonWebKey> {
    let kty = jwk.kty.as_deref()?;
    let (rsa, ec) = (kty == "RSA", kty == "EC");
    if !(rsa || ec || kty == "OKP") {
        return None;
    }
    Some(JsonWebKey {
        kty: jwk.kty.clone(),
        kid: jwk.kid.as_deref().map(public_kid),
        use_: jwk.use_.clone(),
        alg: jwk.alg.clone(),
        crv: jwk.crv.clone().filter(|_| !rsa),
        x: jwk.x.clone().filter(|_| !rsa),
        y: jwk.y.clone().filter(|_| ec),
        n: jwk.n.clone().filter(|_| rsa),
        e: jwk.e.clone().filter(|_| rsa),
        x5c: jwk.x5c.clone(),
        x5t: jwk.x5t.clone(),
        x5t_s256: jwk.x5t_s256.clone(),
        ..JsonWebKey::default()
    })
}

/// The `alg` values a key of this type may name (RFC 7518 §3.1 signatures, §4.1 key
/// management; RFC 8037 §3.1 for EdDSA).
fn algs_for(kty: &str, crv: Option<&str>) -> &'static [&'static str] {
    const ECDH: [&str; 4] = [
        "ECDH-ES",
        "ECDH-ES+A128KW",
        "ECDH-ES+A192KW",
        "ECDH-ES+A256KW",
    ];
    match (kty, crv) {
        ("RSA", _) => &[
            "RS256",
            "RS384",
            "RS512",
            "PS256",
            "PS384",
            "PS512",
            "RSA-OAEP",
            "RSA-OAEP-256",
        ],
        ("EC", Some("P-256")) => &["ES256", ECDH[0], ECDH[1], ECDH[2], ECDH[3]],
        ("EC", Some("P-384")) => &["ES384", ECDH[0], ECDH[1], ECDH[2], ECDH[3]],
        ("EC", Some("P-521")) => &["ES512", ECDH[0], ECDH[1], ECDH[2], ECDH[3]],
        ("OKP", _) => &["EdDSA"],
        ("oct", _) => &[
            "HS256",
            "HS384",
            "HS512",
            "A128KW",
            "A192KW",
            "A256KW",
            "A128GCMKW",
            "A192GCMKW",
            "A256GCMKW",
            "dir",
        ],
        _ => &[],
    }
}

/// Validates a key an admin imports (`PUT /keys/{set}`, `PUT /keys/{set}/{kid}`): known
/// `kty`/`crv`, exactly the members that type defines, decodable base64url of the right
/// sizes, a private part that matches the public members, an `alg` and `use` that fit, and
/// an `x5c` whose first certificate holds this very key. Every failure is a 400 naming the
/// problem, never a member's value.
pub fn check(jwk: &JsonWebKey) -> Result<(), Error> {
    if let Some(use_) = &jwk.use_ {
        check_use(use_)?;
    }
    let kty = jwk.kty.as_deref().unwrap_or_default();
    material::check_members(jwk, kty)?;
    if kty == "oct" {
        oct_secret(jwk, material::OCT_MIN_BYTES)?;
    } else {
        let public = public_pkey(jwk)?;
        if is_private(jwk) {
            material::check_private(jwk, &public)?;
        }
        material::check_certificates(jwk, &public)?;
    }
    if let Some(alg) = &jwk.alg {
        let allowed = algs_for(kty, jwk.crv.as_deref());
        if !allowed.contains(&alg.as_str()) {
            return Err(invalid(format!(
                "The JWK alg \"{alg}\" does not fit a key of kty {kty}{}; use one of {}.",
                jwk.crv
                    .as_deref()
                    .map(|c| format!(" on {c}"))
                    .unwrap_or_default(),
                allowed.join(", ")
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::asn1::Asn1Time;
    use openssl::hash::MessageDigest;
    use openssl::x509::{X509Builder, X509NameBuilder, X509};
    use serde_json::json;
    use std::sync::OnceLock;

    /// RSA generation is slow in debug builds: one pair serves every test.
    pub(crate) fn rsa_pair() -> &'static [JsonWebKey] {
        static PAIR: OnceLock<Vec<JsonWebKey>> = OnceLock::new();
        PAIR.get_or_init(|| generate("RS256", "rsa", "sig", 2048).unwrap())
    }

    fn decoded(member: &Option<String>) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(member.as_deref().unwrap()).unwrap()
    }

    fn assert_invalid(jwk: &JsonWebKey, expect: &str) {
        let err = check(jwk).expect_err(expect);
        assert_eq!((err.name.as_ref(), err.status), ("invalid_request", 400));
        let text = err.full_description();
        assert!(text.contains(expect), "{expect:?} not in {text:?}");
        for secret in [&jwk.d, &jwk.p, &jwk.q, &jwk.k].into_iter().flatten() {
            assert!(!text.contains(secret.as_str()), "secret in {text:?}");
        }
    }

    #[test]
    fn generated_pairs_are_private_then_public_with_alg_kid_kty_use() {
        let cases = [
            ("ES256", "EC", Some("P-256")),
            ("ES512", "EC", Some("P-521")),
            ("EdDSA", "OKP", Some("Ed25519")),
        ];
        let rsa = (rsa_pair().to_vec(), "RSA", None);
        let others =
            cases.map(|(alg, kty, crv)| (generate(alg, "id", "sig", 2048).unwrap(), kty, crv));
        for (keys, kty, crv) in [rsa].into_iter().chain(others) {
            let [private, public] = &keys[..] else {
                panic!("{keys:?}")
            };
            let id = private
                .kid
                .as_deref()
                .unwrap()
                .strip_prefix("private:")
                .unwrap();
            assert_eq!(public.kid.as_deref(), Some(format!("public:{id}").as_str()));
            for k in [private, public] {
                assert_eq!(k.kty.as_deref(), Some(kty));
                assert_eq!(k.crv.as_deref(), crv);
                assert_eq!(k.use_.as_deref(), Some("sig"));
                assert!(k.alg.is_some());
                check(k).unwrap();
            }
            assert!(is_private(private) && !is_private(public));
            assert_eq!(public_part(private).as_ref(), Some(public));
        }
    }

    #[test]
    fn generated_members_have_rfc_7518_sizes() {
        let [rsa, _] = rsa_pair() else { panic!() };
        assert_eq!(rsa.e.as_deref(), Some("AQAB"));
        assert_eq!(decoded(&rsa.n).len(), 256);
        assert_ne!(decoded(&rsa.n)[0], 0, "minimal big-endian");
        for (alg, size) in [("ES256", 32), ("ES512", 66), ("EdDSA", 32)] {
            let keys = generate(alg, "", "enc", 2048).unwrap();
            assert_eq!(decoded(&keys[0].x).len(), size, "{alg} x");
            assert_eq!(decoded(&keys[0].d).len(), size, "{alg} d");
            if alg != "EdDSA" {
                assert_eq!(decoded(&keys[0].y).len(), size, "{alg} y");
            }
            assert_eq!(keys[1].use_.as_deref(), Some("enc"));
        }
        for (alg, size) in [("HS256", 32), ("HS512", 64)] {
            let keys = generate(alg, "hmac", "sig", 2048).unwrap();
            assert_eq!(keys.len(), 1);
            assert_eq!(keys[0].kid.as_deref(), Some("hmac"));
            assert_eq!(keys[0].kty.as_deref(), Some("oct"));
            assert_eq!(decoded(&keys[0].k).len(), size);
            check(&keys[0]).unwrap();
            assert_eq!(public_part(&keys[0]), None);
        }
    }

    #[test]
    fn empty_kid_is_a_uuid_and_empty_use_is_sig() {
        let keys = generate("HS256", "", "", 2048).unwrap();
        let kid = keys[0].kid.as_deref().unwrap();
        assert!(uuid::Uuid::parse_str(kid).is_ok(), "{kid}");
        assert_eq!(keys[0].use_.as_deref(), Some("sig"));
        let pair = generate("ES256", "", "sig", 2048).unwrap();
        let id = pair[0]
            .kid
            .as_deref()
            .unwrap()
            .strip_prefix("private:")
            .unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok());
    }

    #[test]
    fn generator_refuses_unknown_alg_and_use() {
        let err = generate("RS1024", "x", "sig", 2048).unwrap_err();
        assert_eq!((err.name.as_ref(), err.status), ("invalid_request", 400));
        assert!(err
            .full_description()
            .contains("RS256, ES256, ES512, EdDSA, HS256, HS512"));
        let err = generate("ES256", "x", "wrap", 2048).unwrap_err();
        assert_eq!(err.status, 400);
        assert!(err.full_description().contains("'sig' or 'enc'"));
        assert_eq!(generate("RS256", "x", "sig", 1024).unwrap_err().status, 500);
    }

    fn with(base: &JsonWebKey, change: impl FnOnce(&mut JsonWebKey)) -> JsonWebKey {
        let mut k = base.clone();
        change(&mut k);
        k
    }

    #[test]
    fn check_refuses_malformed_keys_with_a_clear_hint() {
        let [rsa, rsa_pub] = rsa_pair() else { panic!() };
        let other = generate("RS256", "other", "sig", 2048).unwrap().remove(0);
        let ec = generate("ES256", "ec", "sig", 2048).unwrap().remove(0);
        let ec_other = generate("ES256", "ec2", "sig", 2048).unwrap().remove(0);
        let p521 = generate("ES512", "ec", "sig", 2048).unwrap().remove(0);
        let ed = generate("EdDSA", "ed", "sig", 2048).unwrap().remove(0);
        let ed_other = generate("EdDSA", "ed2", "sig", 2048).unwrap().remove(0);
        let oct = generate("HS256", "oct", "sig", 2048).unwrap().remove(0);
        let small = Rsa::generate(1024).unwrap();
        let cases: Vec<(&str, JsonWebKey, &str)> = vec![
            (
                "no kty",
                with(rsa, |k| k.kty = None),
                "missing the member 'kty'",
            ),
            (
                "unknown kty",
                with(rsa, |k| k.kty = Some("DSA".into())),
                "kty 'DSA' is not supported",
            ),
            (
                "rsa without n",
                with(rsa_pub, |k| k.n = None),
                "missing the member 'n'",
            ),
            (
                "bad base64",
                with(rsa_pub, |k| k.e = Some("A+B/".into())),
                "'e' is not valid base64url",
            ),
            (
                "1024 bits",
                with(rsa_pub, |k| k.n = Some(b64(&small.n().to_vec()))),
                "it has 1024",
            ),
            (
                "even exponent",
                with(rsa_pub, |k| k.e = Some(b64(&[1, 0]))),
                "exponent e",
            ),
            (
                "foreign d",
                with(rsa, |k| k.d = other.d.clone()),
                "do not belong together",
            ),
            (
                "foreign crt",
                with(rsa, |k| k.p = other.p.clone()),
                "do not belong together",
            ),
            ("partial crt", with(rsa, |k| k.qi = None), "RFC 7518 §6.3.2"),
            (
                "crt without d",
                with(rsa, |k| k.d = None),
                "RFC 7518 §6.3.2",
            ),
            (
                "stray k",
                with(rsa_pub, |k| k.k = oct.k.clone()),
                "'k' does not belong",
            ),
            (
                "rsa alg on ec",
                with(&ec, |k| k.alg = Some("RS256".into())),
                "does not fit a key of kty EC on P-256",
            ),
            (
                "es256 on p-521",
                with(&p521, |k| k.alg = Some("ES256".into())),
                "ES512",
            ),
            (
                "hs256 on rsa",
                with(rsa_pub, |k| k.alg = Some("HS256".into())),
                "does not fit a key of kty RSA",
            ),
            (
                "bad use",
                with(rsa_pub, |k| k.use_ = Some("both".into())),
                "use 'both'",
            ),
            (
                "unknown curve",
                with(&ec, |k| k.crv = Some("secp256k1".into())),
                "curve 'secp256k1'",
            ),
            (
                "short x",
                with(&ec, |k| k.x = Some(b64(&[1; 31]))),
                "'x' must be 32 bytes",
            ),
            (
                "off curve",
                with(&ec, |k| k.y = ec_other.y.clone()),
                "not on the curve",
            ),
            (
                "foreign ec d",
                with(&ec, |k| k.d = ec_other.d.clone()),
                "does not match the public point",
            ),
            (
                "x25519",
                with(&ed, |k| k.crv = Some("X25519".into())),
                "curve 'X25519'",
            ),
            (
                "foreign ed d",
                with(&ed, |k| k.d = ed_other.d.clone()),
                "does not match the public key x",
            ),
            (
                "short oct",
                with(&oct, |k| k.k = Some(b64(&[7; 8]))),
                "it has 8",
            ),
            (
                "huge oct",
                with(&oct, |k| k.k = Some(b64(&[7; 513]))),
                "it has 513",
            ),
            (
                "oct with x5c",
                with(&oct, |k| k.x5c = Some(vec![])),
                "cannot carry x5c",
            ),
            (
                "x5c not base64",
                with(rsa_pub, |k| k.x5c = Some(vec!["%%".into()])),
                "x5c entry 0 is not standard base64",
            ),
            (
                "x5c not der",
                with(rsa_pub, |k| k.x5c = Some(vec!["AAAA".into()])),
                "not a DER X.509",
            ),
            (
                "empty x5c",
                with(rsa_pub, |k| k.x5c = Some(vec![])),
                "holds no certificate",
            ),
            (
                "x5t wrong size",
                with(rsa_pub, |k| k.x5t = Some(b64(&[1; 5]))),
                "thumbprint",
            ),
        ];
        for (name, jwk, expect) in cases {
            eprintln!("case {name}");
            assert_invalid(&jwk, expect);
        }
    }

    #[test]
    fn check_accepts_variants_the_rfcs_allow() {
        let [rsa, rsa_pub] = rsa_pair() else { panic!() };
        let d_only = with(rsa, |k| {
            (k.p, k.q, k.dp, k.dq, k.qi) = (None, None, None, None, None)
        });
        let no_alg = with(rsa, |k| k.alg = None);
        let ps = with(rsa_pub, |k| k.alg = Some("PS512".into()));
        let oaep = with(rsa_pub, |k| {
            (k.alg, k.use_) = (Some("RSA-OAEP".into()), Some("enc".into()))
        });
        let padded = with(rsa_pub, |k| {
            k.n = Some(format!("{}==", k.n.as_deref().unwrap()))
        });
        let oct16 = JsonWebKey {
            kty: Some("oct".into()),
            k: Some(b64(&[9; 16])),
            ..Default::default()
        };
        let hydra_es512 = with(&generate("ES512", "h", "sig", 2048).unwrap()[0], |k| {
            k.alg = None
        });
        for jwk in [d_only, no_alg, ps, oaep, padded, oct16, hydra_es512] {
            check(&jwk).unwrap_or_else(|e| panic!("{jwk:?}: {e}"));
        }
    }

    fn self_signed(private: &JsonWebKey) -> X509 {
        let key = private_pkey(private).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "portcullis").unwrap();
        let name = name.build();
        let mut cert = X509Builder::new().unwrap();
        cert.set_version(2).unwrap();
        cert.set_subject_name(&name).unwrap();
        cert.set_issuer_name(&name).unwrap();
        cert.set_pubkey(&key).unwrap();
        cert.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        cert.set_not_after(&Asn1Time::days_from_now(1).unwrap())
            .unwrap();
        cert.sign(&key, MessageDigest::sha256()).unwrap();
        cert.build()
    }

    #[test]
    fn x5c_must_hold_the_same_key_and_thumbprints_must_match() {
        use base64::engine::general_purpose::STANDARD;
        let [rsa, rsa_pub] = rsa_pair() else { panic!() };
        let der = self_signed(rsa).to_der().unwrap();
        let sha1 = openssl::hash::hash(MessageDigest::sha1(), &der).unwrap();
        let sha256 = openssl::hash::hash(MessageDigest::sha256(), &der).unwrap();
        let good = with(rsa_pub, |k| {
            k.x5c = Some(vec![STANDARD.encode(&der)]);
            k.x5t = Some(b64(&sha1));
            k.x5t_s256 = Some(b64(&sha256));
        });
        check(&good).unwrap();
        assert_eq!(public_part(&good).unwrap().x5c, good.x5c);
        let bad_thumb = with(&good, |k| k.x5t_s256 = Some(b64(&[0; 32])));
        assert_invalid(&bad_thumb, "'x5t#S256' is not the thumbprint");
        let ec = generate("ES256", "ec", "sig", 2048).unwrap().remove(0);
        let foreign = with(rsa_pub, |k| {
            k.x5c = Some(vec![STANDARD.encode(self_signed(&ec).to_der().unwrap())])
        });
        assert_invalid(&foreign, "holds another key");
    }

    #[test]
    fn public_part_keeps_only_public_members_whatever_the_kid() {
        let [rsa, _] = rsa_pair() else { panic!() };
        let disguised = with(rsa, |k| k.kid = Some("public:sneaky".into()));
        let public = public_part(&disguised).unwrap();
        assert_eq!(public.kid.as_deref(), Some("public:sneaky"));
        assert!(!is_private(&public));
        let json = serde_json::to_value(&public).unwrap();
        let names: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(names.len(), 6, "{names:?}");
        for name in ["kty", "kid", "use", "alg", "n", "e"] {
            assert!(names.contains(&name), "{name}");
        }
        let ec = generate("ES512", "ec", "sig", 2048).unwrap();
        let plain_kid = with(&ec[0], |k| k.kid = Some("mine".into()));
        let public = public_part(&plain_kid).unwrap();
        assert_eq!(
            (public.kid.as_deref(), public.d.as_deref()),
            (Some("mine"), None)
        );
        assert_eq!(public.y, ec[0].y);
        assert_eq!(
            public_part(&with(rsa, |k| k.kty = Some("DSA".into()))),
            None
        );
        assert_eq!(public_part(&JsonWebKey::default()), None);
    }

    #[test]
    fn serde_uses_jose_member_names_and_never_writes_null() {
        let jwk = JsonWebKey {
            kty: Some("RSA".into()),
            use_: Some("sig".into()),
            x5t_s256: Some("abc".into()),
            x5c: Some(vec!["MII".into()]),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&jwk).unwrap(),
            json!({"kty": "RSA", "use": "sig", "x5c": ["MII"], "x5t#S256": "abc"})
        );
        let set = JsonWebKeySet::default();
        assert_eq!(serde_json::to_string(&set).unwrap(), r#"{"keys":[]}"#);
        for body in [r#"{"keys":null}"#, "{}"] {
            let set: JsonWebKeySet = serde_json::from_str(body).unwrap();
            assert!(set.keys.is_empty());
        }
        let read: JsonWebKey = serde_json::from_value(json!({"kty": "oct", "k": null})).unwrap();
        assert_eq!(read.k, None);
    }

    #[test]
    fn debug_never_shows_key_material() {
        let [rsa, _] = rsa_pair() else { panic!() };
        let shown = format!(
            "{rsa:?} {:?}",
            JsonWebKeySet {
                keys: vec![rsa.clone()]
            }
        );
        for secret in [&rsa.d, &rsa.p, &rsa.q, &rsa.dp, &rsa.dq, &rsa.qi]
            .into_iter()
            .flatten()
        {
            assert!(!shown.contains(&secret[..20]));
        }
        assert!(shown.contains("private: true"), "{shown}");
    }
}
