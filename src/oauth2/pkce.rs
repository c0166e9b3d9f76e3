//! PKCE at the token endpoint (RFC 7636 §4.5–§4.6, hydra-reference §5.7): the `code_verifier`
//! of a code exchange against the `code_challenge` bound to the code. Only `S256` exists here:
//! the authorization endpoint refuses `plain` and absent methods, so every stored challenge
//! is an S256 one. Every failure is `invalid_grant`, as in fosite.
//! May import: `error`.

use crate::error::Error;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// RFC 7636 §4.1: `code-verifier = 43*128unreserved`.
const VERIFIER_LEN: std::ops::RangeInclusive<usize> = 43..=128;

/// RFC 7636 §4.1: `unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"`.
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// RFC 7636 §4.2: `code_challenge = BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`.
pub fn s256(verifier: &str) -> String {
    B64.encode(Sha256::digest(verifier.as_bytes()))
}

/// Checks the token request's `code_verifier` against the code's `challenge` (empty when the
/// authorization request carried none). An empty `code_verifier` counts as absent.
pub fn verify(challenge: &str, verifier: Option<&str>) -> Result<(), Error> {
    let verifier = verifier.filter(|v| !v.is_empty());
    let verifier = match (challenge.is_empty(), verifier) {
        (true, None) => return Ok(()),
        // RFC 9700 §4.8.2: a verifier for a code issued without a challenge is a downgrade
        // attempt (fosite compares it with the empty challenge and fails the same way).
        (true, Some(_)) => {
            return Err(Error::invalid_grant().hint(
                "The PKCE code verifier was sent, but the authorization request carried no code challenge.",
            ))
        }
        // RFC 7636 §4.6: the server "MUST verify" the verifier, so it must be there.
        (false, None) => {
            return Err(Error::invalid_grant().hint(
                "The PKCE code challenge was set in the authorization request, but the code verifier is missing.",
            ))
        }
        (false, Some(v)) => v,
    };
    if !VERIFIER_LEN.contains(&verifier.len()) || !verifier.bytes().all(unreserved) {
        return Err(Error::invalid_grant()
            .hint("The PKCE code verifier must be 43 to 128 characters of [A-Za-z0-9-._~]."));
    }
    // RFC 7636 §4.6: "If the values are not equal, an error response indicating
    // 'invalid_grant' as described in Section 5.2 of [RFC6749] MUST be returned."
    if !bool::from(s256(verifier).as_bytes().ct_eq(challenge.as_bytes())) {
        return Err(
            Error::invalid_grant().hint("The PKCE code challenge did not match the code verifier.")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn s256_matches_the_rfc_example() {
        assert_eq!(s256(VERIFIER), CHALLENGE);
    }

    #[test]
    fn verification_table() {
        let long_ok = "a".repeat(128);
        let long_ok_challenge = s256(&long_ok);
        let cases: Vec<(&str, &str, Option<&str>, bool)> = vec![
            ("no PKCE at all", "", None, true),
            ("empty verifier counts as absent", "", Some(""), true),
            ("matching verifier", CHALLENGE, Some(VERIFIER), true),
            ("128 characters", &long_ok_challenge, Some(&long_ok), true),
            (
                "downgrade: verifier without challenge",
                "",
                Some(VERIFIER),
                false,
            ),
            ("challenge without verifier", CHALLENGE, None, false),
            ("challenge with empty verifier", CHALLENGE, Some(""), false),
            (
                "wrong verifier",
                CHALLENGE,
                Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj"),
                false,
            ),
            (
                "plain: the challenge itself",
                CHALLENGE,
                Some(CHALLENGE),
                false,
            ),
        ];
        for (name, challenge, verifier, ok) in cases {
            let got = verify(challenge, verifier);
            assert_eq!(got.is_ok(), ok, "{name}");
            if let Err(e) = got {
                assert_eq!(
                    (e.name.as_ref(), e.status),
                    ("invalid_grant", 400),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn verifier_syntax_is_checked_even_when_it_would_match() {
        for bad in [
            "a".repeat(42),
            "a".repeat(129),
            format!("{} ", "a".repeat(43)),
            format!("{}+", "a".repeat(43)),
            format!("{}/", "a".repeat(43)),
            format!("{}é", "a".repeat(43)),
        ] {
            assert!(verify(&s256(&bad), Some(&bad)).is_err(), "{bad:?}");
        }
        let odd = format!("{}-._~", "Az09".repeat(10));
        assert!(verify(&s256(&odd), Some(&odd)).is_ok());
    }
}
