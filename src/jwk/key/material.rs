//! Turning JWK members into openssl keys, with the rules RFC 7518 §6 (and RFC 8037 for
//! Ed25519) puts on each member: which members a `kty` has, their encodings and sizes, and
//! whether the private part belongs to the public one. Shared by `key::check` (imports) and
//! `jws` (signing and verification), so a key is read the same way everywhere.

use super::{crypto_failed, invalid, JsonWebKey, RSA_MAX_BITS, RSA_MIN_BITS};
use crate::error::Error;
use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey};
use openssl::error::ErrorStack;
use openssl::hash::{hash, MessageDigest};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, PKeyRef, Private, Public};
use openssl::rsa::{Rsa, RsaPrivateKeyBuilder};
use openssl::sign::{Signer, Verifier};
use openssl::x509::X509;

/// Bounds on symmetric (`oct`) keys: 128 bits at least, and nothing absurd.
pub(crate) const OCT_MIN_BYTES: usize = 16;
pub(crate) const OCT_MAX_BYTES: usize = 512;

/// RFC 7515 §2 base64url is unpadded; go-jose (Hydra) also reads padded members, so do we.
const MEMBER: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn decode(name: &str, value: &Option<String>) -> Result<Vec<u8>, Error> {
    let value = value
        .as_deref()
        .ok_or_else(|| invalid(format!("The JWK is missing the member \"{name}\".")))?;
    MEMBER
        .decode(value)
        .map_err(|_| invalid(format!("The JWK member \"{name}\" is not valid base64url.")))
}

fn number(name: &str, value: &Option<String>) -> Result<BigNum, Error> {
    BigNum::from_slice(&decode(name, value)?).map_err(crypto_failed)
}

/// RFC 7518 §6.2.1.2, §6.2.2.1, RFC 8037 §2: fixed-size members.
fn fixed(name: &str, value: &Option<String>, size: usize) -> Result<Vec<u8>, Error> {
    let bytes = decode(name, value)?;
    if bytes.len() != size {
        return Err(invalid(format!(
            "The JWK member \"{name}\" must be {size} bytes long for this curve (RFC 7518 §6.2, RFC 8037 §2)."
        )));
    }
    Ok(bytes)
}

/// Accepts a `kty` only with the members RFC 7518 §6 defines for it, so that nothing
/// (a stray `k` on an RSA key, say) rides along unnoticed.
pub(crate) fn check_members(jwk: &JsonWebKey, kty: &str) -> Result<(), Error> {
    let allowed: &[&str] = match kty {
        "RSA" => &["n", "e", "d", "p", "q", "dp", "dq", "qi"],
        "EC" => &["crv", "x", "y", "d"],
        "OKP" => &["crv", "x", "d"],
        "oct" => &["k"],
        "" => return Err(invalid("The JWK is missing the member \"kty\".")),
        other => {
            return Err(invalid(format!(
                "The JWK kty \"{other}\" is not supported; use RSA, EC, OKP or oct."
            )))
        }
    };
    let members = [
        ("crv", &jwk.crv),
        ("x", &jwk.x),
        ("y", &jwk.y),
        ("n", &jwk.n),
        ("e", &jwk.e),
        ("d", &jwk.d),
        ("p", &jwk.p),
        ("q", &jwk.q),
        ("dp", &jwk.dp),
        ("dq", &jwk.dq),
        ("qi", &jwk.qi),
        ("k", &jwk.k),
    ];
    for (name, value) in members {
        if value.is_some() && !allowed.contains(&name) {
            return Err(invalid(format!(
                "The JWK member \"{name}\" does not belong to a key of kty {kty}."
            )));
        }
    }
    let certificates = jwk.x5c.is_some() || jwk.x5t.is_some() || jwk.x5t_s256.is_some();
    if kty == "oct" && certificates {
        return Err(invalid(
            "A symmetric (oct) key cannot carry x5c, x5t or x5t#S256.",
        ));
    }
    // RFC 7518 §6.3.2: "If the producer includes any of the other private key parameters,
    // then all of the others MUST be present".
    let crt = [&jwk.p, &jwk.q, &jwk.dp, &jwk.dq, &jwk.qi];
    let present = crt.iter().filter(|m| m.is_some()).count();
    let complete = present == 0 || present == crt.len() && jwk.d.is_some();
    if kty == "RSA" && !complete {
        return Err(invalid(
            "An RSA private key has d and either all of p, q, dp, dq and qi or none of them (RFC 7518 §6.3.2).",
        ));
    }
    Ok(())
}

