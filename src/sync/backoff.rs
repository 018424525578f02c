//! When to try again after a failed push: exponential backoff with full
//! jitter (every device that lost the server at the same moment must not
//! come back at the same moment), and the server's `Retry-After`.

use std::time::Duration;

/// From `first` (after one failure) doubling up to `cap`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            first: Duration::from_secs(1),
            cap: Duration::from_secs(300),
        }
    }
}

/// A `Retry-After` longer than this is taken as this: a server that says
/// "come back tomorrow" must not silence a room for a day.
pub const RETRY_AFTER_LIMIT: Duration = Duration::from_secs(3600);

impl Backoff {
    /// The wait after `failures` failures in a row (1, 2, ...): uniform
    /// between `first` and `first * 2^(failures-1)`, at most `cap`.
    /// `random` is any value in 0..=1.
    pub fn delay(&self, failures: u32, random: f64) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        let ceiling = self
            .first
            .saturating_mul(1 << doublings)
            .min(self.cap)
            .max(self.first);
        let spread = ceiling - self.first;
        self.first + spread.mul_f64(random.clamp(0.0, 1.0))
    }
}

/// A number in 0..=1 from the system's random source (a fixed one if it
/// fails: a worse spread, never a failure).
pub fn random_unit() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// A `Retry-After` header: seconds (`120`) or an HTTP date (`Wed, 21 Oct
/// 2026 07:28:00 GMT`), as a wait from `now`; `None` when it is neither.
pub fn retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    let wait = if let Ok(seconds) = value.parse::<u64>() {
        Duration::from_secs(seconds)
    } else {
        let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
        (at.to_utc() - now).to_std().unwrap_or(Duration::ZERO)
    };
    Some(wait.min(RETRY_AFTER_LIMIT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_grows_from_one_second_to_five_minutes_and_no_further() {
        let backoff = Backoff::default();
        assert_eq!(backoff.delay(1, 0.0), Duration::from_secs(1));
        assert_eq!(backoff.delay(1, 1.0), Duration::from_secs(1));
        assert_eq!(backoff.delay(2, 1.0), Duration::from_secs(2));
        assert_eq!(backoff.delay(4, 1.0), Duration::from_secs(8));
        assert_eq!(backoff.delay(4, 0.5), Duration::from_millis(4500));
        assert_eq!(backoff.delay(20, 1.0), Duration::from_secs(300));
        assert_eq!(backoff.delay(u32::MAX, 1.0), Duration::from_secs(300));
        assert_eq!(backoff.delay(20, 0.0), Duration::from_secs(1));
    }

    #[test]
    fn random_numbers_spread_between_zero_and_one() {
        let draws: Vec<f64> = (0..100).map(|_| random_unit()).collect();
        assert!(draws.iter().all(|x| (0.0..=1.0).contains(x)));
        assert!(draws.iter().any(|&x| x < 0.5) && draws.iter().any(|&x| x >= 0.5));
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-10-21T07:27:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2026 07:28:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            retry_after("Wed, 21 Oct 2026 07:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date gone by: now"
        );
        assert_eq!(retry_after("86400", now), Some(RETRY_AFTER_LIMIT));
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-5", now), None);
    }
}
