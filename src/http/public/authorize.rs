//! `GET`/`POST /oauth2/auth` (hydra-reference §2.2, §4) and the built-in fallback pages that
//! `urls.login`, `urls.consent` and `urls.error` point to when they are not configured.

use crate::config::Config;
use crate::http::cookies::{jar, set_cookie};
use crate::http::html::{escape, pairs};
use crate::http::AppState;
use crate::oauth2::authorize::response::Delivery;
use crate::oauth2::authorize::{self, request::AuthorizeRequest, Answer, AuthorizeCtx};
use crate::oauth2::Params;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

fn render(answer: Answer, config: &Config) -> Response {
    let mut response = match answer.delivery {
        Delivery::Redirect(location) => {
            let mut response = StatusCode::FOUND.into_response();
            if let Ok(v) = HeaderValue::from_str(location.as_str()) {
                response.headers_mut().insert(header::LOCATION, v);
            }
            response
        }
        Delivery::FormPost { action, params } => form_post(&action, &params),
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for c in &answer.cookies {
        if let Ok(v) = HeaderValue::from_str(&set_cookie(c, config)) {
            headers.append(header::SET_COOKIE, v);
        }
    }
    response
}

/// OAuth 2.0 Form Post Response Mode §2: a page that POSTs the response to the client as soon
/// as it loads (a button when scripts are off). Every value is HTML-escaped.
fn form_post(action: &url::Url, params: &[(String, String)]) -> Response {
    let inputs: String = params
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\"/>\n",
                escape(k),
                escape(v)
            )
        })
        .collect();
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Submit This Form</title></head>\n<body onload=\"javascript:document.forms[0].submit()\">\n<form method=\"post\" action=\"{}\">\n{inputs}<noscript><button type=\"submit\">Continue</button></noscript>\n</form>\n</body></html>\n",
        escape(action.as_str())
    );
    (
        [
            (header::CONTENT_TYPE, "text/html;charset=UTF-8"),
            (header::PRAGMA, "no-cache"),
        ],
        html,
    )
        .into_response()
}

async fn handle(s: &AppState, req: AuthorizeRequest, headers: &HeaderMap) -> Response {
    let ctx = AuthorizeCtx {
        store: &s.db,
        engine: &s.engine,
        keys: &s.keys,
        config: &s.config,
        cookie_keys: &s.cookie_keys,
    };
    let answer = authorize::authorize(&ctx, &req, &jar(headers), s.clock.now()).await;
    render(answer, &s.config)
}

/// `GET /oauth2/auth`.
pub async fn oauth2_auth_get(
    State(s): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let raw_query = query.unwrap_or_default();
    let req = AuthorizeRequest {
        params: Params {
            params: pairs(&raw_query),
        },
        raw_query,
    };
    handle(&s, req, &headers).await
}

/// `POST /oauth2/auth`: query and form parameters together; only the query becomes part of
/// the login request's `request_url`, as in Hydra.
pub async fn oauth2_auth_post(
    State(s): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let raw_query = query.unwrap_or_default();
    let mut params = pairs(&raw_query);
    params.extend(pairs(&String::from_utf8_lossy(&body)));
    let req = AuthorizeRequest {
        params: Params { params },
        raw_query,
    };
    handle(&s, req, &headers).await
}

fn page(title: &str, body: String) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head><body>\n<h1>{}</h1>\n{body}</body></html>\n",
        escape(title),
        escape(title)
    );
    (
        [
            (header::CONTENT_TYPE, "text/html;charset=UTF-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

/// `GET /oauth2/fallbacks/error`: the built-in error page (`urls.error` unset). Every
/// reflected value is HTML-escaped.
pub async fn fallback_error(RawQuery(query): RawQuery) -> Response {
    let params = pairs(&query.unwrap_or_default());
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| escape(v))
            .unwrap_or_default()
    };
    page(
        "An error occurred",
        format!(
            "<p><code>{}</code></p>\n<p>{}</p>\n<p>{}</p>\n",
            get("error"),
            get("error_description"),
            get("error_hint")
        ),
    )
}

/// `GET /oauth2/fallbacks/login|consent|logout`: shown when the corresponding `urls.*` key is
/// not configured.
pub async fn fallback_unconfigured(uri: axum::http::Uri) -> Response {
    let what = uri
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    page(
        &format!("The {what} provider is not configured"),
        format!(
            "<p>This server has no {what} user interface. Set <code>urls.{what}</code> in the configuration (environment variable <code>URLS_{}</code>) to the address of your {what} app.</p>\n",
            escape(&what.to_uppercase())
        ),
    )
}
