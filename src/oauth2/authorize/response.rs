//! Authorization responses (RFC 6749 §4.1.2, §4.1.2.1; OAuth 2.0 Multiple Response Types §2):
//! where the browser goes with a code or an error.

use super::request::ResponseMode;
use crate::config::Config;
use crate::error::Error;
use url::Url;

/// How the browser carries a response to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// A 302 to this URL.
    Redirect(Url),
    /// An auto-submitting HTML form POSTing `params` to `action` (Form Post Response Mode).
    FormPost {
        action: Url,
        params: Vec<(String, String)>,
    },
}

/// `params` for `redirect_uri`, delivered in `mode`. In the query, the redirect URI's own
/// parameters are kept (RFC 6749 §3.1.2) and everything is re-encoded, keys sorted.
pub fn deliver(redirect_uri: &Url, mode: ResponseMode, params: &[(&str, String)]) -> Delivery {
    let mut url = redirect_uri.clone();
    match mode {
        ResponseMode::FormPost => {
            return Delivery::FormPost {
                action: url,
                params: params
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            }
        }
        ResponseMode::Query => {
            let mut all: Vec<(String, String)> = redirect_uri
                .query_pairs()
                .filter(|(k, _)| !params.iter().any(|(p, _)| p == k))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            all.extend(params.iter().map(|(k, v)| (k.to_string(), v.clone())));
            all.sort_by(|a, b| a.0.cmp(&b.0));
            url.set_query(None);
            url.query_pairs_mut().extend_pairs(all);
        }
        ResponseMode::Fragment => {
            let encoded = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
                .finish();
            url.set_fragment(Some(&encoded));
        }
    }
    Delivery::Redirect(url)
}

/// RFC 6749 §4.1.2.1: `error_description` and `error_hint` use %x20-21 / %x23-5B / %x5D-7E;
/// anything else a request reflected into them (quotes, backslashes, control characters) goes.
fn clean(text: &str) -> String {
    text.chars()
        .filter(|c| matches!(*c, '\x20'..='\x7e') && *c != '"' && *c != '\\')
        .collect()
}

/// The error parameters as fosite writes them: `error` and `error_description` (with the
/// hint), plus `error_hint`/`status_code` in the legacy format and `error_debug` only when
/// internal errors are exposed.
pub fn error_params(err: &Error, config: &Config) -> Vec<(&'static str, String)> {
    let mut out = vec![("error", err.name.to_string())];
    if config.oauth2.include_legacy_error_fields {
        out.push((
            "error_description",
            clean(&err.description.replace('"', "'")),
        ));
        if let Some(hint) = &err.hint {
            out.push(("error_hint", clean(hint)));
        }
    } else {
        out.push(("error_description", clean(&err.full_description())));
    }
    if config.oauth2.expose_internal_errors {
        if let Some(debug) = &err.debug {
            out.push(("error_debug", debug.clone()));
        }
    }
    out
}

/// An error that cannot go to the client: to `urls.error` with the error parameters.
pub fn to_error_page(err: &Error, config: &Config) -> Delivery {
    let mut url = config.urls.error.clone();
    url.query_pairs_mut()
        .extend_pairs(error_params(err, config));
    Delivery::Redirect(url)
}

/// An error for the client's redirect URI, `state` included.
pub fn to_client(
    err: &Error,
    config: &Config,
    redirect_uri: &Url,
    mode: ResponseMode,
    state: &str,
) -> Delivery {
    let mut params = error_params(err, config);
    params.push(("state", state.to_string()));
    deliver(redirect_uri, mode, &params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_keeps_existing_parameters_and_sorts() {
        let r = Url::parse("https://app/cb?z=1&a=2").unwrap();
        let u = deliver(
            &r,
            ResponseMode::Query,
            &[("code", "c d".into()), ("state", "s".into())],
        );
        let expected = Url::parse("https://app/cb?a=2&code=c+d&state=s&z=1").unwrap();
        assert_eq!(u, Delivery::Redirect(expected));
    }

    #[test]
    fn form_post_carries_the_parameters_unencoded() {
        let r = Url::parse("https://app/cb").unwrap();
        let u = deliver(&r, ResponseMode::FormPost, &[("state", "a b".into())]);
        assert_eq!(
            u,
            Delivery::FormPost {
                action: r,
                params: vec![("state".into(), "a b".into())]
            }
        );
    }

    #[test]
    fn error_descriptions_keep_only_the_allowed_characters() {
        assert_eq!(clean("a\"b\\c\r\n\td é"), "abcd ");
    }

    #[test]
    fn fragment_leaves_the_query_alone() {
        let r = Url::parse("https://app/cb?x=1").unwrap();
        let u = deliver(&r, ResponseMode::Fragment, &[("code", "abc".into())]);
        assert_eq!(
            u,
            Delivery::Redirect(Url::parse("https://app/cb?x=1#code=abc").unwrap())
        );
    }
}
