//! The JWS algorithms (RFC 7518 §3.1, RFC 8037 §3.1) and which keys each may use: binding
//! the algorithm to the key's `kty`/`crv`/`alg` is what keeps `jws::verify` safe from
//! algorithm confusion (RFC 8725 §3.1).

use crate::error::Error;
use crate::jwk::key::{invalid, JsonWebKey};
use openssl::hash::MessageDigest;

/// The JWS algorithms we sign and verify with (RFC 7518 §3.1, RFC 8037 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    ES512,
    EdDSA,
    HS256,
    HS384,
    HS512,
}

/// Each algorithm with its JOSE name.
const NAMES: [(Alg, &str); 13] = [
    (Alg::RS256, "RS256"),
    (Alg::RS384, "RS384"),
    (Alg::RS512, "RS512"),
    (Alg::PS256, "PS256"),
    (Alg::PS384, "PS384"),
    (Alg::PS512, "PS512"),
    (Alg::ES256, "ES256"),
    (Alg::ES384, "ES384"),
    (Alg::ES512, "ES512"),
    (Alg::EdDSA, "EdDSA"),
    (Alg::HS256, "HS256"),
    (Alg::HS384, "HS384"),
    (Alg::HS512, "HS512"),
];

impl Alg {
    /// The algorithm named by a JOSE `alg` value; `none` is not one of them.
    pub fn from_name(name: &str) -> Option<Alg> {
        NAMES.iter().find(|(_, n)| *n == name).map(|(alg, _)| *alg)
    }

    /// The JOSE `alg` value.
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(alg, _)| *alg == self)
            .map_or("", |(_, n)| n)
    }

    /// The hash; EdDSA hashes internally (RFC 8032).
    pub(super) fn digest(self) -> MessageDigest {
        use Alg::*;
        match self {
            RS256 | PS256 | ES256 | HS256 | EdDSA => MessageDigest::sha256(),
            RS384 | PS384 | ES384 | HS384 => MessageDigest::sha384(),
            RS512 | PS512 | ES512 | HS512 => MessageDigest::sha512(),
        }
    }

    pub(super) fn is_pss(self) -> bool {
        matches!(self, Alg::PS256 | Alg::PS384 | Alg::PS512)
    }

    /// RFC 7518 §3.4: the width of r and of s in a JOSE ECDSA signature.
    pub(super) fn ec_size(self) -> Option<usize> {
        match self {
            Alg::ES256 => Some(32),
            Alg::ES384 => Some(48),
            Alg::ES512 => Some(66),
            _ => None,
        }
    }

    /// The `(kty, crv)` a key must have to be used with this algorithm. Binding the
    /// algorithm to the key type is what defeats algorithm confusion (RFC 8725 §3.1).
    pub(super) fn key_type(self) -> (&'static str, Option<&'static str>) {
        use Alg::*;
        match self {
            RS256 | RS384 | RS512 | PS256 | PS384 | PS512 => ("RSA", None),
            ES256 => ("EC", Some("P-256")),
            ES384 => ("EC", Some("P-384")),
            ES512 => ("EC", Some("P-521")),
            EdDSA => ("OKP", Some("Ed25519")),
            HS256 | HS384 | HS512 => ("oct", None),
        }
    }

    /// Whether `jwk` may be used with this algorithm: the key type fits and, when the key
    /// names an `alg`, it is this one (RFC 7517 §4.4).
    pub(super) fn fits(self, jwk: &JsonWebKey) -> bool {
        let (kty, crv) = self.key_type();
        jwk.kty.as_deref() == Some(kty)
            && (crv.is_none() || jwk.crv.as_deref() == crv)
            && jwk.alg.as_deref().is_none_or(|a| a == self.name())
    }

    /// RFC 7518 §3.2: "A key of the same size as the hash output ... or larger MUST be used".
    pub(super) fn hmac_min_bytes(self) -> usize {
        self.digest().size()
    }
}

/// The algorithm of a stored key: its `alg`, or for a key without one (Hydra 1.10.3 wrote
/// ES512 keys without `alg`) the only one its curve allows; RSA defaults to RS256.
pub(super) fn key_alg(jwk: &JsonWebKey) -> Result<Alg, Error> {
    let alg = match (jwk.alg.as_deref(), jwk.kty.as_deref(), jwk.crv.as_deref()) {
        (Some(name), _, _) => Alg::from_name(name),
        (None, Some("RSA"), _) => Some(Alg::RS256),
        (None, Some("EC"), Some("P-256")) => Some(Alg::ES256),
        (None, Some("EC"), Some("P-384")) => Some(Alg::ES384),
        (None, Some("EC"), Some("P-521")) => Some(Alg::ES512),
        (None, Some("OKP"), Some("Ed25519")) => Some(Alg::EdDSA),
        _ => None,
    };
    match alg {
        Some(alg) if alg.fits(jwk) => Ok(alg),
        _ => Err(invalid(format!(
            "The key \"{}\" cannot sign JWTs: its alg is missing, unsupported or does not fit its kty and crv.",
            jwk.kid.as_deref().unwrap_or_default()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_none_is_no_algorithm() {
        for (alg, name) in NAMES {
            assert_eq!((Alg::from_name(name), alg.name()), (Some(alg), name));
        }
        for name in ["none", "", "rs256", "HS1", "ES256K", "RSA-OAEP"] {
            assert_eq!(Alg::from_name(name), None, "{name}");
        }
    }

    #[test]
    fn a_key_without_alg_gets_the_only_one_its_type_allows() {
        let key = |kty: &str, crv: Option<&str>, alg: Option<&str>| JsonWebKey {
            kty: Some(kty.into()),
            crv: crv.map(Into::into),
            alg: alg.map(Into::into),
            ..JsonWebKey::default()
        };
        let cases = [
            (key("RSA", None, None), Some(Alg::RS256)),
            (key("RSA", None, Some("PS384")), Some(Alg::PS384)),
            (key("EC", Some("P-256"), None), Some(Alg::ES256)),
            (key("EC", Some("P-384"), None), Some(Alg::ES384)),
            (key("EC", Some("P-521"), None), Some(Alg::ES512)),
            (key("OKP", Some("Ed25519"), None), Some(Alg::EdDSA)),
            (key("oct", None, Some("HS384")), Some(Alg::HS384)),
            (key("oct", None, None), None),
            (key("EC", Some("P-521"), Some("ES256")), None),
            (key("RSA", None, Some("HS256")), None),
            (key("OKP", Some("X25519"), None), None),
        ];
        for (jwk, expected) in cases {
            assert_eq!(key_alg(&jwk).ok(), expected, "{jwk:?}");
        }
    }
}
