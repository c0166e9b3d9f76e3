//! Scope strategies (`strategies.scope`, fosite's matchers) and audience matching
//! (hydra-reference §5.9, §5.10).

use crate::config::ScopeStrategy;
use url::Url;

/// Whether `needle` is granted by one of `haystack` under `strategy`.
pub fn matches(strategy: ScopeStrategy, haystack: &[String], needle: &str) -> bool {
    match strategy {
        ScopeStrategy::Exact => haystack.iter().any(|h| h == needle),
        ScopeStrategy::Wildcard => haystack.iter().any(|h| wildcard(h, needle)),
        ScopeStrategy::Hierarchical => haystack
            .iter()
            .any(|h| h == needle || needle.starts_with(&format!("{h}."))),
    }
}

/// fosite's WildcardScopeStrategy: `*` stands for exactly one non-empty dot-separated part
/// (`foo.*` grants `foo.bar`, not `foo` nor `foo.bar.baz`).
fn wildcard(matcher: &str, needle: &str) -> bool {
    let m: Vec<&str> = matcher.split('.').collect();
    let n: Vec<&str> = needle.split('.').collect();
    m.len() == n.len()
        && m.iter()
            .zip(&n)
            .all(|(m, n)| *m == *n || (*m == "*" && !n.is_empty()))
}

/// Splits a space-separated parameter that may also be repeated, dropping empties.
pub fn split(values: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        for part in v.split(' ').filter(|p| !p.is_empty()) {
            if !out.iter().any(|o| o == part) {
                out.push(part.to_string());
            }
        }
    }
    out
}

/// fosite's default audience strategy: `needle` must be a URL with the scheme and host of a
/// whitelisted entry and a path equal to it (trailing `/` aside) or below it.
pub fn audience_allowed(whitelist: &[String], needle: &str) -> bool {
    let Ok(n) = Url::parse(needle) else {
        return false;
    };
    whitelist
        .iter()
        .filter_map(|w| Url::parse(w).ok())
        .any(|w| {
            if w.scheme() != n.scheme() || w.host_str() != n.host_str() || w.port() != n.port() {
                return false;
            }
            let wp = w.path().trim_end_matches('/');
            let np = n.path().trim_end_matches('/');
            np == wp || np.starts_with(&format!("{wp}/"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hay(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn wildcard_matches_like_fosite() {
        let h = hay(&["foo.*", "bar", "baz.*.read"]);
        let cases = [
            ("foo.bar", true),
            ("foo", false),
            ("foo.bar.baz", false),
            ("bar", true),
            ("bar.x", false),
            ("baz.a.read", true),
            ("baz.a.write", false),
            ("foo.", false),
        ];
        for (needle, want) in cases {
            assert_eq!(
                matches(ScopeStrategy::Wildcard, &h, needle),
                want,
                "{needle}"
            );
        }
        assert!(!matches(ScopeStrategy::Exact, &h, "foo.bar"));
        assert!(matches(ScopeStrategy::Exact, &h, "foo.*"));
        assert!(matches(
            ScopeStrategy::Hierarchical,
            &hay(&["foo"]),
            "foo.bar"
        ));
    }

    #[test]
    fn audience_follows_fosites_default_strategy() {
        let w = hay(&["https://api.example/x", "https://other.example/"]);
        let cases = [
            ("https://api.example/x", true),
            ("https://api.example/x/", true),
            ("https://api.example/x/y", true),
            ("https://api.example/xy", false),
            ("http://api.example/x", false),
            ("https://api.example/", false),
            ("https://other.example/anything", true),
            ("not a url", false),
        ];
        for (needle, want) in cases {
            assert_eq!(audience_allowed(&w, needle), want, "{needle}");
        }
    }

    #[test]
    fn split_handles_spaces_and_repeats() {
        assert_eq!(
            split(&hay(&["a b", "c", " a  d "])),
            hay(&["a", "b", "c", "d"])
        );
    }
}
