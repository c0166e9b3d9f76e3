//! Compact JWS / JWT (RFC 7515, RFC 7519) over our JWKs: [`SigningKey`] holds one private key
//! parsed once by openssl and signs ID tokens, JWT access tokens and logout tokens; [`verify`]
//! checks a token against a list of keys (`id_token_hint`, client assertions) and refuses the
//! classic traps: `alg: none`, an algorithm that does not fit the key (HS256 under an RSA
//! public key), unknown critical headers. Time claims are the caller's business.
//! May import: `error` (and `jwk::key`).

use super::key::{self, b64, invalid, JsonWebKey};
use crate::error::Error;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use openssl::bn::BigNum;
use openssl::ec::EcKey;
use openssl::ecdsa::EcdsaSig;
use openssl::error::ErrorStack;
use openssl::hash::hash;
use openssl::pkey::{PKey, PKeyRef, Private, Public};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer, Verifier};
use serde_json::{Map, Value};
use std::fmt;

mod alg;

use alg::key_alg;
pub use alg::Alg;

/// A private key ready to sign: parsed once, held in memory, never re-read per signature.
pub struct SigningKey {
    alg: Alg,
    kid: String,
    key: PKey<Private>,
    /// The EC key of an ES* key, taken out once: signing it directly spares OpenSSL 3 the
    /// per-signature context set-up of `EVP_DigestSign` (most of an ES256 signature's cost).
    ec: Option<EcKey<Private>>,
}

// The key itself must not reach logs.
impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Parses a private JWK (RS*, PS*, ES256/384/512, EdDSA or HS256/384/512). The private
    /// part of an EC or Ed25519 key is checked against its public members here; RSA keys
    /// were checked by `key::check` or made by `key::generate` before they were stored.
    pub fn from_jwk(jwk: &JsonWebKey) -> Result<SigningKey, Error> {
        let kid = jwk.kid.as_deref().unwrap_or_default();
        if !key::is_private(jwk) {
            return Err(invalid(format!(
                "The key \"{kid}\" is a public key and cannot sign."
            )));
        }
        let alg = key_alg(jwk)?;
        let key = match alg.key_type().0 {
            "oct" => PKey::hmac(&key::oct_secret(jwk, alg.hmac_min_bytes())?)
                .map_err(|e| Error::server_error().debug(e))?,
            _ => key::private_pkey(jwk)?,
        };
        // A symmetric key is its own verification key, so its kid stays as it is.
        let kid = match alg.key_type().0 {
            "oct" => kid.to_string(),
            _ => key::public_kid(kid),
        };
        let ec = match alg.ec_size() {
            Some(_) => Some(key.ec_key().map_err(|e| Error::server_error().debug(e))?),
            None => None,
        };
        Ok(SigningKey { alg, kid, key, ec })
    }

    /// The kid written into JWT headers: `public:<id>` for a `private:<id>` key, as Hydra's
    /// ID tokens carry it, so relying parties find the key in the JWKS.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The JOSE `alg` name, for headers and discovery.
    pub fn alg(&self) -> &'static str {
        self.alg.name()
    }

    /// Signs `claims` (a JSON object) with the header `{"alg","kid","typ":"JWT"}`.
    pub fn sign(&self, claims: &Value) -> Result<String, Error> {
        self.sign_with_header(&Map::new(), claims)
    }

    /// Like [`SigningKey::sign`], with more header members (`typ: logout+jwt`, ...).
    /// `extra_header` may replace `typ` but never `alg` or `kid`: they describe the key.
    pub fn sign_with_header(
        &self,
        extra_header: &Map<String, Value>,
        claims: &Value,
    ) -> Result<String, Error> {
        // RFC 7519 §7.1: the claims set is a JSON object.
        if !claims.is_object() {
            return Err(Error::server_error().debug("JWT claims must be a JSON object"));
        }
        let mut header = Map::new();
        header.insert("alg".into(), self.alg.name().into());
        header.insert("kid".into(), self.kid.clone().into());
        header.insert("typ".into(), "JWT".into());
        for (name, value) in extra_header {
            if name != "alg" && name != "kid" {
                header.insert(name.clone(), value.clone());
            }
        }
        let encode = |v: &Value| serde_json::to_vec(v).map(|json| b64(&json));
        let signing_input = format!(
            "{}.{}",
            encode(&Value::Object(header)).map_err(|e| Error::server_error().debug(e))?,
            encode(claims).map_err(|e| Error::server_error().debug(e))?
        );
        let signature = self
            .raw_sign(signing_input.as_bytes())
            .map_err(|e| Error::server_error().debug(e))?;
        Ok(format!("{signing_input}.{}", b64(&signature)))
    }

    fn raw_sign(&self, input: &[u8]) -> Result<Vec<u8>, ErrorStack> {
        if self.alg == Alg::EdDSA {
            return Signer::new_without_digest(&self.key)?.sign_oneshot_to_vec(input);
        }
        if let (Some(ec), Some(size)) = (&self.ec, self.alg.ec_size()) {
            let digest = hash(self.alg.digest(), input)?;
            return sig_to_jose(&EcdsaSig::sign(&digest, ec)?, size);
        }
        let mut signer = Signer::new(self.alg.digest(), &self.key)?;
        if self.alg.is_pss() {
            // RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash.
            signer.set_rsa_padding(Padding::PKCS1_PSS)?;
            signer.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)?;
            signer.set_rsa_mgf1_md(self.alg.digest())?;
        }
        signer.update(input)?;
        let signature = signer.sign_to_vec()?;
        match self.alg.ec_size() {
            Some(size) => der_to_jose(&signature, size),
            None => Ok(signature),
        }
    }
}

