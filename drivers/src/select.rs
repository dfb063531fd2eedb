//! Choosing a driver by name, as the entry point's `--driver` flag does.

use std::{
    fmt,
    path::PathBuf,
    str::FromStr,
    sync::Arc,
    time::{Duration, Instant},
};

use crate::{
    Driver,
    containers::{ContainersDriver, ContainersOptions},
    in_process::{InProcessDriver, InProcessOptions},
    staging::StagingDriver,
};

/// The drivers the design names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverKind {
    /// Every service as tasks in the test process (default).
    InProcess,
    /// One container per service (testcontainers) and a real collector.
    Containers,
    /// A deployed environment described by a profile file (`--profile`).
    Staging,
}

impl DriverKind {
    /// The name used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            DriverKind::InProcess => "in-process",
            DriverKind::Containers => "containers",
            DriverKind::Staging => "staging",
        }
    }
}

impl fmt::Display for DriverKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DriverKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "in-process" => Ok(DriverKind::InProcess),
            "containers" => Ok(DriverKind::Containers),
            "staging" => Ok(DriverKind::Staging),
            other => Err(format!(
                "unknown driver {other:?}; expected in-process, containers or staging"
            )),
        }
    }
}

/// What the entry point knows that a driver may need.
#[derive(Debug, Clone, Default)]
pub struct DriverOptions {
    /// Staging profile file (`--profile`).
    pub profile: Option<PathBuf>,
    /// Let the staging driver run against a profile marked `production`.
    pub allow_production: bool,
}

/// Why no driver could be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The driver exists in the design but not in code yet.
    #[error("driver {kind} is not built yet ({tracking})")]
    NotBuilt {
        /// Which driver.
        kind: DriverKind,
        /// Where its absence is tracked.
        tracking: &'static str,
    },
    /// The driver needs an option that was not given.
    #[error("driver {kind} needs {what}")]
    Missing {
        /// Which driver.
        kind: DriverKind,
        /// The missing option, e.g. `--profile FILE`.
        what: &'static str,
    },
    /// The driver failed to boot.
    #[error("driver {kind} failed to start: {source:#}")]
    Failed {
        /// Which driver.
        kind: DriverKind,
        /// The cause, with its chain.
        source: anyhow::Error,
    },
}

/// Whether a scenario with these tags runs.
pub type TagPredicate = Box<dyn Fn(&[String]) -> bool + Send + Sync>;

/// Which scenarios a driver agrees to run, by their tags (feature, rule and scenario merged).
pub struct Selection {
    /// Says why a scenario is left out, e.g. `the staging profile runs only @staging-safe`.
    pub reason: String,
    /// Whether a scenario with these tags runs.
    pub selects: TagPredicate,
}

/// A started driver and how long it took to start.
pub struct Started {
    /// The driver, to hand to the steps.
    pub driver: Arc<dyn Driver>,
    /// Wall-clock boot time.
    pub boot_time: Duration,
    /// Scenarios the driver runs at all (staging: only the profile's tags); `None` = every one.
    pub selection: Option<Selection>,
}

/// Start the driver of `kind`.
pub async fn start(kind: DriverKind, options: &DriverOptions) -> Result<Started, StartError> {
    let started = Instant::now();
    match kind {
        DriverKind::InProcess => {
            let driver = InProcessDriver::start(InProcessOptions::default())
                .await
                .map_err(|source| StartError::Failed { kind, source })?;
            Ok(Started {
                boot_time: driver.boot_time(),
                driver: Arc::new(driver),
                selection: None,
            })
        }
        DriverKind::Containers => {
            let driver = ContainersDriver::start(ContainersOptions::default())
                .await
                .map_err(|source| StartError::Failed { kind, source })?;
            let phases: Vec<String> = driver
                .boot_phases()
                .iter()
                .map(|(phase, took)| format!("{phase} {:.2}s", took.as_secs_f64()))
                .collect();
            println!(
                "containers: booted in {:.2}s ({})",
                driver.boot_time().as_secs_f64(),
                phases.join(", ")
            );
            Ok(Started {
                boot_time: driver.boot_time(),
                driver: Arc::new(driver),
                selection: None,
            })
        }
        DriverKind::Staging => {
            let profile = options.profile.as_ref().ok_or(StartError::Missing {
                kind,
                what: "--profile FILE (see fixtures/profiles/)",
            })?;
            let driver = StagingDriver::from_file(profile, options.allow_production)
                .await
                // Its message already names the cause; keep the chain from repeating it.
                .map_err(|e| StartError::Failed {
                    kind,
                    source: anyhow::anyhow!(e.to_string()),
                })?;
            let wanted = driver.profile().clone();
            let selection = Selection {
                reason: format!(
                    "the {} profile runs only scenarios tagged {}",
                    wanted.environment(),
                    wanted.tag_expression()
                ),
                selects: Box::new(move |tags| wanted.selects(tags)),
            };
            Ok(Started {
                boot_time: started.elapsed(),
                driver: Arc::new(driver),
                selection: Some(selection),
            })
        }
    }
}
