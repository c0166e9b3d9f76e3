//! The row side of the flow tables: row structs, their conversions to the consent models,
//! the JSON text columns (lists, maps, contexts, `error`), and a request read together with
//! its answer in one `SELECT` (`joined_select`, `LoginJoinRow`, `ConsentJoinRow`).

use crate::consent::model::{
    AuthSession, ConsentRequest, HandledConsent, HandledLogin, LoginRequest, OidcContext,
    RequestDenied,
};
use crate::store::list;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::{Map, Value};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::FromRow;

pub(super) fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    Utc.from_utc_datetime(&t)
}

pub(super) fn map(text: &str) -> Map<String, Value> {
    serde_json::from_str(text).unwrap_or_default()
}

pub(super) fn map_json(m: &Map<String, Value>) -> String {
    serde_json::to_string(m).unwrap_or_else(|_| "{}".into())
}

/// A `context` column: `null` is stored as `{}` (the column's default, as Hydra writes it).
pub(super) fn context_json(v: &Value) -> String {
    if v.is_null() {
        return "{}".into();
    }
    serde_json::to_string(v).unwrap_or_else(|_| "{}".into())
}

pub(super) fn context(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::Object(Map::new()))
}

pub(super) fn oidc(text: &str) -> OidcContext {
    serde_json::from_str(text).unwrap_or_default()
}

pub(super) fn oidc_json(c: &OidcContext) -> String {
    serde_json::to_string(c).unwrap_or_else(|_| "{}".into())
}

/// An `error` column: `{}` when accepted, else the reject payload.
pub(super) fn error_json(e: &Option<RequestDenied>) -> String {
    match e {
        None => "{}".into(),
        Some(e) => serde_json::to_string(e).unwrap_or_else(|_| "{}".into()),
    }
}