/// RFC 7518 §3.4: a JOSE ECDSA signature is r || s, each left-padded to the curve size,
/// where openssl writes a DER `ECDSA-Sig-Value`.
fn der_to_jose(der: &[u8], size: usize) -> Result<Vec<u8>, ErrorStack> {
    sig_to_jose(&EcdsaSig::from_der(der)?, size)
}

fn sig_to_jose(sig: &EcdsaSig, size: usize) -> Result<Vec<u8>, ErrorStack> {
    let mut out = sig.r().to_vec_padded(size as i32)?;
    out.extend_from_slice(&sig.s().to_vec_padded(size as i32)?);
    Ok(out)
}

fn jose_to_der(raw: &[u8], size: usize) -> Option<Vec<u8>> {
    if raw.len() != 2 * size {
        return None;
    }
    let r = BigNum::from_slice(&raw[..size]).ok()?;
    let s = BigNum::from_slice(&raw[size..]).ok()?;
    EcdsaSig::from_private_components(r, s).ok()?.to_der().ok()
}

fn malformed(what: &str) -> Error {
    invalid(format!("The JWT is malformed: {what}."))
}

fn decode_segment(segment: &str, what: &str) -> Result<Vec<u8>, Error> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| malformed(&format!("the {what} is not base64url")))
}

fn decode_object(segment: &str, what: &str) -> Result<Map<String, Value>, Error> {
    match serde_json::from_slice(&decode_segment(segment, what)?) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(malformed(&format!("the {what} is not a JSON object"))),
    }
}

