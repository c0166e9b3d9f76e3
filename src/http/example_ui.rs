//! The HTTP side of the example login/consent/logout app ([`crate::example_ui`]): its routes,
//! the CSRF cookie, and [`serve`], which runs it on an already-bound listener. It has its own
//! listener and none of the server's state: the app reaches the server over HTTP only.
//! May import: `example_ui`, `http::html`, `http::cookies`.

use super::cookies::jar;
use super::html::pairs;
use crate::example_ui::{ExampleUi, Reply, CSRF_COOKIE};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Form bodies of this app are small.
const BODY_LIMIT: usize = 64 * 1024;

/// The app's router: `/`, `/login`, `/consent`, `/logout` (GET and POST), `/callback`.
pub fn router(ui: Arc<ExampleUi>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login).post(login_submit))
        .route("/consent", get(consent).post(consent_submit))
        .route("/logout", get(logout).post(logout_submit))
        .route("/callback", get(callback))
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(ui)
}

/// Serves the app on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    ui: Arc<ExampleUi>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(ui))
        .with_graceful_shutdown(shutdown)
        .await
}

type Ui = State<Arc<ExampleUi>>;

/// The browser's CSRF cookie, or a new one to set.
fn csrf_cookie(headers: &HeaderMap) -> (String, bool) {
    match jar(headers).remove(CSRF_COOKIE).filter(|c| !c.is_empty()) {
        Some(c) => (c, false),
        None => (ExampleUi::new_csrf_cookie(), true),
    }
}

fn existing_cookie(headers: &HeaderMap) -> Option<String> {
    jar(headers).remove(CSRF_COOKIE).filter(|c| !c.is_empty())
}

fn query_param(query: &Option<String>, name: &str) -> Option<String> {
    pairs(query.as_deref().unwrap_or_default())
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Renders a reply; `new_cookie` is set as the CSRF cookie when given.
fn respond(reply: Reply, new_cookie: Option<&str>) -> Response {
    let mut response = match reply {
        Reply::Page(status, html) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut r = (status, html).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            r
        }
        Reply::Redirect(to) => match HeaderValue::from_str(&to) {
            Ok(location) => {
                let mut r = StatusCode::SEE_OTHER.into_response();
                r.headers_mut().insert(header::LOCATION, location);
                r
            }
            Err(_) => (
                StatusCode::BAD_GATEWAY,
                "the server sent an invalid redirect",
            )
                .into_response(),
        },
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src http: https:; frame-ancestors 'none'"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if let Some(cookie) = new_cookie {
        let value = format!("{CSRF_COOKIE}={cookie}; Path=/; HttpOnly; SameSite=Lax");
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.append(header::SET_COOKIE, v);
        }
    }
    response
}

async fn home(State(ui): Ui) -> Response {
    respond(ui.home(), None)
}

async fn not_found() -> Response {
    respond(Reply::Page(404, crate::example_ui::not_found_page()), None)
}

async fn login(State(ui): Ui, RawQuery(q): RawQuery, headers: HeaderMap) -> Response {
    let (cookie, new) = csrf_cookie(&headers);
    let reply = ui
        .login(query_param(&q, "login_challenge").as_deref(), &cookie)
        .await;
    respond(reply, new.then_some(cookie.as_str()))
}

async fn login_submit(State(ui): Ui, headers: HeaderMap, body: String) -> Response {
    let reply = ui
        .login_submit(&pairs(&body), existing_cookie(&headers).as_deref())
        .await;
    respond(reply, None)
}

async fn consent(State(ui): Ui, RawQuery(q): RawQuery, headers: HeaderMap) -> Response {
    let (cookie, new) = csrf_cookie(&headers);
    let reply = ui
        .consent(query_param(&q, "consent_challenge").as_deref(), &cookie)
        .await;
    respond(reply, new.then_some(cookie.as_str()))
}

async fn consent_submit(State(ui): Ui, headers: HeaderMap, body: String) -> Response {
    let reply = ui
        .consent_submit(&pairs(&body), existing_cookie(&headers).as_deref())
        .await;
    respond(reply, None)
}

async fn logout(State(ui): Ui, RawQuery(q): RawQuery, headers: HeaderMap) -> Response {
    let (cookie, new) = csrf_cookie(&headers);
    let reply = ui
        .logout(query_param(&q, "logout_challenge").as_deref(), &cookie)
        .await;
    respond(reply, new.then_some(cookie.as_str()))
}

async fn logout_submit(State(ui): Ui, headers: HeaderMap, body: String) -> Response {
    let reply = ui
        .logout_submit(&pairs(&body), existing_cookie(&headers).as_deref())
        .await;
    respond(reply, None)
}

async fn callback(State(ui): Ui, RawQuery(q): RawQuery) -> Response {
    let reply = ui.callback(&pairs(q.as_deref().unwrap_or_default())).await;
    respond(reply, None)
}
