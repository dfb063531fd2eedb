//! Staging target profiles: which deployment to replay the features against.
//!
//! A profile is a small TOML file, committed with the repository, that names everything the
//! staging driver needs and nothing secret:
//!
//! ```toml
//! environment = "staging"           # refused if "production" unless explicitly overridden
//! tags = ["@staging-safe"]          # scenarios must carry every one (this is the default)
//!
//! [target]
//! edge_url = "https://minibank.staging.example"
//!
//! [credentials]                     # names of environment variables, never values
//! operator_client_id_env = "STAGING_OPERATOR_CLIENT_ID"
//! operator_client_secret_env = "STAGING_OPERATOR_CLIENT_SECRET"
//!
//! [traces]
//! backend = "jaeger"                # Jaeger query api_v3, or "tempo"
//! url = "http://jaeger-query.observability:16686"
//! otlp_traces_url = "http://collector:4318/v1/traces"   # optional: where the harness sends its root spans
//!
//! [settle]
//! deadline = "60s"
//! quiet_period = "5s"
//! ```
//!
//! [`Profile::load`] reads, checks and returns a [`Profile`] whose fields are all valid; every
//! error names the file, the key and why (see [`ProfileError`]).

use std::{
    fmt,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::Deserialize;

use super::secrets::{find_literal_secret, is_env_var_name};

/// The tag a scenario needs to run in staging when the profile names none.
pub const DEFAULT_TAG: &str = "@staging-safe";
/// Default time a trace may take to settle in staging.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(30);
/// Default quiet period ending a trace in staging: long, because a real collector batches and
/// a tracing backend indexes late.
pub const DEFAULT_QUIET_PERIOD: Duration = Duration::from_secs(3);

/// Why a profile was refused. Each message names the file and, where one is at fault, the key.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The file could not be read.
    #[error("cannot read profile {}: {source}", path.display())]
    Read {
        /// The profile file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not TOML, a key of the wrong type, a required key missing, or an unknown key.
    #[error("profile {} is not a valid profile: {message}", path.display())]
    Syntax {
        /// The profile file.
        path: PathBuf,
        /// The parser's explanation, with line and column.
        message: String,
    },
    /// A key holds a value that is refused (a literal secret, a bad URL, a bad duration, ...).
    #[error("profile {}: key `{key}`: {why}", path.display())]
    Invalid {
        /// The profile file.
        path: PathBuf,
        /// Dotted path of the key at fault.
        key: String,
        /// Why it is refused.
        why: String,
    },
    /// The profile targets production and the override was not given.
    #[error(
        "profile {}: environment `{environment}` is production; refusing to run acceptance \
         scenarios against it without the explicit override (--i-know-this-is-production)",
        path.display()
    )]
    Production {
        /// The profile file.
        path: PathBuf,
        /// The environment name as written.
        environment: String,
    },
}

/// Which tracing backend the deployment exports to; both answer OTLP JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceBackendKind {
    /// Jaeger's query service, `GET /api/v3/traces/{trace_id}`.
    Jaeger,
    /// Grafana Tempo, `GET /api/v2/traces/{trace_id}`.
    Tempo,
}

impl fmt::Display for TraceBackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TraceBackendKind::Jaeger => "jaeger",
            TraceBackendKind::Tempo => "tempo",
        })
    }
}

/// Where the traces of the deployment can be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceBackend {
    /// Jaeger or Tempo.
    pub kind: TraceBackendKind,
    /// Base URL of the query API, without a trailing slash.
    pub url: String,
}

/// Names of the environment variables holding the operator credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialVars {
    /// Variable holding the operator client id.
    pub client_id: String,
    /// Variable holding the operator client secret.
    pub client_secret: String,
}

/// How long a trace may take to settle, and the quiet period that ends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettleTiming {
    /// Give up waiting after this long.
    pub deadline: Duration,
    /// The trace is complete once no new span arrived for this long.
    pub quiet_period: Duration,
}

/// A validated staging target profile. Built only by [`Profile::load`] or [`Profile::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    source: PathBuf,
    environment: String,
    tags: Vec<String>,
    edge_url: String,
    credentials: CredentialVars,
    traces: TraceBackend,
    otlp_traces_url: Option<String>,
    settle: SettleTiming,
}

