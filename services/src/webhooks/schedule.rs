//! The retry schedule of webhook deliveries: the configured delays (for example
//! `[20ms, 40ms, 80ms]` in tests, growing exponentially in production), each with jitter so
//! many failed deliveries do not all retry at the same instant.

use std::time::Duration;

use rand::Rng;

/// Delays between attempts. A delivery gets `1 + delays.len()` attempts; after the last one
/// fails it is dead-lettered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
}

impl RetrySchedule {
    /// A schedule from configuration.
    pub fn new(delays: Vec<Duration>) -> Self {
        RetrySchedule { delays }
    }

    /// The production default: 1s, 2s, 4s, … up to 10 retries (about 17 minutes in all).
    pub fn exponential(base: Duration, retries: u32) -> Self {
        RetrySchedule::new(
            (0..retries)
                .map(|n| base * 2u32.saturating_pow(n))
                .collect(),
        )
    }

    /// How many attempts a delivery gets in total.
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.delays.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1)
    }

    /// The nominal delay before the next attempt, after `attempts_made` failed attempts;
    /// `None` when that was the last attempt (dead-letter it).
    pub fn nominal_delay(&self, attempts_made: u32) -> Option<Duration> {
        let index = usize::try_from(attempts_made.checked_sub(1)?).ok()?;
        self.delays.get(index).copied()
    }

    /// The delay actually waited: the nominal delay with "equal jitter", a uniformly random
    /// value in `[delay / 2, delay]`.
    pub fn delay_with_jitter(&self, attempts_made: u32, rng: &mut impl Rng) -> Option<Duration> {
        self.nominal_delay(attempts_made)
            .map(|delay| jitter(delay, rng))
    }
}

/// A uniformly random duration in `[delay / 2, delay]`.
pub fn jitter(delay: Duration, rng: &mut impl Rng) -> Duration {
    let half = delay / 2;
    let spread = u64::try_from((delay - half).as_nanos()).unwrap_or(u64::MAX);
    half + Duration::from_nanos(rng.random_range(0..=spread))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn each_failed_attempt_waits_the_next_configured_delay_then_gives_up() {
        let schedule = RetrySchedule::new(vec![ms(20), ms(40), ms(80)]);
        assert_eq!(schedule.max_attempts(), 4);
        assert_eq!(schedule.nominal_delay(1), Some(ms(20)));
        assert_eq!(schedule.nominal_delay(2), Some(ms(40)));
        assert_eq!(schedule.nominal_delay(3), Some(ms(80)));
        assert_eq!(schedule.nominal_delay(4), None);
        assert_eq!(schedule.nominal_delay(0), None);
    }

    #[test]
    fn jittered_delays_stay_between_half_and_the_full_delay_and_vary() {
        let schedule = RetrySchedule::new(vec![ms(80)]);
        let mut rng = rand::rng();
        let delays: Vec<_> = (0..200)
            .map(|_| schedule.delay_with_jitter(1, &mut rng).unwrap())
            .collect();
        assert!(delays.iter().all(|d| *d >= ms(40) && *d <= ms(80)));
        assert!(delays.iter().any(|d| *d != delays[0]), "jitter must vary");
    }

    #[test]
    fn the_exponential_default_doubles() {
        let schedule = RetrySchedule::exponential(ms(1000), 3);
        assert_eq!(
            schedule,
            RetrySchedule::new(vec![ms(1000), ms(2000), ms(4000)])
        );
        assert_eq!(RetrySchedule::new(vec![]).max_attempts(), 1);
    }
}
