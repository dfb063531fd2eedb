//! Backoff for the background status query: exponential with full jitter, capped, so a provider
//! that is down is asked less and less often but never given up on.

use std::time::Duration;

use rand::Rng;

/// Exponential backoff: `base * 2^attempt`, capped at `max`, then a uniformly random value in
/// `[delay / 2, delay]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay.
    pub base: Duration,
    /// The largest delay.
    pub max: Duration,
}

impl Backoff {
    /// The nominal delay after `attempts` failed attempts (0 → `base`).
    pub fn nominal(&self, attempts: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.min(30));
        self.base.saturating_mul(factor).min(self.max)
    }

    /// The delay to wait: the nominal delay with jitter.
    pub fn delay(&self, attempts: u32, rng: &mut impl Rng) -> Duration {
        let delay = self.nominal(attempts);
        let half = delay / 2;
        let spread = u64::try_from((delay - half).as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(rng.random_range(0..=spread))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap() {
        let backoff = Backoff {
            base: Duration::from_millis(10),
            max: Duration::from_millis(50),
        };
        let nominal: Vec<_> = (0..5).map(|n| backoff.nominal(n).as_millis()).collect();
        assert_eq!(nominal, [10, 20, 40, 50, 50]);
        assert_eq!(backoff.nominal(u32::MAX), Duration::from_millis(50));
    }

    #[test]
    fn jittered_delays_stay_within_half_and_full_nominal() {
        let backoff = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        let mut rng = rand::rng();
        for attempts in 0..6 {
            let nominal = backoff.nominal(attempts);
            let d = backoff.delay(attempts, &mut rng);
            assert!(d >= nominal / 2 && d <= nominal, "{d:?} vs {nominal:?}");
        }
    }
}
