//! Typed configuration shared by every service: secrets that never print, durations written
//! like `50ms` or `2s`, and the `MINIBANK_*` environment variables of API.md "Configuration".
//!
//! Each service owns its own `Settings` struct (in `<service>/mod.rs`); this module only holds
//! the parsing pieces they share, so a value is parsed the same way everywhere.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;

/// A secret string (signing key, client secret). `Debug` and `Display` print `[redacted]`, so a
/// secret can sit in a settings struct that is logged without leaking.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call this only where the value is really used (signing, hashing).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The bootstrap operator's client credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorCredentials {
    /// Operator client id (also the subject of its tokens).
    pub client_id: String,
    /// Operator client secret.
    pub client_secret: Secret,
}

impl OperatorCredentials {
    /// Fresh random credentials (`op_…` / `sec_…`), for tests and `minibank up`.
    pub fn generate() -> Self {
        Self {
            client_id: format!("op_{}", uuid::Uuid::now_v7().simple()),
            client_secret: Secret::new(new_client_secret()),
        }
    }
}

/// A fresh client secret: `sec_` and 32 random bytes in hex. Shown once, stored hashed.
pub fn new_client_secret() -> String {
    format!("sec_{}", hex::encode(rand::random::<[u8; 32]>()))
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Parses a human duration such as `50ms`, `2s` or `1m 30s`.
pub fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    humantime::parse_duration(text.trim())
        .with_context(|| format!("`{text}` is not a duration (examples: 50ms, 2s, 1m)"))
}

/// Parses a comma-separated list of durations, e.g. a retry schedule `50ms,100ms,200ms`.
/// An empty string is an empty schedule.
pub fn parse_duration_list(text: &str) -> anyhow::Result<Vec<Duration>> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(parse_duration)
        .collect()
}

/// Parses `true|false|1|0|yes|no` (case-insensitive).
pub fn parse_bool(text: &str) -> anyhow::Result<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        other => anyhow::bail!("`{other}` is not a boolean (use true or false)"),
    }
}

/// Reads an environment variable; unset and empty both mean `None`.
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// Reads and parses an environment variable, naming the variable in the error.
pub fn env_parsed<T>(
    name: &str,
    parse: impl FnOnce(&str) -> anyhow::Result<T>,
) -> anyhow::Result<Option<T>> {
    env_var(name)
        .map(|value| parse(&value).with_context(|| format!("invalid {name}")))
        .transpose()
}

/// Parses a socket address such as `0.0.0.0:8080`.
pub fn parse_socket_addr(text: &str) -> anyhow::Result<SocketAddr> {
    text.trim()
        .parse::<SocketAddr>()
        .with_context(|| format!("`{text}` is not an address like 127.0.0.1:8080"))
}

/// `MINIBANK_BIND`, default `127.0.0.1:0` (an ephemeral loopback port).
pub fn bind_from_env() -> anyhow::Result<SocketAddr> {
    Ok(env_parsed("MINIBANK_BIND", parse_socket_addr)?.unwrap_or_else(default_bind))
}

/// The default bind address: loopback, ephemeral port.
pub fn default_bind() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// `MINIBANK_DATABASE_URL`, default `sqlite://<service>.db`.
pub fn database_url_from_env(service: &str) -> String {
    env_var("MINIBANK_DATABASE_URL").unwrap_or_else(|| format!("sqlite://{service}.db"))
}

/// A required URL variable such as `MINIBANK_LEDGER_URL`, with the trailing `/` removed.
pub fn required_url(name: &str) -> anyhow::Result<String> {
    env_var(name)
        .map(|url| url.trim_end_matches('/').to_owned())
        .with_context(|| format!("{name} must be set (base URL, e.g. http://127.0.0.1:8081)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print_their_value() {
        let secret = Secret::new("hunter2");
        assert!(!format!("{secret:?} {secret}").contains("hunter2"));
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn durations_are_read_in_human_units() {
        assert_eq!(parse_duration("50ms").unwrap(), Duration::from_millis(50));
        assert_eq!(parse_duration(" 2s ").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn a_retry_schedule_is_a_comma_separated_list() {
        let schedule = parse_duration_list("50ms, 100ms,200ms").unwrap();
        assert_eq!(
            schedule,
            vec![
                Duration::from_millis(50),
                Duration::from_millis(100),
                Duration::from_millis(200)
            ]
        );
        assert!(parse_duration_list("").unwrap().is_empty());
        assert!(parse_duration_list("50ms,x").is_err());
    }

    #[test]
    fn booleans_accept_the_usual_spellings() {
        assert!(parse_bool("TRUE").unwrap());
        assert!(!parse_bool("no").unwrap());
        assert!(parse_bool("maybe").is_err());
    }
}