impl Profile {
    /// Reads and validates the profile at `path`. A `production` environment is refused unless
    /// `allow_production` (the CLI's `--i-know-this-is-production`) is set.
    pub fn load(path: impl AsRef<Path>, allow_production: bool) -> Result<Self, ProfileError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path, allow_production)
    }

    /// Validates profile text; `source` is the file name used in error messages.
    pub fn parse(
        text: &str,
        source: impl AsRef<Path>,
        allow_production: bool,
    ) -> Result<Self, ProfileError> {
        let path = source.as_ref().to_path_buf();
        let syntax = |e: toml::de::Error| ProfileError::Syntax {
            path: path.clone(),
            message: e.to_string().trim_end().to_string(),
        };
        // Secrets first, before any other complaint could echo a value.
        let table: toml::Table = text.parse().map_err(syntax)?;
        if let Some(found) = find_literal_secret(&table) {
            return Err(ProfileError::Invalid {
                path,
                key: found.key,
                why: found.why,
            });
        }
        let raw: RawProfile = toml::from_str(text).map_err(syntax)?;
        raw.validate(path, allow_production)
    }

    /// The file this profile came from.
    pub fn source(&self) -> &Path {
        &self.source
    }
    /// The environment's name, e.g. `staging`.
    pub fn environment(&self) -> &str {
        &self.environment
    }
    /// Tags a scenario must all carry to run, each with its leading `@`.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }
    /// The tags as a cucumber tag expression, e.g. `@staging-safe and @smoke`.
    pub fn tag_expression(&self) -> String {
        self.tags.join(" and ")
    }
    /// Whether a scenario with these tags (with or without `@`) runs under this profile.
    pub fn selects<S: AsRef<str>>(&self, scenario_tags: &[S]) -> bool {
        self.tags.iter().all(|wanted| {
            scenario_tags
                .iter()
                .any(|t| t.as_ref().trim_start_matches('@') == wanted.trim_start_matches('@'))
        })
    }
    /// Base URL of edge, without a trailing slash.
    pub fn edge_url(&self) -> &str {
        &self.edge_url
    }
    /// Which environment variables hold the operator credentials.
    pub fn credentials(&self) -> &CredentialVars {
        &self.credentials
    }
    /// The tracing backend to read traces from.
    pub fn traces(&self) -> &TraceBackend {
        &self.traces
    }
    /// Where the harness exports its own root spans (OTLP/HTTP traces URL), if anywhere.
    pub fn otlp_traces_url(&self) -> Option<&str> {
        self.otlp_traces_url.as_deref()
    }
    /// Settle deadline and quiet period.
    pub fn settle(&self) -> SettleTiming {
        self.settle
    }
    /// Whether the environment's name says production (`production` or `prod`, any case).
    pub fn is_production(&self) -> bool {
        is_production_name(&self.environment)
    }
}

fn is_production_name(name: &str) -> bool {
    let name = name.trim();
    name.eq_ignore_ascii_case("production") || name.eq_ignore_ascii_case("prod")
}

