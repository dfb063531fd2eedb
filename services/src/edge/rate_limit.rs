//! Per-client rate limit (GCRA via `governor`): a caller over its quota gets 429 `rate_limited`
//! with `Retry-After`.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

/// Requests per second and burst allowed per client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitSettings {
    /// Sustained requests per second per client.
    pub per_second: u32,
    /// Requests a client may make at once.
    pub burst: u32,
}

impl Default for RateLimitSettings {
    /// Generous: 500 requests per second, bursts of 1000.
    fn default() -> Self {
        Self {
            per_second: 500,
            burst: 1000,
        }
    }
}

impl RateLimitSettings {
    /// For public routes, per `client_id`: 50 per second, bursts of 100 (a busy client signs
    /// in now and then; one sending sign-in attempts by the thousand is slowed down).
    pub fn public_default() -> Self {
        Self {
            per_second: 50,
            burst: 100,
        }
    }
}

/// The limiter shared by all of edge's requests.
#[derive(Clone)]
pub struct RateLimiter {
    limiter: Arc<DefaultKeyedRateLimiter<String>>,
    clock: DefaultClock,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter").finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// A limiter with these settings (zeros are raised to 1).
    pub fn new(settings: RateLimitSettings) -> Self {
        let per_second = NonZeroU32::new(settings.per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(settings.burst).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: Arc::new(DefaultKeyedRateLimiter::keyed(
                Quota::per_second(per_second).allow_burst(burst),
            )),
            clock: DefaultClock::default(),
        }
    }

    /// `Ok` when `client` may make a request now; otherwise how long it should wait.
    pub fn check(&self, client: &str) -> Result<(), Duration> {
        if self.limiter.len() > 100_000 {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&client.to_owned())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_over_its_burst_is_told_to_wait_and_others_are_not() {
        let limiter = RateLimiter::new(RateLimitSettings {
            per_second: 1,
            burst: 2,
        });
        assert!(limiter.check("a").is_ok());
        assert!(limiter.check("a").is_ok());
        let wait = limiter.check("a").unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1));
        assert!(limiter.check("b").is_ok());
    }
}
