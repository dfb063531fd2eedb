//! The entry point's own flags, parsed together with cucumber's (`--tags`, `--name`,
//! `--concurrency`, `--fail-fast`, `--retry`, ...) through `cucumber::cli::Opts`.

use std::{ffi::OsString, path::PathBuf};

use drivers::select::DriverKind;

/// Flags of this harness, after `--`: `cargo test --test acceptance -- --driver in-process --seed 42`.
#[derive(Debug, Clone, clap::Args)]
pub struct HarnessCli {
    /// Which driver runs the platform: in-process, containers or staging.
    #[arg(long, value_name = "driver", default_value = "in-process", value_parser = parse_driver)]
    pub driver: DriverKind,

    /// Seed of every scenario's fake data; printed at the start and on failure. Default: random.
    #[arg(long, value_name = "n")]
    pub seed: Option<u64>,

    /// Target profile file (staging driver: base URL, credentials, trace backend).
    #[arg(long, value_name = "file")]
    pub profile: Option<PathBuf>,

    /// Let the staging driver run against a profile whose environment is `production`.
    #[arg(long = "i-know-this-is-production")]
    pub allow_production: bool,

    /// Where the reports go. Default: `target/acceptance` (or `$CARGO_TARGET_DIR/acceptance`).
    #[arg(long = "report-dir", value_name = "dir")]
    pub report_dir: Option<PathBuf>,
    /// Run only shard K of N (e.g. `2/3`): a deterministic, balanced share of the selected
    /// scenarios, for a suite split across machines; `merge-reports` joins the shards' reports.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<crate::shard::ShardSpec>,

    /// With `--shard`: balance the shares by each scenario's duration in this Cucumber JSON
    /// report of a previous run (e.g. `target/acceptance/cucumber.json`), not by count.
    #[arg(long = "shard-durations", value_name = "file", requires = "shard")]
    pub shard_durations: Option<PathBuf>,

    /// Check the features without running them: every step matches a sentence, the needed
    /// @needs-… tags are there, Given/When/Then are in order. No platform; under a second.
    #[arg(long)]
    pub check: bool,
}

fn parse_driver(s: &str) -> Result<DriverKind, String> {
    s.parse()
}

impl HarnessCli {
    /// The profile path as given, or, when that does not exist, relative to the workspace
    /// root: `cargo test` runs this binary from `steps/`, while people type paths from the root.
    pub fn profile_path(&self) -> Option<PathBuf> {
        Some(from_root_if_missing(self.profile.as_ref()?))
    }

    /// The `--shard-durations` path, found the same way as the profile.
    pub fn shard_durations_path(&self) -> Option<PathBuf> {
        Some(from_root_if_missing(self.shard_durations.as_ref()?))
    }
}

/// `given` as typed, or, when that does not exist, relative to the workspace root: `cargo
/// test` runs the binary from `steps/`, while people type paths from the root.
fn from_root_if_missing(given: &PathBuf) -> PathBuf {
    let from_root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).join(given);
    if given.exists() || given.is_absolute() || !from_root.exists() {
        given.clone()
    } else {
        from_root
    }
}

/// What to do with the process arguments before cucumber sees them.
pub enum Args {
    /// Run with these arguments.
    Run(Vec<OsString>),
    /// `cargo test` asked for something only libtest does (`--list`, `--ignored`): the suite
    /// has nothing to offer it, so exit successfully without booting anything.
    NothingToDo(&'static str),
}

/// Drops the libtest flags `cargo test -- <flags>` passes to every test binary, which
/// cucumber would reject.
pub fn args(raw: impl IntoIterator<Item = OsString>) -> Args {
    let mut kept = Vec::new();
    for arg in raw {
        match arg.to_str() {
            Some("--list") => {
                return Args::NothingToDo("--list: the acceptance suite lists no libtest tests");
            }
            Some("--ignored") => {
                return Args::NothingToDo("--ignored: the acceptance suite has no ignored tests");
            }
            Some("--nocapture" | "--show-output" | "--include-ignored" | "--exact" | "--quiet") => {
            }
            Some(s) if s.starts_with("--test-threads") => {}
            _ => kept.push(arg),
        }
    }
    Args::Run(kept)
}
