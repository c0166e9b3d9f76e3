//! The flow's cookies (hydra-reference §4.1): names, and values signed with `secrets.cookie`
//! (falling back to `secrets.system`) so a browser cannot forge a session id or a CSRF value.
//! Values are `b64url(payload) "." b64url(HMAC-SHA-256(key, name "|" payload))`: binding the
//! name stops a value being replayed under another cookie. The first key signs, every key
//! verifies (rotation). Hydra's gorilla encoding is opaque to clients, so only
//! self-consistency matters.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The authentication-session cookie (carries the `sid`).
pub const AUTH_SESSION: &str = "oauth2_authentication_session";
/// Prefix of the per-challenge login CSRF cookies.
pub const LOGIN_CSRF: &str = "oauth2_authentication_csrf";
/// Prefix of the per-challenge consent CSRF cookies.
pub const CONSENT_CSRF: &str = "oauth2_consent_csrf";

/// Cookie names for one listener: `_insecure` suffix over plain HTTP, as Hydra.
#[derive(Debug, Clone, Copy)]
pub struct Names {
    pub insecure: bool,
}

impl Names {
    fn base(&self, name: &str) -> String {
        if self.insecure {
            format!("{name}_insecure")
        } else {
            name.to_string()
        }
    }

    pub fn auth_session(&self) -> String {
        self.base(AUTH_SESSION)
    }

    /// One CSRF cookie per challenge, so two flows in two tabs do not overwrite each other's
    /// (a deliberate difference from 1.10.3, as upstream 2.x). The suffix is derived from the
    /// challenge, which is public anyway (it travels in the login URL).
    pub fn login_csrf(&self, challenge: &str) -> String {
        format!("{}_{}", self.base(LOGIN_CSRF), tag(challenge))
    }

    pub fn consent_csrf(&self, challenge: &str) -> String {
        format!("{}_{}", self.base(CONSENT_CSRF), tag(challenge))
    }
}

fn tag(challenge: &str) -> String {
    let digest = Sha256::digest(challenge.as_bytes());
    digest[..5].iter().map(|b| format!("{b:02x}")).collect()
}

/// A cookie the response must set or clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCookie {
    pub name: String,
    pub value: String,
    /// `None`: a browser-session cookie. `Some(0)` clears the cookie.
    pub max_age: Option<i64>,
}

impl SetCookie {
    pub fn clear(name: String) -> SetCookie {
        SetCookie {
            name,
            value: String::new(),
            max_age: Some(0),
        }
    }
}

/// The signing keys: SHA-256 of each secret, the first one signs.
#[derive(Clone)]
pub struct CookieKeys {
    keys: Vec<[u8; 32]>,
}

impl std::fmt::Debug for CookieKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CookieKeys({} keys, [redacted])", self.keys.len())
    }
}

impl CookieKeys {
    pub fn new<S: AsRef<str>>(secrets: &[S]) -> CookieKeys {
        CookieKeys {
            keys: secrets
                .iter()
                .map(|s| Sha256::digest(s.as_ref().as_bytes()).into())
                .collect(),
        }
    }

    fn mac(key: &[u8; 32], name: &str, payload: &str) -> Vec<u8> {
        let Ok(mut mac) = <HmacSha256 as Mac>::new_from_slice(key) else {
            unreachable!("HMAC takes keys of any length")
        };
        mac.update(name.as_bytes());
        mac.update(b"|");
        mac.update(payload.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// `payload` signed for cookie `name`.
    pub fn seal(&self, name: &str, payload: &str) -> String {
        let mac = self
            .keys
            .first()
            .map(|k| Self::mac(k, name, payload))
            .unwrap_or_default();
        format!("{}.{}", B64.encode(payload), B64.encode(mac))
    }

    /// The payload of a value sealed for `name`, if its signature verifies under any key.
    pub fn open(&self, name: &str, value: &str) -> Option<String> {
        let (payload, mac) = value.split_once('.')?;
        let payload = String::from_utf8(B64.decode(payload).ok()?).ok()?;
        let mac = B64.decode(mac).ok()?;
        self.keys
            .iter()
            .any(|k| bool::from(Self::mac(k, name, &payload).ct_eq(&mac)))
            .then_some(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_under_their_name_and_keys() {
        let keys = CookieKeys::new(&["a-long-enough-secret"]);
        let v = keys.seal("c1", "sid-1");
        assert_eq!(keys.open("c1", &v).as_deref(), Some("sid-1"));
        assert_eq!(keys.open("c2", &v), None);
        assert_eq!(CookieKeys::new(&["another-secret!!"]).open("c1", &v), None);
        let rotated = CookieKeys::new(&["new-secret-value", "a-long-enough-secret"]);
        assert_eq!(rotated.open("c1", &v).as_deref(), Some("sid-1"));
        assert_eq!(keys.open("c1", "garbage"), None);
        assert_eq!(keys.open("c1", &v.replace('.', "")), None);
    }

    #[test]
    fn names_follow_hydra_with_a_per_challenge_csrf_suffix() {
        let n = Names { insecure: true };
        assert_eq!(n.auth_session(), "oauth2_authentication_session_insecure");
        assert!(n
            .login_csrf("abc")
            .starts_with("oauth2_authentication_csrf_insecure_"));
        assert_ne!(n.login_csrf("abc"), n.login_csrf("abd"));
        assert_eq!(
            Names { insecure: false }.consent_csrf("x").len(),
            "oauth2_consent_csrf_".len() + 10
        );
    }
}
