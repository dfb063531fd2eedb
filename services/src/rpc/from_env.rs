//! [`Resilience`] for `minibank serve`, from the environment (API.md "Configuration"):
//! `MINIBANK_BREAKER_FAILURES` (consecutive failures that open a circuit, default 5),
//! `MINIBANK_BREAKER_OPEN_FOR` (how long it stays open, default `5s`), `MINIBANK_RETRY_BACKOFF`
//! (pause before a retry, default `25ms`) and `MINIBANK_DNS_REFRESH` (how often peer names are
//! resolved again for service discovery, default `5s`; `0s` turns DNS discovery off).

use std::time::Duration;

use super::breaker::BreakerSettings;
use super::retry::RetrySettings;
use super::stack::Resilience;
use crate::config::parse_duration;

/// How often peer names are resolved again unless `MINIBANK_DNS_REFRESH` says otherwise.
pub const DEFAULT_DNS_REFRESH: Duration = Duration::from_secs(5);

impl Resilience {
    /// The settings the `MINIBANK_BREAKER_*`, `MINIBANK_RETRY_BACKOFF` and
    /// `MINIBANK_DNS_REFRESH` variables give (defaults for those unset); no faults.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(crate::config::env_var)
    }

    /// [`Resilience::from_env`] over any source of variables (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let read = |name: &str, parse: fn(&str) -> anyhow::Result<Duration>| {
            lookup(name)
                .map(|value| {
                    parse(&value).map_err(|error| anyhow::anyhow!("invalid {name}: {error:#}"))
                })
                .transpose()
        };
        let failures = lookup("MINIBANK_BREAKER_FAILURES")
            .map(|text| match text.trim().parse::<u32>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(anyhow::anyhow!(
                    "invalid MINIBANK_BREAKER_FAILURES: `{text}` is not a whole number of at least 1"
                )),
            })
            .transpose()?;
        let breaker_defaults = BreakerSettings::default();
        let retry_defaults = RetrySettings::default();
        let dns_refresh =
            read("MINIBANK_DNS_REFRESH", parse_duration)?.unwrap_or(DEFAULT_DNS_REFRESH);
        Ok(Resilience {
            breaker: BreakerSettings {
                failure_threshold: failures.unwrap_or(breaker_defaults.failure_threshold),
                open_for: read("MINIBANK_BREAKER_OPEN_FOR", parse_duration)?
                    .unwrap_or(breaker_defaults.open_for),
            },
            retry: RetrySettings {
                backoff: read("MINIBANK_RETRY_BACKOFF", parse_duration)?
                    .unwrap_or(retry_defaults.backoff),
                ..retry_defaults
            },
            dns_refresh: (!dns_refresh.is_zero()).then_some(dns_refresh),
            ..Resilience::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> anyhow::Result<Resilience> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Resilience::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn unset_variables_give_the_defaults_with_dns_discovery_on() {
        let resilience = from(&[]).unwrap();
        assert_eq!(resilience.breaker, BreakerSettings::default());
        assert_eq!(resilience.retry, RetrySettings::default());
        assert_eq!(resilience.dns_refresh, Some(DEFAULT_DNS_REFRESH));
    }

    #[test]
    fn each_variable_sets_its_value() {
        let resilience = from(&[
            ("MINIBANK_BREAKER_FAILURES", "3"),
            ("MINIBANK_BREAKER_OPEN_FOR", "250ms"),
            ("MINIBANK_RETRY_BACKOFF", "5ms"),
            ("MINIBANK_DNS_REFRESH", "100ms"),
        ])
        .unwrap();
        assert_eq!(resilience.breaker.failure_threshold, 3);
        assert_eq!(resilience.breaker.open_for, Duration::from_millis(250));
        assert_eq!(resilience.retry.backoff, Duration::from_millis(5));
        assert_eq!(resilience.dns_refresh, Some(Duration::from_millis(100)));
        assert_eq!(
            from(&[("MINIBANK_DNS_REFRESH", "0s")]).unwrap().dns_refresh,
            None
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (name, value) in [
            ("MINIBANK_BREAKER_FAILURES", "0"),
            ("MINIBANK_BREAKER_FAILURES", "many"),
            ("MINIBANK_BREAKER_OPEN_FOR", "soon"),
            ("MINIBANK_DNS_REFRESH", "often"),
        ] {
            let error = from(&[(name, value)]).unwrap_err().to_string();
            assert!(error.contains(name), "{error}");
        }
    }
}
