//! A per-device rate limit (token bucket): a device that sends more than
//! its share of batches is answered 429 with `Retry-After`, and its
//! backoff spreads it out. In memory, per server copy: a limit against
//! runaway devices, not an accounting.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// `per_minute` batches a minute per device, in bursts of as many.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: per_minute.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one batch's share for `device`, or says how long to wait.
    pub fn take(&self, device: &str) -> Result<(), Duration> {
        self.take_at(device, Instant::now())
    }

    fn take_at(&self, device: &str, now: Instant) -> Result<(), Duration> {
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let bucket = buckets.entry(device.to_string()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_one_a_second_at_sixty_a_minute() {
        let limiter = RateLimiter::new(60);
        let start = Instant::now();
        for _ in 0..60 {
            assert!(limiter.take_at("a", start).is_ok());
        }
        let wait = limiter.take_at("a", start).unwrap_err();
        assert!((Duration::from_millis(900)..=Duration::from_millis(1100)).contains(&wait));
        assert!(limiter.take_at("b", start).is_ok(), "each device its own");
        assert!(limiter.take_at("a", start + Duration::from_secs(1)).is_ok());
    }
}