fn kty(jwk: &JsonWebKey) -> Result<&str, Error> {
    let kty = jwk.kty.as_deref().unwrap_or_default();
    check_members(jwk, kty)?;
    Ok(kty)
}

/// The modulus and exponent, within the sizes we accept.
fn rsa_public_numbers(jwk: &JsonWebKey) -> Result<(BigNum, BigNum), Error> {
    let (n, e) = (number("n", &jwk.n)?, number("e", &jwk.e)?);
    let bits = n.num_bits();
    if bits < RSA_MIN_BITS as i32 || bits > RSA_MAX_BITS as i32 || !n.is_bit_set(0) {
        return Err(invalid(format!(
            "The RSA modulus n must be an odd number of {RSA_MIN_BITS} to {RSA_MAX_BITS} bits; it has {bits}."
        )));
    }
    // A huge exponent makes every verification slow; openssl caps it at 64 bits too.
    if !e.is_bit_set(0) || e.num_bits() < 2 || e.num_bits() > 64 {
        return Err(invalid(
            "The RSA exponent e must be an odd number between 3 and 2^64.",
        ));
    }
    Ok((n, e))
}

/// The curve named by `crv` and its coordinate size in bytes (RFC 7518 §6.2.1.1).
fn ec_curve(jwk: &JsonWebKey) -> Result<(EcGroup, usize), Error> {
    let (nid, size) = match jwk.crv.as_deref() {
        Some("P-256") => (Nid::X9_62_PRIME256V1, 32),
        Some("P-384") => (Nid::SECP384R1, 48),
        Some("P-521") => (Nid::SECP521R1, 66),
        Some(other) => {
            return Err(invalid(format!(
                "The EC curve \"{other}\" is not supported; use P-256, P-384 or P-521."
            )))
        }
        None => return Err(invalid("The JWK is missing the member \"crv\".")),
    };
    Ok((EcGroup::from_curve_name(nid).map_err(crypto_failed)?, size))
}

fn ec_public(jwk: &JsonWebKey) -> Result<(EcKey<Public>, usize), Error> {
    let (group, size) = ec_curve(jwk)?;
    let x = BigNum::from_slice(&fixed("x", &jwk.x, size)?).map_err(crypto_failed)?;
    let y = BigNum::from_slice(&fixed("y", &jwk.y, size)?).map_err(crypto_failed)?;
    // openssl refuses a point off the curve here: no invalid-curve attacks through our JWKS.
    let key = EcKey::from_public_key_affine_coordinates(&group, &x, &y)
        .map_err(|_| invalid("The EC point (x, y) is not on the curve named by crv."))?;
    Ok((key, size))
}

fn ed25519_public(jwk: &JsonWebKey) -> Result<Vec<u8>, Error> {
    match jwk.crv.as_deref() {
        Some("Ed25519") => fixed("x", &jwk.x, 32),
        Some(other) => Err(invalid(format!(
            "The OKP curve \"{other}\" is not supported; use Ed25519."
        ))),
        None => Err(invalid("The JWK is missing the member \"crv\".")),
    }
}

fn no_public_part() -> Error {
    invalid("A symmetric (oct) key has no public part.")
}

/// The public key the members describe (a private key's public members are used).
pub(crate) fn public_pkey(jwk: &JsonWebKey) -> Result<PKey<Public>, Error> {
    let key = match kty(jwk)? {
        "RSA" => {
            let (n, e) = rsa_public_numbers(jwk)?;
            Rsa::from_public_components(n, e).and_then(PKey::from_rsa)
        }
        "EC" => PKey::from_ec_key(ec_public(jwk)?.0),
        "OKP" => PKey::public_key_from_raw_bytes(&ed25519_public(jwk)?, Id::ED25519),
        _ => return Err(no_public_part()),
    };
    key.map_err(crypto_failed)
}

