//! Retries and timeouts as each driver configures the platform, in words: what the analysts'
//! glossary (features/STEPS.md) shows, read from the very settings the drivers start with.

use std::time::Duration;

use minibank::{platform::PlatformConfig, rpc, webhooks::schedule::RetrySchedule};

use crate::containers::{ContainersOptions, spec};

/// One driver's retries and timeouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverTimings {
    /// `in-process`, `containers` or `staging`.
    pub driver: &'static str,
    /// What -> how, e.g. `webhook deliveries` -> `4 attempts: ...`.
    pub facts: Vec<(String, String)>,
}

/// The settings that shape what a scenario sees, as one driver configures them.
struct Settings {
    webhook_retries: Vec<Duration>,
    provider_timeout: Duration,
    retry: rpc::RetrySettings,
    breaker: rpc::BreakerSettings,
    settle: (Duration, Duration),
}

/// The least a waiting sentence waits, whatever the driver's trace-settle deadline.
pub const MIN_PATIENCE: Duration = Duration::from_secs(5);

/// How long a sentence that waits for something asynchronous (a payment finishing, a webhook
/// arriving, a balance catching up) keeps polling before it fails: the driver's trace-settle
/// deadline, at least [`MIN_PATIENCE`].
pub fn patience(settle_deadline: Duration) -> Duration {
    settle_deadline.max(MIN_PATIENCE)
}

/// What waiting sentences do, in words, for a given patience.
fn waiting(patience: &str) -> String {
    format!(
        "poll up to {patience} (every 25 ms, backing off to 200 ms) and pass as soon as what they wait for is seen; after {patience} they fail, saying what they waited for and what they saw last"
    )
}

/// Every driver's retries and timeouts.
pub fn configured() -> Vec<DriverTimings> {
    let in_process = PlatformConfig::for_tests("", "", None);
    let containers_env = |key: &str| {
        spec::TIMINGS
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
            .unwrap_or_default()
    };
    let duration = |key: &str| minibank::config::parse_duration(containers_env(key)).ok();
    let containers = Settings {
        webhook_retries: minibank::config::parse_duration_list(containers_env(
            "MINIBANK_WEBHOOK_RETRY_SCHEDULE",
        ))
        .unwrap_or_default(),
        provider_timeout: ContainersOptions::default().provider_timeout,
        retry: rpc::RetrySettings {
            backoff: duration("MINIBANK_RETRY_BACKOFF").unwrap_or_default(),
            ..rpc::RetrySettings::default()
        },
        breaker: rpc::BreakerSettings {
            failure_threshold: containers_env("MINIBANK_BREAKER_FAILURES")
                .parse()
                .unwrap_or_default(),
            open_for: duration("MINIBANK_BREAKER_OPEN_FOR").unwrap_or_default(),
        },
        settle: crate::containers::SETTLE_TIMING,
    };
    let production = minibank::webhooks::Settings::new("");
    vec![
        describe(
            "in-process",
            &Settings {
                webhook_retries: in_process.webhook_retry_schedule.clone(),
                provider_timeout: in_process.provider_timeout,
                retry: in_process.resilience.retry,
                breaker: in_process.resilience.breaker,
                settle: crate::in_process::SETTLE_TIMING,
            },
        ),
        describe("containers", &containers),
        DriverTimings {
            driver: "staging",
            facts: vec![
                (
                    "everything".to_owned(),
                    format!(
                        "as the deployment is configured; minibank's own defaults are: webhook deliveries {}; retries between services {}; circuits {}; trace settle deadline and quiet period from the profile's `[settle]`",
                        webhook_schedule(&schedule_delays(&production.retry_schedule)),
                        retries(&rpc::RetrySettings::default()),
                        breaker(&rpc::BreakerSettings::default()),
                    ),
                ),
                (
                    WAITING.to_owned(),
                    waiting(&format!(
                        "the profile's `[settle]` deadline (at least {}; {} when the profile sets none)",
                        ms(MIN_PATIENCE),
                        ms(patience(crate::staging::profile::DEFAULT_DEADLINE))
                    )),
                ),
            ],
        },
    ]
}

/// The `what` of the waiting sentences' row, which the catalogue points its waiting sentences to.
pub const WAITING: &str = "sentences that wait";

fn describe(driver: &'static str, s: &Settings) -> DriverTimings {
    DriverTimings {
        driver,
        facts: vec![
            (
                "webhook deliveries".to_owned(),
                webhook_schedule(&s.webhook_retries),
            ),
            (
                "the bank provider".to_owned(),
                format!(
                    "a transfer not answered within {} is followed by a status query; a payment stays `processing` until the provider answers one or the other",
                    ms(s.provider_timeout)
                ),
            ),
            ("retries between services".to_owned(), retries(&s.retry)),
            ("circuit breakers".to_owned(), breaker(&s.breaker)),
            (WAITING.to_owned(), waiting(&ms(patience(s.settle.0)))),
            (
                "waiting for a trace".to_owned(),
                format!(
                    "at most {}, done once no span came for {}",
                    ms(s.settle.0),
                    ms(s.settle.1)
                ),
            ),
        ],
    }
}

fn schedule_delays(schedule: &RetrySchedule) -> Vec<Duration> {
    (1..schedule.max_attempts())
        .filter_map(|n| schedule.nominal_delay(n))
        .collect()
}

fn webhook_schedule(delays: &[Duration]) -> String {
    let list: Vec<String> = delays.iter().map(|d| ms(*d)).collect();
    format!(
        "{} attempts: the first at once, then after {} (each wait jittered between half and all of it); a delivery still failing after the last attempt is `dead_lettered`",
        delays.len() + 1,
        list.join(", ")
    )
}

fn retries(r: &rpc::RetrySettings) -> String {
    format!(
        "an idempotent call that failed with \"try again\" (not reached, connection lost, 502/503/504) is retried at most {} times, {} apart; a timeout or a non-idempotent call is never retried",
        r.max_retries,
        ms(r.backoff)
    )
}

fn breaker(b: &rpc::BreakerSettings) -> String {
    format!(
        "open after {} consecutive failures, then stay open for {} before one probe call",
        b.failure_threshold,
        ms(b.open_for)
    )
}

/// `250 ms`, `2 s`.
fn ms(d: Duration) -> String {
    if d.as_millis() >= 1000 && d.as_millis() % 1000 == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_driver_says_how_webhooks_are_retried() {
        let all = configured();
        let names: Vec<&str> = all.iter().map(|d| d.driver).collect();
        assert_eq!(names, ["in-process", "containers", "staging"]);
        let in_process = &all[0].facts[0].1;
        assert!(in_process.starts_with("4 attempts"), "{in_process}");
        assert!(in_process.contains("20 ms, 40 ms, 80 ms"), "{in_process}");
        assert_eq!(
            all[0].facts[0], all[1].facts[0],
            "containers copy the test timings"
        );
    }

    #[test]
    fn every_driver_says_how_long_waiting_sentences_wait() {
        let waiting = |driver: &DriverTimings| {
            driver
                .facts
                .iter()
                .find(|(what, _)| what == WAITING)
                .map(|(_, how)| how.clone())
                .unwrap_or_default()
        };
        let all = configured();
        assert!(waiting(&all[0]).starts_with("poll up to 5 s"), "{all:?}");
        assert!(waiting(&all[1]).starts_with("poll up to 15 s"), "{all:?}");
        assert!(
            waiting(&all[2]).contains("30 s when the profile sets none"),
            "{all:?}"
        );
        assert_eq!(patience(Duration::from_secs(1)), MIN_PATIENCE);
    }
}
