//! Pagination as Hydra's (ory/x) for list endpoints (hydra-reference §1.5): `limit` (default
//! 100, at most 500), `offset`; `X-Total-Count` and a `Link` header with first/next/prev/last.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use url::form_urlencoded;

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 500;

/// The raw query: anything non-numeric falls back to the default, as Hydra does.
#[derive(Debug, Deserialize, Default)]
pub struct PageQuery {
    limit: Option<String>,
    offset: Option<String>,
}

/// A page request after Hydra's clamping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

impl PageQuery {
    pub fn page(&self) -> Page {
        let parse = |v: &Option<String>| v.as_deref().and_then(|s| s.trim().parse::<i64>().ok());
        let limit = parse(&self.limit)
            .unwrap_or(DEFAULT_LIMIT)
            .clamp(0, MAX_LIMIT);
        let offset = parse(&self.offset).unwrap_or(0).max(0);
        // Hydra serves page `offset / limit + 1`: the offset is rounded down to a multiple of limit.
        let offset = if limit > 0 {
            offset / limit * limit
        } else {
            offset
        };
        Page { limit, offset }
    }
}

fn link(path: &str, keep: &[(&str, &str)], rel: &str, limit: i64, offset: i64) -> String {
    let (limit, offset) = (limit.to_string(), offset.to_string());
    let mut pairs = vec![("limit", limit.as_str()), ("offset", offset.as_str())];
    pairs.extend_from_slice(keep);
    // Go's `url.Values.Encode` sorts by key.
    pairs.sort_by_key(|(k, _)| *k);
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("<{path}?{query}>; rel=\"{rel}\"")
}

/// `X-Total-Count` and `Link` for `total` items seen through `page` at `path`.
pub fn headers(path: &str, total: i64, page: Page) -> HeaderMap {
    headers_keeping(path, &[], total, page)
}

/// As [`headers`], the links also carrying the query parameters `keep` (Hydra keeps the
/// request's other parameters, such as `subject`).
pub fn headers_keeping(path: &str, keep: &[(&str, &str)], total: i64, page: Page) -> HeaderMap {
    let at = |rel: &str, limit: i64, offset: i64| link(path, keep, rel, limit, offset);
    let mut headers = HeaderMap::new();
    headers.insert(
        HeaderName::from_static("x-total-count"),
        HeaderValue::from(total),
    );
    let Page { limit, offset } = page;
    let links = if limit <= 0 || total <= limit {
        vec![at("first", limit, 0)]
    } else {
        let last = if total % limit == 0 {
            total - limit
        } else {
            total / limit * limit
        };
        if offset == 0 {
            vec![at("next", limit, limit), at("last", limit, last)]
        } else if offset >= last {
            vec![
                at("first", limit, 0),
                at("prev", limit, (offset - limit).max(0)),
            ]
        } else {
            vec![
                at("first", limit, 0),
                at("next", limit, offset + limit),
                at("prev", limit, offset - limit),
                at("last", limit, last),
            ]
        }
    };
    if let Ok(v) = HeaderValue::from_str(&links.join(",")) {
        headers.insert(HeaderName::from_static("link"), v);
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(limit: &str, offset: &str) -> Page {
        PageQuery {
            limit: Some(limit.into()),
            offset: Some(offset.into()),
        }
        .page()
    }

    #[test]
    fn query_values_are_clamped_as_hydra() {
        assert_eq!(
            PageQuery::default().page(),
            Page {
                limit: 100,
                offset: 0
            }
        );
        assert_eq!(
            q("100000", "0"),
            Page {
                limit: 500,
                offset: 0
            }
        );
        assert_eq!(
            q("-1", "-10"),
            Page {
                limit: 0,
                offset: 0
            }
        );
        assert_eq!(
            q("abc", "1e309"),
            Page {
                limit: 100,
                offset: 0
            }
        );
        assert_eq!(
            q("10", "1;DROP TABLE x"),
            Page {
                limit: 10,
                offset: 0
            }
        );
        assert_eq!(
            q("10", "25"),
            Page {
                limit: 10,
                offset: 20
            }
        );
    }

    #[test]
    fn link_relations_depend_on_the_position() {
        let rels = |total, limit, offset| {
            let h = headers("/clients", total, Page { limit, offset });
            h["link"].to_str().unwrap().to_string()
        };
        assert_eq!(
            rels(3, 100, 0),
            r#"</clients?limit=100&offset=0>; rel="first""#
        );
        assert_eq!(
            rels(25, 10, 0),
            r#"</clients?limit=10&offset=10>; rel="next",</clients?limit=10&offset=20>; rel="last""#
        );
        assert_eq!(
            rels(25, 10, 20),
            r#"</clients?limit=10&offset=0>; rel="first",</clients?limit=10&offset=10>; rel="prev""#
        );
        assert_eq!(
            rels(25, 10, 10),
            r#"</clients?limit=10&offset=0>; rel="first",</clients?limit=10&offset=20>; rel="next",</clients?limit=10&offset=0>; rel="prev",</clients?limit=10&offset=20>; rel="last""#
        );
        let kept = headers_keeping(
            "/s",
            &[("subject", "a b")],
            25,
            Page {
                limit: 10,
                offset: 20,
            },
        );
        assert_eq!(
            kept["link"],
            r#"</s?limit=10&offset=0&subject=a+b>; rel="first",</s?limit=10&offset=10&subject=a+b>; rel="prev""#
        );
        assert_eq!(
            headers(
                "/clients",
                25,
                Page {
                    limit: 10,
                    offset: 0
                }
            )["x-total-count"],
            "25"
        );
    }
}