/// Reads an `error` column leniently: rows Hydra wrote may carry members we do not model.
pub(super) fn error(text: &str) -> Option<RequestDenied> {
    let Ok(Value::Object(m)) = serde_json::from_str::<Value>(text) else {
        return None;
    };
    if m.is_empty() {
        return None;
    }
    let s = |k: &str| {
        m.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let status = m.get("status_code").and_then(Value::as_u64).unwrap_or(0);
    Some(RequestDenied {
        error: s("error"),
        error_description: s("error_description"),
        error_hint: s("error_hint"),
        error_debug: s("error_debug"),
        status_code: u16::try_from(status).unwrap_or(0),
    })
}

#[derive(sqlx::FromRow)]
pub(super) struct SessionRow {
    id: String,
    authenticated_at: Option<NaiveDateTime>,
    subject: String,
    remember: bool,
    expires_at: Option<NaiveDateTime>,
}

impl From<SessionRow> for AuthSession {
    fn from(r: SessionRow) -> AuthSession {
        AuthSession {
            id: r.id,
            authenticated_at: r.authenticated_at.map(utc),
            subject: r.subject,
            remember: r.remember,
            expires_at: r.expires_at.map(utc),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct LoginRow {
    challenge: String,
    verifier: String,
    csrf: String,
    requested_scope: String,
    requested_at_audience: String,
    subject: String,
    request_url: String,
    skip: bool,
    client_id: String,
    requested_at: NaiveDateTime,
    authenticated_at: Option<NaiveDateTime>,
    oidc_context: String,
    login_session_id: Option<String>,
}

pub(super) const LOGIN_COLUMNS: &str =
    "challenge, verifier, csrf, requested_scope, requested_at_audience, \
    subject, request_url, skip, client_id, requested_at, authenticated_at, oidc_context, \
    login_session_id";

impl From<LoginRow> for LoginRequest {
    fn from(r: LoginRow) -> LoginRequest {
        LoginRequest {
            challenge: r.challenge,
            verifier: r.verifier,
            csrf: r.csrf,
            requested_scope: list(&r.requested_scope),
            requested_audience: list(&r.requested_at_audience),
            subject: r.subject,
            request_url: r.request_url,
            skip: r.skip,
            client_id: r.client_id,
            requested_at: utc(r.requested_at),
            authenticated_at: r.authenticated_at.map(utc),
            oidc_context: oidc(&r.oidc_context),
            session_id: r.login_session_id.unwrap_or_default(),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct HandledLoginRow {
    challenge: String,
    subject: String,
    remember: bool,
    remember_for: i64,
    error: String,
    acr: String,
    requested_at: NaiveDateTime,
    authenticated_at: Option<NaiveDateTime>,
    was_used: bool,
    forced_subject_identifier: String,
    context: String,
}

pub(super) const HANDLED_LOGIN_COLUMNS: &str =
    "challenge, subject, remember, remember_for, error, acr, \
    requested_at, authenticated_at, was_used, forced_subject_identifier, context";

impl From<HandledLoginRow> for HandledLogin {
    fn from(r: HandledLoginRow) -> HandledLogin {
        HandledLogin {
            challenge: r.challenge,
            subject: r.subject,
            remember: r.remember,
            remember_for: r.remember_for,
            error: error(&r.error),
            acr: r.acr,
            requested_at: utc(r.requested_at),
            authenticated_at: r.authenticated_at.map(utc),
            was_used: r.was_used,
            forced_subject_identifier: r.forced_subject_identifier,
            context: context(&r.context),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ConsentRow {
    challenge: String,
    verifier: String,
    csrf: String,
    client_id: String,
    subject: String,
    request_url: String,
    skip: bool,
    requested_scope: String,
    requested_at_audience: String,
    authenticated_at: Option<NaiveDateTime>,
    requested_at: NaiveDateTime,
    oidc_context: String,
    forced_subject_identifier: String,
    login_session_id: Option<String>,
    login_challenge: Option<String>,
    acr: String,
    context: String,
}

pub(super) const CONSENT_COLUMNS: &str =
    "challenge, verifier, csrf, client_id, subject, request_url, skip, \
    requested_scope, requested_at_audience, authenticated_at, requested_at, oidc_context, \
    forced_subject_identifier, login_session_id, login_challenge, acr, context";

impl From<ConsentRow> for ConsentRequest {
    fn from(r: ConsentRow) -> ConsentRequest {
        ConsentRequest {
            challenge: r.challenge,
            verifier: r.verifier,
            csrf: r.csrf,
            client_id: r.client_id,
            subject: r.subject,
            request_url: r.request_url,
            skip: r.skip,
            requested_scope: list(&r.requested_scope),
            requested_audience: list(&r.requested_at_audience),
            authenticated_at: r.authenticated_at.map(utc),
            requested_at: utc(r.requested_at),
            oidc_context: oidc(&r.oidc_context),
            forced_subject_identifier: r.forced_subject_identifier,
            login_session_id: r.login_session_id,
            login_challenge: r.login_challenge,
            acr: r.acr,
            context: context(&r.context),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct HandledConsentRow {
    challenge: String,
    granted_scope: String,
    granted_at_audience: String,
    remember: bool,
    remember_for: i64,
    error: String,
    requested_at: NaiveDateTime,
    authenticated_at: Option<NaiveDateTime>,
    session_access_token: String,
    session_id_token: String,
    was_used: bool,
    handled_at: Option<NaiveDateTime>,
}

pub(super) const HANDLED_CONSENT_COLUMNS: &str =
    "challenge, granted_scope, granted_at_audience, remember, \
    remember_for, error, requested_at, authenticated_at, session_access_token, session_id_token, \
    was_used, handled_at";

impl From<HandledConsentRow> for HandledConsent {
    fn from(r: HandledConsentRow) -> HandledConsent {
        HandledConsent {
            challenge: r.challenge,
            granted_scope: list(&r.granted_scope),
            granted_audience: list(&r.granted_at_audience),
            remember: r.remember,
            remember_for: r.remember_for,
            error: error(&r.error),
            requested_at: utc(r.requested_at),
            authenticated_at: r.authenticated_at.map(utc),
            session_access_token: map(&r.session_access_token),
            session_id_token: map(&r.session_id_token),
            was_used: r.was_used,
            handled_at: r.handled_at.map(utc),
        }
    }
}

/// `r.<c> AS <c>, ...` for the request's columns and `h.<c> AS h_<c>, ...` for its answer's,
/// from `<request> r <join> <handled> h ON h.challenge = r.challenge`: one statement reads a
/// request together with its answer. Append the `WHERE`.
pub(super) fn joined_select(
    request: &str,
    request_columns: &str,
    join: &str,
    handled: &str,
    handled_columns: &str,
) -> String {
    format!(
        "SELECT {} FROM {request} r {join} {handled} h ON h.challenge = r.challenge",
        joined_columns(request_columns, handled_columns)
    )
}

/// The columns of a joined row: the request's (`r.*`) as they are, the answer's (`h.*`) as
/// `h_*`.
pub(super) fn joined_columns(request_columns: &str, handled_columns: &str) -> String {
    let columns = |prefix: &str, alias: &str, list: &str| {
        list.split(',')
            .map(str::trim)
            .map(|c| format!("{prefix}.{c} AS {alias}{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "{}, {}",
        columns("r", "", request_columns),
        columns("h", "h_", handled_columns)
    )
}

/// A row both backends decode.
pub(super) trait Decoded:
    for<'r> FromRow<'r, PgRow> + for<'r> FromRow<'r, SqliteRow> + Send + Unpin
{
}

impl<T> Decoded for T where
    T: for<'r> FromRow<'r, PgRow> + for<'r> FromRow<'r, SqliteRow> + Send + Unpin
{
}

/// A request read with its answer ([`joined_select`]); the answer's columns are all NULL
/// while the request is unanswered (`LEFT JOIN`).
pub(super) trait Joined: Decoded {
    type Request;
    type Handled;
    fn challenge(&self) -> &str;
    /// `None` unanswered, else whether the answer's verifier was spent.
    fn was_used(&self) -> Option<bool>;
    fn into_parts(self) -> (Self::Request, Option<Self::Handled>);
}

/// [`LoginRow`] with the `h_` columns of its [`HandledLoginRow`].
#[derive(sqlx::FromRow)]
pub(super) struct LoginJoinRow {
    #[sqlx(flatten)]
    request: LoginRow,
    h_challenge: Option<String>,
    h_subject: Option<String>,
    h_remember: Option<bool>,
    h_remember_for: Option<i64>,
    h_error: Option<String>,
    h_acr: Option<String>,
    h_requested_at: Option<NaiveDateTime>,
    h_authenticated_at: Option<NaiveDateTime>,
    h_was_used: Option<bool>,
    h_forced_subject_identifier: Option<String>,
    h_context: Option<String>,
}

impl Joined for LoginJoinRow {
    type Request = LoginRequest;
    type Handled = HandledLogin;

    fn challenge(&self) -> &str {
        &self.request.challenge
    }

    fn was_used(&self) -> Option<bool> {
        self.h_challenge.as_ref().and(self.h_was_used)
    }

    fn into_parts(self) -> (LoginRequest, Option<HandledLogin>) {
        let handled = (|| {
            Some(HandledLoginRow {
                challenge: self.h_challenge?,
                subject: self.h_subject?,
                remember: self.h_remember?,
                remember_for: self.h_remember_for?,
                error: self.h_error?,
                acr: self.h_acr?,
                requested_at: self.h_requested_at?,
                authenticated_at: self.h_authenticated_at,
                was_used: self.h_was_used?,
                forced_subject_identifier: self.h_forced_subject_identifier?,
                context: self.h_context?,
            })
        })();
        (self.request.into(), handled.map(Into::into))
    }
}

/// [`ConsentRow`] with the `h_` columns of its [`HandledConsentRow`].
#[derive(sqlx::FromRow)]
pub(super) struct ConsentJoinRow {
    #[sqlx(flatten)]
    request: ConsentRow,
    h_challenge: Option<String>,
    h_granted_scope: Option<String>,
    h_granted_at_audience: Option<String>,
    h_remember: Option<bool>,
    h_remember_for: Option<i64>,
    h_error: Option<String>,
    h_requested_at: Option<NaiveDateTime>,
    h_authenticated_at: Option<NaiveDateTime>,
    h_session_access_token: Option<String>,
    h_session_id_token: Option<String>,
    h_was_used: Option<bool>,
    h_handled_at: Option<NaiveDateTime>,
}

impl Joined for ConsentJoinRow {
    type Request = ConsentRequest;
    type Handled = HandledConsent;

    fn challenge(&self) -> &str {
        &self.request.challenge
    }

    fn was_used(&self) -> Option<bool> {
        self.h_challenge.as_ref().and(self.h_was_used)
    }

    fn into_parts(self) -> (ConsentRequest, Option<HandledConsent>) {
        let handled = (|| {
            Some(HandledConsentRow {
                challenge: self.h_challenge?,
                granted_scope: self.h_granted_scope?,
                granted_at_audience: self.h_granted_at_audience?,
                remember: self.h_remember?,
                remember_for: self.h_remember_for?,
                error: self.h_error?,
                requested_at: self.h_requested_at?,
                authenticated_at: self.h_authenticated_at,
                session_access_token: self.h_session_access_token?,
                session_id_token: self.h_session_id_token?,
                was_used: self.h_was_used?,
                handled_at: self.h_handled_at,
            })
        })();
        (self.request.into(), handled.map(Into::into))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_column_reads_accepted_rejected_and_foreign_rows() {
        let cases: [(&str, &str, Option<RequestDenied>); 4] = [
            ("accepted", "{}", None),
            ("garbage", "not json", None),
            (
                "ours",
                r#"{"error":"access_denied","error_description":"d","error_hint":"h","error_debug":"x","status_code":403}"#,
                Some(RequestDenied {
                    error: "access_denied".into(),
                    error_description: "d".into(),
                    error_hint: "h".into(),
                    error_debug: "x".into(),
                    status_code: 403,
                }),
            ),
            (
                "hydra row with extra members",
                r#"{"error":"login_required","status_code":400,"valid":true}"#,
                Some(RequestDenied {
                    error: "login_required".into(),
                    status_code: 400,
                    ..Default::default()
                }),
            ),
        ];
        for (name, text, expected) in cases {
            assert_eq!(error(text), expected, "{name}");
        }
        let denied = Some(RequestDenied::default());
        assert_eq!(
            error(&error_json(&denied)),
            denied,
            "an empty rejection stays a rejection"
        );
        assert_eq!(error_json(&None), "{}");
    }

    #[test]
    fn null_context_is_stored_as_an_empty_object() {
        assert_eq!(context_json(&Value::Null), "{}");
        assert_eq!(
            context(&context_json(&serde_json::json!({"a": [1]}))),
            serde_json::json!({"a": [1]})
        );
    }

    #[test]
    fn params_number_every_column() {
        use crate::store::{column_count as count, placeholders};
        assert_eq!(placeholders(1, 3), "$1, $2, $3");
        assert_eq!(placeholders(6, 2), "$6, $7");
        assert_eq!(count(LOGIN_COLUMNS), 13);
        assert_eq!(count(HANDLED_LOGIN_COLUMNS), 11);
        assert_eq!(count(CONSENT_COLUMNS), 17);
        assert_eq!(count(HANDLED_CONSENT_COLUMNS), 12);
    }
}