/// The private key the members describe. EC and Ed25519 private parts are checked against
/// the public members here (it costs one scalar multiplication); an RSA key's CRT members
/// only in [`check_private`], because that test is expensive and stored keys were checked
/// when they were imported or generated.
pub(crate) fn private_pkey(jwk: &JsonWebKey) -> Result<PKey<Private>, Error> {
    match kty(jwk)? {
        "RSA" => {
            let (n, e) = rsa_public_numbers(jwk)?;
            let d = number("d", &jwk.d)?;
            let mut builder = RsaPrivateKeyBuilder::new(n, e, d).map_err(crypto_failed)?;
            if jwk.p.is_some() {
                let (p, q) = (number("p", &jwk.p)?, number("q", &jwk.q)?);
                let (dp, dq) = (number("dp", &jwk.dp)?, number("dq", &jwk.dq)?);
                let qi = number("qi", &jwk.qi)?;
                builder = builder
                    .set_factors(p, q)
                    .and_then(|b| b.set_crt_params(dp, dq, qi))
                    .map_err(crypto_failed)?;
            }
            PKey::from_rsa(builder.build()).map_err(crypto_failed)
        }
        "EC" => {
            let (public, size) = ec_public(jwk)?;
            let d = BigNum::from_slice(&fixed("d", &jwk.d, size)?).map_err(crypto_failed)?;
            let key = EcKey::from_private_components(public.group(), &d, public.public_key())
                .map_err(crypto_failed)?;
            // Checks 0 < d < order and d·G = (x, y).
            key.check_key().map_err(|_| {
                invalid("The EC private key d does not match the public point (x, y).")
            })?;
            PKey::from_ec_key(key).map_err(crypto_failed)
        }
        "OKP" => {
            let x = ed25519_public(jwk)?;
            let d = fixed("d", &jwk.d, 32)?;
            let key = PKey::private_key_from_raw_bytes(&d, Id::ED25519).map_err(crypto_failed)?;
            if key.raw_public_key().map_err(crypto_failed)? != x {
                return Err(invalid(
                    "The Ed25519 private key d does not match the public key x.",
                ));
            }
            Ok(key)
        }
        _ => Err(no_public_part()),
    }
}

/// The bytes of a symmetric key, `min` to [`OCT_MAX_BYTES`] long.
pub(crate) fn oct_secret(jwk: &JsonWebKey, min: usize) -> Result<Vec<u8>, Error> {
    if kty(jwk)? != "oct" {
        return Err(invalid("The JWK is not a symmetric (oct) key."));
    }
    let k = decode("k", &jwk.k)?;
    if k.len() < min || k.len() > OCT_MAX_BYTES {
        return Err(invalid(format!(
            "The symmetric key k must be {min} to {OCT_MAX_BYTES} bytes long; it has {}.",
            k.len()
        )));
    }
    Ok(k)
}

/// Proves that the private members belong to the public ones: for a full RSA key the CRT
/// arithmetic (openssl's CRT signing would otherwise silently fall back to d and hide a bad
/// member), then a pairwise sign/verify test for every type. RSA_check_key would also test
/// p and q for primality, which takes 0.3 s for a 4096-bit key and proves nothing about
/// whether the members belong together.
pub(crate) fn check_private(jwk: &JsonWebKey, public: &PKeyRef<Public>) -> Result<(), Error> {
    let private = private_pkey(jwk)?;
    if jwk.p.is_some() && !matches!(rsa_crt_consistent(jwk), Ok(true)) {
        return Err(invalid(
            "The RSA private members do not belong together or to the modulus n.",
        ));
    }
    const MESSAGE: &[u8] = b"portcullis pairwise consistency test";
    let pairwise = || -> Result<bool, ErrorStack> {
        if private.id() == Id::ED25519 {
            let sig = Signer::new_without_digest(&private)?.sign_oneshot_to_vec(MESSAGE)?;
            return Verifier::new_without_digest(public)?.verify_oneshot(&sig, MESSAGE);
        }
        let mut signer = Signer::new(MessageDigest::sha256(), &private)?;
        signer.update(MESSAGE)?;
        let sig = signer.sign_to_vec()?;
        let mut verifier = Verifier::new(MessageDigest::sha256(), public)?;
        verifier.update(MESSAGE)?;
        verifier.verify(&sig)
    };
    match pairwise() {
        Ok(true) => Ok(()),
        _ => Err(invalid(
            "The private members of the JWK do not match its public members.",
        )),
    }
}