/// Checks a compact JWS against `keys` and returns its claims. The key is picked by the
/// header's `kid` (when present) among the public keys and the public halves of private ones
/// (a `private:<id>` key answers to `public:<id>`, the kid we sign under); the header's `alg`
/// must fit that key. Expiry and the other claims are left to the caller.
pub fn verify(token: &str, keys: &[JsonWebKey]) -> Result<Value, Error> {
    let segments: Vec<&str> = token.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = segments[..] else {
        return Err(malformed(
            "a compact JWS has exactly three dot-separated parts",
        ));
    };
    let header = decode_object(header_b64, "header")?;
    let (alg, kid) = read_header(&header)?;
    let signature = decode_segment(signature_b64, "signature")?;
    let payload = decode_segment(payload_b64, "payload")?;
    let signing_input = &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];

    let candidates = candidates(keys, kid)?;
    let mut fitting = candidates.iter().filter(|k| alg.fits(k)).peekable();
    if fitting.peek().is_none() {
        return Err(invalid(format!(
            "The JWT alg \"{}\" does not fit {}.",
            alg.name(),
            if kid.is_some() {
                "the key its kid names"
            } else {
                "any known key"
            }
        )));
    }
    let mut key_error = None;
    for jwk in fitting {
        match check_signature(jwk, alg, signing_input, &signature) {
            Ok(true) => {
                return match serde_json::from_slice(&payload) {
                    Ok(Value::Object(claims)) => Ok(Value::Object(claims)),
                    _ => Err(malformed("the payload is not a JSON object")),
                }
            }
            Ok(false) => {}
            Err(e) => key_error = Some(e),
        }
    }
    Err(key_error.unwrap_or_else(|| invalid("The JWT signature is invalid.")))
}

/// The header's algorithm and kid, refusing what we must not process.
fn read_header(header: &Map<String, Value>) -> Result<(Alg, Option<&str>), Error> {
    let name = match header.get("alg") {
        Some(Value::String(alg)) => alg.as_str(),
        _ => return Err(malformed("the header has no alg")),
    };
    // RFC 8725 §3.2: unsecured JWTs (alg none) are never accepted here.
    if name.eq_ignore_ascii_case("none") {
        return Err(invalid("Unsigned JWTs (alg none) are not accepted."));
    }
    let alg = Alg::from_name(name)
        .ok_or_else(|| invalid(format!("The JWT alg \"{name}\" is not supported.")))?;
    // RFC 7515 §4.1.11: a recipient MUST reject a JWS whose `crit` lists extensions it does
    // not understand; we understand none.
    if header.contains_key("crit") {
        return Err(invalid(
            "The JWT header lists critical extensions (crit); none are supported.",
        ));
    }
    match header.get("kid") {
        None => Ok((alg, None)),
        Some(Value::String(kid)) => Ok((alg, Some(kid.as_str()))),
        Some(_) => Err(malformed("the header kid is not a string")),
    }
}

/// The verification keys answering to `kid` (all of them without one): public keys, the
/// public halves of private keys, symmetric keys as they are.
fn candidates(keys: &[JsonWebKey], kid: Option<&str>) -> Result<Vec<JsonWebKey>, Error> {
    let mut found: Vec<JsonWebKey> = Vec::new();
    for jwk in keys {
        let view = match jwk.kty.as_deref() {
            Some("oct") => Some(jwk.clone()),
            _ => key::public_part(jwk),
        };
        let view = view.filter(|v| kid.is_none_or(|kid| v.kid.as_deref() == Some(kid)));
        if let Some(view) = view.filter(|v| !found.contains(v)) {
            found.push(view);
        }
    }
    if found.is_empty() {
        return Err(invalid(match kid {
            Some(kid) => format!("No key with the kid \"{kid}\" is known."),
            None => "No key is known to verify the JWT with.".to_string(),
        }));
    }
    Ok(found)
}

/// `Ok(false)` for a wrong or malformed signature; `Err` only for a key that cannot be used.
fn check_signature(jwk: &JsonWebKey, alg: Alg, input: &[u8], sig: &[u8]) -> Result<bool, Error> {
    if alg.key_type().0 == "oct" {
        let secret = key::oct_secret(jwk, alg.hmac_min_bytes())?;
        let expected = PKey::hmac(&secret)
            .and_then(|k| {
                let mut signer = Signer::new(alg.digest(), &k)?;
                signer.update(input)?;
                signer.sign_to_vec()
            })
            .map_err(|e| Error::server_error().debug(e))?;
        // Constant-time comparison: the lengths are public, the bytes are not.
        return Ok(expected.len() == sig.len() && openssl::memcmp::eq(&expected, sig));
    }
    let public = key::public_pkey(jwk)?;
    Ok(verify_asymmetric(&public, alg, input, sig).unwrap_or(false))
}

