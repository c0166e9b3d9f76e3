//! The example app's user list: e-mail (the subject), password and display name, given as
//! `EMAIL:PASSWORD[:NAME]`; one demo user when none is given. Passwords are compared in
//! constant time; this is a demo directory, not a password store.
//! May import: nothing from this crate.

use serde_json::{json, Map, Value};
use subtle::ConstantTimeEq;

/// The demo user's e-mail and password, the same as Hydra's reference login app.
pub const DEMO_EMAIL: &str = "foo@bar.com";
pub const DEMO_PASSWORD: &str = "foobar";

/// One user who can log in.
#[derive(Clone)]
pub struct User {
    /// The login name and the subject sent to the server.
    pub email: String,
    password: String,
    pub name: String,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("email", &self.email)
            .field("password", &"[redacted]")
            .field("name", &self.name)
            .finish()
    }
}

impl User {
    /// Reads `EMAIL:PASSWORD[:NAME]`.
    pub fn parse(spec: &str) -> Result<User, String> {
        let mut parts = spec.splitn(3, ':');
        let email = parts.next().unwrap_or_default().trim();
        let password = parts.next().unwrap_or_default();
        let name = parts.next().unwrap_or_default().trim();
        if email.is_empty() || password.is_empty() {
            return Err(format!(
                "a user is EMAIL:PASSWORD[:NAME], with neither part empty: {:?}",
                email
            ));
        }
        Ok(User {
            email: email.to_string(),
            password: password.to_string(),
            name: if name.is_empty() {
                email.to_string()
            } else {
                name.to_string()
            },
        })
    }

    /// The default demo user.
    pub fn demo() -> User {
        User {
            email: DEMO_EMAIL.into(),
            password: DEMO_PASSWORD.into(),
            name: "Demo User".into(),
        }
    }

    /// The password as given, for printing the demo credentials at start.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// Whether `password` is this user's (constant time).
    pub fn check(&self, password: &str) -> bool {
        bool::from(self.password.as_bytes().ct_eq(password.as_bytes()))
    }

    /// The profile claims for the ID token, as far as `scopes` grant them (OIDC Core §5.4:
    /// `email` → email, email_verified; `profile` → name).
    pub fn claims(&self, scopes: &[String]) -> Map<String, Value> {
        let mut claims = Map::new();
        if scopes.iter().any(|s| s == "email") {
            claims.insert("email".into(), json!(self.email));
            claims.insert("email_verified".into(), json!(true));
        }
        if scopes.iter().any(|s| s == "profile") {
            claims.insert("name".into(), json!(self.name));
        }
        claims
    }
}

/// The user whose e-mail is `email` (ASCII case-insensitive).
pub fn find<'a>(users: &'a [User], email: &str) -> Option<&'a User> {
    users
        .iter()
        .find(|u| u.email.eq_ignore_ascii_case(email.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_parse_and_check_passwords() {
        let u = User::parse("ann@example.com:s3cret:Ann Example").unwrap();
        assert_eq!(
            (u.email.as_str(), u.name.as_str()),
            ("ann@example.com", "Ann Example")
        );
        assert!(u.check("s3cret"));
        let u = User::parse("ann@example.com:pw").unwrap();
        assert_eq!(u.name, "ann@example.com");
        assert!(u.check("pw") && !u.check("pw ") && !u.check(""));
        for bad in ["", "ann", "ann:", ":pw"] {
            assert!(User::parse(bad).is_err(), "{bad:?}");
        }
        assert!(!format!("{u:?}").contains("pw\""));
        let users = [User::demo()];
        assert!(find(&users, " FOO@bar.com").is_some());
        assert!(find(&users, "bar@foo.com").is_none());
    }

    #[test]
    fn claims_follow_the_granted_scopes() {
        let u = User::demo();
        assert!(u.claims(&["openid".into()]).is_empty());
        let c = u.claims(&["openid".into(), "email".into(), "profile".into()]);
        assert_eq!(
            Value::Object(c),
            json!({"email": "foo@bar.com", "email_verified": true, "name": "Demo User"})
        );
    }
}