/// RFC 8017 §3.2: n = p·q, dP = d mod (p-1), dQ = d mod (q-1), qInv·q ≡ 1 (mod p).
fn rsa_crt_consistent(jwk: &JsonWebKey) -> Result<bool, Error> {
    let [n, d, p, q, dp, dq, qi] = [
        ("n", &jwk.n),
        ("d", &jwk.d),
        ("p", &jwk.p),
        ("q", &jwk.q),
        ("dp", &jwk.dp),
        ("dq", &jwk.dq),
        ("qi", &jwk.qi),
    ]
    .map(|(name, value)| number(name, value));
    let (n, d, p, q) = (n?, d?, p?, q?);
    let (dp, dq, qi) = (dp?, dq?, qi?);
    let arithmetic = || -> Result<bool, ErrorStack> {
        let mut ctx = BigNumContext::new()?;
        let one = BigNum::from_u32(1)?;
        let (mut t, mut p1, mut q1) = (BigNum::new()?, BigNum::new()?, BigNum::new()?);
        t.checked_mul(&p, &q, &mut ctx)?;
        if t != n {
            return Ok(false);
        }
        p1.checked_sub(&p, &one)?;
        q1.checked_sub(&q, &one)?;
        t.nnmod(&d, &p1, &mut ctx)?;
        if t != dp {
            return Ok(false);
        }
        t.nnmod(&d, &q1, &mut ctx)?;
        if t != dq {
            return Ok(false);
        }
        t.mod_mul(&qi, &q, &p, &mut ctx)?;
        Ok(t == one)
    };
    // A zero or one factor makes the modular arithmetic fail: that is a mismatch too.
    Ok(arithmetic().unwrap_or(false))
}

/// RFC 7517 §4.7-4.9: `x5c` is standard base64 (not base64url) DER, "The key in the first
/// certificate MUST match the public key represented by other members of the JWK", and
/// `x5t`/`x5t#S256` are the SHA-1/SHA-256 thumbprints of that certificate.
pub(crate) fn check_certificates(jwk: &JsonWebKey, public: &PKeyRef<Public>) -> Result<(), Error> {
    let mut first_der = None;
    for (i, entry) in jwk.x5c.iter().flatten().enumerate() {
        let der = STANDARD.decode(entry).map_err(|_| {
            invalid(format!(
                "The x5c entry {i} is not standard base64 (RFC 7517 §4.7)."
            ))
        })?;
        let cert = X509::from_der(&der)
            .map_err(|_| invalid(format!("The x5c entry {i} is not a DER X.509 certificate.")))?;
        if i == 0 {
            let key = cert.public_key().map_err(crypto_failed)?;
            if !key.public_eq(public) {
                return Err(invalid(
                    "The first x5c certificate holds another key than the JWK (RFC 7517 §4.7).",
                ));
            }
            first_der = Some(der);
        }
    }
    if jwk.x5c.as_ref().is_some_and(|c| c.is_empty()) {
        return Err(invalid("The JWK member \"x5c\" holds no certificate."));
    }
    let der = first_der.as_deref();
    check_thumbprint("x5t", &jwk.x5t, MessageDigest::sha1(), der)?;
    check_thumbprint("x5t#S256", &jwk.x5t_s256, MessageDigest::sha256(), der)
}

fn check_thumbprint(
    name: &str,
    value: &Option<String>,
    md: MessageDigest,
    der: Option<&[u8]>,
) -> Result<(), Error> {
    if value.is_none() {
        return Ok(());
    }
    let given = decode(name, value)?;
    let matches = match der {
        Some(der) => hash(md, der).map_err(crypto_failed)?.as_ref() == given.as_slice(),
        None => given.len() == md.size(),
    };
    if !matches {
        return Err(invalid(format!(
            "The JWK member \"{name}\" is not the thumbprint of the first x5c certificate."
        )));
    }
    Ok(())
}
