//! The `id_token_hint` of an RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2,
//! hydra-reference §4.7): an ID token this server issued, expired or not. The signature is
//! checked by `jwk::jws::verify` against the ID-token keys; this file checks the claims.

use crate::error::Error;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// What a verified hint tells the logout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub subject: String,
    pub sid: String,
    /// `aud`, in order: the first registered client among them initiated the logout.
    pub audience: Vec<String>,
}

fn refuse(hint: &str) -> Error {
    Error::invalid_request().hint(hint.to_string())
}

fn text<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Checks the claims of a hint whose signature verified. Expiry is deliberately not checked
/// (RP-Initiated Logout §2: "The OP SHOULD accept ID Tokens when the RP identified by the ID
/// Token's aud claim and/or sid claim has a current session or had a recent session at the
/// OP, even when the exp time has passed.").
pub fn check(claims: &Value, issuer: &str, now: DateTime<Utc>) -> Result<Hint, Error> {
    let Value::Object(claims) = claims else {
        return Err(refuse("The 'id_token_hint' carries no claims."));
    };
    // RP-Initiated Logout §2: the hint is an ID token previously issued by this OP.
    if text(claims, "iss") != Some(issuer) {
        return Err(refuse(
            "Logout failed because the 'iss' claim of the 'id_token_hint' does not match this server's issuer.",
        ));
    }
    let iat = match claims.get("iat") {
        Some(Value::Number(n)) => n.as_f64(),
        _ => None,
    };
    match iat {
        None => {
            return Err(refuse(
                "Logout failed because the 'id_token_hint' has no 'iat' claim.",
            ))
        }
        Some(iat) if iat > now.timestamp() as f64 => {
            return Err(refuse(
                "Logout failed because the 'id_token_hint' was issued in the future.",
            ))
        }
        Some(_) => {}
    }
    let sid = text(claims, "sid").ok_or_else(|| {
        refuse("Logout failed because the 'id_token_hint' has no 'sid' claim (session id).")
    })?;
    let subject = text(claims, "sub")
        .ok_or_else(|| refuse("Logout failed because the 'id_token_hint' has no 'sub' claim."))?;
    let audience = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    if audience.is_empty() {
        return Err(refuse(
            "Logout failed because the 'id_token_hint' has no 'aud' claim.",
        ));
    }
    Ok(Hint {
        subject: subject.to_string(),
        sid: sid.to_string(),
        audience,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    const ISS: &str = "https://auth.example/";

    fn good() -> Value {
        json!({"iss": ISS, "sub": "alice", "sid": "s-1", "aud": ["rp", "api"],
            "iat": 1_700_000_000, "exp": 1_600_000_000})
    }

    fn with(name: &str, value: Value) -> Value {
        let mut c = good();
        if value.is_null() {
            c.as_object_mut().unwrap().remove(name);
        } else {
            c[name] = value;
        }
        c
    }

    #[test]
    fn hints_are_checked_claim_by_claim() {
        let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        assert_eq!(
            check(&good(), ISS, now).unwrap(),
            Hint {
                subject: "alice".into(),
                sid: "s-1".into(),
                audience: vec!["rp".into(), "api".into()]
            }
        );
        assert_eq!(
            check(&with("aud", json!("rp")), ISS, now).unwrap().audience,
            ["rp"]
        );
        let refused = [
            ("wrong issuer", with("iss", json!("https://evil.example/"))),
            (
                "issuer without slash",
                with("iss", json!("https://auth.example")),
            ),
            ("no iat", with("iat", Value::Null)),
            ("iat in the future", with("iat", json!(1_700_000_001))),
            ("iat not a number", with("iat", json!("1"))),
            ("no sid", with("sid", Value::Null)),
            ("empty sid", with("sid", json!(""))),
            ("no sub", with("sub", Value::Null)),
            ("no aud", with("aud", Value::Null)),
            ("empty aud", with("aud", json!([]))),
            ("not an object", json!(["x"])),
        ];
        for (name, claims) in refused {
            let e = check(&claims, ISS, now).unwrap_err();
            assert_eq!(
                (e.name.as_ref(), e.status),
                ("invalid_request", 400),
                "{name}"
            );
        }
    }
}
