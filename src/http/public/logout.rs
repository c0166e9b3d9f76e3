//! `GET`/`POST /oauth2/sessions/logout` (hydra-reference §2.2, §4.7) and the built-in
//! "logged out" page `urls.post_logout_redirect` points to when it is not configured. The
//! decisions are `consent::logout`'s; this file renders them: redirects, the front-channel
//! page, errors to `urls.error`, and back-channel failures into the metrics.

use crate::config::Config;
use crate::consent::logout::{self, LogoutCtx, LogoutOutcome, LogoutParams};
use crate::error::Error;
use crate::http::cookies::{jar, set_cookie};
use crate::http::html::{escape, pairs};
use crate::http::AppState;
use crate::oauth2::authorize::response::error_params;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use url::Url;

/// How long the front-channel page waits for the iframes before it moves on (Hydra: 7 s).
const FRONTCHANNEL_WAIT_SECONDS: u32 = 7;

fn redirect(to: &Url) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(to.as_str()) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// An error for `urls.error` (hydra-reference §4.6: logout errors never go to a client).
fn error_redirect(e: &Error, config: &Config) -> Response {
    if e.status >= 500 {
        tracing::error!(error = %e, "logout failed");
    } else {
        tracing::debug!(error = %e, "logout refused");
    }
    let mut to = config.urls.error.clone();
    to.query_pairs_mut().extend_pairs(error_params(e, config));
    redirect(&to)
}

/// Front-Channel Logout 1.0 §4: one invisible iframe per RP, then on to the target once they
/// all loaded (or after a timeout, or by hand). Every URL is HTML-escaped, and the script
/// reads the target from the link's attribute, so no value is ever written into JavaScript.
fn frontchannel_page(frames: &[Url], to: &Url) -> Response {
    let target = escape(to.as_str());
    let iframes: String = frames
        .iter()
        .map(|f| {
            format!(
                "<iframe style=\"display: none;\" onload=\"done()\" src=\"{}\"></iframe>\n",
                escape(f.as_str())
            )
        })
        .collect();
    let wait = FRONTCHANNEL_WAIT_SECONDS;
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Logging out...</title>\n\
         <meta http-equiv=\"refresh\" content=\"{wait}; URL={target}\">\n\
         <script>\nvar pending = {count};\n\
         function go() {{ window.location.replace(document.getElementById('target').getAttribute('href')); }}\n\
         function done() {{ pending--; if (pending <= 0) {{ go(); }} }}\n\
         setTimeout(go, {wait}000);\n</script>\n</head><body>\n\
         <p>Logging you out, this may take a few seconds. Please do not close this window.</p>\n\
         <p id=\"link\" style=\"display: none;\"><a id=\"target\" href=\"{target}\">Click here if you are not redirected automatically</a></p>\n\
         {iframes}\
         <script>setTimeout(function () {{ document.getElementById('link').style.display = 'block'; }}, 2000);</script>\n\
         </body></html>\n",
        count = frames.len(),
    );
    ([(header::CONTENT_TYPE, "text/html;charset=UTF-8")], html).into_response()
}

fn render(outcome: LogoutOutcome, s: &AppState) -> Response {
    for (_, delivery) in &outcome.backchannel {
        if let Some(reason) = delivery.failure() {
            s.metrics.backchannel_logout_failed(reason);
        }
    }
    let mut response = if outcome.frontchannel.is_empty() {
        redirect(&outcome.to)
    } else {
        frontchannel_page(&outcome.frontchannel, &outcome.to)
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for c in &outcome.cookies {
        if let Ok(v) = HeaderValue::from_str(&set_cookie(c, &s.config)) {
            headers.append(header::SET_COOKIE, v);
        }
    }
    response
}

async fn handle(
    s: &AppState,
    params: Vec<(String, String)>,
    raw_query: &str,
    headers: &HeaderMap,
) -> Response {
    let jar = jar(headers);
    let ctx = LogoutCtx {
        store: &s.db,
        keys: &s.keys,
        config: &s.config,
        cookie_keys: &s.cookie_keys,
        jar: &jar,
    };
    // Hydra records the request's path and query (`r.URL.String()`).
    let request_url = if raw_query.is_empty() {
        "/oauth2/sessions/logout".to_string()
    } else {
        format!("/oauth2/sessions/logout?{raw_query}")
    };
    let params = LogoutParams::from_pairs(&params);
    match logout::logout(&ctx, &params, &request_url, s.clock.now()).await {
        Ok(outcome) => render(outcome, s),
        Err(e) => {
            let mut response = error_redirect(&e, &s.config);
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
    }
}

/// `GET /oauth2/sessions/logout` (`disconnectUser`).
pub async fn disconnect_user_get(
    State(s): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let raw_query = query.unwrap_or_default();
    handle(&s, pairs(&raw_query), &raw_query, &headers).await
}

/// `POST /oauth2/sessions/logout`: query and form parameters together (the query first).
pub async fn disconnect_user_post(
    State(s): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let raw_query = query.unwrap_or_default();
    let mut params = pairs(&raw_query);
    params.extend(pairs(&String::from_utf8_lossy(&body)));
    handle(&s, params, &raw_query, &headers).await
}

/// `GET /oauth2/fallbacks/logout/callback`: the default `urls.post_logout_redirect`.
pub async fn fallback_logout_callback() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html;charset=UTF-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>You are logged out</title></head><body>\n<h1>You are logged out</h1>\n<p>You have been logged out successfully. You may close this window.</p>\n<p>This page is shown because <code>urls.post_logout_redirect</code> is not configured.</p>\n</body></html>\n",
    )
        .into_response()
}