// The file as written; every field is checked by `validate`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    environment: String,
    tags: Option<Vec<String>>,
    target: RawTarget,
    credentials: RawCredentials,
    traces: RawTraces,
    settle: Option<RawSettle>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    edge_url: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCredentials {
    operator_client_id_env: String,
    operator_client_secret_env: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTraces {
    backend: String,
    url: String,
    otlp_traces_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettle {
    deadline: Option<String>,
    quiet_period: Option<String>,
}

impl RawProfile {
    fn validate(self, path: PathBuf, allow_production: bool) -> Result<Profile, ProfileError> {
        let invalid = |key: &str, why: String| ProfileError::Invalid {
            path: path.clone(),
            key: key.to_string(),
            why,
        };
        let environment = self.environment.trim().to_string();
        if environment.is_empty() {
            return Err(invalid("environment", "must not be empty".into()));
        }
        if is_production_name(&environment) && !allow_production {
            return Err(ProfileError::Production { path, environment });
        }
        let tags = parse_tags(self.tags).map_err(|why| invalid("tags", why))?;
        let edge_url =
            parse_base_url(&self.target.edge_url).map_err(|why| invalid("target.edge_url", why))?;
        let env_name = |key: &str, value: String| {
            if is_env_var_name(&value) {
                Ok(value)
            } else {
                Err(invalid(
                    key,
                    format!("{value:?} is not an environment variable name"),
                ))
            }
        };
        let credentials = CredentialVars {
            client_id: env_name(
                "credentials.operator_client_id_env",
                self.credentials.operator_client_id_env,
            )?,
            client_secret: env_name(
                "credentials.operator_client_secret_env",
                self.credentials.operator_client_secret_env,
            )?,
        };
        let kind = match self.traces.backend.trim().to_ascii_lowercase().as_str() {
            "jaeger" => TraceBackendKind::Jaeger,
            "tempo" => TraceBackendKind::Tempo,
            other => {
                return Err(invalid(
                    "traces.backend",
                    format!("unknown backend {other:?}; expected \"jaeger\" or \"tempo\""),
                ));
            }
        };
        let traces = TraceBackend {
            kind,
            url: parse_base_url(&self.traces.url).map_err(|why| invalid("traces.url", why))?,
        };
        let otlp_traces_url = self
            .traces
            .otlp_traces_url
            .map(|url| parse_base_url(&url).map_err(|why| invalid("traces.otlp_traces_url", why)))
            .transpose()?;
        let raw_settle = self.settle.unwrap_or(RawSettle {
            deadline: None,
            quiet_period: None,
        });
        let duration = |key: &str, value: Option<String>, default: Duration| match value {
            None => Ok(default),
            Some(text) => parse_duration(&text).map_err(|why| invalid(key, why)),
        };
        let settle = SettleTiming {
            deadline: duration("settle.deadline", raw_settle.deadline, DEFAULT_DEADLINE)?,
            quiet_period: duration(
                "settle.quiet_period",
                raw_settle.quiet_period,
                DEFAULT_QUIET_PERIOD,
            )?,
        };
        if settle.quiet_period >= settle.deadline {
            return Err(invalid(
                "settle.quiet_period",
                format!(
                    "must be shorter than settle.deadline ({:?} >= {:?})",
                    settle.quiet_period, settle.deadline
                ),
            ));
        }
        Ok(Profile {
            source: path,
            environment,
            tags,
            edge_url,
            credentials,
            traces,
            otlp_traces_url,
            settle,
        })
    }
}

fn parse_tags(tags: Option<Vec<String>>) -> Result<Vec<String>, String> {
    let Some(tags) = tags else {
        return Ok(vec![DEFAULT_TAG.to_string()]);
    };
    if tags.is_empty() {
        return Err(format!(
            "must name at least one tag (staging runs only scenarios marked safe for it; \
             leave the key out for the default {DEFAULT_TAG})"
        ));
    }
    tags.into_iter()
        .map(|tag| {
            let bare = tag.trim().trim_start_matches('@');
            if bare.is_empty() || bare.contains(char::is_whitespace) {
                Err(format!(
                    "{tag:?} is not a tag (expected e.g. \"{DEFAULT_TAG}\")"
                ))
            } else {
                Ok(format!("@{bare}"))
            }
        })
        .collect()
}

fn parse_base_url(text: &str) -> Result<String, String> {
    let url =
        reqwest::Url::parse(text.trim()).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{text:?} must be an http:// or https:// URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{text:?} has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials in the URL".to_string());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{text:?} must not have a query or fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// Parses `250ms`, `2s`, `1m`, `1m30s` (units `ms`, `s`, `m`; whole numbers).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not a duration (expected e.g. \"500ms\", \"5s\", \"1m30s\")");
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let part = match &rest[..unit_len] {
            "ms" => Duration::from_millis(number),
            "s" => Duration::from_secs(number),
            "m" => Duration::from_secs(number.saturating_mul(60)),
            _ => return Err(bad()),
        };
        total = total.saturating_add(part);
        rest = &rest[unit_len..];
    }
    if total.is_zero() {
        return Err(format!("{text:?} must be longer than zero"));
    }
    Ok(total)
}

#[cfg(test)]
mod tests;
