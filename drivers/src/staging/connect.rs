//! [`StagingDriver`]: the [`Driver`] for a deployment described by a [`Profile`].

use std::{fmt, path::Path, sync::Arc, time::Duration};

use async_trait::async_trait;
use harness::{
    fetch::{FetchError, JaegerFetcher, TempoFetcher, TraceFetcher},
    model::TraceId,
};

use super::profile::{Profile, ProfileError, TraceBackendKind};
use crate::{Driver, OperatorCredentials};

/// How long one HTTP call to edge or the trace backend may take while connecting or fetching.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a remote trace backend is polled while a trace settles: gentle on a shared
/// backend, still well inside any quiet period a profile may set.
const TRACE_POLL_INTERVAL: Duration = Duration::from_millis(250);
/// A trace id no deployment has: asking for it proves the backend answers (404 or empty).
const PROBE_TRACE_ID: &str = "5ea91e0000000000000000000000c0de";

/// Why the staging driver could not connect. Each message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The profile was refused (including production without the override).
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// A credential variable the profile names is unset or empty.
    #[error(
        "environment variable {variable} is not set; profile {profile} says it holds the \
         {what} (export it before running against {environment})"
    )]
    MissingVariable {
        /// The variable's name.
        variable: String,
        /// What it should hold, e.g. `operator client secret`.
        what: &'static str,
        /// The profile file.
        profile: String,
        /// The environment's name.
        environment: String,
    },
    /// Edge could not be reached at all.
    #[error("cannot reach edge of {environment} at {url}: {source}")]
    EdgeUnreachable {
        /// The readiness URL asked.
        url: String,
        /// The environment's name.
        environment: String,
        /// The client error.
        #[source]
        source: reqwest::Error,
    },
    /// Edge answered, but not ready.
    #[error("edge of {environment} is not ready: {url} answered {status}: {body}")]
    EdgeNotReady {
        /// The readiness URL asked.
        url: String,
        /// The environment's name.
        environment: String,
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// The trace backend did not answer a trace query.
    #[error("trace backend of {environment} ({backend}) does not answer: {source}")]
    TraceBackend {
        /// The backend, e.g. `jaeger at http://...`.
        backend: String,
        /// The environment's name.
        environment: String,
        /// What went wrong.
        #[source]
        source: FetchError,
    },
    /// The HTTP client could not be built.
    #[error("cannot build an HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

/// Runs the features against a deployed environment. Starts nothing; see the module docs.
pub struct StagingDriver {
    profile: Profile,
    operator: OperatorCredentials,
    traces: Arc<dyn TraceFetcher>,
}

impl fmt::Debug for StagingDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StagingDriver")
            .field("profile", &self.profile.source())
            .field("environment", &self.profile.environment())
            .field("edge_url", &self.profile.edge_url())
            .field("operator", &self.operator)
            .field("traces", &self.traces.describe())
            .finish()
    }
}

impl StagingDriver {
    /// Loads the profile at `path` and connects (see [`StagingDriver::connect`]).
    pub async fn from_file(
        path: impl AsRef<Path>,
        allow_production: bool,
    ) -> Result<Self, ConnectError> {
        let profile = Profile::load(path, allow_production)?;
        Self::connect(profile, allow_production).await
    }

    /// Connects to the environment `profile` describes: reads the operator credentials from
    /// the process environment, checks that edge's `/health/ready` answers 200 and that the
    /// trace backend answers a query. A production profile is refused unless
    /// `allow_production`.
    pub async fn connect(profile: Profile, allow_production: bool) -> Result<Self, ConnectError> {
        Self::connect_with_env(profile, allow_production, |name| std::env::var(name).ok()).await
    }

    /// [`StagingDriver::connect`] reading variables through `env` instead of the process
    /// environment (tests, or a CLI that got them elsewhere).
    pub async fn connect_with_env(
        profile: Profile,
        allow_production: bool,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConnectError> {
        if profile.is_production() && !allow_production {
            return Err(ProfileError::Production {
                path: profile.source().to_path_buf(),
                environment: profile.environment().to_string(),
            }
            .into());
        }
        let operator = read_operator(&profile, env)?;
        let client = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .build()
            .map_err(ConnectError::Client)?;
        check_edge_ready(&client, &profile).await?;
        let traces = trace_fetcher(&profile, client);
        let probe = TraceId::parse(PROBE_TRACE_ID).expect("the probe id is a valid trace id");
        if let Err(source) = traces.fetch(&probe).await {
            return Err(ConnectError::TraceBackend {
                backend: traces.describe(),
                environment: profile.environment().to_string(),
                source,
            });
        }
        Ok(StagingDriver {
            profile,
            operator,
            traces,
        })
    }

    /// The profile this driver was connected with (tags to run, environment name).
    pub fn profile(&self) -> &Profile {
        &self.profile
    }
}

fn read_operator(
    profile: &Profile,
    env: impl Fn(&str) -> Option<String>,
) -> Result<OperatorCredentials, ConnectError> {
    let read = |variable: &str, what: &'static str| {
        env(variable)
            .filter(|value| !value.trim().is_empty())
            .ok_or_else(|| ConnectError::MissingVariable {
                variable: variable.to_string(),
                what,
                profile: profile.source().display().to_string(),
                environment: profile.environment().to_string(),
            })
    };
    let vars = profile.credentials();
    Ok(OperatorCredentials {
        client_id: read(&vars.client_id, "operator client id")?,
        client_secret: read(&vars.client_secret, "operator client secret")?,
    })
}

async fn check_edge_ready(client: &reqwest::Client, profile: &Profile) -> Result<(), ConnectError> {
    let url = format!("{}/health/ready", profile.edge_url());
    let environment = profile.environment().to_string();
    let response = client.get(&url).send().await;
    let response = match response {
        Ok(response) => response,
        Err(source) => {
            return Err(ConnectError::EdgeUnreachable {
                url,
                environment,
                source,
            });
        }
    };
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    Err(ConnectError::EdgeNotReady {
        url,
        environment,
        status: status.as_u16(),
        body: body.chars().take(300).collect(),
    })
}

fn trace_fetcher(profile: &Profile, client: reqwest::Client) -> Arc<dyn TraceFetcher> {
    let backend = profile.traces();
    match backend.kind {
        TraceBackendKind::Jaeger => Arc::new(
            JaegerFetcher::new(&backend.url)
                .with_client(client)
                .with_poll_interval(TRACE_POLL_INTERVAL),
        ),
        TraceBackendKind::Tempo => Arc::new(
            TempoFetcher::new(&backend.url)
                .with_client(client)
                .with_poll_interval(TRACE_POLL_INTERVAL),
        ),
    }
}

/// Staging offers the core only: the deployment is someone else's, so nothing is stubbed,
/// faulted, restarted or read from its logs; every other capability answers `None`.
#[async_trait]
impl Driver for StagingDriver {
    fn name(&self) -> &str {
        "staging"
    }

    fn edge_url(&self) -> String {
        self.profile.edge_url().to_string()
    }

    fn operator(&self) -> Option<OperatorCredentials> {
        Some(self.operator.clone())
    }

    fn traces(&self) -> Arc<dyn TraceFetcher> {
        Arc::clone(&self.traces)
    }

    fn harness_otlp_traces_url(&self) -> Option<String> {
        self.profile.otlp_traces_url().map(str::to_string)
    }

    fn settle_timing(&self) -> (Duration, Duration) {
        let settle = self.profile.settle();
        (settle.deadline, settle.quiet_period)
    }

    async fn shutdown(&self) {
        // Nothing was started; the deployment keeps running.
    }
}
