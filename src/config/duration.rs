//! Durations in Hydra's config syntax: one integer and one unit, `^[0-9]+(ns|us|ms|s|m|h)$`
//! (`90m`, not `1h30m`), as the schema's `duration` definition requires.

use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// Parses `"10m"`, `"1h"`, `"500ms"`.
pub fn parse(text: &str) -> Result<Duration, String> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let invalid = || {
        format!("invalid duration {text:?}: expected a number and one unit of ns, us, ms, s, m, h (e.g. \"30m\")")
    };
    let n: u64 = number.parse().map_err(|_| invalid())?;
    let d = match unit {
        "ns" => Duration::from_nanos(n),
        "us" => Duration::from_micros(n),
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.checked_mul(60).ok_or_else(invalid)?),
        "h" => Duration::from_secs(n.checked_mul(3600).ok_or_else(invalid)?),
        _ => return Err(invalid()),
    };
    Ok(d)
}

/// A config duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoDuration(pub Duration);

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text)
            .map(GoDuration)
            .map_err(serde::de::Error::custom)
    }
}

/// A lifespan that may be unlimited: `ttl.refresh_token` accepts `-1` (number or string).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifespan {
    Finite(Duration),
    Never,
}

impl Lifespan {
    /// The duration, or `None` when it never expires.
    pub fn duration(self) -> Option<Duration> {
        match self {
            Lifespan::Finite(d) => Some(d),
            Lifespan::Never => None,
        }
    }
}

impl<'de> Deserialize<'de> for Lifespan {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(i64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(-1) => Ok(Lifespan::Never),
            Raw::Text(t) if t == "-1" => Ok(Lifespan::Never),
            Raw::Number(n) => Err(serde::de::Error::custom(format!(
                "invalid duration {n}: expected a duration such as \"720h\" or -1 for never"
            ))),
            Raw::Text(t) => parse(&t)
                .map(Lifespan::Finite)
                .map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_single_unit_durations() {
        let cases = [
            ("30m", Some(Duration::from_secs(1800))),
            ("1h", Some(Duration::from_secs(3600))),
            ("720h", Some(Duration::from_secs(720 * 3600))),
            ("500ms", Some(Duration::from_millis(500))),
            ("10s", Some(Duration::from_secs(10))),
            ("7ns", Some(Duration::from_nanos(7))),
            ("0s", Some(Duration::ZERO)),
            ("1h30m", None),
            ("10", None),
            ("m", None),
            ("-5m", None),
            ("1d", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text).ok(), want, "{text}");
        }
    }

    #[test]
    fn lifespan_accepts_minus_one() {
        let never: Lifespan = serde_json::from_str("-1").unwrap();
        assert_eq!(never, Lifespan::Never);
        let never: Lifespan = serde_json::from_str("\"-1\"").unwrap();
        assert_eq!(never.duration(), None);
        let finite: Lifespan = serde_json::from_str("\"2h\"").unwrap();
        assert_eq!(finite.duration(), Some(Duration::from_secs(7200)));
        assert!(serde_json::from_str::<Lifespan>("-2").is_err());
    }
}
