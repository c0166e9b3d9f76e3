//! The only reader of wall-clock time. Domain code takes `now` as an argument; handlers get
//! it from [`Clock::now`]; tests use [`Clock::manual`] and advance it instead of sleeping.

use chrono::{DateTime, Duration, Utc};
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug, Default)]
pub struct Clock {
    manual: Option<Arc<Mutex<DateTime<Utc>>>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock { manual: None }
    }

    /// A clock that stands still at `start` until advanced.
    pub fn manual(start: DateTime<Utc>) -> Self {
        Clock {
            manual: Some(Arc::new(Mutex::new(start))),
        }
    }

    #[allow(clippy::disallowed_methods)] // the one sanctioned wall-clock read
    pub fn now(&self) -> DateTime<Utc> {
        match &self.manual {
            Some(t) => *t.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
            None => Utc::now(),
        }
    }

    /// Moves a manual clock forward; a no-op on the system clock.
    pub fn advance(&self, by: Duration) {
        if let Some(t) = &self.manual {
            let mut guard = t.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            *guard += by;
        }
    }
}

/// `t + d`, saturating at the latest representable time instead of panicking on overflow
/// (a configured lifetime may be absurdly long).
pub fn later(t: DateTime<Utc>, d: std::time::Duration) -> DateTime<Utc> {
    Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `t - d`, saturating at the earliest representable time instead of panicking on overflow.
pub fn earlier(t: DateTime<Utc>, d: std::time::Duration) -> DateTime<Utc> {
    Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_sub_signed(d))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_panicking() {
        let t = DateTime::<Utc>::from_timestamp(1_600_000_000, 0).unwrap_or_default();
        let huge = std::time::Duration::from_secs(u64::MAX);
        assert_eq!(later(t, huge), DateTime::<Utc>::MAX_UTC);
        assert_eq!(earlier(t, huge), DateTime::<Utc>::MIN_UTC);
        assert_eq!(
            later(t, std::time::Duration::from_secs(60)),
            t + Duration::seconds(60)
        );
    }

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let start = DateTime::<Utc>::from_timestamp(1_600_000_000, 0).unwrap_or_default();
        let clock = Clock::manual(start);
        assert_eq!(clock.now(), start);
        clock.clone().advance(Duration::seconds(90));
        assert_eq!(clock.now(), start + Duration::seconds(90));
    }
}