fn verify_asymmetric(
    key: &PKeyRef<Public>,
    alg: Alg,
    input: &[u8],
    sig: &[u8],
) -> Result<bool, ErrorStack> {
    if alg == Alg::EdDSA {
        return Verifier::new_without_digest(key)?.verify_oneshot(sig, input);
    }
    let der;
    let sig = match alg.ec_size() {
        Some(size) => match jose_to_der(sig, size) {
            Some(converted) => {
                der = converted;
                &der[..]
            }
            None => return Ok(false),
        },
        None => sig,
    };
    let mut verifier = Verifier::new(alg.digest(), key)?;
    if alg.is_pss() {
        verifier.set_rsa_padding(Padding::PKCS1_PSS)?;
        verifier.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)?;
        verifier.set_rsa_mgf1_md(alg.digest())?;
    }
    verifier.update(input)?;
    verifier.verify(sig)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwk::key::generate;
    use openssl::hash::MessageDigest;
    use serde_json::json;
    use std::sync::OnceLock;

    /// One key (pair) per algorithm, generated once: RSA generation is slow in debug builds.
    fn keys(alg: &str) -> &'static [JsonWebKey] {
        static KEYS: OnceLock<Vec<(String, Vec<JsonWebKey>)>> = OnceLock::new();
        let all = KEYS.get_or_init(|| {
            ["RS256", "ES256", "ES512", "EdDSA", "HS256", "HS512"]
                .map(|alg| (alg.to_string(), generate(alg, alg, "sig", 2048).unwrap()))
                .to_vec()
        });
        &all.iter().find(|(a, _)| a == alg).unwrap().1
    }

    /// The key that verifies: the public half, or the symmetric key itself.
    fn verifier(alg: &str) -> JsonWebKey {
        keys(alg).last().unwrap().clone()
    }

    fn claims() -> Value {
        json!({"iss": "https://portcullis.test/", "sub": "alice", "exp": 4102444800u64})
    }

    fn segments(token: &str) -> Vec<Value> {
        token
            .split('.')
            .take(2)
            .map(|s| serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap())
            .collect()
    }

    fn forge(header: Value, claims: &Value, signature: &[u8]) -> String {
        let part = |v: &Value| b64(&serde_json::to_vec(v).unwrap());
        format!("{}.{}.{}", part(&header), part(claims), b64(signature))
    }

    const ALL: [&str; 6] = ["RS256", "ES256", "ES512", "EdDSA", "HS256", "HS512"];

    #[test]
    fn every_generated_key_signs_and_its_public_half_verifies() {
        for alg in ALL {
            let signer = SigningKey::from_jwk(&keys(alg)[0]).unwrap();
            let token = signer.sign(&claims()).unwrap();
            let header = &segments(&token)[0];
            let kid = if alg.starts_with("HS") {
                alg.to_string()
            } else {
                format!("public:{alg}")
            };
            assert_eq!(
                header,
                &json!({"alg": alg, "kid": kid, "typ": "JWT"}),
                "{alg}"
            );
            assert_eq!((signer.alg(), signer.kid()), (alg, kid.as_str()));
            assert_eq!(verify(&token, &[verifier(alg)]).unwrap(), claims(), "{alg}");
            // The private key, as a whole set holds it, verifies too (through its public half).
            assert_eq!(verify(&token, keys(alg)).unwrap(), claims(), "{alg} set");
        }
    }

    #[test]
    fn ecdsa_signatures_are_raw_r_and_s() {
        for (alg, len) in [("ES256", 64), ("ES512", 132)] {
            let signer = SigningKey::from_jwk(&keys(alg)[0]).unwrap();
            for _ in 0..8 {
                let token = signer.sign(&claims()).unwrap();
                let sig = URL_SAFE_NO_PAD
                    .decode(token.rsplit('.').next().unwrap())
                    .unwrap();
                assert_eq!(sig.len(), len, "{alg}");
            }
        }
    }

    #[test]
    fn extra_header_members_are_added_but_alg_and_kid_stay() {
        let signer = SigningKey::from_jwk(&keys("ES256")[0]).unwrap();
        let extra = json!({"typ": "logout+jwt", "alg": "none", "kid": "evil", "cty": "x"});
        let token = signer
            .sign_with_header(extra.as_object().unwrap(), &claims())
            .unwrap();
        assert_eq!(
            segments(&token)[0],
            json!({"alg": "ES256", "kid": "public:ES256", "typ": "logout+jwt", "cty": "x"})
        );
        verify(&token, &[verifier("ES256")]).unwrap();
        assert!(signer.sign(&json!(["not", "an", "object"])).is_err());
    }

    #[test]
    fn a_token_does_not_verify_under_another_key() {
        for alg in ALL {
            let token = SigningKey::from_jwk(&keys(alg)[0])
                .unwrap()
                .sign(&claims())
                .unwrap();
            let other = generate(alg, alg, "sig", 2048).unwrap();
            let err = verify(&token, &other).unwrap_err();
            assert_eq!(err.status, 400);
            assert!(
                err.full_description().contains("signature is invalid"),
                "{alg}: {err}"
            );
        }
    }

    #[test]
    fn a_tampered_token_fails() {
        for alg in ALL {
            let token = SigningKey::from_jwk(&keys(alg)[0])
                .unwrap()
                .sign(&claims())
                .unwrap();
            let parts: Vec<&str> = token.split('.').collect();
            let forged_claims = b64(br#"{"sub":"mallory","exp":4102444800}"#);
            let tampered = format!("{}.{}.{}", parts[0], forged_claims, parts[2]);
            assert!(verify(&tampered, &[verifier(alg)]).is_err(), "{alg}");
            let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
            sig[5] ^= 1;
            let flipped = format!("{}.{}.{}", parts[0], parts[1], b64(&sig));
            assert!(verify(&flipped, &[verifier(alg)]).is_err(), "{alg}");
        }
    }

    #[test]
    fn alg_none_is_refused() {
        for none in ["none", "None", "NONE"] {
            let token = forge(json!({"alg": none, "kid": "public:RS256"}), &claims(), b"");
            let err = verify(&token, &[verifier("RS256")]).unwrap_err();
            assert!(err.full_description().contains("alg none"), "{err}");
        }
    }

    #[test]
    fn hmac_keyed_with_an_rsa_public_key_is_refused() {
        // The classic confusion: the attacker knows the public key and uses its bytes as an
        // HMAC secret, hoping the verifier follows the header's alg.
        let public = verifier("RS256");
        let pem = key::public_pkey(&public)
            .unwrap()
            .public_key_to_pem()
            .unwrap();
        for secret in [pem, public.n.clone().unwrap().into_bytes()] {
            let header = json!({"alg": "HS256", "kid": "public:RS256", "typ": "JWT"});
            let unsigned = forge(header, &claims(), b"");
            let input = unsigned.trim_end_matches('.');
            let hmac = PKey::hmac(&secret).unwrap();
            let mut signer = Signer::new(MessageDigest::sha256(), &hmac).unwrap();
            signer.update(input.as_bytes()).unwrap();
            let token = format!("{input}.{}", b64(&signer.sign_to_vec().unwrap()));
            let err = verify(&token, std::slice::from_ref(&public)).unwrap_err();
            assert!(err.full_description().contains("does not fit"), "{err}");
        }
        // And an RS256 token is refused by an ES256 key carrying the same kid.
        let token = SigningKey::from_jwk(&keys("RS256")[0])
            .unwrap()
            .sign(&claims())
            .unwrap();
        let mut ec = verifier("ES256");
        ec.kid = Some("public:RS256".into());
        assert!(verify(&token, &[ec]).is_err());
    }

    #[test]
    fn key_selection_follows_the_kid() {
        let token = SigningKey::from_jwk(&keys("ES256")[0])
            .unwrap()
            .sign(&claims())
            .unwrap();
        let set = [verifier("RS256"), verifier("ES512"), verifier("ES256")];
        assert_eq!(verify(&token, &set).unwrap(), claims());
        let err = verify(&token, &set[..2]).unwrap_err();
        assert!(err
            .full_description()
            .contains("No key with the kid 'public:ES256'"));
        // Without a kid every key that fits the alg is tried.
        let signer = SigningKey::from_jwk(&keys("EdDSA")[0]).unwrap();
        let unsigned = forge(json!({"alg": "EdDSA"}), &claims(), b"");
        let input = unsigned.trim_end_matches('.');
        let sig = signer.raw_sign(input.as_bytes()).unwrap();
        let token = format!("{input}.{}", b64(&sig));
        let set = [
            verifier("RS256"),
            generate("EdDSA", "x", "sig", 2048).unwrap()[1].clone(),
            verifier("EdDSA"),
        ];
        assert_eq!(verify(&token, &set).unwrap(), claims());
    }

    #[test]
    fn crit_headers_and_non_object_payloads_are_refused() {
        let signer = SigningKey::from_jwk(&keys("HS256")[0]).unwrap();
        let extra = json!({"crit": ["exp"], "exp": 1});
        let token = signer
            .sign_with_header(extra.as_object().unwrap(), &claims())
            .unwrap();
        assert!(verify(&token, &[verifier("HS256")])
            .unwrap_err()
            .full_description()
            .contains("crit"));
        let header = b64(br#"{"alg":"HS256","kid":"HS256"}"#);
        let input = format!("{header}.{}", b64(b"[1,2]"));
        let sig = signer.raw_sign(input.as_bytes()).unwrap();
        let err = verify(&format!("{input}.{}", b64(&sig)), &[verifier("HS256")]).unwrap_err();
        assert!(
            err.full_description()
                .contains("payload is not a JSON object"),
            "{err}"
        );
    }

    #[test]
    fn garbage_never_panics_and_always_fails() {
        let valid = SigningKey::from_jwk(&keys("ES256")[0])
            .unwrap()
            .sign(&claims())
            .unwrap();
        let parts: Vec<&str> = valid.split('.').collect();
        let long = "A".repeat(100_000);
        let cases = [
            String::new(),
            ".".into(),
            "..".into(),
            "...".into(),
            "a.b.c".into(),
            "a.b".into(),
            format!("{valid}.extra"),
            format!("{}..{}", parts[0], parts[2]),
            format!("{}.{}.", parts[0], parts[1]),
            format!("{}.{}.{}", parts[0], parts[1], &parts[2][..10]),
            format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
            format!("{}.{}.{}", b64(b"[]"), parts[1], parts[2]),
            format!("{}.{}.{}", b64(b"{\"alg\":5}"), parts[1], parts[2]),
            format!(
                "{}.{}.{}",
                b64(br#"{"alg":"ES256","kid":7}"#),
                parts[1],
                parts[2]
            ),
            format!("{}.{}.{}", b64(br#"{"alg":"XS999"}"#), parts[1], parts[2]),
            format!("{}.{}.{}", b64(b"\xff\xfe"), parts[1], parts[2]),
            format!("{long}.{long}.{long}"),
            "é.ü.ñ".into(),
        ];
        let set = [verifier("ES256"), verifier("RS256"), verifier("HS256")];
        for token in &cases {
            let err = verify(token, &set).expect_err(token);
            assert_eq!(err.status, 400, "{token}");
        }
        // Broken keys in the set are errors too, not panics.
        let broken = JsonWebKey {
            kid: Some("public:ES256".into()),
            kty: Some("EC".into()),
            crv: Some("P-256".into()),
            ..Default::default()
        };
        assert!(verify(&valid, &[broken]).is_err());
        assert!(verify(&valid, &[]).is_err());
    }

    #[test]
    fn signing_keys_must_be_private_and_usable() {
        let err = SigningKey::from_jwk(&verifier("RS256")).unwrap_err();
        assert!(err.full_description().contains("public key"));
        // Hydra 1.10.3 stored ES512 keys without alg: the curve decides.
        let mut hydra = keys("ES512")[0].clone();
        hydra.alg = None;
        assert_eq!(SigningKey::from_jwk(&hydra).unwrap().alg(), "ES512");
        let mut wrong = keys("ES512")[0].clone();
        wrong.alg = Some("ES256".into());
        assert!(SigningKey::from_jwk(&wrong).is_err());
        // RFC 7518 §3.2: no HS512 with a 32-byte key.
        let mut short = keys("HS256")[0].clone();
        short.alg = Some("HS512".into());
        assert!(SigningKey::from_jwk(&short).is_err());
        let oct = keys("HS512")[0].clone();
        let shown = format!("{:?}", SigningKey::from_jwk(&oct).unwrap());
        assert!(!shown.contains(oct.k.as_deref().unwrap()), "{shown}");
        assert_eq!(shown, r#"SigningKey { alg: HS512, kid: "HS512", .. }"#);
    }

    #[test]
    fn pss_round_trips_with_an_imported_key() {
        let mut private = keys("RS256")[0].clone();
        private.alg = Some("PS256".into());
        let token = SigningKey::from_jwk(&private)
            .unwrap()
            .sign(&claims())
            .unwrap();
        assert_eq!(segments(&token)[0]["alg"], "PS256");
        assert_eq!(verify(&token, &[private.clone()]).unwrap(), claims());
        // A key that names RS256 does not accept PS256, and vice versa.
        assert!(verify(&token, &[verifier("RS256")]).is_err());
    }

    mod interop {
        use super::*;
        use jsonwebtoken::{
            decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
        };

        fn validation(alg: Algorithm) -> Validation {
            let mut v = Validation::new(alg);
            v.required_spec_claims.clear();
            v
        }

        #[test]
        fn our_tokens_verify_with_jsonwebtoken() {
            let public = verifier("RS256");
            let rsa = DecodingKey::from_rsa_components(
                public.n.as_deref().unwrap(),
                public.e.as_deref().unwrap(),
            )
            .unwrap();
            let public_ec = verifier("ES256");
            let ec = DecodingKey::from_ec_components(
                public_ec.x.as_deref().unwrap(),
                public_ec.y.as_deref().unwrap(),
            )
            .unwrap();
            let ed =
                DecodingKey::from_ed_components(verifier("EdDSA").x.as_deref().unwrap()).unwrap();
            for (alg, key, their_alg) in [
                ("RS256", rsa, Algorithm::RS256),
                ("ES256", ec, Algorithm::ES256),
                ("EdDSA", ed, Algorithm::EdDSA),
            ] {
                let token = SigningKey::from_jwk(&keys(alg)[0])
                    .unwrap()
                    .sign(&claims())
                    .unwrap();
                let data = decode::<Value>(&token, &key, &validation(their_alg)).unwrap();
                assert_eq!(data.claims, claims(), "{alg}");
                assert_eq!(
                    data.header.kid.as_deref(),
                    Some(format!("public:{alg}").as_str())
                );
            }
        }

        #[test]
        fn jsonwebtoken_rs256_tokens_verify_with_ours() {
            let private = key::private_pkey(&keys("RS256")[0]).unwrap();
            let pem = private.rsa().unwrap().private_key_to_pem().unwrap();
            let mut header = Header::new(Algorithm::RS256);
            header.kid = Some("public:RS256".into());
            let token = encode(
                &header,
                &claims(),
                &EncodingKey::from_rsa_pem(&pem).unwrap(),
            )
            .unwrap();
            assert_eq!(verify(&token, &[verifier("RS256")]).unwrap(), claims());
            assert_eq!(verify(&token, keys("RS256")).unwrap(), claims());
        }
    }
}
